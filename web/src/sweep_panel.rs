//! The lab page's sweep: choose a parameter, its values and the figure to draw; "Sweep" simulates every point
//! in the page, "Sweep on this machine" also measures them with the companion, one run after another (the
//! next asked for when the last has ended), with a progress bar and cancel. The chart ([`SweepChart`]) sets the
//! model's curve against the measured points; a point opens as an ordinary run. The state is the page's
//! [`SweepState`] reducer, so the page keeps quiet while a sweep measures, as it does for any measured run.

use crate::companion::CompanionCtx;
use crate::history::HistoryCtx;
use crate::lab::TraceRef;
use crate::sweep_chart::SweepChart;
use crate::sweep_state::{Phase, PointEnd, SweepAction, SweepRun, SweepState};
use shared::i18n::{Lang, Text};
use shared::live::LiveStatus;
use shared::protocol::ClientMsg;
use shared::{LabId, ParamSet};
use std::rc::Rc;
use yew::prelude::*;

/// A point the reader opened: the swept parameter, the point's simulated run (its parameters are the point's)
/// and, when it was measured and kept, its measured run.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedPoint {
    pub key: String,
    pub simulated: TraceRef,
    pub measured: Option<TraceRef>,
}

#[derive(Debug, Properties, PartialEq)]
pub struct SweepPanelProps {
    pub lab: LabId,
    pub sweep: UseReducerHandle<SweepState>,
    /// The form's parameters when they are valid (the sweep's other parameters).
    pub base: Option<ParamSet>,
    pub seed: u64,
    pub on_open: Callback<OpenedPoint>,
}

#[function_component(SweepPanel)]
pub fn sweep_panel(props: &SweepPanelProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let companion = use_context::<CompanionCtx>();
    let (lab, sweep) = (props.lab, props.sweep.clone());
    let connected = companion.as_ref().is_some_and(|c| c.state.is_connected());
    let run = sweep.run.clone();
    use_ask_for_the_next_point(lab, props.seed, sweep.clone(), companion.clone());
    use_follow_the_asked_point(sweep.clone(), companion.clone());
    let history = use_context::<HistoryCtx>();
    use_keep_in_history(sweep.clone(), history);

    let start = |measure: bool| {
        let (sweep, base, seed) = (sweep.clone(), props.base.clone(), props.seed);
        Callback::from(move |_: MouseEvent| {
            let Some(base) = &base else { return };
            let simulated = SweepRun::simulate(lab, (&sweep.param, &sweep.values), base, seed, measure);
            sweep.dispatch(SweepAction::Started(simulated.map_err(|e| e.text())));
        })
    };
    let cancel = {
        let (sweep, companion) = (sweep.clone(), companion.clone());
        Callback::from(move |_: MouseEvent| {
            let asked = sweep.run.as_ref().and_then(|r| r.asked());
            if let (Some(ctx), Some((_, request))) = (&companion, asked)
                && let Some(run) = ctx.state.requests.get(&request)
            {
                ctx.conn.send(&ClientMsg::Cancel { run: *run });
            }
            sweep.dispatch(SweepAction::Stop(Text::new("ui.sweep.cancelled")));
        })
    };
    let on_param = select(&sweep, SweepAction::Choose);
    let on_metric = select(&sweep, SweepAction::SetMetric);
    let on_values = {
        let sweep = sweep.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                sweep.dispatch(SweepAction::SetValues(input.value()));
            }
        })
    };
    let on_open = {
        let (run, on_open) = (run.clone(), props.on_open.clone());
        Callback::from(move |i: usize| {
            let Some(run) = &run else { return };
            let Some(simulated) = run.simulated.get(i) else { return };
            on_open.emit(OpenedPoint {
                key: run.sweep.param.key.to_owned(),
                simulated: simulated.clone(),
                measured: run.measured.get(i).cloned().flatten(),
            });
        })
    };

    let spec = lab.info().params.iter().find(|s| s.key == sweep.param);
    let model_only = spec.is_some_and(|s| s.simulation_only);
    let measuring = sweep.measuring();
    // The figures a point has, from the latest sweep's first simulated run (the lab's own when there is none).
    let figures = use_memo(run.as_ref().map(|r| r.simulated[0].clone()), |first| {
        first.as_ref().map(|t| shared::lab::metrics(&t.0)).unwrap_or_default()
    });
    let metric = figures.iter().find(|m| m.key == sweep.metric).cloned();
    let points = use_memo(run.clone(), |run| run.as_ref().map(|r| r.figures.clone()).unwrap_or_default());
    html! {
        <details class="sweep-panel" open=true>
            <summary>{lang.ui("ui.sweep.title")}</summary>
            <p class="help">{lang.ui("ui.sweep.help")}</p>
            <div class="sweep-fields">
                <label for="sweep-param">{lang.ui("ui.sweep.param")}</label>
                <select id="sweep-param" onchange={on_param} disabled={measuring}>
                    { for lab.info().params.iter().map(|s| html! {
                        <option value={s.key} selected={s.key == sweep.param}>
                            { format!("{}{}", lang.param(lab, s.key).map_or(s.label, |(label, _)| label), if s.simulation_only { lang.ui("ui.sweep.model_only_mark") } else { "" }) }
                        </option>
                    }) }
                </select>
                <label for="sweep-values">{lang.ui("ui.sweep.values")}</label>
                <input id="sweep-values" type="text" value={sweep.values.clone()} oninput={on_values} disabled={measuring}
                    title={lang.ui("ui.sweep.values_title")} />
                <label for="sweep-metric">{lang.ui("ui.sweep.metric")}</label>
                <select id="sweep-metric" onchange={on_metric}>
                    { for figures.iter().filter(|m| m.value.is_some()).map(|m| html! {
                        <option value={m.key.clone()} selected={m.key == sweep.metric}>{m.label.say(lang)}</option>
                    }) }
                </select>
            </div>
            <div class="actions">
                <button class="secondary sweep-simulate" disabled={props.base.is_none() || measuring} onclick={start(false)}>
                    {lang.ui("ui.sweep.simulate")}
                </button>
                <button class="primary sweep-measure" disabled={props.base.is_none() || measuring || !connected || model_only}
                    onclick={start(true)}
                    title={lang.ui(if model_only { "ui.sweep.model_only_title" } else if connected { "ui.sweep.measure_title" } else { "ui.lab.start_companion_first" })}>
                    {lang.ui("ui.sweep.measure")}
                </button>
                if measuring {
                    <button class="secondary sweep-cancel" onclick={cancel}>{lang.ui("ui.lab.cancel")}</button>
                }
            </div>
            if let Some(err) = &sweep.error { <p class="field-error sweep-error" role="alert">{err.say(lang)}</p> }
            if let Some(run) = &run { { progress(run, lang) } }
            if let (Some(run), Some(metric)) = (&run, metric) {
                <SweepChart param={AttrValue::from(run.sweep.param.key)} points={points.clone()} {metric} {on_open} />
                <p class="help">
                    {lang.ui("ui.sweep.legend")}
                    if run.done() > 0 { {" "}{lang.ui("ui.sweep.legend_measured")} }
                </p>
                if run.debug_build { <p class="note sweep-debug-build">{lang.ui("ui.mark.debug_build")}</p> }
            }
        </details>
    }
}

