//! Properties of the pipeline simulation over random presets and parameters: every item is delivered exactly
//! once, a bounded channel never holds more than its capacity, the start order is kept when asked, and the
//! same seed gives the same trace.

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
