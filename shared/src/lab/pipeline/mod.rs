//! Channels and the concurrency patterns. Each pattern is a preset: a topology of stages (threads that produce,
//! work, select or collect) joined by channels (rendezvous, bounded or unbounded), or, for the dependency
//! graph, a set of tasks with their inputs. The model (`model.rs`, `graph.rs`) runs items through it; the real
//! run does the same on OS threads and crossbeam channels, and both emit the same events.

pub mod graph;
pub mod model;

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
    ],
    status: LabStatus::Available,
    params: PARAMS,
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

const PATTERNS: &[Choice] = &[
    Choice { value: "async_sync", label: "1. async work, then wait for all" },
    Choice { value: "producer_consumer", label: "2. producers and consumers" },
    Choice { value: "back_pressure", label: "3. back pressure" },
    Choice { value: "start_order", label: "4. keep the start order" },
    Choice { value: "worker_pool", label: "5. worker pool / thread per task" },
    Choice { value: "dependency_graph", label: "6. dependency graph" },
    Choice { value: "stages", label: "7. stages (event flow)" },
    Choice { value: "select", label: "8. select over channels" },
];
const BOUNDED: &[Choice] =
    &[Choice { value: "bounded", label: "bounded (capacity K)" }, Choice { value: "unbounded", label: "unbounded" }];
const ORDER: &[Choice] =
    &[Choice { value: "start", label: "in start order" }, Choice { value: "completion", label: "as they complete" }];
const POOL: &[Choice] =
    &[Choice { value: "pool", label: "a pool of W threads" }, Choice { value: "per_task", label: "a thread per task" }];
const ON_OFF: &[Choice] =
    &[Choice { value: "off", label: "off (block)" }, Choice { value: "on", label: "on (never block)" }];
const SERVICE: &[Choice] = &[
    Choice { value: "exponential", label: "exponential" },
    Choice { value: "uniform", label: "uniform" },
    Choice { value: "constant", label: "constant" },
];
const WORKLOAD: &[Choice] =
    &[Choice { value: "sleep", label: "sleep (like I/O)" }, Choice { value: "cpu", label: "CPU (spin)" }];

