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
    let spec_json = serde_json::to_string(&spec).map_err(|e| ExperimentError::Worker(e.to_string()))?;
    let exe = crate::experiment::current_exe()?;
    let mut ours = crate::experiment::worker_command(&exe, LabId::Watch, &spec_json);
    let mut theirs = Command::new("inotifywait");
    theirs.args(["-m", "-r", "-e", "modify", "--format", "%f"]).arg(root.join("d00000"));
    let mut children = Watchers::default();
    let (tx, rx) = mpsc::channel::<(usize, String, u64)>();
    for (which, command) in [&mut ours, &mut theirs].into_iter().enumerate() {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .inspect(|child| crate::state::record(child.id()))
            .map_err(ExperimentError::io(if which == 0 {
                "starting the watcher"
            } else {
                "starting inotifywait (apt-get install inotify-tools)"
            }))?;
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as _),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((which, line, monotonic_ns())).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        children.children.push((Watcher::Inotify, child, stdin));
    }
    drop(tx);
    // Ready: our watcher says `ready`, inotifywait says "Watches established." on stderr.
    let mut ready = [false, false];
    while !(ready[0] && ready[1]) {
        let (which, line, _) = rx
            .recv_timeout(READY_TIMEOUT)
            .map_err(|_| ExperimentError::Worker("a watcher did not get ready".to_owned()))?;
        ready[which] |= line.starts_with("ready") || line.contains("Watches established");
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
            let (which, line, at) = rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| ExperimentError::Worker("a watcher missed a write".to_owned()))?;
            let name = line.strip_prefix("detect ").map_or(line.as_str(), |rest| rest.split(' ').next().unwrap_or(""));
            let index = if which == 0 { name.parse().ok() } else { file_index(Path::new(name)) };
            if index == Some(file) {
                seen[which].get_or_insert(at - written);
            }
        }
        a.extend(seen[0]);
        b.extend(seen[1]);
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(children);
    drop(scratch);
    a.sort_unstable();
    b.sort_unstable();
    Ok((a, b))
}
