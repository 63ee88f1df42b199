//! The front page: the labs in the order of the two chapters they come from, one card per lab with a live
//! thumbnail of its animation (its default run simulated here and looped; still under reduced motion), what it
//! teaches, and whether a live run is possible (the companion connected).

use crate::app::Route;
use crate::companion::CompanionCtx;
use crate::dom;
use crate::lab::{self, TraceRef};
use gloo::timers::callback::Interval;
use shared::catalogue::CHAPTERS;
use shared::i18n::Lang;
use shared::{LabId, Nanos, ParamSet};
use std::rc::Rc;
use yew::prelude::*;
use yew_router::prelude::*;

/// Frames per loop of a thumbnail, and the time between them: slow enough to cost little with seven at once.
const FRAMES: u64 = 60;
const FRAME_MS: u32 = 150;

#[function_component(Home)]
pub fn home() -> Html {
    let connected = use_context::<CompanionCtx>().is_some_and(|c| c.state.is_connected());
    let lang = use_context::<Lang>().unwrap_or_default();
    html! {
        <main class="home">
            <h1>{lang.ui("ui.home.title")}</h1>
            <p class="lede">{lang.ui("ui.home.lede")}</p>
            { for CHAPTERS.iter().enumerate().map(|(n, chapter)| {
                let (title, summary) = lang.chapter(n).unwrap_or((chapter.title, chapter.summary));
                let heading = lang.fill("ui.home.chapter", &[("n", &(n + 1)), ("title", &title)]);
                html! {
                <section class="chapter" aria-labelledby={format!("chapter-{n}")}>
                    <h2 id={format!("chapter-{n}")}>{heading}</h2>
                    <p class="chapter-summary">{summary}</p>
                    <ul class="lab-cards">
                        { for chapter.labs.iter().map(|lab| html! { <LabCard lab={*lab} connected={connected} /> }) }
                    </ul>
                </section>
            }}) }
        </main>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct LabCardProps {
    lab: LabId,
    connected: bool,
}

#[function_component(LabCard)]
fn lab_card(props: &LabCardProps) -> Html {
    let lang = use_context::<Lang>().unwrap_or_default();
    let info = props.lab.info();
    let route = Route::Lab { id: info.id.as_str().to_owned() };
    html! {
        <li class="card" data-lab={info.id.as_str()}>
            <Thumbnail lab={props.lab} />
            <h3><Link<Route> to={route}>{lang.lab_title(props.lab)}</Link<Route>></h3>
            <p>{lang.lab_summary(props.lab)}</p>
            <p class={classes!("card-live", props.connected.then_some("ready"))}>
                { lang.ui(if props.connected { "ui.home.live_ready" } else { "ui.home.live_off" }) }
            </p>
        </li>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct ThumbnailProps {
    lab: LabId,
}

/// The lab's own view of its default simulated run, scaled down and looped; hidden from assistive technology
/// and from the keyboard (the card's link is the way in).
#[function_component(Thumbnail)]
fn thumbnail(props: &ThumbnailProps) -> Html {
    let lab = props.lab;
    let trace =
        use_memo(lab, |lab| shared::lab::simulate(*lab, &ParamSet::new(), 1).ok().map(|t| TraceRef(Rc::new(t))));
    let frame = use_state(|| FRAMES);
    {
        let frame = frame.clone();
        use_effect_with(lab, move |_| {
            let still = dom::prefers_reduced_motion();
            let mut next = 0;
            let interval = (!still).then(|| {
                Interval::new(FRAME_MS, move || {
                    next = (next + 1) % (FRAMES + 1);
                    frame.set(next);
                })
            });
            move || drop(interval)
        });
    }
    let Some(trace) = trace.as_ref() else { return html! {} };
    let t = Nanos(((trace.0.end().0 as f64) * (*frame as f64 / FRAMES as f64)) as u64);
    html! {
        <div class="thumb" aria-hidden="true" inert=true>
            <div class="thumb-inner">{ lab::view(lab, trace, t) }</div>
        </div>
    }
}
