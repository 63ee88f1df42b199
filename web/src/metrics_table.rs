//! The figures of a lab, simulated and measured side by side, and the model's signed error on each figure both
//! runs have (`shared::fidelity`), marked beyond ±15 %, and where one is, what the lab's model leaves out.

use shared::trace::Metric;
use yew::prelude::*;

#[derive(Debug, Properties, PartialEq)]
pub struct MetricsTableProps {
    /// Whose figures: beside a marked error the table says what that lab's model leaves out.
    pub lab: shared::LabId,
    pub simulated: Option<Vec<Metric>>,
    pub measured: Option<Vec<Metric>>,
    /// What the measured column says while it has no figures ("not run yet", "running…").
    pub measured_status: AttrValue,
    /// What the measured figures carry ("disturbed: …", "watched live"): said above the table and on its column.
    #[prop_or_default]
    pub measured_marks: Vec<AttrValue>,
    /// Whether both runs covered the same span: counts of a run stopped at its budget get no error.
    #[prop_or_default]
    pub spans: shared::fidelity::Spans,
}

#[function_component(MetricsTable)]
pub fn metrics_table(props: &MetricsTableProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    // Every metric either run has: the simulated ones in their order, then those only the measured run has.
    let mut rows = props.simulated.clone().unwrap_or_default();
    for m in props.measured.iter().flatten() {
        if !rows.iter().any(|r| r.key == m.key) {
            rows.push(m.clone());
        }
    }
    let cell = |metrics: &Option<Vec<Metric>>, key: &str| {
        metrics
            .as_ref()
            .and_then(|ms| ms.iter().find(|m| m.key == key))
            .map_or_else(|| "—".to_owned(), Metric::display_with_spread)
    };
    // The exact figure, for tools that read the page (the benchmark, the end-to-end tests).
    let raw = |metrics: &Option<Vec<Metric>>, key: &str| {
        metrics.as_ref()?.iter().find(|m| m.key == key)?.value.map(|v| AttrValue::from(v.to_string()))
    };
    let raw_spread = |metrics: &Option<Vec<Metric>>, key: &str| {
        metrics.as_ref()?.iter().find(|m| m.key == key)?.spread.map(|v| AttrValue::from(v.to_string()))
    };
    let with_error = props.measured.is_some() && props.simulated.is_some();
    let any_marked = match (&props.simulated, &props.measured) {
        (Some(sim), Some(real)) => rows.iter().any(|m| {
            shared::fidelity::error_of(sim, real, &m.key, props.spans).is_some_and(shared::fidelity::ModelError::marked)
        }),
        _ => false,
    };
    let error_cell = |key: &str| {
        let (Some(sim), Some(real)) = (&props.simulated, &props.measured) else { return Html::default() };
        let error = shared::fidelity::error_of(sim, real, key, props.spans);
        let marked = error.is_some_and(shared::fidelity::ModelError::marked);
        html! {
            <td class={classes!("error", marked.then_some("beyond"))} data-error={error.map(|e| e.0.to_string())}>
                { error.map_or_else(|| "—".to_owned(), |e| e.display()) }
                if marked { <span class="beyond-flag" aria-label={lang.ui("ui.metrics.error_beyond")}>{" ⚠"}</span> }
            </td>
        }
    };
    html! {
        <table class={classes!("metrics", (!props.measured_marks.is_empty()).then_some("marked"))}>
            <caption>
                {lang.ui("ui.metrics.caption")}
                { for props.measured_marks.iter().map(|m| html! { <span class="measured-mark">{m}</span> }) }
            </caption>
            <thead>
                <tr>
                    <th scope="col">{lang.ui("ui.metrics.metric")}</th>
                    <th scope="col">{lang.ui("ui.metrics.simulated")}</th>
                    <th scope="col">
                        {lang.ui("ui.metrics.measured")}
                        if !props.measured_marks.is_empty() { <span class="mark-flag" title={props.measured_marks.join(" · ")}>{" ⚠"}</span> }
                    </th>
                    if with_error { <th scope="col" class="error" title={lang.ui("ui.metrics.error_title")}>{lang.ui("ui.metrics.error")}</th> }
                </tr>
            </thead>
            <tbody>
                { for rows.iter().map(|m| html! {
                    <tr data-metric={m.key.clone()}>
                        <th scope="row">{m.label.say(lang)}</th>
                        <td class="sim" data-value={raw(&props.simulated, &m.key)}>{cell(&props.simulated, &m.key)}</td>
                        <td class="real" data-value={raw(&props.measured, &m.key)} data-spread={raw_spread(&props.measured, &m.key)}>{cell(&props.measured, &m.key)}</td>
                        if with_error { { error_cell(&m.key) } }
                    </tr>
                }) }
            </tbody>
            if props.measured.is_none() {
                <tfoot><tr><td colspan="3" class="measured-status">{&props.measured_status}</td></tr></tfoot>
            }
            if with_error {
                <tfoot>
                    <tr><td colspan="4" class="error-legend">{lang.ui("ui.metrics.error_title")}</td></tr>
                    if any_marked {
                        <tr><td colspan="4" class="error-legend model-gaps">{lang.ui(model_gaps(props.lab))}</td></tr>
                    }
                </tfoot>
            }
        </table>
    }
}

/// What a lab's model is known to leave out: said under the table when one of its errors is marked.
fn model_gaps(lab: shared::LabId) -> &'static str {
    use shared::LabId;
    match lab {
        LabId::Lock => "ui.model_gaps.lock",
        LabId::Mmap => "ui.model_gaps.mmap",
        LabId::Watch => "ui.model_gaps.watch",
        LabId::Io => "ui.model_gaps.io",
        LabId::Pipeline => "ui.model_gaps.pipeline",
        LabId::Methods => "ui.model_gaps.methods",
        LabId::Amdahl => "ui.model_gaps.amdahl",
    }
}
