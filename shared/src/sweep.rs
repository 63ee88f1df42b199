//! A sweep: one parameter of a lab stepped over a list of values, every other parameter as given, each point
//! simulated and (with the companion) measured, and a figure drawn against the parameter. Pure: the values'
//! syntax, the validation (typed errors naming the field), the measured time estimated from the model, and a
//! point's figures as the command line's JSON and the page's chart both read them.
//!
//! Values are a list (`1,2,4,8`; for a choice `*` is every choice) or a range `FROM..TO:N`, N values evenly
//! spaced, or `FROM..TO:N:log`, N values in geometric steps (`1..32:6:log` is 1, 2, 4, 8, 16, 32). Whole-number
//! parameters round each value; values that round to the same number count once.

use crate::catalogue::LabId;
use crate::i18n::Text;
use crate::params::{ParamError, ParamKind, ParamSet, ParamSpec, ParamValue};
use crate::time::Nanos;
use crate::trace::{Metric, Trace};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most points one sweep may have.
pub const MAX_POINTS: usize = 32;

/// The longest a sweep may measure in all (the companion's limit for one run): estimated from the model's own
/// run time of each point, so a sweep that cannot finish is refused before it starts.
pub const LIMIT: Nanos = Nanos(600_000_000_000);

/// A lab's sweep when the reader has not chosen one: the parameter its "Try" text steps, the values and the
/// figure drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultSweep {
    pub param: &'static str,
    pub values: &'static str,
    pub metric: &'static str,
}

/// Why a sweep was refused. Every variant names the field (the swept parameter, or the figure).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// The parameter is unknown, or a value is out of its range or of the wrong type.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A range that does not read as `FROM..TO:N[:log]`.
    #[error("{}", self.text())]
    BadRange { key: String, text: String },
    /// Fewer than two distinct values: nothing to compare.
    #[error("{}", self.text())]
    TooFew { key: String, found: usize },
    #[error("{}", self.text())]
    TooMany { key: String, found: usize, max: usize },
    /// Only the model reads this parameter: measuring every point would measure the same run again.
    #[error("{}", self.text())]
    ModelOnly { key: String },
    /// The points would take longer to measure than a sweep may (the model's estimate).
    #[error("{}", self.text())]
    TooLong { key: String, estimated_s: u64, limit_s: u64 },
    /// The lab has no figure of this name.
    #[error("{}", self.text())]
    UnknownMetric { metric: String, known: String },
}

impl SweepError {
    /// The message in words any language can say (its `Display` is the English).
    pub fn text(&self) -> Text {
        match self {
            SweepError::Param(err) => err.text(),
            SweepError::BadRange { key, text } => {
                Text::new("error.sweep.bad_range").with("key", key).with("text", text)
            }
            SweepError::TooFew { key, found } => Text::new("error.sweep.too_few").with("key", key).with("found", found),
            SweepError::TooMany { key, found, max } => {
                Text::new("error.sweep.too_many").with("key", key).with("found", found).with("max", max)
            }
            SweepError::ModelOnly { key } => Text::new("error.sweep.model_only").with("key", key),
            SweepError::TooLong { key, estimated_s, limit_s } => {
                Text::new("error.sweep.too_long").with("key", key).with("estimated", estimated_s).with("limit", limit_s)
            }
            SweepError::UnknownMetric { metric, known } => {
                Text::new("error.sweep.unknown_metric").with("metric", metric).with("known", known)
            }
        }
    }

    /// The field the error is about: the swept parameter (a form shows it beside the sweep's values) or the
    /// figure.
    pub fn key(&self) -> Option<&str> {
        match self {
            SweepError::Param(err) => err.key(),
            SweepError::BadRange { key, .. }
            | SweepError::TooFew { key, .. }
            | SweepError::TooMany { key, .. }
            | SweepError::ModelOnly { key }
            | SweepError::TooLong { key, .. } => Some(key),
            SweepError::UnknownMetric { metric, .. } => Some(metric),
        }
    }
}

/// A validated sweep: the lab, the swept parameter, its values (each valid for it) and the other parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub lab: LabId,
    pub param: &'static ParamSpec,
    pub values: Vec<ParamValue>,
    /// The other parameters as given (the swept one removed); each point adds its value.
    pub base: ParamSet,
}

