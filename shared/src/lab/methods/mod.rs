//! Processes, an event loop, threads and streaming: four ways to do several things at once. The simulation runs
//! the same tasks (compute, then wait for I/O) under each way on a machine with a given number of cores and
//! draws who runs, waits or starts when; the real run measures on this machine what each way costs to start a
//! unit of work and to hand it a message. The metrics read both from the same events.

mod metrics;
mod params;

pub use metrics::*;
use params::*;

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::rng::{Distribution, SimRng};
use crate::sim::Timers;
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace, Unit};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

pub static INFO: LabInfo = LabInfo {
    id: LabId::Methods,
    title: "Processes, threads, events",
    summary: "Four ways to do several things at once, side by side, and what each costs to start on this machine.",
    explanation: &[
        "Processes have separate memory: safe, but costly to start and to talk to (a pipe, a socket). An event \
         loop is one thread that never blocks: it starts an I/O, runs something else, and is called back when the \
         I/O is done; no races, but it uses one core. Threads share memory: cheap to talk (a channel), cheaper to \
         start than processes but not free, hence pools. Streaming, or data-parallel work, applies one operation \
         to many items at once, as SIMD units and GPUs do.",
        "Why it matters: the right choice depends on the work. Tasks that mostly wait for I/O are served well by \
         an event loop; tasks that compute need cores, so threads or processes; and a unit of work that costs \
         less than starting a thread belongs on a pool, not on a thread of its own. Go's goroutines are cheap \
         tasks on a pool of threads; in Rust the same role is played by async tasks or a thread pool.",
        "Try: 12 tasks that wait much longer than they compute, and watch the event loop finish with the threads \
         on one core; then make them compute-bound and watch it fall behind; then measure on this machine what a \
         process, a thread, a pooled task and an async task cost to start, and a pipe against a channel.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "workers", values: "1,2,4,8", metric: "makespan_threads" },
};

lab_entry!(MethodsLab, MethodsParams);

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "process_vs_thread",
    prompt: "How many times longer will starting a process take than starting a thread on this machine?",
    figure: Figure::Metric("process_per_thread"),
    answers: &[
        Answer { label: "Under 3×", below: 3.0 },
        Answer { label: "3× to 10×", below: 10.0 },
        Answer { label: "10× to 30×", below: 30.0 },
        Answer { label: "Over 30×", below: INF },
    ],
    why: "A new thread shares its parent's address space: the kernel makes a stack and a task. A new process \
              gets its own address space and here also executes a program (fork/exec or posix_spawn, then the \
              dynamic loader), which costs far more.",
}];

/// The four ways of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    Processes,
    EventLoop,
    Threads,
    Streaming,
}

impl Way {
    pub const ALL: [Way; 4] = [Way::Processes, Way::EventLoop, Way::Threads, Way::Streaming];

    pub fn key(self) -> &'static str {
        match self {
            Way::Processes => "processes",
            Way::EventLoop => "event_loop",
            Way::Threads => "threads",
            Way::Streaming => "streaming",
        }
    }

    pub fn name(self) -> Text {
        Text::new(&format!("term.methods.{}", self.key()))
    }
}

/// What a lane does during a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Being started (a process or a thread).
    Startup,
    /// Ready to run but every core is busy.
    Runnable,
    Compute,
    /// Waiting for I/O.
    Wait,
}

/// What the real run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Start a process (this binary) and wait for it to exit.
    ProcessStart,
    /// Spawn a thread and join it.
    ThreadStart,
    /// Run an empty job on an existing thread pool and get its completion back.
    PooledTask,
    /// Spawn an async task on a running runtime and await it.
    AsyncTask,
    /// Hand one message to another process through a pipe (half a round trip).
    PipeHandoff,
    /// Hand one message to another thread through a channel (half a round trip).
    ChannelHandoff,
}

impl Cost {
    pub const ALL: [Cost; 6] = [
        Cost::ProcessStart,
        Cost::ThreadStart,
        Cost::PooledTask,
        Cost::AsyncTask,
        Cost::PipeHandoff,
        Cost::ChannelHandoff,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Cost::ProcessStart => "process_start",
            Cost::ThreadStart => "thread_start",
            Cost::PooledTask => "pooled_task",
            Cost::AsyncTask => "async_task",
            Cost::PipeHandoff => "pipe_handoff",
            Cost::ChannelHandoff => "channel_handoff",
        }
    }

    pub fn name(self) -> Text {
        Text::new(&format!("term.methods.{}", self.key()))
    }
}

