//! The reassembly of a live run: messages in any order, duplicated, with gaps that are then filled, give back
//! exactly the run that was sent, verified by its digest; a run with a hole gives no trace at all.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use shared::digest::trace_digest;
use shared::i18n::Text;
use shared::live::{LiveRun, LiveStatus, Verification};
use shared::protocol::{RunId, ServerMsg};
use shared::{LabId, ParamSet, ParamValue, Source, Trace};

const RUN: RunId = RunId(5);

/// A measured-looking run, as the companion's record would hold it.
fn record(seed: u64) -> Trace {
    let mut params = ParamSet::new();
    params.insert("procs".into(), ParamValue::Int(3));
    params.insert("duration_ms".into(), ParamValue::Int(20));
    let mut trace = shared::lab::simulate(LabId::Lock, &params, seed).unwrap();
    trace.run.source = Source::Measured { host: common::host(), started_unix_ms: 1_700_000_000_000 };
    trace.notes = vec![Text::new("note.mmap.cold")];
    trace
}

/// The messages the companion sends for `trace`, with `per_batch` events each.
fn messages(trace: &Trace, per_batch: usize) -> Vec<ServerMsg> {
    let mut out = vec![
        ServerMsg::Queued { request: 1, run: RUN, seq: 0, position: 1 },
        ServerMsg::Queued { request: 1, run: RUN, seq: 1, position: 0 },
        ServerMsg::Started { run: RUN, seq: 2, info: trace.run.clone(), actors: trace.actors.clone() },
    ];
    for (i, batch) in trace.events.chunks(per_batch).enumerate() {
        let seq = out.len() as u64;
        out.push(ServerMsg::Events { run: RUN, seq, first: (i * per_batch) as u64, events: batch.to_vec() });
    }
    let seq = out.len() as u64;
    let messages = out.iter().enumerate().fold(0u64, |sum, (i, m)| {
        sum.wrapping_add(shared::digest::message_share(i as u64, shared::digest::message_hash(&m.to_json())))
    });
    out.push(ServerMsg::Finished {
        run: RUN,
        seq,
        notes: trace.notes.clone(),
        events: trace.events.len() as u64,
        digest: trace_digest(trace),
        messages: format!("{messages:016x}"),
    });
    out
}

#[test]
fn in_order_the_run_is_complete_and_verified() {
    let trace = record(1);
    let mut live = LiveRun::new(RUN);
    for msg in messages(&trace, 64) {
        assert!(live.handle_parsed(msg));
    }
    assert!(live.is_complete());
    assert_eq!(live.status(), &LiveStatus::Finished);
    assert_eq!(live.progress().missing_messages, 0);
    let (got, verification) = live.take_trace().unwrap();
    assert_eq!(got, trace);
    assert_eq!(verification, Verification::Verified { digest: trace_digest(&trace) });
    // Handed out once.
    assert!(live.take_trace().is_none());
}

#[test]
fn a_hole_withholds_the_trace_and_names_what_is_missing() {
    let trace = record(2);
    let msgs = messages(&trace, 50);
    let n = msgs.len() as u64;
    let lost_events = match &msgs[4] {
        ServerMsg::Events { events, .. } => events.len() as u64,
        other => panic!("not events: {other:?}"),
    };
    let mut live = LiveRun::new(RUN);
    for (i, msg) in msgs.iter().enumerate() {
        if i != 4 {
            live.handle_parsed(msg.clone());
        }
    }
    assert!(live.is_over());
    assert!(!live.is_complete());
    assert!(live.take_trace().is_none(), "a trace with a hole must not be handed out");
    assert_eq!(live.missing(), vec![4..5]);
    let progress = live.progress();
    assert_eq!((progress.missing_messages, progress.missing_events), (1, lost_events));
    assert_eq!(progress.messages, n - 1);
    // Asked for once.
    assert_eq!(live.poll_requests(), vec![4..5]);
    assert!(live.poll_requests().is_empty());
    live.handle_parsed(msgs[4].clone());
    assert_eq!(live.take_trace().unwrap().0, trace);
}

