//! Every measured run says whether it ran alone: beside a real CPU hog (a busy process this test starts, taking
//! a whole CPU) `syslab run` marks its run disturbed, in the trace, the table and the note; on a quiet machine it
//! does not. Whether the machine was quiet is measured here too, independently (this test's own reading of
//! `/proc/stat` and of its children's CPU time around the whole command), and the run's verdict must agree with it
//! wherever the two are clear. The assertions are the marks, never a timing.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::alone::Verdict;

/// Others' share by the test's own reading below which the run must say it ran alone, and above which it must
/// say it was disturbed (the run's window is a little shorter than the command's, hence the margins).
const CLEARLY_QUIET: f64 = 0.04;
const CLEARLY_BUSY: f64 = 0.25;

/// An Amdahl run long enough for the kernel's tick counters to tell (about a second on two threads): its
/// verdict, others' share as this test measured it around the command, and the command's table.
fn run_amdahl(name: &str) -> (Verdict, f64, String) {
    let dir = common::base().join("alone");
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join(format!("{name}.json"));
    let before = native::alone::sample().expect("/proc/stat");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "amdahl", "--max-threads", "2", "--work-ms", "150", "--repeats", "3", "--export"])
        .arg(&json)
        .env("SYSLAB_SCRATCH", common::base().join("alone-scratch"))
        .output()
        .unwrap();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let independent = native::alone::since(before, cpus).expect("/proc/stat").others_share();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = shared::export::import(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let load = shared::alone::of(&trace).expect("a measured run records its load");
    assert!(load.total_ns > 0 && load.own_ns > 0 && load.events > 0 && load.record_ps > 0, "{load:?}");
    let verdict = load.verdict();
    if independent > CLEARLY_BUSY {
        assert!(matches!(verdict, Verdict::Disturbed { .. }), "others took {independent:.2}, the run says {verdict:?}");
    }
    (verdict, independent, String::from_utf8_lossy(&out.stdout).into_owned())
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
fn a_run_beside_a_cpu_hog_is_marked_disturbed_and_one_on_a_quiet_machine_is_not() {
    let hog = Hog::start();
    let (verdict, independent, table) = run_amdahl("hog");
    drop(hog);
    assert!(matches!(verdict, Verdict::Disturbed { others } if others > 0.2), "beside a hog: {verdict:?}");
    assert!(independent > 0.2, "the hog did not take a CPU: {independent:.2}");
    assert!(table.contains("Disturbed: other programs took"), "the table says so: {table}");
    // Without the hog: on a quiet machine the run ran alone. Something else may be busy here (a build beside the
    // tests): then the run must say it was disturbed (checked above), and the next try may find it quiet.
    let mut tries = Vec::new();
    for i in 0..4 {
        let (verdict, independent, table) = run_amdahl(&format!("quiet-{i}"));
        tries.push((verdict, independent));
        if independent < CLEARLY_QUIET {
            assert!(matches!(verdict, Verdict::Alone { .. }), "a quiet machine ({independent:.3}) but {verdict:?}");
            assert!(!table.contains("Disturbed"), "{table}");
            break;
        }
    }
    if tries.iter().all(|(_, independent)| *independent >= CLEARLY_QUIET) {
        eprintln!("the machine was never quiet, so the quiet half was not checked: {tries:?}");
    }
    let _ = std::fs::remove_dir_all(common::base());
}
