//! The figures one benchmark binary hands to another: `syslab bench` and the in-browser `browser-bench` each
//! write theirs as JSON, and `cargo xtask bench` reads both to set them against each other. Typed and read with a
//! real parser, so a renamed or missing figure is an error naming it where it is needed, never a silently
//! skipped line.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One binary's figures by name, and the runs the page repeats live, by lab (a permalink query each), where the
/// native bench ran them headless.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchFigures {
    pub figures: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cases: BTreeMap<String, String>,
}

/// Why a figure could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FiguresError {
    #[error("the benchmark's figures are not readable JSON: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the benchmark reported no `{key}` (it has: {have})")]
    Missing { key: String, have: String },
    #[error("the benchmark's `{key}` is {value}, not a finite number")]
    NotFinite { key: String, value: f64 },
}

impl BenchFigures {
    /// Records a figure under `key`, replacing an earlier one.
    pub fn record(&mut self, key: impl Into<String>, value: f64) {
        self.figures.insert(key.into(), value);
    }

    /// The figure `key`.
    pub fn get(&self, key: &str) -> Result<f64, FiguresError> {
        match self.figures.get(key) {
            Some(value) if value.is_finite() => Ok(*value),
            Some(value) => Err(FiguresError::NotFinite { key: key.to_owned(), value: *value }),
            None => Err(FiguresError::Missing {
                key: key.to_owned(),
                have: self.figures.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    pub fn to_json(&self) -> String {
        // A map of strings to numbers always serialises; non-finite numbers become null and fail on reading.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, FiguresError> {
        Ok(serde_json::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_and_a_missing_one_is_named() {
        let mut figures = BenchFigures::default();
        figures.record("sim_events_per_sec", 1.5e6);
        figures.cases.insert("watch".to_owned(), "files=10&seed=1".to_owned());
        let back = BenchFigures::from_json(&figures.to_json()).expect("round trip");
        assert_eq!(back, figures);
        assert_eq!(back.get("sim_events_per_sec").ok(), Some(1.5e6));
        let err = back.get("sim_events_per_second").expect_err("renamed");
        assert!(err.to_string().contains("sim_events_per_second") && err.to_string().contains("sim_events_per_sec"));
    }

    #[test]
    fn damaged_figures_are_typed_errors() {
        assert!(matches!(BenchFigures::from_json("sim=1"), Err(FiguresError::Malformed(_))));
        assert!(matches!(BenchFigures::from_json(r#"{"figures": {"a": "fast"}}"#), Err(FiguresError::Malformed(_))));
        let nan = BenchFigures { figures: BTreeMap::from([("a".to_owned(), f64::NAN)]), cases: BTreeMap::new() };
        assert!(matches!(nan.get("a"), Err(FiguresError::NotFinite { .. })));
        assert!(BenchFigures::from_json(&nan.to_json()).is_err(), "NaN is written as null and refused");
    }
}
