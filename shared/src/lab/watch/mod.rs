//! Watching files: passive notification (inotify) against active polling. A writer changes files of a tree of N
//! files at random moments; a notified watcher is told by the kernel through a bounded queue, a poller finds the
//! change at its next stat of the file. The model charges what each costs; the real run measures the same rounds
//! with the notify crate's inotify watcher and a poller of our own, each in its own process. A sweep repeats the
//! round for N = 10, 100, … so the cost of each against N can be seen.

mod metrics;
mod params;

pub use metrics::*;
use params::*;

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{Choice, ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::rng::{Distribution, SimRng};
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace, Unit};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

pub static INFO: LabInfo = LabInfo {
    id: LabId::Watch,
    title: "Watching files",
    summary: "Passive notification (inotify) against active polling as the number of files and the poll interval grow.",
    explanation: &[
        "A build tool that rebuilds on change must learn that a file changed. It can be told: on Linux it asks \
         inotify to watch each directory, and the kernel queues an event at every write (passive). Or it can look: \
         stat every file every T milliseconds and compare the modification time and size with the last pass \
         (active polling).",
        "Why it matters: polling is simple and works everywhere, even on network file systems that send no \
         events, but every pass costs a system call per file, so its CPU grows with N, and a change waits up to \
         T plus a whole pass to be seen. Notification costs nothing while nothing changes and is seen in \
         microseconds, but it has limits: a watch per directory (fs.inotify.max_user_watches), a bounded queue \
         that overflows (IN_Q_OVERFLOW: the watcher must rescan) and identical unread events merged into one.",
        "Try: raise the file count and watch the poller's sweep slow down while inotify stays flat; shorten the \
         interval and see the poller's latency fall and its CPU rise; sweep N from 10 to 100 000 for the cost \
         curve; in the model, shrink the kernel queue and send bursts to see events lost. The poller of the real \
         run is our own (nanosecond modification time and size, every file each pass): notify's PollWatcher \
         compares whole seconds, so it would miss a second change within a second.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "files", values: "100,1000,10000", metric: "poll_cpu_ratio" },
};

lab_entry!(WatchLab, WatchParams, {
    /// A sweep streams its rounds: the bar counts the changes written across them.
    fn progress(&self, params: &ParamSet) -> crate::lab::Progress {
        let Ok(p) = WatchParams::parse(params) else { return crate::lab::Progress::Events };
        let writes = |kind: &EventKind| matches!(kind, EventKind::Watch(WatchEvent::Write { .. }));
        crate::lab::Progress::Counted {
            total: p.rounds().len() as u64 * u64::from(p.changes),
            unit: "changes",
            counts: writes,
        }
    }
});

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "poll_cost",
    prompt: "How many times more CPU will the poller spend than the inotify watcher to notice the same \
                 changes?",
    figure: Figure::Metric("poll_cpu_ratio"),
    answers: &[
        Answer { label: "Under 2×", below: 2.0 },
        Answer { label: "2× to 10×", below: 10.0 },
        Answer { label: "10× to 50×", below: 50.0 },
        Answer { label: "Over 50×", below: INF },
    ],
    why: "The poller stats every file on every pass whether anything changed or not, so its cost grows with \
              the number of files divided by the interval; inotify costs something only when a file changes.",
}];

/// The sweep's file counts (each used up to the run's N).
pub const SWEEP_FILES: [u32; 5] = [10, 100, 1_000, 10_000, 100_000];

/// The two ways of watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Watcher {
    /// Passive: the kernel queues an event (inotify, through the notify crate in the real run).
    Inotify,
    /// Active: stat every file each pass and compare.
    Poll,
}

impl Watcher {
    pub const ALL: [Watcher; 2] = [Watcher::Inotify, Watcher::Poll];

