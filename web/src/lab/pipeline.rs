//! The pipeline lab's drawing: stages as boxes holding their threads (working on an item, waiting to send,
//! waiting to receive, idle), channels as pipes with their buffer slots filled by the items queued in them, the
//! bottleneck stage marked, and the queue length of every channel over time. The dependency graph is drawn as
//! its tasks (waiting, ready, running, done) with the critical path marked. Across processes, the consumer
//! killed is drawn dead until its successor is ready, and a line says what the kill lost and what it did not.

use crate::lab::{MomentProps, TraceRef, fmt};
use crate::timeline::{Axis, Zoom, ZoomHandlers, use_zoom_handlers};
use shared::i18n::Lang;
use shared::lab::pipeline::{
    Flow, Pattern, PipelineEvent, PipelineParams, Role, Side, Topology, flow, graph, name_text,
};
use shared::lod::step_outline;
use shared::{EventKind, Nanos, Trace};
use std::collections::HashMap;
use yew::prelude::*;

const W: f64 = 720.0;
/// The most thread dots drawn in a stage box, and buffer slots in a pipe.
const MAX_DOTS: u32 = 16;
const MAX_SLOTS: u32 = 16;

/// What a thread is doing at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ThreadNow {
    Working,
    SendWait,
    RecvWait,
    Idle,
    /// Its process was killed and the one in its place is not ready yet.
    Killed,
}

/// Every thread's state at `t`, from the events up to then.
fn threads_at(trace: &Trace, t: Nanos) -> HashMap<(u32, u32), ThreadNow> {
    let mut out = HashMap::new();
    for e in &trace.events[..trace.count_until(t)] {
        let EventKind::Pipeline(ev) = e.kind else { continue };
        let (key, state) = match ev {
            PipelineEvent::Produced { stage, thread, .. } | PipelineEvent::Received { stage, thread, .. } => {
                ((stage, thread), ThreadNow::Working)
            }
            PipelineEvent::Finished { stage, thread, .. } | PipelineEvent::Unblocked { stage, thread } => {
                ((stage, thread), ThreadNow::Idle)
            }
            PipelineEvent::Blocked { stage, thread, side: Side::Send } => ((stage, thread), ThreadNow::SendWait),
            PipelineEvent::Blocked { stage, thread, side: Side::Recv } => ((stage, thread), ThreadNow::RecvWait),
            PipelineEvent::Killed { stage, thread, .. } => ((stage, thread), ThreadNow::Killed),
            PipelineEvent::Restarted { stage, thread } => ((stage, thread), ThreadNow::Idle),
            _ => continue,
        };
        out.insert(key, state);
    }
    out
}

/// A channel's queue length at `t`.
fn queued_at(f: &Flow, channel: usize, t: Nanos) -> u32 {
    let Some(q) = f.queue.get(channel) else { return 0 };
    let n = q.partition_point(|x| x.0 <= t);
    n.checked_sub(1).map_or(0, |i| q[i].1)
}

view_entry!(PipelineLabView, Pipeline, PipelineView);

