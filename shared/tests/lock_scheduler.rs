//! The lock model on the machine's CPUs: with every CPU busy, a woken waiter takes the releaser's CPU, so at
//! think time 0 the lock goes round the waiters fairly at one wake-up per hand-off; with a CPU idle the releaser
//! takes the lock straight back; more LOCK_NB spinners than CPUs share them and throughput collapses. Properties
//! of the model over its parameters, not timings.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::{metrics, simulate};
use shared::{LabId, ParamSet, ParamValue, Trace};

fn run(pairs: &[(&str, i64)], mode: &str, seed: u64) -> Trace {
    let mut set: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), ParamValue::Int(*v))).collect();
    set.insert("mode".into(), ParamValue::Text(mode.into()));
    set.insert("dist".into(), ParamValue::Text("constant".into()));
    set.insert("duration_ms".into(), ParamValue::Int(50));
    simulate(LabId::Lock, &set, seed).unwrap()
}

fn metric(trace: &Trace, key: &str) -> f64 {
    metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Two CPUs, think time 0, more waiters than the idle CPU: every hand-off goes to a woken waiter, in turn.
    #[test]
    fn on_two_busy_cpus_the_lock_goes_round_at_one_wake_up_per_hand_off(
        procs in 3i64..=12, hold in 1i64..=200, wake in 1i64..=60, flock in 10i64..=3_000, seed in any::<u64>(),
    ) {
        let trace = run(
            &[("procs", procs), ("cpus", 2), ("think_us", 0), ("hold_us", hold), ("wake_us", wake), ("flock_ns", flock)],
            "blocking",
            seed,
        );
        let fairness = metric(&trace, "fairness");
        prop_assert!(fairness > 0.95, "fairness {fairness}");
        // Each acquisition after the first waits for a hold and a wake-up: the hand-off bounds the throughput.
        let bound = 1e9 / ((hold * 1_000 + wake * 1_000) as f64);
        let throughput = metric(&trace, "throughput");
        prop_assert!(throughput <= bound * 1.05, "throughput {throughput} over the hand-off's bound {bound}");
    }

    /// With a CPU idle for every waiter, the woken waiter is too slow: the releaser takes the lock back.
    #[test]
    fn with_idle_cpus_the_releaser_takes_the_lock_straight_back(
        procs in 2i64..=4, hold in 1i64..=15, wake in 10i64..=60, seed in any::<u64>(),
    ) {
        let trace = run(
            &[("procs", procs), ("cpus", 16), ("think_us", 0), ("hold_us", hold), ("wake_us", wake), ("flock_ns", 500)],
            "blocking",
            seed,
        );
        let fairness = metric(&trace, "fairness");
        prop_assert!(fairness < 0.8, "fairness {fairness}: the releaser should keep the lock");
    }
}

#[test]
fn more_lock_nb_spinners_than_cpus_share_them_and_throughput_collapses() {
    let spinners = [("procs", 16), ("think_us", 0), ("hold_us", 10), ("retry_us", 10), ("flock_ns", 500)];
    let on = |cpus: i64| {
        let mut pairs = spinners.to_vec();
        pairs.push(("cpus", cpus));
        metric(&run(&pairs, "nonblocking", 7), "throughput")
    };
    let (two, sixteen) = (on(2), on(16));
    assert!(two < sixteen / 4.0, "16 spinners on 2 CPUs: {two}/s against {sixteen}/s on 16");
}