    pub fn key(self) -> &'static str {
        match self {
            Watcher::Inotify => "inotify",
            Watcher::Poll => "poll",
        }
    }

    pub fn name(self) -> Text {
        Text::new(&format!("term.watch.{}", self.key()))
    }

    pub fn actor(self) -> ActorId {
        match self {
            Watcher::Inotify => INOTIFY_ACTOR,
            Watcher::Poll => POLL_ACTOR,
        }
    }
}

pub const WRITER_ACTOR: ActorId = ActorId(0);
pub const INOTIFY_ACTOR: ActorId = ActorId(1);
pub const POLL_ACTOR: ActorId = ActorId(2);

/// What happened in the watch lab. `round` numbers the rounds of a sweep from 0; `change` numbers the changes
/// of a round from 0, one per file written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A round starts with a tree of `files` files in `dirs` directories.
    Round { round: u32, files: u32, dirs: u32 },
    /// A watcher is ready: watches added, or the poller's first pass (its baseline) done, after `setup_ns`.
    Ready { round: u32, watcher: Watcher, setup_ns: u64 },
    /// The writer changed `file`.
    Write { round: u32, change: u32, file: u32 },
    /// A watcher noticed the change.
    Detect { round: u32, change: u32, file: u32, watcher: Watcher },
    /// The poller finished a pass over every file that took `ns`.
    Scan { round: u32, ns: u64 },
    /// The kernel queue overflowed: events were dropped (IN_Q_OVERFLOW).
    Overflow { round: u32 },
    /// inotify could not watch the tree: `needed` watches against the limit of `limit` (max_user_watches).
    Limit { round: u32, needed: u32, limit: u32 },
    /// inotify could not start at all (no instance left: max_user_instances); the poller ran alone.
    Unavailable { round: u32 },
    /// A watcher's cost over the round once ready: CPU time, wall time and, where counted, system calls.
    Cost { round: u32, watcher: Watcher, cpu_ns: u64, wall_ns: u64, syscalls: Option<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchParams {
    pub files: u32,
    pub per_dir: u32,
    pub changes: u32,
    pub rate: f64,
    pub burst: u32,
    pub interval: Nanos,
    pub sweep: bool,
    pub stat_ns: u64,
    /// notify's recursive watch set up, per entry of the tree.
    pub watch_walk_ns: u64,
    pub notify_delay: Nanos,
    pub event_cost: Nanos,
    pub queue: u32,
    pub coalesce: bool,
}

impl WatchParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("watch", PARAMS, set, |r| {
            Ok(WatchParams {
                files: r.uint("files") as u32,
                per_dir: r.uint("per_dir") as u32,
                changes: r.uint("changes") as u32,
                rate: r.uint("rate") as f64,
                burst: r.uint("burst") as u32,
                interval: Nanos::from_millis(r.uint("interval_ms")),
                sweep: r.either("sweep", "on", "off")?,
                stat_ns: r.uint("stat_ns"),
                watch_walk_ns: r.uint("watch_walk_ns"),
                notify_delay: Nanos::from_micros(r.uint("notify_delay_us")),
                event_cost: Nanos::from_micros(r.uint("event_cost_us")),
                queue: r.uint("queue") as u32,
                coalesce: r.either("coalesce", "on", "off")?,
            })
        })
    }

    /// The file counts of the run's rounds: N alone, or the sweep's counts up to N.
    pub fn rounds(&self) -> Vec<u32> {
        if !self.sweep {
            return vec![self.files];
        }
        SWEEP_FILES.into_iter().filter(|&n| n <= self.files).collect()
    }

    /// How many directories hold `files` files.
    pub fn dirs(&self, files: u32) -> u32 {
        files.div_ceil(self.per_dir)
    }

    /// The writer's plan for a round: (offset from the writer's start, file) per change, in order. Changes come
    /// in bursts of `burst` files at one moment, the moments `1/rate` apart on average (exponential); the files
    /// are drawn at random from the round's `files`. The real writer follows the same plan.
    pub fn write_plan(&self, files: u32, seed: u64, round: u32) -> Vec<(Nanos, u32)> {
        let mut rng = SimRng::new(seed, 100 + u64::from(round));
        let mean_gap = Nanos(libm::round(1e9 / self.rate) as u64);
        let mut at = Nanos::ZERO;
        (0..self.changes)
            .map(|change| {
                if change % self.burst == 0 {
                    at = at + Distribution::Exponential.sample(mean_gap, &mut rng);
                }
                (at, rng.below(u64::from(files)) as u32)
            })
            .collect()
    }
}