#[function_component(PipelineView)]
pub fn pipeline_view(props: &MomentProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let f = use_memo(TraceRef(props.trace.clone()), |t| flow(&t.0));
    let zoom = use_context::<Zoom>();
    let axis = Axis::new(zoom.as_ref(), props.t, props.trace.end(), QUEUE_GEOMETRY);
    let on = use_zoom_handlers(zoom, axis.window, QUEUE_GEOMETRY);
    let p = match PipelineParams::parse(&props.trace.run.params) {
        Ok(p) => p,
        Err(err) => return super::unreadable(&err, lang),
    };
    let t = props.t;
    let delivered = f.delivered.iter().flatten().filter(|d| **d <= t).count();
    let is_graph = p.pattern == shared::lab::pipeline::Pattern::DependencyGraph;
    let (counts, drawing) = if is_graph {
        (
            lang.fill("ui.pipeline.tasks_done", &[("n", &delivered), ("of", &f.delivered.len())]),
            graph_view(&props.trace, &p, t, lang),
        )
    } else {
        let made = f.produced.iter().flatten().filter(|x| **x <= t).count();
        let lost = if f.kill.at.is_some_and(|(at, _)| at <= t) { f.kill.lost.len() } else { 0 };
        let flight = made.saturating_sub(delivered + lost);
        (
            lang.fill("ui.pipeline.counts", &[("n", &delivered), ("flight", &flight)]),
            stages_view(&props.trace, &p.topology(), &f, t, p.pattern, lang),
        )
    };
    let legend = if is_graph {
        html! {
            <ul class="legend">
                <li><span class="swatch task-waiting"></span>{lang.ui("ui.pipeline.task_waiting")}</li>
                <li><span class="swatch task-ready"></span>{lang.ui("ui.pipeline.task_ready")}</li>
                <li><span class="swatch working"></span>{lang.ui("ui.pipeline.task_running")}</li>
                <li><span class="swatch task-done"></span>{lang.ui("ui.pipeline.task_done")}</li>
                <li><span class="swatch critical"></span>{lang.ui("ui.pipeline.critical")}</li>
            </ul>
        }
    } else {
        html! {
            <ul class="legend">
                <li><span class="swatch working"></span>{lang.ui("ui.pipeline.working")}</li>
                <li><span class="swatch send-wait"></span>{lang.ui("ui.pipeline.send_wait")}</li>
                <li><span class="swatch recv-wait"></span>{lang.ui("ui.pipeline.recv_wait")}</li>
                <li><span class="swatch token"></span>{lang.ui("ui.pipeline.token")}</li>
                if p.pattern == Pattern::Processes {
                    <li><span class="swatch killed"></span>{lang.ui("ui.pipeline.killed")}</li>
                }
            </ul>
        }
    };
    html! {
        <figure class="pipeline-view">
            <p class="pipeline-counts">{counts}</p>
            if p.pattern == Pattern::ParallelFor {
                { for_summary(&props.trace, lang) }
            }
            if p.pattern == Pattern::Processes {
                { kill_summary(&p, &f, t, lang) }
            }
            { drawing }
            { queue_chart(&p.topology(), &f, t, (&axis, &on), lang) }
            <figcaption>{ legend }</figcaption>
        </figure>
    }
}

/// Parallel for: each way's time over the whole run and its speed-up over the loop (the run's own figures).
fn for_summary(trace: &Trace, lang: Lang) -> Html {
    let figures = shared::lab::metrics(trace);
    let figure = |key: &str| figures.iter().find(|m| m.key == key).and_then(|m| m.value);
    let span = |way: &str| {
        figure(&format!("{way}_makespan")).map_or_else(|| "—".to_owned(), |ns| Nanos(ns as u64).to_string())
    };
    let times = |way: &str| figure(&format!("{way}_speedup")).map_or_else(|| "—".to_owned(), |x| format!("{x:.2}×"));
    html! {
        <p class="for-summary">{lang.fill("ui.pipeline.for_summary", &[
            ("loop", &span("loop")),
            ("threads", &span("thread_per_item")),
            ("threads_x", &times("thread_per_item")),
            ("pool", &span("pool")),
            ("pool_x", &times("pool")),
        ])}</p>
    }
}

