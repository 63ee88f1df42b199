//! The real experiments, one module per lab, and what they share: the context a run gets (its scratch
//! directory, a cancel flag, where to send its events) and the errors a run can end with.

/// An experiment module's registry entry: a unit type implementing [`Experiment`] for `lab` from the module's
/// `run`, and from `worker` when the lab starts worker processes.
macro_rules! experiment_entry {
    ($name:ident, $lab:ident $(, worker = $worker:path)?) => {
        /// This lab's experiment in [`crate::experiment::EXPERIMENTS`].
        #[derive(Debug)]
        pub struct $name;

        impl crate::experiment::Experiment for $name {
            fn lab(&self) -> shared::LabId {
                shared::LabId::$lab
            }

            fn run(
                &self,
                params: &shared::ParamSet,
                seed: u64,
                ctx: &crate::experiment::RunContext<'_>,
            ) -> Result<Vec<shared::i18n::Text>, crate::experiment::ExperimentError> {
                run(params, seed, ctx)
            }

            $(fn worker(&self, arg: &str) -> Result<(), crate::experiment::ExperimentError> {
                $worker(arg)
            })?
        }
    };
}

pub mod amdahl;
pub mod io;
pub mod link;
pub mod lock;
pub mod methods;
pub mod mmap;
pub mod pipeline;
pub mod watch;

use shared::LabId;
use shared::i18n::Text;
use shared::params::{ParamError, ParamSet};
use shared::trace::{Actor, Event, HostInfo, RunInfo, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set to ask a running experiment to stop; it then kills its workers and returns [`ExperimentError::Cancelled`].
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What an experiment reports while it runs.
#[derive(Debug, Clone)]
pub enum RunUpdate {
    /// The workers are up: the run's description and its actors (with their pids).
    Started { info: RunInfo, actors: Vec<Actor> },
    /// Events as they happen, in time order within the batch.
    Events(Vec<Event>),
    /// Time the run's worker processes spent writing their reports out (serialising, the pipe), beyond what
    /// recording an event in memory costs: counted into the run's recording cost, never forwarded.
    Reporting(u64),
}

/// Folds a run's updates into its trace, for runs outside the server.
#[derive(Debug, Default)]
struct TraceCollector(std::sync::Mutex<Option<shared::Trace>>);

impl TraceCollector {
    /// Adds an update and shows `look` the trace so far and the events just added.
    fn add(&self, update: RunUpdate, look: &dyn Fn(&shared::Trace, &[Event])) {
        let mut trace = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut before = 0;
        match update {
            RunUpdate::Started { info, actors } => {
                *trace = Some(shared::Trace { run: info, actors, events: Vec::new(), notes: Vec::new() });
            }
            RunUpdate::Events(events) => {
                if let Some(trace) = trace.as_mut() {
                    before = trace.events.len();
                    trace.events.extend(events);
                }
            }
            RunUpdate::Reporting(_) => {}
        }
        if let Some(trace) = trace.as_ref() {
            look(trace, &trace.events[before..]);
        }
    }

    /// The trace in time order with the run's notes, if the run started at all.
    fn finish(self, notes: Vec<Text>) -> Option<shared::Trace> {
        let mut trace = self.0.into_inner().unwrap_or_else(|e| e.into_inner())?;
        trace.notes = notes;
        trace.sort_events();
        Some(trace)
    }
}

/// How a run outside the server went: the trace as far as it got (with the run's notes when it finished), how
/// it ended, and its scratch directory (already removed).
#[derive(Debug)]
pub struct Headless {
    pub trace: Option<shared::Trace>,
    pub outcome: Result<(), ExperimentError>,
    pub scratch: PathBuf,
}

/// Runs `lab` outside the server (the command line, the benchmarks, the tests): in a fresh scratch directory
/// under `base`, removed afterwards, collecting the trace. `on_progress` sees the trace so far (unsorted) and the
/// events the update added after every update; `cancel` stops the run.
pub fn run_headless(
    lab: LabId,
    params: &ParamSet,
    seed: u64,
    base: &Path,
    worker_exe: &Path,
    cancel: &CancelFlag,
    on_progress: &(dyn Fn(&shared::Trace, &[Event]) + Sync),
) -> Result<Headless, ExperimentError> {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let scratch = crate::scratch::Scratch::create(base, RUNS.fetch_add(1, Ordering::SeqCst))
        .map_err(ExperimentError::io("creating the scratch directory"))?;
    let dir = scratch.path().to_owned();
    let host = crate::host::describe(base);
    let collector = TraceCollector::default();
    let sink = |update: RunUpdate| collector.add(update, on_progress);
    let ctx = RunContext {
        scratch: &dir,
        cancel,
        host: &host,
        worker_exe,
        sink: &sink,
        event_budget: shared::lab::MAX_RUN_EVENTS,
    };
    let result = run(lab, params, seed, &ctx);
    drop(scratch);
    let (notes, outcome) = match result {
        Ok(notes) => (notes, Ok(())),
        Err(err) => (Vec::new(), Err(err)),
    };
    Ok(Headless { trace: collector.finish(notes), outcome, scratch: dir })
}

/// Everything a run may use.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    pub scratch: &'a Path,
    pub cancel: &'a CancelFlag,
    pub host: &'a HostInfo,
    /// The `syslab` binary, started again as a hidden worker subcommand for experiments with processes.
    pub worker_exe: &'a Path,
    pub sink: &'a (dyn Fn(RunUpdate) + Sync),
    /// The most events this run may record before it stops and says so: [`shared::lab::MAX_RUN_EVENTS`] for a
    /// run, shared out between its repeats.
    pub event_budget: u64,
}

