//! Two runs side by side: the parameters that differ, every figure of either with B − A and B ÷ A
//! (`shared::compare`), and both drawings on one time axis, one above the other, under one player. The
//! `/compare?lab=LAB&a=QUERY&b=QUERY&seed=N` address carries a comparison of two simulated configurations (the
//! page simulates both); the history page compares any two kept runs.

use crate::lab::{self, TraceRef};
use crate::player::{PlayerAction, PlayerControls, PlayerState};
use shared::i18n::Lang;
use shared::trace::Metric;
use shared::{LabId, Nanos, ParamSet};
use std::rc::Rc;
use yew::prelude::*;

/// One side of a comparison: what it is called, its lab, parameters and figures, and its trace when there is
/// one to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub title: AttrValue,
    pub lab: LabId,
    pub params: ParamSet,
    pub figures: Rc<Vec<Metric>>,
    pub trace: Option<TraceRef>,
}

impl Side {
    /// A simulated run of `lab` at `params` and `seed`, titled by what differs from the defaults.
    pub fn simulated(lab: LabId, params: &ParamSet, seed: u64) -> Result<Side, shared::ParamError> {
        let trace = shared::lab::simulate(lab, params, seed)?;
        Ok(Side {
            title: shared::history::default_name(lab, &trace.run.params).into(),
            lab,
            params: trace.run.params.clone(),
            figures: Rc::new(shared::lab::metrics(&trace)),
            trace: Some(TraceRef(Rc::new(trace))),
        })
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct CompareViewProps {
    pub a: Side,
    pub b: Side,
}

#[function_component(CompareView)]
pub fn compare_view(props: &CompareViewProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let (a, b) = (&props.a, &props.b);
    let player = use_reducer(PlayerState::default);
    let drawn = (a.trace.clone(), b.trace.clone());
    {
        let player = player.clone();
        let drawn = drawn.clone();
        use_effect_with(drawn, move |(a, b)| {
            let traces: Vec<&TraceRef> = [a, b].into_iter().flatten().collect();
            let end = traces.iter().map(|t| t.0.end()).max().unwrap_or(Nanos::ZERO);
            let mut marks: Vec<Nanos> = traces.iter().flat_map(|t| t.0.events.iter().map(|e| e.t)).collect();
            marks.sort_unstable();
            marks.dedup();
            player.dispatch(PlayerAction::Load { end, marks: Rc::new(marks), autoplay: false });
        });
    }
    let params = shared::compare::param_diff(&a.params, &b.params);
    let figures = shared::compare::figures(&a.figures, &b.figures);
    let same_lab = a.lab == b.lab;
    html! {
        <section class="compare" aria-label={lang.ui("ui.compare.title")}>
            <h2>{lang.ui("ui.compare.title")}</h2>
            <ul class="compare-sides">
                <li><b>{"A"}</b>{format!(" {} — {}", lang.lab_title(a.lab), a.title)}</li>
                <li><b>{"B"}</b>{format!(" {} — {}", lang.lab_title(b.lab), b.title)}</li>
            </ul>
            if let Some(href) = link(a, b) {
                <p><a class="compare-link" {href}>{lang.ui("ui.compare.link")}</a></p>
            }
            <table class="compare-params">
                <caption>{lang.ui(if params.is_empty() { "ui.compare.same_params" } else { "ui.compare.params" })}</caption>
                if !params.is_empty() {
                    <thead><tr><th>{lang.ui("ui.compare.param")}</th><th>{"A"}</th><th>{"B"}</th></tr></thead>
                }
                <tbody>
                    { for params.iter().map(|d| html! {
                        <tr data-param={d.key.clone()}>
                            <th>{d.key.clone()}</th>
                            <td>{d.a.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string)}</td>
                            <td>{d.b.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string)}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <table class="compare-figures">
                <thead><tr>
                    <th>{lang.ui("ui.compare.figure")}</th><th>{"A"}</th><th>{"B"}</th>
                    <th>{"B − A"}</th><th>{"B ÷ A"}</th>
                </tr></thead>
                <tbody>
                    { for figures.iter().filter(|f| f.a.is_some() || f.b.is_some()).map(|f| html! {
                        <tr data-metric={f.metric.key.clone()} data-a={f.a.map(|v| v.to_string())} data-b={f.b.map(|v| v.to_string())}
                            data-delta={f.delta.map(|v| v.to_string())} data-ratio={f.ratio.map(|v| v.to_string())}>
                            <th>{f.metric.label.say(lang)}</th>
                            <td>{f.display(f.a)}</td>
                            <td>{f.display(f.b)}</td>
                            <td class="delta">{f.display_delta()}</td>
                            <td class="ratio">{f.ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"))}</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            if same_lab {
                if let (Some(ta), Some(tb)) = drawn {
                    <div class="compare-timelines">
                        <p class="help">{lang.ui("ui.compare.timelines")}</p>
                        <h3>{"A"}</h3>
                        <div class="view compare-a">{ lab::view(a.lab, &ta, player.t) }</div>
                        <h3>{"B"}</h3>
                        <div class="view compare-b">{ lab::view(b.lab, &tb, player.t) }</div>
                        <PlayerControls player={player.clone()} />
                    </div>
                } else {
                    <p class="help">{lang.ui("ui.compare.no_traces")}</p>
                }
            } else {
                <p class="help">{lang.ui("ui.compare.other_labs")}</p>
            }
        </section>
    }
}

/// The `/compare` page: `lab`, `a` and `b` (each a lab page's query, URL-encoded) and `seed`, both simulated.
#[function_component(ComparePage)]
pub fn compare_page() -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let query = crate::dom::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let sides = use_memo(query, |query| simulated_sides(query));
    html! {
        <main class="compare-page">
            { match &*sides {
                Ok((a, b)) => html! { <CompareView a={a.clone()} b={b.clone()} /> },
                Err(err) => html! { <p class="field-error" role="alert">{lang.fill("ui.compare.bad_link", &[("error", err)])}</p> },
            } }
        </main>
    }
}

/// The two simulated sides a `/compare` address names.
fn simulated_sides(query: &str) -> Result<(Side, Side), String> {
    let params = web_sys::UrlSearchParams::new_with_str(query).map_err(|_| "unreadable address".to_owned())?;
    let lab = LabId::parse(&params.get("lab").unwrap_or_default()).map_err(|e| e.to_string())?;
    let seed = params.get("seed").and_then(|s| s.parse().ok()).unwrap_or(1);
    let side = |name: &str| -> Result<Side, String> {
        let query = params.get(name).unwrap_or_default();
        // A side's own seed where its query has one, else the address's.
        let (raw, own_seed, _) = crate::permalink::parse_query(&query, lab.info().params);
        let seed = if query.split('&').any(|p| p.starts_with("seed=")) { own_seed } else { seed };
        let set = crate::param_form::check(lab, &raw).map_err(|errors| {
            errors
                .into_iter()
                .map(|(key, text)| format!("{key}: {}", text.say(Lang::En)))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Side::simulated(lab, &set, seed).map_err(|e| e.to_string())
    };
    Ok((side("a")?, side("b")?))
}

/// The address of a comparison of two simulated runs of one lab (each side's parameters and seed), when both
/// sides are simulated runs of the same lab.
fn link(a: &Side, b: &Side) -> Option<String> {
    let simulated = |side: &Side| match &side.trace {
        Some(t) if t.0.run.source == shared::Source::Simulated => Some(t.0.run.seed),
        _ => None,
    };
    let (seed_a, seed_b) = (simulated(a)?, simulated(b)?);
    if a.lab != b.lab {
        return None;
    }
    let query = |set: &ParamSet, seed: u64| {
        let raw = set.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        let defaults = a.lab.validate(&ParamSet::new()).unwrap_or_default();
        let named = set.iter().filter(|(k, v)| defaults.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
        String::from(js_sys::encode_uri_component(&crate::permalink::to_query(&raw, seed, a.lab.info().params, &named)))
    };
    Some(format!("/compare?lab={}&a={}&b={}", a.lab.as_str(), query(&a.params, seed_a), query(&b.params, seed_b)))
}
