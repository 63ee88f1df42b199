//! Timelines at any zoom, written once for every lab: a [`Timeline`] draws lanes of spans through their level
//! of detail (`shared::lod`), so a lane of a million spans draws at most a mark per pixel column, and the part of
//! the run it shows is the page's [`ZoomScope`]: Ctrl+wheel or a pinch zooms about the pointer, Shift+wheel, a
//! sideways wheel or a drag pans, Alt with + − 0 ← → does both from the keyboard (the player keeps the bare
//! keys), and a playhead that runs off the window takes it along. The scrubber marks the window and the
//! narration says it ([`visible_range`]).

use crate::dom;
use crate::lab::fmt;
use gloo::events::EventListener;
use shared::Nanos;
use shared::i18n::Lang;
use shared::lod::{LodLane, Mark, Window};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

const W: f64 = 720.0;
const LEFT: f64 = 44.0;
const WIDTH: f64 = W - 80.0;

/// The page's zoom: the window every timeline on it shows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ZoomState(pub Window);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZoomAction {
    /// Narrower by the factor (below 1: wider) about `at` across the window.
    Zoom {
        factor: f64,
        at: f64,
    },
    /// By a share of the window's width.
    Pan(f64),
    Whole,
    /// To exactly this window (a drag sets it from where it began).
    Set(Window),
}

impl Reducible for ZoomState {
    type Action = ZoomAction;

    fn reduce(self: Rc<Self>, action: ZoomAction) -> Rc<Self> {
        Rc::new(ZoomState(match action {
            ZoomAction::Zoom { factor, at } => self.0.zoom(factor, at),
            ZoomAction::Pan(by) => self.0.pan(by),
            ZoomAction::Whole => Window::WHOLE,
            ZoomAction::Set(window) => window,
        }))
    }
}

pub type Zoom = UseReducerHandle<ZoomState>;

/// The class of every drawing the zoom moves: the keys zoom only a page that has one, so that a page without a
/// timeline never says it shows part of the run.
pub const ZOOMABLE: &str = "zoomable";

/// The keyboard's zoom, as the shortcuts list shows it.
pub const ZOOM_SHORTCUTS: [(&str, &str); 4] = [
    ("Alt +", "ui.shortcut.zoom_in"),
    ("Alt −", "ui.shortcut.zoom_out"),
    ("Alt 0", "ui.shortcut.zoom_whole"),
    ("Alt ← →", "ui.shortcut.zoom_pan"),
];

#[derive(Debug, Properties, PartialEq)]
pub struct ZoomScopeProps {
    pub children: Html,
}

/// Gives the timelines inside one zoom, and its keys.
#[function_component(ZoomScope)]
pub fn zoom_scope(props: &ZoomScopeProps) -> Html {
    let zoom = use_reducer(ZoomState::default);
    {
        let dispatcher = zoom.dispatcher();
        use_effect_with((), move |_| {
            let listener = dom::window().and_then(|w| w.document()).map(|doc| {
                EventListener::new(&doc, "keydown", move |event| {
                    let Some(event) = event.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                    if !event.alt_key() || event.ctrl_key() || event.meta_key() || dom::typed_into_field(event) {
                        return;
                    }
                    let zoomable = format!(".{ZOOMABLE}");
                    let document = dom::window().and_then(|w| w.document());
                    if document.and_then(|d| d.query_selector(&zoomable).ok().flatten()).is_none() {
                        return;
                    }
                    // By the key's place as well as its character: Alt changes the character on some layouts.
                    let action = match (event.key().as_str(), event.code().as_str()) {
                        ("+" | "=", _) | (_, "Equal" | "NumpadAdd") => {
                            ZoomAction::Zoom { factor: Window::STEP, at: 0.5 }
                        }
                        ("-" | "_", _) | (_, "Minus" | "NumpadSubtract") => {
                            ZoomAction::Zoom { factor: 1.0 / Window::STEP, at: 0.5 }
                        }
                        ("0", _) | (_, "Digit0" | "Numpad0") => ZoomAction::Whole,
                        ("ArrowLeft", _) => ZoomAction::Pan(-0.25),
                        ("ArrowRight", _) => ZoomAction::Pan(0.25),
                        _ => return,
                    };
                    event.prevent_default();
                    dispatcher.dispatch(action);
                })
            });
            move || drop(listener)
        });
    }
    html! { <ContextProvider<Zoom> context={zoom}>{ props.children.clone() }</ContextProvider<Zoom>> }
}

