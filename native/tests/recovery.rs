//! A companion killed outright (SIGKILL) loses control of nothing: its workers die with it, and the next start
//! removes its scratch directories and kills what its state file recorded, but never a process whose pid was
//! reused (its start time differs). A message queue it made outlives it until that sweep unlinks it.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::scratch::process_alive;
use native::state::{start_time, sweep};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A companion running `args` headless with its scratch under `base`.
fn companion(base: &std::path::Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(args)
        .env("SYSLAB_SCRATCH", base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The next start of a companion on `base`: a short run, which sweeps what dead companions left first.
fn next_start(base: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "methods", "--samples", "10", "--json"])
        .env("SYSLAB_SCRATCH", base)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_companion_killed_mid_run_leaves_no_worker_and_the_next_start_sweeps_its_leftovers() {
    let _one = common::one_at_a_time();
    let base = common::base().join("sigkill");
    let _ = std::fs::remove_dir_all(&base);
    let mut companion = companion(&base, &["run", "lock", "--procs", "3", "--duration-ms", "10000"]);
    let pid = companion.id();
    let mut workers = Vec::new();
    wait_until("the workers", || {
        workers = common::processes_with_parent(pid).1;
        workers.len() == 3
    });
    companion.kill().unwrap(); // SIGKILL: none of the companion's cleanup runs.
    companion.wait().unwrap();
    wait_until("the workers to die with their companion", || workers.iter().all(|w| !process_alive(*w)));
    let leftovers = || {
        std::fs::read_dir(&base).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect::<Vec<_>>()
    };
    assert!(leftovers().iter().any(|n| n.starts_with("run-")), "the killed run's scratch is left: {:?}", leftovers());
    assert!(leftovers().iter().any(|n| n.starts_with("state-")), "and its state file: {:?}", leftovers());
    // The next start sweeps both before it does anything else.
    next_start(&base);
    assert!(leftovers().is_empty(), "left after the next start: {:?}", leftovers());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_message_queue_left_by_a_companion_killed_mid_run_is_unlinked_at_the_next_start() {
    let _one = common::one_at_a_time();
    let base = common::base().join("sigkill-mq");
    let _ = std::fs::remove_dir_all(&base);
    let args = ["run", "pipeline", "--pattern", "processes", "--items", "2000", "--work-us", "20000", "--workers", "2"];
    let mut companion = companion(&base, &args);
    let pid = companion.id();
    let queue = format!("/syslab.{pid}.0");
    // Two consumers and (by default) two producers.
    wait_until("the workers", || common::processes_with_parent(pid).1.len() == 4);
    assert!(native::experiment::pipeline::queue_exists(&queue), "the run's queue {queue} is there");
    companion.kill().unwrap();
    companion.wait().unwrap();
    assert!(native::experiment::pipeline::queue_exists(&queue), "a queue outlives the companion that made it");
    next_start(&base);
    assert!(!native::experiment::pipeline::queue_exists(&queue), "the next start unlinks {queue}");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_sweep_kills_recorded_process_groups_but_never_a_reused_pid() {
    let _one = common::one_at_a_time();
    let base = common::base().join("state-sweep");
    std::fs::create_dir_all(&base).unwrap();
    // A stray process in a group of its own, as a worker's child would be.
    let mut stray = Command::new("sleep").arg("60").process_group(0).spawn().unwrap();
    let pid = stray.id();
    let started = start_time(pid).unwrap();
    // A dead companion (no such pid) recorded that pid with another start time: a reused pid, left alone.
    std::fs::write(base.join("state-4194305-1"), format!("{pid} {}\n", started + 1)).unwrap();
    assert_eq!(sweep(&base), 0);
    assert!(process_alive(pid), "a reused pid was killed");
    assert!(!base.join("state-4194305-1").exists(), "the dead companion's state file is removed");
    // Recorded with its real start time: killed, group and all.
    std::fs::write(base.join("state-4194305-2"), format!("{pid} {started}\n")).unwrap();
    assert_eq!(sweep(&base), 1);
    let status = stray.wait().unwrap();
    assert!(!status.success(), "the stray was killed");
    let _ = std::fs::remove_dir_all(&base);
}
