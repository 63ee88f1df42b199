//! The lock lab's drawing: processes around the locked file, a visible wait queue, holders joined to the file,
//! shared and exclusive told apart by shape and label (not by colour alone), failed non-blocking attempts as
//! bounces, and the lock file that appears, disappears, and stays behind stale when its holder is killed.

use crate::lab::{MomentProps, TraceRef, fmt};
use crate::timeline::{Timeline, TimelineLane};
use shared::i18n::Lang;
use shared::lab::lock::{LockFileView, LockKind, LockSnapshot, ProcState, ProcView, SpanState, lanes, snapshot};
use shared::lod::LodLane;
use shared::{Nanos, Trace};
use std::f64::consts::PI;
use std::rc::Rc;
use yew::prelude::*;

const W: f64 = 720.0;
const H: f64 = 430.0;
const CX: f64 = 360.0;
const CY: f64 = 205.0;
/// How many of the waiting processes the queue line names.
const QUEUE_SHOWN: usize = 12;

view_entry!(LockLabView, Lock, LockView);

#[function_component(LockView)]
pub fn lock_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let snap = snapshot(&props.trace, props.t);
    let n = snap.procs.len().max(1) as f64;
    let size = (240.0 / n).clamp(6.0, 24.0);
    // With many processes, only holders keep their text badge; the rest would overlap.
    let crowded = n > 24.0;
    // Bounces stay visible for a short stretch of the run, so they can be seen while playing.
    let bounce_window = Nanos((props.trace.end().0 / 80).max(1));
    let pos = |i: usize| {
        let angle = -PI / 2.0 + 2.0 * PI * i as f64 / n;
        (CX + 290.0 * angle.cos(), CY + 165.0 * angle.sin())
    };
    // Holders are joined to what they hold: the lock file when there is one, else the file itself.
    let target = if snap.lock_file == LockFileView::NotUsed { (CX, CY) } else { (CX + 121.0, CY) };
    let label_of =
        |p: &ProcView| props.trace.actor(p.actor).map_or_else(|| format!("P{}", p.actor.0), |a| a.label.say(lang));

    html! {
        <figure class="lock-view">
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={caption(&snap, &props.trace, lang)}>
                // Holders are joined to the file.
                { for snap.procs.iter().enumerate().filter(|(_, p)| matches!(p.state, ProcState::Holding { .. })).map(|(i, p)| {
                    let (x, y) = pos(i);
                    html! { <line class={classes!("hold-line", kind_class(p.kind))} x1={fmt(x)} y1={fmt(y)} x2={fmt(target.0)} y2={fmt(target.1)} /> }
                }) }
                { file(&snap, &props.trace, lang) }
                { for snap.procs.iter().enumerate().map(|(i, p)| {
                    let queue_pos = snap.queue.iter().position(|a| *a == p.actor);
                    let bouncing = p.last_bounce.is_some_and(|b| props.t.0.saturating_sub(b.0) <= bounce_window.0);
                    let pid = props.trace.actor(p.actor).and_then(|a| a.pid);
                    process(pos(i), size, p, (&label_of(p), pid), if crowded { None } else { queue_pos }, bouncing, lang)
                }) }
                { rogue(&snap, &props.trace, props.t, bounce_window, lang) }
            </svg>
            <LockLanes trace={props.trace.clone()} t={props.t} />
            <figcaption>
                <p class="lock-caption">{caption(&snap, &props.trace, lang)}</p>
                <p class="queue">
                    <strong>{lang.ui("ui.lock.queue")}</strong>
                    if snap.queue.is_empty() { {lang.ui("ui.lock.queue_empty")} }
                    { for snap.queue.iter().take(QUEUE_SHOWN).enumerate().map(|(k, a)| {
                        let since = snap.procs.iter().find(|p| p.actor == *a).and_then(|p| match p.state {
                            ProcState::Waiting { since } => Some(snap.t - since),
                            _ => None,
                        });
                        html! { <span class="queue-item">{format!("{}{} P{} ({})", if k > 0 { "→ " } else { "" }, k + 1, a.0, since.unwrap_or_default())}</span> }
                    }) }
                    if snap.queue.len() > QUEUE_SHOWN {
                        <span class="queue-item">{lang.fill("ui.lock.queue_more", &[("n", &(snap.queue.len() - QUEUE_SHOWN))])}</span>
                    }
                </p>
                <ul class="legend" aria-label={lang.ui("ui.draw.legend")}>
                    <li><svg viewBox="0 0 14 14" aria-hidden="true"><rect x="2" y="2" width="10" height="10" class="legend-writer" /></svg>{lang.ui("ui.lock.legend_writer")}</li>
                    <li><svg viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="5" class="legend-reader" /></svg>{lang.ui("ui.lock.legend_reader")}</li>
                    <li><span class="legend-text holding">{lang.ui("ui.lock.holds")}</span>{lang.ui("ui.lock.legend_holds")}</li>
                    <li><span class="legend-text waiting">{"#2"}</span>{lang.ui("ui.lock.legend_waiting")}</li>
                    <li><span class="legend-text bounce">{"↩"}</span>{lang.ui("ui.lock.legend_bounce")}</li>
                    <li><span class="legend-text dead">{"✕"}</span>{lang.ui("ui.lock.legend_killed")}</li>
                </ul>
            </figcaption>
        </figure>
    }
}