pub fn actors(pids: [Option<u32>; 3]) -> Vec<Actor> {
    let actor = |id, kind, label: Text, pid| Actor { id, kind, label, pid };
    vec![
        actor(WRITER_ACTOR, ActorKind::Process, Text::new("term.actor.writer"), pids[0]),
        actor(INOTIFY_ACTOR, ActorKind::Watcher, Watcher::Inotify.name(), pids[1]),
        actor(POLL_ACTOR, ActorKind::Watcher, Watcher::Poll.name(), pids[2]),
    ]
}

fn event(t: Nanos, actor: ActorId, ev: WatchEvent) -> Event {
    Event { t, actor, kind: EventKind::Watch(ev) }
}

/// Simulates every round one after the other on one time line.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(WatchParams::parse(params)?, params, seed))
}

fn simulate_typed(p: WatchParams, params: &ParamSet, seed: u64) -> Trace {
    let mut events = Vec::new();
    let mut start = Nanos::ZERO;
    for (round, files) in p.rounds().into_iter().enumerate() {
        start = simulate_round(&p, seed, round as u32, files, start, &mut events);
    }
    events.sort_by_key(|e| e.t);
    Trace {
        run: RunInfo { lab: LabId::Watch, params: params.clone(), seed, source: Source::Simulated },
        actors: actors([None; 3]),
        events,
        notes: Vec::new(),
    }
}

/// One round from `start`; returns when it ended.
fn simulate_round(p: &WatchParams, seed: u64, round: u32, files: u32, start: Nanos, out: &mut Vec<Event>) -> Nanos {
    let dirs = p.dirs(files);
    let pass = Nanos(u64::from(files) * p.stat_ns);
    // notify walks the whole tree, files and directories, and watches each directory.
    let watch_setup = Nanos((u64::from(files) + u64::from(dirs) + 1) * p.watch_walk_ns);
    out.push(event(start, WRITER_ACTOR, WatchEvent::Round { round, files, dirs }));
    out.push(event(
        start + watch_setup,
        INOTIFY_ACTOR,
        WatchEvent::Ready { round, watcher: Watcher::Inotify, setup_ns: watch_setup.0 },
    ));
    out.push(event(start + pass, POLL_ACTOR, WatchEvent::Ready { round, watcher: Watcher::Poll, setup_ns: pass.0 }));
    out.push(event(start + pass, POLL_ACTOR, WatchEvent::Scan { round, ns: pass.0 }));
    let ready = start + watch_setup.max(pass);
    let plan: Vec<(Nanos, u32)> = p.write_plan(files, seed, round).into_iter().map(|(at, f)| (ready + at, f)).collect();
    for (change, &(at, file)) in plan.iter().enumerate() {
        out.push(event(at, WRITER_ACTOR, WatchEvent::Write { round, change: change as u32, file }));
    }
    let notified = simulate_inotify(p, round, &plan, out);
    let polled = simulate_poller(p, round, files, start + pass, &plan, out);
    let end = notified.end.max(polled.end).max(plan.last().map_or(ready, |w| w.0));
    let wall = end.saturating_sub(ready).0;
    out.push(event(
        end,
        INOTIFY_ACTOR,
        WatchEvent::Cost {
            round,
            watcher: Watcher::Inotify,
            cpu_ns: notified.cpu_ns,
            wall_ns: wall,
            syscalls: Some(notified.syscalls),
        },
    ));
    out.push(event(
        end,
        POLL_ACTOR,
        WatchEvent::Cost {
            round,
            watcher: Watcher::Poll,
            cpu_ns: polled.cpu_ns,
            wall_ns: wall,
            syscalls: Some(polled.syscalls),
        },
    ));
    end
}

