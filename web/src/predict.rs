//! Predict, then measure: the lab's question (`shared::predict`) with its answers as radio buttons; the choice
//! is kept in local storage, and once a measured run is there the panel puts it beside what the machine did
//! (and what the model said), with why.

use crate::dom;
use shared::predict::{Question, questions};
use shared::{LabId, Metric};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct PredictProps {
    pub lab: LabId,
    pub simulated: Rc<Option<Vec<Metric>>>,
    pub measured: Rc<Option<Vec<Metric>>>,
}

#[function_component(Predict)]
pub fn predict(props: &PredictProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    html! {
        <section class="predict" aria-label={lang.ui("ui.predict.title")}>
            <h2>{lang.ui("ui.predict.title")}</h2>
            // Only the questions the run's figures answer (the mmap lab's reading and writing ask different ones).
            { for questions(props.lab).iter().filter(|q| props.simulated.as_ref().as_ref().is_none_or(|m| q.value(m).is_some())).map(|q| html! {
                <QuestionPanel lab={props.lab} id={q.id} simulated={props.simulated.clone()} measured={props.measured.clone()} />
            }) }
        </section>
    }
}

#[derive(Debug, Properties, PartialEq)]
struct QuestionProps {
    lab: LabId,
    id: &'static str,
    simulated: Rc<Option<Vec<Metric>>>,
    measured: Rc<Option<Vec<Metric>>>,
}

fn storage_key(lab: LabId, id: &str) -> String {
    format!("syslab.predict.{}.{id}", lab.as_str())
}

/// The figure as the answers put it: "7.3×" for ratios, the plain number for counts.
fn shown(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value}") } else { format!("{value:.2}×") }
}

#[function_component(QuestionPanel)]
fn question_panel(props: &QuestionProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let Some(question) = questions(props.lab).iter().find(|q| q.id == props.id) else { return html! {} };
    let key = storage_key(props.lab, props.id);
    let chosen = {
        let key = key.clone();
        use_state(move || {
            dom::local_storage().and_then(|s| s.get_item(&key).ok().flatten()).and_then(|v| v.parse::<usize>().ok())
        })
    };
    let choose = |index: usize| {
        let (chosen, key) = (chosen.clone(), key.clone());
        Callback::from(move |_: Event| {
            if let Some(storage) = dom::local_storage() {
                let _ = storage.set_item(&key, &index.to_string());
            }
            chosen.set(Some(index));
        })
    };
    let name = format!("predict-{}-{}", props.lab.as_str(), props.id);
    let (prompt, answers, _) = lang.question(props.lab, question);
    html! {
        <fieldset class="question" data-question={props.id}>
            <legend>{prompt}</legend>
            { for answers.iter().enumerate().map(|(i, answer)| {
                let id = format!("{name}-{i}");
                html! {
                    <div class="answer">
                        <input type="radio" id={id.clone()} name={name.clone()} checked={*chosen == Some(i)}
                            onchange={choose(i)} />
                        <label for={id}>{*answer}</label>
                    </div>
                }
            }) }
            { verdict(props.lab, question, *chosen, &props.simulated, &props.measured, lang) }
        </fieldset>
    }
}

fn verdict(
    lab: LabId,
    q: &Question,
    chosen: Option<usize>,
    simulated: &Option<Vec<Metric>>,
    measured: &Option<Vec<Metric>>,
    lang: shared::i18n::Lang,
) -> Html {
    let Some(measured) = measured.as_ref().and_then(|m| q.value(m)) else {
        return html! {
            <p class="help">{ lang.ui(if chosen.is_some() { "ui.predict.recorded" } else { "ui.predict.choose" }) }</p>
        };
    };
    let (_, answers, why) = lang.question(lab, q);
    let actual = q.answer_for(measured);
    let model = simulated.as_ref().and_then(|m| q.value(m));
    let outcome = match chosen {
        Some(c) if c == actual => html! { <strong class="right">{lang.ui("ui.predict.right")}</strong> },
        Some(c) => html! {
            <strong class="wrong">{lang.fill("ui.predict.wrong", &[("answer", &answers.get(c).copied().unwrap_or(""))])}</strong>
        },
        None => html! { <strong>{lang.ui("ui.predict.none")}</strong> },
    };
    let said = |key: &'static str, value: f64| {
        lang.fill(key, &[("value", &shown(value)), ("answer", &answers[q.answer_for(value)])])
    };
    html! {
        <div class="verdict" role="status">
            <p>
                {outcome}
                <span class="measured-answer" data-answer={actual.to_string()}>{said("ui.predict.measured", measured)}</span>
                if let Some(model) = model { {said("ui.predict.model", model)} }
            </p>
            <p class="why">{why}</p>
        </div>
    }
}