fn kind_class(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Exclusive => "exclusive",
        LockKind::Shared => "shared",
    }
}

/// A process: where, how big, its view, its name and pid (`who`), its place in the queue, whether it bounced.
fn process(
    (x, y): (f64, f64),
    size: f64,
    p: &ProcView,
    (label, pid): (&str, Option<u32>),
    queue_pos: Option<usize>,
    bouncing: bool,
    lang: Lang,
) -> Html {
    // The state's class, and its name for the tooltip.
    let (state_class, state_name) = match p.state {
        ProcState::Idle => ("idle", "ui.lock.state_idle"),
        ProcState::Waiting { .. } => ("waiting", "ui.lock.state_waiting"),
        ProcState::Holding { .. } => ("holding", "ui.lock.state_holding"),
        ProcState::Dead => ("dead", "ui.lock.state_dead"),
        ProcState::Finished => ("finished", "ui.lock.state_finished"),
    };
    let class = classes!("proc", state_class, kind_class(p.kind), bouncing.then_some("bounce"));
    let shape = match p.kind {
        LockKind::Exclusive => {
            html! { <rect x={fmt(x - size)} y={fmt(y - size)} width={fmt(2.0 * size)} height={fmt(2.0 * size)} rx="3" class="shape" /> }
        }
        LockKind::Shared => html! { <circle cx={fmt(x)} cy={fmt(y)} r={fmt(size)} class="shape" /> },
    };
    let short = label.split_whitespace().next().unwrap_or(label).to_owned();
    let badge = match (p.state, queue_pos) {
        (ProcState::Holding { .. }, _) => Some(lang.ui("ui.lock.holds").to_owned()),
        (ProcState::Waiting { .. }, Some(k)) => Some(format!("#{}", k + 1)),
        (ProcState::Dead, _) => Some(lang.ui("ui.lock.badge_killed").to_owned()),
        (ProcState::Finished, _) => Some(lang.ui("ui.lock.badge_gave_up").to_owned()),
        _ => None,
    };
    let big = size >= 14.0;
    html! {
        <g class={class} data-actor={p.actor.0.to_string()} data-pid={pid.map(|p| p.to_string())}
            data-acquisitions={p.acquisitions.to_string()}>
            <title>{lang.fill("ui.lock.proc_title", &[
                ("who", &label),
                ("pid", &pid.map(|p| format!(" (pid {p})")).unwrap_or_default()),
                ("state", &lang.ui(state_name)),
                ("n", &p.acquisitions),
                ("failed", &p.failed_attempts),
            ])}</title>
            {shape}
            if big { <text x={fmt(x)} y={fmt(y + 4.0)} class="proc-label">{short}</text> }
            if let Some(badge) = badge {
                <text x={fmt(x)} y={fmt(y + size + 13.0)} class="badge">{badge}</text>
            }
            if bouncing {
                <text x={fmt(x + size + 2.0)} y={fmt(y - size + 2.0)} class="bounce-mark">{"↩"}</text>
            }
            if matches!(p.state, ProcState::Dead) {
                <text x={fmt(x)} y={fmt(y + 5.0)} class="dead-mark">{"✕"}</text>
            }
        </g>
    }
}

