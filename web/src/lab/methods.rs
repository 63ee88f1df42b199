//! The methods lab's drawing: the four ways as lanes over the same time axis (start-up, waiting for a core,
//! computing, waiting for I/O), with the playhead and when each way finished; and, for a measured run, the cost
//! of each way of starting work or handing over a message, as bars on a logarithmic scale.

use crate::lab::{MomentProps, TraceRef, fmt};
use crate::timeline::{Axis, Zoom, ZoomHandlers, lane_marks, use_zoom_handlers};
use shared::i18n::Lang;
use shared::lab::methods::{Activity, Cost, MethodsEvent, Way, makespans, samples};
use shared::lod::LodLane;
use shared::stats::percentile;
use shared::{EventKind, Nanos, Trace};
use yew::prelude::*;

const W: f64 = 720.0;
const LEFT: f64 = 92.0;

view_entry!(MethodsLabView, Methods, MethodsView);

#[function_component(MethodsView)]
pub fn methods_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let trace = &props.trace;
    let ways = use_memo(TraceRef(trace.clone()), |t| way_lanes(&t.0));
    let zoom = use_context::<Zoom>();
    let axis = Axis::new(zoom.as_ref(), props.t, trace.end(), GEOMETRY);
    let on = use_zoom_handlers(zoom, axis.window, GEOMETRY);
    let has_costs = Cost::ALL.iter().any(|c| !samples(trace, *c).is_empty());
    html! {
        <figure class="methods-view">
            if !ways.is_empty() { { lanes(trace, &ways, props.t, (&axis, &on), lang) } }
            if has_costs { { costs(trace, props.t, lang) } }
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch startup"></span>{lang.ui("ui.methods.startup")}</li>
                    <li><span class="swatch runnable"></span>{lang.ui("ui.methods.runnable")}</li>
                    <li><span class="swatch compute"></span>{lang.ui("ui.methods.compute")}</li>
                    <li><span class="swatch wait"></span>{lang.ui("ui.methods.wait")}</li>
                </ul>
            </figcaption>
        </figure>
    }
}

/// How each activity is drawn, by its number in [`way_lanes`].
const STYLES: [&str; 4] = ["span startup", "span runnable", "span compute", "span wait"];

/// Each way's lanes, in lane order, summarised once per trace for drawing at any zoom.
fn way_lanes(trace: &Trace) -> Vec<(Way, Vec<LodLane>)> {
    // Each (way, lane)'s spans: start, end, activity.
    type Spans = Vec<(Nanos, Nanos, u8)>;
    let mut spans: std::collections::BTreeMap<(Way, u32), Spans> = Default::default();
    for e in &trace.events {
        if let EventKind::Methods(MethodsEvent::Span { way, lane, activity, start }) = e.kind {
            let state = match activity {
                Activity::Startup => 0,
                Activity::Runnable => 1,
                Activity::Compute => 2,
                Activity::Wait => 3,
            };
            spans.entry((way, lane)).or_default().push((start, e.t, state));
        }
    }
    Way::ALL
        .into_iter()
        .map(|way| {
            let lanes = spans.iter_mut().filter(|((w, _), _)| *w == way).map(|(_, spans)| {
                spans.sort_unstable_by_key(|s| s.0);
                LodLane::new(spans.iter().copied())
            });
            (way, lanes.collect())
        })
        .filter(|(_, lanes): &(Way, Vec<LodLane>)| !lanes.is_empty())
        .collect()
}

/// The lanes' layout: time runs from `LEFT` to 12 short of the right edge.
const GEOMETRY: (f64, f64, f64) = (LEFT, W - LEFT - 12.0, W);

