//! The load harness: a companion process (`syslab serve`) and many websocket clients at once. Most clients keep up: they
//! start short real runs again and again (runs wait in the one queue; a full queue is a typed error they wait
//! out) and check every run's sequence numbers. A few stall: they start a run that streams fast and stop
//! reading, so their outbox fills; when they read again they must find a `lagged` notice (or a closed
//! connection), never an unbounded queue. The companion's memory and open file descriptors are sampled before,
//! during and after. The tests run it small; `syslab bench` runs it at full scale.

use crate::spawned::SpawnedCompanion;
use futures_util::{SinkExt, StreamExt};
use shared::live::LiveRun;
use shared::protocol::{ClientMsg, ServerMsg, WireError};
use shared::{ParamSet, ParamValue};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const ORIGIN: &str = "http://127.0.0.1:1";

/// How big a load run is.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub clients: usize,
    /// How many of the clients stop reading.
    pub stalled: usize,
    pub duration: Duration,
    /// How many times the clients come and go.
    pub waves: usize,
    /// The `syslab` binary: the companion under load.
    pub companion_exe: PathBuf,
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
    /// Stalled clients whose backlog fitted after all: they were told nothing and got their whole run.
    pub stalled_whole: usize,
    pub messages_missed_by_stalled: u64,
    /// The companion's resident memory (KiB) and open descriptors: before the first wave and at their peak.
    pub rss_kib: (u64, u64),
    pub fds: (usize, usize),
    /// The same, measured after each wave once its clients left.
    pub rss_after_kib: Vec<u64>,
    pub fds_after: Vec<usize>,
}

async fn connect(port: u16, token: &str) -> anyhow::Result<crate::client::Socket> {
    crate::client::connect(port, token, ORIGIN).await
}

/// A lock run of `duration_ms`, once (the harness sizes its load by one run's length, not the lab's repeats).
fn lock_run(request: u32, duration_ms: i64, think_us: i64) -> ClientMsg {
    let params: ParamSet =
        [("procs", 2), ("duration_ms", duration_ms), ("think_us", think_us), ("hold_us", 1), ("repeats", 1)]
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
            run.handle(msg, shared::digest::message_hash(&text));
            if run.is_over() {
                gaps += run.progress().missing_messages;
                runs += 1;
                live = None;
            }
        }
    }
    Ok((runs, gaps, refused))
}

/// What a stalled client found when it read again.
#[derive(Debug, Clone, Copy)]
struct Stalled {
    /// A `lagged` notice, with the messages it said were missed.
    lagged: bool,
    missed: u64,
    /// The connection was closed.
    closed: bool,
    /// Every message of its run arrived after all (the backlog fitted in the outbox and the kernel's buffers).
    whole: bool,
}

/// A client that stalls: gets a run that streams fast into the queue, reads nothing until the deadline, then
/// reads what is there.
async fn stall(
    port: u16,
    token: String,
    deadline: Instant,
    queued: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<Stalled> {
    // A small window, so the backlog lands in the companion's outbox rather than in loopback's buffers.
    let mut ws = crate::client::connect_with_window(port, &token, ORIGIN, Some(16 << 10)).await?;
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
    // Read on: what was queued (the run's first messages came before the stall), then the rest.
    let (mut lagged, mut missed, mut seqs, mut last) = (false, 0, Vec::new(), None);
    let give_up = Instant::now() + Duration::from_secs(60);
    let whole = |seqs: &mut Vec<u64>, last: Option<u64>| {
        seqs.sort_unstable();
        last.is_some_and(|last| seqs.iter().copied().eq(0..=last))
    };
    loop {
        // Until the run has ended, however long: under this load the second stalled run can still be queued
        // when the client reads again (the run ahead of it ends only once its recording has caught up, which
        // for a fast lock run takes longer than the run). After its last message, the `lagged` notice follows
        // as soon as the queue is empty.
        let wait =
            if last.is_some() { Duration::from_secs(2) } else { give_up.saturating_duration_since(Instant::now()) };
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => match ServerMsg::parse(&text) {
                Ok(ServerMsg::Lagged { missed: m, .. }) => {
                    lagged = true;
                    missed += m;
                }
                Ok(msg) => {
                    if let Some((_, seq)) = msg.run_seq() {
                        seqs.push(seq);
                    }
                    if let ServerMsg::Finished { seq, .. }
                    | ServerMsg::Cancelled { seq, .. }
                    | ServerMsg::Failed { seq, .. } = msg
                    {
                        last = Some(seq);
                    }
                }
                Err(_) => {}
            },
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Ok(Stalled { lagged, closed: true, whole: false, missed }),
            Err(_) => return Ok(Stalled { lagged, closed: false, whole: whole(&mut seqs, last), missed }),
        }
    }
}

