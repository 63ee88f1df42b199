//! A lab's page, the same for every lab: explanation, parameter form, "Simulate" and "Run on this machine", the
//! lab's drawing under the shared player, and the figures of both runs side by side. The URL keeps the
//! parameters and seed (the permalink). Its state is one reducer ([`LabState`]); the callbacks here dispatch
//! to it and do the effects (simulate, ask the companion, load the player, write the permalink).

use crate::calibrate_button::CalibrateButton;
use crate::companion::{CompanionCtx, ConnectionPanel};
use crate::history::{HistoryCtx, Reopened, use_reopen};
use crate::lab::{self, TraceRef};
use crate::lab_state::{LabAction, LabState, OpenError, Shown};
use crate::live_view::LiveView;
use crate::metrics_table::MetricsTable;
use crate::narration::Narration;
use crate::param_form::{self, ParamForm};
use crate::permalink;
use crate::player::{PlayerAction, PlayerControls, PlayerState};
use crate::predict::Predict;
use crate::run_files::{ExportButtons, ImportButton, Provenance, read_run_file};
use crate::sweep_panel::{OpenedPoint, SweepPanel};
use crate::sweep_state::{SweepAction, SweepRun, SweepState};
use crate::timeline::ZoomScope;
use shared::history::{Entry, Kind, Mark};
use shared::i18n::{Lang, Text};
use shared::protocol::ClientMsg;
use shared::{LabId, Nanos, Trace};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct LabPageProps {
    pub lab: LabId,
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
    let state = use_reducer(move || {
        let (raw, seed, named) = permalink::read(info.params);
        LabState::new(lab, raw, named, seed)
    });
    let player = use_reducer(PlayerState::default);
    let sweep = use_reducer(move || SweepState::new(lab));
    let companion = use_context::<CompanionCtx>();
    let history = use_context::<HistoryCtx>();
    let checked = param_form::check(lab, &state.raw);
    let errors = checked.clone().err().unwrap_or_default();
    let load = |player: &UseReducerHandle<PlayerState>, trace: &Trace, autoplay: bool| {
        player.dispatch(PlayerAction::Load { end: trace.end(), marks: marks(trace), autoplay });
    };

    let simulate = {
        let (state, player) = (state.clone(), player.clone());
        Callback::from(move |_: ()| {
            let Ok(params) = param_form::check(lab, &state.raw) else { return };
            let simulated = shared::lab::simulate(lab, &params, state.seed).map(|trace| TraceRef(Rc::new(trace)));
            if let Ok(trace) = &simulated {
                load(&player, &trace.0, true);
                permalink::write(&state.raw, state.seed, info.params, &state.fixed, lang);
            }
            state.dispatch(LabAction::Simulated(simulated.map_err(|err| err.to_string())));
        })
    };
    // This machine's calibration, as the companion said: the model parameters nobody chose take its values.
    let calibration = companion.as_ref().and_then(|c| c.state.calibration.clone());
    {
        let state = state.clone();
        let measured_at = calibration.as_ref().and_then(|c| c.calibration()).map(|c| c.measured_unix_ms);
        let params = calibration.as_ref().and_then(|c| c.calibration()).map(|c| c.params_for(lab));
        use_effect_with(measured_at, move |_| {
            if let Some(params) = params {
                state.dispatch(LabAction::Calibrate(params));
            }
        });
    }
    {
        // The page opens with the permalink's run already simulated, and simulates again when a calibration
        // changes its model parameters.
        let simulate = simulate.clone();
        use_effect_with(state.calibrations, move |_| simulate.emit(()));
    }

    // A live run's trace is there only once it is whole (every message, the companion's digest matched).
    let live = companion.as_ref().and_then(|c| state.live_request().and_then(|r| c.state.run_of(r).cloned()));
    let measured = Rc::new(match state.opened() {
        Some(file) => Some(file.clone()),
        None => live.as_ref().and_then(|l| l.trace.clone()),
    });
    // A repeated run is drawn one repeat at a time; its figures, marks, provenance and exports are of all of them.
    let repeats = use_memo((*measured).clone(), |t| t.as_ref().map(repeats_of).unwrap_or_default());
    let drawn = Rc::new(repeats.get(state.repeat).or(repeats.first()).cloned());
    let live_running = live.as_ref().is_some_and(|l| !l.over);
    let request_error =
        companion.as_ref().and_then(|c| state.live_request().and_then(|r| c.state.errors.get(&r).cloned()));
    // From the ask until the run ends the page keeps quiet (no clock, no redraws but the progress line), unless
    // the reader chose to watch it live.
    let measuring = state.live_request().is_some() && request_error.is_none() && live.as_ref().is_none_or(|l| !l.over);
    {
        // A sweep being measured keeps the page as quiet as a run does.
        let hold = (measuring && !state.watched_live()) || sweep.measuring();
        let player = player.clone();
        use_effect_with(hold, move |hold| player.dispatch(PlayerAction::Hold(*hold)));
    }
    {
        // When a live run is whole, its replay is loaded into the player.
        let (player, shown, drawn) = (player.clone(), state.shown, drawn.clone());
        let whole = live.as_ref().is_some_and(|l| l.trace.is_some());
        use_effect_with((live.as_ref().map(|l| l.run), whole), move |(_, whole)| {
            if *whole
                && shown == Shown::Measured
                && let Some(trace) = drawn.as_ref()
            {
                load(&player, &trace.0, true);
            }
        });
    }

    let run_live = {
        let (state, companion) = (state.clone(), companion.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(ctx), Ok(params)) = (&companion, param_form::check(lab, &state.raw)) else { return };
            let request = ctx.conn.next_request();
            let start = ClientMsg::StartRun { request, lab: lab.as_str().to_owned(), params, seed: state.seed };
            if ctx.conn.send(&start) {
                state.dispatch(LabAction::AskedLive { request });
                permalink::write(&state.raw, state.seed, info.params, &state.fixed, lang);
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
        let (state, player, drawn) = (state.clone(), player.clone(), drawn.clone());
        Callback::from(move |_: MouseEvent| {
            let trace = match which {
                Shown::Simulated => state.simulated.clone(),
                Shown::Measured => (*drawn).clone(),
            };
            if let Some(trace) = trace {
                load(&player, &trace.0, false);
            }
            state.dispatch(LabAction::Show(which));
        })
    };
    let open_run = {
        let (state, player) = (state.clone(), player.clone());
        Callback::from(move |result: Result<Rc<Trace>, Text>| {
            if let Ok(trace) = &result
                && trace.run.lab == lab
            {
                load(&player, trace, true);
            }
            state.dispatch(LabAction::Opened(result));
        })
    };
    let on_import = {
        let (open_run, history) = (open_run.clone(), history.clone());
        Callback::from(move |result: Result<Trace, Text>| {
            if let Ok(trace) = &result
                && trace.run.lab == lab
            {
                keep(history.as_ref(), trace, shared::lab::metrics(trace), Kind::Imported, Vec::new());
            }
            open_run.emit(result.map(Rc::new));
        })
    };
    {
        // A kept run or sweep the address asks for (`history=ID`, from the history page).
        let (open_run, state, player, sweep) = (open_run.clone(), state.clone(), player.clone(), sweep.clone());
        let on_open = Callback::from(move |opened: Reopened| match opened {
            Reopened::Run(trace) => {
                load(&player, &trace, true);
                state.dispatch(LabAction::Reopened(trace));
            }
            Reopened::Sweep(kept) => {
                let (entry, report) = &*kept;
                let restored = SweepRun::restore(lab, &entry.params, entry.seed, report).map_err(|e| e.text());
                match restored {
                    Ok(run) => sweep.dispatch(SweepAction::Restore { run, metric: report.metric.clone() }),
                    Err(err) => sweep.dispatch(SweepAction::Started(Err(err))),
                }
            }
        });
        let open_error = open_run.reform(Err);
        use_reopen(lab, on_open, open_error);
    }
    let on_drop = {
        let on_import = on_import.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            read_run_file(e.data_transfer().and_then(|d| d.files()), on_import.clone());
        })
    };
    let on_open_point = {
        let (state, player) = (state.clone(), player.clone());
        Callback::from(move |point: OpenedPoint| {
            let OpenedPoint { key, simulated, measured } = point;
            load(&player, measured.as_ref().unwrap_or(&simulated).0.as_ref(), false);
            let raw = simulated.0.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            let mut fixed = state.fixed.clone();
            fixed.insert(key.clone());
            permalink::write(&raw, state.seed, info.params, &fixed, lang);
            state.dispatch(LabAction::OpenPoint { key, simulated, measured });
        })
    };
    let on_param = {
        let state = state.clone();
        Callback::from(move |(key, value): (String, String)| state.dispatch(LabAction::SetParam { key, value }))
    };
    let on_seed = {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>()
                && let Ok(value) = input.value().trim().parse::<u64>()
            {
                state.dispatch(LabAction::SetSeed(value));
            }
        })
    };
    let new_seed = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(LabAction::SetSeed((js_sys::Math::random() * 1e9) as u64)))
    };

    let on_watch_live = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                state.dispatch(LabAction::SetWatchLive(input.checked()));
            }
        })
    };

    let connected = companion.as_ref().is_some_and(|c| c.state.is_connected());
    let measured_status = match (&live, &request_error) {
        (_, Some(err)) => lang.fill("ui.status.refused", &[("error", &err.say(lang))]),
        (None, _) if state.from_file() => lang.ui("ui.status.opened").to_owned(),
        (None, _) if connected => lang.ui("ui.status.not_run_connected").to_owned(),
        (None, _) => lang.ui("ui.status.not_run").to_owned(),
        (Some(l), _) => l.status_text(lang),
    };
    let sim_metrics = use_memo(state.simulated.clone(), |t| t.as_ref().map(|t| shared::lab::metrics(&t.0)));
    let sim_id = use_memo(state.simulated.clone(), |t| t.as_ref().map(|t| shared::golden::run_id(&t.0)));
    let real_metrics = use_memo((*measured).clone(), |t| t.as_ref().map(|t| shared::lab::metrics(&t.0)));
    {
        // Each simulated run the page shows is kept in the history, with the figures the page computed of it.
        let (history, simulated, figures) = (history.clone(), state.simulated.clone(), sim_metrics.clone());
        use_effect_with(simulated, move |simulated| {
            if let (Some(trace), Some(figures)) = (simulated, figures.as_ref()) {
                keep(history.as_ref(), &trace.0, figures.clone(), Kind::Simulated, Vec::new());
            }
        });
    }
    {
        // And each live run once it is whole (the measured side is then that run).
        let finished =
            live.as_ref().filter(|l| l.trace.is_some()).map(|l| l.status == shared::live::LiveStatus::Finished);
        let (history, watched) = (history.clone(), state.watched_live());
        let (trace, figures) = ((*measured).clone(), real_metrics.clone());
        use_effect_with((live.as_ref().map(|l| l.run), finished.is_some()), move |_| {
            let (Some(finished), Some(trace), Some(figures)) = (finished, trace, figures.as_ref()) else { return };
            let marks = [(watched, Mark::WatchedLive), (!finished, Mark::Incomplete)];
            let marks = marks.into_iter().filter_map(|(on, m)| on.then_some(m)).collect();
            keep(history.as_ref(), &trace.0, figures.clone(), Kind::Measured, marks);
        });
    }
    let spans = match (state.simulated.as_ref(), (*measured).as_ref()) {
        (Some(sim), Some(real)) => shared::fidelity::Spans::of(&sim.0, &real.0),
        _ => shared::fidelity::Spans::Same,
    };
    let on_repeat = {
        let (state, player, repeats) = (state.clone(), player.clone(), repeats.clone());
        Callback::from(move |e: Event| {
            let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() else { return };
            let Ok(repeat) = select.value().parse::<usize>() else { return };
            if let Some(trace) = repeats.get(repeat) {
                load(&player, &trace.0, false);
                state.dispatch(LabAction::ShowRepeat(repeat));
            }
        })
    };
    let shown = state.shown;
    let (view_trace, view_t) = match shown {
        Shown::Simulated => (state.simulated.clone(), player.t),
        Shown::Measured => ((*drawn).clone(), player.t),
    };
    let exported = match shown {
        Shown::Simulated => state.simulated.clone(),
        Shown::Measured => (*measured).clone(),
    };
    let paired = if shown == Shown::Measured { state.simulated.clone() } else { None };
    let open_error = state.open_error.as_ref().map(|err| match err {
        // The title in the language of the moment; the message is short-lived.
        OpenError::OtherLab(other) => lang.fill("ui.files.other_lab", &[("lab", &lang.lab_title(*other))]),
        OpenError::Unreadable(err) => err.say(lang),
    });
    let notes = view_trace.as_ref().map(|t| t.0.notes.clone()).unwrap_or_default();
    let measured_marks = run_marks(measured.as_ref().as_ref().map(|t| &*t.0), state.watched_live(), lang);
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
                    <ParamForm lab={lab} specs={info.params} values={state.raw.clone()} errors={errors.clone()} on_change={on_param}
                        calibration={calibration} />
                    <CalibrateButton />
                    <div class="field seed">
                        <label for="param-seed">{lang.ui("ui.lab.seed")}</label>
                        <div class="control">
                            <input id="param-seed" type="number" min="0" value={state.seed.to_string()} oninput={on_seed} />
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
                    <label class="watch-live" title={lang.ui("ui.lab.watch_live_title")}>
                        <input type="checkbox" checked={state.watch_live} onchange={on_watch_live} />
                        {lang.ui("ui.lab.watch_live")}
                    </label>
                    if let Some(err) = &state.sim_error { <p class="field-error" role="alert">{err}</p> }
                    <Predict lab={lab} simulated={sim_metrics.clone()} measured={real_metrics.clone()} />
                    <ConnectionPanel />
                    <ImportButton on_import={on_import} />
                    if let Some(err) = open_error { <p class="field-error import-error" role="alert">{err}</p> }
                    // What keeping this page's runs cost the history: the oldest removed, or no history at all.
                    if let Some(h) = history.as_ref().filter(|h| h.state.evicted > 0) {
                        <p class="note history-evicted">{lang.fill("ui.history.evicted", &[("n", &h.state.evicted)])}</p>
                    }
                    if let Some(err) = history.as_ref().and_then(|h| h.state.error.clone()) {
                        <p class="note history-error">{err.say(lang)}</p>
                    }
                </aside>
                <section class="stage" aria-label={lang.ui("ui.lab.run_region")}>
                    <div class="tabs" role="group" aria-label={lang.ui("ui.lab.which_run")}>
                        <button class={classes!("tab", (shown == Shown::Simulated).then_some("active"))}
                            aria-pressed={(shown == Shown::Simulated).to_string()} onclick={show(Shown::Simulated)}>
                            {lang.ui("ui.lab.tab_simulated")}
                            if let Some(id) = sim_id.as_ref() {
                                <span class="run-id" data-run-id={id.clone()} title={lang.ui("ui.lab.run_id_title")}>
                                    {lang.fill("ui.lab.run_id", &[("id", id)])}
                                </span>
                            }
                        </button>
                        <button class={classes!("tab", (shown == Shown::Measured).then_some("active"))}
                            aria-pressed={(shown == Shown::Measured).to_string()} onclick={show(Shown::Measured)}
                            disabled={measured.is_none()}>
                            { lang.ui(if state.from_file() { "ui.lab.tab_imported" } else if state.from_history() { "ui.lab.tab_kept" } else { "ui.lab.tab_measured" }) }
                            if live_running { <span class="live-badge">{"LIVE"}</span> }
                        </button>
                    </div>
                    if shown == Shown::Measured && repeats.len() > 1 {
                        <div class="repeat-pick">
                            <label for="repeat-shown">{lang.ui("ui.repeats.drawing")}</label>
                            <select id="repeat-shown" onchange={on_repeat}>
                                { for (0..repeats.len()).map(|i| html! {
                                    <option value={i.to_string()} selected={i == state.repeat}>{(i + 1).to_string()}</option>
                                }) }
                            </select>
                            <span>{lang.fill("ui.repeats.of", &[("n", &repeats.len().to_string())])}</span>
                        </div>
                    }
                    <ZoomScope>
                    <div class="view">
                        { match &view_trace {
                            Some(trace) => lab::view(lab, trace, view_t),
                            // A live run not whole yet says how far it has got, where its drawing will be.
                            None => match &live {
                                Some(live) if shown == Shown::Measured => html! { <LiveRecord live={live.clone()} class="empty" /> },
                                _ => html! { <p class="empty">{ if shown == Shown::Measured { measured_status.clone() } else { lang.ui("ui.lab.press_simulate").to_owned() } }</p> },
                            },
                        } }
                    </div>
                    <Narration trace={view_trace.clone()} t={view_t} playing={player.playing || live_running} />
                    if live_running && shown == Shown::Measured {
                        <p class="live-note">{lang.ui("ui.lab.live_note")}</p>
                    } else {
                        <PlayerControls player={player.clone()} />
                    }
                    </ZoomScope>
                    { for notes.iter().map(|n| html! { <p class="note">{n.say(lang)}</p> }) }
                    if let Some(live) = live.as_ref().filter(|l| l.trace.is_some() && shown == Shown::Measured) {
                        <LiveRecord live={live.clone()} class="whole" />
                    }
                    <MetricsTable lab={lab} simulated={(*sim_metrics).clone()} measured={(*real_metrics).clone()} measured_status={measured_status}
                        measured_marks={measured_marks} {spans} />
                    <Provenance trace={(*measured).clone()} />
                    <ExportButtons trace={exported} simulated={paired} />
                    <SweepPanel lab={lab} sweep={sweep.clone()} base={checked.clone().ok()} seed={state.seed} on_open={on_open_point} />
                </section>
            </div>
        </main>
    }
}