#[test]
fn a_lost_tail_is_found_from_the_head_the_companion_tells() {
    let trace = record(3);
    let msgs = messages(&trace, 40);
    let n = msgs.len() as u64;
    let mut live = LiveRun::new(RUN);
    for msg in msgs.iter().take(5) {
        live.handle_parsed(msg.clone());
    }
    assert!(live.missing().is_empty(), "nothing is known to be missing yet");
    live.handle_head(n);
    assert_eq!(live.poll_requests(), vec![5..n]);
    // The companion no longer has it: the run stays incomplete, with the reason, and asks for nothing more.
    live.handle_lost(Text::new("ui.live.evicted"));
    assert_eq!(live.lost(), Some(&Text::new("ui.live.evicted")));
    assert!(live.poll_requests().is_empty());
    assert!(live.take_trace().is_none());
}

#[test]
fn a_different_record_is_a_mismatch_not_a_verified_run() {
    let trace = record(4);
    let mut msgs = messages(&trace, 64);
    if let Some(ServerMsg::Finished { messages, .. }) = msgs.last_mut() {
        *messages = "0000000000000000".into();
    }
    let mut live = LiveRun::new(RUN);
    for msg in msgs {
        live.handle_parsed(msg);
    }
    assert!(matches!(live.take_trace(), Some((_, Verification::Mismatch { .. }))));
}

#[test]
fn a_resent_queued_does_not_undo_a_later_status() {
    let trace = record(5);
    let msgs = messages(&trace, 64);
    let mut live = LiveRun::new(RUN);
    live.handle_parsed(msgs[2].clone());
    live.handle_parsed(msgs[0].clone());
    assert_eq!(live.status(), &LiveStatus::Running);
    // Messages of another run are not this run's.
    let mut other = LiveRun::new(RunId(99));
    assert!(!other.handle_parsed(msgs[2].clone()));
}

/// How a test run delivers the messages: an order, some duplicates, some held back as gaps.
#[derive(Debug, Clone)]
struct Delivery {
    order: Vec<usize>,
    duplicated: Vec<usize>,
    held_back: Vec<usize>,
}

fn delivery(n: usize) -> impl Strategy<Value = Delivery> {
    (
        Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        proptest::collection::vec(0..n, 0..8),
        proptest::collection::vec(0..n, 0..12),
    )
        .prop_map(|(order, duplicated, held_back)| Delivery { order, duplicated, held_back })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_order_duplicates_and_filled_gaps_give_back_the_run(
        seed in 0u64..1_000,
        per_batch in 1usize..200,
        d in delivery(64),
    ) {
        let trace = record(seed);
        let msgs = messages(&trace, per_batch);
        let n = msgs.len();
        let mut live = LiveRun::new(RUN);
        let held: std::collections::BTreeSet<usize> = d.held_back.iter().map(|i| i % n).collect();
        // The live stream: every message not held back, in a shuffled order, some twice.
        let order = d.order.iter().map(|i| i % n).chain(0..n).filter(|i| !held.contains(i));
        let mut seen = std::collections::BTreeSet::new();
        for i in order.chain(d.duplicated.iter().map(|i| i % n).filter(|i| !held.contains(i))) {
            if seen.insert(i) || d.duplicated.contains(&i) {
                live.handle_parsed(msgs[i].clone());
            }
        }
        if !held.is_empty() {
            prop_assert!(live.take_trace().is_none());
            // The companion says how far the run got; the client asks for every gap and gets it.
            live.handle_head(n as u64);
            let asked: Vec<_> = live.poll_requests().into_iter().flatten().collect();
            let held_seqs: Vec<u64> = held.iter().map(|&i| i as u64).collect();
            prop_assert_eq!(&asked, &held_seqs);
            for seq in asked {
                live.handle_parsed(msgs[seq as usize].clone());
            }
        }
        prop_assert!(live.is_complete());
        prop_assert_eq!(live.progress().missing_events, 0);
        let (got, verification) = live.take_trace().expect("complete");
        prop_assert_eq!(&got, &trace);
        let verified = matches!(verification, Verification::Verified { .. });
        prop_assert!(verified, "{:?}", verification);
    }
}
