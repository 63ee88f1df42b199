//! The I/O lab's drawing: the 2×2 grid that places each server on the synchronous/asynchronous and blocking/
//! non-blocking axes and links to its lanes; then, for each server, a lane per thread coloured by its state
//! (running, blocked, polling) up to the playhead, with the moments messages became ready and were served.

use crate::lab::{MomentProps, TraceRef, fmt};
use crate::timeline::{Axis, Zoom, ZoomHandlers, lane_marks, ticks, use_zoom_handlers};
use shared::i18n::Lang;
use shared::lab::io::{IoEvent, Server, ServerSummary, ThreadState, summaries};
use shared::lod::LodLane;
use shared::{EventKind, Nanos, Trace};
use yew::prelude::*;

const W: f64 = 720.0;
const LEFT: f64 = 150.0;
const LANE_H: f64 = 12.0;
/// The most thread lanes drawn for one server; the rest are counted.
const MAX_LANES: usize = 8;

/// One server's lanes: per thread, its states summarised for drawing at any zoom, and the ready and served
/// moments, in time order.
#[derive(Debug, Default, PartialEq)]
struct Lanes {
    threads: Vec<LodLane>,
    ready: Vec<Nanos>,
    served: Vec<Nanos>,
}

/// How each thread state is drawn, by its number in [`lanes`].
const STYLES: [&str; 3] = ["span running", "span blocked", "span polling"];

fn lanes(trace: &Trace) -> Vec<Lanes> {
    let mut spans: Vec<Vec<Vec<(Nanos, Nanos, u8)>>> = Server::ALL.iter().map(|_| Vec::new()).collect();
    let mut out: Vec<Lanes> = Server::ALL.iter().map(|_| Lanes::default()).collect();
    let end = trace.end();
    for e in &trace.events {
        let EventKind::Io(ev) = e.kind else { continue };
        match ev {
            IoEvent::State { server, thread, state } => {
                let lanes = &mut spans[server as usize];
                if lanes.len() <= thread as usize {
                    lanes.resize(thread as usize + 1, Vec::new());
                }
                let lane = &mut lanes[thread as usize];
                if let Some(last) = lane.last_mut() {
                    last.1 = e.t;
                }
                // A finished thread draws nothing: its span is kept only to be closed (its state past the styles).
                let drawn = match state {
                    ThreadState::Running => 0,
                    ThreadState::Blocked => 1,
                    ThreadState::Polling => 2,
                    ThreadState::Done => u8::MAX,
                };
                lane.push((e.t, end, drawn));
            }
            IoEvent::Ready { server, .. } => out[server as usize].ready.push(e.t),
            IoEvent::Served { server, .. } => out[server as usize].served.push(e.t),
            IoEvent::Cost { .. } | IoEvent::Unavailable { .. } => {}
        }
    }
    for (lanes, spans) in out.iter_mut().zip(spans) {
        lanes.threads = spans.into_iter().map(LodLane::new).collect();
    }
    out
}

view_entry!(IoLabView, Io, IoView);

#[function_component(IoView)]
pub fn io_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let all = use_memo(TraceRef(props.trace.clone()), |t| (lanes(&t.0), summaries(&t.0)));
    let (lanes, sums) = (&all.0, &all.1);
    let zoom = use_context::<Zoom>();
    let axis = Axis::new(zoom.as_ref(), props.t, props.trace.end(), GEOMETRY);
    let on = use_zoom_handlers(zoom, axis.window, GEOMETRY);
    html! {
        <figure class="io-view">
            { quadrants(sums, lang) }
            { for Server::ALL.into_iter().map(|server| server_lanes(server, &lanes[server as usize], &sums[server as usize], props.t, (&axis, &on), lang)) }
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch running"></span>{lang.ui("ui.io.running")}</li>
                    <li><span class="swatch blocked"></span>{lang.ui("ui.io.blocked")}</li>
                    <li><span class="swatch polling"></span>{lang.ui("ui.io.polling")}</li>
                    <li><span class="tick-ready">{"▾"}</span>{lang.ui("ui.io.ready")}</li>
                    <li><span class="tick-served">{"▴"}</span>{lang.ui("ui.io.served")}</li>
                </ul>
            </figcaption>
        </figure>
    }
}

