//! The connection to the companion. Its state is a pure reducer (`CompanionState`: connected or not, the host,
//! a [`LiveView`] of each live run); `Connection` is the thin shell around the browser's WebSocket that feeds it,
//! reconnecting with backoff. The runs' messages go to the shell's [`Ingest`] (which asks for what the live
//! stream left out); the reducer gets a run's view when it reaches a milestone and otherwise at most every
//! [`PROGRESS_MS`], so a fast run does not re-render the page per message. The companion's address and token arrive in the URL fragment (`#companion=PORT&token=T`), which the
//! browser never sends to the page's server; they are kept in local storage and the fragment is cleared.

use crate::dom;
use crate::live_view::{Ingest, LiveView};
use gloo::timers::callback::Timeout;
use shared::i18n::Text;
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, RunId, ServerMsg};
use shared::trace::HostInfo;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};
use yew::prelude::*;

/// Where the companion listens and the token it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanionConfig {
    pub port: u16,
    pub token: String,
}

const PORT_KEY: &str = "syslab.companion.port";
const TOKEN_KEY: &str = "syslab.companion.token";

impl CompanionConfig {
    /// Reads `companion=PORT&token=T` from a URL fragment.
    pub fn from_fragment(fragment: &str) -> Option<Self> {
        let mut port = None;
        let mut token = None;
        for pair in fragment.trim_start_matches('#').split('&') {
            match pair.split_once('=') {
                Some(("companion", v)) => port = v.parse().ok(),
                Some(("token", v)) if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    token = Some(v.to_owned())
                }
                _ => {}
            }
        }
        Some(CompanionConfig { port: port?, token: token? })
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws?token={}", self.port, self.token)
    }

    /// The fragment if it has one (then it is stored and cleared from the address bar), else what was stored.
    pub fn discover() -> Option<Self> {
        let window = dom::window()?;
        let storage = dom::local_storage();
        let fragment = window.location().hash().unwrap_or_default();
        if let Some(config) = Self::from_fragment(&fragment) {
            if let Some(storage) = &storage {
                let _ = storage.set_item(PORT_KEY, &config.port.to_string());
                let _ = storage.set_item(TOKEN_KEY, &config.token);
            }
            if let Ok(history) = window.history() {
                let location = window.location();
                let url =
                    format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
                let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
            return Some(config);
        }
        let storage = storage?;
        let port = storage.get_item(PORT_KEY).ok().flatten()?.parse().ok()?;
        let token = storage.get_item(TOKEN_KEY).ok().flatten()?;
        Some(CompanionConfig { port, token })
    }
}

