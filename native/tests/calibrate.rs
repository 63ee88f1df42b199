//! `syslab calibrate` measures the primitives with the labs' own experiments and their repeats, and stores a
//! calibration that reads back for this host.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn a_calibration_is_measured_stored_and_read_back_for_this_host() {
    let data = common::base().join("calibrate-data");
    let _ = std::fs::remove_dir_all(&data);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["calibrate", "--json"])
        .env("XDG_DATA_HOME", &data)
        .env("SYSLAB_SCRATCH", common::base().join("calibrate-scratch"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored = std::fs::read_to_string(data.join("syslab/calibration.json")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), stored.trim(), "printed what it stored");
    let here = native::host::describe(&common::base());
    let calibration = shared::calibration::Calibration::read(&stored, &here).unwrap();
    for primitive in shared::calibration::PRIMITIVES {
        let estimate = *calibration.values.get(&primitive.key()).unwrap_or_else(|| {
            panic!("{} was not calibrated: {}", primitive.key(), String::from_utf8_lossy(&out.stderr))
        });
        assert!(estimate.value > 0.0 && estimate.spread >= 0.0, "{}: {estimate:?}", primitive.param);
        let repeats = match primitive.from {
            // The source run's own repeats where its parameters name them, else its lab's default three.
            shared::calibration::Origin::Figure { source, .. } => {
                source.query.split('&').find_map(|p| p.strip_prefix("repeats=")).map_or(3, |n| n.parse().unwrap())
            }
            shared::calibration::Origin::HostCpus => {
                assert_eq!(estimate.value, f64::from(here.n_cpus), "the host's CPUs");
                1
            }
            shared::calibration::Origin::Probe(_) => 7,
        };
        assert_eq!(estimate.repeats, repeats, "{}: the source run's repeats, or the probe's", primitive.key());
    }
    // The runs' scratch directories are gone (the base stays, empty), and so are their workers.
    let base = common::base().join("calibrate-scratch");
    assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0, "left in {}", base.display());
    std::fs::remove_dir(&base).unwrap();
    common::assert_nothing_left(&base);
    let _ = std::fs::remove_dir_all(&data);
}