fn file(snap: &LockSnapshot, trace: &Trace, lang: Lang) -> Html {
    let holders: Vec<&ProcView> = snap.holders().collect();
    let lock_state = match holders.as_slice() {
        [] => lang.ui("ui.lock.free").to_owned(),
        [one] if one.kind == LockKind::Exclusive => lang.fill("ui.lock.exclusive_by", &[("n", &one.actor.0)]),
        many => lang.fill("ui.lock.shared_by", &[("n", &many.len())]),
    };
    let lock_file = match snap.lock_file {
        LockFileView::NotUsed => html! {},
        LockFileView::Absent => html! {
            <g class="lockfile absent">
                <rect x={fmt(CX + 75.0)} y={fmt(CY - 26.0)} width="92" height="52" rx="4" />
                <text x={fmt(CX + 121.0)} y={fmt(CY + 4.0)}>{lang.ui("ui.lock.no_lock_file")}</text>
            </g>
        },
        LockFileView::Held(owner) => html! {
            <g class="lockfile held">
                <rect x={fmt(CX + 75.0)} y={fmt(CY - 26.0)} width="92" height="52" rx="4" />
                <text x={fmt(CX + 121.0)} y={fmt(CY - 4.0)}>{"data.lock"}</text>
                <text x={fmt(CX + 121.0)} y={fmt(CY + 14.0)} class="small">{lang.fill("ui.lock.pid_of", &[("n", &owner.0)])}</text>
            </g>
        },
        LockFileView::Stale(owner) => html! {
            <g class="lockfile stale">
                <rect x={fmt(CX + 65.0)} y={fmt(CY - 34.0)} width="112" height="68" rx="4" fill="url(#stale-hatch)" />
                <text x={fmt(CX + 121.0)} y={fmt(CY - 12.0)}>{"data.lock"}</text>
                <text x={fmt(CX + 121.0)} y={fmt(CY + 6.0)}>{lang.ui("ui.lock.stale")}</text>
                <text x={fmt(CX + 121.0)} y={fmt(CY + 22.0)} class="small">{lang.fill("ui.lock.was_killed", &[("who", &format!("P{}", owner.0))])}</text>
            </g>
        },
    };
    let uses_file = snap.lock_file != LockFileView::NotUsed;
    let file_x = if uses_file { CX - 70.0 } else { CX };
    html! {
        <g class="file">
            <rect x={fmt(file_x - 62.0)} y={fmt(CY - 40.0)} width="124" height="80" rx="6" class="file-body" />
            <text x={fmt(file_x)} y={fmt(CY - 14.0)} class="file-name">{"data"}</text>
            <text x={fmt(file_x)} y={fmt(CY + 6.0)} class="small">{ if uses_file { lang.ui("ui.lock.counter_file").to_owned() } else { format!("flock: {lock_state}") } }</text>
            <text x={fmt(file_x)} y={fmt(CY + 26.0)} class="small counter">{lang.fill("ui.lock.counter", &[("n", &snap.counter)])}</text>
            {lock_file}
            <text x={fmt(CX)} y={fmt(H - 8.0)} class="small time-label">{lang.fill("ui.draw.t_of", &[("t", &snap.t), ("end", &trace.end())])}</text>
        </g>
    }
}