/// The connection's state as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnStatus {
    /// The page was opened without the companion's address.
    NotConfigured,
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Not reachable; the next attempt is scheduled.
    Retrying {
        attempt: u32,
        in_ms: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompanionState {
    pub status: ConnStatus,
    pub config: Option<CompanionConfig>,
    pub host: Option<HostInfo>,
    /// The host's calibration as the companion said in hello (`None`: no companion heard from yet).
    pub calibration: Option<shared::calibration::Stored>,
    pub runs: BTreeMap<RunId, LiveView>,
    /// The run each of our requests became.
    pub requests: BTreeMap<u32, RunId>,
    /// Refusals, by request (requests of `None` are about the connection).
    pub errors: BTreeMap<u32, Text>,
    /// The companion's last refusal, shown in the connection panel.
    pub last_error: Option<Text>,
}

impl Default for CompanionState {
    fn default() -> Self {
        CompanionState {
            status: ConnStatus::NotConfigured,
            config: None,
            host: None,
            calibration: None,
            runs: BTreeMap::new(),
            requests: BTreeMap::new(),
            errors: BTreeMap::new(),
            last_error: None,
        }
    }
}

impl CompanionState {
    /// The live run a request became, if it did.
    pub fn run_of(&self, request: u32) -> Option<&LiveView> {
        self.requests.get(&request).and_then(|run| self.runs.get(run))
    }

    pub fn is_connected(&self) -> bool {
        self.status == ConnStatus::Connected
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompanionAction {
    Configured(Option<CompanionConfig>),
    Connecting {
        attempt: u32,
    },
    Opened,
    Closed {
        attempt: u32,
        in_ms: u32,
    },
    /// A request of ours became this run.
    Requested {
        request: u32,
        run: RunId,
    },
    /// How a live run stands now.
    Run(LiveView),
    /// A message about the connection rather than a run (hello, a refusal).
    Received(ServerMsg),
}

impl Reducible for CompanionState {
    type Action = CompanionAction;

    fn reduce(self: Rc<Self>, action: CompanionAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            CompanionAction::Configured(config) => {
                s.status =
                    if config.is_some() { ConnStatus::Connecting { attempt: 1 } } else { ConnStatus::NotConfigured };
                s.config = config;
            }
            CompanionAction::Connecting { attempt } => s.status = ConnStatus::Connecting { attempt },
            CompanionAction::Opened => s.status = ConnStatus::Connecting { attempt: 0 },
            // The shell tells the runs in flight that they were lost with the connection (the companion cancels
            // them on disconnect); their views follow.
            CompanionAction::Closed { attempt, in_ms } => s.status = ConnStatus::Retrying { attempt, in_ms },
            CompanionAction::Requested { request, run } => {
                s.requests.insert(request, run);
            }
            CompanionAction::Run(view) => {
                s.runs.insert(view.run, view);
            }
            CompanionAction::Received(msg) => match msg {
                ServerMsg::Hello { host, calibration, .. } => {
                    s.status = ConnStatus::Connected;
                    s.host = Some(host);
                    s.calibration = Some(calibration);
                }
                ServerMsg::Calibration { calibration } => s.calibration = Some(calibration),
                ServerMsg::Error { request, error } => {
                    let text = error.text();
                    if let Some(request) = request {
                        s.errors.insert(request, text.clone());
                    }
                    s.last_error = Some(text);
                }
                _ => {}
            },
        }
        Rc::new(s)
    }
}

/// A JavaScript event handler kept alive as long as its socket.
type EventHandler = Closure<dyn FnMut(web_sys::Event)>;

/// How often, at most, a run's progress reaches the reducer between milestones.
pub const PROGRESS_MS: u32 = 500;

/// The WebSocket shell. Handlers hold only a weak reference back, so dropping the connection ends it.
pub struct Connection {
    config: Option<CompanionConfig>,
    dispatch: Callback<CompanionAction>,
    socket: RefCell<Option<WebSocket>>,
    handlers: RefCell<Vec<EventHandler>>,
    attempt: Cell<u32>,
    retry: RefCell<Option<Timeout>>,
    ingest: RefCell<Ingest>,
    /// The next progress update, while one is due.
    progress: RefCell<Option<Timeout>>,
    /// The last request number handed out: every request of the page's life has its own.
    last_request: Cell<u32>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Connection {
    pub fn new(config: Option<CompanionConfig>, dispatch: Callback<CompanionAction>) -> Rc<Self> {
        Rc::new(Connection {
            config,
            dispatch,
            socket: RefCell::new(None),
            handlers: RefCell::new(Vec::new()),
            attempt: Cell::new(0),
            retry: RefCell::new(None),
            ingest: RefCell::new(Ingest::default()),
            progress: RefCell::new(None),
            last_request: Cell::new(0),
        })
    }

    pub fn start(self: &Rc<Self>) {
        self.dispatch.emit(CompanionAction::Configured(self.config.clone()));
        self.connect();
    }

    /// Tries again now instead of waiting for the backoff.
    pub fn retry_now(self: &Rc<Self>) {
        self.retry.borrow_mut().take();
        self.connect();
    }

    /// A request number no other request of this page has had (the replies are matched by it).
    pub fn next_request(&self) -> u32 {
        let next = self.last_request.get() + 1;
        self.last_request.set(next);
        next
    }

    /// Sends a message; false if there is no open connection.
    pub fn send(&self, msg: &ClientMsg) -> bool {
        self.socket
            .borrow()
            .as_ref()
            .is_some_and(|ws| ws.ready_state() == WebSocket::OPEN && ws.send_with_str(&msg.to_json()).is_ok())
    }

    fn connect(self: &Rc<Self>) {
        let Some(config) = &self.config else { return };
        if let Some(old) = self.socket.borrow_mut().take() {
            let _ = old.close();
        }
        self.handlers.borrow_mut().clear();
        let attempt = self.attempt.get() + 1;
        self.attempt.set(attempt);
        self.dispatch.emit(CompanionAction::Connecting { attempt });
        let Ok(ws) = WebSocket::new(&config.url()) else {
            self.schedule_retry();
            return;
        };
        let weak = Rc::downgrade(self);
        let on_open = handler(&weak, |conn, _| {
            conn.attempt.set(0);
            conn.dispatch.emit(CompanionAction::Opened);
            conn.send(&ClientMsg::Hello { protocol: PROTOCOL_VERSION });
        });
        let on_message = handler(&weak, |conn, event| {
            let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string()) else { return };
            match ServerMsg::parse(&text) {
                Ok(msg) => conn.take_in(msg, shared::digest::message_hash(&text)),
                Err(err) => gloo::console::warn!(format!("unreadable message from the companion: {err}")),
            }
        });
        let on_close = handler(&weak, |conn, _| conn.schedule_retry());
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.handlers.borrow_mut() = vec![on_open, on_message, on_close];
        *self.socket.borrow_mut() = Some(ws);
    }

    /// A message from the companion: a run's go to the ingest (and what it reveals missing is asked for at
    /// once); the connection's go to the reducer.
    fn take_in(self: &Rc<Self>, msg: ServerMsg, text_hash: u64) {
        if let ServerMsg::Queued { request, run, .. } = &msg {
            self.dispatch.emit(CompanionAction::Requested { request: *request, run: *run });
        }
        let about_connection =
            matches!(msg, ServerMsg::Hello { .. } | ServerMsg::Calibration { .. } | ServerMsg::Error { .. })
                .then(|| msg.clone());
        let handled = self.ingest.borrow_mut().handle(msg, text_hash);
        for ask in &handled.asks {
            self.send(ask);
        }
        if let Some(msg) = about_connection
            && !handled.consumed
        {
            self.dispatch.emit(CompanionAction::Received(msg));
        }
        if handled.milestone {
            self.publish();
        } else if !handled.runs.is_empty() && self.progress.borrow().is_none() {
            let weak = Rc::downgrade(self);
            *self.progress.borrow_mut() = Some(Timeout::new(PROGRESS_MS, move || {
                if let Some(conn) = weak.upgrade() {
                    conn.publish();
                }
            }));
        }
    }

    /// Hands the reducer the views of the runs that changed.
    fn publish(&self) {
        self.progress.borrow_mut().take();
        let views = self.ingest.borrow_mut().poll_views();
        for view in views {
            self.dispatch.emit(CompanionAction::Run(view));
        }
    }

    /// Backoff: 0.5 s, 1 s, 2 s ... up to 15 s between attempts.
    fn schedule_retry(self: &Rc<Self>) {
        let attempt = self.attempt.get();
        let in_ms = (500u32 << attempt.saturating_sub(1).min(5)).min(15_000);
        self.dispatch.emit(CompanionAction::Closed { attempt, in_ms });
        self.ingest.borrow_mut().handle_closed();
        self.publish();
        let weak = Rc::downgrade(self);
        *self.retry.borrow_mut() = Some(Timeout::new(in_ms, move || {
            if let Some(conn) = weak.upgrade() {
                conn.connect();
            }
        }));
    }
}

fn handler(weak: &Weak<Connection>, f: impl Fn(&Rc<Connection>, web_sys::Event) + 'static) -> EventHandler {
    let weak = weak.clone();
    Closure::wrap(Box::new(move |event: web_sys::Event| {
        if let Some(conn) = weak.upgrade() {
            f(&conn, event);
        }
    }) as Box<dyn FnMut(web_sys::Event)>)
}

/// What components get from the context.
#[derive(Clone)]
pub struct CompanionCtx {
    pub state: UseReducerHandle<CompanionState>,
    pub conn: Rc<Connection>,
}

impl PartialEq for CompanionCtx {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state && Rc::ptr_eq(&self.conn, &other.conn)
    }
}

impl std::fmt::Debug for CompanionCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompanionCtx").field("status", &self.state.status).finish()
    }
}

