//! The real watch experiment. The companion builds a tree of N files in the run's scratch directory and starts
//! two watcher processes over it (this binary again, as `__worker watch inotify|poll SPEC`), so each one's CPU
//! time is its own: one uses the notify crate's recommended watcher (inotify), the other a poller of our own that
//! stats every file each pass and compares nanosecond modification times and sizes (notify's `PollWatcher`
//! compares whole seconds and would miss a second change within a second). The companion then writes the seeded
//! plan of changes, stamping each on CLOCK_MONOTONIC before the write, and matches the watchers' reports to it.
//!
//! The watchers speak the workers' protocol ([`super::link`]): one [`Report`] a line on stdout, each fact as it
//! happens and their cost at the end. Closing their stdin stops them.

mod reference;
mod worker;

pub use reference::against_inotifywait;
use worker::*;

use super::link::{Heard, Inbox, Link, Reports};
use super::{ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use serde::{Deserialize, Serialize};
use shared::i18n::Text;
use shared::lab::watch::{WRITER_ACTOR, WatchEvent, WatchParams, Watcher, actors};
use shared::params::ParamSet;
use shared::trace::{Event, EventKind};
use shared::{LabId, Nanos};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest the writer writes in one round, and the longest a whole run (a sweep) may take.
const ROUND_WRITE_BUDGET: Nanos = Nanos::from_millis(20_000);
const RUN_BUDGET: Nanos = Nanos::from_millis(120_000);
/// How long a watcher may take to get ready (the poller's first pass over 100 000 files takes ~0.2 s).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The sysctl that bounds inotify watches, and where the kernel shows it.
pub const WATCH_SYSCTL: &str = "fs.inotify.max_user_watches";
const WATCH_LIMIT_FILE: &str = "/proc/sys/fs/inotify/max_user_watches";
const INSTANCE_LIMIT_FILE: &str = "/proc/sys/fs/inotify/max_user_instances";
/// Overrides the watch limit the run checks against (the tests set it low to reach the limit for real).
pub const WATCH_LIMIT_ENV: &str = "SYSLAB_MAX_USER_WATCHES";

/// What a watcher process is told, as JSON in its argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatcherSpec {
    pub watcher: Watcher,
    pub root: PathBuf,
    pub files: u32,
    pub per_dir: u32,
    pub interval_ms: u64,
    /// The number of inotify watches the watcher may use.
    pub watch_limit: u32,
    pub parent_pid: u32,
}

/// Where file `index` of a tree lives: `d00012/f001234`, `per_dir` files to a directory.
pub fn file_path(root: &Path, per_dir: u32, index: u32) -> PathBuf {
    root.join(format!("d{:05}", index / per_dir)).join(format!("f{index:06}"))
}

/// The index of a file from its path, if it is one of the tree's files.
pub fn file_index(path: &Path) -> Option<u32> {
    path.file_name()?.to_str()?.strip_prefix('f')?.parse().ok()
}

/// The inotify watch limit: the override, else the kernel's, else none known.
pub fn watch_limit() -> u32 {
    let read = |text: Option<String>| text.and_then(|t| t.trim().parse().ok());
    read(std::env::var(WATCH_LIMIT_ENV).ok())
        .or_else(|| read(std::fs::read_to_string(WATCH_LIMIT_FILE).ok()))
        .unwrap_or(u32::MAX)
}

/// The message for a watch limit that is too low, with the numbers and the fix.
pub fn limit_note(needed: u32, limit: u32) -> Text {
    Text::new("note.watch.limit").with("needed", needed).with("limit", limit).with("sysctl", WATCH_SYSCTL)
}

/// The message for inotify refusing to start at all, with the likely limit and the fix.
pub fn unavailable_note(reason: &str) -> Text {
    let instances =
        std::fs::read_to_string(INSTANCE_LIMIT_FILE).map_or_else(|_| "?".to_owned(), |t| t.trim().to_owned());
    Text::new("note.watch.unavailable").with("reason", reason).with("instances", instances)
}

// ---------------------------------------------------------------------------------------------------------
// The watcher processes.

/// The watcher processes of a round (each [`Link`] kills its own when dropped).
#[derive(Debug, Default)]
struct Watchers {
    links: Vec<Link>,
}

impl Watchers {
    /// Starts `watcher` over the tree `spec` describes; its reports go to `tx`.
    fn start(
        &mut self,
        exe: &Path,
        spec: &WatcherSpec,
        tx: &mpsc::Sender<Heard<Watcher, Report>>,
    ) -> Result<(), ExperimentError> {
        let name = format!("the {} watcher", spec.watcher.key());
        self.links.push(Link::spawn(exe, LabId::Watch, spec.watcher, name, spec, tx, |_| {})?);
        Ok(())
    }

    /// Asks every watcher to stop (they report their cost and exit).
    fn stop(&mut self) {
        self.links.iter_mut().for_each(Link::ask_to_stop);
    }

    fn reap(&mut self) {
        self.links.iter_mut().for_each(Link::wait);
    }
}

