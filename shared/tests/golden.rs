//! Every case of `shared::golden` simulates to its golden digest here (and, by the `web` crate's wasm32 tests,
//! in headless Chromium). `UPDATE_GOLDEN=1` rewrites the file; a failure names each case that moved.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
#[allow(clippy::disallowed_methods)] // the test reads (and on request rewrites) its golden file; the library does no I/O
fn every_case_simulates_to_its_golden_digest() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/simulations.json");
    let now = shared::golden::digests();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, shared::golden::to_json(&now)).unwrap();
    }
    let golden = shared::golden::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let moved = shared::golden::differences(&golden, &now);
    assert!(
        moved.is_empty(),
        "the simulation changed; if that is intended, rerun with UPDATE_GOLDEN=1:\n{}",
        moved.join("\n")
    );
}