/// Across processes: when consumer 0 is killed, what it took with it and what the queue kept, and its successor.
fn kill_summary(p: &PipelineParams, f: &Flow, t: Nanos, lang: Lang) -> Html {
    let said = match (f.kill.at, p.kill_after()) {
        (_, None) => lang.ui("ui.pipeline.no_kill").to_owned(),
        (Some((at, queued)), Some(_)) if at <= t => {
            let items: Vec<String> = f.kill.lost.iter().map(|i| format!("#{i}")).collect();
            let killed = lang.fill(
                "ui.pipeline.killed_at",
                &[
                    ("at", &at),
                    ("lost", &f.kill.lost.len()),
                    ("items", &if items.is_empty() { "—".to_owned() } else { items.join(", ") }),
                    ("queued", &queued),
                ],
            );
            let successor = match f.kill.restarted {
                Some(ready) if ready <= t => {
                    lang.fill("ui.pipeline.restarted", &[("after", &ready.saturating_sub(at))])
                }
                Some(_) => lang.ui("ui.pipeline.restarting").to_owned(),
                None => lang.ui("ui.pipeline.not_restarted").to_owned(),
            };
            format!("{killed} {successor}")
        }
        (Some(_), Some(n)) => lang.fill("ui.pipeline.kill_due", &[("n", &n)]),
        (None, Some(n)) => lang.fill("ui.pipeline.kill_missed", &[("n", &n)]),
    };
    html! { <p class="kill-summary">{said}</p> }
}

/// Columns: producers first, each other stage one after the stages that feed it.
fn columns(topo: &Topology) -> Vec<usize> {
    let mut col = vec![0usize; topo.stages.len()];
    for (s, info) in topo.stages.iter().enumerate() {
        if info.role != Role::Produce {
            col[s] = 1 + info
                .inputs
                .iter()
                .flat_map(|&c| topo.stages.iter().enumerate().filter(move |(_, x)| x.output == Some(c)).map(|(i, _)| i))
                .map(|i| col[i])
                .max()
                .unwrap_or(0);
        }
    }
    col
}