/// The window a timeline shows at moment `t` of a run ending at `end`: the page's, following the playhead.
pub fn shown(zoom: Option<&Zoom>, t: Nanos, end: Nanos) -> Window {
    let window = zoom.map_or(Window::WHOLE, |z| z.0);
    window.following(t.0 as f64 / end.0.max(1) as f64)
}

/// What the narration adds while zoomed: the range shown, of the whole run.
pub fn visible_range(zoom: Option<&Zoom>, t: Nanos, end: Nanos, lang: Lang) -> Option<String> {
    let axis = Axis::new(zoom, t, end, (0.0, 1.0, 1.0));
    (!axis.window.is_whole())
        .then(|| lang.fill("ui.timeline.visible", &[("from", &axis.from), ("to", &axis.to), ("end", &end)]))
}

/// One lane of a timeline: its spans' summary, a label, and a moment to mark with a cross (a process killed).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineLane {
    pub actor: u32,
    pub label: String,
    pub lod: LodLane,
    pub cross: Option<Nanos>,
}

#[derive(Debug, Properties)]
pub struct TimelineProps {
    /// Built once per trace.
    pub lanes: Rc<Vec<TimelineLane>>,
    /// Each state's class (`span waiting`) and fill (a hatch's `url(#…)`), by the state's number.
    pub styles: &'static [(&'static str, Option<&'static str>)],
    pub end: Nanos,
    pub t: Nanos,
    /// The drawing's class, its accessible name and its axis caption.
    pub class: &'static str,
    pub label: AttrValue,
    pub axis: AttrValue,
}

impl PartialEq for TimelineProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.lanes, &other.lanes)
            && (self.end, self.t, self.class) == (other.end, other.t, other.class)
            && (&self.label, &self.axis) == (&other.label, &other.axis)
    }
}

/// A zoomable drawing's time axis: the moments it shows and where they fall across it, in the drawing's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    pub window: Window,
    pub from: Nanos,
    pub to: Nanos,
    left: f64,
    width: f64,
}

impl Axis {
    /// The axis of a drawing `total` wide whose time runs from `left` over `width`, at moment `t` of a run
    /// ending at `end`.
    pub fn new(zoom: Option<&Zoom>, t: Nanos, end: Nanos, (left, width, _): (f64, f64, f64)) -> Axis {
        let window = shown(zoom, t, end);
        let span = end.0.max(1) as f64;
        let (from, to) = (Nanos((window.from * span) as u64), Nanos((window.to * span).ceil() as u64));
        Axis { window, from, to, left, width }
    }

    pub fn x(&self, t: Nanos) -> f64 {
        self.left + self.width * (t.0 as f64 - self.from.0 as f64) / (self.to.0 - self.from.0).max(1) as f64
    }

    pub fn contains(&self, t: Nanos) -> bool {
        (self.from..=self.to).contains(&t)
    }

    /// The pixel columns the axis spans: one a unit of the drawing.
    pub fn columns(&self) -> usize {
        self.width.max(1.0) as usize
    }
}

/// The handlers that zoom and pan a drawing: put them on its `<svg>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoomHandlers {
    pub wheel: Option<Callback<WheelEvent>>,
    pub down: Option<Callback<PointerEvent>>,
    pub moved: Option<Callback<PointerEvent>>,
    pub up: Option<Callback<PointerEvent>>,
}

/// Where a pointer event is across a drawing `total` wide whose time runs from `left` over `width`: 0 at the
/// axis' left edge, 1 at its right.
fn across(event: &MouseEvent, (left, width, total): (f64, f64, f64)) -> Option<f64> {
    let svg = event.current_target()?.dyn_into::<web_sys::Element>().ok()?;
    let rect = svg.get_bounding_client_rect();
    (rect.width() > 0.0).then(|| ((f64::from(event.client_x()) - rect.left()) / rect.width() * total - left) / width)
}

