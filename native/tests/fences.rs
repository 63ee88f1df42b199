//! The kernel's fence around every worker: its own process group (so cleanup kills what it starts too), the
//! resource limits it sets on itself, and the parent check that stops a worker whose companion is gone.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use native::experiment::{WORKER_MAX_CPU_SECONDS, WORKER_MAX_FILE_BYTES, kill_worker, worker_command};
use shared::LabId;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;

#[test]
fn a_worker_runs_in_its_own_process_group_under_the_limits_and_dies_with_its_group() {
    let exe = Path::new(env!("CARGO_BIN_EXE_syslab"));
    // The methods lab's echo worker stays up until its input closes: long enough to look at it.
    let mut child =
        worker_command(exe, LabId::Methods, "echo").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let (mut to, mut from) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    // One byte there and back: the worker has fenced itself by then.
    to.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    from.read_exact(&mut byte).unwrap();
    let pid = child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    assert_eq!(fields[2].parse::<u32>().unwrap(), pid, "process group = its own pid");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let limit = |name: &str| {
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        line[name.len()..].split_whitespace().next().unwrap().to_owned()
    };
    assert_eq!(limit("Max file size"), WORKER_MAX_FILE_BYTES.to_string());
    assert_eq!(limit("Max cpu time"), WORKER_MAX_CPU_SECONDS.to_string());
    assert_ne!(limit("Max address space"), "unlimited");
    kill_worker(&mut child);
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the worker is gone and reaped");
}

#[test]
fn a_worker_whose_companion_is_not_its_parent_stops_at_once() {
    let exe = Path::new(env!("CARGO_BIN_EXE_syslab"));
    let spec = serde_json::json!({
        "params": {}, "seed": 1, "dir": "/nonexistent", "parent_pid": 1,
    });
    let out = worker_command(exe, LabId::Io, &spec.to_string()).stderr(Stdio::piped()).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("companion is gone"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
