//! The real Amdahl experiment: every thread count runs its repeats on real threads, the figures are computed
//! from them, and a cancel stops it.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::experiment::ExperimentError;
use shared::lab::amdahl::AmdahlEvent;
use shared::{EventKind, LabId, ParamValue};

fn run(
    pairs: &[(&str, ParamValue)],
    cancel_after: Option<usize>,
) -> (Option<shared::Trace>, Result<(), ExperimentError>) {
    let run = common::run_lab(LabId::Amdahl, &common::params(LabId::Amdahl, pairs), 1, cancel_after);
    (run.trace, run.outcome)
}

#[test]
fn every_thread_count_runs_its_repeats() {
    use ParamValue::{Float, Int};
    let (trace, outcome) =
        run(&[("parallel", Float(0.8)), ("max_threads", Int(3)), ("repeats", Int(2)), ("work_ms", Int(20))], None);
    outcome.unwrap();
    let trace = trace.unwrap();
    let mut counts = [0u32; 4];
    // Every event is a thread count's repeat, but the run's last: the machine's load over it.
    assert!(matches!(trace.events.last().map(|e| &e.kind), Some(EventKind::Load(_))));
    for e in &trace.events[..trace.events.len() - 1] {
        let EventKind::Amdahl(AmdahlEvent::Run { threads, serial_ns, parallel_ns }) = e.kind else { panic!("{e:?}") };
        assert!(serial_ns > 0 && parallel_ns > 0);
        counts[threads as usize] += 1;
    }
    assert_eq!(counts, [0, 2, 2, 2]);
    // The figures exist for a measured run; their values are timings, which tests never judge.
    let metrics = shared::lab::metrics(&trace);
    for key in ["speedup_1", "speedup_3", "best_speedup"] {
        assert!(metrics.iter().any(|m| m.key == key && m.value.is_some()), "{key} missing");
    }
    assert!(matches!(trace.run.source, shared::Source::Measured { .. }));
}

#[test]
fn a_cancel_stops_the_run() {
    use ParamValue::Int;
    let (trace, outcome) = run(&[("max_threads", Int(32)), ("repeats", Int(5)), ("work_ms", Int(50))], Some(2));
    assert!(matches!(outcome, Err(ExperimentError::Cancelled)), "{outcome:?}");
    assert!(trace.unwrap().events.len() < 32 * 5);
}