/// `syslab bench`'s load part: 200 clients for 60 seconds, twice, against a companion of this binary.
pub fn benchmark() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(run(LoadConfig {
        clients: 200,
        stalled: 10,
        duration: Duration::from_secs(60),
        waves: 2,
        companion_exe: crate::experiment::current_exe()?,
        scratch_base: crate::scratch::default_base(),
    }))?;
    println!("load: {report}");
    Ok(())
}

/// Runs the load: a companion of its own (a `syslab serve` process, so that its memory and descriptors are its
/// alone), then `waves` times `clients` clients for `duration`, measuring after each wave once they left. Memory
/// that stays after the first wave may be the allocator's and the binary's pages touched for the first time; a
/// leak grows with every wave.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    let companion = SpawnedCompanion::start(&config.companion_exe, &config.scratch_base, ORIGIN).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = companion.usage();
    let mut report = LoadReport { clients: config.clients, ..LoadReport::default() };
    let mut peak = baseline;
    for _ in 0..config.waves.max(1) {
        let sampler = async {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = companion.usage();
                peak = (peak.0.max(now.0), peak.1.max(now.1));
            }
        };
        tokio::select! {
            wave = wave(&config, companion.port, &companion.token, &mut report) => wave?,
            () = sampler => unreachable!("the sampler never ends"),
        }
        // The clients are gone: give the companion a moment to drop their sessions, then measure again.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = companion.usage();
        report.rss_after_kib.push(after.0);
        report.fds_after.push(after.1);
    }
    report.rss_kib = (baseline.0, peak.0);
    report.fds = (baseline.1, peak.1);
    let status = companion.stop().await?;
    anyhow::ensure!(status.success(), "the companion ended with {status}");
    Ok(report)
}

/// One wave: every client connects, the stalled ones first, and all of them leave after `duration`.
async fn wave(config: &LoadConfig, port: u16, token: &str, report: &mut LoadReport) -> anyhow::Result<()> {
    let deadline = Instant::now() + config.duration;
    let mut tasks = tokio::task::JoinSet::new();
    // The stalled clients' runs go first in the queue, so they stream while their clients are not reading.
    let mut all_queued = Vec::new();
    for _ in 0..config.stalled.min(config.clients) {
        let (queued, is_queued) = tokio::sync::oneshot::channel();
        all_queued.push(is_queued);
        let token = token.to_owned();
        tasks.spawn(async move { stall(port, token, deadline, queued).await.map(|s| (None, Some(s))) });
    }
    for is_queued in all_queued {
        let _ = is_queued.await;
    }
    for _ in config.stalled.min(config.clients)..config.clients {
        let token = token.to_owned();
        tasks.spawn(async move { keep_up(port, token, deadline).await.map(|k| (Some(k), None)) });
    }
    while let Some(outcome) = tasks.join_next().await {
        match outcome?? {
            (Some((runs, gaps, refused)), _) => {
                report.runs_finished += runs;
                report.gaps += gaps;
                report.refused_queue_full += refused;
            }
            (_, Some(stalled)) => {
                report.stalled_lagged += usize::from(stalled.lagged);
                report.stalled_closed += usize::from(stalled.closed && !stalled.lagged);
                report.stalled_whole += usize::from(stalled.whole && !stalled.lagged);
                report.messages_missed_by_stalled += stalled.missed;
            }
            _ => {}
        }
    }
    Ok(())
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |values: Vec<String>| values.join(", ");
        write!(
            f,
            "{} clients × {} waves: {} runs finished, {} sequence gaps for the clients that kept up, {} queue-full \
             refusals; stalled clients: {} told lagged ({} messages missed), {} closed, {} got their whole run; companion RssAnon {} KiB → \
             peak {} → after each wave {} KiB; file descriptors {} → peak {} → after each wave {}",
            self.clients,
            self.rss_after_kib.len(),
            self.runs_finished,
            self.gaps,
            self.refused_queue_full,
            self.stalled_lagged,
            self.messages_missed_by_stalled,
            self.stalled_closed,
            self.stalled_whole,
            self.rss_kib.0,
            self.rss_kib.1,
            list(self.rss_after_kib.iter().map(u64::to_string).collect()),
            self.fds.0,
            self.fds.1,
            list(self.fds_after.iter().map(usize::to_string).collect()),
        )
    }
}