/// One round's bookkeeping: the changes written and which each watcher has noticed.
struct Round<'a> {
    ctx: &'a RunContext<'a>,
    t0: u64,
    round: u32,
    /// Per change: (file, write time on CLOCK_MONOTONIC).
    writes: Vec<(u32, u64)>,
    /// Per watcher, per change: noticed yet.
    noticed: [Vec<bool>; 2],
    active: [bool; 2],
    costs: [Option<(u64, u64, Option<u64>)>; 2],
    last_pass_ns: u64,
    batch: Vec<Event>,
    notes: &'a mut Vec<Text>,
}

impl Round<'_> {
    fn push(&mut self, t: u64, actor: shared::ActorId, ev: WatchEvent) {
        self.batch.push(Event { t: Nanos(t.saturating_sub(self.t0)), actor, kind: EventKind::Watch(ev) });
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let mut events = std::mem::take(&mut self.batch);
            events.sort_by_key(|e| e.t);
            (self.ctx.sink)(RunUpdate::Events(events));
        }
    }

    fn all_noticed(&self) -> bool {
        Watcher::ALL.iter().all(|&w| !self.active[w as usize] || self.noticed[w as usize].iter().all(|&n| n))
    }

    /// Takes what a watcher said into the trace; a watcher that failed or spoke out of protocol fails the run.
    fn hear(&mut self, (watcher, heard): Heard<Watcher, Report>) -> Result<(), ExperimentError> {
        for report in heard? {
            self.take(watcher, report)?;
        }
        Ok(())
    }

    /// Takes one report of a watcher into the trace.
    fn take(&mut self, watcher: Watcher, report: Report) -> Result<(), ExperimentError> {
        let (round, actor) = (self.round, watcher.actor());
        match report {
            Report::Ready { setup_ns } => {
                self.push(monotonic_ns(), actor, WatchEvent::Ready { round, watcher, setup_ns });
            }
            // A notice covers every change of that file written before it and not yet noticed; notices of no
            // pending change (a second event of one write) are not changes.
            Report::Detect { file, t } => {
                for change in 0..self.writes.len() {
                    let (f, written) = self.writes[change];
                    if f == file && written <= t && !self.noticed[watcher as usize][change] {
                        self.noticed[watcher as usize][change] = true;
                        let change = change as u32;
                        self.push(t, actor, WatchEvent::Detect { round, change, file, watcher });
                    }
                }
            }
            Report::Scan { t, ns } => {
                self.last_pass_ns = ns;
                self.push(t, actor, WatchEvent::Scan { round, ns });
            }
            Report::Overflow { t } => {
                self.push(t, actor, WatchEvent::Overflow { round });
                self.notes.push(Text::new("note.watch.overflow"));
            }
            Report::Limit { needed, limit } => {
                self.active[watcher as usize] = false;
                self.push(monotonic_ns(), actor, WatchEvent::Limit { round, needed, limit });
                self.notes.push(limit_note(needed, limit));
            }
            Report::Unavailable { reason } => {
                self.active[watcher as usize] = false;
                self.push(monotonic_ns(), actor, WatchEvent::Unavailable { round });
                self.notes.push(unavailable_note(&reason));
            }
            Report::Cost { cpu_ns, wall_ns, calls } => self.costs[watcher as usize] = Some((cpu_ns, wall_ns, calls)),
            Report::Failed { reason } => {
                return Err(ExperimentError::Worker(format!("the {} watcher: {reason}", watcher.key())));
            }
        }
        Ok(())
    }
}

experiment_entry!(WatchExperiment, Watch, worker = worker);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = WatchParams::parse(params)?;
    let root = ctx.scratch.join("tree");
    ctx.started(LabId::Watch, params, seed, actors([Some(std::process::id()), None, None]));
    let t0 = monotonic_ns();
    let mut notes = Vec::new();
    let mut created = 0u32;
    for (round, files) in p.rounds().into_iter().enumerate() {
        if Nanos(monotonic_ns() - t0) > RUN_BUDGET {
            notes.push(Text::new("note.watch.sweep_budget").with("budget", RUN_BUDGET).with("n", files));
            break;
        }
        while created < files {
            let path = file_path(&root, p.per_dir, created);
            if created.is_multiple_of(p.per_dir) {
                let dir = path.parent().unwrap_or(&root);
                std::fs::create_dir_all(dir).map_err(ExperimentError::io("creating the tree"))?;
            }
            std::fs::write(&path, b"0").map_err(ExperimentError::io("creating the tree's files"))?;
            created += 1;
        }
        run_round(&p, seed, round as u32, files, &root, t0, ctx, &mut notes)?;
    }
    Ok(notes)
}