/// What happened in the methods lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum MethodsEvent {
    /// Lane `lane` of way `way` did `activity` from `start` to the event's time.
    Span { way: Way, lane: u32, activity: Activity, start: Nanos },
    /// One measured (or, for starts, modelled) cost.
    Sample { cost: Cost, ns: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodsParams {
    pub tasks: u32,
    pub compute: Nanos,
    pub wait: Nanos,
    pub workers: u32,
    pub cores: u32,
    pub process_start: Nanos,
    pub thread_start: Nanos,
    pub samples: u32,
}

impl MethodsParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("methods", PARAMS, set, |r| {
            let micros = |key| Nanos::from_micros(r.uint(key));
            Ok(MethodsParams {
                tasks: r.uint("tasks") as u32,
                compute: micros("compute_us"),
                wait: micros("wait_us"),
                workers: r.uint("workers") as u32,
                cores: r.uint("cores") as u32,
                process_start: micros("process_start_us"),
                thread_start: micros("thread_start_us"),
                samples: r.uint("samples") as u32,
            })
        })
    }
}

pub fn actors(pid: Option<u32>) -> Vec<Actor> {
    vec![Actor { id: ActorId(0), kind: ActorKind::Process, label: Text::new("term.actor.companion"), pid }]
}

/// One phase of a lane's plan.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Startup(Nanos),
    Compute(Nanos),
    Wait(Nanos),
}

impl Phase {
    fn needs_core(self) -> bool {
        !matches!(self, Phase::Wait(_))
    }
}

/// Runs lanes' plans on `cores` cores (first come, first served) and returns their spans with their end times.
fn schedule(way: Way, mut plans: Vec<VecDeque<Phase>>, cores: u32) -> Vec<(Nanos, MethodsEvent)> {
    let mut timers: Timers<u32> = Timers::default();
    let mut free = cores;
    let mut ready: VecDeque<(u32, Nanos)> = VecDeque::new();
    let mut running: Vec<Option<(Phase, Nanos)>> = vec![None; plans.len()];
    let mut spans = Vec::new();
    let emit = |lane: u32, activity: Activity, start: Nanos, end: Nanos, spans: &mut Vec<(Nanos, MethodsEvent)>| {
        if end > start {
            spans.push((end, MethodsEvent::Span { way, lane, activity, start }));
        }
    };
    for lane in 0..plans.len() as u32 {
        timers.set(Nanos::ZERO, lane);
    }
    while let Some(now) = timers.next_due() {
        while let Some(lane) = timers.pop_due(now) {
            let idx = lane as usize;
            if let Some((phase, start)) = running[idx].take() {
                let activity = match phase {
                    Phase::Startup(_) => Activity::Startup,
                    Phase::Compute(_) => Activity::Compute,
                    Phase::Wait(_) => Activity::Wait,
                };
                emit(lane, activity, start, now, &mut spans);
                if phase.needs_core() {
                    free += 1;
                }
            }
            match plans[idx].front().copied() {
                Some(Phase::Wait(d)) => {
                    plans[idx].pop_front();
                    running[idx] = Some((Phase::Wait(d), now));
                    timers.set(now + d, lane);
                }
                Some(_) => ready.push_back((lane, now)),
                None => {}
            }
        }
        // Hand free cores to runnable lanes in the order they became ready.
        while free > 0 {
            let Some((lane, since)) = ready.pop_front() else { break };
            let idx = lane as usize;
            let Some(phase) = plans[idx].pop_front() else { continue };
            emit(lane, Activity::Runnable, since, now, &mut spans);
            free -= 1;
            let (Phase::Startup(d) | Phase::Compute(d) | Phase::Wait(d)) = phase;
            running[idx] = Some((phase, now));
            timers.set(now + d, lane);
        }
    }
    spans
}

/// Each way's lanes and their plans for the same tasks.
fn plans(p: &MethodsParams, way: Way, jitter: &mut dyn FnMut(Nanos) -> Nanos) -> Vec<VecDeque<Phase>> {
    match way {
        // W workers, each started first, then taking every W-th task: compute, then wait for its I/O.
        Way::Processes | Way::Threads => {
            let start = if way == Way::Processes { p.process_start } else { p.thread_start };
            (0..p.workers)
                .map(|w| {
                    let mut plan = VecDeque::from([Phase::Startup(jitter(start))]);
                    for _ in (w..p.tasks).step_by(p.workers as usize) {
                        plan.push_back(Phase::Compute(p.compute));
                        plan.push_back(Phase::Wait(p.wait));
                    }
                    plan
                })
                .collect()
        }
        // One thread: computes each task in turn and never waits; each I/O completes in the background.
        Way::EventLoop => vec![(0..p.tasks).map(|_| Phase::Compute(p.compute)).collect()],
        // One operation over all items: read them all at once (one I/O wait), then compute in lockstep on every
        // core.
        Way::Streaming => {
            let lanes = p.cores.min(p.tasks).max(1);
            let share = Nanos(p.compute.0 * u64::from(p.tasks) / u64::from(lanes));
            (0..lanes).map(|_| VecDeque::from([Phase::Wait(p.wait), Phase::Compute(share)])).collect()
        }
    }
}

