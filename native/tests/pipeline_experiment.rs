//! The real pipelines on OS threads and crossbeam channels: every pattern delivers every item exactly once, a
//! bounded channel never reports more than K items, the start order is kept when asked, no task of the
//! dependency graph starts before its inputs are done, and a cancel ends the run. Across processes, over a real
//! message queue: every item is delivered once or lost in the killed consumer, which is started again, the
//! queue never holds more than its capacity, and no queue is left; a queue beyond the kernel's limit is refused
//! in words that name it.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::experiment::ExperimentError;
use shared::lab::pipeline::{PipelineParams, flow, graph};
use shared::{LabId, ParamValue};

fn params(pairs: &[(&str, &str)]) -> shared::ParamSet {
    let pairs: Vec<(&str, ParamValue)> = pairs
        .iter()
        .map(|(k, v)| (*k, v.parse::<i64>().map_or_else(|_| ParamValue::Text((*v).to_owned()), ParamValue::Int)))
        .collect();
    common::params(LabId::Pipeline, &pairs)
}

/// Runs the pipeline to its end: its trace, its flow, and the items it delivered, sorted.
fn run_whole(set: &shared::ParamSet) -> (shared::Trace, shared::lab::pipeline::Flow, Vec<u32>) {
    let run = common::run_lab(LabId::Pipeline, set, 3, None);
    run.outcome.unwrap();
    let trace = run.trace.unwrap();
    let f = flow(&trace);
    let mut order = f.delivery_order.clone();
    order.sort_unstable();
    (trace, f, order)
}

#[test]
fn every_pattern_delivers_every_item_once_on_real_threads() {
    for pattern in
        ["async_sync", "producer_consumer", "back_pressure", "start_order", "worker_pool", "stages", "select"]
    {
        let set = params(&[
            ("pattern", pattern),
            ("items", "48"),
            ("produce_us", "50"),
            ("work_us", "100"),
            ("capacity", "2"),
        ]);
        let (_, f, order) = run_whole(&set);
        assert_eq!(order, (0..48).collect::<Vec<u32>>(), "{pattern}: every item once");
        // The channels' own counts: a bounded channel never held more than its capacity.
        let topo = PipelineParams::parse(&set).unwrap().topology();
        for (c, info) in topo.channels.iter().enumerate() {
            if let (Some(k), Some(q)) = (info.capacity, f.queue.get(c)) {
                assert!(q.iter().all(|x| x.1 <= k), "{pattern}: channel {} held more than {k}", info.name);
            }
        }
        if pattern == "start_order" {
            assert!(f.delivery_order.windows(2).all(|w| w[0] < w[1]), "start order kept");
        }
    }
}

#[test]
fn parallel_for_runs_its_three_ways_one_after_another_each_on_every_item() {
    let set = params(&[("pattern", "parallel_for"), ("items", "24"), ("workers", "3"), ("work_us", "200")]);
    let (trace, f, order) = run_whole(&set);
    assert_eq!(order, (0..72).collect::<Vec<u32>>(), "each way delivers each of the 24 items once");
    // A way starts when the one before has delivered its last item.
    let end = |k: usize| f.delivered[k * 24..(k + 1) * 24].iter().flatten().max().copied().unwrap();
    let start = |k: usize| f.produced[k * 24..(k + 1) * 24].iter().flatten().min().copied().unwrap();
    assert!(start(1) >= end(0) && start(2) >= end(1), "the ways overlapped");
    // The items of a way are worked on by that way's own stage: the pool's by at most its three threads.
    let pool_threads: std::collections::BTreeSet<u32> = trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            shared::trace::EventKind::Pipeline(shared::lab::pipeline::PipelineEvent::Received {
                stage: 5,
                thread,
                ..
            }) => Some(thread),
            _ => None,
        })
        .collect();
    assert!(!pool_threads.is_empty() && pool_threads.len() <= 3, "{pool_threads:?}");
    let metrics = shared::lab::metrics(&trace);
    for key in ["loop_makespan", "thread_per_item_speedup", "pool_speedup"] {
        let value = metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
        assert!(value.is_some_and(|v| v > 0.0), "{key}: {value:?}");
    }
}

