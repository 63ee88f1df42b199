//! Properties of the pipeline simulation over random presets and parameters: every item is delivered exactly
//! once, a bounded channel never holds more than its capacity, the start order is kept when asked, and the
//! same seed gives the same trace. Across processes, an item is delivered once or lost in the killed consumer,
//! and the kill and the restart come when asked.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::pipeline::{Pattern, PipelineParams, flow};
use shared::lab::simulate;
use shared::{LabId, ParamSet, ParamValue};

const PATTERNS: [&str; 8] = [
    "async_sync",
    "producer_consumer",
    "back_pressure",
    "start_order",
    "worker_pool",
    "dependency_graph",
    "stages",
    "select",
];

fn arb_params() -> impl Strategy<Value = ParamSet> {
    (
        0usize..8,
        1i64..=150,
        1i64..=6,
        1i64..=8,
        0i64..=8,
        prop_oneof![Just("bounded"), Just("unbounded")],
        prop_oneof![Just("start"), Just("completion")],
        prop_oneof![Just("pool"), Just("per_task")],
        prop_oneof![Just("on"), Just("off")],
        0i64..=500,
        1i64..=1_000,
        prop_oneof![Just("constant"), Just("uniform"), Just("exponential")],
    )
        .prop_map(
            |(pattern, items, producers, workers, capacity, bounded, order, pool, default, produce, work, service)| {
                use ParamValue::{Int, Text};
                [
                    ("pattern", Text(PATTERNS[pattern].into())),
                    ("items", Int(items)),
                    ("producers", Int(producers)),
                    ("workers", Int(workers)),
                    ("capacity", Int(capacity)),
                    ("bounded", Text(bounded.into())),
                    ("order", Text(order.into())),
                    ("pool", Text(pool.into())),
                    ("default_branch", Text(default.into())),
                    ("produce_us", Int(produce)),
                    ("work_us", Int(work)),
                    ("service", Text(service.into())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn items_are_conserved_channels_stay_bounded_and_order_is_kept(given in arb_params(), seed in 0u64..1_000) {
        let trace = simulate(LabId::Pipeline, &given, seed).unwrap();
        let p = PipelineParams::parse(&given).unwrap();
        let f = flow(&trace);
        let mut delivered = f.delivery_order.clone();
        delivered.sort_unstable();
        let want = if p.pattern == Pattern::DependencyGraph { (p.items / 12).max(1) * 12 } else { p.items };
        prop_assert_eq!(delivered, (0..want).collect::<Vec<u32>>(), "every item exactly once");
        for (c, info) in p.topology().channels.iter().enumerate() {
            if let (Some(k), Some(q)) = (info.capacity, f.queue.get(c)) {
                prop_assert!(q.iter().all(|x| x.1 <= k), "channel {} over its capacity {}", info.name, k);
            }
        }
        if p.pattern == Pattern::StartOrder && p.start_order {
            prop_assert!(f.delivery_order.windows(2).all(|w| w[0] < w[1]), "start order kept");
        }
        prop_assert_eq!(simulate(LabId::Pipeline, &given, seed).unwrap(), trace);
    }
}

fn throughput(pairs: &[(&str, ParamValue)]) -> f64 {
    let given: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let trace = simulate(LabId::Pipeline, &given, 1).unwrap();
    let metrics = shared::lab::metrics(&trace);
    metrics.iter().find(|m| m.key == "throughput").and_then(|m| m.value).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Work the threads do on a CPU goes no faster than the CPUs can do it, however many workers; waits the
    /// workers sleep through need none.
    #[test]
    fn cpu_work_is_bounded_by_the_cpus(cpus in 1i64..=4, workers in 1i64..=8, work_us in 21i64..=400) {
        use ParamValue::{Int, Text};
        let at = |workload: &str| throughput(&[
            ("pattern", Text("worker_pool".into())),
            ("items", Int(200)),
            ("workers", Int(workers)),
            ("work_us", Int(work_us)),
            ("produce_us", Int(0)),
            ("service", Text("constant".into())),
            ("workload", Text(workload.into())),
            ("cpus", Int(cpus)),
        ]);
        let bound = cpus.min(workers) as f64 * 1e6 / work_us as f64;
        prop_assert!(at("cpu") <= bound * 1.001, "{} items/s over the CPUs' {bound}", at("cpu"));
        // A sleep longer than the spun stretch leaves the CPUs free: the workers' count sets the pace.
        prop_assert!(at("sleep") >= at("cpu") * 0.999);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Across processes: every item is delivered once or lost in the killed consumer, which holds at most one;
    /// the queue never holds more than its capacity; the kill comes once its share is delivered, and the
    /// successor is ready no sooner than a restart after it.
    #[test]
    fn across_processes_an_item_is_delivered_or_lost_and_the_queue_keeps_its_bound(
        items in 1i64..=150, producers in 1i64..=4, workers in 1i64..=6, capacity in 1i64..=8,
        kill_at in 0i64..=90, produce in 0i64..=400, work in 1i64..=800, seed in 0u64..1_000,
    ) {
        use ParamValue::{Int, Text};
        let given: ParamSet = [
            ("pattern", Text("processes".into())),
            ("items", Int(items)),
            ("producers", Int(producers)),
            ("workers", Int(workers)),
            ("capacity", Int(capacity)),
            ("kill_at", Int(kill_at)),
            ("produce_us", Int(produce)),
            ("work_us", Int(work)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let given = LabId::Pipeline.validate(&given).unwrap();
        let p = PipelineParams::parse(&given).unwrap();
        let f = flow(&simulate(LabId::Pipeline, &given, seed).unwrap());
        let mut out: Vec<u32> = f.delivery_order.iter().chain(&f.kill.lost).copied().collect();
        out.sort_unstable();
        prop_assert_eq!(out, (0..p.items).collect::<Vec<u32>>(), "every item delivered once or lost");
        prop_assert!(f.kill.lost.len() <= 1, "a consumer holds one item: {:?}", f.kill.lost);
        prop_assert!(f.queue[0].iter().all(|x| x.1 <= p.capacity));
        match (f.kill.at, p.kill_after()) {
            (Some((at, queued)), Some(n)) => {
                prop_assert!(queued <= p.capacity);
                let before = f.delivered.iter().flatten().filter(|t| **t <= at).count();
                prop_assert!(before >= n as usize, "killed after {before} of {n} delivered");
                prop_assert!(f.kill.restarted.is_none_or(|r| r >= at + p.restart));
            }
            (Some(_), None) => prop_assert!(false, "a kill that was not asked for"),
            (None, _) => prop_assert!(f.kill.lost.is_empty(), "lost without a kill"),
        }
    }
}
