//! The file-lock lab: N processes looping think → request → hold → release on one file, with `flock(2)`
//! (exclusive or shared, blocking or `LOCK_NB` retried) or with a lock file created with `O_CREAT|O_EXCL`.

mod lanes;
mod metrics;
mod model;
mod snapshot;

pub use lanes::{Lane, Span, SpanState, lanes};
pub use metrics::metrics;
pub use model::simulate;
pub use snapshot::{LockFileView, LockSnapshot, ProcState, ProcView, snapshot};

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{Choice, ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::rng::Distribution;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind};
use serde::{Deserialize, Serialize};

pub static INFO: LabInfo = LabInfo {
    id: LabId::Lock,
    title: "File locks",
    summary: "Processes queueing for one file: exclusive and shared flock, blocking and LOCK_NB, and lock files.",
    explanation: &[
        "Several processes want the same file. A lock says who may touch it now. With flock(2) the kernel keeps \
         the lock: an exclusive lock admits one holder, a shared lock admits any number of readers but no writer. \
         A blocking request sleeps until the lock is free; a non-blocking one (LOCK_NB) fails at once with \
         EWOULDBLOCK and the program must try again later. A lock file is the portable old way: whoever creates \
         the file with O_CREAT|O_EXCL holds the lock, and removes it to release.",
        "Why it matters: blocking contention hands the lock from one process to the next and keeps throughput \
         flat as processes are added, while busy retrying burns CPU and lets some processes starve. Readers that \
         keep arriving can hold a shared lock for ever and starve a writer. A process killed while holding a \
         flock loses it at once, because the kernel releases it with the last file descriptor; a lock file stays \
         behind, stale, and blocks everyone until someone removes it. And every one of these locks is advisory: a \
         process that never asks writes anyway.",
        "Try: raise the processes from 2 to 32 in blocking mode and watch throughput stay flat while waits grow; \
         switch to non-blocking with a 50 µs retry and watch the failed attempts and the fairness index; give \
         half the processes shared locks; then run the two demonstrations, a killed holder and a rogue writer, \
         simulated and on this machine. Finally set the think time to 0: a process that comes straight \
         back takes the lock again before the waiter it woke can run, for a scheduler slice, and only then does \
         the lock pass on — so waits are nearly all zero with a long tail of slices, and fairness over the run \
         stays high. The model does the same on the machine's CPUs; more LOCK_NB spinners than CPUs share them, \
         and throughput collapses.",
        "What this lab cannot run: a mandatory lock. On Windows, LockFileEx locks a range of a file and the \
         system itself refuses every other process's reads and writes of that range, whether it asked for a lock \
         or not; flock and fcntl locks bind only the processes that ask. Linux once had mandatory locking (a mount \
         option and a mode bit on the file) and removed it in kernel 5.15, so nothing on this machine can show \
         it: the rogue-writer demonstration is the other side of the same lesson, an advisory lock that a process \
         which never asks simply does not see.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "procs", values: "1..32:6:log", metric: "throughput" },
};

lab_entry!(LockLab, LockParams);

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "tail",
    prompt: "With these settings, how many times longer will the unluckiest 1 % of waits (p99) be than the \
                 typical wait (p50)?",
    figure: Figure::Ratio("wait_p99", "wait_p50"),
    answers: &[
        Answer { label: "Under 2×: waits are even", below: 2.0 },
        Answer { label: "2× to 5×", below: 5.0 },
        Answer { label: "5× to 20×", below: 20.0 },
        Answer { label: "Over 20×: a long tail", below: INF },
    ],
    why: "A waiter's wait is the sum of the holds ahead of it in the queue: with N processes the unlucky \
              ones find N − 1 holders before them, the lucky ones none. Non-blocking retries add their interval \
              on top, and the scheduler decides which blocked waiter wakes first, so the tail grows with \
              contention rather than with the hold time.",
}];

const MODES: &[Choice] = &[
    Choice { value: "blocking", label: "flock, blocking" },
    Choice { value: "nonblocking", label: "flock, LOCK_NB retried" },
    Choice { value: "lockfile", label: "lock file (O_CREAT|O_EXCL)" },
];
const DISTRIBUTIONS: &[Choice] = &[
    Choice { value: "exponential", label: "exponential" },
    Choice { value: "uniform", label: "uniform" },
    Choice { value: "constant", label: "constant" },
];
const DEMOS: &[Choice] = &[
    Choice { value: "none", label: "none" },
    Choice { value: "kill_holder", label: "kill a holder (SIGKILL)" },
    Choice { value: "rogue_writer", label: "a rogue writer ignores the lock" },
];

