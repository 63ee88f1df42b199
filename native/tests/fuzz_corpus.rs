//! Replays the fuzzers' committed seed corpus (`fuzz/corpus/TARGET/*`) through the same property functions the
//! fuzz targets run, so every test run checks them without a fuzzer. (It lives here because `shared` does
//! no I/O, not even in its tests' helpers.)

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shared::robustness::{admit, decode_client_message, reassemble_server_messages, validate_parameters};
use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        check(&std::fs::read(&path).unwrap());
        seen += 1;
    }
    assert!(seen >= 4, "{target}: only {seen} corpus files in {}", dir.display());
}

#[test]
fn the_message_decoder_corpus() {
    replay("message_decoder", decode_client_message);
}

#[test]
fn the_parameter_validation_corpus() {
    replay("param_validation", validate_parameters);
}

#[test]
fn the_admission_corpus() {
    replay("admission", admit);
}

#[test]
fn the_reassembly_corpus() {
    replay("live_reassembly", reassemble_server_messages);
}
