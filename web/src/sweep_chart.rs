//! A sweep's chart: the chosen figure against the swept parameter, the model's curve through the simulated
//! points, the measured points with their spread as bars, and the model's error over each measured point
//! (marked beyond ±15 %). A point is a button: it opens as an ordinary run. The geometry is pure ([`Layout`]).

use crate::lab::fmt;
use shared::ParamValue;
use shared::i18n::Lang;
use shared::sweep::PointFigures;
use shared::trace::Metric;
use std::rc::Rc;
use yew::prelude::*;

const W: f64 = 720.0;
const H: f64 = 280.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 34.0;

/// Where each point sits across (0 to 1) and the figure's top, from the points' values and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub across: Vec<f64>,
    /// Geometric steps across: the values span a factor of 8 or more and are not evenly spaced.
    pub log: bool,
    pub top: f64,
}

impl Layout {
    pub fn of(points: &[PointFigures], metric: &str) -> Layout {
        let numbers: Option<Vec<f64>> = points
            .iter()
            .map(|p| match p.value {
                ParamValue::Int(v) => Some(v as f64),
                ParamValue::Float(v) => Some(v),
                ParamValue::Text(_) => None,
            })
            .collect();
        let evenly = |n: usize| (0..n).map(|i| if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 }).collect();
        let (across, log) = match numbers {
            Some(v) if v.len() > 1 => {
                let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
                // Geometric steps where the values span a factor of 8 and are not evenly spaced.
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let step = (hi - lo) / (sorted.len() - 1) as f64;
                let even = sorted.windows(2).all(|w| ((w[1] - w[0]) - step).abs() <= 0.01 * step.abs());
                let log = lo > 0.0 && hi >= 8.0 * lo && !even;
                let at = |x: f64| match (log, hi > lo) {
                    (true, _) => (x / lo).ln() / (hi / lo).ln(),
                    (false, true) => (x - lo) / (hi - lo),
                    (false, false) => 0.5,
                };
                (v.iter().map(|x| at(*x)).collect(), log)
            }
            // Choices stand evenly, in the order given.
            _ => (evenly(points.len()), false),
        };
        let highest = points
            .iter()
            .flat_map(|p| {
                let measured =
                    p.measured.as_ref().and_then(|m| m.get(metric)).map(|m| m + p.spread.get(metric).unwrap_or(&0.0));
                [p.simulated.get(metric).copied(), measured]
            })
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        Layout { across, log, top: if highest > 0.0 { highest * 1.15 } else { 1.0 } }
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + (W - LEFT - RIGHT) * self.across.get(i).copied().unwrap_or(0.0)
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (H - TOP - BOTTOM) * (1.0 - (v / self.top).clamp(0.0, 1.0))
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct SweepChartProps {
    pub param: AttrValue,
    pub points: Rc<Vec<PointFigures>>,
    /// The figure drawn, as a metric of the lab's (its label and unit format the axis).
    pub metric: Metric,
    pub on_open: Callback<usize>,
}

#[function_component(SweepChart)]
pub fn sweep_chart(props: &SweepChartProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let key = props.metric.key.as_str();
    let layout = Layout::of(&props.points, key);
    let shown = |v: f64| Metric { value: Some(v), spread: None, ..props.metric.clone() }.display_value();
    let curve: Vec<String> = props
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(format!("{},{}", fmt(layout.x(i)), fmt(layout.y(*p.simulated.get(key)?)))))
        .collect();
    let every = props.points.len().div_ceil(12).max(1);
    let label = lang.fill(
        "ui.sweep.chart_label",
        &[("metric", &props.metric.label.say(lang)), ("param", &props.param), ("n", &props.points.len())],
    );
    html! {
        <svg class="sweep-chart" viewBox={format!("0 0 {W} {H}")} role="group" aria-label={label} data-log={layout.log.to_string()}>
            <line class="axis" x1={fmt(LEFT)} y1={fmt(layout.y(0.0))} x2={fmt(W - RIGHT)} y2={fmt(layout.y(0.0))} />
            <line class="axis" x1={fmt(LEFT)} y1={fmt(TOP)} x2={fmt(LEFT)} y2={fmt(layout.y(0.0))} />
            { for [0.0, 0.5, 1.0].iter().map(|f| html! {
                <text class="ytick" x={fmt(LEFT - 6.0)} y={fmt(layout.y(layout.top * f) + 4.0)}>{shown(layout.top * f)}</text>
            }) }
            { for props.points.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, p)| html! {
                <text class="tick" x={fmt(layout.x(i))} y={fmt(H - BOTTOM + 16.0)}>{p.value.to_string()}</text>
            }) }
            <text class="axis-label" x={fmt(LEFT + (W - LEFT - RIGHT) / 2.0)} y={fmt(H - 2.0)}>
                { format!("{}{}", props.param, if layout.log { lang.ui("ui.sweep.log_axis") } else { "" }) }
            </text>
            <polyline class="model" points={curve.join(" ")} />
            { for props.points.iter().enumerate().map(|(i, p)| point(i, p, key, &layout, &shown, &props.on_open, lang)) }
        </svg>
    }
}