/// A select's new value as an action.
fn select(sweep: &UseReducerHandle<SweepState>, action: fn(String) -> SweepAction) -> Callback<Event> {
    let sweep = sweep.clone();
    Callback::from(move |e: Event| {
        if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
            sweep.dispatch(action(select.value()));
        }
    })
}

/// How far the sweep is: a bar of the points measured, and why it stopped if it did.
fn progress(run: &Rc<SweepRun>, lang: Lang) -> Html {
    let (done, total) = (run.done(), run.figures.len());
    let say = match &run.phase {
        Phase::Simulated => lang.fill("ui.sweep.simulated", &[("n", &total)]),
        Phase::Measuring { point, .. } => lang.fill(
            "ui.sweep.measuring",
            &[
                ("i", &(point + 1)),
                ("n", &total),
                ("value", &format!("{}={}", run.sweep.param.key, run.sweep.values[*point])),
            ],
        ),
        Phase::Done => lang.fill("ui.sweep.done", &[("n", &total)]),
        Phase::Stopped { at, why } => {
            lang.fill("ui.sweep.stopped", &[("i", &(at + 1)), ("why", &why.say(lang)), ("done", &done)])
        }
    };
    let state = match run.phase {
        Phase::Simulated => "simulated",
        Phase::Measuring { .. } => "measuring",
        Phase::Done => "done",
        Phase::Stopped { .. } => "stopped",
    };
    html! {
        <div class="sweep-progress" data-state={state} data-done={done.to_string()} data-total={total.to_string()}>
            if run.phase != Phase::Simulated {
                <progress max={total.to_string()} value={done.to_string()}></progress>
            }
            <p role="status">{say}</p>
            if run.released > 0 {
                <p class="note">{lang.fill("ui.sweep.released", &[("n", &run.released)])}</p>
            }
        </div>
    }
}

