//! The lock model's scheduler: at think time 0 the process that comes straight back keeps the lock for a slice
//! and then it passes on (fair over a run, nearly every wait zero, one turn's throughput); a slice shorter than a
//! turn hands it on at every release; more LOCK_NB spinners than CPUs share them and throughput collapses.
//! Properties of the model over its parameters, not timings.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::{metrics, simulate};
use shared::{LabId, ParamSet, ParamValue, Trace};

fn run(pairs: &[(&str, i64)], mode: &str, seed: u64) -> Trace {
    let mut set: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), ParamValue::Int(*v))).collect();
    set.insert("mode".into(), ParamValue::Text(mode.into()));
    // Drawn times: with constant ones, a waiter woken at one release may arrive exactly in the gap of a later one,
    // every time.
    set.insert("dist".into(), ParamValue::Text("exponential".into()));
    set.insert("duration_ms".into(), ParamValue::Int(50));
    simulate(LabId::Lock, &set, seed).unwrap()
}

fn metric(trace: &Trace, key: &str) -> f64 {
    metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Think time 0, a wake-up slower than the loop's own return: the process that comes straight back keeps the
    /// lock for a slice, then it passes on. Nearly every wait is zero, the throughput is about one turn's (hold and
    /// the loop's own cost) and at most the lock's occupancy allows (within the draws' and the run's ends'
    /// tenth), and over a run of many slices every process has had its share.
    #[test]
    fn at_think_time_zero_the_lock_passes_on_each_slice(
        procs in 2i64..=8, hold in 1i64..=20, wake in 5i64..=40, turn in 100i64..=8_000, slice in 200i64..=1_000,
        seed in any::<u64>(),
    ) {
        let trace = run(
            &[("procs", procs), ("cpus", 2), ("think_us", 0), ("hold_us", hold), ("wake_us", wake), ("turn_ns", turn),
              ("slice_us", slice)],
            "blocking",
            seed,
        );
        let fairness = metric(&trace, "fairness");
        prop_assert!(fairness > 0.9, "fairness {fairness}");
        prop_assert_eq!(metric(&trace, "wait_p50"), 0.0);
        // The lock is taken for the hold and the half of the turn done holding; the other half of one process's
        // turn may run beside the next holder's.
        let (held, turned) = (1e9 / ((hold * 1_000 + turn / 2) as f64), 1e9 / ((hold * 1_000 + turn) as f64));
        let throughput = metric(&trace, "throughput");
        prop_assert!(throughput <= held * 1.10, "throughput {throughput} over the lock's occupancy {held}");
        prop_assert!(throughput >= turned * 0.8, "throughput {throughput} far under one turn's {turned}");
    }

    /// A slice shorter than a turn passes the lock on at every release: each hand-off then waits for a wake-up.
    #[test]
    fn a_slice_shorter_than_a_turn_hands_the_lock_on_at_every_release(
        procs in 2i64..=8, hold in 1i64..=20, wake in 5i64..=40, seed in any::<u64>(),
    ) {
        let at = |slice: i64| {
            run(
                &[("procs", procs), ("cpus", 2), ("think_us", 0), ("hold_us", hold), ("wake_us", wake),
                  ("turn_ns", 2_000), ("slice_us", slice)],
                "blocking",
                seed,
            )
        };
        let (handing, keeping) = (at(1), at(1_000));
        let bound = 1e9 / ((hold * 1_000 + 1_000 + wake * 1_000) as f64);
        let throughput = metric(&handing, "throughput");
        prop_assert!(throughput <= bound * 1.10, "throughput {throughput} over a hand-off's {bound}");
        prop_assert!(throughput < metric(&keeping, "throughput"));
        prop_assert!(metric(&handing, "fairness") > 0.95);
    }
}

#[test]
fn more_lock_nb_spinners_than_cpus_share_them_and_throughput_collapses() {
    let spinners = [("procs", 16), ("think_us", 0), ("hold_us", 10), ("retry_us", 10), ("turn_ns", 500)];
    let on = |cpus: i64| {
        let mut pairs = spinners.to_vec();
        pairs.push(("cpus", cpus));
        metric(&run(&pairs, "nonblocking", 7), "throughput")
    };
    let (two, sixteen) = (on(2), on(16));
    assert!(two < sixteen / 4.0, "16 spinners on 2 CPUs: {two}/s against {sixteen}/s on 16");
}