/// The stages and their pipes; the bottleneck marked unless the stages run one after another (parallel for's
/// ways); a stage's threads are processes across processes.
fn stages_view(trace: &Trace, topo: &Topology, f: &Flow, t: Nanos, pattern: Pattern, lang: Lang) -> Html {
    let (mark_bottleneck, processes) = (pattern != Pattern::ParallelFor, pattern == Pattern::Processes);
    let now = threads_at(trace, t);
    let col = columns(topo);
    let n_cols = col.iter().max().map_or(1, |m| m + 1);
    let col_w = (W - 20.0) / n_cols as f64;
    let box_w = (col_w * 0.5).min(130.0);
    let rows_in = |c: usize| col.iter().filter(|&&x| x == c).count().max(1);
    let box_h = 84.0;
    let height = rows_in_max(&col) as f64 * (box_h + 20.0) + 10.0;
    // Each stage's box: (x, y).
    let mut place = vec![(0.0, 0.0); topo.stages.len()];
    let mut seen = vec![0usize; n_cols];
    for (s, &c) in col.iter().enumerate() {
        let slot = seen[c];
        seen[c] += 1;
        let rows = rows_in(c) as f64;
        let y = (height - rows * (box_h + 20.0)) / 2.0 + slot as f64 * (box_h + 20.0) + 10.0;
        place[s] = (10.0 + c as f64 * col_w, y);
    }
    // The bottleneck: the working stage with the largest busy share over the run.
    let share = |s: usize| {
        let (busy, ..) = f.stage_time.get(s).copied().unwrap_or_default();
        busy as f64 / (f.end.0.max(1) as f64 * f64::from(topo.stages[s].threads))
    };
    let bottleneck = (0..topo.stages.len())
        .filter(|&s| {
            mark_bottleneck && matches!(topo.stages[s].role, Role::Work | Role::Select) && topo.stages.len() > 2
        })
        .max_by(|&a, &b| share(a).total_cmp(&share(b)));
    let pipes = topo.channels.iter().enumerate().flat_map(|(c, info)| {
        let from: Vec<usize> = (0..topo.stages.len()).filter(|&s| topo.stages[s].output == Some(c)).collect();
        let to: Vec<usize> = (0..topo.stages.len()).filter(|&s| topo.stages[s].inputs.contains(&c)).collect();
        let queued = queued_at(f, c, t);
        from.into_iter()
            .flat_map(move |a| to.clone().into_iter().map(move |b| (c, info.capacity, info.name, a, b, queued)))
    });
    html! {
        <svg class="pipeline-stages" viewBox={format!("0 0 {W} {height:.1}")} role="img" aria-label={lang.ui("ui.pipeline.stages_label")}>
            { for pipes.map(|(c, capacity, name, a, b, queued)| {
                let (x0, y0) = (place[a].0 + box_w, place[a].1 + box_h / 2.0);
                let (x1, y1) = (place[b].0, place[b].1 + box_h / 2.0);
                let slots = capacity.unwrap_or(MAX_SLOTS).min(MAX_SLOTS);
                let name = name_text(name).say(lang);
                let label = match capacity {
                    Some(0) => lang.fill("ui.pipeline.rendezvous", &[("name", &name)]),
                    Some(k) => format!("{name}: {queued}/{k}"),
                    None => lang.fill("ui.pipeline.unbounded", &[("name", &name), ("n", &queued)]),
                };
                let mid_x = (x0 + x1) / 2.0;
                let slot_w = ((x1 - x0 - 16.0) / f64::from(slots.max(1))).clamp(3.0, 12.0);
                let slots_x = mid_x - slot_w * f64::from(slots) / 2.0;
                let slot_y = (y0 + y1) / 2.0 - 5.0;
                html! {
                    <g class="pipe" data-channel={c.to_string()}>
                        <line class="pipe-line" x1={fmt(x0)} y1={fmt(y0)} x2={fmt(x1)} y2={fmt(y1)} />
                        <text class="pipe-label" x={fmt(mid_x)} y={fmt(slot_y - 6.0)}>{label}</text>
                        { for (0..slots).map(|i| html! {
                            <rect class={classes!("slot", (i < queued).then_some("token"))} x={fmt(slots_x + f64::from(i) * slot_w)} y={fmt(slot_y)}
                                width={fmt(slot_w - 1.0)} height="10" />
                        }) }
                        if capacity.is_none_or(|k| k > MAX_SLOTS) && queued > slots {
                            <text class="pipe-more" x={fmt(slots_x + f64::from(slots) * slot_w + 3.0)} y={fmt(slot_y + 9.0)}>{format!("+{}", queued - slots)}</text>
                        }
                    </g>
                }
            }) }
            { for topo.stages.iter().enumerate().map(|(s, info)| {
                let (x, y) = place[s];
                let dots = info.threads.min(MAX_DOTS);
                let per_row = 8u32;
                html! {
                    <g class={classes!("stage", (bottleneck == Some(s)).then_some("bottleneck"))} data-stage={s.to_string()}>
                        <rect class="stage-box" x={fmt(x)} y={fmt(y)} width={fmt(box_w)} height={fmt(box_h)} rx="6" />
                        <text class="stage-name" x={fmt(x + 6.0)} y={fmt(y + 14.0)}>{name_text(info.name).say(lang)}</text>
                        <text class="stage-threads" x={fmt(x + 6.0)} y={fmt(y + 27.0)}>
                            {lang.fill(if processes { "ui.pipeline.processes" } else { "ui.pipeline.threads" }, &[("n", &info.threads)])}
                        </text>
                        if bottleneck == Some(s) {
                            <text class="stage-bottleneck" x={fmt(x + 6.0)} y={fmt(y + 40.0)}>{lang.ui("ui.pipeline.bottleneck")}</text>
                        }
                        { for (0..dots).map(|i| {
                            let state = now.get(&(s as u32, i)).copied().unwrap_or(ThreadNow::Idle);
                            let class = match state {
                                ThreadNow::Working => "thread working",
                                ThreadNow::SendWait => "thread send-wait",
                                ThreadNow::RecvWait => "thread recv-wait",
                                ThreadNow::Idle => "thread",
                                ThreadNow::Killed => "thread killed",
                            };
                            let (cx, cy) = (x + 10.0 + f64::from(i % per_row) * ((box_w - 16.0) / f64::from(per_row)), y + 54.0 + f64::from(i / per_row) * 16.0);
                            html! { <circle class={class} cx={fmt(cx)} cy={fmt(cy)} r="5.5" /> }
                        }) }
                    </g>
                }
            }) }
        </svg>
    }
}

