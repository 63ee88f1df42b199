//! The real pipeline: the preset's stages as OS threads, its channels as crossbeam channels (`bounded(0)` is
//! a rendezvous, `bounded(K)`, `unbounded()`), select with crossbeam's `Select` (`try_select` for a default
//! branch). Every send, receive, block and unblock is stamped on CLOCK_MONOTONIC by the thread that does it:
//! a send or receive first tries without waiting, and only a failed try is recorded as a block. A thread per
//! task is really spawned per task. The dependency graph runs on W worker threads fed by a coordinator. An
//! item's work is a precise wait ([`Waiter`]: slept like I/O, the last part spun) or a CPU spin, and the run
//! reports what each took against what was asked (`shared::waits`). The pattern across processes has worker
//! processes and a POSIX message queue of its own (`processes.rs`, `worker.rs`, `mq.rs`).

mod mq;
mod processes;
mod worker;

pub use mq::exists as queue_exists;
pub use mq::unlink as unlink_queue;

use super::{ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use crate::wait::Waiter;
use crossbeam_channel::{Receiver, Select, Sender, TryRecvError, TrySendError};
use shared::i18n::Text;
use shared::lab::pipeline::parallel_for::{Phase, phases};
use shared::lab::pipeline::{Pattern, PipelineEvent, PipelineParams, Role, Side, Topology, actors, graph};
use shared::params::ParamSet;
use shared::rng::SimRng;
use shared::trace::{ActorId, Event, EventKind};
use shared::waits::{WaitAccuracy, WaitKind, WaitSample};
use shared::{LabId, Nanos};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The longest a run may take; beyond it the producers stop and the run says so.
pub(super) const RUN_BUDGET: Duration = Duration::from_secs(60);

/// What a thread sends the collector: the actor it records for, its events as (time, what), and its waits as
/// (asked, achieved) nanoseconds. Kept this small on the thread that records and made into the trace's events by
/// the collector, so that recording an event costs its thread one clock read and a 32-byte push.
pub type Batch = (ActorId, Vec<(Nanos, PipelineEvent)>, Vec<WaitSample>);

/// A thread's events are sent on when this many are kept, or when the oldest kept is this old (so that a slow
/// run still streams).
const BATCH_EVENTS: usize = 1_024;
const BATCH_AGE_NS: u64 = 20_000_000;

/// A thread's events and waits, sent to the collector in batches. Made on the thread it records: its waiter
/// sets that thread's timer slack.
#[derive(Debug)]
pub struct Recorder {
    t0: u64,
    stage: u32,
    batch: Vec<(Nanos, PipelineEvent)>,
    /// When the batch's first event was recorded (CLOCK_MONOTONIC).
    opened: u64,
    waits: Vec<WaitSample>,
    waiter: Waiter,
    out: mpsc::Sender<Batch>,
}

impl Recorder {
    /// `margin`: how late this machine's sleeps wake, measured once for the run ([`Waiter::margin`]).
    pub fn new(t0: u64, stage: u32, margin: u64, out: mpsc::Sender<Batch>) -> Recorder {
        let waiter = Waiter::with_margin(margin);
        Recorder { t0, stage, batch: Vec::with_capacity(BATCH_EVENTS), opened: t0, waits: Vec::new(), waiter, out }
    }

    /// One item's work: a wait like I/O (slept, the last part spun) or a CPU spin; what it took is kept.
    pub fn work(&mut self, p: &PipelineParams, d: Nanos) {
        let achieved = work(p, &self.waiter, d);
        self.waits.push((d.0, achieved));
    }

    pub fn record(&mut self, ev: PipelineEvent) {
        let now = monotonic_ns();
        if self.batch.is_empty() {
            self.opened = now;
        }
        self.batch.push((Nanos(now.saturating_sub(self.t0)), ev));
        if self.batch.len() >= BATCH_EVENTS || now.saturating_sub(self.opened) >= BATCH_AGE_NS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() || !self.waits.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_EVENTS));
            // A collector that is gone has ended the run; the events have nowhere to go.
            let _ = self.out.send((ActorId(self.stage), batch, std::mem::take(&mut self.waits)));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

/// One item's work: a wait like I/O (slept, the last part spun) or a CPU spin; returns what it took (ns).
pub fn work(p: &PipelineParams, waiter: &Waiter, d: Nanos) -> u64 {
    if p.cpu_workload { crate::wait::spin(d.0) } else { waiter.wait(d.0) }
}

/// Sends `item`, recording the block if the channel makes the sender wait. False if every receiver is gone.
pub fn send_recorded(tx: &Sender<u32>, item: u32, channel: u32, thread: u32, rec: &mut Recorder) -> bool {
    match tx.try_send(item) {
        Ok(()) => {}
        Err(TrySendError::Disconnected(_)) => return false,
        Err(TrySendError::Full(item)) => {
            let stage = rec.stage;
            rec.record(PipelineEvent::Blocked { stage, thread, side: Side::Send });
            let sent = tx.send(item).is_ok();
            rec.record(PipelineEvent::Unblocked { stage, thread });
            if !sent {
                return false;
            }
        }
    }
    rec.record(PipelineEvent::Sent { item, channel, queued: tx.len() as u32 });
    true
}

/// Receives an item, recording the block if there is none yet. `None` once the channel is closed and empty.
pub fn recv_recorded(rx: &Receiver<u32>, channel: u32, thread: u32, rec: &mut Recorder) -> Option<u32> {
    let stage = rec.stage;
    let item = match rx.try_recv() {
        Ok(item) => item,
        Err(TryRecvError::Disconnected) => return None,
        Err(TryRecvError::Empty) => {
            rec.record(PipelineEvent::Blocked { stage, thread, side: Side::Recv });
            let got = rx.recv().ok();
            rec.record(PipelineEvent::Unblocked { stage, thread });
            got?
        }
    };
    rec.record(PipelineEvent::Received { item, channel, stage, thread, queued: rx.len() as u32 });
    Some(item)
}

/// A thread's output channel: its index and sending end.
type Output = Option<(u32, Sender<u32>)>;
/// For a producer whose items each get a thread of their own: the channel they pass through, the stage of
/// those threads and their output.
type SpawnEach = Option<(u32, u32, Output)>;

/// What every thread of a run shares.
struct Shared<'a> {
    p: &'a PipelineParams,
    topo: &'a Topology,
    t0: u64,
    seed: u64,
    next_item: AtomicU32,
    quota: Vec<AtomicU32>,
    stop: &'a AtomicBool,
    events: mpsc::Sender<Batch>,
    margin: u64,
}

