//! The reader's history of runs, shared by every page as a context: the entries the browser keeps (newest
//! first), whether they are loaded, and what the last change said (runs evicted to stay within the cap, or the
//! browser refusing storage). [`HistoryCtx::keep`] is what the lab page calls for each run it shows; the
//! history page lists, renames, deletes and exports. The storage itself is `history_store`.

use crate::history_store::{self, Listing};
use shared::history::Entry;
use shared::i18n::Text;
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryState {
    pub listing: Listing,
    pub loaded: bool,
    pub error: Option<Text>,
    /// How many runs were evicted to keep the history within its cap, since the page opened.
    pub evicted: usize,
}

#[derive(Debug, Clone)]
pub enum HistoryAction {
    Listed(Result<Listing, Text>),
    Evicted(usize),
    Failed(Text),
}

impl Reducible for HistoryState {
    type Action = HistoryAction;

    fn reduce(self: Rc<Self>, action: HistoryAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            HistoryAction::Listed(Ok(listing)) => {
                s.listing = listing;
                s.loaded = true;
                s.error = None;
            }
            HistoryAction::Listed(Err(err)) | HistoryAction::Failed(err) => {
                s.loaded = true;
                s.error = Some(err);
            }
            HistoryAction::Evicted(n) => s.evicted += n,
        }
        Rc::new(s)
    }
}

/// The history as every page sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryCtx {
    pub state: UseReducerHandle<HistoryState>,
}

impl HistoryCtx {
    /// Reads the history again.
    pub fn reload(&self) {
        let state = self.state.clone();
        wasm_bindgen_futures::spawn_local(async move {
            state.dispatch(HistoryAction::Listed(history_store::list().await));
        });
    }

    /// Keeps a run the page showed (with its body, where it has one), then lists again.
    pub fn keep(&self, entry: Entry, body: Option<String>) {
        let (state, this) = (self.state.clone(), self.clone());
        wasm_bindgen_futures::spawn_local(async move {
            match history_store::save(entry, body).await {
                Ok(evicted) if evicted > 0 => state.dispatch(HistoryAction::Evicted(evicted)),
                Ok(_) => {}
                Err(err) => state.dispatch(HistoryAction::Failed(err)),
            }
            this.reload();
        });
    }

    pub fn rename(&self, id: u64, name: String) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(err) = history_store::rename(id, name).await {
                this.state.dispatch(HistoryAction::Failed(err));
            }
            this.reload();
        });
    }

    pub fn delete(&self, id: u64) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(err) = history_store::delete(id).await {
                this.state.dispatch(HistoryAction::Failed(err));
            }
            this.reload();
        });
    }
}

/// The time now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

thread_local! {
    static LAST_ID: Cell<u64> = const { Cell::new(0) };
}

/// A new entry id: the time in milliseconds times a thousand, and always above the last one.
pub fn next_id() -> u64 {
    LAST_ID.with(|last| {
        let id = (now_ms() * 1_000).max(last.get() + 1);
        last.set(id);
        id
    })
}

/// A body kept beside its entry, unless it is over the history's largest body (a run near its event budget),
/// then none and the entry keeps the figures only.
fn bounded(json: String) -> (Option<String>, u64) {
    match json.len() as u64 {
        bytes if bytes <= shared::history::MAX_BODY_BYTES => (Some(json), bytes),
        _ => (None, 0),
    }
}

/// A run's body: the file "Download trace" gives (Chrome Trace Event JSON holding the run itself), so the page
/// reads it back as it imports a file, and the history's "Export" hands it over as it is.
pub fn run_body(trace: &shared::Trace) -> (Option<String>, u64) {
    match trace.events.len() {
        n if n > shared::history::MAX_BODY_EVENTS => (None, 0),
        _ => bounded(shared::export::chrome_trace(trace).to_string()),
    }
}

/// A sweep's body: its report's JSON (as `syslab sweep --json` prints it).
pub fn sweep_body(report: &shared::sweep::SweepReport) -> (Option<String>, u64) {
    serde_json::to_string(report).map_or((None, 0), bounded)
}

/// A kept run's trace from its body.
pub fn trace_of(body: &str) -> Result<shared::Trace, Text> {
    shared::export::import(body).map_err(|e| Text::new("ui.history.damaged").with_text("detail", e.text()))
}

/// What a history entry opened on its lab page brings: a kept run's trace, or a sweep with its report.
#[derive(Debug, Clone)]
pub enum Reopened {
    Run(Rc<shared::Trace>),
    Sweep(Rc<(Entry, shared::sweep::SweepReport)>),
}

/// Opens the entry the address names (`history=ID`) once, when the page opens: its body read and handed to
/// `on_open`; an entry that cannot be read says why through `on_error`. The address is read as the page is
/// first drawn, before the page's own effects rewrite it.
#[hook]
pub fn use_reopen(lab: shared::LabId, on_open: Callback<Reopened>, on_error: Callback<Text>) {
    let id = *use_memo((), |_| crate::permalink::history_id());
    use_effect_with(lab, move |lab| {
        let lab = *lab;
        if let Some(id) = id {
            wasm_bindgen_futures::spawn_local(async move {
                match reopen(lab, id).await {
                    Ok(opened) => on_open.emit(opened),
                    Err(err) => on_error.emit(err),
                }
            });
        }
    });
}

async fn reopen(lab: shared::LabId, id: u64) -> Result<Reopened, Text> {
    let listing = history_store::list().await?;
    let entry =
        listing.entries.into_iter().find(|e| e.id == id && e.lab == lab).ok_or_else(|| Text::new("ui.history.gone"))?;
    let body = history_store::body(id).await?;
    let damaged = |e: serde_json::Error| Text::new("ui.history.damaged").with("detail", e);
    match (entry.kind, body) {
        (shared::history::Kind::Sweep, Some(body)) => {
            let report = serde_json::from_str(&body).map_err(damaged)?;
            Ok(Reopened::Sweep(Rc::new((entry, report))))
        }
        (_, Some(body)) => Ok(Reopened::Run(Rc::new(trace_of(&body)?))),
        (_, None) => Err(Text::new("ui.history.no_body")),
    }
}
