//! Properties of the I/O simulation over random workloads: every server serves every message exactly once and
//! never before it was ready, a thread's states follow one another in time, and the same seed gives the same
//! trace.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::io::{IoEvent, Server, summaries};
use shared::lab::simulate;
use shared::{EventKind, LabId, ParamSet, ParamValue};

fn arb_params() -> impl Strategy<Value = ParamSet> {
    (1i64..=200, 1i64..=400, 100i64..=50_000, 0i64..=200, 0i64..=500, 10i64..=5_000, 0i64..=50).prop_map(
        |(sources, requests, rate, work, sleep, syscall, wake)| {
            [
                ("sources", sources),
                ("requests", requests),
                ("rate", rate),
                ("work_us", work),
                ("poll_sleep_us", sleep),
                ("syscall_ns", syscall),
                ("wake_us", wake),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), ParamValue::Int(v)))
            .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_server_serves_every_message_once_after_it_was_ready(given in arb_params(), seed in 0u64..1_000) {
        let trace = simulate(LabId::Io, &given, seed).unwrap();
        let Some(ParamValue::Int(requests)) = given.get("requests") else { panic!("no requests") };
        for (server, s) in Server::ALL.into_iter().zip(summaries(&trace)) {
            prop_assert_eq!(s.times_served.len() as i64, *requests, "{:?}", server);
            prop_assert!(s.times_served.iter().all(|&n| n == 1), "{:?} served a message twice", server);
            for (ready, served) in s.ready.iter().zip(&s.served) {
                prop_assert!(ready.unwrap() <= served.unwrap(), "{:?} served before ready", server);
            }
        }
        // Each thread's state changes come in time order (the trace is sorted; this checks no thread goes back).
        let mut last = std::collections::HashMap::new();
        for e in &trace.events {
            if let EventKind::Io(IoEvent::State { server, thread, .. }) = e.kind {
                let prev = last.insert((server, thread), e.t);
                prop_assert!(prev.is_none_or(|p| p <= e.t));
            }
        }
        prop_assert_eq!(simulate(LabId::Io, &given, seed).unwrap(), trace);
    }
}
