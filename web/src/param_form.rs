//! A lab's parameter form, generated from the catalogue's declarations. Each field is checked by `shared` as it
//! is typed and shows its error beside it; the page disables its run buttons while any field is wrong.

use crate::permalink::RawParams;
use shared::calibration::Stored;
use shared::i18n::Text;
use shared::params::{ParamError, ParamKind, ParamSet, ParamSpec};
use std::collections::BTreeMap;
use yew::prelude::*;

/// Checks every field; returns the validated set, or the error per field key.
pub fn check(lab: shared::LabId, raw: &RawParams) -> Result<ParamSet, BTreeMap<String, Text>> {
    let specs = lab.info().params;
    let mut set = ParamSet::new();
    let mut errors = BTreeMap::new();
    for spec in specs {
        let text = raw.get(spec.key).cloned().unwrap_or_else(|| spec.default_value().to_string());
        match spec.parse_text(&text) {
            Ok(value) => {
                set.insert(spec.key.to_owned(), value);
            }
            Err(err) => {
                errors.insert(spec.key.to_owned(), err.text());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    lab.validate(&set).map_err(|err: ParamError| {
        let key = err.key().unwrap_or("form").to_owned();
        BTreeMap::from([(key, err.text())])
    })
}

#[derive(Debug, Properties, PartialEq)]
pub struct ParamFormProps {
    /// Whose parameters: their labels and help are the lab's, in the page's language.
    pub lab: shared::LabId,
    pub specs: &'static [ParamSpec],
    pub values: RawParams,
    pub errors: BTreeMap<String, Text>,
    pub on_change: Callback<(String, String)>,
    /// This machine's calibration as the companion said (`None`: no companion): beside each model parameter it
    /// sets, the form says whether the value is the calibration's or a reference measured elsewhere.
    #[prop_or_default]
    pub calibration: Option<Stored>,
}

#[function_component(ParamForm)]
pub fn param_form(props: &ParamFormProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let calibrates = props.specs.iter().any(|s| shared::calibration::is_calibrated(props.lab, s.key));
    let state = match &props.calibration {
        Some(Stored::Missing) if calibrates => Some(lang.ui("ui.calibration.missing").to_owned()),
        Some(Stored::Refused { reason }) if calibrates => {
            Some(lang.fill("ui.calibration.refused", &[("reason", &reason.say(lang))]))
        }
        _ => None,
    };
    html! {
        <fieldset class="params">
            <legend>{lang.ui("ui.params.legend")}</legend>
            if let Some(state) = state { <p class="calibration-state">{state}</p> }
            { for props.specs.iter().map(|spec| field(spec, props, lang)) }
        </fieldset>
    }
}

/// What the form says beside a model parameter a calibration sets: whether its value is this machine's
/// calibration (where and when, how precisely) or a reference measured elsewhere; nothing for the reader's own.
fn calibration_mark(spec: &ParamSpec, props: &ParamFormProps, lang: shared::i18n::Lang) -> Html {
    if !shared::calibration::is_calibrated(props.lab, spec.key) {
        return Html::default();
    }
    let value = props.values.get(spec.key).cloned().unwrap_or_else(|| spec.default_value().to_string());
    let calibration = props.calibration.as_ref().and_then(Stored::calibration);
    match calibration {
        Some(c) if c.params_for(props.lab).get(spec.key).is_some_and(|v| v.to_string() == value) => html! {
            <p class="calibration calibrated" data-calibrated="true">
                { c.mark(props.lab, spec.key).map(|m| m.say(lang)).unwrap_or_default() }
            </p>
        },
        Some(c) if value == spec.default_value().to_string() => match c.unmeasured_note(props.lab, spec.key) {
            Some(note) => html! { <p class="calibration reference" data-calibrated="false">{note.say(lang)}</p> },
            None => Html::default(),
        },
        Some(_) => Html::default(),
        None if value == spec.default_value().to_string() => html! {
            <p class="calibration reference" data-calibrated="false">{lang.ui("ui.calibration.reference")}</p>
        },
        None => Html::default(),
    }
}

fn field(spec: &'static ParamSpec, props: &ParamFormProps, lang: shared::i18n::Lang) -> Html {
    let (label, help) = lang.param(props.lab, spec.key).unwrap_or((spec.label, spec.help));
    let unit = lang.unit(props.lab, spec);
    let id = format!("param-{}", spec.key);
    let value = props.values.get(spec.key).cloned().unwrap_or_else(|| spec.default_value().to_string());
    let error = props.errors.get(spec.key);
    let on_change = props.on_change.clone();
    let key = spec.key.to_owned();
    let on_input = Callback::from(move |e: InputEvent| {
        if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
            on_change.emit((key.clone(), input.value()));
        }
    });
    let on_change = props.on_change.clone();
    let key = spec.key.to_owned();
    let on_select = Callback::from(move |e: Event| {
        if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
            on_change.emit((key.clone(), select.value()));
        }
    });
    let error_id = format!("{id}-error");
    let control = match spec.kind {
        ParamKind::Int { min, max, .. } => html! {
            <input id={id.clone()} name={spec.key} type="number" inputmode="numeric" min={min.to_string()}
                max={max.to_string()} step="1" value={value} oninput={on_input}
                aria-invalid={error.is_some().to_string()} aria-describedby={error_id.clone()} />
        },
        ParamKind::Float { min, max, .. } => html! {
            <input id={id.clone()} name={spec.key} type="number" min={min.to_string()} max={max.to_string()}
                step="any" value={value} oninput={on_input}
                aria-invalid={error.is_some().to_string()} aria-describedby={error_id.clone()} />
        },
        ParamKind::Choice { choices, .. } => html! {
            <select id={id.clone()} name={spec.key} onchange={on_select} aria-describedby={error_id.clone()}>
                { for choices.iter().map(|c| html! {
                    <option value={c.value} selected={c.value == value}>{lang.choice(props.lab, spec.key, c)}</option>
                }) }
            </select>
        },
    };
    let range = match spec.kind {
        ParamKind::Int { min, max, .. } => format!("{min} – {max}"),
        ParamKind::Float { min, max, .. } => format!("{min} – {max}"),
        ParamKind::Choice { .. } => String::new(),
    };
    html! {
        <div class={classes!("field", error.is_some().then_some("invalid"))}>
            <label for={id.clone()}>
                {label}
                if spec.simulation_only { <span class="tag">{lang.ui("ui.params.simulation_only")}</span> }
            </label>
            <div class="control">
                {control}
                if !unit.is_empty() { <span class="unit">{unit}</span> }
            </div>
            <p class="help" title={range.clone()}>{help}
                if !range.is_empty() { <span class="range">{format!(" ({range}{}{unit})", if unit.is_empty() { "" } else { " " })}</span> }
            </p>
            { calibration_mark(spec, props, lang) }
            <p id={error_id} class="field-error" role="alert">{ error.map(|e| e.say(lang)).unwrap_or_default() }</p>
        </div>
    }
}
