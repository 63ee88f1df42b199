//! The real lock experiment: N worker processes contend for one file with flock(2) or a lock file, each
//! reporting its steps on CLOCK_MONOTONIC; the companion turns the reports into the shared trace events, runs
//! the demonstrations (a holder killed with SIGKILL, a rogue writer), checks the counter file at the end and
//! reports how precisely the workers waited their think, hold and retry times (`shared::waits`).

pub mod report;
pub mod worker;

use super::link::{Heard, Link};
use super::{ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use report::{Record, Report};
use serde::{Deserialize, Serialize};
use shared::i18n::Text;
use shared::lab::lock::{AcquireMode, Demo, LockEvent, LockParams};
use shared::params::ParamSet;
use shared::trace::{ActorId, Event, EventKind};
use shared::waits::{WaitAccuracy, WaitKind, WaitSample};
use shared::{LabId, Nanos};
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long workers asked to stop have to finish their turn and exit before they are killed.
const STOP_GRACE_NS: u64 = 500_000_000;

pub const COUNTER_FILE: &str = "data";
pub const LOCK_FILE: &str = "data.lock";

/// What a worker process is told, as JSON in its one argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub params: ParamSet,
    pub seed: u64,
    pub idx: u32,
    pub rogue: bool,
    pub dir: String,
    /// The run's start on CLOCK_MONOTONIC; the worker stops requesting at `t0_ns + duration`.
    pub t0_ns: u64,
    pub parent_pid: u32,
}

/// The worker processes of a run (each [`Link`] kills its own when dropped).
#[derive(Debug, Default)]
struct Workers {
    links: Vec<(ActorId, Link)>,
}

impl Workers {
    /// Asks every worker to stop after its current turn, by closing its stdin: it writes out all it recorded
    /// and exits, so the trace ends with whole turns.
    fn ask_to_stop(&mut self) {
        for (_, link) in &mut self.links {
            link.ask_to_stop();
        }
    }

    fn kill(&mut self, actor: ActorId) -> bool {
        self.links.iter_mut().find(|(a, _)| *a == actor).is_some_and(|(_, link)| link.kill())
    }

    /// Kills every worker still there; returns each one's actor and the moment just before its kill. A worker
    /// killed while holding the lock lets go of it as it dies: the trace must say so (`Killed`), or the next
    /// holder would look like a second one.
    fn kill_all(&mut self) -> Vec<(ActorId, u64)> {
        let killed = self
            .links
            .iter_mut()
            .filter_map(|(actor, link)| {
                let at = monotonic_ns();
                link.kill().then_some((*actor, at))
            })
            .collect();
        self.links.clear();
        killed
    }

    fn reap_all(&mut self) {
        for (_, link) in &mut self.links {
            link.wait();
        }
        self.links.clear();
    }
}

/// Batches events and hands them to the sink every `BATCH_NS`, sorted.
struct Batcher<'a> {
    sink: &'a (dyn Fn(RunUpdate) + Sync),
    pending: Vec<Event>,
    last_sent: u64,
}

const BATCH_NS: u64 = 50_000_000;

impl Batcher<'_> {
    fn push(&mut self, event: Event) {
        self.pending.push(event);
    }

    fn maybe_send(&mut self, now: u64) {
        if now.saturating_sub(self.last_sent) >= BATCH_NS {
            self.send(now);
        }
    }

    fn send(&mut self, now: u64) {
        self.last_sent = now;
        if !self.pending.is_empty() {
            let mut events = std::mem::take(&mut self.pending);
            events.sort_by_key(|e| e.t);
            (self.sink)(RunUpdate::Events(events));
        }
    }
}

