//! The simulations' golden digests: a case for every lab's defaults and for every choice of every choice
//! parameter on its own (each pipeline pattern, lock mode and demonstration, mmap's cold cache, the watch sweep,
//! …), generated from the lab registry so that a lab or choice added is a case at once. The digests are kept in
//! `shared/tests/golden/simulations.json` and checked natively and in headless Chromium: the same (lab,
//! parameters, seed) must give the same trace on every target, which permalinks rely on. A run's short id is
//! its digest's first characters, which the page and `syslab run` both show for a simulated run.

use crate::catalogue::LabId;
use crate::params::{ParamKind, ParamSet, ParamValue};
use crate::trace::Trace;
use std::collections::BTreeMap;

/// The seed every case is simulated with.
pub const SEED: u64 = 7;

/// One simulated run the golden file holds: its name (`lab`, or `lab/key=value`), lab and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub lab: LabId,
    pub params: ParamSet,
}

/// Every case, in the registry's order: each lab's defaults, then each of its choices that is not the default.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for lab in LabId::ALL {
        cases.push(Case { name: lab.as_str().to_owned(), lab, params: ParamSet::new() });
        for spec in lab.info().params {
            let ParamKind::Choice { choices, default } = spec.kind else { continue };
            for choice in choices.iter().filter(|c| c.value != default) {
                cases.push(Case {
                    name: format!("{lab}/{}={}", spec.key, choice.value),
                    lab,
                    params: ParamSet::from([(spec.key.to_owned(), ParamValue::Text(choice.value.to_owned()))]),
                });
            }
        }
    }
    cases
}

/// The short id a simulated run is shown with: the first 8 hex digits of its digest.
pub fn run_id(trace: &Trace) -> String {
    crate::digest::trace_digest(trace).chars().take(8).collect()
}

/// Every case simulated, by name: its digest, or why it could not be simulated.
pub fn digests() -> BTreeMap<String, String> {
    cases()
        .into_iter()
        .map(|case| {
            let digest = match crate::lab::simulate(case.lab, &case.params, SEED) {
                Ok(trace) => crate::digest::trace_digest(&trace),
                Err(err) => format!("refused: {err}"),
            };
            (case.name, digest)
        })
        .collect()
}

/// Why the golden file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the golden digests are not a JSON object of names to digests: {0}")]
pub struct GoldenError(#[from] serde_json::Error);

/// Reads the golden file.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, GoldenError> {
    Ok(serde_json::from_str(text)?)
}

/// Writes the golden file: one case a line, in name order.
pub fn to_json(digests: &BTreeMap<String, String>) -> String {
    serde_json::to_string_pretty(digests).unwrap_or_default() + "\n"
}

/// What differs between the golden digests and the ones just computed, one line a case ("pipeline/pattern=fan_out
/// moved: a1… → b2…", "io has no golden digest", "old_case is golden but no longer a case"); empty when equal.
pub fn differences(golden: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, digest) in now {
        match golden.get(name) {
            None => out.push(format!("{name} has no golden digest ({digest})")),
            Some(was) if was != digest => out.push(format!("{name} moved: {was} → {digest}")),
            Some(_) => {}
        }
    }
    out.extend(
        golden
            .keys()
            .filter(|name| !now.contains_key(*name))
            .map(|name| format!("{name} is golden but no longer a case")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_and_every_choice_is_a_case() {
        let cases = cases();
        for lab in LabId::ALL {
            assert!(cases.iter().any(|c| c.name == lab.as_str()), "{lab} has no case");
        }
        for name in [
            "pipeline/pattern=worker_pool",
            "lock/mode=lockfile",
            "lock/demo=kill_holder",
            "mmap/cache=cold",
            "watch/sweep=on",
        ] {
            assert!(cases.iter().any(|c| c.name == name), "no case {name}");
        }
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "a case twice");
    }

    #[test]
    fn differences_name_the_case_that_moved() {
        let golden = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("gone".to_owned(), "2".to_owned())]);
        let now = BTreeMap::from([("a".to_owned(), "3".to_owned()), ("new".to_owned(), "4".to_owned())]);
        let said = differences(&golden, &now);
        assert_eq!(said, vec!["a moved: 1 → 3", "new has no golden digest (4)", "gone is golden but no longer a case"]);
        assert!(differences(&now, &now).is_empty());
    }

    #[test]
    fn a_run_id_is_its_digests_first_characters() {
        let trace = crate::lab::simulate(LabId::Io, &ParamSet::new(), SEED).unwrap();
        assert_eq!(run_id(&trace).len(), 8);
        assert!(crate::digest::trace_digest(&trace).starts_with(&run_id(&trace)));
        assert!(parse("[1]").is_err());
    }
}
