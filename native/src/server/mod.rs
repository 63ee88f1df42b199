//! `syslab serve`: the websocket the page talks to, on loopback only. Admission happens before the upgrade;
//! each connection is a [`session`]; the [`crate::runner::Runner`] runs the experiments one at a time.

pub mod admission;
mod session;

use crate::runner::Runner;
use admission::Admission;
use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use shared::protocol::MAX_MESSAGE_BYTES;
use shared::trace::HostInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::watch;

#[derive(Debug)]
pub struct ServerState {
    pub admission: Admission,
    pub runner: Runner,
    pub host: HostInfo,
    /// This host's calibration as hello tells it; a calibration run replaces it and every session passes it on.
    pub calibration: crate::calibrate::Shared,
    /// Every connection's run log, kept within the companion's cap.
    pub logs: Arc<crate::runlog::LogBook>,
    next_conn: AtomicU64,
    /// Sessions open now: when the last one ends, freed memory goes back to the system.
    open_sessions: AtomicUsize,
    /// Becomes true when the companion stops: open sessions close so the server can finish.
    stopping: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
}

impl ServerState {
    pub fn new(
        admission: Admission,
        runner: Runner,
        host: HostInfo,
        calibration: crate::calibrate::Shared,
    ) -> Arc<Self> {
        let (stop, stopping) = watch::channel(false);
        Arc::new(ServerState {
            admission,
            runner,
            host,
            calibration,
            logs: crate::runlog::LogBook::new(crate::runlog::ALL_LOGS_CAP),
            next_conn: AtomicU64::new(1),
            open_sessions: AtomicUsize::new(0),
            stopping,
            stop,
        })
    }
}

/// Serves until `shutdown` completes; then cancels every run (workers killed, scratch removed), closes the open
/// websockets and returns once the server has finished. Without closing them, a page left open would keep the
/// companion alive after Ctrl-C.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: Arc<ServerState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let on_stop = state.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            on_stop.runner.shutdown();
            let _ = on_stop.stop.send(true);
        })
        .await
}

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new().route("/ws", get(upgrade)).with_state(state)
}

#[derive(Debug, Deserialize)]
struct WsQuery {
    token: Option<String>,
}

async fn upgrade(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let header_str = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    if let Err(refusal) =
        state.admission.check(header_str(header::HOST), header_str(header::ORIGIN), query.token.as_deref())
    {
        tracing::warn!(%refusal, "refused a websocket");
        return (StatusCode::FORBIDDEN, "refused\n").into_response();
    }
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    ws.max_message_size(MAX_MESSAGE_BYTES).max_frame_size(MAX_MESSAGE_BYTES).on_upgrade(move |socket| async move {
        let _open = OpenSession::count(state.clone());
        session::serve(socket, conn, state).await;
    })
}

/// Counts a session while it is open, however it ends. The last one out gives the freed heap back: glibc keeps
/// what a burst of connections freed in its per-thread arenas, so without this the companion's resident memory
/// after 200 clients stays several times its baseline although none of it is in use.
struct OpenSession(Arc<ServerState>);

impl OpenSession {
    fn count(state: Arc<ServerState>) -> OpenSession {
        state.open_sessions.fetch_add(1, Ordering::SeqCst);
        OpenSession(state)
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        if self.0.open_sessions.fetch_sub(1, Ordering::SeqCst) == 1 {
            give_back_freed_memory();
        }
    }
}

/// Gives the freed heap back to the system: glibc keeps what was freed in its arenas otherwise (a run of a
/// million events frees 80 MB in pieces of 80 KB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn give_back_freed_memory() {
    #[allow(unsafe_code)] // A plain libc call without arguments to check: trims every arena's free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn give_back_freed_memory() {}
