//! Sweeps: the values' syntax, the typed errors naming the field, every lab's own sweep, the estimate of the
//! measured time, and a point's figures as the command line's JSON carries them.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use shared::LabId;
use shared::params::{ParamError, ParamSet, ParamValue};
use shared::sweep::{MAX_POINTS, PointFigures, Sweep, SweepError, SweepReport, check_metric, parse_values};

fn spec(lab: LabId, key: &str) -> &'static shared::params::ParamSpec {
    lab.info().params.iter().find(|s| s.key == key).expect("declared")
}

fn ints(values: &[ParamValue]) -> Vec<i64> {
    values.iter().map(|v| if let ParamValue::Int(v) = v { *v } else { panic!("{v:?}") }).collect()
}

#[test]
fn lists_and_ranges_read_as_their_values() {
    let procs = spec(LabId::Lock, "procs");
    assert_eq!(ints(&parse_values(procs, "1..32:6:log").unwrap()), [1, 2, 4, 8, 16, 32]);
    assert_eq!(ints(&parse_values(procs, "1..8:8").unwrap()), [1, 2, 3, 4, 5, 6, 7, 8]);
    // Values that round to the same number count once, in the order given.
    assert_eq!(ints(&parse_values(procs, "4, 2,4,1").unwrap()), [4, 2, 1]);
    assert_eq!(ints(&parse_values(procs, "1..3:5").unwrap()), [1, 2, 3]);
    let parallel = spec(LabId::Amdahl, "parallel");
    assert_eq!(parse_values(parallel, "0..1:5").unwrap(), [0.0, 0.25, 0.5, 0.75, 1.0].map(ParamValue::Float).to_vec());
    let mode = spec(LabId::Lock, "mode");
    let every: Vec<String> = parse_values(mode, "*").unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(every, shared::params::choice_texts(LabId::Lock.info().params, "mode"));
    assert_eq!(parse_values(mode, "blocking,nonblocking").unwrap().len(), 2);
}

#[test]
fn bad_sweeps_get_typed_errors_naming_the_field() {
    let base = ParamSet::new();
    let new = |key: &str, values: &str| Sweep::new(LabId::Lock, key, values, &base);
    assert!(
        matches!(new("colour", "1,2"), Err(SweepError::Param(ParamError::UnknownParam { key, .. })) if key == "colour")
    );
    assert!(
        matches!(new("procs", "1,65"), Err(SweepError::Param(ParamError::OutOfRange { key, .. })) if key == "procs")
    );
    assert!(
        matches!(new("procs", "1,two"), Err(SweepError::Param(ParamError::WrongType { key, .. })) if key == "procs")
    );
    assert!(matches!(new("mode", "blocking,sideways"), Err(SweepError::Param(ParamError::UnknownChoice { .. }))));
    assert_eq!(new("procs", "4,4").unwrap_err(), SweepError::TooFew { key: "procs".into(), found: 1 });
    let many = (1..=33).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(
        new("procs", &many).unwrap_err(),
        SweepError::TooMany { key: "procs".into(), found: 33, max: MAX_POINTS }
    );
    assert!(matches!(new("procs", "1..64:40"), Err(SweepError::TooMany { found: 40, .. })));
    for range in ["1..32", "1..32:x", "1..32:1", "0..32:6:log", "1..32:6:square", "a..b:3"] {
        assert!(matches!(new("procs", range), Err(SweepError::BadRange { .. } | SweepError::Param(_))), "{range}");
    }
    let model_only = new("wake_us", "10,20").unwrap();
    assert_eq!(model_only.check_measurable(), Err(SweepError::ModelOnly { key: "wake_us".into() }));
    assert_eq!(new("procs", "1,2").unwrap().check_measurable(), Ok(()));
    // The other parameters are validated as well: a bad one fails the sweep, not its fourth point.
    let bad_base = ParamSet::from([("think_us".to_owned(), ParamValue::Int(-1))]);
    assert!(matches!(Sweep::new(LabId::Lock, "procs", "1,2", &bad_base), Err(SweepError::Param(_))));
    let figures = shared::lab::metrics(&shared::lab::simulate(LabId::Lock, &base, 1).unwrap());
    assert!(
        matches!(check_metric("speed", &figures), Err(SweepError::UnknownMetric { metric, .. }) if metric == "speed")
    );
    assert_eq!(check_metric("throughput", &figures), Ok(()));
    for err in [new("procs", "4,4").unwrap_err(), new("colour", "1").unwrap_err()] {
        assert!(err.key().is_some() && !err.to_string().contains("error."), "{err}");
    }
}