impl Sweep {
    /// Reads `values` for `lab`'s parameter `key`, the other parameters `base` (validated too).
    pub fn new(lab: LabId, key: &str, values: &str, base: &ParamSet) -> Result<Sweep, SweepError> {
        let specs = lab.info().params;
        let param = specs.iter().find(|s| s.key == key).ok_or_else(|| ParamError::UnknownParam {
            lab: lab.as_str().to_owned(),
            key: key.to_owned(),
            known: specs.iter().map(|s| s.key).collect::<Vec<_>>().join(", "),
        })?;
        let values = parse_values(param, values)?;
        let mut base = base.clone();
        base.remove(key);
        let sweep = Sweep { lab, param, values, base };
        for point in sweep.points() {
            lab.validate(&point)?;
        }
        Ok(sweep)
    }

    /// The lab's own sweep over `base`.
    pub fn default_for(lab: LabId, base: &ParamSet) -> Result<Sweep, SweepError> {
        let default = lab.info().sweep;
        Sweep::new(lab, default.param, default.values, base)
    }

    /// Each point's parameters as given: the base with the point's value.
    pub fn points(&self) -> Vec<ParamSet> {
        let key = self.param.key.to_owned();
        self.values
            .iter()
            .map(|value| {
                let mut point = self.base.clone();
                point.insert(key.clone(), value.clone());
                point
            })
            .collect()
    }

    /// Refuses to measure a sweep of a parameter only the model reads.
    pub fn check_measurable(&self) -> Result<(), SweepError> {
        match self.param.simulation_only {
            true => Err(SweepError::ModelOnly { key: self.param.key.to_owned() }),
            false => Ok(()),
        }
    }

    /// The measured time the points' simulations predict (each run's span times its repeats), refused over
    /// [`LIMIT`].
    pub fn estimate<'a>(&self, simulated: impl IntoIterator<Item = &'a Trace>) -> Result<Nanos, SweepError> {
        let total = simulated.into_iter().zip(self.points()).fold(0u64, |total, (trace, point)| {
            let repeats = self.lab.validate(&point).map_or(1, |p| self.lab.lab().repeats(&p));
            total.saturating_add(trace.end().0.saturating_mul(u64::from(repeats)))
        });
        if total > LIMIT.0 {
            return Err(SweepError::TooLong {
                key: self.param.key.to_owned(),
                estimated_s: total.div_ceil(1_000_000_000),
                limit_s: LIMIT.0 / 1_000_000_000,
            });
        }
        Ok(Nanos(total))
    }
}

/// Reads a sweep's values for `spec`: a list or a range (see the module's documentation), each checked
/// against the parameter, between 2 and [`MAX_POINTS`] distinct ones.
pub fn parse_values(spec: &ParamSpec, text: &str) -> Result<Vec<ParamValue>, SweepError> {
    let text = text.trim();
    let mut values: Vec<ParamValue> = Vec::new();
    let raw: Vec<ParamValue> = match (spec.kind, text) {
        (ParamKind::Choice { choices, .. }, "*") => {
            choices.iter().map(|c| ParamValue::Text(c.value.to_owned())).collect()
        }
        (_, text) if text.contains("..") => range(spec, text)?,
        (_, text) => text.split(',').map(|word| spec.parse_text(word)).collect::<Result<_, _>>()?,
    };
    for value in raw {
        let value = spec.check(&value)?;
        if !values.contains(&value) {
            values.push(value);
        }
    }
    let key = spec.key.to_owned();
    match values.len() {
        found if found < 2 => Err(SweepError::TooFew { key, found }),
        found if found > MAX_POINTS => Err(SweepError::TooMany { key, found, max: MAX_POINTS }),
        _ => Ok(values),
    }
}

