//! Every measured run says whether it ran alone: beside a real CPU hog (a busy process this test starts, taking
//! a whole CPU) `syslab run` marks its run disturbed, in the trace, the table and the note; without one it does
//! not. The assertions are the marks, never a timing.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::alone::Verdict;

/// An Amdahl run long enough for the kernel's tick counters to tell (about a second on two threads).
fn run_amdahl(name: &str) -> (Verdict, String) {
    let dir = common::base().join("alone");
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join(format!("{name}.json"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "amdahl", "--max-threads", "2", "--work-ms", "150", "--repeats", "3", "--export"])
        .arg(&json)
        .env("SYSLAB_SCRATCH", common::base().join("alone-scratch"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = shared::export::import(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let load = shared::alone::of(&trace).expect("a measured run records its load");
    assert!(load.total_ns > 0 && load.own_ns > 0, "{load:?}");
    (load.verdict(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A process that spins on one CPU until it is killed.
struct Hog(std::process::Child);

impl Hog {
    fn start() -> Hog {
        Hog(std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap())
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_run_beside_a_cpu_hog_is_marked_disturbed_and_one_alone_is_not() {
    let hog = Hog::start();
    let (verdict, table) = run_amdahl("hog");
    drop(hog);
    assert!(matches!(verdict, Verdict::Disturbed { others } if others > 0.2), "beside a hog: {verdict:?}");
    assert!(table.contains("Disturbed: other programs took"), "the table says so: {table}");
    // Without the hog the machine is quiet, unless something else on it is busy: of three tries, one is enough.
    let mut tries = Vec::new();
    for i in 0..3 {
        let (verdict, table) = run_amdahl(&format!("quiet-{i}"));
        tries.push(verdict);
        if matches!(verdict, Verdict::Alone { .. }) {
            assert!(!table.contains("Disturbed"), "{table}");
            break;
        }
    }
    assert!(matches!(tries.last(), Some(Verdict::Alone { .. })), "never alone without the hog: {tries:?}");
    let _ = std::fs::remove_dir_all(common::base());
}
