//! The `/history` page: every run this browser kept (simulated, measured, imported, sweeps), newest first, with
//! its lab, name, kind, time, host and marks; rename, open, export and delete each; pick two runs (or pin one
//! as the baseline and pick another) to compare them.

use crate::compare_view::{CompareView, Side};
use crate::history::HistoryCtx;
use crate::lab::TraceRef;
use shared::LabId;
use shared::history::{Entry, Kind, Mark};
use shared::i18n::{Lang, Text};
use std::rc::Rc;
use yew::prelude::*;

const BASELINE_KEY: &str = "syslab.history.baseline";

#[function_component(HistoryPage)]
pub fn history_page() -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let Some(history) = use_context::<HistoryCtx>() else { return Html::default() };
    let picked = use_state(Vec::<u64>::new);
    let baseline = use_state(|| {
        crate::dom::local_storage()
            .and_then(|s| s.get_item(BASELINE_KEY).ok().flatten())
            .and_then(|v| v.parse::<u64>().ok())
    });
    let lab_filter = use_state(|| None::<LabId>);
    let compared = use_state(|| None::<Result<(Side, Side), Text>>);
    {
        let history = history.clone();
        use_effect_with((), move |_| history.reload());
    }
    let state = &history.state;
    let entries: Vec<&Entry> =
        state.listing.entries.iter().filter(|e| lab_filter.is_none_or(|lab| e.lab == lab)).collect();
    // The two runs compared: the baseline and the one picked, or the two picked.
    let pair: Option<(u64, u64)> = match (*baseline, picked.as_slice()) {
        (Some(base), [.., last]) if *last != base => Some((base, *last)),
        (_, [a, b]) => Some((*a, *b)),
        _ => None,
    };
    let on_compare = {
        let (compared, history) = (compared.clone(), history.clone());
        Callback::from(move |_: MouseEvent| {
            let Some((a, b)) = pair else { return };
            let find = |id| history.state.listing.entries.iter().find(|e| e.id == id).cloned();
            let (Some(a), Some(b)) = (find(a), find(b)) else { return };
            let compared = compared.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let sides = match (side_of(&a).await, side_of(&b).await) {
                    (Ok(a), Ok(b)) => Ok((a, b)),
                    (Err(err), _) | (_, Err(err)) => Err(err),
                };
                compared.set(Some(sides));
            });
        })
    };
    let total: u64 = state.listing.entries.iter().map(Entry::bytes).sum();
    html! {
        <main class="history-page">
            <h1>{lang.ui("ui.history.title")}</h1>
            <p class="lede">{lang.fill("ui.history.summary", &[
                ("n", &state.listing.entries.len()),
                ("mb", &format!("{:.1}", total as f64 / 1_048_576.0)),
                ("cap", &(shared::history::CAP_BYTES / 1_048_576)),
            ])}</p>
            if state.evicted > 0 { <p class="note history-evicted">{lang.fill("ui.history.evicted", &[("n", &state.evicted)])}</p> }
            if state.listing.unreadable > 0 { <p class="note">{lang.fill("ui.history.unreadable", &[("n", &state.listing.unreadable)])}</p> }
            if let Some(err) = &state.error { <p class="field-error" role="alert">{err.say(lang)}</p> }
            <div class="history-tools">
                <label for="history-lab">{lang.ui("ui.history.lab")}</label>
                <select id="history-lab" onchange={lab_select(&lab_filter)}>
                    <option value="" selected={lab_filter.is_none()}>{lang.ui("ui.history.all_labs")}</option>
                    { for LabId::ALL.iter().map(|lab| html! {
                        <option value={lab.as_str()} selected={*lab_filter == Some(*lab)}>{lang.lab_title(*lab)}</option>
                    }) }
                </select>
                <button class="primary history-compare" disabled={pair.is_none()} onclick={on_compare}>{lang.ui("ui.history.compare")}</button>
                <span class="help">{lang.ui(if baseline.is_some() { "ui.history.pick_one" } else { "ui.history.pick_two" })}</span>
            </div>
            if !state.loaded {
                <p class="help">{lang.ui("ui.history.loading")}</p>
            } else if entries.is_empty() {
                <p class="empty">{lang.ui("ui.history.empty")}</p>
            } else {
                <table class="history">
                    <thead><tr>
                        <th>{lang.ui("ui.history.pick")}</th><th>{lang.ui("ui.history.lab")}</th><th>{lang.ui("ui.history.name")}</th>
                        <th>{lang.ui("ui.history.kind")}</th><th>{lang.ui("ui.history.saved")}</th><th>{lang.ui("ui.history.host")}</th>
                        <th>{lang.ui("ui.history.marks")}</th><th></th>
                    </tr></thead>
                    <tbody>
                        { for entries.iter().map(|e| row(e, &history, &picked, &baseline, lang)) }
                    </tbody>
                </table>
            }
            { match &*compared {
                Some(Ok((a, b))) => html! { <CompareView a={a.clone()} b={b.clone()} /> },
                Some(Err(err)) => html! { <p class="field-error" role="alert">{err.say(lang)}</p> },
                None => Html::default(),
            } }
        </main>
    }
}