/// The zoom handlers of a drawing laid out as `geometry` (left, width, total), showing `window` now; none
/// outside a [`ZoomScope`].
#[hook]
pub fn use_zoom_handlers(zoom: Option<Zoom>, window: Window, geometry: (f64, f64, f64)) -> ZoomHandlers {
    // A drag pans from the window and the place it began.
    let drag = use_mut_ref(|| None::<(f64, Window)>);
    let Some(zoom) = zoom else { return ZoomHandlers::default() };
    let wheel = {
        let zoom = zoom.clone();
        Callback::from(move |e: WheelEvent| {
            let (dx, dy) = (e.delta_x(), e.delta_y());
            if e.ctrl_key() {
                e.prevent_default();
                let at = across(&e, geometry).unwrap_or(0.5);
                zoom.dispatch(ZoomAction::Zoom { factor: (-dy * 0.002).exp(), at });
            } else if e.shift_key() || dx.abs() > dy.abs() {
                e.prevent_default();
                let by = if dx.abs() > dy.abs() { dx } else { dy };
                zoom.dispatch(ZoomAction::Pan(by / 1_000.0));
            }
        })
    };
    let down = {
        let drag = drag.clone();
        Callback::from(move |e: PointerEvent| {
            if let Some(at) = across(&e, geometry) {
                *drag.borrow_mut() = Some((at, window));
                if let Some(el) = e.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                    let _ = el.set_pointer_capture(e.pointer_id());
                }
            }
        })
    };
    let moved = {
        let drag = drag.clone();
        Callback::from(move |e: PointerEvent| {
            let Some((began, from)) = *drag.borrow() else { return };
            if let Some(at) = across(&e, geometry).filter(|_| e.buttons() & 1 == 1) {
                zoom.dispatch(ZoomAction::Set(from.pan(began - at)));
            }
        })
    };
    let up = Callback::from(move |_: PointerEvent| *drag.borrow_mut() = None);
    ZoomHandlers { wheel: Some(wheel), down: Some(down), moved: Some(moved), up: Some(up) }
}

/// The chart's layout: the time axis runs from `LEFT` over `WIDTH` of `W`.
const GEOMETRY: (f64, f64, f64) = (LEFT, WIDTH, W);

/// The lanes over the page's window, with the playhead.
#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let zoom = use_context::<Zoom>();
    let axis = Axis::new(zoom.as_ref(), props.t, props.end, GEOMETRY);
    let on = use_zoom_handlers(zoom, axis.window, GEOMETRY);
    let (from, to) = (axis.from, axis.to);
    let x = |t: Nanos| axis.x(t);
    let lanes = &props.lanes;
    let lane_h = (240.0 / lanes.len().max(1) as f64).clamp(3.0, 14.0);
    let height = lane_h * lanes.len() as f64 + 18.0;
    let lane_svg = |(row, lane): (usize, &TimelineLane)| {
        let y = row as f64 * lane_h;
        let marks = lane.lod.marks(from, to, axis.columns());
        html! {
            <g class="lane" data-actor={lane.actor.to_string()} data-marks={marks.len().to_string()}>
                if lane_h >= 8.0 {
                    <text x={fmt(LEFT - 6.0)} y={fmt(y + lane_h * 0.75)} class="lane-label">{lane.label.clone()}</text>
                }
                { lane_marks(&marks, x, (y + 1.0, (lane_h - 2.0).max(1.0)), |state| {
                    props.styles.get(usize::from(state)).copied().unwrap_or(("span", None))
                }) }
                if let Some(k) = lane.cross.filter(|k| axis.contains(*k)) {
                    <text x={fmt(x(k))} y={fmt(y + lane_h * 0.85)} class="lane-killed">{"✕"}</text>
                }
            </g>
        }
    };
    html! {
        <svg class={classes!(props.class, "lanes-timeline", ZOOMABLE, (!axis.window.is_whole()).then_some("zoomed"))}
            viewBox={format!("0 0 {W} {height:.1}")} role="img" aria-label={props.label.clone()}
            data-from={from.0.to_string()} data-to={to.0.to_string()}
            onwheel={on.wheel} onpointerdown={on.down} onpointermove={on.moved} onpointerup={on.up.clone()} onpointercancel={on.up}>
            { for lanes.iter().enumerate().map(lane_svg) }
            if axis.contains(props.t) {
                <line class="playhead" x1={fmt(x(props.t))} x2={fmt(x(props.t))} y1="0" y2={fmt(height - 14.0)} />
            }
            <text x={fmt(LEFT)} y={fmt(height - 2.0)} class="axis" text-anchor="start">{from.to_string()}</text>
            <text x={fmt(LEFT + WIDTH)} y={fmt(height - 2.0)} class="axis" text-anchor="end">{to.to_string()}</text>
            <text x={fmt(LEFT + WIDTH / 2.0)} y={fmt(height - 2.0)} class="axis">{props.axis.clone()}</text>
        </svg>
    }
}

