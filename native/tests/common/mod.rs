//! What the experiment tests share: run a lab headless, as the command line does, with the real `syslab` binary
//! as its worker and an optional cancel after some events, and a scan of /proc for the processes a run left.
// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use native::experiment::{self, CancelFlag, Headless};
use shared::{LabId, ParamSet, ParamValue};
use std::path::{Path, PathBuf};

/// The scratch base of this test process.
pub fn base() -> PathBuf {
    std::env::temp_dir().join(format!("syslab-native-test-{}", std::process::id()))
}

/// Validated parameters for `lab` from (key, value) pairs. A run is one repeat unless the pairs ask for more:
/// these tests look at one run's events; the repeats have tests of their own (`io_experiment`, `export`).
pub fn params(lab: LabId, pairs: &[(&str, ParamValue)]) -> ParamSet {
    let mut given: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    if lab.info().params.iter().any(|spec| spec.key == shared::repeats::KEY) {
        given.entry(shared::repeats::KEY.to_owned()).or_insert(ParamValue::Int(1));
    }
    lab.validate(&given).expect("valid parameters")
}

/// Runs `lab` headless; cancels it once `cancel_after_events` events have arrived, if given.
pub fn run_lab(lab: LabId, set: &ParamSet, seed: u64, cancel_after_events: Option<usize>) -> Headless {
    let cancel = CancelFlag::default();
    let progress = |trace: &shared::Trace, _: &[shared::Event]| {
        if cancel_after_events.is_some_and(|n| trace.events.len() >= n) {
            cancel.cancel();
        }
    };
    let exe = Path::new(env!("CARGO_BIN_EXE_syslab"));
    experiment::run_headless(lab, set, seed, &base(), exe, &cancel, &progress).expect("a scratch directory")
}

/// Every process /proc lists, and those whose parent is `parent` (from the ppid field of /proc/PID/stat).
pub fn processes_with_parent(parent: u32) -> (Vec<u32>, Vec<u32>) {
    let (mut seen, mut children) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // The command name is in parentheses and may hold spaces: the fields after the last ')' are fixed.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        seen.push(pid);
        if ppid == Some(parent) {
            children.push(pid);
        }
    }
    (seen, children)
}

/// Tests that look for leftover child processes of this test process take this first: one at a time.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A run left nothing: its scratch directory is gone and no child of this process is alive.
pub fn assert_nothing_left(scratch: &Path) {
    assert!(!scratch.exists(), "the scratch directory {} is still there", scratch.display());
    let (seen, children) = processes_with_parent(std::process::id());
    assert!(seen.contains(&std::process::id()), "the /proc scan does not see this test itself");
    assert!(children.is_empty(), "worker processes left: {children:?}");
}

/// The message queues a companion of pid `companion` left behind, among its first `runs` (its queues are named
/// `/syslab.PID.N`, N counting its runs of the pattern across processes; there is no /dev/mqueue to list here).
pub fn queues_left(companion: u32, runs: u32) -> Vec<String> {
    (0..runs)
        .map(|n| format!("/syslab.{companion}.{n}"))
        .filter(|name| native::experiment::pipeline::queue_exists(name))
        .collect()
}
