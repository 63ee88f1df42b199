//! The state file: the worker processes this companion started, each as its pid and its start time (from
//! /proc), so that a companion killed outright (SIGKILL: none of its cleanup ran) has its leftovers killed by
//! the next one before it listens. A pid is killed only if its start time still matches what was recorded: a
//! pid the kernel has since given to another process is never touched. Workers also die with their parent
//! (the parent-death signal); this catches whatever they started and a worker caught in the race. The file also
//! names the message queues the companion created, which no process's death removes: the sweep unlinks them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

struct StateFile {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

static STATE: OnceLock<StateFile> = OnceLock::new();

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), if it exists.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields after the last ')' are fixed.
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// Starts this companion's state file in `base` (named by its pid and start time).
pub fn open(base: &Path) -> std::io::Result<()> {
    let me = std::process::id();
    let path = base.join(format!("state-{me}-{}", start_time(me).unwrap_or(0)));
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    let _ = STATE.set(StateFile { path, file: Mutex::new(file) });
    Ok(())
}

/// Records a worker this companion started (nothing to do outside the companion: no state file).
pub fn record(pid: u32) {
    let Some(state) = STATE.get() else { return };
    let Some(started) = start_time(pid) else { return };
    let mut file = state.file.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(err) = writeln!(file, "{pid} {started}") {
        tracing::warn!(%err, "could not record a worker in the state file");
    }
}

/// Records a message queue this companion creates (before it creates it), so that the sweep unlinks it if the
/// companion dies without its cleanup. The run unlinks it itself however it ends otherwise.
pub fn record_queue(name: &str) {
    let Some(state) = STATE.get() else { return };
    let mut file = state.file.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(err) = writeln!(file, "{QUEUE_MARK} {name}") {
        tracing::warn!(%err, "could not record a message queue in the state file");
    }
}

/// A state file's line for a message queue starts with this word; a worker's line with its pid.
const QUEUE_MARK: &str = "mq";

/// Removes this companion's state file at a clean exit (its workers are gone by then).
pub fn close() {
    if let Some(state) = STATE.get() {
        let _ = std::fs::remove_file(&state.path);
    }
}

/// Kills the process groups recorded by companions in `base` that are no longer running, and removes their
/// state files. Returns how many processes it killed.
pub fn sweep(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else { return 0 };
    let mut killed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| n.strip_prefix("state-")) else { continue };
        let Some((pid, started)) = owner.split_once('-') else { continue };
        let (Ok(pid), Ok(started)) = (pid.parse::<u32>(), started.parse::<u64>()) else { continue };
        if start_time(pid) == Some(started) {
            continue; // That companion is still running.
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(queue) = line.strip_prefix(QUEUE_MARK).map(str::trim).filter(|q| q.starts_with("/syslab.")) {
                if crate::experiment::pipeline::unlink_queue(queue).is_ok() {
                    tracing::info!(queue, "removed a message queue left by a companion that died");
                }
                continue;
            }
            let mut words = line.split_whitespace().map(str::parse::<u64>);
            let (Some(Ok(worker)), Some(Ok(worker_started))) = (words.next(), words.next()) else { continue };
            let Ok(worker) = u32::try_from(worker) else { continue };
            if start_time(worker) != Some(worker_started) {
                continue; // Gone, or the pid now belongs to another process.
            }
            if let Some(p) = i32::try_from(worker).ok().and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                killed += 1;
                tracing::info!(pid = worker, "killed a worker left by a companion that died");
            }
        }
        let _ = std::fs::remove_file(entry.path());
    }
    killed
}
