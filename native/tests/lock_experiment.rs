//! The real lock experiment on real processes and files: the lock keeps the counter exact, shared locks admit
//! several readers, LOCK_NB fails under contention, the two demonstrations behave as the lab says, and no worker
//! or scratch file survives a run, cancelled or not.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::experiment::ExperimentError;
use native::scratch::process_alive;
use shared::lab::lock::LockEvent;
use shared::lab::metrics;
use shared::{LabId, ParamSet, ParamValue, Trace};
use std::path::{Path, PathBuf};

fn params(pairs: &[(&str, ParamValue)]) -> ParamSet {
    common::params(LabId::Lock, pairs)
}

/// Runs the experiment in a fresh scratch directory; returns the trace (notes included), the outcome and the
/// scratch path (already removed).
fn run_with(set: &ParamSet, cancel_after_events: Option<usize>) -> (Trace, Result<(), ExperimentError>, PathBuf) {
    let run = common::run_lab(LabId::Lock, set, 7, cancel_after_events);
    (run.trace.expect("the run started"), run.outcome, run.scratch)
}

fn metric(trace: &Trace, key: &str) -> f64 {
    metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value).expect(key)
}

fn lock_events(trace: &Trace) -> impl Iterator<Item = (u32, LockEvent, u64)> + '_ {
    trace.events.iter().filter_map(|e| Some((e.actor.0, e.kind.as_lock()?, e.t.0)))
}

/// Every worker is gone and the scratch directory too.
fn assert_clean(trace: &Trace, dir: &Path) {
    assert!(!dir.exists(), "scratch directory left behind: {}", dir.display());
    for actor in &trace.actors {
        if let Some(pid) = actor.pid {
            assert!(!process_alive(pid), "worker {} (pid {pid}) survived", actor.label);
        }
    }
}

use ParamValue::{Int, Text};