/// The command that starts the companion, shown wherever the page cannot reach it.
pub const START_COMMAND: &str = "cargo xtask run";

/// The connection panel: status, the host when connected, and how to start the companion when not.
#[function_component(ConnectionPanel)]
pub fn connection_panel() -> Html {
    let Some(ctx) = use_context::<CompanionCtx>() else { return html! {} };
    let lang = use_context::<shared::i18n::Lang>().unwrap_or_default();
    let state = &ctx.state;
    let retry = {
        let conn = ctx.conn.clone();
        Callback::from(move |_: MouseEvent| conn.retry_now())
    };
    let how_to_start = html! {
        <p class="hint">
            {lang.ui("ui.companion.start_with")}<code>{START_COMMAND}</code>{lang.ui("ui.companion.start_with_after")}
            <code>{"syslab serve"}</code>{lang.ui("ui.companion.start_serve_after")}
        </p>
    };
    let refusal = state
        .last_error
        .as_ref()
        .map(|e| html! { <p class="field-error">{lang.fill("ui.status.refused", &[("error", &e.say(lang))])}</p> });
    let (class, title, body) = match &state.status {
        ConnStatus::NotConfigured => ("off", lang.ui("ui.companion.not_set_up").to_owned(), how_to_start),
        ConnStatus::Connecting { .. } => (
            "pending",
            lang.fill("ui.companion.connecting", &[("port", &state.config.as_ref().map_or(0, |c| c.port))]),
            html! {},
        ),
        ConnStatus::Connected => (
            "on",
            lang.ui("ui.companion.connected").to_owned(),
            html! {
                <p class="host">{ state.host.as_ref().map(|h| h.summary().say(lang)).unwrap_or_default() }</p>
            },
        ),
        ConnStatus::Retrying { in_ms, .. } => (
            "off",
            lang.fill("ui.companion.retrying", &[("s", &format!("{:.1}", f64::from(*in_ms) / 1000.0))]),
            html! {
                <>
                    <p class="hint">{lang.ui("ui.companion.not_running")}</p>
                    {how_to_start}
                    <button class="secondary" onclick={retry}>{lang.ui("ui.companion.retry")}</button>
                </>
            },
        ),
    };
    html! {
        <section class={classes!("connection", class)} aria-live="polite">
            <h2><span class="dot" aria-hidden="true"></span>{title}</h2>
            {body}
            {refusal.unwrap_or_default()}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fragment_names_port_and_token() {
        let config = CompanionConfig::from_fragment("#companion=7878&token=abc123").unwrap();
        assert_eq!(config, CompanionConfig { port: 7878, token: "abc123".into() });
        assert_eq!(config.url(), "ws://127.0.0.1:7878/ws?token=abc123");
        assert_eq!(CompanionConfig::from_fragment("#companion=7878"), None);
        assert_eq!(CompanionConfig::from_fragment("#companion=x&token=abc"), None);
        assert_eq!(CompanionConfig::from_fragment("#companion=1&token=a<b"), None);
    }

    #[test]
    fn the_reducer_tracks_hello_runs_and_refusals() {
        let host = HostInfo {
            kernel: "Linux".into(),
            n_cpus: 2,
            scratch_fs: "ext4".into(),
            companion_version: "0".into(),
            cpu_model: String::new(),
            page_size: 4096,
            inotify_max_user_watches: None,
            open_files_limit: None,
            debug_build: false,
        };
        let s = Rc::new(CompanionState::default())
            .reduce(CompanionAction::Configured(Some(CompanionConfig { port: 1, token: "t".into() })))
            .reduce(CompanionAction::Received(ServerMsg::Hello {
                protocol: PROTOCOL_VERSION,
                host,
                calibration: Default::default(),
            }));
        assert!(s.is_connected());
        let mut ingest = Ingest::default();
        ingest.handle(ServerMsg::Queued { request: 7, run: RunId(3), seq: 0, position: 1 }, 0);
        let mut s = s.reduce(CompanionAction::Requested { request: 7, run: RunId(3) });
        for view in ingest.poll_views() {
            s = s.reduce(CompanionAction::Run(view));
        }
        assert_eq!(s.run_of(7).map(|r| r.status.clone()), Some(shared::live::LiveStatus::Queued { position: 1 }));
        let mut s = s.reduce(CompanionAction::Closed { attempt: 1, in_ms: 500 });
        ingest.handle_closed();
        for view in ingest.poll_views() {
            s = s.reduce(CompanionAction::Run(view));
        }
        assert!(s.run_of(7).is_some_and(|r| r.over && r.trace.is_none()));
        let error = shared::protocol::WireError::HelloRequired;
        let s = s.reduce(CompanionAction::Received(ServerMsg::Error { request: Some(8), error }));
        assert_eq!(s.errors.get(&8).map(ToString::to_string).as_deref(), Some("say hello first"));
    }
}