/// The four ways on their two axes; each server links to its lanes.
fn quadrants(sums: &[ServerSummary], lang: Lang) -> Html {
    let cell = |sync: bool, blocking: bool| {
        let servers: Vec<Server> = Server::ALL.into_iter().filter(|s| s.quadrant() == (sync, blocking)).collect();
        html! {
            <td>
                { for servers.into_iter().map(|s| html! {
                    <a class={classes!("quadrant-link", sums[s as usize].unavailable.then_some("unavailable"))} href={format!("#lane-{}", s.key())}>
                        {s.name().say(lang)}
                    </a>
                }) }
            </td>
        }
    };
    html! {
        <table class="io-quadrants">
            <caption>{lang.ui("ui.io.models")}</caption>
            <thead><tr><th></th><th scope="col">{lang.ui("ui.io.blocking")}</th><th scope="col">{lang.ui("ui.io.non_blocking")}</th></tr></thead>
            <tbody>
                <tr><th scope="row">{lang.ui("ui.io.synchronous")}</th>{ cell(true, true) }{ cell(true, false) }</tr>
                <tr><th scope="row">{lang.ui("ui.io.asynchronous")}</th>{ cell(false, true) }{ cell(false, false) }</tr>
            </tbody>
        </table>
    }
}

/// The lanes' layout: time runs from `LEFT` to 10 short of the right edge.
const GEOMETRY: (f64, f64, f64) = (LEFT, W - LEFT - 10.0, W);

/// A server's thread lanes over the page's zoom window, drawn up to the playhead.
fn server_lanes(
    server: Server,
    lanes: &Lanes,
    sum: &ServerSummary,
    t: Nanos,
    zoom: (&Axis, &ZoomHandlers),
    lang: Lang,
) -> Html {
    let (axis, on) = zoom;
    let x = |at: Nanos| axis.x(at);
    let until = t.min(axis.to);
    let shown = lanes.threads.len().min(MAX_LANES);
    let height = 30.0 + shown as f64 * (LANE_H + 2.0) + if lanes.threads.len() > shown { 14.0 } else { 4.0 };
    // The latencies of the messages served so far.
    let mut lat: Vec<u64> = sum
        .ready
        .iter()
        .zip(&sum.served)
        .filter_map(|(r, s)| Some(s.filter(|s| *s <= t)?.saturating_sub((*r)?).0))
        .collect();
    lat.sort_unstable();
    let p99 = shared::stats::percentile(&lat, 99.0).map_or_else(|| "—".to_owned(), |v| Nanos(v).to_string());
    let served = lanes.served.iter().filter(|s| **s <= t).count();
    let name = server.name().say(lang);
    let title = if sum.unavailable {
        lang.fill("ui.io.unavailable", &[("server", &name)])
    } else {
        lang.fill("ui.io.lane_title", &[("server", &name), ("n", &served), ("p99", &p99)])
    };
    html! {
        <svg id={format!("lane-{}", server.key())} class={classes!("io-lanes", server.key(), crate::timeline::ZOOMABLE)} viewBox={format!("0 0 {W} {height:.1}")}
            role="img" aria-label={title.clone()} data-from={axis.from.0.to_string()} data-to={axis.to.0.to_string()}
            onwheel={on.wheel.clone()} onpointerdown={on.down.clone()} onpointermove={on.moved.clone()} onpointerup={on.up.clone()} onpointercancel={on.up.clone()}>
            <text class="lanes-title" x="4" y="12">{title}</text>
            { for ticks(&lanes.ready, axis, t).map(|x| html! {
                <line class="ready" x1={fmt(x)} x2={fmt(x)} y1="16" y2="24" />
            }) }
            { for lanes.threads.iter().take(shown).enumerate().map(|(i, lane)| {
                let y = 26.0 + i as f64 * (LANE_H + 2.0);
                let marks = if until > axis.from { lane.marks(axis.from, until, axis.columns()) } else { Vec::new() };
                html! {
                    <g class="lane" data-marks={marks.len().to_string()}>
                        <text class="lane-label" x={fmt(LEFT - 6.0)} y={fmt(y + 9.0)}>{lang.fill("ui.io.thread", &[("n", &(i + 1))])}</text>
                        { lane_marks(&marks, x, (y, LANE_H), |state| (STYLES.get(usize::from(state)).copied().unwrap_or("span"), None)) }
                    </g>
                }
            }) }
            { for ticks(&lanes.served, axis, t).map(|x| html! {
                <line class="served" x1={fmt(x)} x2={fmt(x)} y1={fmt(height - 6.0)} y2={fmt(height - 1.0)} />
            }) }
            if lanes.threads.len() > shown {
                <text class="lane-label more" x={fmt(LEFT - 6.0)} y={fmt(height - 4.0)}>{lang.fill("ui.io.more", &[("n", &(lanes.threads.len() - shown))])}</text>
            }
        </svg>
    }
}