/// A measured run's repeats, each as a trace of its own (one, the run itself, when it was not repeated).
fn repeats_of(trace: &TraceRef) -> Vec<TraceRef> {
    match shared::repeats::count(&trace.0) {
        1 => vec![trace.clone()],
        _ => shared::repeats::split(&trace.0).into_iter().map(|t| TraceRef(Rc::new(t))).collect(),
    }
}

/// What the measured run's figures carry: disturbed by other programs, watched live by this page.
fn run_marks(measured: Option<&Trace>, watched_live: bool, lang: Lang) -> Vec<AttrValue> {
    let Some(trace) = measured else { return Vec::new() };
    let mut marks = Vec::new();
    if let Some(others) = shared::alone::disturbance(trace) {
        marks.push(lang.fill("ui.mark.disturbed", &[("share", &format!("{:.0}", 100.0 * others))]).into());
    }
    if watched_live {
        marks.push(lang.ui("ui.mark.watched_live").to_owned().into());
    }
    // A companion built without optimisations times itself, not the machine: said on the figures themselves.
    if matches!(&trace.run.source, shared::Source::Measured { host, .. } if host.debug_build) {
        marks.push(lang.ui("ui.mark.debug_build").to_owned().into());
    }
    marks
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

/// Keeps a run the page showed in the history: its entry, and for a measured or imported run its trace.
fn keep(
    history: Option<&HistoryCtx>,
    trace: &Trace,
    figures: Vec<shared::trace::Metric>,
    kind: Kind,
    marks: Vec<Mark>,
) {
    let Some(history) = history else { return };
    let (body, bytes) = match kind {
        Kind::Simulated => (None, 0),
        _ => crate::history::run_body(trace),
    };
    let entry = Entry::of_run(crate::history::next_id(), trace, figures, kind, crate::history::now_ms(), marks, bytes);
    history.keep(entry, body);
}