/// What a simulated watcher did in a round.
struct WatcherRun {
    end: Nanos,
    cpu_ns: u64,
    syscalls: u64,
}

/// The notified watcher: every write queues an event (merged into the last unread one if identical, dropped if
/// the queue is full); the watcher takes them in order, each `notify_delay` after it was queued at the earliest
/// and once it has handled the previous one, which takes it `event_cost` after it had it (the real handler
/// stamps a change when it has it, then reports it). One read(2) per wake-up from idle.
fn simulate_inotify(p: &WatchParams, round: u32, plan: &[(Nanos, u32)], out: &mut Vec<Event>) -> WatcherRun {
    // Unread entries: (when the watcher takes it, the file, the changes merged into it).
    let mut unread: VecDeque<(Nanos, u32, Vec<u32>)> = VecDeque::new();
    let (mut free_at, mut cpu_ns, mut reads) = (Nanos::ZERO, 0, 0);
    let mut overflowed = false;
    let handle = |entry: (Nanos, u32, Vec<u32>), out: &mut Vec<Event>| {
        let (taken, file, changes) = entry;
        for change in changes {
            out.push(event(
                taken,
                INOTIFY_ACTOR,
                WatchEvent::Detect { round, change, file, watcher: Watcher::Inotify },
            ));
        }
    };
    for (change, &(at, file)) in plan.iter().enumerate() {
        while unread.front().is_some_and(|e| e.0 <= at) {
            if let Some(entry) = unread.pop_front() {
                handle(entry, out);
            }
        }
        if unread.is_empty() {
            overflowed = false;
        }
        if p.coalesce
            && let Some(last) = unread.back_mut()
            && last.1 == file
        {
            last.2.push(change as u32);
            continue;
        }
        if unread.len() >= p.queue as usize {
            if !overflowed {
                out.push(event(at, INOTIFY_ACTOR, WatchEvent::Overflow { round }));
                overflowed = true;
            }
            continue;
        }
        let earliest = at + p.notify_delay;
        if earliest >= free_at {
            reads += 1;
        }
        let taken = earliest.max(free_at);
        free_at = taken + p.event_cost;
        cpu_ns += p.event_cost.0;
        unread.push_back((taken, file, vec![change as u32]));
    }
    for entry in unread {
        handle(entry, out);
    }
    WatcherRun { end: free_at, cpu_ns, syscalls: reads }
}

/// The poller: after its baseline pass (ending at `first_end`) it sleeps `interval`, then stats files 0..N in
/// order, `stat_ns` each; a change is seen by the first stat of its file that returns at or after the write.
/// Passes go on until every change was seen.
fn simulate_poller(
    p: &WatchParams,
    round: u32,
    files: u32,
    first_end: Nanos,
    plan: &[(Nanos, u32)],
    out: &mut Vec<Event>,
) -> WatcherRun {
    let pass = Nanos(u64::from(files) * p.stat_ns);
    let last_write = plan.last().map_or(first_end, |w| w.0);
    let mut seen = vec![false; plan.len()];
    let (mut pass_end, mut passes) = (first_end, 0u64);
    loop {
        let pass_start = pass_end + p.interval;
        pass_end = pass_start + pass;
        passes += 1;
        for (change, &(at, file)) in plan.iter().enumerate() {
            // The stat reads the file's times as it returns: a write before then is seen.
            let t = pass_start + Nanos((u64::from(file) + 1) * p.stat_ns);
            if !seen[change] && at <= t {
                seen[change] = true;
                out.push(event(
                    t,
                    POLL_ACTOR,
                    WatchEvent::Detect { round, change: change as u32, file, watcher: Watcher::Poll },
                ));
            }
        }
        out.push(event(pass_end, POLL_ACTOR, WatchEvent::Scan { round, ns: pass.0 }));
        if pass_start > last_write {
            break;
        }
    }
    WatcherRun { end: pass_end, cpu_ns: passes * pass.0, syscalls: passes * u64::from(files) }
}

