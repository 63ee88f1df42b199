//! The pipeline lab's parameters as the form, the wire and the command line declare them.

use super::*;

pub(super) const PATTERNS: &[Choice] = &[
    Choice { value: "async_sync", label: "1. async work, then wait for all" },
    Choice { value: "producer_consumer", label: "2. producers and consumers" },
    Choice { value: "back_pressure", label: "3. back pressure" },
    Choice { value: "start_order", label: "4. keep the start order" },
    Choice { value: "worker_pool", label: "5. worker pool / thread per task" },
    Choice { value: "dependency_graph", label: "6. dependency graph" },
    Choice { value: "stages", label: "7. stages (event flow)" },
    Choice { value: "select", label: "8. select over channels" },
    Choice { value: "parallel_for", label: "9. parallel for (loop, thread per item, pool)" },
    Choice { value: "processes", label: "10. across processes (a message queue)" },
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

pub(super) static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "pattern",
        label: "Pattern",
        unit: "",
        help: "Which of the ten patterns to run.",
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
        help: "Producer threads (producers and consumers), or processes (across processes).",
        kind: ParamKind::Int { min: 1, max: 16, default: 2 },
        simulation_only: false,
    },
    ParamSpec {
        key: "workers",
        label: "Workers (W)",
        unit: "",
        help: "Consumer or worker threads, or consumer processes (across processes).",
        kind: ParamKind::Int { min: 1, max: 64, default: 4 },
        simulation_only: false,
    },
    ParamSpec {
        key: "capacity",
        label: "Channel capacity (K)",
        unit: "",
        help: "0 is a rendezvous: the sender waits for a receiver. Across processes, the message queue's capacity (mq_maxmsg, at least 1; beyond fs.mqueue.msg_max only for a process with CAP_SYS_RESOURCE).",
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
        key: "kill_at",
        label: "Kill a consumer at",
        unit: "%",
        help: "Across processes: once this share of the items is delivered, consumer 0 is killed with SIGKILL and started again; 0 kills none.",
        kind: ParamKind::Int { min: 0, max: 90, default: 50 },
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
    ParamSpec {
        key: "spin_us",
        label: "Spun part of a wait",
        unit: "µs",
        help: "Model: the sleep workload's waits up to this long are spun (or yielded) on a CPU by the real workers, which do not trust a sleep that short: twice how late a short sleep wakes here, at least 20 µs (reference: 20 µs; calibrating measures this machine's).",
        kind: ParamKind::Int { min: 0, max: 1_000, default: 20 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cpus",
        label: "CPUs",
        unit: "",
        help: "Model: the CPUs the threads share; with the CPU workload a thread that makes or works on an item needs one and waits its turn while all are taken (reference: 2; calibrating sets this machine's count).",
        kind: ParamKind::Int { min: 1, max: 256, default: 2 },
        simulation_only: true,
    },
    ParamSpec {
        key: "restart_us",
        label: "Process start",
        unit: "µs",
        help: "Model: from the kill to the consumer started again being ready to receive (reference: 1 000 µs; calibrating takes the methods lab's process start).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 1_000 },
        simulation_only: true,
    },
    crate::repeats::spec(5),
];

/// The parameters typed, as the simulation and the real run read them.
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
    /// The CPUs the threads share.
    pub cpus: u32,
    /// The sleep workload's waits up to this long keep a CPU.
    pub spin: Nanos,
    /// Across processes: the share of the items delivered (%) at which consumer 0 is killed; 0 for none.
    pub kill_at: u32,
    /// Across processes: from the kill to the new consumer ready.
    pub restart: Nanos,
    /// Parallel for: the one way of the loop these parameters stand for (a phase of the run), or all three.
    pub phase: Option<parallel_for::ForEach>,
}

/// The seed's streams from which parallel for draws each item's work: stream `ITEM_STREAMS + item`.
pub const ITEM_STREAMS: u64 = 1_000;

impl PipelineParams {
    /// Parallel for: an item's work, drawn from a stream of its own, so that the three ways do the same work
    /// on every item (other patterns draw from each thread's stream: `None`).
    pub fn item_work(&self, seed: u64, item: u32, mean: Nanos) -> Option<Nanos> {
        (self.pattern == Pattern::ParallelFor)
            .then(|| self.service.sample(mean, &mut crate::rng::SimRng::new(seed, ITEM_STREAMS + u64::from(item))))
    }

    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("pipeline", PARAMS, set, |r| {
            let pattern: Pattern = r.pick("pattern")?;
            let capacity = r.uint("capacity") as u32;
            if pattern == Pattern::Processes && capacity == 0 {
                let max = 1_024.0;
                return Err(ParamError::OutOfRange { key: "capacity".into(), min: 1.0, max, value: 0.0 });
            }
            Ok(PipelineParams {
                pattern,
                items: r.uint("items") as u32,
                producers: r.uint("producers") as u32,
                workers: r.uint("workers") as u32,
                capacity,
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
                cpus: r.uint("cpus") as u32,
                spin: Nanos::from_micros(r.uint("spin_us")),
                kill_at: r.uint("kill_at") as u32,
                restart: Nanos::from_micros(r.uint("restart_us")),
                phase: None,
            })
        })
    }
}
