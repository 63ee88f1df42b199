//! The dependency graph: a small build (fetch, parse four units, check two pairs, generate code three times,
//! link, test) repeated as often as the run's items ask, run on W workers. A task starts once all its inputs
//! are done; ready tasks are taken in order. No schedule beats the critical path, the longest chain of tasks.

use super::{PipelineEvent, PipelineParams};
use crate::i18n::Text;
use crate::rng::SimRng;
use crate::time::Nanos;
use crate::trace::{ActorId, Event, EventKind, Metric, Trace, Unit};
use std::collections::HashMap;

/// The tasks of one build: (name, inputs, work as a multiple of the mean work).
pub const BUILD: [(&str, &[u32], f64); 12] = [
    ("fetch", &[], 0.5),
    ("parse a", &[0], 1.0),
    ("parse b", &[0], 1.0),
    ("parse c", &[0], 1.5),
    ("parse d", &[0], 0.5),
    ("check ab", &[1, 2], 2.0),
    ("check cd", &[3, 4], 1.0),
    ("codegen 1", &[5], 1.0),
    ("codegen 2", &[6], 1.0),
    ("codegen 3", &[5, 6], 2.0),
    ("link", &[7, 8, 9], 1.5),
    ("test", &[10], 1.0),
];

/// The run's tasks: the build repeated `items / 12` times (at least once), each copy after the one before.
/// Returns (inputs, duration) per task, durations drawn from the seed.
pub fn tasks(p: &PipelineParams, seed: u64) -> Vec<(Vec<u32>, Nanos)> {
    let copies = (p.items / BUILD.len() as u32).max(1);
    let mut rng = SimRng::new(seed, 300);
    let mut out = Vec::new();
    for copy in 0..copies {
        let base = copy * BUILD.len() as u32;
        for (i, (_, inputs, factor)) in BUILD.iter().enumerate() {
            let mut deps: Vec<u32> = inputs.iter().map(|d| base + d).collect();
            // Each copy's fetch waits for the previous copy's test: the builds run one after another.
            if i == 0 && copy > 0 {
                deps.push(base - 1);
            }
            let mean = Nanos(libm::round(p.work.0 as f64 * factor) as u64);
            out.push((deps, p.service.sample(mean, &mut rng)));
        }
    }
    out
}

/// The length of the longest chain of tasks (durations summed along inputs).
pub fn critical_path(tasks: &[(Vec<u32>, Nanos)]) -> Nanos {
    let mut finish = vec![Nanos::ZERO; tasks.len()];
    for (i, (deps, d)) in tasks.iter().enumerate() {
        let start = deps.iter().map(|&x| finish[x as usize]).max().unwrap_or(Nanos::ZERO);
        finish[i] = start + *d;
    }
    finish.into_iter().max().unwrap_or(Nanos::ZERO)
}

/// W workers take ready tasks in order; a task is ready once its inputs are done.
pub fn simulate(p: &PipelineParams, seed: u64) -> Vec<Event> {
    let tasks = tasks(p, seed);
    let n = tasks.len();
    let mut out = Vec::new();
    let ev = |t: Nanos, e: PipelineEvent| Event { t, actor: ActorId(0), kind: EventKind::Pipeline(e) };
    let mut left: Vec<usize> = tasks.iter().map(|(d, _)| d.len()).collect();
    let mut done_at = vec![None; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| left[i] == 0).collect();
    for &i in &ready {
        out.push(ev(Nanos::ZERO, PipelineEvent::TaskReady { task: i as u32 }));
    }
    // Per worker: free from this moment, and the task it is on.
    let mut workers: Vec<(Nanos, Option<usize>)> = vec![(Nanos::ZERO, None); p.workers as usize];
    let mut finished = 0;
    while finished < n {
        // Give ready tasks to free workers, then let the earliest busy worker finish.
        while let Some(&task) = ready.iter().next() {
            let Some(w) = workers.iter().position(|w| w.1.is_none()) else { break };
            ready.remove(&task);
            let start = workers[w]
                .0
                .max(tasks[task].0.iter().filter_map(|&d| done_at[d as usize]).max().unwrap_or(Nanos::ZERO));
            out.push(ev(
                start,
                PipelineEvent::Received { item: task as u32, channel: 0, stage: 0, thread: w as u32, queued: 0 },
            ));
            workers[w] = (start + tasks[task].1, Some(task));
        }
        let Some(w) = (0..workers.len()).filter(|&w| workers[w].1.is_some()).min_by_key(|&w| workers[w].0) else {
            break;
        };
        let (at, task) = (workers[w].0, workers[w].1.unwrap_or(0));
        out.push(ev(at, PipelineEvent::Finished { item: task as u32, stage: 0, thread: w as u32 }));
        out.push(ev(at, PipelineEvent::Delivered { item: task as u32 }));
        done_at[task] = Some(at);
        workers[w] = (at, None);
        finished += 1;
        for (j, (deps, _)) in tasks.iter().enumerate() {
            if deps.contains(&(task as u32)) {
                left[j] -= 1;
                if left[j] == 0 {
                    ready.insert(j);
                    out.push(ev(at, PipelineEvent::TaskReady { task: j as u32 }));
                }
            }
        }
    }
    out.sort_by_key(|e| e.t);
    out
}

/// When each task started and finished, from a trace (simulated or measured).
pub fn task_times(trace: &Trace) -> (HashMap<u32, Nanos>, HashMap<u32, Nanos>) {
    let (mut start, mut end) = (HashMap::new(), HashMap::new());
    for e in &trace.events {
        match e.kind {
            EventKind::Pipeline(PipelineEvent::Received { item, .. }) => {
                start.insert(item, e.t);
            }
            EventKind::Pipeline(PipelineEvent::Finished { item, .. }) => {
                end.insert(item, e.t);
            }
            _ => {}
        }
    }
    (start, end)
}

/// The graph's own figures: makespan against the critical path of the durations the trace shows.
pub fn metrics(trace: &Trace, p: &PipelineParams) -> Vec<Metric> {
    let (start, end) = task_times(trace);
    let template = tasks(p, trace.run.seed);
    let observed: Vec<(Vec<u32>, Nanos)> = template
        .iter()
        .enumerate()
        .map(|(i, (deps, _))| {
            let i = i as u32;
            let d = end.get(&i).zip(start.get(&i)).map_or(Nanos::ZERO, |(e, s)| e.saturating_sub(*s));
            (deps.clone(), d)
        })
        .collect();
    let makespan = end.values().max().copied().unwrap_or(Nanos::ZERO);
    let cp = critical_path(&observed);
    vec![
        Metric::new("makespan", Text::new("metric.pipeline.makespan"), Unit::Nanos, Some(makespan.0 as f64)),
        Metric::new("critical_path", Text::new("metric.pipeline.critical_path"), Unit::Nanos, Some(cp.0 as f64)),
        Metric::new(
            "makespan_ratio",
            Text::new("metric.pipeline.makespan_ratio"),
            Unit::Ratio,
            Some(makespan.0 as f64 / cp.0.max(1) as f64),
        ),
    ]
}
