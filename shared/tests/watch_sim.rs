//! Properties of the watch simulation: a watcher notices a change at most once and never before it was written,
//! the poller's latency is bounded by its interval plus a pass, notification loses changes only when its queue
//! overflowed, and the same seed gives the same trace.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::simulate;
use shared::lab::watch::{WatchEvent, Watcher, rounds};
use shared::{EventKind, LabId, ParamSet, ParamValue};
use std::collections::HashMap;

fn arb_params() -> impl Strategy<Value = ParamSet> {
    (
        10i64..=5_000,
        1i64..=500,
        1i64..=300,
        1i64..=2_000,
        1i64..=16,
        1i64..=300,
        prop_oneof![Just("on"), Just("off")],
        100i64..=5_000,
        0i64..=500,
        0i64..=200,
        1i64..=64,
        prop_oneof![Just("on"), Just("off")],
    )
        .prop_map(|(files, per_dir, changes, rate, burst, interval, sweep, stat, delay, cost, queue, coalesce)| {
            use ParamValue::{Int, Text};
            [
                ("files", Int(files)),
                ("per_dir", Int(per_dir)),
                ("changes", Int(changes)),
                ("rate", Int(rate)),
                ("burst", Int(burst)),
                ("interval_ms", Int(interval)),
                ("sweep", Text(sweep.into())),
                ("stat_ns", Int(stat)),
                ("notify_delay_us", Int(delay)),
                ("event_cost_us", Int(cost)),
                ("queue", Int(queue)),
                ("coalesce", Text(coalesce.into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn watchers_notice_each_change_at_most_once_and_never_early(given in arb_params(), seed in 0u64..1_000) {
        let trace = simulate(LabId::Watch, &given, seed).unwrap();
        let mut written = HashMap::new();
        let mut noticed = HashMap::new();
        for e in &trace.events {
            match e.kind {
                EventKind::Watch(WatchEvent::Write { round, change, .. }) => {
                    written.insert((round, change), e.t);
                }
                EventKind::Watch(WatchEvent::Detect { round, change, watcher, .. }) => {
                    let at = written.get(&(round, change)).copied();
                    prop_assert!(at.is_some_and(|w| w <= e.t), "noticed before it was written");
                    let count = noticed.entry((round, change, watcher)).or_insert(0);
                    *count += 1;
                    prop_assert_eq!(*count, 1, "noticed twice");
                }
                _ => {}
            }
        }
        prop_assert!(trace.events.windows(2).all(|w| w[0].t <= w[1].t));
        prop_assert_eq!(simulate(LabId::Watch, &given, seed).unwrap(), trace);
    }

    #[test]
    fn the_poller_sees_everything_within_an_interval_plus_a_pass(given in arb_params(), seed in 0u64..1_000) {
        let trace = simulate(LabId::Watch, &given, seed).unwrap();
        let Some(ParamValue::Int(interval_ms)) = given.get("interval_ms") else { panic!("no interval") };
        let interval = *interval_ms as u64 * 1_000_000;
        for (r, _) in rounds(&trace) {
            let pass = r.scans.first().map(|s| s.1).unwrap();
            prop_assert_eq!(r.missed(Watcher::Poll), 0);
            let worst = r.latencies(Watcher::Poll).last().copied().unwrap_or(0);
            prop_assert!(worst <= interval + pass, "latency {} > T {} + pass {}", worst, interval, pass);
            // Notification loses a change only when its queue overflowed.
            prop_assert!(r.missed(Watcher::Inotify) == 0 || r.overflows > 0);
        }
    }
}