impl RunContext<'_> {
    /// Announces a measured run: its lab, validated parameters, seed, this host, and its actors.
    pub fn started(&self, lab: LabId, params: &ParamSet, seed: u64, actors: Vec<Actor>) {
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let source = Source::Measured { host: self.host.clone(), started_unix_ms };
        let info = RunInfo { lab, params: params.clone(), seed, source };
        (self.sink)(RunUpdate::Started { info, actors });
    }
}

impl std::fmt::Debug for RunContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext").field("scratch", &self.scratch).finish_non_exhaustive()
    }
}

/// How a run can fail.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The parameters were refused.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The lab has no real experiment yet.
    #[error("the `{0}` lab has no real experiment yet")]
    NoExperiment(LabId),
    /// The run was cancelled (by the client, a disconnect or Ctrl-C).
    #[error("cancelled")]
    Cancelled,
    /// A system call or file operation failed.
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// A worker process misbehaved.
    #[error("worker: {0}")]
    Worker(String),
    /// A worker said something that is not its lab's protocol.
    #[error("worker protocol: {0}")]
    Link(#[from] link::LinkError),
}

impl ExperimentError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExperimentError {
        let what = what.into();
        move |source| ExperimentError::Io { what, source }
    }
}

/// A lab's real experiment. Every lab has one, listed once in [`EXPERIMENTS`]; the server, the command line,
/// the benchmarks and the worker subcommand reach it only through there.
pub trait Experiment: Sync {
    fn lab(&self) -> LabId;
    /// Runs for real with validated `params`; returns the notes for the reader.
    fn run(&self, params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError>;
    /// The entry of this lab's worker processes (`syslab __worker LAB ARG`), for labs that start them.
    fn worker(&self, _arg: &str) -> Result<(), ExperimentError> {
        Err(ExperimentError::NoExperiment(self.lab()))
    }
}

/// Every lab's experiment, in [`LabId::ALL`]'s order (a test holds them to it and to the shared registry).
pub static EXPERIMENTS: [&dyn Experiment; 7] = [
    &lock::LockExperiment,
    &mmap::MmapExperiment,
    &watch::WatchExperiment,
    &io::IoExperiment,
    &pipeline::PipelineExperiment,
    &methods::MethodsExperiment,
    &amdahl::AmdahlExperiment,
];

/// The experiment of `lab`.
pub fn experiment(lab: LabId) -> &'static dyn Experiment {
    EXPERIMENTS[lab as usize]
}

