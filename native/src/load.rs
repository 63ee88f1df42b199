//! The load harness: a companion in this process and many websocket clients at once. Most clients keep up: they
//! start short real runs again and again (runs wait in the one queue; a full queue is a typed error they wait
//! out) and check every run's sequence numbers. A few stall: they start a run that streams fast and stop
//! reading, so their outbox fills; when they read again they must find a `lagged` notice (or a closed
//! connection), never an unbounded queue. The companion's memory and open file descriptors are sampled before,
//! during and after. The tests run it small; `syslab bench` runs it at full scale.

use crate::runner::{RUN_LIMIT, Runner, RunnerConfig};
use crate::server::admission::{Admission, new_token};
use crate::server::{ServerState, serve_until};
use futures_util::{SinkExt, StreamExt};
use shared::protocol::{ClientMsg, LiveRun, PROTOCOL_VERSION, ServerMsg, WireError};
use shared::{ParamSet, ParamValue};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const ORIGIN: &str = "http://127.0.0.1:1";

/// How big a load run is.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub clients: usize,
    /// How many of the clients stop reading.
    pub stalled: usize,
    pub duration: Duration,
    pub worker_exe: PathBuf,
    pub scratch_base: PathBuf,
}

/// What a load run saw.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub clients: usize,
    pub runs_finished: u64,
    /// Sequence gaps seen by the clients that kept up (must be 0).
    pub gaps: u64,
    pub refused_queue_full: u64,
    /// Stalled clients that found a `lagged` notice, and those whose connection was closed instead.
    pub stalled_lagged: usize,
    pub stalled_closed: usize,
    pub messages_missed_by_stalled: u64,
    pub rss_kib: (u64, u64, u64),
    pub fds: (usize, usize, usize),
}

/// This process's resident memory in KiB and its open file descriptors.
pub fn usage() -> (u64, usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned()))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    (rss, fds)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://127.0.0.1:{port}/ws?token={token}").into_client_request()?;
    request.headers_mut().insert("Origin", ORIGIN.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(Message::Text(ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json().into())).await?;
    Ok(ws)
}

fn lock_run(request: u32, duration_ms: i64, think_us: i64) -> ClientMsg {
    let params: ParamSet = [("procs", 2), ("duration_ms", duration_ms), ("think_us", think_us), ("hold_us", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ParamValue::Int(v)))
        .collect();
    ClientMsg::StartRun { request, lab: "lock".into(), params, seed: u64::from(request) }
}

/// A client that keeps up: runs until the deadline, checking every run's sequence. Returns (runs, gaps, refusals).
async fn keep_up(port: u16, token: String, deadline: Instant) -> anyhow::Result<(u64, u64, u64)> {
    let mut ws = connect(port, &token).await?;
    let (mut runs, mut gaps, mut refused, mut request) = (0, 0, 0, 0u32);
    let mut live: Option<LiveRun> = None;
    let mut asked = false;
    while Instant::now() < deadline || live.is_some() || asked {
        if !asked && live.is_none() && Instant::now() < deadline {
            request += 1;
            ws.send(Message::Text(lock_run(request, 100, 500).to_json().into())).await?;
            asked = true;
        }
        let Some(frame) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await? else { break };
        let Message::Text(text) = frame? else { continue };
        let msg = ServerMsg::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        match &msg {
            ServerMsg::Queued { run, .. } if live.is_none() => {
                live = Some(LiveRun::new(*run));
                asked = false;
            }
            ServerMsg::Error { error: WireError::QueueFull { .. }, .. } => {
                refused += 1;
                asked = false;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ServerMsg::Error { error, .. } => anyhow::bail!("the companion refused a run: {error}"),
            _ => {}
        }
        if let Some(run) = live.as_mut() {
            run.handle(&msg);
            if run.is_over() {
                gaps += run.missed;
                runs += 1;
                live = None;
            }
        }
    }
    Ok((runs, gaps, refused))
}

/// A client that stalls: gets a run that streams fast into the queue, reads nothing until the deadline, then
/// reads what is there. Returns (got a lagged notice, was closed, messages it was told it missed).
async fn stall(
    port: u16,
    token: String,
    deadline: Instant,
    queued: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<(bool, bool, u64)> {
    let mut ws = connect(port, &token).await?;
    // Get the run into the queue (a full queue is waited out), then stop reading.
    let mut request = 0;
    'queued: loop {
        request += 1;
        ws.send(Message::Text(lock_run(request, 2_000, 0).to_json().into())).await?;
        loop {
            let Some(frame) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await? else {
                anyhow::bail!("the companion closed before the stalled client's run was queued");
            };
            let Message::Text(text) = frame? else { continue };
            match ServerMsg::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))? {
                ServerMsg::Queued { .. } => {
                    let _ = queued.send(());
                    break 'queued;
                }
                ServerMsg::Error { error: WireError::QueueFull { .. }, .. } => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'queued;
                }
                ServerMsg::Error { error, .. } => anyhow::bail!("the companion refused a run: {error}"),
                _ => {}
            }
        }
    }
    tokio::time::sleep_until(deadline.into()).await;
    let (mut lagged, mut missed) = (false, 0);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(ServerMsg::Lagged { missed: m }) = ServerMsg::parse(&text) {
                    lagged = true;
                    missed += m;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Ok((lagged, true, missed)),
            Err(_) => return Ok((lagged, false, missed)),
        }
    }
}

