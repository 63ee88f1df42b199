//! Every protocol message as JSON, snapshot-tested: a change of the wire format shows up in review.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::calibration::{Calibration, Estimate, Stored};
use shared::i18n::Text;
use shared::lab::amdahl::AmdahlEvent;
use shared::lab::lock::{LockEvent, LockKind};
use shared::lab::methods::{Activity, Cost, MethodsEvent, Way};
use shared::lab::mmap::{Method, MmapEvent};
use shared::protocol::{ClientMsg, RunHead, RunId, ServerMsg, WireError};
use shared::{
    Actor, ActorId, ActorKind, Event, EventKind, LabId, Nanos, ParamError, ParamSet, ParamValue, RunInfo, Source,
};

use common::host;

fn info() -> RunInfo {
    let mut params = ParamSet::new();
    params.insert("procs".into(), ParamValue::Int(2));
    RunInfo {
        lab: LabId::Lock,
        params,
        seed: 7,
        source: Source::Measured { host: host(), started_unix_ms: 1_795_470_874_612 },
    }
}

fn event(t: u64, actor: u32, ev: LockEvent) -> Event {
    Event { t: Nanos(t), actor: ActorId(actor), kind: EventKind::Lock(ev) }
}

fn server_messages() -> Vec<ServerMsg> {
    let run = RunId(3);
    vec![
        ServerMsg::Hello { protocol: 2, host: host(), calibration: Default::default() },
        ServerMsg::Hello {
            protocol: 2,
            host: host(),
            calibration: Stored::Calibrated {
                calibration: Calibration {
                    version: shared::calibration::VERSION,
                    host: host(),
                    measured_unix_ms: 1_795_470_000_000,
                    values: [("io.wake_us".to_owned(), Estimate { value: 8.66, spread: 0.29, repeats: 5 })].into(),
                    unmeasured: [("mmap.disk_mbps".to_owned(), "the kernel kept the file's pages".to_owned())].into(),
                },
            },
        },
        ServerMsg::Hello {
            protocol: 2,
            host: host(),
            calibration: Stored::Refused {
                reason: Text::new("error.calibration.version").with("found", 2).with("version", 1),
            },
        },
        ServerMsg::Calibration { calibration: Stored::Missing },
        ServerMsg::Queued { request: 1, run, seq: 0, position: 0 },
        ServerMsg::Started {
            run,
            seq: 1,
            info: info(),
            actors: vec![Actor {
                id: ActorId(0),
                kind: ActorKind::Process,
                label: Text::new("term.lock.writer").with("n", 0),
                pid: Some(4242),
            }],
        },
        ServerMsg::Events {
            run,
            seq: 2,
            first: 0,
            events: vec![
                event(1_000, 0, LockEvent::Requested { kind: LockKind::Exclusive }),
                event(2_000, 0, LockEvent::WouldBlock { attempts: 3 }),
                event(3_000, 0, LockEvent::Acquired { kind: LockKind::Exclusive }),
                event(4_000, 0, LockEvent::CounterWrite { value: 1, locked: true }),
                event(4_000, 0, LockEvent::Released),
                event(5_000, 0, LockEvent::Killed),
                event(6_000, 1, LockEvent::GaveUp),
                event(7_000, 2, LockEvent::StaleLockRemoved),
                event(7_000, 2, LockEvent::CounterFinal { value: 1 }),
                Event {
                    t: Nanos(9_000),
                    actor: ActorId(0),
                    kind: EventKind::Amdahl(AmdahlEvent::Run { threads: 2, serial_ns: 1_000, parallel_ns: 4_000 }),
                },
                Event {
                    t: Nanos(9_500),
                    actor: ActorId(0),
                    kind: EventKind::Methods(MethodsEvent::Span {
                        way: Way::Threads,
                        lane: 1,
                        activity: Activity::Compute,
                        start: Nanos(9_000),
                    }),
                },
                Event {
                    t: Nanos(9_600),
                    actor: ActorId(0),
                    kind: EventKind::Methods(MethodsEvent::Sample { cost: Cost::PipeHandoff, ns: 15_000 }),
                },
                Event {
                    t: Nanos(9_700),
                    actor: ActorId(0),
                    kind: EventKind::Mmap(MmapEvent::Chunk {
                        method: Method::Read { buffer_kib: 64 },
                        index: 0,
                        bytes: 65_536,
                        ns: 700,
                        syscalls: 1,
                        minor_faults: 0,
                        major_faults: 0,
                    }),
                },
                Event {
                    t: Nanos(9_800),
                    actor: ActorId(0),
                    kind: EventKind::Mmap(MmapEvent::Done { method: Method::MmapSequential, checksum: 42 }),
                },
            ],
        },
        ServerMsg::Finished {
            run,
            seq: 3,
            notes: vec![Text::new("note.mmap.cold")],
            events: 14,
            digest: "0123456789abcdef".into(),
            messages: "fedcba9876543210".into(),
        },
        ServerMsg::Cancelled { run, seq: 4 },
        ServerMsg::Failed { run, seq: 5, error: "spawning worker 3: out of processes".into() },
        ServerMsg::Error {
            request: Some(9),
            error: WireError::Malformed { detail: "expected value at line 1".into() },
        },
        ServerMsg::Error { request: None, error: WireError::ProtocolMismatch { client: 9, server: 1 } },
        ServerMsg::Error { request: None, error: WireError::HelloRequired },
        ServerMsg::Error {
            request: Some(2),
            error: WireError::Params {
                error: ParamError::OutOfRange { key: "procs".into(), min: 1.0, max: 64.0, value: 65.0 },
            },
        },
        ServerMsg::Error { request: Some(2), error: WireError::NoExperiment { lab: LabId::Mmap } },
        ServerMsg::Error { request: None, error: WireError::UnknownRun { run } },
        ServerMsg::Error { request: Some(4), error: WireError::QueueFull { limit: 8 } },
        ServerMsg::Lagged { missed: 12, runs: vec![RunHead { run, next_seq: 40 }] },
        ServerMsg::Evicted { run },
        ServerMsg::Error { request: None, error: WireError::BadRange { run, from_seq: 9, to_seq: 3, available: 40 } },
        ServerMsg::Error { request: None, error: WireError::Evicted { run } },
        ServerMsg::Error { request: None, error: WireError::TooManyResends { limit: 64 } },
    ]
}