#[test]
fn the_dependency_graph_starts_no_task_before_its_inputs() {
    let set = params(&[("pattern", "dependency_graph"), ("items", "24"), ("workers", "3"), ("work_us", "200")]);
    let run = common::run_lab(LabId::Pipeline, &set, 2, None);
    run.outcome.unwrap();
    let trace = run.trace.unwrap();
    let (start, end) = graph::task_times(&trace);
    let tasks = graph::tasks(&PipelineParams::parse(&set).unwrap(), 2);
    assert_eq!(end.len(), tasks.len());
    for (i, (deps, _)) in tasks.iter().enumerate() {
        for d in deps {
            assert!(end[d] <= start[&(i as u32)], "task {i} started before its input {d} was done");
        }
    }
}

#[test]
fn a_cancel_ends_a_long_run() {
    let set = params(&[("pattern", "producer_consumer"), ("items", "2000"), ("work_us", "20000")]);
    let run = common::run_lab(LabId::Pipeline, &set, 1, Some(10));
    assert!(matches!(run.outcome, Err(ExperimentError::Cancelled)), "{:?}", run.outcome);
    assert!(!run.scratch.exists());
}

#[test]
fn across_processes_every_item_is_delivered_once_or_lost_in_the_killed_consumer() {
    let _one = common::one_at_a_time();
    let set = params(&[
        ("pattern", "processes"),
        ("items", "60"),
        ("producers", "2"),
        ("workers", "2"),
        ("produce_us", "50"),
        ("work_us", "300"),
        ("capacity", "4"),
        ("kill_at", "30"),
    ]);
    let run = common::run_lab(LabId::Pipeline, &set, 5, None);
    run.outcome.unwrap();
    common::assert_nothing_left(&run.scratch);
    let trace = run.trace.unwrap();
    let f = flow(&trace);
    let (at, queued) = f.kill.at.expect("consumer 0 was killed");
    assert!(queued <= 4, "the queue held {queued}, beyond its capacity");
    assert!(f.queue[0].iter().all(|(_, q)| *q <= 4), "a send saw more than the capacity queued");
    assert!(f.kill.lost.len() <= 1, "a consumer holds one item at a time: {:?}", f.kill.lost);
    assert!(f.kill.restarted.is_some_and(|r| r > at), "a consumer was started again after the kill");
    let mut out: Vec<u32> = f.delivery_order.iter().chain(&f.kill.lost).copied().collect();
    out.sort_unstable();
    assert_eq!(out, (0..60).collect::<Vec<u32>>(), "every item delivered once or lost");
    let delivered_by_kill = f.delivered.iter().flatten().filter(|t| **t <= at).count();
    assert!(delivered_by_kill >= 18, "killed once 30 % were delivered, not after {delivered_by_kill}");
    let metrics = shared::lab::metrics(&trace);
    let lost = metrics.iter().find(|m| m.key == "lost").and_then(|m| m.value);
    assert_eq!(lost, Some(f.kill.lost.len() as f64));
    assert!(common::queues_left(std::process::id(), 16).is_empty(), "a message queue was left");
}

#[test]
fn a_queue_beyond_the_kernels_limit_is_refused_naming_the_limit() {
    let Some(max) =
        std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max").ok().and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return eprintln!("no fs.mqueue.msg_max here: nothing to go beyond");
    };
    if max >= 1024 {
        return eprintln!("fs.mqueue.msg_max is {max}: the lab's capacities all fit");
    }
    let _one = common::one_at_a_time();
    let capacity = (max + 1).to_string();
    let set = params(&[("pattern", "processes"), ("items", "10"), ("capacity", &capacity)]);
    let run = common::run_lab(LabId::Pipeline, &set, 1, None);
    // A process with CAP_SYS_RESOURCE (bit 24 of its effective set) may go beyond the limit.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let caps = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
    let privileged = u64::from_str_radix(caps, 16).unwrap() & (1 << 24) != 0;
    match run.outcome {
        Ok(_) => assert!(privileged, "a queue of {capacity} was made beyond the limit of {max}"),
        Err(err) => {
            let said = format!("{err}");
            assert!(said.contains("fs.mqueue.msg_max") && said.contains(&max.to_string()), "{said}");
        }
    }
    common::assert_nothing_left(&run.scratch);
    assert!(common::queues_left(std::process::id(), 16).is_empty(), "a message queue was left");
}