/// The event loop's tasks finish when their I/O completes, after the loop has run their compute part; the waits
/// are drawn on up to eight "I/O in flight" lanes under the loop.
fn event_loop_waits(p: &MethodsParams, spans: &[(Nanos, MethodsEvent)]) -> Vec<(Nanos, MethodsEvent)> {
    spans
        .iter()
        .filter(|(_, s)| matches!(s, MethodsEvent::Span { activity: Activity::Compute, .. }))
        .enumerate()
        .map(|(i, (end, _))| {
            let lane = 1 + (i as u32 % 8);
            (*end + p.wait, MethodsEvent::Span { way: Way::EventLoop, lane, activity: Activity::Wait, start: *end })
        })
        .collect()
}

/// All four ways on the modelled machine. Start-up costs vary ±50 % around the model's (uniformly, seeded) and
/// are also timed `samples` times each, as the real run times them, so the figures table can set them beside
/// the measured ones.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(MethodsParams::parse(params)?, params, seed))
}

fn simulate_typed(p: MethodsParams, params: &ParamSet, seed: u64) -> Trace {
    let mut rng = SimRng::new(seed, 0);
    let mut jitter = |mean: Nanos| Distribution::Uniform.sample(Nanos(mean.0 / 2), &mut rng) + Nanos(mean.0 / 2);
    let mut timed: Vec<(Nanos, MethodsEvent)> = Vec::new();
    for way in Way::ALL {
        let spans = schedule(way, plans(&p, way, &mut jitter), p.cores);
        if way == Way::EventLoop {
            timed.extend(event_loop_waits(&p, &spans));
        }
        timed.extend(spans);
    }
    // As the real run does, each start cost is timed `samples` times, one start after the other.
    for (cost, mean) in [(Cost::ProcessStart, p.process_start), (Cost::ThreadStart, p.thread_start)] {
        let mut t = Nanos::ZERO;
        for _ in 0..p.samples {
            let ns = jitter(mean);
            t = t + ns;
            timed.push((t, MethodsEvent::Sample { cost, ns: ns.0 }));
        }
    }
    // Stable: spans that end together keep the order they were produced in.
    timed.sort_by_key(|(end, _)| *end);
    Trace {
        run: RunInfo { lab: LabId::Methods, params: params.clone(), seed, source: Source::Simulated },
        actors: actors(None),
        events: timed.into_iter().map(|(t, ev)| Event { t, actor: ActorId(0), kind: EventKind::Methods(ev) }).collect(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn params(pairs: &[(&str, i64)]) -> ParamSet {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), ParamValue::Int(*v))).collect();
        LabId::Methods.validate(&given).unwrap()
    }

    fn makespan(trace: &Trace, way: Way) -> Nanos {
        makespans(trace).into_iter().find(|(w, _)| *w == way).map(|(_, t)| t).unwrap()
    }

    #[test]
    fn io_bound_tasks_suit_the_event_loop_and_compute_bound_ones_do_not() {
        let io =
            simulate(&params(&[("tasks", 12), ("compute_us", 100), ("wait_us", 10_000), ("cores", 1)]), 1).unwrap();
        assert!(makespan(&io, Way::EventLoop) < makespan(&io, Way::Processes));
        let cpu = simulate(
            &params(&[("tasks", 12), ("compute_us", 5_000), ("wait_us", 100), ("cores", 4), ("workers", 4)]),
            1,
        )
        .unwrap();
        assert!(makespan(&cpu, Way::EventLoop) > makespan(&cpu, Way::Threads));
    }

    #[test]
    fn no_more_lanes_run_at_once_than_there_are_cores() {
        let trace = simulate(&params(&[("tasks", 20), ("workers", 8), ("cores", 2)]), 3).unwrap();
        for way in [Way::Processes, Way::Threads] {
            let mut edges: Vec<(Nanos, i32)> = Vec::new();
            for e in &trace.events {
                if let EventKind::Methods(MethodsEvent::Span {
                    way: w,
                    activity: Activity::Compute | Activity::Startup,
                    start,
                    ..
                }) = e.kind
                    && w == way
                {
                    edges.push((start, 1));
                    edges.push((e.t, -1));
                }
            }
            // Ends sort before starts at the same moment: a core freed is a core taken.
            edges.sort();
            let mut busy = 0;
            for (_, d) in edges {
                busy += d;
                assert!(busy <= 2, "{way:?} used {busy} cores");
            }
        }
    }

    #[test]
    fn every_task_computes_once_in_every_way_and_the_run_is_deterministic() {
        let set = params(&[("tasks", 7), ("workers", 3), ("compute_us", 1_000)]);
        let trace = simulate(&set, 9).unwrap();
        for way in [Way::Processes, Way::Threads, Way::EventLoop] {
            let computed: u64 =
                trace
                    .events
                    .iter()
                    .filter_map(|e| match e.kind {
                        EventKind::Methods(MethodsEvent::Span {
                            way: w, activity: Activity::Compute, start, ..
                        }) if w == way => Some((e.t - start).0),
                        _ => None,
                    })
                    .sum();
            assert_eq!(computed, 7 * 1_000_000, "{way:?}");
        }
        assert_eq!(simulate(&set, 9).unwrap(), trace);
        assert!(metrics(&trace).iter().any(|m| m.key == "process_per_thread" && m.value.is_some()));
    }
}
