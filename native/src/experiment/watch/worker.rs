//! The watch lab's worker process: one watcher (inotify through notify, or the poller) reporting what it
//! noticed and what it cost, a [`Report`] a line ([`crate::experiment::link`]).

use super::*;

/// The `__worker watch SPEC` entry.
pub(super) fn worker(spec_json: &str) -> Result<(), ExperimentError> {
    let spec: WatcherSpec =
        serde_json::from_str(spec_json).map_err(|e| ExperimentError::Worker(format!("bad watcher spec: {e}")))?;
    crate::experiment::fence_worker(Some(spec.parent_pid))?;
    let out = Out::open()?;
    // The companion stops a watcher by closing its stdin.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = stop_tx.send(());
    });
    match spec.watcher {
        Watcher::Inotify => notified(&spec, &out, &stop_rx),
        Watcher::Poll => poller(&spec, &out, &stop_rx),
    }
}

/// What a watcher tells the companion, one a line, each written out at once (its arrival is what is timed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Report {
    /// Watching, `setup_ns` after it started.
    Ready { setup_ns: u64 },
    /// It noticed a change of `file` at `t` (CLOCK_MONOTONIC).
    Detect { file: u32, t: u64 },
    /// A poller's pass over every file ended at `t`, after `ns`.
    Scan { t: u64, ns: u64 },
    /// The kernel's event queue overflowed at `t`: changes were lost.
    Overflow { t: u64 },
    /// Watching would take `needed` inotify watches; the limit is `limit`.
    Limit { needed: u32, limit: u32 },
    /// inotify refused to start.
    Unavailable { reason: String },
    /// Watching failed.
    Failed { reason: String },
    /// What watching cost from ready to stop: CPU time, wall time, and for the poller its stat calls.
    Cost { cpu_ns: u64, wall_ns: u64, calls: Option<u64> },
}

/// The watcher's stdout, shared by its threads: one whole report at a time.
#[derive(Debug, Clone)]
pub(super) struct Out(std::sync::Arc<std::sync::Mutex<Reports<std::io::Stdout>>>);

impl Out {
    fn open() -> Result<Self, ExperimentError> {
        let reports = Reports::open(std::io::stdout(), LabId::Watch).map_err(ExperimentError::io("saying hello"))?;
        Ok(Out(std::sync::Arc::new(std::sync::Mutex::new(reports))))
    }

    fn say(&self, report: Report) {
        let mut reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A companion that stopped reading is gone; the parent-death signal ends us.
        let _ = reports.say(&report).and_then(|()| reports.flush());
    }
}

/// This process's CPU time (user + system) so far.
pub(super) fn cpu_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// Reports the cost of watching from `ready` (CPU time and wall time then) to now.
pub(super) fn report_cost(out: &Out, ready: (u64, u64), calls: Option<u64>) {
    let (cpu, wall) = (cpu_ns().saturating_sub(ready.0), monotonic_ns().saturating_sub(ready.1));
    out.say(Report::Cost { cpu_ns: cpu, wall_ns: wall, calls });
}

/// The notified watcher: notify's recommended watcher (inotify on Linux) on the tree, recursively.
pub(super) fn notified(spec: &WatcherSpec, out: &Out, stop: &mpsc::Receiver<()>) -> Result<(), ExperimentError> {
    use notify::{EventKind as Kind, Watcher as _, event::ModifyKind};
    let needed = spec.files.div_ceil(spec.per_dir) + 1;
    if needed > spec.watch_limit {
        out.say(Report::Limit { needed, limit: spec.watch_limit });
        return Ok(());
    }
    let start = monotonic_ns();
    let handler_out = out.clone();
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) if event.need_rescan() => handler_out.say(Report::Overflow { t: monotonic_ns() }),
        // One write(2) is one IN_MODIFY; the open and close around it are not changes of the data.
        Ok(event) if matches!(event.kind, Kind::Modify(ModifyKind::Data(_))) => {
            let t = monotonic_ns();
            for index in event.paths.iter().filter_map(|p| file_index(p)) {
                handler_out.say(Report::Detect { file: index, t });
            }
        }
        Ok(_) => {}
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
            handler_out.say(Report::Limit { needed, limit: watch_limit() });
        }
        Err(err) => handler_out.say(Report::Failed { reason: err.to_string() }),
    };
    // inotify_init fails with EMFILE when the user has max_user_instances instances already.
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            out.say(Report::Unavailable { reason: err.to_string() });
            return Ok(());
        }
    };
    match watcher.watch(&spec.root, notify::RecursiveMode::Recursive) {
        Ok(()) => {}
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
            out.say(Report::Limit { needed, limit: watch_limit() });
            return Ok(());
        }
        Err(err) => return Err(ExperimentError::Worker(format!("inotify: {err}"))),
    }
    let ready = (cpu_ns(), monotonic_ns());
    out.say(Report::Ready { setup_ns: ready.1 - start });
    let _ = stop.recv();
    drop(watcher);
    report_cost(out, ready, None);
    Ok(())
}

/// The poller: a pass stats every file in index order and reports those whose modification time (to the
/// nanosecond) or size changed since the last pass; between passes it sleeps the interval.
pub(super) fn poller(spec: &WatcherSpec, out: &Out, stop: &mpsc::Receiver<()>) -> Result<(), ExperimentError> {
    let paths: Vec<PathBuf> = (0..spec.files).map(|i| file_path(&spec.root, spec.per_dir, i)).collect();
    let look = |path: &Path| std::fs::metadata(path).ok().map(|m| (m.mtime_nsec_total(), m.len()));
    let start = monotonic_ns();
    let mut last: Vec<Option<(i128, u64)>> = paths.iter().map(|p| look(p)).collect();
    let ready = (cpu_ns(), monotonic_ns());
    out.say(Report::Scan { t: ready.1, ns: ready.1 - start });
    out.say(Report::Ready { setup_ns: ready.1 - start });
    let interval = Duration::from_millis(spec.interval_ms);
    let mut passes = 0u64;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        let pass_start = monotonic_ns();
        for (index, (path, seen)) in paths.iter().zip(&mut last).enumerate() {
            let now = look(path);
            if now != *seen {
                *seen = now;
                out.say(Report::Detect { file: index as u32, t: monotonic_ns() });
            }
        }
        passes += 1;
        let end = monotonic_ns();
        out.say(Report::Scan { t: end, ns: end - pass_start });
    }
    report_cost(out, ready, Some(passes * u64::from(spec.files)));
    Ok(())
}

/// Nanoseconds since the epoch of a file's modification time.
pub(super) trait MtimeNanos {
    fn mtime_nsec_total(&self) -> i128;
}

impl MtimeNanos for std::fs::Metadata {
    fn mtime_nsec_total(&self) -> i128 {
        use std::os::unix::fs::MetadataExt;
        i128::from(self.mtime()) * 1_000_000_000 + i128::from(self.mtime_nsec())
    }
}