experiment_entry!(LockExperiment, Lock, worker = worker::main);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = LockParams::parse(params)?;
    let dir = ctx.scratch;
    let counter_path = dir.join(COUNTER_FILE);
    let counter = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&counter_path)
        .map_err(ExperimentError::io("creating the counter file"))?;
    worker::write_counter(&counter, 0).map_err(ExperimentError::io("initialising the counter file"))?;

    let t0 = monotonic_ns();
    let mut workers = Workers::default();
    let (tx, rx) = mpsc::channel::<Heard<ActorId, Record>>();
    // Events read from the workers so far, counted as they are read: the budget stops the workers then, not
    // when the companion has got through its backlog.
    let read = Arc::new(AtomicU64::new(0));
    let roles = (0..p.n_procs).map(|i| (i, false)).chain(p.rogue_actor().map(|r| (r.0, true)));
    for (idx, rogue) in roles {
        let spec = WorkerSpec {
            params: params.clone(),
            seed,
            idx,
            rogue,
            dir: dir.to_string_lossy().into_owned(),
            t0_ns: t0,
            parent_pid: std::process::id(),
        };
        let read = read.clone();
        // The budget counts trace events, not the waits reported beside them.
        let tally = move |records: &[Record]| {
            let events = records.iter().filter(|r| matches!(r.report, Report::Event(_))).count();
            read.fetch_add(events as u64, Ordering::SeqCst);
        };
        let name = format!("lock worker {idx}");
        let link = Link::spawn(ctx.worker_exe, LabId::Lock, ActorId(idx), name, &spec, &tx, tally)?;
        workers.links.push((ActorId(idx), link));
    }
    drop(tx);

    let pids: Vec<Option<u32>> = {
        let mut pids = vec![None; (p.n_procs + 2) as usize];
        for (actor, link) in &workers.links {
            if let Some(slot) = pids.get_mut(actor.0 as usize) {
                *slot = Some(link.pid());
            }
        }
        pids
    };
    ctx.started(LabId::Lock, params, seed, p.actors(&pids));

    let mut batch = Batcher { sink: ctx.sink, pending: Vec::new(), last_sent: t0 };
    let mut notes = Vec::new();
    let mut waits = BTreeMap::new();
    let outcome = collect(&p, t0, &rx, &read, &mut workers, &mut batch, ctx, &mut notes, &mut waits);
    if let Err(err) = outcome {
        for (actor, t) in workers.kill_all() {
            batch.push(event(Nanos(t.saturating_sub(t0)), actor, LockEvent::Killed));
        }
        batch.send(monotonic_ns());
        return Err(err);
    }
    workers.reap_all();

    let end = monotonic_ns();
    let file_actor = p.file_actor();
    let at = |t: u64| Nanos(t.saturating_sub(t0));
    let lock_path = dir.join(LOCK_FILE);
    if p.mode == AcquireMode::LockFile && lock_path.exists() {
        std::fs::remove_file(&lock_path).map_err(ExperimentError::io("removing the stale lock file"))?;
        batch.push(event(at(end), file_actor, LockEvent::StaleLockRemoved));
        notes.push(Text::new("note.lock.stale_file"));
    }
    let value = worker::read_counter(&counter).map_err(ExperimentError::io("reading the counter file"))?;
    batch.push(event(at(end), file_actor, LockEvent::CounterFinal { value }));
    for (wait, samples) in waits {
        if let Some(accuracy) = WaitAccuracy::of(wait, &samples) {
            notes.extend(accuracy.note());
            batch.push(Event { t: at(end), actor: file_actor, kind: EventKind::Waits(accuracy) });
        }
    }
    batch.send(end);
    Ok(notes)
}

fn event(t: Nanos, actor: ActorId, ev: LockEvent) -> Event {
    Event { t, actor, kind: EventKind::Lock(ev) }
}

/// Receives the workers' reports until they have all exited, running the kill demonstration on the way; the
/// waits they report go to `waits`, the rest into the trace.
#[allow(clippy::too_many_arguments)] // The run's state, passed apart so that each part is borrowed as it is used.
fn collect(
    p: &LockParams,
    t0: u64,
    rx: &mpsc::Receiver<Heard<ActorId, Record>>,
    read: &AtomicU64,
    workers: &mut Workers,
    batch: &mut Batcher<'_>,
    ctx: &RunContext<'_>,
    notes: &mut Vec<Text>,
    waits: &mut BTreeMap<WaitKind, Vec<WaitSample>>,
) -> Result<(), ExperimentError> {
    let at = |t: u64| Nanos(t.saturating_sub(t0));
    // Past this, workers are asked to stop: a bound on any run, however the times were drawn.
    let hard_limit = t0 + p.duration.0 + 2_000_000_000 + 25 * (p.hold.0 + p.think.0 + p.retry.0);
    let mut killed = false;
    // When the workers were asked to stop (at the budget, the time limit or a cancel), and whether those that
    // did not stop in time were killed.
    let (mut stopping, mut stragglers_killed) = (None::<u64>, false);
    loop {
        let now = monotonic_ns();
        let stop_note = if now >= hard_limit {
            Some(Text::new("note.lock.time_limit").with("at", at(now)))
        } else if read.load(Ordering::SeqCst) >= ctx.event_budget {
            Some(Text::new("note.run_budget").with("at", at(now)).with("events", ctx.event_budget))
        } else {
            None
        };
        if stopping.is_none() && (stop_note.is_some() || ctx.cancel.is_cancelled()) {
            stopping = Some(now);
            workers.ask_to_stop();
            notes.extend(stop_note);
        }
        // A worker in a long wait (or the kill demonstration's victim) may not stop in time: past the grace it
        // is killed, and the trace says so.
        if let Some(since) = stopping
            && now > since + STOP_GRACE_NS
            && !stragglers_killed
        {
            stragglers_killed = true;
            for (actor, t) in workers.kill_all() {
                batch.push(event(at(t), actor, LockEvent::Killed));
            }
        }
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok((actor, records)) => {
                for Record { t, report } in records? {
                    let ev = match report {
                        Report::Event(ev) => ev,
                        Report::Waited { wait, asked, achieved } => {
                            waits.entry(wait).or_default().push((asked, achieved));
                            continue;
                        }
                        Report::Reporting { ns } => {
                            (ctx.sink)(RunUpdate::Reporting(ns));
                            continue;
                        }
                    };
                    batch.push(event(at(t), actor, ev));
                    // The victim (P0) reports an acquisition from a third of the run on and holds until killed.
                    let victim_holds = actor == ActorId(0) && matches!(ev, LockEvent::Acquired { .. });
                    if p.demo == Demo::KillHolder && !killed && victim_holds && t >= t0 + p.kill_at().0 {
                        killed = workers.kill(actor);
                        batch.push(event(at(monotonic_ns()), actor, LockEvent::Killed));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every worker closed its stdout: they have all exited.
            Err(mpsc::RecvTimeoutError::Disconnected) if ctx.cancel.is_cancelled() => {
                return Err(ExperimentError::Cancelled);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        batch.maybe_send(monotonic_ns());
    }
}
