//! How far a model is from the machine: the signed error of a simulated figure against the measured one, as the
//! page's metrics table, the command line's table and the metrics CSV show it beside both columns. An error is
//! `(simulated − measured) ÷ measured`: "+6 %" means the model says 6 % more than the machine did. Errors beyond
//! [`MARKED_BEYOND`] are marked, so a reader knows which figures the model does not stand for.

use crate::trace::{Metric, Trace, Unit};

/// An error beyond ±15 % is marked.
pub const MARKED_BEYOND: f64 = 0.15;

/// Figures whose magnitude is below this are zero for the comparison (a count of none, a share of nothing).
const ZERO: f64 = 1e-12;

/// The model's signed error on one figure, as a fraction of the measured figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelError(pub f64);

impl ModelError {
    /// Whether it is beyond what the model can be trusted for.
    pub fn marked(self) -> bool {
        self.0.abs() > MARKED_BEYOND
    }

    /// "+6 %", "−21 %", "0 %": a whole percentage with its sign (a typographic minus).
    pub fn display(self) -> String {
        let percent = libm::round(self.0 * 100.0);
        match percent {
            p if p > 0.0 => format!("+{p:.0} %"),
            p if p < 0.0 => format!("−{:.0} %", -p),
            _ => "0 %".to_owned(),
        }
    }
}

/// Whether two runs covered the same span, so that their totals (the counts) compare as well as their rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spans {
    #[default]
    Same,
    /// One of them stopped at its event budget: a count of the shorter run says nothing about the model.
    Differ,
}

impl Spans {
    pub fn of(simulated: &Trace, measured: &Trace) -> Spans {
        if simulated.stopped_at_budget() || measured.stopped_at_budget() { Spans::Differ } else { Spans::Same }
    }
}

/// The model's error on a figure both runs have, where it means something: not for a yes-or-no, not where
/// either run has no value, not against a measured zero (unless the model also says zero: no error), and not on
/// a count when the runs' spans differ.
pub fn error(simulated: &Metric, measured: &Metric, spans: Spans) -> Option<ModelError> {
    if simulated.key != measured.key
        || measured.unit == Unit::Verdict
        || (measured.unit == Unit::Count && spans == Spans::Differ)
    {
        return None;
    }
    let (sim, real) = (simulated.value?, measured.value?);
    if !sim.is_finite() || !real.is_finite() {
        return None;
    }
    match (sim.abs() < ZERO, real.abs() < ZERO) {
        (true, true) => Some(ModelError(0.0)),
        (false, true) => None,
        _ => Some(ModelError((sim - real) / real.abs())),
    }
}

/// The error on the figure `key`, looked up in both runs' figures.
pub fn error_of(simulated: &[Metric], measured: &[Metric], key: &str, spans: Spans) -> Option<ModelError> {
    let find = |ms: &[Metric]| ms.iter().find(|m| m.key == key).cloned();
    error(&find(simulated)?, &find(measured)?, spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Text;

    fn figure(unit: Unit, value: Option<f64>) -> Metric {
        Metric::new("x", Text::Literal("x".into()), unit, value)
    }

    #[test]
    fn the_error_is_signed_and_relative_to_the_machine() {
        let e =
            |sim, real| error(&figure(Unit::PerSecond, Some(sim)), &figure(Unit::PerSecond, Some(real)), Spans::Same);
        assert_eq!(e(106.0, 100.0).map(ModelError::display).as_deref(), Some("+6 %"));
        assert_eq!(e(79.0, 100.0).map(ModelError::display).as_deref(), Some("−21 %"));
        assert_eq!(e(100.2, 100.0).map(ModelError::display).as_deref(), Some("0 %"));
        assert!(!e(114.0, 100.0).is_some_and(ModelError::marked));
        assert!(e(116.0, 100.0).is_some_and(ModelError::marked));
        assert!(e(84.0, 100.0).is_some_and(ModelError::marked));
        // Against a negative figure the sign still says "the model says more".
        assert!(e(-90.0, -100.0).is_some_and(|x| x.0 > 0.0));
    }

    #[test]
    fn no_error_where_it_would_mean_nothing() {
        let pair = |unit, sim, real| error(&figure(unit, sim), &figure(unit, real), Spans::Same);
        assert_eq!(pair(Unit::Verdict, Some(1.0), Some(0.0)), None);
        assert_eq!(pair(Unit::Count, None, Some(3.0)), None);
        assert_eq!(pair(Unit::Count, Some(3.0), None), None);
        assert_eq!(pair(Unit::Count, Some(3.0), Some(0.0)), None);
        assert_eq!(pair(Unit::Count, Some(0.0), Some(0.0)), Some(ModelError(0.0)));
        assert_eq!(pair(Unit::Ratio, Some(f64::NAN), Some(1.0)), None);
        let other = Metric { key: "y".into(), ..figure(Unit::Count, Some(1.0)) };
        assert_eq!(error(&figure(Unit::Count, Some(1.0)), &other, Spans::Same), None);
    }

    #[test]
    fn counts_of_runs_of_different_spans_are_not_compared_but_their_rates_are() {
        let pair = |unit, spans| error(&figure(unit, Some(50.0)), &figure(unit, Some(100.0)), spans);
        assert_eq!(pair(Unit::Count, Spans::Differ), None);
        assert_eq!(pair(Unit::Count, Spans::Same), Some(ModelError(-0.5)));
        assert_eq!(pair(Unit::PerSecond, Spans::Differ), Some(ModelError(-0.5)));
    }

    #[test]
    fn a_run_stopped_at_its_budget_has_another_span() {
        let whole =
            crate::lab::simulate(crate::LabId::Lock, &crate::ParamSet::new(), 1).expect("the defaults simulate");
        let mut stopped = whole.clone();
        stopped.notes.push(Text::new("note.sim_budget").with("at", 1).with("events", 10));
        assert_eq!(Spans::of(&whole, &whole), Spans::Same);
        assert_eq!(Spans::of(&stopped, &whole), Spans::Differ);
        assert_eq!(Spans::of(&whole, &stopped), Spans::Differ);
    }
}