/// Sends the point the sweep is due to measure, or stops the sweep when no companion is there to ask.
#[hook]
fn use_ask_for_the_next_point(
    lab: LabId,
    seed: u64,
    sweep: UseReducerHandle<SweepState>,
    companion: Option<CompanionCtx>,
) {
    let due = sweep.run.as_ref().and_then(|r| r.to_ask().map(|point| (r.clone(), point)));
    let connected = companion.as_ref().is_some_and(|c| c.state.is_connected());
    use_effect_with((due.as_ref().map(|(r, p)| (Rc::as_ptr(r), *p)), connected), move |_| {
        let Some((run, point)) = due else { return };
        let Some(ctx) = companion.filter(|_| connected) else {
            sweep.dispatch(SweepAction::Stop(Text::new("ui.sweep.disconnected")));
            return;
        };
        let Some(params) = run.sweep.points().get(point).and_then(|p| lab.validate(p).ok()) else { return };
        let request = ctx.conn.next_request();
        match ctx.conn.send(&ClientMsg::StartRun { request, lab: lab.as_str().to_owned(), params, seed }) {
            true => sweep.dispatch(SweepAction::Asked { point, request }),
            false => sweep.dispatch(SweepAction::Stop(Text::new("ui.sweep.disconnected"))),
        }
    });
}

/// Reports the asked point's end: whole and finished, or stopped (refused, cancelled, failed, lost), and stops
/// the sweep when the companion goes away meanwhile.
#[hook]
fn use_follow_the_asked_point(sweep: UseReducerHandle<SweepState>, companion: Option<CompanionCtx>) {
    let asked = sweep.run.as_ref().and_then(|r| r.asked()).map(|(_, request)| request);
    let live = asked.and_then(|r| companion.as_ref().and_then(|c| c.state.run_of(r)).cloned());
    let refused = asked.and_then(|r| companion.as_ref().and_then(|c| c.state.errors.get(&r)).cloned());
    let connected = companion.as_ref().is_some_and(|c| c.state.is_connected());
    let over = live.as_ref().is_some_and(|l| l.over);
    let whole = live.as_ref().and_then(|l| l.trace.clone());
    use_effect_with((asked, over, whole.clone(), refused.clone(), connected), move |_| {
        let Some(request) = asked else { return };
        let end = match (refused, &live) {
            (Some(why), _) => PointEnd::Stopped(why),
            (None, Some(live)) if live.over => match (&live.status, whole) {
                (LiveStatus::Finished, Some(trace)) => PointEnd::Measured(trace),
                (LiveStatus::Cancelled, _) => PointEnd::Stopped(Text::new("ui.status.cancelled")),
                (LiveStatus::Failed(why), _) => PointEnd::Stopped(why.clone()),
                // Finished but not whole: what is missing is being fetched again, unless it cannot be.
                _ => match (&live.lost, &live.verification, live.released) {
                    (Some(why), _, _) => PointEnd::Stopped(why.clone()),
                    (_, Some(shared::live::Verification::Mismatch { .. }), _) | (_, _, true) => {
                        PointEnd::Stopped(Text::new("ui.sweep.incomplete"))
                    }
                    _ => return,
                },
            },
            _ if !connected => PointEnd::Stopped(Text::new("ui.sweep.disconnected")),
            _ => return,
        };
        sweep.dispatch(SweepAction::Ended { request, end });
    });
}

/// Keeps each sweep in the history once nothing more will change in it (simulated, measured or stopped), with
/// its figures as the body; a sweep reopened from the history is not kept again.
#[hook]
fn use_keep_in_history(sweep: UseReducerHandle<SweepState>, history: Option<HistoryCtx>) {
    let settled = sweep.run.clone().filter(|r| !r.measuring() && !r.from_history);
    let metric = sweep.metric.clone();
    use_effect_with(settled.as_ref().map(Rc::as_ptr), move |_| {
        let (Some(run), Some(history)) = (settled, history) else { return };
        let report = run.report(&metric);
        let (body, bytes) = crate::history::sweep_body(&report);
        let entry = shared::history::Entry::of_sweep(
            crate::history::next_id(),
            &report,
            &run.sweep.base,
            run.simulated.first().map_or(0, |t| t.0.run.seed),
            crate::history::now_ms(),
            bytes,
        );
        history.keep(entry, body);
    });
}
