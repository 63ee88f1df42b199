//! The properties the fuzzers check, as plain functions of raw bytes. The fuzz targets (`fuzz/`, run with
//! `cargo +nightly fuzz`) call them under libFuzzer; `tests/fuzz_corpus.rs` replays the committed seed corpus
//! through them in every test run. Each one panics on a broken property, which is what a fuzzer reports.

use crate::admission::Admission;
use crate::catalogue::LabId;
use crate::live::LiveRuns;
use crate::params::ParamSet;
use crate::protocol::ClientMsg;

/// The client message decoder never panics, and what it accepts survives a round trip unchanged.
pub fn decode_client_message(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(msg) = ClientMsg::parse(&text) {
        let again = ClientMsg::parse(&msg.to_json());
        assert_eq!(again.as_ref(), Ok(&msg), "a decoded message does not survive its round trip");
    }
}

/// Parameter validation never panics, and a validated set validates again to itself.
pub fn validate_parameters(data: &[u8]) {
    let Ok(given) = serde_json::from_slice::<ParamSet>(data) else { return };
    for lab in LabId::ALL {
        if let Ok(valid) = lab.validate(&given) {
            assert_eq!(lab.validate(&valid).as_ref(), Ok(&valid), "{lab}: validation is not idempotent");
        }
    }
}

/// The admission check never panics and lets in only the exact Host, Origin and token, whatever the bytes.
pub fn admit(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (host, origin, token) = (parts.next(), parts.next(), parts.next());
    let admission = Admission {
        port: 7878,
        origins: vec!["http://127.0.0.1:8080".to_owned()],
        token: "0123456789abcdef0123456789abcdef".to_owned(),
        exposed_host: None,
    };
    if admission.check(host, origin, token).is_ok() {
        let host = host.unwrap_or_default();
        assert!(["localhost:7878", "127.0.0.1:7878", "[::1]:7878"].contains(&host), "admitted a foreign Host {host:?}");
        assert_eq!(origin, Some("http://127.0.0.1:8080"), "admitted a foreign Origin");
        assert_eq!(token, Some(admission.token.as_str()), "admitted a wrong token");
    }
}

/// Folding whatever a companion sends (one message per line, any order, any numbers) into a client's runs never
/// panics, asks only for non-empty ranges, and a trace handed out holds exactly the events that were counted.
pub fn reassemble_server_messages(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut runs = LiveRuns::default();
    let mut seen = Vec::new();
    for line in text.lines() {
        let Ok(handled) = runs.handle_text(line) else { continue };
        for ask in handled.asks {
            let ClientMsg::Resend { run, from_seq, to_seq } = ask else { panic!("asked for something else: {ask:?}") };
            assert!(from_seq < to_seq, "asked for an empty or reversed range {from_seq}..{to_seq} of {run}");
        }
        for run in handled.runs {
            if !seen.contains(&run) {
                seen.push(run);
            }
        }
    }
    for run in seen {
        let Some(live) = runs.get_mut(run) else { continue };
        let counted = live.progress().events;
        if let Some((trace, _)) = live.take_trace() {
            assert_eq!(trace.events.len() as u64, counted, "{run}: the trace lost or gained events");
        }
    }
}