impl Shared<'_> {
    /// Takes one item of a producer stage's quota, unless the run is stopping.
    fn take_quota(&self, stage: usize) -> Option<u32> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.quota[stage].fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| q.checked_sub(1)).ok()?;
        Some(self.next_item.fetch_add(1, Ordering::SeqCst))
    }
}

/// The thread of stage `stage`, number `index`, with its channel ends.
#[allow(clippy::too_many_arguments)]
fn stage_thread<'s>(
    sh: &'s Shared<'s>,
    scope: &'s std::thread::Scope<'s, '_>,
    stage: usize,
    index: u32,
    stream: u64,
    inputs: Vec<(u32, Receiver<u32>)>,
    output: Output,
    spawn_each_downstream: SpawnEach,
) {
    let info = &sh.topo.stages[stage];
    let mut rng = SimRng::new(sh.seed, stream);
    let mut rec = Recorder::new(sh.t0, stage as u32, sh.margin, sh.events.clone());
    let s = stage as u32;
    match info.role {
        Role::Produce => {
            while let Some(item) = sh.take_quota(stage) {
                rec.record(PipelineEvent::Produced { item, stage: s, thread: index });
                rec.work(sh.p, sh.p.service.sample(info.service, &mut rng));
                rec.record(PipelineEvent::Finished { item, stage: s, thread: index });
                // A thread per task: the task goes to a thread of its own, started now.
                if let Some((channel, worker_stage, worker_out)) = &spawn_each_downstream {
                    rec.record(PipelineEvent::Sent { item, channel: *channel, queued: 0 });
                    let (worker_stage, channel, worker_out) = (*worker_stage, *channel, worker_out.clone());
                    let spawned = std::thread::Builder::new()
                        .stack_size(128 << 10)
                        .spawn_scoped(scope, move || per_task(sh, worker_stage as usize, item, channel, worker_out));
                    if spawned.is_err() {
                        break;
                    }
                    continue;
                }
                if let Some((channel, tx)) = &output
                    && !send_recorded(tx, item, *channel, index, &mut rec)
                {
                    break;
                }
            }
        }
        Role::Work | Role::Collect => {
            let Some((channel, rx)) = inputs.first() else { return };
            let mut reorder = BTreeSet::new();
            let mut next_due = 0u32;
            while let Some(item) = recv_recorded(rx, *channel, index, &mut rec) {
                let work = sh.p.item_work(sh.seed, item, info.service);
                rec.work(sh.p, work.unwrap_or_else(|| sh.p.service.sample(info.service, &mut rng)));
                rec.record(PipelineEvent::Finished { item, stage: s, thread: index });
                match &output {
                    Some((out_channel, tx)) => {
                        if !send_recorded(tx, item, *out_channel, index, &mut rec) {
                            break;
                        }
                    }
                    None if info.role == Role::Collect && sh.topo.start_order => {
                        reorder.insert(item);
                        while reorder.remove(&next_due) {
                            rec.record(PipelineEvent::Delivered { item: next_due });
                            next_due += 1;
                        }
                    }
                    None => rec.record(PipelineEvent::Delivered { item }),
                }
            }
        }
        Role::Select => {
            let mut open: Vec<&(u32, Receiver<u32>)> = inputs.iter().collect();
            while !open.is_empty() {
                let mut sel = Select::new();
                for (_, rx) in &open {
                    sel.recv(rx);
                }
                let op = match sel.try_select() {
                    Ok(op) => op,
                    Err(_) if sh.topo.default_branch => {
                        rec.record(PipelineEvent::EmptySelect { stage: s, thread: index });
                        rec.work(&PipelineParams { cpu_workload: true, ..*sh.p }, sh.p.default_work);
                        continue;
                    }
                    Err(_) => {
                        rec.record(PipelineEvent::Blocked { stage: s, thread: index, side: Side::Recv });
                        let op = sel.select();
                        rec.record(PipelineEvent::Unblocked { stage: s, thread: index });
                        op
                    }
                };
                let i = op.index();
                let (channel, rx) = open[i];
                match op.recv(rx) {
                    Ok(item) => {
                        let queued = rx.len() as u32;
                        rec.record(PipelineEvent::Received {
                            item,
                            channel: *channel,
                            stage: s,
                            thread: index,
                            queued,
                        });
                        rec.work(sh.p, sh.p.service.sample(info.service, &mut rng));
                        rec.record(PipelineEvent::Finished { item, stage: s, thread: index });
                        rec.record(PipelineEvent::Delivered { item });
                    }
                    Err(_) => {
                        open.remove(i);
                    }
                }
            }
        }
    }
}

