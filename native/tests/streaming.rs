//! Live runs reach a client whole, against the real companion (`syslab serve` as its own process): a client
//! that stops reading while a fast experiment streams falls behind, is told so, asks for what the live stream
//! left out, and ends with exactly the companion's record (its digest); bad resend requests get one typed error
//! each and the connection goes on.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use native::client::{self, run_whole};
use native::spawned::SpawnedCompanion;
use shared::live::Verification;
use shared::protocol::{ClientMsg, RunId, ServerMsg, WireError};
use shared::{LabId, ParamValue};
use std::path::Path;
use std::time::Duration;

const ORIGIN: &str = "http://127.0.0.1:1";

async fn companion(name: &str) -> SpawnedCompanion {
    let exe = Path::new(env!("CARGO_BIN_EXE_syslab"));
    SpawnedCompanion::start(exe, &common::base().join(name), ORIGIN).await.unwrap()
}

/// The lock lab as fast as it goes: every acquisition is four events, several hundred thousand a second.
fn fast_lock(duration_ms: i64) -> shared::ParamSet {
    common::params(
        LabId::Lock,
        &[
            ("procs", ParamValue::Int(4)),
            ("think_us", ParamValue::Int(0)),
            ("hold_us", ParamValue::Int(1)),
            ("duration_ms", ParamValue::Int(duration_ms)),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_falls_behind_still_gets_the_run_the_companion_recorded() {
    let c = companion("behind").await;
    let mut ws = client::connect(c.port, &c.token, ORIGIN).await.unwrap();
    assert!(matches!(client::recv(&mut ws, Duration::from_secs(10)).await.unwrap(), ServerMsg::Hello { .. }));
    // Stop reading for four seconds once the run has started, then read slowly: a pause every 50 messages.
    let pace = |n: u64| match n {
        3 => Some(Duration::from_secs(4)),
        n if n % 50 == 0 => Some(Duration::from_millis(20)),
        _ => None,
    };
    let got = run_whole(&mut ws, LabId::Lock, fast_lock(3_000), 7, pace).await.unwrap();
    println!(
        "{} events; the live stream left out {} messages, {} were asked for again, {} came twice",
        got.trace.events.len(),
        got.skipped,
        got.progress.resent_asked,
        got.progress.duplicates
    );
    assert!(
        got.skipped > 0 && got.progress.resent_asked > 0,
        "the client never fell behind, so nothing here tested a resend: {:?}",
        got.progress
    );
    assert!(matches!(got.verification, Verification::Verified { .. }), "{:?}", got.verification);
    assert_eq!(got.progress.missing_events, 0);
    // Whole means the figures hold: an exclusive flock never has two holders.
    let metrics = shared::lab::metrics(&got.trace);
    let most = metrics.iter().find(|m| m.key == "max_holders").and_then(|m| m.value);
    assert_eq!(most, Some(1.0), "{metrics:?}");
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_resends_get_one_typed_error_each_and_the_connection_goes_on() {
    let c = companion("resends").await;
    let mut mine = client::connect(c.port, &c.token, ORIGIN).await.unwrap();
    let mut other = client::connect(c.port, &c.token, ORIGIN).await.unwrap();
    let timeout = Duration::from_secs(20);
    for ws in [&mut mine, &mut other] {
        assert!(matches!(client::recv(ws, timeout).await.unwrap(), ServerMsg::Hello { .. }));
    }
    let got = run_whole(&mut other, LabId::Lock, fast_lock(100), 1, |_| None).await.unwrap();
    let theirs = got.run;
    let done = run_whole(&mut mine, LabId::Lock, fast_lock(100), 2, |_| None).await.unwrap();
    let run = done.run;
    let sent = done.progress.messages;
    let cases = [
        (ClientMsg::Resend { run: theirs, from_seq: 0, to_seq: 1 }, WireError::UnknownRun { run: theirs }),
        (
            ClientMsg::Resend { run: RunId(999_999), from_seq: 0, to_seq: 1 },
            WireError::UnknownRun { run: RunId(999_999) },
        ),
        (
            ClientMsg::Resend { run, from_seq: 3, to_seq: 1 },
            WireError::BadRange { run, from_seq: 3, to_seq: 1, available: sent },
        ),
        (
            ClientMsg::Resend { run, from_seq: 0, to_seq: u64::MAX },
            WireError::BadRange { run, from_seq: 0, to_seq: u64::MAX, available: sent },
        ),
        (
            ClientMsg::Resend { run, from_seq: 2, to_seq: 2 },
            WireError::BadRange { run, from_seq: 2, to_seq: 2, available: sent },
        ),
    ];
    for (ask, want) in cases {
        client::send(&mut mine, &ask).await.unwrap();
        match client::recv(&mut mine, timeout).await.unwrap() {
            ServerMsg::Error { request: None, error } => assert_eq!(error, want, "{ask:?}"),
            other => panic!("{ask:?}: expected one typed error, got {other:?}"),
        }
    }
    // Still open, and a good resend is answered with the very message asked for.
    client::send(&mut mine, &ClientMsg::Resend { run, from_seq: 1, to_seq: 2 }).await.unwrap();
    let again = client::recv(&mut mine, timeout).await.unwrap();
    assert_eq!(again.run_seq(), Some((run, 1)), "{again:?}");
    c.stop().await.unwrap();
}