fn lab_select(filter: &UseStateHandle<Option<LabId>>) -> Callback<Event> {
    let filter = filter.clone();
    Callback::from(move |e: Event| {
        if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
            filter.set(LabId::parse(&select.value()).ok());
        }
    })
}

/// One kept run: pick, lab, its name (editable), kind, time, host, marks, and its actions.
fn row(
    e: &Entry,
    history: &HistoryCtx,
    picked: &UseStateHandle<Vec<u64>>,
    baseline: &UseStateHandle<Option<u64>>,
    lang: Lang,
) -> Html {
    let id = e.id;
    let on_pick = {
        let picked = picked.clone();
        Callback::from(move |_: Event| {
            let mut now: Vec<u64> = (*picked).iter().copied().filter(|p| *p != id).collect();
            if now.len() == picked.len() {
                now.push(id);
            }
            let keep_from = now.len().saturating_sub(2);
            picked.set(now[keep_from..].to_vec());
        })
    };
    let on_rename = {
        let history = history.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                history.rename(id, input.value());
            }
        })
    };
    let on_delete = {
        let history = history.clone();
        Callback::from(move |_: MouseEvent| history.delete(id))
    };
    let on_pin = {
        let baseline = baseline.clone();
        Callback::from(move |_: MouseEvent| {
            let next = if *baseline == Some(id) { None } else { Some(id) };
            if let Some(storage) = crate::dom::local_storage() {
                let _ = match next {
                    Some(id) => storage.set_item(BASELINE_KEY, &id.to_string()),
                    None => storage.remove_item(BASELINE_KEY),
                };
            }
            baseline.set(next);
        })
    };
    let on_export = {
        let entry = e.clone();
        Callback::from(move |_: MouseEvent| {
            let entry = entry.clone();
            wasm_bindgen_futures::spawn_local(async move { export(&entry).await });
        })
    };
    let pinned = **baseline == Some(id);
    let saved = shared::time::utc_rfc3339(e.saved_unix_ms);
    html! {
        <tr data-entry={id.to_string()} data-kind={kind_key(e.kind)} data-lab={e.lab.as_str()}
            class={classes!(pinned.then_some("baseline"))}>
            <td><input type="checkbox" aria-label={lang.ui("ui.history.pick")} checked={picked.contains(&id)}
                disabled={e.kind == Kind::Sweep} onchange={on_pick} /></td>
            <td>{lang.lab_title(e.lab)}</td>
            <td><input class="history-name" type="text" value={e.name.clone()} onchange={on_rename}
                aria-label={lang.ui("ui.history.name")} />
                if e.name != params_words(e) { <span class="help params">{params_words(e)}</span> }</td>
            <td>{lang.ui(kind_words(e.kind))}</td>
            <td><time datetime={saved.clone()}>{saved.replace('T', " ").chars().take(19).collect::<String>()}</time></td>
            <td>{e.host.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td class="marks">{ for e.marks.iter().map(|m| html! { <span class="tag">{mark_text(m, lang)}</span> }) }</td>
            <td class="row-actions">
                <a class="history-open" href={open_href(e)}>{lang.ui("ui.history.open")}</a>
                <button class="secondary history-export" onclick={on_export}>{lang.ui("ui.history.export")}</button>
                <button class={classes!("secondary", "history-pin", pinned.then_some("active"))} onclick={on_pin}
                    disabled={e.kind == Kind::Sweep} aria-pressed={pinned.to_string()}>
                    {lang.ui(if pinned { "ui.history.unpin" } else { "ui.history.pin" })}
                </button>
                <button class="secondary history-delete" onclick={on_delete}>{lang.ui("ui.history.delete")}</button>
            </td>
        </tr>
    }
}

