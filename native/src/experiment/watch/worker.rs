//! The watch lab's worker process: one watcher (inotify through notify, or the poller) reporting what it
//! noticed and what it cost, a line at a time, and the parent's reading of those lines.

use super::*;

/// The `__worker watch SPEC` entry.
pub(super) fn worker(spec_json: &str) -> Result<(), ExperimentError> {
    let spec: WatcherSpec =
        serde_json::from_str(spec_json).map_err(|e| ExperimentError::Worker(format!("bad watcher spec: {e}")))?;
    crate::experiment::fence_worker(Some(spec.parent_pid))?;
    let out = Out::default();
    // The companion stops a watcher by a line on stdin or by closing it.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let _ = stop_tx.send(());
    });
    match spec.watcher {
        Watcher::Inotify => notified(&spec, &out, &stop_rx),
        Watcher::Poll => poller(&spec, &out, &stop_rx),
    }
}

/// The watcher's stdout, shared by its threads: one whole line at a time.
#[derive(Debug, Clone, Default)]
pub(super) struct Out(std::sync::Arc<std::sync::Mutex<()>>);

impl Out {
    fn line(&self, text: std::fmt::Arguments<'_>) {
        let _guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut stdout = std::io::stdout().lock();
        // A companion that stopped reading is gone; the parent-death signal ends us.
        let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
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
    let calls = calls.map_or_else(|| "-".to_owned(), |c| c.to_string());
    out.line(format_args!("cost {cpu} {wall} {calls}"));
}

/// The notified watcher: notify's recommended watcher (inotify on Linux) on the tree, recursively.
pub(super) fn notified(spec: &WatcherSpec, out: &Out, stop: &mpsc::Receiver<()>) -> Result<(), ExperimentError> {
    use notify::{EventKind as Kind, Watcher as _, event::ModifyKind};
    let needed = spec.files.div_ceil(spec.per_dir) + 1;
    if needed > spec.watch_limit {
        out.line(format_args!("limit {needed} {}", spec.watch_limit));
        return Ok(());
    }
    let start = monotonic_ns();
    let handler_out = out.clone();
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) if event.need_rescan() => handler_out.line(format_args!("overflow {}", monotonic_ns())),
        // One write(2) is one IN_MODIFY; the open and close around it are not changes of the data.
        Ok(event) if matches!(event.kind, Kind::Modify(ModifyKind::Data(_))) => {
            let t = monotonic_ns();
            for index in event.paths.iter().filter_map(|p| file_index(p)) {
                handler_out.line(format_args!("detect {index} {t}"));
            }
        }
        Ok(_) => {}
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
            handler_out.line(format_args!("limit {needed} {}", watch_limit()));
        }
        Err(err) => handler_out.line(format_args!("error {err}")),
    };
    // inotify_init fails with EMFILE when the user has max_user_instances instances already.
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            out.line(format_args!("unavailable {err}"));
            return Ok(());
        }
    };
    match watcher.watch(&spec.root, notify::RecursiveMode::Recursive) {
        Ok(()) => {}
        Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
            out.line(format_args!("limit {needed} {}", watch_limit()));
            return Ok(());
        }
        Err(err) => return Err(ExperimentError::Worker(format!("inotify: {err}"))),
    }
    let ready = (cpu_ns(), monotonic_ns());
    out.line(format_args!("ready {}", ready.1 - start));
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
    out.line(format_args!("scan {} {}", ready.1, ready.1 - start));
    out.line(format_args!("ready {}", ready.1 - start));
    let interval = Duration::from_millis(spec.interval_ms);
    let mut passes = 0u64;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        let pass_start = monotonic_ns();
        for (index, (path, seen)) in paths.iter().zip(&mut last).enumerate() {
            let now = look(path);
            if now != *seen {
                *seen = now;
                out.line(format_args!("detect {index} {}", monotonic_ns()));
            }
        }
        passes += 1;
        let end = monotonic_ns();
        out.line(format_args!("scan {end} {}", end - pass_start));
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

// ---------------------------------------------------------------------------------------------------------
// The companion's side.

/// A line from a watcher, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Report {
    Ready { setup_ns: u64 },
    Detect { file: u32, t: u64 },
    Scan { t: u64, ns: u64 },
    Overflow { t: u64 },
    Limit { needed: u32, limit: u32 },
    Unavailable { reason: String },
    Cost { cpu_ns: u64, wall_ns: u64, calls: Option<u64> },
}

pub(super) fn parse_report(line: &str) -> Result<Report, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| -> Result<u64, String> {
        words.get(i).and_then(|w| w.parse().ok()).ok_or_else(|| format!("bad watcher report `{line}`"))
    };
    let small = |i: usize| num(i).map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    match words.first().copied() {
        Some("ready") => Ok(Report::Ready { setup_ns: num(1)? }),
        Some("detect") => Ok(Report::Detect { file: small(1)?, t: num(2)? }),
        Some("scan") => Ok(Report::Scan { t: num(1)?, ns: num(2)? }),
        Some("overflow") => Ok(Report::Overflow { t: num(1)? }),
        Some("limit") => Ok(Report::Limit { needed: small(1)?, limit: small(2)? }),
        Some("cost") => Ok(Report::Cost { cpu_ns: num(1)?, wall_ns: num(2)?, calls: num(3).ok() }),
        Some("unavailable") => Ok(Report::Unavailable { reason: words[1..].join(" ") }),
        Some("error") => Err(line.trim_start_matches("error ").to_owned()),
        _ => Err(format!("bad watcher report `{line}`")),
    }
}
