//! What the experiment tests share: run a lab headless, as the command line does, with the real `syslab` binary
//! as its worker and an optional cancel after some events.

use native::experiment::{self, CancelFlag, Headless};
use shared::{LabId, ParamSet, ParamValue};
use std::path::{Path, PathBuf};

/// The scratch base of this test process.
pub fn base() -> PathBuf {
    std::env::temp_dir().join(format!("syslab-native-test-{}", std::process::id()))
}

/// Validated parameters for `lab` from (key, value) pairs.
pub fn params(lab: LabId, pairs: &[(&str, ParamValue)]) -> ParamSet {
    let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    lab.validate(&given).expect("valid parameters")
}

/// Runs `lab` headless; cancels it once `cancel_after_events` events have arrived, if given.
pub fn run_lab(lab: LabId, set: &ParamSet, seed: u64, cancel_after_events: Option<usize>) -> Headless {
    let cancel = CancelFlag::default();
    let progress = |n_events: usize, _| {
        if cancel_after_events.is_some_and(|n| n_events >= n) {
            cancel.cancel();
        }
    };
    let exe = Path::new(env!("CARGO_BIN_EXE_syslab"));
    experiment::run_headless(lab, set, seed, &base(), exe, &cancel, &progress).expect("a scratch directory")
}