#[test]
fn exclusive_locks_keep_the_counter_exact_with_8_workers() {
    let set = params(&[("procs", Int(8)), ("think_us", Int(200)), ("hold_us", Int(300)), ("duration_ms", Int(300))]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    let writes = lock_events(&trace).filter(|(_, e, _)| matches!(e, LockEvent::CounterWrite { .. })).count();
    let final_value = lock_events(&trace)
        .find_map(|(_, e, _)| if let LockEvent::CounterFinal { value } = e { Some(value) } else { None })
        .expect("final counter");
    assert!(writes > 50, "only {writes} writes");
    assert_eq!(final_value, writes as u64);
    assert_eq!(metric(&trace, "lost_updates"), 0.0);
    assert_eq!(metric(&trace, "max_holders"), 1.0);
    // Events came from several distinct worker processes.
    let pids: std::collections::BTreeSet<u32> = trace.actors.iter().filter_map(|a| a.pid).collect();
    assert_eq!(pids.len(), 8);
    assert_clean(&trace, &dir);
}

#[test]
fn shared_locks_show_more_than_one_holder() {
    let set = params(&[("procs", Int(4)), ("readers", Int(100)), ("hold_us", Int(5_000)), ("think_us", Int(500))]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    assert!(metric(&trace, "max_holders") > 1.0);
    assert_clean(&trace, &dir);
}

#[test]
fn nonblocking_requests_fail_under_contention() {
    let set = params(&[
        ("procs", Int(6)),
        ("mode", Text("nonblocking".into())),
        ("retry_us", Int(50)),
        ("think_us", Int(100)),
        ("hold_us", Int(1_000)),
    ]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    assert!(metric(&trace, "failed_per_acquisition") > 0.5);
    assert_eq!(metric(&trace, "lost_updates"), 0.0);
    assert_clean(&trace, &dir);
}

fn killed_at(trace: &Trace) -> (u32, u64) {
    lock_events(trace).find(|(_, e, _)| *e == LockEvent::Killed).map(|(a, _, t)| (a, t)).expect("a holder was killed")
}

#[test]
fn a_killed_flock_holder_releases_the_lock_at_once() {
    let set = params(&[("procs", Int(4)), ("demo", Text("kill_holder".into())), ("duration_ms", Int(300))]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    let (victim, at) = killed_at(&trace);
    let next = lock_events(&trace).find(|(a, e, t)| *t > at && *a != victim && matches!(e, LockEvent::Acquired { .. }));
    assert!(next.is_some(), "nobody acquired the lock after the holder was killed");
    assert_clean(&trace, &dir);
}

#[test]
fn a_killed_lock_file_holder_leaves_a_stale_file_that_blocks_everyone() {
    let set = params(&[
        ("procs", Int(4)),
        ("mode", Text("lockfile".into())),
        ("demo", Text("kill_holder".into())),
        ("duration_ms", Int(300)),
    ]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    let (_, at) = killed_at(&trace);
    let acquired_after = lock_events(&trace).any(|(_, e, t)| t > at && matches!(e, LockEvent::Acquired { .. }));
    assert!(!acquired_after, "someone acquired a lock file that should be stale");
    assert!(lock_events(&trace).any(|(_, e, _)| e == LockEvent::StaleLockRemoved));
    assert!(metric(&trace, "gave_up") > 0.0);
    assert_clean(&trace, &dir);
}

#[test]
fn a_rogue_writer_ignores_the_advisory_lock_and_updates_are_lost() {
    let set = params(&[
        ("procs", Int(3)),
        ("demo", Text("rogue_writer".into())),
        ("think_us", Int(300)),
        ("hold_us", Int(1_000)),
        ("duration_ms", Int(300)),
    ]);
    let (trace, outcome, dir) = run_with(&set, None);
    outcome.unwrap();
    assert!(metric(&trace, "lost_updates") > 0.0, "the rogue lost no update");
    assert_clean(&trace, &dir);
}

#[test]
fn a_cancelled_run_leaves_no_worker_and_no_file() {
    let set = params(&[("procs", Int(6)), ("duration_ms", Int(5_000))]);
    let (trace, outcome, dir) = run_with(&set, Some(1));
    assert!(matches!(outcome, Err(ExperimentError::Cancelled)), "{outcome:?}");
    assert!(trace.end().0 < 4_000_000_000, "the run went on after the cancel");
    assert_clean(&trace, &dir);
}

/// `syslab run lock … --json` as its own process, with `env` added to its environment.
fn run_cli(words: &[&str], env: &[(&str, &str)]) -> Trace {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "lock", "--json"])
        .args(words)
        .env("SYSLAB_SCRATCH", common::base().join("cli"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A run reports what its waits took beside what they asked; one whose waits broke the bound (here: plain
/// sleeps, which wake tens of microseconds late) is marked so, with a note. No timing is asserted: only that
/// the figures are there, and that the mark follows the report.
#[test]
fn the_waits_are_reported_and_coarse_ones_are_marked() {
    let words = [
        "--procs",
        "1",
        "--think-us",
        "0",
        "--hold-us",
        "10",
        "--dist",
        "constant",
        "--duration-ms",
        "200",
        "--repeats",
        "1",
    ];
    let precise = run_cli(&words, &[]);
    let report: Vec<_> = shared::waits::accuracies(&precise).collect();
    assert_eq!(report.len(), 1, "one kind of wait (hold): {report:?}");
    assert_eq!((report[0].wait, report[0].asked_p50_ns), (shared::waits::WaitKind::Hold, 10_000));
    assert!(report[0].n > 0 && report[0].achieved_p50_ns >= 10_000, "{report:?}");
    let marked = metric(&precise, "waits_as_asked") == 0.0;
    assert_eq!(marked, precise.notes.iter().any(|n| n.keys().contains(&"note.waits.off")));
    let coarse = run_cli(&words, &[(native::wait::COARSE_WAITS_ENV, "1")]);
    let report: Vec<_> = shared::waits::accuracies(&coarse).collect();
    assert!(!report[0].as_asked(), "plain sleeps of 10 µs within the bound: {report:?}");
    assert_eq!(metric(&coarse, "waits_as_asked"), 0.0);
    assert!(coarse.notes.iter().any(|n| n.keys().contains(&"note.waits.off")), "{:?}", coarse.notes);
}