static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "procs",
        label: "Processes",
        unit: "",
        help: "How many processes contend for the file.",
        kind: ParamKind::Int { min: 1, max: 64, default: 4 },
        simulation_only: false,
    },
    ParamSpec {
        key: "mode",
        label: "Locking",
        unit: "",
        help: "How each process asks for the lock.",
        kind: ParamKind::Choice { choices: MODES, default: "blocking" },
        simulation_only: false,
    },
    ParamSpec {
        key: "readers",
        label: "Readers",
        unit: "%",
        help: "Share of processes that take a shared lock (flock only; a lock file is always exclusive).",
        kind: ParamKind::Int { min: 0, max: 100, default: 0 },
        simulation_only: false,
    },
    ParamSpec {
        key: "retry_us",
        label: "Retry interval",
        unit: "µs",
        help: "How long a non-blocking request or a lock-file attempt waits before trying again. Waited precisely on the machine (spun on the clock, slept first when long; a plain sleep lasts tens of µs longer): the run reports what it got.",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 500 },
        simulation_only: false,
    },
    ParamSpec {
        key: "think_us",
        label: "Think time",
        unit: "µs",
        help: "Mean time a process works without the lock between two requests. Waited precisely on the machine (spun on the clock, slept first when long): the run reports what it got.",
        kind: ParamKind::Int { min: 0, max: 1_000_000, default: 2_000 },
        simulation_only: false,
    },
    ParamSpec {
        key: "hold_us",
        label: "Hold time",
        unit: "µs",
        help: "Mean time a process keeps the lock. Waited precisely on the machine (spun on the clock, slept first when long): the run reports what it got.",
        kind: ParamKind::Int { min: 1, max: 1_000_000, default: 1_000 },
        simulation_only: false,
    },
    ParamSpec {
        key: "dist",
        label: "Time distribution",
        unit: "",
        help: "How think and hold times are drawn around their means.",
        kind: ParamKind::Choice { choices: DISTRIBUTIONS, default: "exponential" },
        simulation_only: false,
    },
    ParamSpec {
        key: "duration_ms",
        label: "Duration",
        unit: "ms",
        help: "How long processes keep requesting the lock.",
        kind: ParamKind::Int { min: 10, max: 10_000, default: 300 },
        simulation_only: false,
    },
    ParamSpec {
        key: "demo",
        label: "Demonstration",
        unit: "",
        help: "Kill P0 while it holds the lock, a third of the way in, or add a process that writes without asking for the lock.",
        kind: ParamKind::Choice { choices: DEMOS, default: "none" },
        simulation_only: false,
    },
    ParamSpec {
        key: "wake_us",
        label: "Wake-up latency",
        unit: "µs",
        help: "Simulation only: from a holder's unlock to a waiter blocked in flock holding the lock (reference: \
               35 µs, measured on another machine; calibrating measures this one's).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 35 },
        simulation_only: true,
    },
    ParamSpec {
        key: "turn_ns",
        label: "Cost of a turn",
        unit: "ns",
        help: "Simulation only: what a turn at the lock costs a process beyond its hold and think time — the \
               flock calls, reading and writing the counter, the clock and its records; half of it while holding \
               (reference: 5 µs; calibrating measures this machine's from the lab's own loop: two processes, no \
               think time, so the wake-up each release makes is in it).",
        kind: ParamKind::Int { min: 0, max: 1_000_000, default: 5_000 },
        simulation_only: true,
    },
    ParamSpec {
        key: "slice_us",
        label: "Scheduler slice",
        unit: "µs",
        help: "Simulation only: how long a process that comes straight back keeps taking the lock again before \
               the scheduler runs a woken waiter instead (reference: 500 µs; calibrating measures this machine's \
               from the longest waits of two such processes).",
        kind: ParamKind::Int { min: 1, max: 1_000_000, default: 500 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cpus",
        label: "CPUs",
        unit: "",
        help: "Simulation only: how many CPUs run the processes (reference: 2; calibrating sets this machine's).",
        kind: ParamKind::Int { min: 1, max: 256, default: 2 },
        simulation_only: true,
    },
    crate::repeats::spec(3),
];

/// How a process asks for the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireMode {
    Blocking,
    NonBlocking,
    LockFile,
}

/// The optional demonstration run alongside the contention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Demo {
    None,
    KillHolder,
    RogueWriter,
}

impl crate::params::ChoiceEnum for AcquireMode {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("blocking", AcquireMode::Blocking),
        ("nonblocking", AcquireMode::NonBlocking),
        ("lockfile", AcquireMode::LockFile),
    ];
}

impl crate::params::ChoiceEnum for Demo {
    const VALUES: &'static [(&'static str, Self)] =
        &[("none", Demo::None), ("kill_holder", Demo::KillHolder), ("rogue_writer", Demo::RogueWriter)];
}

/// Shared (readers) or exclusive (writers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    Shared,
    Exclusive,
}

/// What happened in the lock lab. Simulated and real runs emit exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum LockEvent {
    /// The process asked for the lock.
    Requested { kind: LockKind },
    /// Attempts that failed at once (EWOULDBLOCK, or EEXIST for a lock file) since the last report.
    WouldBlock { attempts: u32 },
    /// The process holds the lock.
    Acquired { kind: LockKind },
    /// The process let go of the lock.
    Released,
    /// A writer stored the shared counter; `locked` is false for the rogue writer.
    CounterWrite { value: u64, locked: bool },
    /// The process was killed with SIGKILL (while holding, in the demonstration).
    Killed,
    /// A waiting process stopped trying because the run ended.
    GaveUp,
    /// The run removed a lock file left behind by a killed holder.
    StaleLockRemoved,
    /// The counter file's value when the run ended.
    CounterFinal { value: u64 },
}