static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "pattern",
        label: "Pattern",
        unit: "",
        help: "Which of the eight patterns to run.",
        kind: ParamKind::Choice { choices: PATTERNS, default: "producer_consumer" },
        simulation_only: false,
    },
    ParamSpec {
        key: "items",
        label: "Items",
        unit: "",
        help: "How many items go through (tasks, for the dependency graph: its 12 tasks, repeated).",
        kind: ParamKind::Int { min: 1, max: 2_000, default: 200 },
        simulation_only: false,
    },
    ParamSpec {
        key: "producers",
        label: "Producers (P)",
        unit: "",
        help: "Producer threads (producers and consumers).",
        kind: ParamKind::Int { min: 1, max: 16, default: 2 },
        simulation_only: false,
    },
    ParamSpec {
        key: "workers",
        label: "Workers (W)",
        unit: "",
        help: "Consumer or worker threads.",
        kind: ParamKind::Int { min: 1, max: 64, default: 4 },
        simulation_only: false,
    },
    ParamSpec {
        key: "capacity",
        label: "Channel capacity (K)",
        unit: "",
        help: "0 is a rendezvous: the sender waits for a receiver.",
        kind: ParamKind::Int { min: 0, max: 1_024, default: 4 },
        simulation_only: false,
    },
    ParamSpec {
        key: "bounded",
        label: "Channel",
        unit: "",
        help: "Back pressure: a bounded channel stalls the producer, an unbounded one grows.",
        kind: ParamKind::Choice { choices: BOUNDED, default: "bounded" },
        simulation_only: false,
    },
    ParamSpec {
        key: "order",
        label: "Deliver",
        unit: "",
        help: "Keeping the start order: results in the order the work started, or as they complete.",
        kind: ParamKind::Choice { choices: ORDER, default: "start" },
        simulation_only: false,
    },
    ParamSpec {
        key: "pool",
        label: "Workers as",
        unit: "",
        help: "Worker pool: W long-lived threads, or a new thread for every task.",
        kind: ParamKind::Choice { choices: POOL, default: "pool" },
        simulation_only: false,
    },
    ParamSpec {
        key: "default_branch",
        label: "select's default",
        unit: "",
        help: "With a default branch select never blocks: it does other work and asks again.",
        kind: ParamKind::Choice { choices: ON_OFF, default: "off" },
        simulation_only: false,
    },
    ParamSpec {
        key: "produce_us",
        label: "Produce",
        unit: "µs",
        help: "Mean time to produce one item.",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 200 },
        simulation_only: false,
    },
    ParamSpec {
        key: "work_us",
        label: "Work",
        unit: "µs",
        help: "Mean time a worker spends on one item.",
        kind: ParamKind::Int { min: 1, max: 100_000, default: 500 },
        simulation_only: false,
    },
    ParamSpec {
        key: "default_work_us",
        label: "Default branch work",
        unit: "µs",
        help: "What select's default branch does before asking again.",
        kind: ParamKind::Int { min: 1, max: 10_000, default: 20 },
        simulation_only: false,
    },
    ParamSpec {
        key: "service",
        label: "Service times",
        unit: "",
        help: "How produce and work times vary around their means.",
        kind: ParamKind::Choice { choices: SERVICE, default: "exponential" },
        simulation_only: false,
    },
    ParamSpec {
        key: "workload",
        label: "Workload",
        unit: "",
        help: "What a real item's work is: a wait like I/O (the thread sleeps, and spins only the last part, which a sleep would overshoot by tens of µs; a short wait is all spin) or a CPU spin. The run reports what each took.",
        kind: ParamKind::Choice { choices: WORKLOAD, default: "sleep" },
        simulation_only: false,
    },
    ParamSpec {
        key: "spawn_us",
        label: "Thread start",
        unit: "µs",
        help: "Model: starting a thread (measured by the methods lab: ~50 µs).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 50 },
        simulation_only: true,
    },
    ParamSpec {
        key: "wake_us",
        label: "Wake-up",
        unit: "µs",
        help: "Model: from a hand-off to the blocked thread running (a cross-CPU wake-up: ~15 µs).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 15 },
        simulation_only: true,
    },
];

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

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineParams {
    pub pattern: Pattern,
    pub items: u32,
    pub producers: u32,
    pub workers: u32,
    pub capacity: u32,
    pub bounded: bool,
    pub start_order: bool,
    pub pool: bool,
    pub default_branch: bool,
    pub produce: Nanos,
    pub work: Nanos,
    pub default_work: Nanos,
    pub service: Distribution,
    pub cpu_workload: bool,
    pub spawn: Nanos,
    pub wake: Nanos,
}

impl PipelineParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("pipeline", PARAMS, set, |r| {
            Ok(PipelineParams {
                pattern: r.pick("pattern")?,
                items: r.uint("items") as u32,
                producers: r.uint("producers") as u32,
                workers: r.uint("workers") as u32,
                capacity: r.uint("capacity") as u32,
                bounded: r.either("bounded", "bounded", "unbounded")?,
                start_order: r.either("order", "start", "completion")?,
                pool: r.either("pool", "pool", "per_task")?,
                default_branch: r.either("default_branch", "on", "off")?,
                produce: Nanos::from_micros(r.uint("produce_us")),
                work: Nanos::from_micros(r.uint("work_us")),
                default_work: Nanos::from_micros(r.uint("default_work_us")),
                service: r.pick("service")?,
                cpu_workload: r.either("workload", "cpu", "sleep")?,
                spawn: Nanos::from_micros(r.uint("spawn_us")),
                wake: Nanos::from_micros(r.uint("wake_us")),
            })
        })
    }

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
}

pub const STAGE_ACTOR_BASE: u32 = 0;

pub fn actors(p: &PipelineParams, pid: Option<u32>) -> Vec<Actor> {
    let topo = p.topology();
    let mut out: Vec<Actor> = topo
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| Actor { id: ActorId(i as u32), kind: ActorKind::Thread, label: name_text(s.name), pid })
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

