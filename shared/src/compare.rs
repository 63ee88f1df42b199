//! Two runs side by side (pure): the parameters that differ, and each figure of either with its delta (B − A)
//! and ratio (B ÷ A). The page's comparison and its tests read these; the figures come from
//! [`crate::lab::metrics`] (or a kept entry's), so a compared figure is the one each run's own table shows.

use crate::params::{ParamSet, ParamValue};
use crate::trace::Metric;

/// A parameter the two runs do not share: its value in each (absent where a run has no such parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDiff {
    pub key: String,
    pub a: Option<ParamValue>,
    pub b: Option<ParamValue>,
}

/// The parameters whose values differ, by key.
pub fn param_diff(a: &ParamSet, b: &ParamSet) -> Vec<ParamDiff> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| a.get(*key) != b.get(*key))
        .map(|key| ParamDiff { key: key.clone(), a: a.get(key).cloned(), b: b.get(key).cloned() })
        .collect()
}

/// One figure of either run: both values, B − A and B ÷ A where both are there (the ratio where A is not 0).
#[derive(Debug, Clone, PartialEq)]
pub struct FigureDelta {
    /// A's metric where it has the figure, else B's: its label and unit say both values.
    pub metric: Metric,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub delta: Option<f64>,
    pub ratio: Option<f64>,
}

impl FigureDelta {
    /// A value of this figure in its unit ("12.3 k/s"), "—" for none.
    pub fn display(&self, value: Option<f64>) -> String {
        Metric { value, spread: None, ..self.metric.clone() }.display_value()
    }

    /// The delta in the figure's unit with its sign ("+1.2 µs", "−340/s").
    pub fn display_delta(&self) -> String {
        match self.delta {
            Some(d) => {
                let sign = if d < 0.0 { "−" } else { "+" };
                format!("{sign}{}", self.display(Some(d.abs())))
            }
            None => "—".to_owned(),
        }
    }
}

/// Every figure of A in its order, then those only B has; a figure without a value in either has none here.
pub fn figures(a: &[Metric], b: &[Metric]) -> Vec<FigureDelta> {
    let only_b = b.iter().filter(|m| !a.iter().any(|x| x.key == m.key));
    a.iter()
        .chain(only_b)
        .map(|metric| {
            let value =
                |ms: &[Metric]| ms.iter().find(|m| m.key == metric.key).and_then(|m| m.value).filter(|v| v.is_finite());
            let (va, vb) = (value(a), value(b));
            let delta = va.zip(vb).map(|(x, y)| y - x);
            let ratio = va.zip(vb).and_then(|(x, y)| (x.abs() > 1e-12).then(|| y / x));
            FigureDelta { metric: Metric { value: None, spread: None, ..metric.clone() }, a: va, b: vb, delta, ratio }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LabId;

    #[test]
    fn only_the_parameters_that_differ_are_listed() {
        let a = ParamSet::from([
            ("procs".to_owned(), ParamValue::Int(2)),
            ("mode".to_owned(), ParamValue::Text("blocking".into())),
        ]);
        let mut b = a.clone();
        b.insert("procs".into(), ParamValue::Int(8));
        b.insert("extra".into(), ParamValue::Int(1));
        let diff = param_diff(&a, &b);
        assert_eq!(diff.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["extra", "procs"]);
        assert_eq!((diff[1].a.clone(), diff[1].b.clone()), (Some(ParamValue::Int(2)), Some(ParamValue::Int(8))));
        assert!(param_diff(&a, &a).is_empty());
    }

    #[test]
    fn deltas_and_ratios_are_b_against_a_in_the_figures_unit() {
        let run = |procs: i64| {
            let params = ParamSet::from([("procs".to_owned(), ParamValue::Int(procs))]);
            crate::lab::metrics(&crate::lab::simulate(LabId::Lock, &params, 1).expect("simulates"))
        };
        let (a, b) = (run(2), run(8));
        let compared = figures(&a, &b);
        assert_eq!(compared.len(), a.len());
        let throughput = compared.iter().find(|f| f.metric.key == "throughput").expect("a figure of both");
        let (x, y) = (throughput.a.expect("a"), throughput.b.expect("b"));
        assert_eq!(throughput.delta, Some(y - x));
        assert!((throughput.ratio.expect("ratio") - y / x).abs() < 1e-12);
        assert!(throughput.display_delta().starts_with('+') && throughput.display_delta().ends_with("/s"));
        let zero = FigureDelta { a: Some(0.0), b: Some(3.0), delta: Some(3.0), ratio: None, ..throughput.clone() };
        assert_eq!(zero.ratio, None, "no ratio against nothing");
        let fewer = figures(&a[..2], &b);
        assert_eq!(fewer.len(), b.len(), "B's extra figures come after A's");
    }
}