/// The lock lab's parameters, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockParams {
    pub n_procs: u32,
    pub mode: AcquireMode,
    pub readers_pct: u32,
    pub retry: Nanos,
    pub think: Nanos,
    pub hold: Nanos,
    pub dist: Distribution,
    pub duration: Nanos,
    pub demo: Demo,
    pub wake: Nanos,
    /// A turn's own cost beyond hold and think.
    pub turn: Nanos,
    /// How long a process keeps re-taking the lock before a woken waiter runs instead.
    pub slice: Nanos,
    pub cpus: u32,
}

impl LockParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("lock", PARAMS, set, |r| {
            let micros = |key| Nanos::from_micros(r.uint(key));
            Ok(LockParams {
                n_procs: r.uint("procs") as u32,
                mode: r.pick("mode")?,
                readers_pct: r.uint("readers") as u32,
                retry: micros("retry_us"),
                think: micros("think_us"),
                hold: micros("hold_us"),
                dist: r.pick("dist")?,
                duration: Nanos::from_millis(r.uint("duration_ms")),
                demo: r.pick("demo")?,
                wake: micros("wake_us"),
                turn: Nanos(r.uint("turn_ns")),
                slice: micros("slice_us"),
                cpus: r.uint("cpus") as u32,
            })
        })
    }

    /// How many processes take shared locks (none with a lock file, which cannot be shared).
    pub fn n_readers(&self) -> u32 {
        if self.mode == AcquireMode::LockFile { 0 } else { (self.n_procs * self.readers_pct + 50) / 100 }
    }

    /// The lock kind process `proc_idx` asks for: the last `n_readers` processes read.
    pub fn kind_of(&self, proc_idx: u32) -> LockKind {
        if proc_idx >= self.n_procs - self.n_readers() { LockKind::Shared } else { LockKind::Exclusive }
    }

    /// The actor that stands for the locked file (or the lock file).
    pub fn file_actor(&self) -> ActorId {
        ActorId(self.n_procs)
    }

    /// The rogue writer, present in that demonstration only.
    pub fn rogue_actor(&self) -> Option<ActorId> {
        (self.demo == Demo::RogueWriter).then_some(ActorId(self.n_procs + 1))
    }

    /// From this moment the kill demonstration kills P0 as soon as it holds the lock.
    pub fn kill_at(&self) -> Nanos {
        Nanos(self.duration.0 / 3)
    }

    /// The run's actors: process `i` is `ActorId(i)`, then the file, then the rogue. `pids` labels measured runs.
    pub fn actors(&self, pids: &[Option<u32>]) -> Vec<Actor> {
        let pid = |i: u32| pids.get(i as usize).copied().flatten();
        let mut actors: Vec<Actor> = (0..self.n_procs)
            .map(|i| Actor {
                id: ActorId(i),
                kind: ActorKind::Process,
                label: match self.kind_of(i) {
                    LockKind::Exclusive => Text::new("term.lock.writer").with("n", i),
                    LockKind::Shared => Text::new("term.lock.reader").with("n", i),
                },
                pid: pid(i),
            })
            .collect();
        let file_label = if self.mode == AcquireMode::LockFile {
            Text::Literal("data.lock".into())
        } else {
            Text::new("term.lock.data_flock")
        };
        actors.push(Actor { id: self.file_actor(), kind: ActorKind::File, label: file_label, pid: None });
        if let Some(rogue) = self.rogue_actor() {
            actors.push(Actor {
                id: rogue,
                kind: ActorKind::Process,
                label: Text::new("term.lock.rogue"),
                pid: pid(rogue.0),
            });
        }
        actors
    }
}

/// The case both speed benchmarks simulate (natively in `syslab bench`, in Chromium on the page's /bench).
pub fn benchmark_params() -> ParamSet {
    use crate::params::ParamValue::{Int, Text};
    [("procs", Int(16)), ("mode", Text("nonblocking".into())), ("duration_ms", Int(2_000))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    #[test]
    fn readers_are_the_last_processes_and_never_use_a_lock_file() {
        let mut set = ParamSet::new();
        set.insert("procs".into(), ParamValue::Int(4));
        set.insert("readers".into(), ParamValue::Int(50));
        let p = LockParams::parse(&set).unwrap();
        assert_eq!(p.n_readers(), 2);
        assert_eq!(
            (0..4).map(|i| p.kind_of(i)).collect::<Vec<_>>(),
            [LockKind::Exclusive, LockKind::Exclusive, LockKind::Shared, LockKind::Shared]
        );
        set.insert("mode".into(), ParamValue::Text("lockfile".into()));
        let p = LockParams::parse(&set).unwrap();
        assert_eq!(p.n_readers(), 0);
    }
}
