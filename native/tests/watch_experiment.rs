//! The real watch experiment on this machine's inotify and file system: both watchers notice every change, the
//! poller within the first pass that starts after the write, a watch limit too low is explained and not a crash,
//! and no watcher process or file outlives the run, cancelled or not.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::experiment::ExperimentError;
use shared::lab::watch::{WatchEvent, Watcher, rounds};
use shared::{EventKind, LabId, Nanos, ParamValue};

#[test]
fn both_watchers_notice_every_change_and_the_poller_within_one_pass() {
    let _one = common::one_at_a_time();
    let set = common::params(
        LabId::Watch,
        &[
            ("files", ParamValue::Int(200)),
            ("per_dir", ParamValue::Int(20)),
            ("changes", ParamValue::Int(40)),
            ("rate", ParamValue::Int(400)),
            ("burst", ParamValue::Int(2)),
            ("interval_ms", ParamValue::Int(20)),
        ],
    );
    let run = common::run_lab(LabId::Watch, &set, 7, None);
    run.outcome.unwrap();
    let trace = run.trace.unwrap();
    let all = rounds(&trace);
    assert_eq!(all.len(), 1);
    let (r, _) = &all[0];
    assert_eq!((r.files, r.dirs), (200, 10));
    assert_eq!(r.writes.iter().flatten().count(), 40);
    for w in Watcher::ALL {
        assert_eq!(r.missed(w), 0, "{w:?} missed a change");
        let (cpu, wall, _) = r.cost[w as usize].expect("a cost report");
        assert!(cpu > 0 && wall > 0, "{w:?}: cpu {cpu} wall {wall}");
    }
    // The poller's passes: (start, end). A change is seen during a pass, never before it was written, and
    // within one pass: the pass going on when it was written may see it, or else the next one. A change is
    // stamped just before its write, so one pass may start between the stamp and the write and miss it: at most
    // one whole pass lies between the stamp and the sighting.
    let passes: Vec<(Nanos, Nanos)> = r.scans.iter().map(|&(end, ns)| (end.saturating_sub(Nanos(ns)), end)).collect();
    for (written, seen) in r.writes.iter().zip(&r.detected[Watcher::Poll as usize]) {
        let (written, seen) = (written.unwrap(), seen.unwrap());
        assert!(seen >= written);
        assert!(passes.iter().any(|p| p.0 <= seen && seen <= p.1), "seen at {seen}, outside every pass");
        let missed = passes.iter().filter(|p| p.0 >= written && p.1 < seen).count();
        assert!(missed <= 1, "written at {written}, seen at {seen}: {missed} whole passes in between missed it");
    }
    // The poller's calls are one stat per file per pass after its baseline.
    let (_, _, calls) = r.cost[Watcher::Poll as usize].unwrap();
    assert_eq!(calls, Some((r.scans.len() as u64 - 1) * 200));
    common::assert_nothing_left(&run.scratch);
}

#[test]
fn a_sweep_runs_a_round_per_file_count() {
    let _one = common::one_at_a_time();
    let set = common::params(
        LabId::Watch,
        &[
            ("files", ParamValue::Int(1_000)),
            ("sweep", ParamValue::Text("on".into())),
            ("changes", ParamValue::Int(5)),
            ("rate", ParamValue::Int(1_000)),
            ("interval_ms", ParamValue::Int(10)),
        ],
    );
    let run = common::run_lab(LabId::Watch, &set, 1, None);
    run.outcome.unwrap();
    let trace = run.trace.unwrap();
    let files: Vec<u32> = rounds(&trace).iter().map(|(r, _)| r.files).collect();
    assert_eq!(files, vec![10, 100, 1_000]);
    common::assert_nothing_left(&run.scratch);
}

#[test]
fn a_cancelled_run_leaves_no_watcher_and_no_file() {
    let _one = common::one_at_a_time();
    let set = common::params(
        LabId::Watch,
        &[("files", ParamValue::Int(100)), ("changes", ParamValue::Int(2_000)), ("rate", ParamValue::Int(100))],
    );
    let run = common::run_lab(LabId::Watch, &set, 1, Some(8));
    assert!(matches!(run.outcome, Err(ExperimentError::Cancelled)), "{:?}", run.outcome);
    common::assert_nothing_left(&run.scratch);
}

#[test]
fn a_watch_limit_too_low_is_explained_and_the_poller_runs_alone() {
    let _one = common::one_at_a_time();
    let scratch = common::base().join("limit");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "watch", "--files", "100", "--per-dir", "10", "--changes", "5", "--rate", "500", "--json"])
        .args(["--interval-ms", "10"])
        .env(native::experiment::watch::WATCH_LIMIT_ENV, "5")
        .env("SYSLAB_SCRATCH", &scratch)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace: shared::Trace = serde_json::from_slice(&out.stdout).unwrap();
    let limit = trace.events.iter().find_map(|e| match e.kind {
        EventKind::Watch(WatchEvent::Limit { needed, limit, .. }) => Some((needed, limit)),
        _ => None,
    });
    assert_eq!(limit, Some((11, 5)), "10 directories and the root against a limit of 5");
    assert!(
        trace
            .notes
            .iter()
            .map(ToString::to_string)
            .any(|n| n.contains("fs.inotify.max_user_watches") && n.contains("11"))
    );
    let (r, _) = &rounds(&trace)[0];
    assert_eq!(r.missed(Watcher::Poll), 0);
    assert!(r.detected[Watcher::Inotify as usize].iter().all(Option::is_none));
    let _ = std::fs::remove_dir_all(&scratch);
}