/// Everything the metrics and the view read from a trace, in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flow {
    /// Per item: produced, delivered.
    pub produced: Vec<Option<Nanos>>,
    pub delivered: Vec<Option<Nanos>>,
    /// Items in delivery order.
    pub delivery_order: Vec<u32>,
    /// Per channel: (time, queue length after the change).
    pub queue: Vec<Vec<(Nanos, u32)>>,
    /// Per stage: (busy ns, blocked on send ns, blocked on receive ns).
    pub stage_time: Vec<(u64, u64, u64)>,
    pub empty_selects: u64,
    pub end: Nanos,
}

/// Gathers a trace's flow: which is where, when.
pub fn flow(trace: &Trace) -> Flow {
    let mut f = Flow::default();
    let mut started: std::collections::HashMap<(u32, u32), Nanos> = Default::default();
    let mut blocked: std::collections::HashMap<(u32, u32), (Nanos, Side)> = Default::default();
    let grow = |v: &mut Vec<Option<Nanos>>, i: u32| {
        if v.len() <= i as usize {
            v.resize(i as usize + 1, None);
        }
    };
    let stage_slot = |f: &mut Flow, s: u32| {
        if f.stage_time.len() <= s as usize {
            f.stage_time.resize(s as usize + 1, (0, 0, 0));
        }
        s as usize
    };
    for e in &trace.events {
        let EventKind::Pipeline(ev) = e.kind else { continue };
        f.end = f.end.max(e.t);
        match ev {
            PipelineEvent::Produced { item, stage, thread } => {
                grow(&mut f.produced, item);
                f.produced[item as usize] = Some(e.t);
                started.insert((stage, thread), e.t);
            }
            PipelineEvent::Sent { channel, queued, .. } | PipelineEvent::Received { channel, queued, .. } => {
                let c = channel as usize;
                if f.queue.len() <= c {
                    f.queue.resize(c + 1, Vec::new());
                }
                f.queue[c].push((e.t, queued));
                if let PipelineEvent::Received { stage, thread, .. } = ev {
                    started.insert((stage, thread), e.t);
                }
            }
            PipelineEvent::Finished { stage, thread, .. } => {
                if let Some(t0) = started.remove(&(stage, thread)) {
                    let s = stage_slot(&mut f, stage);
                    f.stage_time[s].0 += e.t.saturating_sub(t0).0;
                }
            }
            PipelineEvent::Blocked { stage, thread, side } => {
                blocked.insert((stage, thread), (e.t, side));
            }
            PipelineEvent::Unblocked { stage, thread } => {
                if let Some((t0, side)) = blocked.remove(&(stage, thread)) {
                    let s = stage_slot(&mut f, stage);
                    let span = e.t.saturating_sub(t0).0;
                    match side {
                        Side::Send => f.stage_time[s].1 += span,
                        Side::Recv => f.stage_time[s].2 += span,
                    }
                }
            }
            PipelineEvent::Delivered { item } => {
                grow(&mut f.delivered, item);
                f.delivered[item as usize] = Some(e.t);
                f.delivery_order.push(item);
            }
            PipelineEvent::EmptySelect { .. } => f.empty_selects += 1,
            PipelineEvent::TaskReady { .. } => {}
        }
    }
    f
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let Ok(p) = PipelineParams::parse(&trace.run.params) else { return Vec::new() };
    let f = flow(trace);
    let mut lat: Vec<u64> =
        f.produced.iter().zip(&f.delivered).filter_map(|(a, b)| Some(b.as_ref()?.saturating_sub((*a)?).0)).collect();
    lat.sort_unstable();
    let pct = |q: f64| percentile(&lat, q).map(|v| v as f64);
    let delivered = f.delivery_order.len() as f64;
    let span = f.end.0.max(1) as f64 / 1e9;
    let out_of_order = f.delivery_order.windows(2).filter(|w| w[1] < w[0]).count() as f64;
    let mut out = vec![
        Metric::new("delivered", Text::new("metric.pipeline.delivered"), Unit::Count, Some(delivered)),
        Metric::new("throughput", Text::new("metric.pipeline.throughput"), Unit::PerSecond, Some(delivered / span)),
    ];
    if p.pattern == Pattern::DependencyGraph {
        out.extend(graph::metrics(trace, &p));
        return out;
    }
    out.extend([
        Metric::new("p50", Text::new("metric.pipeline.p50"), Unit::Nanos, pct(50.0)),
        Metric::new("p95", Text::new("metric.pipeline.p95"), Unit::Nanos, pct(95.0)),
        Metric::new("p99", Text::new("metric.pipeline.p99"), Unit::Nanos, pct(99.0)),
        Metric::new("out_of_order", Text::new("metric.pipeline.out_of_order"), Unit::Count, Some(out_of_order)),
    ]);
    let topo = p.topology();
    for (c, info) in topo.channels.iter().enumerate() {
        let peak = f.queue.get(c).and_then(|q| q.iter().map(|x| x.1).max()).unwrap_or(0);
        out.push(Metric::new(
            &format!("peak_{c}"),
            Text::new("metric.pipeline.peak").with_text("name", name_text(info.name)),
            Unit::Count,
            Some(f64::from(peak)),
        ));
        if info.capacity.is_none() {
            out.push(Metric::new(
                &format!("peak_bytes_{c}"),
                Text::new("metric.pipeline.peak_bytes"),
                Unit::Count,
                Some(f64::from(peak) * 64.0),
            ));
        }
    }
    let mut bottleneck: Option<(usize, f64)> = None;
    for (s, info) in topo.stages.iter().enumerate() {
        let (busy, send, recv) = f.stage_time.get(s).copied().unwrap_or_default();
        let threads = f64::from(info.threads);
        let share = busy as f64 / (f.end.0.max(1) as f64 * threads);
        out.push(Metric::new(
            &format!("busy_{s}"),
            Text::new("metric.pipeline.busy").with_text("name", name_text(info.name)),
            Unit::Ratio,
            Some(share),
        ));
        out.push(Metric::new(
            &format!("send_wait_{s}"),
            Text::new("metric.pipeline.send_wait"),
            Unit::Nanos,
            Some(send as f64),
        ));
        out.push(Metric::new(
            &format!("recv_wait_{s}"),
            Text::new("metric.pipeline.recv_wait"),
            Unit::Nanos,
            Some(recv as f64),
        ));
        if matches!(info.role, Role::Work | Role::Select) && bottleneck.is_none_or(|b| share > b.1) {
            bottleneck = Some((s, share));
        }
    }
    if let Some((s, share)) = bottleneck.filter(|_| topo.stages.len() > 2) {
        out.push(Metric::new(
            "bottleneck",
            Text::new("metric.pipeline.bottleneck").with_text("name", name_text(topo.stages[s].name)),
            Unit::Ratio,
            Some(share),
        ));
    }
    if p.pattern == Pattern::Select {
        out.push(Metric::new(
            "empty_selects",
            Text::new("metric.pipeline.empty_selects"),
            Unit::Count,
            Some(f.empty_selects as f64),
        ));
    }
    out
}