fn lanes(trace: &Trace, ways: &[(Way, Vec<LodLane>)], t: Nanos, zoom: (&Axis, &ZoomHandlers), lang: Lang) -> Html {
    let (axis, on) = zoom;
    let x = |t: Nanos| axis.x(t);
    let until = t.min(axis.to);
    let done = makespans(trace);
    let row_h = 12.0;
    let gap = 16.0;
    let mut y = 4.0;
    let mut groups = Vec::new();
    for (way, lanes) in ways {
        let top = y;
        let finished = done.iter().find(|(w, _)| w == way).map(|(_, t)| *t);
        let spans = lanes.iter().enumerate().map(|(row, lane)| {
            let marks = if until > axis.from { lane.marks(axis.from, until, axis.columns()) } else { Vec::new() };
            let style = |state: u8| (STYLES.get(usize::from(state)).copied().unwrap_or("span"), None);
            lane_marks(&marks, x, (top + 14.0 + row as f64 * row_h, row_h - 2.0), style)
        });
        let name = way.name().say(lang);
        let label = match finished.filter(|f| *f <= t) {
            Some(f) => lang.fill("ui.methods.done_at", &[("way", &name), ("t", &f)]),
            None => name,
        };
        groups.push(html! {
            <g class="way" data-way={way.key()}>
                <text class="way-label" x="4" y={fmt(top + 10.0)}>{label}</text>
                { for spans }
                if let Some(f) = finished.filter(|f| *f <= t && axis.contains(*f)) {
                    <line class="done" x1={fmt(x(f))} x2={fmt(x(f))} y1={fmt(top + 12.0)} y2={fmt(top + 14.0 + lanes.len() as f64 * row_h)} />
                }
            </g>
        });
        y = top + 14.0 + lanes.len() as f64 * row_h + gap;
    }
    let height = y + 6.0;
    html! {
        <svg class={classes!("methods-lanes", crate::timeline::ZOOMABLE)} viewBox={format!("0 0 {W} {height:.1}")} role="img"
            aria-label={lang.ui("ui.methods.lanes_label")} data-from={axis.from.0.to_string()} data-to={axis.to.0.to_string()}
            onwheel={on.wheel.clone()} onpointerdown={on.down.clone()} onpointermove={on.moved.clone()} onpointerup={on.up.clone()} onpointercancel={on.up.clone()}>
            { for groups }
            if axis.contains(t) {
                <line class="playhead" x1={fmt(x(t))} x2={fmt(x(t))} y1="0" y2={fmt(height - 4.0)} />
            }
        </svg>
    }
}

fn costs(trace: &Trace, t: Nanos, lang: Lang) -> Html {
    let shown = Trace { events: trace.events[..trace.count_until(t)].to_vec(), ..trace.clone() };
    let rows: Vec<(Cost, Option<u64>, Option<u64>)> = Cost::ALL
        .iter()
        .map(|c| {
            let s = samples(&shown, *c);
            (*c, percentile(&s, 50.0), percentile(&s, 99.0))
        })
        .collect();
    // A logarithmic axis from 100 ns to 10 ms: the costs span four orders of magnitude.
    let (lo, hi) = (2.0_f64, 7.0_f64);
    let width = W - 250.0 - 90.0;
    let x = |ns: u64| 250.0 + width * (((ns.max(100)) as f64).log10() - lo) / (hi - lo);
    let row_h = 26.0;
    let height = row_h * rows.len() as f64 + 26.0;
    html! {
        <svg class="methods-costs" viewBox={format!("0 0 {W} {height:.1}")} role="img"
            aria-label={lang.ui("ui.methods.costs_label")}>
            { for rows.iter().enumerate().map(|(i, (cost, p50, p99))| {
                let y = 6.0 + i as f64 * row_h;
                html! {
                    <g class="cost" data-cost={cost.key()}>
                        <text class="cost-label" x="244" y={fmt(y + 14.0)}>{cost.name().say(lang)}</text>
                        if let Some(m) = p50 {
                            <rect class="bar" x="250" y={fmt(y + 3.0)} width={fmt(x(*m) - 250.0)} height="16" />
                            <text class="value" x={fmt(x((*m).max(p99.unwrap_or(0))) + 6.0)} y={fmt(y + 15.0)}>
                                {format!("{} (p99 {})", Nanos(*m), Nanos(p99.unwrap_or(*m)))}
                            </text>
                        }
                        if let (Some(m), Some(p)) = (p50, p99) {
                            <line class="whisker" x1={fmt(x(*m))} x2={fmt(x(*p))} y1={fmt(y + 11.0)} y2={fmt(y + 11.0)} />
                        }
                    </g>
                }
            }) }
            { for (2..=7).map(|e| {
                let label = match e { 2 => "100 ns", 3 => "1 µs", 4 => "10 µs", 5 => "100 µs", 6 => "1 ms", _ => "10 ms" };
                html! { <text class="axis" x={fmt(x(10u64.pow(e)))} y={fmt(height - 4.0)}>{label}</text> }
            }) }
        </svg>
    }
}