/// A lane's marks drawn in the lane at `y`, `h` high, as one path per state (a few DOM nodes however many marks,
/// so a redraw stays within a frame): an exact span fills the lane; a summary of many stacks each state's share
/// from the bottom, so a lane that holds a lock a quarter of the time shows a quarter of red at any zoom.
/// `style` gives each state's class and fill.
pub fn lane_marks(
    marks: &[Mark],
    x: impl Fn(Nanos) -> f64,
    (y, h): (f64, f64),
    style: impl Fn(u8) -> (&'static str, Option<&'static str>),
) -> Html {
    let mut paths: [String; shared::lod::MAX_STATES] = Default::default();
    for mark in marks {
        let (x0, x1) = (x(mark.start), x(mark.end));
        let width = (x1 - x0).max(0.6);
        let mut bottom = y + h;
        for (state, share) in mark.stack() {
            let part = (h * share.min(1.0)).max(0.5);
            bottom -= part;
            let d = &mut paths[usize::from(state)];
            for (command, v) in [('M', x0), (' ', bottom), ('h', width), ('v', part), ('h', -width)] {
                d.push(command);
                push_tenths(d, v);
            }
            d.push('z');
        }
    }
    let drawn = paths.into_iter().enumerate().filter(|(_, d)| !d.is_empty()).map(|(state, d)| {
        let (class, fill) = style(state as u8);
        html! { <path class={class} fill={fill} d={d} /> }
    });
    drawn.collect::<Html>()
}

/// `v` to a tenth, written as integers are (formatting a float is the slow part of a path of thousands).
fn push_tenths(out: &mut String, v: f64) {
    use std::fmt::Write;
    let tenths = (v * 10.0).round() as i64;
    let sign = if tenths < 0 { "-" } else { "" };
    let _ = write!(out, "{sign}{}.{}", tenths.abs() / 10, tenths.abs() % 10);
}

/// Moments to tick (sorted) within `axis` up to `until`, at most one a pixel column.
pub fn ticks<'a>(moments: &'a [Nanos], axis: &'a Axis, until: Nanos) -> impl Iterator<Item = f64> + 'a {
    let first = moments.partition_point(|m| *m < axis.from);
    let last = until.min(axis.to);
    let mut column = None;
    moments[first..].iter().take_while(move |m| **m <= last).filter_map(move |m| {
        let x = axis.x(*m);
        let here = Some(x.floor() as i64);
        (here != column).then(|| {
            column = here;
            x
        })
    })
}

/// The window on the player's scrubber: where in the run the timelines are, when they are zoomed.
pub fn scrubber_band(zoom: Option<&Zoom>, t: Nanos, end: Nanos) -> Html {
    let window = shown(zoom, t, end);
    if window.is_whole() {
        return html! {};
    }
    let style = format!("left: {:.3}%; width: {:.3}%", window.from * 100.0, (window.width() * 100.0).max(0.4));
    html! { <div class="zoom-band" aria-hidden="true" {style}></div> }
}
