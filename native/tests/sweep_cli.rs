//! `syslab sweep` as a user runs it: a short real sweep prints every point's figures as JSON, and a sweep told
//! to stop (SIGTERM, then Ctrl-C's SIGINT) in the middle of a point leaves no worker, no scratch directory and
//! no state file, and says it was interrupted.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::scratch::process_alive;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_syslab");

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn leftovers(base: &std::path::Path) -> Vec<String> {
    let entries = std::fs::read_dir(base).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    entries
        .iter()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.starts_with("run-") || n.starts_with("state-"))
        .collect()
}

#[test]
fn a_short_sweep_measures_every_point() {
    let base = common::base().join("sweep-json");
    let out = Command::new(EXE)
        .args(["sweep", "lock", "--param", "procs=1,2", "--duration-ms", "100", "--repeats", "1", "--json"])
        .env("SYSLAB_SCRATCH", &base)
        .env("XDG_DATA_HOME", base.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: shared::sweep::SweepReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.points.len(), 2);
    for (point, procs) in report.points.iter().zip([1, 2]) {
        assert_eq!(point.value, shared::ParamValue::Int(procs));
        let measured = point.measured.as_ref().expect("measured");
        assert!(measured["acquisitions"] > 0.0 && measured["throughput"] > 0.0, "{measured:?}");
        assert!(point.simulated["throughput"] > 0.0 && point.error.contains_key("throughput"));
    }
    assert!(leftovers(&base).is_empty(), "{:?}", leftovers(&base));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_sweep_told_to_stop_mid_point_leaves_nothing() {
    let _one = common::one_at_a_time();
    for signal in [rustix::process::Signal::TERM, rustix::process::Signal::INT] {
        let base = common::base().join("sweep-signal");
        let _ = std::fs::remove_dir_all(&base);
        let sweep = Command::new(EXE)
            .args(["sweep", "lock", "--param", "procs=3,4", "--duration-ms", "10000", "--repeats", "1"])
            .env("SYSLAB_SCRATCH", &base)
            .env("XDG_DATA_HOME", base.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = sweep.id();
        let mut workers = Vec::new();
        wait_until("the first point's workers", Duration::from_secs(10), || {
            workers = common::processes_with_parent(pid).1;
            workers.len() == 3
        });
        let since = Instant::now();
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), signal).unwrap();
        let out = sweep.wait_with_output().unwrap();
        assert!(since.elapsed() < Duration::from_secs(2), "{signal:?}: the sweep took {:?} to stop", since.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("interrupted"), "{signal:?}: {stderr}");
        assert!(workers.iter().all(|w| !process_alive(*w)), "{signal:?}: a worker outlived the sweep");
        assert!(leftovers(&base).is_empty(), "{signal:?}: {:?}", leftovers(&base));
        let _ = std::fs::remove_dir_all(&base);
    }
}
