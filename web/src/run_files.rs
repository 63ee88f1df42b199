//! A run as files: download the shown run as Chrome Trace Event JSON (Perfetto, chrome://tracing) or its
//! metrics as CSV, open a run exported by `syslab run LAB --export FILE` (file picker or drag and drop onto the
//! page), and the provenance of a measured run beside its figures. The formats are `shared::export`'s.

use crate::lab::TraceRef;
use shared::Trace;
use shared::i18n::Text;
use shared::trace::Source;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Offers `contents` to the user as a file download.
pub(crate) fn download(name: &str, mime: &str, contents: &str) -> Result<(), String> {
    let failed = |what: &str| format!("could not prepare the download ({what})");
    let parts = js_sys::Array::of1(&contents.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| failed("blob"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| failed("url"))?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(|| failed("document"))?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|_| failed("link"))?.dyn_into().map_err(|_| failed("link"))?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).map_err(|_| failed("revoke"))?;
    Ok(())
}

/// `lock-measured-seed7.json`: what the run was, so that several downloads do not overwrite each other.
fn file_name(trace: &Trace, extension: &str) -> String {
    format!("syslab-{}-{}-seed{}.{extension}", trace.run.lab.as_str(), trace.run.source.name(), trace.run.seed)
}

#[derive(Debug, Properties, PartialEq)]
pub struct ExportButtonsProps {
    pub trace: Option<TraceRef>,
    /// The simulation a measured run is set beside: its CSV then has the model's figures and errors too.
    #[prop_or_default]
    pub simulated: Option<TraceRef>,
}

/// "Download trace" and "Download metrics" for the run the page shows.
#[function_component(ExportButtons)]
pub fn export_buttons(props: &ExportButtonsProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let error = use_state(|| None::<String>);
    let save = |csv: bool| {
        let (trace, simulated, error) = (props.trace.clone(), props.simulated.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(trace) = &trace else { return };
            let trace = &trace.0;
            let done = if csv {
                let csv = shared::export::metrics_csv(trace, simulated.as_ref().map(|s| &*s.0));
                download(&file_name(trace, "csv"), "text/csv", &csv)
            } else {
                let json = shared::export::chrome_trace(trace).to_string();
                download(&file_name(trace, "json"), "application/json", &json)
            };
            error.set(done.err());
        })
    };
    let disabled = props.trace.is_none();
    html! {
        <div class="exports" role="group" aria-label={lang.ui("ui.files.export_label")}>
            <button class="secondary export-trace" {disabled} onclick={save(false)}
                title={lang.ui("ui.files.trace_title")}>
                {lang.ui("ui.files.download_trace")}
            </button>
            <button class="secondary export-csv" {disabled} onclick={save(true)} title={lang.ui("ui.files.csv_title")}>
                {lang.ui("ui.files.download_csv")}
            </button>
            if let Some(err) = &*error { <p class="field-error" role="alert">{err}</p> }
        </div>
    }
}

/// Reads the first file of a list and imports the run in it; `done` gets the run or why it was refused.
pub fn read_run_file(files: Option<web_sys::FileList>, done: Callback<Result<Trace, Text>>) {
    let Some(file) = files.and_then(|files| files.get(0)) else { return };
    wasm_bindgen_futures::spawn_local(async move {
        let name = file.name();
        let result = import_file(&file).await.map_err(|error| match error {
            Some(e) => Text::new("ui.files.import_error").with("file", &name).with_text("error", e.text()),
            None => Text::new("ui.files.unreadable").with("file", &name),
        });
        done.emit(result);
    });
}

/// How much of a file is read at a time.
const PIECE: usize = 16 << 20;

/// The run in `file`, read up to where Chrome's events begin (a 200 MB export holds its run in the first 80): the
/// rest is read only if the run there is not whole. `None` when the file cannot be read or is not UTF-8.
async fn import_file(file: &web_sys::File) -> Result<Trace, Option<shared::export::ImportError>> {
    // As bytes, not as a JavaScript string: the run is copied into the page's memory once and checked as UTF-8
    // there, instead of decoded to UTF-16 and encoded back (seconds, at this size).
    let mut bytes = Vec::new();
    let size = file.size() as usize;
    while bytes.len() < size {
        let from = bytes.len().saturating_sub(shared::export::CHROME_EVENTS_OVERLAP);
        read_piece(file, &mut bytes, PIECE).await.ok_or(None)?;
        if let Some(at) = shared::export::chrome_events_at(&bytes[from..]) {
            let text = std::str::from_utf8(&bytes[..from + at]).map_err(|_| None)?;
            if let Ok(trace) = shared::export::import(text) {
                return Ok(trace);
            }
            break;
        }
    }
    read_piece(file, &mut bytes, size).await.ok_or(None)?;
    shared::export::import(std::str::from_utf8(&bytes).map_err(|_| None)?).map_err(Some)
}

/// Appends up to `len` more bytes of `file` to `bytes` (none past its end).
async fn read_piece(file: &web_sys::File, bytes: &mut Vec<u8>, len: usize) -> Option<()> {
    let (from, size) = (bytes.len(), file.size() as usize);
    let to = from.saturating_add(len).min(size);
    if from >= to {
        return Some(());
    }
    let piece = file.slice_with_f64_and_f64(from as f64, to as f64).ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(piece.array_buffer()).await.ok()?;
    let array = js_sys::Uint8Array::new(&buffer);
    bytes.resize(from + array.length() as usize, 0);
    array.copy_to(&mut bytes[from..]);
    Some(())
}

#[derive(Debug, Properties, PartialEq)]
pub struct ImportButtonProps {
    pub on_import: Callback<Result<Trace, Text>>,
}

/// A file picker for runs exported from the command line (the page also takes them dropped anywhere on it).
#[function_component(ImportButton)]
pub fn import_button(props: &ImportButtonProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let on_change = {
        let on_import = props.on_import.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                read_run_file(input.files(), on_import.clone());
                input.set_value("");
            }
        })
    };
    html! {
        <div class="field import">
            // The browser's own file control speaks the browser's language, not the page's: it stays in the tab
            // order, unseen, and its label is the button people see.
            <input id="import-run" class="file-input" type="file" accept=".json,application/json"
                aria-describedby="import-help" onchange={on_change} />
            <label for="import-run" class="file-button">{lang.ui("ui.files.open")}</label>
            <p class="help" id="import-help">{lang.ui("ui.files.open_help")}</p>
        </div>
    }
}

#[derive(Debug, Properties, PartialEq)]
pub struct ProvenanceProps {
    pub trace: Option<TraceRef>,
}

/// Where and when a measured run ran: shown beside its figures, as the exports carry it.
#[function_component(Provenance)]
pub fn provenance(props: &ProvenanceProps) -> Html {
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let Some(trace) = &props.trace else { return html! {} };
    let Source::Measured { host, started_unix_ms } = &trace.0.run.source else { return html! {} };
    let started = (*started_unix_ms > 0).then(|| shared::time::utc_rfc3339(*started_unix_ms));
    html! {
        <section class="provenance" aria-label={lang.ui("ui.provenance.label")}>
            <h3>{lang.ui("ui.provenance.title")}</h3>
            <dl>
                if let Some(started) = started { <dt>{lang.ui("ui.provenance.started")}</dt><dd data-key="started">{started}</dd> }
                { for host.provenance().into_iter().map(|(key, label, value)| html! {
                    <><dt>{label.say(lang)}</dt><dd data-key={key}>{value.say(lang)}</dd></>
                }) }
            </dl>
        </section>
    }
}
