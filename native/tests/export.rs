//! `syslab run LAB --export FILE`: the Chrome Trace Event JSON imports back into the very run, measured, with its
//! provenance (kernel, CPU, page size, file system, limits, version, time); a `.csv` gets the metrics.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::Source;

#[test]
fn a_measured_run_exports_with_its_provenance_and_imports_back() {
    let dir = common::base().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let (json, csv) = (dir.join("lock.json"), dir.join("lock.csv"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["run", "lock", "--procs", "2", "--duration-ms", "100", "--export"])
        .arg(&json)
        .arg("--export")
        .arg(&csv)
        .env("SYSLAB_SCRATCH", common::base().join("export-scratch"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Page size:") && table.contains("run at 20"), "the table shows the provenance: {table}");

    let trace = shared::export::import(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(trace.run.lab, shared::LabId::Lock);
    assert!(trace.actors.iter().filter(|a| a.pid.is_some()).count() >= 2, "the workers carry their pids");
    assert!(!trace.events.is_empty());
    let Source::Measured { host, started_unix_ms } = &trace.run.source else { panic!("not measured") };
    assert!(*started_unix_ms > 1_700_000_000_000, "the run's time: {started_unix_ms}");
    assert!(host.kernel.starts_with("Linux"), "{host:?}");
    assert!(!host.cpu_model.is_empty(), "{host:?}");
    assert!(host.page_size >= 4096 && host.page_size.is_power_of_two(), "{host:?}");
    assert!(host.inotify_max_user_watches.is_some() && host.open_files_limit.is_some(), "{host:?}");
    assert!(host.scratch_fs.contains("export-scratch"), "{host:?}");

    let metrics = std::fs::read_to_string(&csv).unwrap();
    let header = "lab,source,seed,key,label,unit,value,spread,simulated,model_error";
    assert!(metrics.starts_with(&format!("{header}\nlock,measured,1,")), "{metrics}");
    assert_eq!(metrics.lines().count(), shared::lab::metrics(&trace).len() + 1);

    // The lab's default three repeats: three marks, and every figure a median with its spread, in the file and
    // in the table.
    assert_eq!(shared::repeats::count(&trace), 3);
    let throughput = metrics.lines().find(|l| l.starts_with("lock,measured,1,throughput,")).unwrap();
    // The throughput row has no quoted label, so its columns are the header's.
    let column = |name: &str| header.split(',').position(|h| h == name).unwrap();
    let cells: Vec<&str> = throughput.split(',').collect();
    let spread: f64 = cells[column("spread")].parse().unwrap();
    assert!(spread >= 0.0, "{throughput}");
    let simulated: f64 = cells[column("simulated")].parse().unwrap();
    assert!(simulated > 0.0, "the model's figure sits beside the measured one: {throughput}");
    let error: f64 = cells[column("model_error")].parse().unwrap();
    assert!(error.is_finite(), "{throughput}");
    assert!(table.contains(" ± ") && table.contains("Repeats"), "{table}");
    let _ = std::fs::remove_dir_all(common::base());
}
