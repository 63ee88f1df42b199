//! Channels and the concurrency patterns. Each pattern is a preset: a topology of stages (threads that produce,
//! work, select or collect) joined by channels (rendezvous, bounded or unbounded), or, for the dependency
//! graph, a set of tasks with their inputs. The model (`model.rs`, `graph.rs`) runs items through it; the real
//! run does the same on OS threads and crossbeam channels, and both emit the same events.

pub mod graph;
mod metrics;
pub mod model;
pub mod parallel_for;
mod params;
pub mod processes;

pub use metrics::*;
use params::*;
pub use params::{ITEM_STREAMS, PipelineParams};

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{Choice, ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::rng::Distribution;
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, EventKind, Metric, Trace, Unit};
use serde::{Deserialize, Serialize};

pub static INFO: LabInfo = LabInfo {
    id: LabId::Pipeline,
    title: "Channels and patterns",
    summary: "Producer/consumer, back pressure, worker pools, fan-out/fan-in and select, with items moving through channels.",
    explanation: &[
        "Go builds concurrency from goroutines, channels and select; Rust has the same pieces as threads (or async \
         tasks), channels (std::sync::mpsc, crossbeam-channel) and crossbeam's select! with a default arm. A \
         channel of capacity 0 is a rendezvous (the sender waits for a receiver), of capacity K a buffer that \
         stalls the sender when full, and an unbounded one never stalls and grows instead.",
        "Why it matters: the patterns decide where items wait. A bounded channel pushes back on a fast producer; \
         an unbounded one hides the problem until memory runs out. A pipeline runs at the pace of its slowest \
         stage. Results come back out of order unless you keep the start order (a channel of channels in Go; a \
         reorder buffer here). A dependency graph can go no faster than its critical path.",
        "Try: pick a pattern, then play with capacity (0, 1, 64, unbounded), the number of workers and the \
         service times, and watch the tokens queue in front of the bottleneck; compare select with and without a \
         default branch (blocking against non-blocking receive).",
        "Parallel for (pattern 9) runs one loop over the items three ways, one after another in the same run: a \
         plain loop, a scoped thread per item joined at the end (Go's WaitGroup; std::thread::scope here), and a \
         fixed pool of W threads fed the items. Each way's speed-up is its time against the loop's: waits like \
         I/O overlap in as many threads as there are items, CPU work no more than the machine has CPUs, and a \
         thread per item pays a thread's start for every item.",
        "Across processes (pattern 10) the producers and consumers are separate processes of their own, joined by \
         a POSIX message queue (mq_open): the kernel holds the queue, so its messages outlive any process that \
         uses it, and its capacity pushes back on the producers as a bounded channel does. Mid-run one consumer \
         is killed with SIGKILL and started again: the message it was working on is gone with it (nothing \
         acknowledges a message), while the ones still in the queue wait for the others and for its successor.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "workers", values: "1..8:8", metric: "throughput" },
};

lab_entry!(PipelineLab, PipelineParams);

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "order",
    prompt: "Will the items come out in the order they were started?",
    figure: Figure::Metric("out_of_order"),
    answers: &[
        Answer { label: "Yes, all in order", below: 0.5 },
        Answer { label: "No, some overtake others", below: INF },
    ],
    why: "With more than one worker, an item that takes less time overtakes one started earlier; only a \
              single worker, or the start-order preset (a channel of channels, read in start order), keeps the \
              order.",
}];

/// The patterns, as the presets' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    AsyncSync,
    ProducerConsumer,
    BackPressure,
    StartOrder,
    WorkerPool,
    DependencyGraph,
    Stages,
    Select,
    ParallelFor,
    Processes,
}

impl crate::params::ChoiceEnum for Pattern {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("async_sync", Pattern::AsyncSync),
        ("producer_consumer", Pattern::ProducerConsumer),
        ("back_pressure", Pattern::BackPressure),
        ("start_order", Pattern::StartOrder),
        ("worker_pool", Pattern::WorkerPool),
        ("dependency_graph", Pattern::DependencyGraph),
        ("stages", Pattern::Stages),
        ("select", Pattern::Select),
        ("parallel_for", Pattern::ParallelFor),
        ("processes", Pattern::Processes),
    ];
}

/// What a stage's threads do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Make items (each taking the stage's service time) and send them on.
    Produce,
    /// Receive, work for the service time, send on (or deliver, at the end).
    Work,
    /// Receive from whichever input is ready (select), work, deliver.
    Select,
    /// Receive results and deliver them, in start order or as they come.
    Collect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageInfo {
    pub name: &'static str,
    pub role: Role,
    pub threads: u32,
    /// Mean service time per item.
    pub service: Nanos,
    /// For producers: how many items this stage makes.
    pub quota: u32,
    pub inputs: Vec<usize>,
    pub output: Option<usize>,
    /// Every thread's start costs this much first (a thread per task).
    pub spawn_each: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    pub name: &'static str,
    /// `None` is unbounded.
    pub capacity: Option<u32>,
}