/// A thread started for one task: it receives the task as it starts, works, and sends on or delivers.
fn per_task(sh: &Shared<'_>, stage: usize, item: u32, channel: u32, output: Output) {
    let info = &sh.topo.stages[stage];
    let mut rng = SimRng::new(sh.seed, shared::lab::pipeline::ITEM_STREAMS + u64::from(item));
    let mut rec = Recorder::new(sh.t0, stage as u32, sh.margin, sh.events.clone());
    let (s, thread) = (stage as u32, item);
    rec.record(PipelineEvent::Received { item, channel, stage: s, thread, queued: 0 });
    rec.work(sh.p, sh.p.service.sample(info.service, &mut rng));
    rec.record(PipelineEvent::Finished { item, stage: s, thread });
    match output {
        Some((out_channel, tx)) => {
            send_recorded(&tx, item, out_channel, thread, &mut rec);
        }
        None => rec.record(PipelineEvent::Delivered { item }),
    }
}

experiment_entry!(PipelineExperiment, Pipeline, worker = worker::worker);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = PipelineParams::parse(params)?;
    ctx.started(LabId::Pipeline, params, seed, actors(&p, Some(std::process::id())));
    let stop = AtomicBool::new(false);
    // How late a sleep wakes here, measured once: every thread of the run waits with it.
    let margin = Waiter::for_this_thread().map_err(ExperimentError::io("setting up precise waits"))?.margin();
    let t0 = monotonic_ns();
    let mut notes = Vec::new();
    let (mut waits, mut last) = (Vec::new(), Nanos::ZERO);
    if p.pattern == Pattern::Processes {
        (waits, last) = processes::run(&p, params, seed, margin, ctx, &mut notes)?;
    }
    // Parallel for runs its three ways one after another, each numbered into place among the run's.
    let parts: Vec<(PipelineParams, Option<Phase>)> = match p.pattern {
        Pattern::ParallelFor => phases(&p).into_iter().map(|phase| (phase.params, Some(phase))).collect(),
        Pattern::Processes => Vec::new(),
        _ => vec![(p, None)],
    };
    let started = std::time::Instant::now();
    for (part, phase) in &parts {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (tx, rx) = mpsc::channel::<Batch>();
        std::thread::scope(|scope| -> Result<(), ExperimentError> {
            let runner = if part.pattern == Pattern::DependencyGraph {
                scope.spawn(|| run_graph(part, seed, t0, margin, &stop, tx))
            } else {
                scope.spawn(|| run_stages(part, seed, t0, margin, &stop, tx))
            };
            // Forward the threads' batches as they come; watch for a cancel and the budget.
            loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok((actor, batch, batch_waits)) => {
                        waits.extend(batch_waits);
                        last = batch.iter().map(|(t, _)| *t).fold(last, Nanos::max);
                        if !batch.is_empty() {
                            let actor = phase.map_or(actor, |ph| ph.shift_actor(actor));
                            let kind = |ev| EventKind::Pipeline(phase.map_or(ev, |ph| ph.shift(ev)));
                            let events = batch.into_iter().map(|(t, ev)| Event { t, actor, kind: kind(ev) }).collect();
                            (ctx.sink)(RunUpdate::Events(events));
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if ctx.cancel.is_cancelled() {
                    stop.store(true, Ordering::SeqCst);
                }
                if started.elapsed() > RUN_BUDGET && !stop.swap(true, Ordering::SeqCst) {
                    notes.push(Text::new("note.pipeline.budget").with("s", RUN_BUDGET.as_secs()));
                }
            }
            runner.join().map_err(|_| ExperimentError::Worker("the pipeline panicked".into()))?
        })?;
    }
    if ctx.cancel.is_cancelled() {
        return Err(ExperimentError::Cancelled);
    }
    // What the items' work took against what it asked, at the run's last moment.
    if let Some(accuracy) = WaitAccuracy::of(WaitKind::Work, &waits) {
        notes.extend(accuracy.note());
        (ctx.sink)(RunUpdate::Events(vec![Event { t: last, actor: ActorId(0), kind: EventKind::Waits(accuracy) }]));
    }
    Ok(notes)
}

