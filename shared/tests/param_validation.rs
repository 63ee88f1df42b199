//! 10 000 random parameter sets per lab, with real and made-up keys and every kind of value (huge, negative,
//! NaN, infinite, paths, empty text): each is either accepted, with every value then inside its declared
//! range or among its choices, or refused with a typed `ParamError`. Validation is pure `shared` code (no
//! file, clock or process can be reached from it: `shared/clippy.toml`), so a refusal has no side effects;
//! the server tests check that a refused request starts nothing.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::params::{ParamKind, ParamValue};
use shared::{LabId, ParamSet};

fn arb_value() -> impl Strategy<Value = ParamValue> {
    prop_oneof![
        any::<i64>().prop_map(ParamValue::Int),
        (-5i64..2_000_000).prop_map(ParamValue::Int),
        any::<f64>().prop_map(ParamValue::Float),
        Just(ParamValue::Float(f64::NAN)),
        Just(ParamValue::Float(f64::INFINITY)),
        Just(ParamValue::Float(-0.0)),
        Just(ParamValue::Text("../../etc/passwd".into())),
        Just(ParamValue::Text(String::new())),
        "[a-z_]{0,12}".prop_map(ParamValue::Text),
        any::<String>().prop_map(ParamValue::Text),
    ]
}

fn arb_set(lab: LabId) -> impl Strategy<Value = ParamSet> {
    let keys: Vec<String> =
        lab.info().params.iter().map(|p| p.key.to_owned()).chain(["nope".to_owned(), "".to_owned()]).collect();
    let choice_values: Vec<ParamValue> = lab
        .info()
        .params
        .iter()
        .filter_map(|p| match p.kind {
            ParamKind::Choice { choices, .. } => Some(choices.iter().map(|c| ParamValue::Text(c.value.to_owned()))),
            _ => None,
        })
        .flatten()
        .collect();
    let value = if choice_values.is_empty() {
        arb_value().boxed()
    } else {
        prop_oneof![arb_value(), proptest::sample::select(choice_values)].boxed()
    };
    proptest::collection::btree_map(proptest::sample::select(keys), value, 0..6)
}

fn check(lab: LabId, given: &ParamSet) -> Result<(), TestCaseError> {
    // Accepted: every value inside its declaration. A typed refusal is the other allowed answer.
    if let Ok(set) = lab.validate(given) {
        for spec in lab.info().params {
            let value = set.get(spec.key).expect("a validated set has every key");
            let fits = match (spec.kind, value) {
                (ParamKind::Int { min, max, .. }, ParamValue::Int(v)) => (min..=max).contains(v),
                (ParamKind::Float { min, max, .. }, ParamValue::Float(v)) => v.is_finite() && (min..=max).contains(v),
                (ParamKind::Choice { choices, .. }, ParamValue::Text(v)) => choices.iter().any(|c| c.value == v),
                _ => false,
            };
            prop_assert!(fits, "{lab}: `{}` = {value} was accepted outside its declaration", spec.key);
        }
    }
    Ok(())
}

macro_rules! lab_case {
    ($name:ident, $lab:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]
            #[test]
            fn $name(given in arb_set($lab)) {
                check($lab, &given)?;
            }
        }
    };
}

lab_case!(lock_parameters, LabId::Lock);
lab_case!(mmap_parameters, LabId::Mmap);
lab_case!(watch_parameters, LabId::Watch);
lab_case!(io_parameters, LabId::Io);
lab_case!(pipeline_parameters, LabId::Pipeline);
lab_case!(methods_parameters, LabId::Methods);
lab_case!(amdahl_parameters, LabId::Amdahl);