#[test]
fn every_labs_own_sweep_is_valid_measurable_and_within_the_limit() {
    for lab in LabId::ALL {
        let base = ParamSet::new();
        let sweep = Sweep::default_for(lab, &base).unwrap_or_else(|e| panic!("{lab}: {e}"));
        // The methods lab's workload is the model's alone (the real run times the primitives it is made of).
        match lab {
            LabId::Methods => assert!(matches!(sweep.check_measurable(), Err(SweepError::ModelOnly { .. }))),
            _ => sweep.check_measurable().unwrap_or_else(|e| panic!("{lab}: {e}")),
        }
        let simulated: Vec<_> =
            sweep.points().iter().map(|p| shared::lab::simulate(lab, p, 1).expect("simulates")).collect();
        let estimate = sweep.estimate(&simulated).unwrap_or_else(|e| panic!("{lab}: {e}"));
        assert!(estimate.0 > 0, "{lab}");
        check_metric(lab.info().sweep.metric, &shared::lab::metrics(&simulated[0]))
            .unwrap_or_else(|e| panic!("{lab}: {e}"));
    }
}

#[test]
fn a_sweep_the_model_says_is_too_long_is_refused() {
    let base = ParamSet::from([
        ("duration_ms".to_owned(), ParamValue::Int(10_000)),
        (shared::repeats::KEY.to_owned(), ParamValue::Int(5)),
    ]);
    let sweep = Sweep::new(LabId::Lock, "procs", "1..16:16", &base).unwrap();
    // The model's runs end near their asked duration: 16 points of five 10 s repeats is over the ten minutes a
    // sweep may take.
    let simulated: Vec<_> =
        sweep.points().iter().map(|p| shared::lab::simulate(LabId::Lock, p, 1).expect("simulates")).collect();
    match sweep.estimate(&simulated) {
        Err(SweepError::TooLong { key, estimated_s, limit_s }) => {
            assert_eq!((key.as_str(), limit_s), ("procs", 600));
            assert!(estimated_s > 600, "{estimated_s}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_points_figures_carry_both_runs_the_spread_and_the_error() {
    let point = ParamSet::from([("procs".to_owned(), ParamValue::Int(2))]);
    let sim = shared::lab::simulate(LabId::Lock, &point, 1).unwrap();
    let other = shared::lab::simulate(LabId::Lock, &point, 2).unwrap();
    let alone = PointFigures::of(&ParamValue::Int(2), &sim, None);
    assert!(alone.measured.is_none() && alone.error.is_empty() && alone.simulated.contains_key("throughput"));
    let both = PointFigures::of(&ParamValue::Int(2), &sim, Some(&other));
    let (s, m) = (both.simulated["throughput"], both.measured.as_ref().unwrap()["throughput"]);
    assert!((both.error["throughput"] - (s - m) / m).abs() < 1e-12);
    let report =
        SweepReport { lab: LabId::Lock, param: "procs".into(), metric: "throughput".into(), points: vec![both] };
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["points"][0]["value"], 2);
    assert!(json["points"][0]["simulated"]["throughput"].is_number());
    assert!(json["points"][0]["measured"]["throughput"].is_number());
    let back: SweepReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
    let csv = report.csv();
    assert!(csv.lines().any(|l| l.starts_with("lock,procs,2,throughput,")), "{csv}");
}

proptest! {
    #[test]
    fn a_range_stays_in_the_parameters_bounds_and_its_count(from in 1i64..64, to in 1i64..64, steps in 2usize..=32, log: bool) {
        let procs = spec(LabId::Lock, "procs");
        let text = format!("{from}..{to}:{steps}{}", if log { ":log" } else { "" });
        match parse_values(procs, &text) {
            Ok(values) => {
                let values = ints(&values);
                prop_assert!(values.len() <= steps && values.len() >= 2);
                prop_assert!(values.iter().all(|v| (from.min(to)..=from.max(to)).contains(v)));
                prop_assert_eq!(values.first().copied(), Some(from));
                prop_assert_eq!(values.last().copied(), Some(to));
            }
            // Only a range whose ends round to one value has too few.
            Err(err) => prop_assert_eq!(err, SweepError::TooFew { key: "procs".into(), found: 1 }),
        }
    }
}
