//! The reference the watch lab is set against in `syslab bench`: Debian's inotifywait on the same writes.

use super::*;

/// The benchmark's comparison: the companion's notified watcher (a worker process, as in a run) and Debian's
/// `inotifywait -m` watch the same directory; `writes` single-byte writes, one at a time, each waited for by
/// both. Both latencies are taken alike: from just before the write to the arrival of the watcher's line in this
/// process. Returns (ours, inotifywait's) latencies in ns, sorted.
pub fn against_inotifywait(writes: u32) -> Result<(Vec<u64>, Vec<u64>), ExperimentError> {
    const FILES: u32 = 10;
    let scratch = crate::scratch::Scratch::create(&crate::scratch::default_base(), u64::from(u32::MAX))
        .map_err(ExperimentError::io("creating the scratch directory"))?;
    let root = scratch.path().join("tree");
    std::fs::create_dir_all(root.join("d00000")).map_err(ExperimentError::io("creating the tree"))?;
    for i in 0..FILES {
        std::fs::write(file_path(&root, FILES, i), b"0").map_err(ExperimentError::io("creating the tree"))?;
    }
    let spec = WatcherSpec {
        watcher: Watcher::Inotify,
        root: root.clone(),
        files: FILES,
        per_dir: FILES,
        interval_ms: 0,
        watch_limit: u32::MAX,
        parent_pid: std::process::id(),
    };
    let exe = crate::experiment::current_exe()?;
    // Both speak into one channel as [`Report`]s: ours in the workers' protocol, inotifywait's lines (the file's
    // name on stdout, "Watches established." on stderr) turned into the same reports as they arrive.
    let (tx, rx) = mpsc::channel::<Heard<usize, Report>>();
    let mut ours = Watchers::default();
    ours.links.push(Link::spawn(&exe, LabId::Watch, 0, "the notified watcher".into(), &spec, &tx, |_| {})?);
    let mut theirs = Command::new("inotifywait")
        .args(["-m", "-r", "-e", "modify", "--format", "%f"])
        .arg(root.join("d00000"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .inspect(|child| crate::state::record(child.id()))
        .map(Reaped)
        .map_err(ExperimentError::io("starting inotifywait (apt-get install inotify-tools)"))?;
    let pipes = [
        theirs.0.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        theirs.0.stderr.take().map(|p| Box::new(p) as _),
    ];
    for pipe in pipes.into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let report = if line.contains("Watches established") {
                    Report::Ready { setup_ns: 0 }
                } else {
                    let Some(file) = file_index(Path::new(&line)) else { continue };
                    Report::Detect { file, t: monotonic_ns() }
                };
                if tx.send((1, Ok(vec![report]))).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    // Each report as it arrives here, with the time of its arrival.
    let mut inbox = Inbox::new(rx);
    let mut next = |timeout: Duration| -> Result<(usize, Report, u64), ExperimentError> {
        inbox.next(timeout)?.ok_or_else(|| ExperimentError::Worker("a watcher fell silent".to_owned()))
    };
    let mut ready = [false, false];
    while !(ready[0] && ready[1]) {
        let (which, report, _) = next(READY_TIMEOUT)?;
        ready[which] |= matches!(report, Report::Ready { .. });
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for k in 0..writes {
        let file = k % FILES;
        let path = file_path(&root, FILES, file);
        let written = monotonic_ns();
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).map_err(ExperimentError::io("opening"))?;
        f.write_all(b"x").map_err(ExperimentError::io("writing"))?;
        let mut seen = [None, None];
        while seen.iter().any(Option::is_none) {
            if let (which, Report::Detect { file: noticed, .. }, at) = next(Duration::from_secs(5))?
                && noticed == file
            {
                seen[which].get_or_insert(at - written);
            }
        }
        a.extend(seen[0]);
        b.extend(seen[1]);
        std::thread::sleep(Duration::from_millis(1));
    }
    drop((ours, theirs));
    drop(scratch);
    a.sort_unstable();
    b.sort_unstable();
    Ok((a, b))
}

/// A child process killed and reaped when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        crate::experiment::kill_worker(&mut self.0);
    }
}