/// The model's CPU time per second of watching at N files, for the cost chart: the poller's passes (one every
/// interval plus a pass) against the notified watcher's events at the change rate.
pub fn model_cpu_per_second(p: &WatchParams, files: u32, watcher: Watcher) -> f64 {
    match watcher {
        Watcher::Poll => {
            let pass = f64::from(files) * p.stat_ns as f64;
            pass / (pass + p.interval.0 as f64) * 1e9
        }
        Watcher::Inotify => (p.rate * p.event_cost.0 as f64).min(1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn set(pairs: &[(&str, ParamValue)]) -> ParamSet {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        LabId::Watch.validate(&given).unwrap()
    }

    #[test]
    fn every_change_is_seen_by_both_watchers_with_the_default_queue() {
        let trace = simulate(&set(&[]), 3).unwrap();
        let all = rounds(&trace);
        assert_eq!(all.len(), 1);
        let (r, _) = &all[0];
        assert_eq!(r.writes.len(), 100);
        for w in Watcher::ALL {
            assert_eq!(r.missed(w), 0, "{w:?}");
        }
        // Notification is far quicker than a 100 ms poll.
        assert!(r.latencies(Watcher::Inotify)[50] < r.latencies(Watcher::Poll)[50]);
        assert_eq!(simulate(&set(&[]), 3).unwrap(), trace, "deterministic");
    }

    #[test]
    fn a_small_queue_overflows_under_bursts_and_loses_changes() {
        let text = |v: &str| ParamValue::Text(v.into());
        let s = set(&[
            ("queue", ParamValue::Int(4)),
            ("burst", ParamValue::Int(32)),
            ("event_cost_us", ParamValue::Int(100)),
            ("coalesce", text("off")),
        ]);
        let trace = simulate(&s, 1).unwrap();
        let (r, _) = &rounds(&trace)[0];
        assert!(r.overflows > 0);
        assert!(r.missed(Watcher::Inotify) > 0);
        assert_eq!(r.missed(Watcher::Poll), 0, "the poller cannot lose a change, only merge it");
    }

    #[test]
    fn the_sweep_has_a_round_per_power_of_ten_and_the_poller_cost_grows_with_n() {
        let s = set(&[
            ("sweep", ParamValue::Text("on".into())),
            ("files", ParamValue::Int(10_000)),
            ("changes", ParamValue::Int(10)),
        ]);
        let trace = simulate(&s, 1).unwrap();
        let all = rounds(&trace);
        assert_eq!(all.iter().map(|(r, _)| r.files).collect::<Vec<_>>(), vec![10, 100, 1_000, 10_000]);
        let poll: Vec<f64> = all.iter().filter_map(|(r, _)| r.cpu_per_second(Watcher::Poll)).collect();
        assert!(poll.windows(2).all(|w| w[0] < w[1]), "{poll:?}");
        assert!(metrics(&trace).iter().any(|m| m.key == "poll_cpu_n10000"));
    }

    #[test]
    fn the_model_cost_curve_matches_the_simulated_rounds() {
        let p = WatchParams::parse(&set(&[])).unwrap();
        let sim = simulate(&set(&[]), 1).unwrap();
        let (r, _) = &rounds(&sim)[0];
        let simulated = r.cpu_per_second(Watcher::Poll).unwrap();
        let model = model_cpu_per_second(&p, p.files, Watcher::Poll);
        assert!((simulated / model - 1.0).abs() < 0.1, "{simulated} vs {model}");
    }
}