/// A preset's stages and channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    pub stages: Vec<StageInfo>,
    pub channels: Vec<ChannelInfo>,
    pub start_order: bool,
    pub default_branch: bool,
}

/// A stage's, channel's or task's name in words the reader's language can say (`term.pipeline.NAME`).
pub fn name_text(name: &str) -> Text {
    Text::new(&format!("term.pipeline.{}", name.replace(' ', "_")))
}

/// The most threads one stage may have (a thread per task is capped here).
pub const MAX_STAGE_THREADS: u32 = 256;

impl PipelineParams {
    /// The preset's stages and channels (the dependency graph has none: see `graph.rs`).
    pub fn topology(&self) -> Topology {
        let k = Some(self.capacity);
        let stage = |name, role, threads: u32, service, inputs: Vec<usize>, output| StageInfo {
            name,
            role,
            threads: threads.clamp(1, MAX_STAGE_THREADS),
            service,
            quota: 0,
            inputs,
            output,
            spawn_each: false,
        };
        let ch = |name, capacity| ChannelInfo { name, capacity };
        let scaled = |factor: f64| Nanos(libm::round(self.work.0 as f64 * factor) as u64);
        let producer = |name, threads, service, output, quota| StageInfo {
            quota,
            ..stage(name, Role::Produce, threads, service, Vec::new(), Some(output))
        };
        let (stages, channels) = match self.pattern {
            Pattern::AsyncSync => (
                vec![
                    producer("caller", 1, Nanos::ZERO, 0, self.items),
                    StageInfo {
                        spawn_each: true,
                        ..stage("slow parts", Role::Work, self.items, self.work, vec![0], Some(1))
                    },
                    stage("wait for all", Role::Collect, 1, Nanos::ZERO, vec![1], None),
                ],
                vec![ch("spawned", None), ch("results", None)],
            ),
            Pattern::ProducerConsumer => (
                vec![
                    producer("producers", self.producers, self.produce, 0, self.items),
                    stage("consumers", Role::Work, self.workers, self.work, vec![0], None),
                ],
                vec![ch("queue", k)],
            ),
            Pattern::BackPressure => (
                vec![
                    producer("producer", 1, self.produce, 0, self.items),
                    stage("consumer", Role::Work, 1, self.work, vec![0], None),
                ],
                vec![ch("queue", if self.bounded { k } else { None })],
            ),
            Pattern::StartOrder => (
                vec![
                    producer("dispatcher", 1, self.produce, 0, self.items),
                    stage("workers", Role::Work, self.workers, self.work, vec![0], Some(1)),
                    stage(
                        if self.start_order { "in start order" } else { "as completed" },
                        Role::Collect,
                        1,
                        Nanos::ZERO,
                        vec![1],
                        None,
                    ),
                ],
                vec![ch("jobs", None), ch("results", None)],
            ),
            Pattern::WorkerPool if self.pool => (
                vec![
                    producer("submitter", 1, self.produce, 0, self.items),
                    stage("pool", Role::Work, self.workers, self.work, vec![0], None),
                ],
                vec![ch("jobs", k)],
            ),
            Pattern::WorkerPool => (
                vec![
                    producer("spawner", 1, self.produce, 0, self.items),
                    StageInfo {
                        spawn_each: true,
                        ..stage("a thread per task", Role::Work, self.items, self.work, vec![0], None)
                    },
                ],
                vec![ch("tasks", None)],
            ),
            Pattern::Stages => (
                vec![
                    producer("source", 1, self.produce, 0, self.items),
                    stage("parse", Role::Work, 1, scaled(0.5), vec![0], Some(1)),
                    stage("transform", Role::Work, 1, scaled(1.5), vec![1], Some(2)),
                    stage("store", Role::Work, 1, scaled(0.75), vec![2], None),
                ],
                vec![ch("raw", k), ch("parsed", k), ch("transformed", k)],
            ),
            Pattern::Select => {
                let third = self.items / 3;
                let quotas = [self.items - 2 * third, third, third];
                let p = |i: usize| Nanos(self.produce.0 * (1 << i));
                (
                    vec![
                        producer("fast", 1, p(0), 0, quotas[0]),
                        producer("medium", 1, p(1), 1, quotas[1]),
                        producer("slow", 1, p(2), 2, quotas[2]),
                        stage("select", Role::Select, 1, self.work, vec![0, 1, 2], None),
                    ],
                    vec![ch("fast", k), ch("medium", k), ch("slow", k)],
                )
            }
            Pattern::DependencyGraph => (Vec::new(), Vec::new()),
            Pattern::ParallelFor => match self.phase {
                Some(way) => parallel_for::phase_topology(self, way),
                None => parallel_for::whole_topology(self),
            },
            Pattern::Processes => processes::topology(self),
        };
        Topology { stages, channels, start_order: self.start_order, default_branch: self.default_branch }
    }
}

/// Whether a thread waits to send or to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Send,
    Recv,
}