fn rows_in_max(col: &[usize]) -> usize {
    let n = col.iter().max().map_or(1, |m| m + 1);
    (0..n).map(|c| col.iter().filter(|&&x| x == c).count()).max().unwrap_or(1).max(1)
}

/// The queue chart's layout: time runs from 40 to 10 short of the right edge.
const QUEUE_GEOMETRY: (f64, f64, f64) = (40.0, W - 50.0, W);

/// The queue length of every channel over the page's zoom window, with the playhead.
fn queue_chart(topo: &Topology, f: &Flow, t: Nanos, zoom: (&Axis, &ZoomHandlers), lang: Lang) -> Html {
    if topo.channels.is_empty() {
        return html! {};
    }
    let (axis, on) = zoom;
    let (w, h) = (W, 130.0);
    let top = f.queue.iter().flatten().map(|x| x.1).max().unwrap_or(1).max(1) as f64;
    let x = |at: Nanos| axis.x(at);
    let y = |v: u32| 16.0 + (h - 36.0) * (1.0 - f64::from(v) / top);
    html! {
        <svg class={classes!("pipeline-queues", crate::timeline::ZOOMABLE)} viewBox={format!("0 0 {w} {h}")} role="img" aria-label={lang.ui("ui.pipeline.queues_label")}
            data-from={axis.from.0.to_string()} data-to={axis.to.0.to_string()}
            onwheel={on.wheel.clone()} onpointerdown={on.down.clone()} onpointermove={on.moved.clone()} onpointerup={on.up.clone()} onpointercancel={on.up.clone()}>
            <text class="chart-title" x="40" y="11">{lang.ui("ui.pipeline.queues_title")}</text>
            <line class="axis" x1="40" x2={fmt(w - 10.0)} y1={fmt(y(0))} y2={fmt(y(0))} />
            <text class="ytick" x="34" y={fmt(y(top as u32) + 4.0)}>{format!("{}", top as u32)}</text>
            <text class="ytick" x="34" y={fmt(y(0) + 4.0)}>{"0"}</text>
            { for topo.channels.iter().enumerate().map(|(c, info)| {
                let points = f.queue.get(c).map(|q| {
                    let outline = step_outline(q, axis.from, axis.to, axis.columns());
                    outline.iter().map(|&(at, v)| format!("{},{}", fmt(x(at)), fmt(y(v)))).collect::<Vec<_>>().join(" ")
                }).unwrap_or_default();
                html! { <polyline class={format!("queue-line q{}", c % 4)} points={points}><title>{name_text(info.name).say(lang)}</title></polyline> }
            }) }
            { for topo.channels.iter().enumerate().map(|(c, info)| html! {
                <text class={format!("queue-name q{}", c % 4)} x={fmt(w - 10.0 - 90.0 * (topo.channels.len() - 1 - c) as f64)} y="11">{name_text(info.name).say(lang)}</text>
            }) }
            if axis.contains(t) {
                <line class="playhead" x1={fmt(x(t))} x2={fmt(x(t))} y1="14" y2={fmt(y(0))} />
            }
        </svg>
    }
}

