//! The real methods experiment: every way of starting work and handing over a message is really exercised the
//! number of times asked, and no worker process is left behind.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::lab::methods::{Cost, samples};
use shared::{LabId, ParamValue};

#[test]
fn every_cost_is_sampled_and_no_worker_survives() {
    let set = common::params(LabId::Methods, &[("samples", ParamValue::Int(20))]);
    let run = common::run_lab(LabId::Methods, &set, 1, None);
    run.outcome.unwrap();
    let trace = run.trace.unwrap();
    for cost in Cost::ALL {
        let n = samples(&trace, cost).len();
        let want = if cost == Cost::ProcessStart { 10 } else { 20 };
        assert_eq!(n, want, "{cost:?}");
    }
    // Every worker this run started (no-op processes and the echo process) has been reaped.
    let (seen, children) = common::processes_with_parent(std::process::id());
    assert!(seen.contains(&std::process::id()), "the /proc scan does not see this test itself");
    assert!(children.is_empty(), "children left: {children:?}");
}