fn kind_key(kind: Kind) -> &'static str {
    match kind {
        Kind::Simulated => "simulated",
        Kind::Measured => "measured",
        Kind::Imported => "imported",
        Kind::Sweep => "sweep",
    }
}

/// The parameters that differ from the defaults, as the entry was first named.
fn params_words(e: &Entry) -> String {
    match e.kind {
        Kind::Sweep => String::new(),
        _ => shared::history::default_name(e.lab, &e.params),
    }
}

fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Simulated => "ui.history.kind_simulated",
        Kind::Measured => "ui.history.kind_measured",
        Kind::Imported => "ui.history.kind_imported",
        Kind::Sweep => "ui.history.kind_sweep",
    }
}

fn mark_text(mark: &Mark, lang: Lang) -> String {
    match mark {
        Mark::Disturbed { others } => lang.fill("ui.mark.disturbed", &[("share", &format!("{:.0}", 100.0 * others))]),
        Mark::Incomplete => lang.ui("ui.history.mark_incomplete").to_owned(),
        Mark::DebugBuild => lang.ui("ui.history.mark_debug_build").to_owned(),
        Mark::WatchedLive => lang.ui("ui.mark.watched_live").to_owned(),
    }
}

/// Where "Open" goes: the lab page at the run's parameters and seed, and for a kept body the entry itself (a
/// simulated run is simulated again there).
fn open_href(e: &Entry) -> String {
    let raw = e.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let named = e.params.keys().cloned().collect();
    let query = crate::permalink::to_query(&raw, e.seed, e.lab.info().params, &named);
    let kept = if e.kind == Kind::Simulated { String::new() } else { format!("&history={}", e.id) };
    format!("/lab/{}?{query}{kept}", e.lab.as_str())
}

/// A side of a comparison from a kept entry: its kept figures, and its trace (the kept body, or a simulated run
/// simulated again).
async fn side_of(e: &Entry) -> Result<Side, Text> {
    let trace = match e.kind {
        Kind::Simulated => shared::lab::simulate(e.lab, &e.params, e.seed).ok().map(|t| TraceRef(Rc::new(t))),
        _ => match crate::history_store::body(e.id).await? {
            Some(body) => Some(TraceRef(Rc::new(crate::history::trace_of(&body)?))),
            None => None,
        },
    };
    Ok(Side {
        title: e.name.clone().into(),
        lab: e.lab,
        params: e.params.clone(),
        figures: Rc::new(e.figures.clone()),
        trace,
    })
}

/// Downloads an entry: a run as Chrome Trace Event JSON (a simulated one simulated again), a sweep as its
/// report's JSON.
async fn export(e: &Entry) {
    let name = format!("syslab-{}-{}-{}.json", e.lab.as_str(), kind_key(e.kind), e.id);
    let json = match e.kind {
        Kind::Simulated => {
            shared::lab::simulate(e.lab, &e.params, e.seed).ok().map(|t| shared::export::chrome_trace(&t).to_string())
        }
        // A kept body is the file itself: a sweep's report, or a run as "Download trace" writes it.
        Kind::Sweep | Kind::Measured | Kind::Imported => crate::history_store::body(e.id).await.ok().flatten(),
    };
    if let Some(json) = json {
        let _ = crate::run_files::download(&name, "application/json", &json);
    }
}
