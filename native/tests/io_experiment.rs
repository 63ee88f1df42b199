//! The real I/O servers on this machine's pipes: every server reads every message once, with the bytes the
//! feeder wrote; epoll and io_uring use one thread and the blocking server one per source where asked; io_uring
//! refused is said plainly and the other four still run; a cancelled run leaves no feeder and no pipe.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::experiment::ExperimentError;
use shared::lab::io::{IoEvent, IoParams, Server, summaries};
use shared::{EventKind, LabId, ParamValue};

#[test]
fn every_server_reads_every_message_once_with_the_feeders_bytes() {
    let _one = common::one_at_a_time();
    let set = common::params(
        LabId::Io,
        &[
            ("sources", ParamValue::Int(12)),
            ("requests", ParamValue::Int(120)),
            ("rate", ParamValue::Int(8_000)),
            ("repeats", ParamValue::Int(3)),
        ],
    );
    let run = common::run_lab(LabId::Io, &set, 5, None);
    run.outcome.unwrap();
    let whole = run.trace.unwrap();
    let schedule = IoParams::parse(&set).unwrap().schedule(5);
    // Each repeat is the whole workload again, in a scratch directory of its own, and each must hold.
    assert_eq!(shared::repeats::count(&whole), 3);
    for trace in shared::repeats::split(&whole) {
        for (server, s) in Server::ALL.into_iter().zip(summaries(&trace)) {
            assert!(!s.unavailable, "{server:?} unavailable: {:?}", trace.notes);
            assert_eq!(s.times_served.len(), 120, "{server:?}");
            assert!(s.times_served.iter().all(|&n| n == 1), "{server:?} served a message twice or never");
            let Some(IoEvent::Cost { threads, cpu_ns, syscalls, .. }) = s.cost else { panic!("{server:?}: no cost") };
            let want = if server == Server::Threads { 12 } else { 1 };
            assert_eq!(threads, want, "{server:?}");
            assert!(cpu_ns > 0 && syscalls > 0, "{server:?}");
        }
        // The bytes: each message was read from the source the feeder wrote it to.
        for e in &trace.events {
            if let EventKind::Io(IoEvent::Ready { source, seq, .. }) = e.kind {
                assert_eq!(schedule[seq as usize].1, source, "message {seq}");
            }
        }
    }
    common::assert_nothing_left(&run.scratch);
}

#[test]
fn a_cancelled_run_leaves_no_feeder_and_no_pipe() {
    let _one = common::one_at_a_time();
    let set = common::params(
        LabId::Io,
        &[("sources", ParamValue::Int(8)), ("requests", ParamValue::Int(2_000)), ("rate", ParamValue::Int(200))],
    );
    // Cancelled in the middle of the first server's pass (it would take 10 s): the feeder is killed, the pipes
    // end, the server returns.
    let cancel = native::experiment::CancelFlag::default();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            cancel.cancel();
        })
    };
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_syslab"));
    let run = native::experiment::run_headless(LabId::Io, &set, 1, &common::base(), exe, &cancel, &|_, _| {}).unwrap();
    canceller.join().unwrap();
    assert!(matches!(run.outcome, Err(ExperimentError::Cancelled)), "{:?}", run.outcome);
    common::assert_nothing_left(&run.scratch);
}

#[test]
fn io_uring_refused_is_said_plainly_and_the_other_four_run() {
    let _one = common::one_at_a_time();
    let scratch = common::base().join("no-uring");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "io", "--sources", "4", "--requests", "20", "--rate", "5000", "--json"])
        .env(native::experiment::io::DISABLE_URING_ENV, "1")
        .env("SYSLAB_SCRATCH", &scratch)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace: shared::Trace = serde_json::from_slice(&out.stdout).unwrap();
    let sums = summaries(&trace);
    assert!(sums[Server::Uring as usize].unavailable);
    assert!(trace.notes.iter().any(|n| n.to_string().contains("io_uring was not measured")), "{:?}", trace.notes);
    for server in [Server::Blocking, Server::Threads, Server::Polling, Server::Epoll] {
        assert_eq!(sums[server as usize].served.iter().flatten().count(), 20, "{server:?}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