fn rogue(snap: &LockSnapshot, trace: &Trace, t: Nanos, window: Nanos, lang: Lang) -> Html {
    let rogue_demo = shared::lab::lock::LockParams::parse(&trace.run.params).is_ok_and(|p| p.rogue_actor().is_some());
    if !rogue_demo {
        return html! {};
    }
    let writing = snap.rogue_last_write.is_some_and(|w| t.0.saturating_sub(w.0) <= window.0);
    let (x, y) = (70.0, H - 45.0);
    html! {
        <g class={classes!("rogue", writing.then_some("writing"))}>
            <title>{lang.ui("ui.lock.rogue_title")}</title>
            <polygon points={format!("{},{} {},{} {},{} {},{}", x, y - 20.0, x + 20.0, y, x, y + 20.0, x - 20.0, y)} />
            <text x={fmt(x)} y={fmt(y + 36.0)} class="badge">{ if writing { lang.ui("ui.lock.rogue_writes") } else { lang.ui("term.lock.rogue") } }</text>
        </g>
    }
}

/// One sentence under the drawing and for its accessible name (the page's narrated log says each event).
fn caption(snap: &LockSnapshot, trace: &Trace, lang: Lang) -> String {
    let name = |p: &ProcView| format!("P{}", p.actor.0);
    let sep = lang.ui("ui.draw.list_sep");
    let holders: Vec<String> = snap
        .holders()
        .map(|p| {
            let kind = match p.kind {
                LockKind::Exclusive => lang.ui("term.lock.exclusive"),
                LockKind::Shared => lang.ui("term.lock.shared"),
            };
            format!("{} ({kind})", name(p))
        })
        .collect();
    let mut parts = Vec::new();
    parts.push(if holders.is_empty() {
        lang.ui("ui.lock.caption_nobody").to_owned()
    } else {
        lang.fill("ui.lock.caption_holds", &[("who", &holders.join(sep))])
    });
    if !snap.queue.is_empty() {
        parts.push(lang.fill("ui.lock.caption_waiting", &[("n", &snap.queue.len())]));
    }
    let dead: Vec<String> = snap.procs.iter().filter(|p| p.state == ProcState::Dead).map(name).collect();
    if !dead.is_empty() {
        parts.push(lang.fill("ui.lock.was_killed", &[("who", &dead.join(sep))]));
    }
    if let LockFileView::Stale(_) = snap.lock_file {
        parts.push(lang.ui("ui.lock.caption_stale").to_owned());
    }
    lang.fill(
        "ui.lock.caption",
        &[("parts", &parts.join(lang.ui("ui.draw.clause_sep"))), ("t", &snap.t), ("end", &trace.end())],
    )
}

/// How each lane state is drawn, by its number in [`timeline_lanes`]: waiting (light, hatched), holding
/// (solid; shared dashed).
const LANE_STYLES: &[(&str, Option<&str>)] =
    &[("span waiting", None), ("span holding exclusive", None), ("span holding shared", Some("url(#lane-shared)"))];

/// The lanes of every process, summarised once per trace for the timeline.
fn timeline_lanes(trace: &Trace) -> Vec<TimelineLane> {
    lanes(trace)
        .into_iter()
        .map(|lane| TimelineLane {
            actor: lane.actor.0,
            label: format!("P{}", lane.actor.0),
            lod: LodLane::new(lane.spans.iter().map(|span| {
                let state = match span.state {
                    SpanState::Waiting => 0,
                    SpanState::Holding(LockKind::Exclusive) => 1,
                    SpanState::Holding(LockKind::Shared) => 2,
                };
                (span.start, span.end, state)
            })),
            cross: lane.killed_at,
        })
        .collect()
}

/// One lane per process across the run, at any zoom: it shows what the circle cannot: who waited how long, and
/// who never got a turn.
#[function_component(LockLanes)]
pub fn lock_lanes(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let lanes = use_memo(TraceRef(props.trace.clone()), |t| Rc::new(timeline_lanes(&t.0)));
    html! {
        <Timeline lanes={(*lanes).clone()} styles={LANE_STYLES} end={props.trace.end()} t={props.t} class="lock-lanes"
            label={lang.ui("ui.lock.lanes_label").to_owned()} axis={lang.ui("ui.lock.lanes_axis").to_owned()} />
    }
}