/// What happened in the pipeline lab. `stage` and `thread` name a thread; items are numbered from 0 in the
/// order they were started (produced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum PipelineEvent {
    /// A producer started making item `item` (its life starts).
    Produced { item: u32, stage: u32, thread: u32 },
    /// The item entered a channel (its buffer, or straight into a waiting receiver's hands); `queued` is how
    /// many items the channel held right after, as the channel itself reports it.
    Sent { item: u32, channel: u32, queued: u32 },
    /// A thread took the item from a channel and starts its work on it; `queued` as for `Sent`.
    Received { item: u32, channel: u32, stage: u32, thread: u32, queued: u32 },
    /// A thread finished its work on the item.
    Finished { item: u32, stage: u32, thread: u32 },
    /// A thread waits to send or to receive.
    Blocked { stage: u32, thread: u32, side: Side },
    /// The wait is over.
    Unblocked { stage: u32, thread: u32 },
    /// The item left the pipeline, in delivery order.
    Delivered { item: u32 },
    /// select with a default branch found nothing ready and did its other work.
    EmptySelect { stage: u32, thread: u32 },
    /// Dependency graph: the task's inputs are all done.
    TaskReady { task: u32 },
    /// Across processes: the consumer was killed (SIGKILL); `queued` is how many messages the queue held
    /// right after, as the kernel reports it.
    Killed { stage: u32, thread: u32, queued: u32 },
    /// The item was inside the killed process: it left the queue and was never delivered.
    Lost { item: u32 },
    /// The consumer started again in the killed one's place is ready to receive.
    Restarted { stage: u32, thread: u32 },
}

pub const STAGE_ACTOR_BASE: u32 = 0;

pub fn actors(p: &PipelineParams, pid: Option<u32>) -> Vec<Actor> {
    let topo = p.topology();
    // Across processes a stage is many processes, none of them the companion.
    let (kind, pid) =
        if p.pattern == Pattern::Processes { (ActorKind::Process, None) } else { (ActorKind::Thread, pid) };
    let mut out: Vec<Actor> = topo
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| Actor { id: ActorId(i as u32), kind, label: name_text(s.name), pid })
        .collect();
    out.extend(topo.channels.iter().enumerate().map(|(i, c)| Actor {
        id: ActorId(100 + i as u32),
        kind: ActorKind::Channel,
        label: name_text(c.name),
        pid,
    }));
    if p.pattern == Pattern::DependencyGraph {
        out.push(Actor { id: ActorId(0), kind: ActorKind::Thread, label: name_text("workers"), pid });
    }
    out
}

/// Simulates the preset.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(PipelineParams::parse(params)?, params, seed))
}

fn simulate_typed(p: PipelineParams, params: &ParamSet, seed: u64) -> Trace {
    let (events, stopped) = match p.pattern {
        Pattern::DependencyGraph => (graph::simulate(&p, seed), None),
        Pattern::ParallelFor => parallel_for::simulate(&p, seed),
        _ => model::simulate(&p, seed),
    };
    let budget = |at: Nanos| Text::new("note.sim_budget").with("at", at).with("events", crate::lab::MAX_SIM_EVENTS);
    Trace {
        run: crate::trace::RunInfo {
            lab: LabId::Pipeline,
            params: params.clone(),
            seed,
            source: crate::trace::Source::Simulated,
        },
        actors: actors(&p, None),
        events,
        notes: stopped.map(budget).into_iter().collect(),
    }
}

/// The benchmark's reference case for the simulation's speed: 2 000 items through the three stages.
pub fn benchmark_params() -> ParamSet {
    bench_set(&[("pattern", "stages"), ("items", "2000")])
}

/// The benchmark's drawing case: an unbounded queue in front of a slow consumer, with 500 items in flight at
/// [`frame_case_moment`].
pub fn frame_case() -> ParamSet {
    bench_set(&[
        ("pattern", "back_pressure"),
        ("bounded", "unbounded"),
        ("items", "2000"),
        ("produce_us", "10"),
        ("work_us", "1000"),
        ("service", "constant"),
    ])
}

/// When [`frame_case`] has 500 items in flight: the producer has made 500 more than the consumer took.
pub fn frame_case_moment(trace: &Trace) -> Nanos {
    let f = flow(trace);
    let mut produced: Vec<Nanos> = f.produced.iter().flatten().copied().collect();
    let mut delivered: Vec<Nanos> = f.delivered.iter().flatten().copied().collect();
    produced.sort_unstable();
    delivered.sort_unstable();
    produced
        .iter()
        .copied()
        .find(|&t| produced.partition_point(|x| *x <= t) - delivered.partition_point(|x| *x <= t) >= 500)
        .unwrap_or(f.end)
}

fn bench_set(pairs: &[(&str, &str)]) -> ParamSet {
    pairs
        .iter()
        .map(|(k, v)| {
            let value = v
                .parse::<i64>()
                .map_or_else(|_| crate::params::ParamValue::Text((*v).to_owned()), crate::params::ParamValue::Int);
            ((*k).to_owned(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests;