#[allow(clippy::too_many_arguments)]
fn run_round(
    p: &WatchParams,
    seed: u64,
    round: u32,
    files: u32,
    root: &Path,
    t0: u64,
    ctx: &RunContext<'_>,
    notes: &mut Vec<Text>,
) -> Result<(), ExperimentError> {
    // The round starts before its watchers do: their first reports (the baseline pass) must fall inside it.
    let round_start = monotonic_ns();
    let mut watchers = Watchers::default();
    let (tx, rx) = mpsc::channel::<Heard<Watcher, Report>>();
    for watcher in Watcher::ALL {
        let spec = WatcherSpec {
            watcher,
            root: root.to_owned(),
            files,
            per_dir: p.per_dir,
            interval_ms: p.interval.0 / 1_000_000,
            watch_limit: watch_limit(),
            parent_pid: std::process::id(),
        };
        watchers.start(ctx.worker_exe, &spec, &tx)?;
    }
    drop(tx);

    let plan = p.write_plan(files, seed, round);
    let mut r = Round {
        ctx,
        t0,
        round,
        writes: Vec::with_capacity(plan.len()),
        noticed: [Vec::new(), Vec::new()],
        active: [true, true],
        costs: [None, None],
        last_pass_ns: 0,
        batch: Vec::new(),
        notes,
    };
    r.push(round_start, WRITER_ACTOR, WatchEvent::Round { round, files, dirs: p.dirs(files) });

    // Wait until each watcher is ready or has said it cannot watch.
    let mut waiting = [true, true];
    let ready_by = std::time::Instant::now() + READY_TIMEOUT;
    while waiting.iter().any(|&w| w) {
        check_cancel(ctx)?;
        let left = ready_by.saturating_duration_since(std::time::Instant::now());
        let (watcher, heard) = match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(got) => got,
            Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                return Err(ExperimentError::Worker("a watcher did not get ready in time".to_owned()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ExperimentError::Worker("the watchers exited before they were ready".to_owned()));
            }
        };
        for report in heard? {
            if matches!(report, Report::Ready { .. } | Report::Limit { .. } | Report::Unavailable { .. }) {
                waiting[watcher as usize] = false;
            }
            r.take(watcher, report)?;
        }
    }
    r.flush();

    // Write the plan, taking the watchers' reports between writes.
    let start = monotonic_ns();
    for (change, (at, file)) in plan.into_iter().enumerate() {
        if at > ROUND_WRITE_BUDGET {
            r.notes.push(
                Text::new("note.watch.round_budget")
                    .with("round", round)
                    .with("changes", change)
                    .with("budget", ROUND_WRITE_BUDGET),
            );
            break;
        }
        let due = start + at.0;
        loop {
            check_cancel(ctx)?;
            let now = monotonic_ns();
            if now >= due {
                break;
            }
            let wait = Duration::from_nanos((due - now).min(20_000_000));
            if let Ok(heard) = rx.recv_timeout(wait) {
                r.hear(heard)?;
            }
        }
        let t = monotonic_ns();
        r.writes.push((file, t));
        for seen in &mut r.noticed {
            seen.push(false);
        }
        r.push(t, WRITER_ACTOR, WatchEvent::Write { round, change: change as u32, file });
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(file_path(root, p.per_dir, file))
            .map_err(ExperimentError::io("opening a file to change"))?;
        f.write_all(b"x").map_err(ExperimentError::io("changing a file"))?;
        if r.batch.len() >= 64 {
            r.flush();
        }
    }

    // Give the watchers time to notice the last changes: two intervals and two passes, and a second.
    let grace = 2 * (p.interval.0 + r.last_pass_ns) + 1_000_000_000;
    let until = monotonic_ns() + grace;
    while !r.all_noticed() && monotonic_ns() < until {
        check_cancel(ctx)?;
        if let Ok(heard) = rx.recv_timeout(Duration::from_millis(20)) {
            r.hear(heard)?;
        }
    }
    let end = monotonic_ns();
    watchers.stop();
    // Their last reports (the cost) arrive as they exit; the channel closes when both have.
    while let Ok(heard) = rx.recv_timeout(Duration::from_secs(10)) {
        r.hear(heard)?;
    }
    watchers.reap();
    for watcher in Watcher::ALL {
        if let Some((cpu_ns, wall_ns, syscalls)) = r.costs[watcher as usize] {
            r.push(end, watcher.actor(), WatchEvent::Cost { round, watcher, cpu_ns, wall_ns, syscalls });
        }
    }
    r.flush();
    Ok(())
}

fn check_cancel(ctx: &RunContext<'_>) -> Result<(), ExperimentError> {
    if ctx.cancel.is_cancelled() { Err(ExperimentError::Cancelled) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_and_indices_round_trip() {
        let path = file_path(Path::new("/t"), 100, 1_234);
        assert_eq!(path, Path::new("/t/d00012/f001234"));
        assert_eq!(file_index(&path), Some(1_234));
        assert_eq!(file_index(Path::new("/t/d00012")), None);
    }

    #[test]
    fn inotify_refusing_to_start_names_the_instance_limit() {
        assert!(unavailable_note("Too many open files").to_string().contains("fs.inotify.max_user_instances"));
    }
}