/// The stages as threads; returns when every thread has finished (channels close as their senders finish).
fn run_stages(
    p: &PipelineParams,
    seed: u64,
    t0: u64,
    margin: u64,
    stop: &AtomicBool,
    events: mpsc::Sender<Batch>,
) -> Result<(), ExperimentError> {
    let topo = p.topology();
    let channels: Vec<(Sender<u32>, Receiver<u32>)> = topo
        .channels
        .iter()
        .map(|c| match c.capacity {
            Some(k) => crossbeam_channel::bounded(k as usize),
            None => crossbeam_channel::unbounded(),
        })
        .collect();
    let sh = Shared {
        p,
        topo: &topo,
        t0,
        seed,
        next_item: AtomicU32::new(0),
        quota: topo.stages.iter().map(|s| AtomicU32::new(s.quota)).collect(),
        stop,
        events,
        margin,
    };
    let sh = &sh;
    std::thread::scope(|scope| {
        let mut stream = 0u64;
        for (stage, info) in topo.stages.iter().enumerate() {
            // A stage spawned per task has no long-lived threads: its producer starts one per item.
            if info.spawn_each {
                stream += u64::from(info.threads);
                continue;
            }
            let spawn_each = info.output.and_then(|c| {
                let (worker, w) =
                    topo.stages.iter().enumerate().find(|(_, s)| s.spawn_each && s.inputs.contains(&c))?;
                let out = w.output.map(|o| (o as u32, channels[o].0.clone()));
                Some((c as u32, worker as u32, out))
            });
            for index in 0..info.threads {
                let inputs: Vec<(u32, Receiver<u32>)> =
                    info.inputs.iter().map(|&c| (c as u32, channels[c].1.clone())).collect();
                let output = info.output.map(|c| (c as u32, channels[c].0.clone()));
                let spawn_each = spawn_each.clone();
                let this_stream = stream;
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(scope, move || {
                        stage_thread(sh, scope, stage, index, this_stream, inputs, output, spawn_each)
                    })
                    .map_err(ExperimentError::io("starting a stage thread"))?;
                stream += 1;
            }
        }
        // The threads hold their own ends: dropping ours lets each channel close when its senders finish.
        drop(channels);
        Ok(())
    })
}