/// Simulates the preset.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(PipelineParams::parse(params)?, params, seed))
}

fn simulate_typed(p: PipelineParams, params: &ParamSet, seed: u64) -> Trace {
    let events =
        if p.pattern == Pattern::DependencyGraph { graph::simulate(&p, seed) } else { model::simulate(&p, seed) };
    Trace {
        run: crate::trace::RunInfo {
            lab: LabId::Pipeline,
            params: params.clone(),
            seed,
            source: crate::trace::Source::Simulated,
        },
        actors: actors(&p, None),
        events,
        notes: Vec::new(),
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
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> ParamSet {
        LabId::Pipeline.validate(&bench_set(pairs)).unwrap()
    }

    #[test]
    fn the_frame_case_has_500_items_in_flight_at_its_moment() {
        let trace = simulate(&LabId::Pipeline.validate(&frame_case()).unwrap(), 1).unwrap();
        let t = frame_case_moment(&trace);
        let f = flow(&trace);
        let made = f.produced.iter().flatten().filter(|x| **x <= t).count();
        let out = f.delivered.iter().flatten().filter(|x| **x <= t).count();
        assert!(made - out >= 500, "{made} made, {out} delivered");
        assert!(LabId::Pipeline.validate(&benchmark_params()).is_ok());
    }

    fn metric(trace: &Trace, key: &str) -> Option<f64> {
        metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value)
    }

    #[test]
    fn every_pattern_delivers_every_item_once_and_is_deterministic() {
        for choice in PATTERNS {
            let s = set(&[("pattern", choice.value), ("items", "60")]);
            let trace = simulate(&s, 2).unwrap();
            let f = flow(&trace);
            let mut order = f.delivery_order.clone();
            order.sort_unstable();
            // 60 items; the dependency graph's 60 tasks are five copies of its 12-task build.
            assert_eq!(order, (0..60).collect::<Vec<u32>>(), "{}", choice.value);
            assert_eq!(simulate(&s, 2).unwrap(), trace, "{}", choice.value);
        }
    }

    #[test]
    fn start_order_delivers_in_order_and_completion_order_does_not() {
        let ordered = simulate(&set(&[("pattern", "start_order"), ("workers", "8")]), 1).unwrap();
        assert_eq!(metric(&ordered, "out_of_order"), Some(0.0));
        let completion =
            simulate(&set(&[("pattern", "start_order"), ("workers", "8"), ("order", "completion")]), 1).unwrap();
        assert!(metric(&completion, "out_of_order").unwrap() > 0.0);
    }

    #[test]
    fn an_unbounded_queue_grows_where_a_bounded_one_pushes_back() {
        let base = [("pattern", "back_pressure"), ("produce_us", "100"), ("work_us", "400"), ("capacity", "4")];
        let bounded = simulate(&set(&base), 1).unwrap();
        assert!(metric(&bounded, "peak_0").unwrap() <= 4.0);
        assert!(metric(&bounded, "send_wait_0").unwrap() > 0.0, "the producer stalls");
        let mut unbounded_params = base.to_vec();
        unbounded_params.push(("bounded", "unbounded"));
        let unbounded = simulate(&set(&unbounded_params), 1).unwrap();
        assert!(metric(&unbounded, "peak_0").unwrap() > 50.0);
        assert_eq!(metric(&unbounded, "send_wait_0"), Some(0.0));
    }

    #[test]
    fn the_slowest_stage_is_the_bottleneck_and_select_with_default_never_blocks() {
        let stages = simulate(&set(&[("pattern", "stages"), ("produce_us", "100")]), 1).unwrap();
        let bottleneck = metrics(&stages).into_iter().find(|m| m.key == "bottleneck").unwrap();
        assert!(bottleneck.label.to_string().contains("transform"), "{}", bottleneck.label);
        let blocking = simulate(&set(&[("pattern", "select")]), 1).unwrap();
        assert_eq!(metric(&blocking, "empty_selects"), Some(0.0));
        let polling = simulate(&set(&[("pattern", "select"), ("default_branch", "on")]), 1).unwrap();
        assert!(metric(&polling, "empty_selects").unwrap() > 0.0);
        assert_eq!(metric(&polling, "recv_wait_3"), Some(0.0), "a select with a default branch never waits");
    }

    #[test]
    fn no_task_starts_before_its_inputs_and_the_makespan_is_at_least_the_critical_path() {
        let s = set(&[("pattern", "dependency_graph"), ("items", "24"), ("workers", "3")]);
        let trace = simulate(&s, 4).unwrap();
        let p = PipelineParams::parse(&s).unwrap();
        let tasks = graph::tasks(&p, 4);
        let (start, end) = graph::task_times(&trace);
        for (i, (deps, _)) in tasks.iter().enumerate() {
            for d in deps {
                assert!(end[d] <= start[&(i as u32)], "task {i} started before its input {d}");
            }
        }
        assert!(metric(&trace, "makespan_ratio").unwrap() >= 1.0);
    }
}