#[test]
fn server_messages_as_json() {
    for msg in server_messages() {
        let json = msg.to_json();
        assert_eq!(ServerMsg::parse(&json).unwrap(), msg, "round trip of {json}");
    }
    insta::assert_json_snapshot!("server_messages", server_messages());
}

#[test]
fn client_messages_as_json() {
    let mut params = ParamSet::new();
    params.insert("procs".into(), ParamValue::Int(4));
    params.insert("mode".into(), ParamValue::Text("blocking".into()));
    let msgs = vec![
        ClientMsg::Hello { protocol: 2 },
        ClientMsg::StartRun { request: 1, lab: "lock".into(), params, seed: 42 },
        ClientMsg::Cancel { run: RunId(3) },
        ClientMsg::Calibrate { request: 2 },
        ClientMsg::Resend { run: RunId(3), from_seq: 4, to_seq: 9 },
    ];
    for msg in &msgs {
        assert_eq!(&ClientMsg::parse(&msg.to_json()).unwrap(), msg);
    }
    insta::assert_json_snapshot!("client_messages", msgs);
}

#[test]
fn garbage_is_a_typed_malformed_error() {
    for text in ["", "not json", "{}", r#"{"type":"launch_missiles"}"#, r#"{"type":"hello","protocol":"one"}"#, "[1,2]"]
    {
        assert!(matches!(ClientMsg::parse(text), Err(WireError::Malformed { .. })), "{text:?}");
    }
}