/// The dependency graph: W workers take ready tasks from one channel; a coordinator hands out tasks as their
/// inputs finish.
fn run_graph(
    p: &PipelineParams,
    seed: u64,
    t0: u64,
    margin: u64,
    stop: &AtomicBool,
    events: mpsc::Sender<Batch>,
) -> Result<(), ExperimentError> {
    let tasks = graph::tasks(p, seed);
    let (ready_tx, ready_rx) = crossbeam_channel::unbounded::<u32>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<u32>();
    std::thread::scope(|scope| {
        for w in 0..p.workers {
            let (ready_rx, done_tx, events, tasks) = (ready_rx.clone(), done_tx.clone(), events.clone(), &tasks);
            std::thread::Builder::new()
                .spawn_scoped(scope, move || {
                    let mut rec = Recorder::new(t0, 0, margin, events);
                    while let Some(task) = recv_recorded(&ready_rx, 0, w, &mut rec) {
                        rec.work(p, tasks[task as usize].1);
                        rec.record(PipelineEvent::Finished { item: task, stage: 0, thread: w });
                        rec.record(PipelineEvent::Delivered { item: task });
                        rec.flush();
                        if done_tx.send(task).is_err() {
                            break;
                        }
                    }
                })
                .map_err(ExperimentError::io("starting a worker"))?;
        }
        drop(done_tx);
        let mut rec = Recorder::new(t0, 0, margin, events);
        let mut left: Vec<usize> = tasks.iter().map(|(d, _)| d.len()).collect();
        for (i, _) in left.iter().enumerate().filter(|(_, l)| **l == 0) {
            rec.record(PipelineEvent::TaskReady { task: i as u32 });
            let _ = ready_tx.send(i as u32);
        }
        let mut finished = 0;
        while finished < tasks.len() && !stop.load(Ordering::SeqCst) {
            let Ok(task) = done_rx.recv() else { break };
            finished += 1;
            for (j, (deps, _)) in tasks.iter().enumerate() {
                if deps.contains(&task) {
                    left[j] -= 1;
                    if left[j] == 0 {
                        rec.record(PipelineEvent::TaskReady { task: j as u32 });
                        let _ = ready_tx.send(j as u32);
                    }
                }
            }
        }
        drop(ready_tx);
        Ok(())
    })
}