/// Runs `lab` for real with validated `params`; returns the notes for the reader. A lab that repeats
/// (`shared::repeats`) runs its workload that many times, each in a scratch directory of its own, laid end to
/// end on the run's clock after a mark; each note is said once (`shared::repeats::merge_notes`). Every run that
/// ends well ends with its load (`shared::alone`): what other programs took of the machine's CPUs meanwhile and
/// what its own recording cost, recorded as its last event, and a note when others disturbed it or the run was
/// too short to tell.
pub fn run(lab: LabId, params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let repeats = lab.lab().repeats(params);
    let (last, recorded) = (std::sync::atomic::AtomicU64::new(0), std::sync::atomic::AtomicU64::new(0));
    let (offset, repeat) = (std::sync::atomic::AtomicU64::new(0), std::sync::atomic::AtomicU32::new(0));
    let reporting_ns = std::sync::atomic::AtomicU64::new(0);
    let sink = |update: RunUpdate| match update {
        RunUpdate::Started { info, actors } => {
            let r = repeat.load(Ordering::SeqCst);
            // Later repeats start the same workers again: the run's description and actors are the first's.
            if r == 0 {
                (ctx.sink)(RunUpdate::Started { info, actors });
            }
            if repeats > 1 {
                let t = offset.load(Ordering::SeqCst);
                last.fetch_max(t, Ordering::Relaxed);
                let kind = shared::EventKind::Repeat(r);
                (ctx.sink)(RunUpdate::Events(vec![Event { t: shared::Nanos(t), actor: shared::ActorId(0), kind }]));
            }
        }
        RunUpdate::Events(mut events) => {
            let by = offset.load(Ordering::SeqCst);
            for event in &mut events {
                event.t.0 += by;
            }
            if let Some(t) = events.iter().map(|e| e.t.0).max() {
                last.fetch_max(t, Ordering::Relaxed);
                recorded.fetch_add(events.len() as u64, Ordering::Relaxed);
            }
            (ctx.sink)(RunUpdate::Events(events));
        }
        RunUpdate::Reporting(ns) => _ = reporting_ns.fetch_add(ns, Ordering::Relaxed),
    };
    let record_ps = crate::alone::record_cost_ps();
    let watched = RunContext { sink: &sink, event_budget: ctx.event_budget / u64::from(repeats.max(1)), ..*ctx };
    let before = crate::alone::sample();
    let mut said_by_repeat = Vec::new();
    for r in 0..repeats {
        if r > 0 {
            if ctx.cancel.is_cancelled() {
                return Err(ExperimentError::Cancelled);
            }
            offset.store(last.load(Ordering::Relaxed) + REPEAT_GAP.0, Ordering::SeqCst);
            repeat.store(r, Ordering::SeqCst);
        }
        let said = if repeats > 1 {
            let dir = ctx.scratch.join(format!("repeat-{r}"));
            std::fs::create_dir(&dir).map_err(ExperimentError::io("creating a repeat's scratch directory"))?;
            let said = experiment(lab).run(params, seed, &RunContext { scratch: &dir, ..watched });
            // The run's own scratch directory goes at its end whatever happens; a repeat's goes now, so that
            // repeats of a large file do not fill the disk.
            let _ = std::fs::remove_dir_all(&dir);
            said?
        } else {
            experiment(lab).run(params, seed, &watched)?
        };
        said_by_repeat.push(said);
    }
    let mut notes = shared::repeats::merge_notes(&said_by_repeat);
    if let Some(load) = before.and_then(|before| crate::alone::since(before, ctx.host.n_cpus)) {
        let events = recorded.load(Ordering::Relaxed);
        // What workers spent writing their reports is spread over every event recorded.
        let reported_ps = (reporting_ns.load(Ordering::Relaxed) * 1_000).checked_div(events).unwrap_or(0);
        let load = load.with_recording(events, record_ps + reported_ps);
        notes.extend(load.note());
        let t = shared::Nanos(last.load(Ordering::Relaxed));
        (ctx.sink)(RunUpdate::Events(vec![Event {
            t,
            actor: shared::ActorId(0),
            kind: shared::EventKind::Load(load),
        }]));
    }
    Ok(notes)
}

/// The time left between one repeat's last event and the next one's mark on a repeated run's clock.
const REPEAT_GAP: shared::Nanos = shared::Nanos(1_000_000);

/// The worker subcommand's entry: which experiment, and its argument.
pub fn run_worker(lab: &str, arg: &str) -> Result<(), ExperimentError> {
    experiment(LabId::parse(lab)?).worker(arg)
}

/// Bounds on every worker process, enforced by the kernel (setrlimit): the largest file it may write, its
/// address space, and its CPU time. Each run also has its own budget; these catch a worker that runs away.
pub const WORKER_MAX_FILE_BYTES: u64 = 64 << 20;
pub const WORKER_MAX_ADDRESS_SPACE: u64 = 4 << 30;
pub const WORKER_MAX_CPU_SECONDS: u64 = 300;

/// A worker's first step: die with the companion (the kernel sends SIGKILL when the parent goes, and if it
/// already went before the signal was set, the race after fork, stop now), then fence itself with the limits.
pub fn fence_worker(parent_pid: Option<u32>) -> Result<(), ExperimentError> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| ExperimentError::io("setting the parent-death signal")(e.into()))?;
    let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32);
    if parent.is_none() || parent_pid.is_some_and(|want| parent != Some(want)) {
        return Err(ExperimentError::Worker("the companion is gone".to_owned()));
    }
    for (resource, limit) in [
        (Resource::Fsize, WORKER_MAX_FILE_BYTES),
        (Resource::As, WORKER_MAX_ADDRESS_SPACE),
        (Resource::Cpu, WORKER_MAX_CPU_SECONDS),
    ] {
        setrlimit(resource, Rlimit { current: Some(limit), maximum: Some(limit) })
            .map_err(|e| ExperimentError::io("limiting the worker")(e.into()))?;
    }
    Ok(())
}

/// A worker process of this binary (`__worker LAB ARG`) in a process group of its own, so that cleanup can kill
/// whatever it started as well; its stderr is the companion's.
pub fn worker_command(exe: &Path, lab: LabId, arg: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["__worker", lab.as_str(), arg]).process_group(0).stderr(std::process::Stdio::inherit());
    cmd
}

/// Kills a worker's whole process group and reaps the worker; harmless if it already exited.
pub fn kill_worker(child: &mut std::process::Child) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The path of the running binary, for experiments that start workers.
pub fn current_exe() -> Result<PathBuf, ExperimentError> {
    std::env::current_exe().map_err(ExperimentError::io("finding the companion's own binary"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_has_its_experiment_once_in_the_ids_order() {
        let labs: Vec<LabId> = EXPERIMENTS.iter().map(|e| e.lab()).collect();
        assert_eq!(labs, LabId::ALL.to_vec());
        let shared: Vec<LabId> = shared::lab::LABS.iter().map(|lab| lab.info().id).collect();
        assert_eq!(labs, shared, "the experiments and the shared registry list the same labs");
    }
}