/// Runs the load: a companion here, `clients` clients for `duration`, then measures after they left.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let token = new_token()?;
    let host = crate::host::describe(&config.scratch_base);
    let (runner, runner_thread) = Runner::start(RunnerConfig {
        scratch_base: config.scratch_base.clone(),
        worker_exe: config.worker_exe.clone(),
        host: host.clone(),
        run_limit: RUN_LIMIT,
    });
    let admission = Admission { port, origins: vec![ORIGIN.into()], token: token.clone(), exposed_host: None };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_until(listener, ServerState::new(admission, runner, host), async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = usage();
    let deadline = Instant::now() + config.duration;
    let mut tasks = tokio::task::JoinSet::new();
    // The stalled clients' runs go first in the queue, so they stream while their clients are not reading.
    let mut all_queued = Vec::new();
    for _ in 0..config.stalled.min(config.clients) {
        let (queued, is_queued) = tokio::sync::oneshot::channel();
        all_queued.push(is_queued);
        let token = token.clone();
        tasks.spawn(async move { stall(port, token, deadline, queued).await.map(|s| (None, Some(s))) });
    }
    for is_queued in all_queued {
        let _ = is_queued.await;
    }
    for _ in config.stalled.min(config.clients)..config.clients {
        let token = token.clone();
        tasks.spawn(async move { keep_up(port, token, deadline).await.map(|k| (Some(k), None)) });
    }
    let mut peak = baseline;
    let mut report = LoadReport { clients: config.clients, ..LoadReport::default() };
    let sampler = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = usage();
            peak = (peak.0.max(now.0), peak.1.max(now.1));
        }
    };
    let collect = async {
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            outcomes.push(done);
        }
        outcomes
    };
    let outcomes = tokio::select! {
        outcomes = collect => outcomes,
        () = sampler => unreachable!("the sampler never ends"),
    };
    for outcome in outcomes {
        match outcome?? {
            (Some((runs, gaps, refused)), _) => {
                report.runs_finished += runs;
                report.gaps += gaps;
                report.refused_queue_full += refused;
            }
            (_, Some((lagged, closed, missed))) => {
                report.stalled_lagged += usize::from(lagged);
                report.stalled_closed += usize::from(closed && !lagged);
                report.messages_missed_by_stalled += missed;
            }
            _ => {}
        }
    }
    // The clients are gone: give the companion a moment to drop their sessions, then measure again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = usage();
    report.rss_kib = (baseline.0, peak.0, after.0);
    report.fds = (baseline.1, peak.1, after.1);
    let _ = stop.send(());
    server.await??;
    tokio::task::spawn_blocking(move || runner_thread.join()).await?.map_err(|_| anyhow::anyhow!("runner panicked"))?;
    Ok(report)
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} clients: {} runs finished, {} sequence gaps for the clients that kept up, {} queue-full refusals; \
             stalled clients: {} told lagged ({} messages missed), {} closed; memory {} → peak {} → after {} KiB; \
             file descriptors {} → peak {} → after {}",
            self.clients,
            self.runs_finished,
            self.gaps,
            self.refused_queue_full,
            self.stalled_lagged,
            self.messages_missed_by_stalled,
            self.stalled_closed,
            self.rss_kib.0,
            self.rss_kib.1,
            self.rss_kib.2,
            self.fds.0,
            self.fds.1,
            self.fds.2
        )
    }
}