/// The dependency graph: the build copy under the playhead, its tasks by depth, the critical path marked.
fn graph_view(trace: &Trace, p: &PipelineParams, t: Nanos, lang: Lang) -> Html {
    let tasks = graph::tasks(p, trace.run.seed);
    let (mut ready, mut started, mut done) = (HashMap::new(), HashMap::new(), HashMap::new());
    for e in &trace.events[..trace.count_until(t)] {
        match e.kind {
            EventKind::Pipeline(PipelineEvent::TaskReady { task }) => {
                ready.insert(task, e.t);
            }
            EventKind::Pipeline(PipelineEvent::Received { item, .. }) => {
                started.insert(item, e.t);
            }
            EventKind::Pipeline(PipelineEvent::Finished { item, .. }) => {
                done.insert(item, e.t);
            }
            _ => {}
        }
    }
    let n = graph::BUILD.len() as u32;
    let copy = started.keys().max().map_or(0, |m| m / n);
    let base = copy * n;
    // Depth of each task of the build; the critical path by the drawn durations.
    let mut depth = vec![0usize; graph::BUILD.len()];
    let mut finish = vec![Nanos::ZERO; graph::BUILD.len()];
    let mut via: Vec<Option<usize>> = vec![None; graph::BUILD.len()];
    for (i, (_, deps, _)) in graph::BUILD.iter().enumerate() {
        depth[i] = deps.iter().map(|&d| depth[d as usize] + 1).max().unwrap_or(0);
        let dur = tasks.get(base as usize + i).map_or(Nanos::ZERO, |x| x.1);
        let best = deps.iter().max_by_key(|&&d| finish[d as usize]).map(|&d| d as usize);
        finish[i] = best.map_or(Nanos::ZERO, |b| finish[b]) + dur;
        via[i] = best;
    }
    let mut critical = vec![false; graph::BUILD.len()];
    let mut at = (0..graph::BUILD.len()).max_by_key(|&i| finish[i]);
    while let Some(i) = at {
        critical[i] = true;
        at = via[i];
    }
    let max_depth = depth.iter().max().copied().unwrap_or(0);
    let col_w = (W - 20.0) / (max_depth + 1) as f64;
    let mut row = vec![0usize; max_depth + 1];
    let mut pos = vec![(0.0, 0.0); graph::BUILD.len()];
    for (i, &d) in depth.iter().enumerate() {
        pos[i] = (10.0 + d as f64 * col_w, 24.0 + row[d] as f64 * 34.0);
        row[d] += 1;
    }
    let height = 24.0 + row.iter().max().copied().unwrap_or(1) as f64 * 34.0 + 6.0;
    let node_w = (col_w - 18.0).min(100.0);
    html! {
        <svg class="pipeline-graph" viewBox={format!("0 0 {W} {height:.1}")} role="img" aria-label={lang.ui("ui.pipeline.graph_label")}>
            <text class="chart-title" x="10" y="12">{lang.fill("ui.pipeline.build", &[("n", &(copy + 1)), ("of", &(tasks.len() as u32 / n))])}</text>
            { for graph::BUILD.iter().enumerate().flat_map(|(i, (_, deps, _))| {
                let pos = &pos;
                let critical = &critical;
                deps.iter().map(move |&d| {
                    let (a, b) = (pos[d as usize], pos[i]);
                    let class = if critical[i] && critical[d as usize] { "edge critical" } else { "edge" };
                    html! { <line class={class} x1={fmt(a.0 + node_w)} y1={fmt(a.1 + 11.0)} x2={fmt(b.0)} y2={fmt(b.1 + 11.0)} /> }
                })
            }) }
            { for graph::BUILD.iter().enumerate().map(|(i, (name, _, _))| {
                let task = base + i as u32;
                let class = if done.contains_key(&task) { "task done" } else if started.contains_key(&task) { "task running" } else if ready.contains_key(&task) { "task ready" } else { "task waiting" };
                let (x, y) = pos[i];
                html! {
                    <g class={classes!(class, critical[i].then_some("critical"))}>
                        <rect x={fmt(x)} y={fmt(y)} width={fmt(node_w)} height="22" rx="4" />
                        <text x={fmt(x + 5.0)} y={fmt(y + 15.0)}>{name_text(name).say(lang)}</text>
                    </g>
                }
            }) }
        </svg>
    }
}