/// One point: the simulated dot, the measured one with its spread and error, and the button that opens it.
fn point(
    i: usize,
    p: &PointFigures,
    key: &str,
    layout: &Layout,
    shown: &dyn Fn(f64) -> String,
    on_open: &Callback<usize>,
    lang: Lang,
) -> Html {
    let x = layout.x(i);
    let simulated = p.simulated.get(key).copied();
    let measured = p.measured.as_ref().and_then(|m| m.get(key)).copied();
    let spread = p.spread.get(key).copied().unwrap_or(0.0);
    let error = p.error.get(key).map(|e| shared::fidelity::ModelError(*e));
    let open = on_open.reform(move |_: MouseEvent| i);
    let onkeydown = on_open.reform(move |_: KeyboardEvent| i);
    let mut title = lang.fill(
        "ui.sweep.point_title",
        &[
            ("value", &p.value.to_string()),
            ("simulated", &simulated.map_or_else(|| "—".to_owned(), shown)),
            ("measured", &measured.map_or_else(|| "—".to_owned(), shown)),
        ],
    );
    if let Some(others) = p.disturbed {
        title += &format!(" {}", lang.fill("ui.mark.disturbed", &[("share", &format!("{:.0}", 100.0 * others))]));
    }
    html! {
        <g class="point" role="button" tabindex="0" onclick={open} {onkeydown} data-value={p.value.to_string()}
            data-simulated={simulated.map(|v| v.to_string())} data-measured={measured.map(|v| v.to_string())}
            data-error={error.map(|e| e.display())}>
            <title>{title}</title>
            <rect class="hit" x={fmt(x - 14.0)} y={fmt(TOP)} width="28" height={fmt(H - TOP - BOTTOM)} />
            if let Some(s) = simulated {
                <circle class="sim-point" cx={fmt(x)} cy={fmt(layout.y(s))} r="3.5" />
            }
            if let Some(m) = measured {
                <line class="spread" x1={fmt(x)} x2={fmt(x)} y1={fmt(layout.y(m - spread))} y2={fmt(layout.y(m + spread))} />
                <rect class={classes!("measured-point", p.disturbed.is_some().then_some("disturbed"))} x={fmt(x - 5.0)} y={fmt(layout.y(m) - 5.0)} width="10" height="10" />
                if let Some(e) = error {
                    <text class={classes!("error", e.marked().then_some("marked"))} x={fmt(x)}
                        y={fmt(layout.y(m + spread).min(layout.y(simulated.unwrap_or(m))) - 8.0)}>{e.display()}</text>
                }
            }
        </g>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn at(value: ParamValue, sim: f64, measured: Option<f64>) -> PointFigures {
        PointFigures {
            value,
            simulated: BTreeMap::from([("x".to_owned(), sim)]),
            measured: measured.map(|m| BTreeMap::from([("x".to_owned(), m)])),
            spread: BTreeMap::from([("x".to_owned(), 5.0)]),
            error: BTreeMap::new(),
            disturbed: None,
        }
    }

    #[test]
    fn geometric_values_stand_evenly_on_a_log_axis_and_the_top_holds_every_figure() {
        let points: Vec<_> = [1, 2, 4, 8, 16, 32].iter().map(|v| at(ParamValue::Int(*v), 10.0, Some(100.0))).collect();
        let layout = Layout::of(&points, "x");
        assert!(layout.log);
        for (i, a) in layout.across.iter().enumerate() {
            assert!((a - i as f64 / 5.0).abs() < 1e-12, "{:?}", layout.across);
        }
        assert!(layout.top >= 105.0, "the measured point and its spread fit: {}", layout.top);
        let linear: Vec<_> = [1, 2, 3].iter().map(|v| at(ParamValue::Int(*v), 1.0, None)).collect();
        let layout = Layout::of(&linear, "x");
        assert_eq!((layout.log, layout.across.clone()), (false, vec![0.0, 0.5, 1.0]));
        let even: Vec<_> = (1..=9).map(|v| at(ParamValue::Int(v), 1.0, None)).collect();
        assert!(!Layout::of(&even, "x").log, "evenly spaced values stay on a linear axis");
        let choices: Vec<_> = ["a", "b"].iter().map(|v| at(ParamValue::Text((*v).into()), 0.0, None)).collect();
        let layout = Layout::of(&choices, "x");
        assert_eq!((layout.across.clone(), layout.top), (vec![0.0, 1.0], 1.0), "nothing above zero: a unit axis");
    }
}