/// `FROM..TO:N[:log]` for a numeric parameter.
fn range(spec: &ParamSpec, text: &str) -> Result<Vec<ParamValue>, SweepError> {
    let bad = || SweepError::BadRange { key: spec.key.to_owned(), text: text.to_owned() };
    let (bounds, steps) = text.split_once(':').ok_or_else(bad)?;
    let (steps, log) = match steps.split_once(':') {
        Some((steps, "log")) => (steps, true),
        Some(_) => return Err(bad()),
        None => (steps, false),
    };
    let (from, to) = bounds.split_once("..").ok_or_else(bad)?;
    let number = |word: &str| match spec.parse_text(word)? {
        ParamValue::Int(v) => Ok(v as f64),
        ParamValue::Float(v) => Ok(v),
        ParamValue::Text(_) => Err(bad()),
    };
    let (from, to) = (number(from)?, number(to)?);
    let steps: usize = steps.trim().parse().map_err(|_| bad())?;
    if steps > MAX_POINTS {
        return Err(SweepError::TooMany { key: spec.key.to_owned(), found: steps, max: MAX_POINTS });
    }
    if steps < 2 || (log && (from <= 0.0 || to <= 0.0)) {
        return Err(bad());
    }
    let whole = matches!(spec.kind, ParamKind::Int { .. });
    Ok((0..steps)
        .map(|i| {
            let at = i as f64 / (steps - 1) as f64;
            let value = if log { from * libm::pow(to / from, at) } else { from + (to - from) * at };
            match whole {
                true => ParamValue::Int(libm::round(value) as i64),
                false => ParamValue::Float(libm::round(value * 1e9) / 1e9),
            }
        })
        .collect())
}

/// Checks that `metric` is one of `lab`'s figures (in `figures`, a run of the lab's).
pub fn check_metric(metric: &str, figures: &[Metric]) -> Result<(), SweepError> {
    match figures.iter().any(|m| m.key == metric) {
        true => Ok(()),
        false => Err(SweepError::UnknownMetric {
            metric: metric.to_owned(),
            known: figures.iter().map(|m| m.key.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// One point's figures by metric id: the command line's JSON (`{"points": [{"value": …, "simulated": {…},
/// "measured": {…}}, …]}`) and what the page's chart draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointFigures {
    pub value: ParamValue,
    pub simulated: BTreeMap<String, f64>,
    /// Absent for a sweep that was only simulated (or a point not measured yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<BTreeMap<String, f64>>,
    /// The measured figures' spread over the run's repeats (half the range), where there is one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spread: BTreeMap<String, f64>,
    /// The model's signed error, (simulated − measured) ÷ measured, where both have the figure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error: BTreeMap<String, f64>,
    /// The share of the CPUs other programs took during the measured run, when they disturbed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disturbed: Option<f64>,
}

impl PointFigures {
    /// The figures of a point's simulated run and, where there is one, its measured run.
    pub fn of(value: &ParamValue, simulated: &Trace, measured: Option<&Trace>) -> PointFigures {
        let values = |metrics: &[Metric]| -> BTreeMap<String, f64> {
            metrics.iter().filter_map(|m| Some((m.key.clone(), m.value.filter(|v| v.is_finite())?))).collect()
        };
        let sim = crate::lab::metrics(simulated);
        let real = measured.map(crate::lab::metrics);
        let spans = measured.map_or(crate::fidelity::Spans::Same, |m| crate::fidelity::Spans::of(simulated, m));
        let (spread, error) = match &real {
            Some(real) => (
                real.iter().filter_map(|m| Some((m.key.clone(), m.spread?))).collect(),
                real.iter()
                    .filter_map(|m| Some((m.key.clone(), crate::fidelity::error_of(&sim, real, &m.key, spans)?.0)))
                    .collect(),
            ),
            None => Default::default(),
        };
        PointFigures {
            value: value.clone(),
            simulated: values(&sim),
            measured: real.as_deref().map(values),
            spread,
            error,
            disturbed: measured.and_then(crate::alone::disturbance),
        }
    }
}

/// A whole sweep's figures, as `syslab sweep --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub lab: LabId,
    pub param: String,
    /// The figure the table and chart show (every figure is in the points).
    pub metric: String,
    pub points: Vec<PointFigures>,
}

impl SweepReport {
    /// The report as CSV: a row per point and figure, with both values, the spread and the error.
    pub fn csv(&self) -> String {
        let mut out = String::from("lab,param,value,metric,simulated,measured,spread,model_error\n");
        let cell = |v: Option<&f64>| v.map_or_else(String::new, f64::to_string);
        for point in &self.points {
            for (key, simulated) in &point.simulated {
                let measured = point.measured.as_ref().and_then(|m| m.get(key));
                out += &format!(
                    "{},{},{},{key},{simulated},{},{},{}\n",
                    self.lab,
                    self.param,
                    crate::export::csv_field(&point.value.to_string()),
                    cell(measured),
                    cell(point.spread.get(key)),
                    cell(point.error.get(key)),
                );
            }
        }
        out
    }
}
