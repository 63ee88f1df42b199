//! A lab's page, the same for every lab: explanation, parameter form, "Simulate" and "Run on this machine", the
//! lab's drawing under the shared player, and the figures of both runs side by side. The URL keeps the
//! parameters and seed (the permalink).

use crate::companion::{CompanionCtx, ConnectionPanel};
use crate::lab::{self, TraceRef};
use crate::live_view::LiveView;
use crate::metrics_table::MetricsTable;
use crate::narration::Narration;
use crate::param_form::{self, ParamForm};
use crate::permalink;
use crate::player::{PlayerAction, PlayerControls, PlayerState};
use crate::predict::Predict;
use crate::run_files::{ExportButtons, ImportButton, Provenance, read_run_file};
use shared::i18n::{Lang, Text};
use shared::protocol::ClientMsg;
use shared::{LabId, Nanos, Trace};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct LabPageProps {
    pub lab: LabId,
}

/// Which run the drawing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Simulated,
    Measured,
}

fn marks(trace: &Trace) -> Rc<Vec<Nanos>> {
    let mut marks: Vec<Nanos> = trace.events.iter().map(|e| e.t).collect();
    marks.dedup();
    Rc::new(marks)
}

#[function_component(LabPage)]
pub fn lab_page(props: &LabPageProps) -> Html {
    let lab = props.lab;
    let info = lab.info();
    let lang = use_context::<Lang>().unwrap_or_default();
    let initial = use_memo((), move |_| permalink::read(info.params));
    let raw = use_state(|| initial.0.clone());
    let seed = use_state(|| initial.1);
    let simulated = use_state(|| None::<TraceRef>);
    let sim_error = use_state(|| None::<String>);
    let request = use_state(|| None::<u32>);
    let next_request = use_mut_ref(|| 1u32);
    let shown = use_state(|| Shown::Simulated);
    // A run opened from a file takes the measured side until the next live run.
    let imported = use_state(|| None::<TraceRef>);
    let import_error = use_state(|| None::<Text>);
    let player = use_reducer(PlayerState::default);
    let companion = use_context::<CompanionCtx>();
    let checked = param_form::check(lab, &raw);
    let errors = checked.clone().err().unwrap_or_default();

    let simulate = {
        let (raw, seed, simulated, sim_error, shown, player) =
            (raw.clone(), seed.clone(), simulated.clone(), sim_error.clone(), shown.clone(), player.clone());
        Callback::from(move |_: ()| {
            let Ok(params) = param_form::check(lab, &raw) else { return };
            match shared::lab::simulate(lab, &params, *seed) {
                Ok(trace) => {
                    player.dispatch(PlayerAction::Load { end: trace.end(), marks: marks(&trace), autoplay: true });
                    simulated.set(Some(TraceRef(Rc::new(trace))));
                    sim_error.set(None);
                    shown.set(Shown::Simulated);
                    permalink::write(&raw, *seed, info.params, lang);
                }
                Err(err) => sim_error.set(Some(err.to_string())),
            }
        })
    };
    {
        // The page opens with the permalink's run already simulated.
        let simulate = simulate.clone();
        use_effect_with((), move |_| simulate.emit(()));
    }

    // A live run's trace is there only once it is whole (every message, the companion's digest matched).
    let live = companion.as_ref().and_then(|c| request.and_then(|r| c.state.run_of(r).cloned()));
    let measured = match (request.is_none(), &*imported) {
        (true, Some(file)) => Rc::new(Some(file.clone())),
        _ => Rc::new(live.as_ref().and_then(|l| l.trace.clone())),
    };
    let live_running = live.as_ref().is_some_and(|l| !l.over);
    {
        // When a live run is whole, its replay is loaded into the player.
        let (player, shown, measured) = (player.clone(), shown.clone(), measured.clone());
        let whole = live.as_ref().is_some_and(|l| l.trace.is_some());
        use_effect_with((live.as_ref().map(|l| l.run), whole), move |(_, whole)| {
            if *whole
                && *shown == Shown::Measured
                && let Some(trace) = measured.as_ref()
            {
                player.dispatch(PlayerAction::Load { end: trace.0.end(), marks: marks(&trace.0), autoplay: true });
            }
        });
    }

    let run_live = {
        let (raw, seed, request, shown, companion, imported) =
            (raw.clone(), seed.clone(), request.clone(), shown.clone(), companion.clone(), imported.clone());
        let next_request = next_request.clone();
        Callback::from(move |_: MouseEvent| {
            imported.set(None);
            let (Some(ctx), Ok(params)) = (&companion, param_form::check(lab, &raw)) else { return };
            let id = {
                let mut next = next_request.borrow_mut();
                *next += 1;
                *next
            };
            if ctx.conn.send(&ClientMsg::StartRun { request: id, lab: lab.as_str().to_owned(), params, seed: *seed }) {
                request.set(Some(id));
                shown.set(Shown::Measured);
                permalink::write(&raw, *seed, info.params, lang);
            }
        })
    };
    let cancel_live = {
        let (companion, live) = (companion.clone(), live.clone());
        Callback::from(move |_: MouseEvent| {
            if let (Some(ctx), Some(live)) = (&companion, &live) {
                ctx.conn.send(&ClientMsg::Cancel { run: live.run });
            }
        })
    };
    let show = |which: Shown| {
        let (shown, player, simulated, measured) = (shown.clone(), player.clone(), simulated.clone(), measured.clone());
        Callback::from(move |_: MouseEvent| {
            let trace = match which {
                Shown::Simulated => (*simulated).clone(),
                Shown::Measured => (*measured).clone(),
            };
            if let Some(trace) = trace {
                player.dispatch(PlayerAction::Load { end: trace.0.end(), marks: marks(&trace.0), autoplay: false });
            }
            shown.set(which);
        })
    };
    let on_import = {
        let (imported, import_error, request, shown, player) =
            (imported.clone(), import_error.clone(), request.clone(), shown.clone(), player.clone());
        Callback::from(move |result: Result<Trace, Text>| match result {
            Ok(trace) if trace.run.lab != lab => import_error.set(Some(
                // The title in the language of the moment; the message is short-lived.
                Text::new("ui.files.other_lab").with("lab", lang.lab_title(trace.run.lab)),
            )),
            Ok(trace) => {
                player.dispatch(PlayerAction::Load { end: trace.end(), marks: marks(&trace), autoplay: true });
                imported.set(Some(TraceRef(Rc::new(trace))));
                import_error.set(None);
                request.set(None);
                shown.set(Shown::Measured);
            }
            Err(err) => import_error.set(Some(err)),
        })
    };
    let on_drop = {
        let on_import = on_import.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            read_run_file(e.data_transfer().and_then(|d| d.files()), on_import.clone());
        })
    };
    let on_param = {
        let raw = raw.clone();
        Callback::from(move |(key, value): (String, String)| {
            let mut next = (*raw).clone();
            next.insert(key, value);
            raw.set(next);
        })
    };
    let on_seed = {
        let seed = seed.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>()
                && let Ok(value) = input.value().trim().parse::<u64>()
            {
                seed.set(value);
            }
        })
    };
    let new_seed = {
        let seed = seed.clone();
        Callback::from(move |_: MouseEvent| seed.set((js_sys::Math::random() * 1e9) as u64))
    };

    let connected = companion.as_ref().is_some_and(|c| c.state.is_connected());
    let request_error = companion.as_ref().and_then(|c| request.and_then(|r| c.state.errors.get(&r).cloned()));
    let measured_status = match (&live, &request_error) {
        (_, Some(err)) => lang.fill("ui.status.refused", &[("error", &err.say(lang))]),
        (None, _) if imported.is_some() => lang.ui("ui.status.opened").to_owned(),
        (None, _) if connected => lang.ui("ui.status.not_run_connected").to_owned(),
        (None, _) => lang.ui("ui.status.not_run").to_owned(),
        (Some(l), _) => l.status_text(lang),
    };
    let sim_metrics = use_memo((*simulated).clone(), |t| t.as_ref().map(|t| shared::lab::metrics(&t.0)));
    let real_metrics = use_memo((*measured).clone(), |t| t.as_ref().map(|t| shared::lab::metrics(&t.0)));
    let (view_trace, view_t) = match *shown {
        Shown::Simulated => ((*simulated).clone(), player.t),
        Shown::Measured => ((*measured).clone(), player.t),
    };
    let notes = view_trace.as_ref().map(|t| t.0.notes.clone()).unwrap_or_default();
    let valid = checked.is_ok();

    html! {
        <main class="lab-page" data-lab={lab.as_str()} ondragover={Callback::from(|e: DragEvent| e.prevent_default())}
            ondrop={on_drop}>
            <header class="lab-head">
                <h1>{lang.lab_title(lab)}</h1>
                <p class="summary">{lang.lab_summary(lab)}</p>
            </header>
            <details class="explanation" open=true>
                <summary>{lang.ui("ui.lab.what")}</summary>
                <div class="explanation-body">
                    { for lang.lab_explanation(lab).into_iter().map(|p| html! { <p>{p}</p> }) }
                </div>
            </details>
            <div class="lab-grid">
                <aside class="controls">
                    <ParamForm lab={lab} specs={info.params} values={(*raw).clone()} errors={errors.clone()} on_change={on_param} />
                    <div class="field seed">
                        <label for="param-seed">{lang.ui("ui.lab.seed")}</label>
                        <div class="control">
                            <input id="param-seed" type="number" min="0" value={seed.to_string()} oninput={on_seed} />
                            <button class="secondary" onclick={new_seed} title={lang.ui("ui.lab.new_seed_title")}>{lang.ui("ui.lab.new_seed")}</button>
                        </div>
                        <p class="help">{lang.ui("ui.lab.seed_help")}</p>
                    </div>
                    <div class="actions">
                        <button class="primary simulate" disabled={!valid} onclick={simulate.reform(|_: MouseEvent| ())}>{lang.ui("ui.lab.simulate")}</button>
                        <button class="primary run-live" disabled={!valid || !connected || live_running} onclick={run_live}
                            title={lang.ui(if connected { "ui.lab.run_live_title" } else { "ui.lab.start_companion_first" })}>
                            {lang.ui("ui.lab.run_live")}
                        </button>
                        if live_running {
                            <button class="secondary cancel" onclick={cancel_live}>{lang.ui("ui.lab.cancel")}</button>
                        }
                    </div>
                    if let Some(err) = &*sim_error { <p class="field-error" role="alert">{err}</p> }
                    <Predict lab={lab} simulated={sim_metrics.clone()} measured={real_metrics.clone()} />
                    <ConnectionPanel />
                    <ImportButton on_import={on_import} />
                    if let Some(err) = &*import_error { <p class="field-error import-error" role="alert">{err.say(lang)}</p> }
                </aside>
                <section class="stage" aria-label={lang.ui("ui.lab.run_region")}>
                    <div class="tabs" role="group" aria-label={lang.ui("ui.lab.which_run")}>
                        <button class={classes!("tab", (*shown == Shown::Simulated).then_some("active"))}
                            aria-pressed={(*shown == Shown::Simulated).to_string()} onclick={show(Shown::Simulated)}>{lang.ui("ui.lab.tab_simulated")}</button>
                        <button class={classes!("tab", (*shown == Shown::Measured).then_some("active"))}
                            aria-pressed={(*shown == Shown::Measured).to_string()} onclick={show(Shown::Measured)}
                            disabled={measured.is_none()}>
                            { lang.ui(if imported.is_some() && request.is_none() { "ui.lab.tab_imported" } else { "ui.lab.tab_measured" }) }
                            if live_running { <span class="live-badge">{"LIVE"}</span> }
                        </button>
                    </div>
                    <div class="view">
                        { match &view_trace {
                            Some(trace) => lab::view(lab, trace, view_t),
                            // A live run not whole yet says how far it has got, where its drawing will be.
                            None => match &live {
                                Some(live) if *shown == Shown::Measured => html! { <LiveRecord live={live.clone()} class="empty" /> },
                                _ => html! { <p class="empty">{ if *shown == Shown::Measured { measured_status.clone() } else { lang.ui("ui.lab.press_simulate").to_owned() } }</p> },
                            },
                        } }
                    </div>
                    <Narration trace={view_trace.clone()} t={view_t} playing={player.playing || live_running} />
                    if live_running && *shown == Shown::Measured {
                        <p class="live-note">{lang.ui("ui.lab.live_note")}</p>
                    } else {
                        <PlayerControls player={player.clone()} />
                    }
                    { for notes.iter().map(|n| html! { <p class="note">{n.say(lang)}</p> }) }
                    if let Some(live) = live.as_ref().filter(|l| l.trace.is_some() && *shown == Shown::Measured) {
                        <LiveRecord live={live.clone()} class="whole" />
                    }
                    <MetricsTable simulated={(*sim_metrics).clone()} measured={(*real_metrics).clone()} measured_status={measured_status} />
                    <Provenance trace={(*measured).clone()} />
                    <ExportButtons trace={view_trace.clone()} />
                </section>
            </div>
        </main>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct LiveRecordProps {
    live: LiveView,
    class: AttrValue,
}

/// How whole the measured run is: its events, what was missing or sent again, and whether it matched the
/// companion's record. The numbers are in attributes too, for the tests and the benchmark.
#[function_component(LiveRecord)]
fn live_record(props: &LiveRecordProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let live = &props.live;
    let p = &live.progress;
    let verified = matches!(live.verification, Some(shared::live::Verification::Verified { .. }));
    html! {
        <p class={classes!("live-record", props.class.to_string())} data-run={live.run.0.to_string()} data-events={p.events.to_string()}
            data-missing-events={p.missing_events.to_string()} data-missing-messages={p.missing_messages.to_string()}
            data-resent={p.resent_asked.to_string()} data-duplicates={p.duplicates.to_string()}
            data-complete={live.trace.is_some().to_string()} data-verified={verified.to_string()}>
            { live.record_text(lang).unwrap_or_else(|| live.status_text(lang)) }
        </p>
    }
}
