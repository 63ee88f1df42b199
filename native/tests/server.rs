//! The companion's websocket end to end on loopback: admission before the upgrade, typed errors that keep the
//! connection open, a real run streamed from several worker processes, and a disconnect that cancels the run.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use native::runner::{Runner, RunnerConfig};
use native::scratch::process_alive;
use native::server::admission::Admission;
use native::server::{ServerState, serve_until};
use shared::calibration::Stored;
use shared::live::{LiveRun, LiveStatus, Verification};
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, ServerMsg, WireError};
use shared::{ParamSet, ParamValue};
use std::path::PathBuf;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

const ORIGIN: &str = "http://127.0.0.1:8080";
const TOKEN: &str = "00112233445566778899aabbccddeeff";

struct Companion {
    port: u16,
    scratch: PathBuf,
    /// Completing it stops the server, as Ctrl-C does.
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    runner_thread: std::thread::JoinHandle<()>,
}

async fn start_companion(name: &str) -> Companion {
    start_companion_with_limit(name, native::runner::RUN_LIMIT).await
}

async fn start_companion_with_limit(name: &str, run_limit: Duration) -> Companion {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scratch = std::env::temp_dir().join(format!("syslab-server-test-{}-{name}", std::process::id()));
    let host = native::host::describe(&std::env::temp_dir());
    let calibration = native::calibrate::shared(Stored::Missing);
    let (runner, runner_thread) = Runner::start(RunnerConfig {
        scratch_base: scratch.clone(),
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_syslab")),
        host: host.clone(),
        run_limit,
        calibration: calibration.clone(),
        calibration_store: Some(calibration_store(name)),
    });
    let admission = Admission { port, origins: vec![ORIGIN.into()], token: TOKEN.into(), exposed_host: None };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_until(listener, ServerState::new(admission, runner, host, calibration), async {
        let _ = stopped.await;
    }));
    Companion { port, scratch, stop, server, runner_thread }
}

/// Where companion `name`'s calibration runs store what they measured.
fn calibration_store(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("syslab-server-test-{}-{name}-data", std::process::id())).join("calibration.json")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, origin: &str, token: &str) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://127.0.0.1:{port}/ws?token={token}").into_client_request().unwrap();
    request.headers_mut().insert("Origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

async fn send(socket: &mut Socket, text: String) {
    socket.send(Message::Text(text.into())).await.unwrap();
}

async fn recv(socket: &mut Socket) -> ServerMsg {
    recv_within(socket, Duration::from_secs(20)).await
}

async fn recv_within(socket: &mut Socket, timeout: Duration) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(timeout, socket.next()).await.expect("a reply in time");
        if let Message::Text(text) = frame.expect("open").expect("a frame") {
            return ServerMsg::parse(&text).expect("a server message");
        }
    }
}

fn lock_params(pairs: &[(&str, i64)]) -> ParamSet {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), ParamValue::Int(*v))).collect()
}

#[tokio::test]
async fn foreign_origins_and_bad_tokens_are_refused_before_the_upgrade() {
    let c = start_companion("refuse").await;
    for (origin, token) in [("http://127.0.0.1:9999", TOKEN), ("null", TOKEN), (ORIGIN, "wrong"), (ORIGIN, "")] {
        match connect(c.port, origin, token).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403, "{origin} {token}"),
            other => panic!("{origin} {token}: expected 403, got {:?}", other.map(|_| "an open socket")),
        }
    }
    assert!(connect(c.port, ORIGIN, TOKEN).await.is_ok());
}

#[tokio::test]
async fn bad_messages_get_typed_errors_and_a_real_run_streams_from_several_workers() {
    let c = start_companion("run").await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();

    send(&mut ws, ClientMsg::StartRun { request: 1, lab: "lock".into(), params: ParamSet::new(), seed: 1 }.to_json())
        .await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Error { error: WireError::HelloRequired, .. }));
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello { .. }));
    for garbage in ["not json", r#"{"type":"start_run","request":"x"}"#, "{}", r#"{"type":"hello","protocol":99}"#] {
        send(&mut ws, garbage.to_owned()).await;
        assert!(matches!(recv(&mut ws).await, ServerMsg::Error { .. }), "{garbage}");
    }
    let bad = ClientMsg::StartRun { request: 2, lab: "lock".into(), params: lock_params(&[("procs", 65)]), seed: 1 };
    send(&mut ws, bad.to_json()).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Error { request: Some(2), error: WireError::Params { .. } }));
    let unknown = ClientMsg::StartRun { request: 3, lab: "nope".into(), params: ParamSet::new(), seed: 1 };
    send(&mut ws, unknown.to_json()).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Error { request: Some(3), .. }));

    let params = lock_params(&[("procs", 4), ("duration_ms", 200)]);
    send(&mut ws, ClientMsg::StartRun { request: 4, lab: "lock".into(), params, seed: 5 }.to_json()).await;
    let queued = recv(&mut ws).await;
    let ServerMsg::Queued { run, request: 4, .. } = queued else { panic!("not queued: {queued:?}") };
    let mut live = LiveRun::new(run);
    live.handle_parsed(queued);
    while !live.is_over() {
        live.handle_parsed(recv(&mut ws).await);
    }
    assert_eq!(live.status(), &LiveStatus::Finished);
    assert_eq!(live.progress().missing_messages, 0);
    let (trace, verification) = live.take_trace().unwrap();
    assert!(matches!(verification, Verification::Verified { .. }), "{verification:?}");
    let pids: std::collections::BTreeSet<u32> =
        trace.events.iter().filter_map(|e| trace.actor(e.actor).and_then(|a| a.pid)).collect();
    assert!(pids.len() >= 2, "events from {} worker pids", pids.len());
    assert!(!shared::lab::metrics(&trace).is_empty());
}

/// Application-level garbage of every kind, each answered by exactly one typed error (the hello after it is
/// the very next reply) on a connection that stays open, and nothing started: a run is queued before anything
/// of it starts, and no `queued` came; no file appeared in the scratch base.
#[tokio::test]
async fn every_kind_of_garbage_gets_exactly_one_typed_error_and_starts_nothing() {
    let c = start_companion("garbage").await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello { .. }));
    let start =
        |lab: &str, params: &str| format!(r#"{{"type":"start_run","request":7,"lab":"{lab}","params":{params}}}"#);
    let deep = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", "not json".into(), "malformed"),
        ("empty", String::new(), "malformed"),
        ("truncated", r#"{"type":"hello","#.into(), "malformed"),
        ("an array", "[1,2,3]".into(), "malformed"),
        ("null", "null".into(), "malformed"),
        ("a bare string", r#""start_run""#.into(), "malformed"),
        ("no type", r#"{"request":1}"#.into(), "malformed"),
        ("an unknown type", r#"{"type":"format_disk","path":"/"}"#.into(), "malformed"),
        ("a request id as text", r#"{"type":"start_run","request":"x","lab":"lock"}"#.into(), "malformed"),
        ("a request id past u32", r#"{"type":"start_run","request":4294967296,"lab":"lock"}"#.into(), "malformed"),
        ("a lab as a number", r#"{"type":"start_run","request":1,"lab":5}"#.into(), "malformed"),
        ("parameters as a list", start("lock", "[1,2]"), "malformed"),
        ("a run id as text", r#"{"type":"cancel","run":"all"}"#.into(), "malformed"),
        ("nesting 10 000 deep", deep(10_000), "malformed"),
        ("a parameter nested 200 deep", start("lock", &format!(r#"{{"procs":{}}}"#, deep(200))), "malformed"),
        ("NaN as a JSON number", start("amdahl", r#"{"parallel":NaN}"#), "malformed"),
        ("a number past f64", start("amdahl", r#"{"parallel":1e999}"#), "malformed"),
        ("NaN as text", start("amdahl", r#"{"parallel":"NaN"}"#), "params"),
        ("infinity as text", start("amdahl", r#"{"parallel":"inf"}"#), "params"),
        ("an unknown lab", start("nope", "{}"), "params"),
        ("a lab that is a path", start("../../etc/passwd", "{}"), "params"),
        ("an unknown parameter that is a path", start("mmap", r#"{"scratch":"/etc"}"#), "params"),
        ("a choice that is a path", start("lock", r#"{"mode":"../../etc/shadow"}"#), "params"),
        ("a count over its range", start("lock", r#"{"procs":65}"#), "params"),
        ("a count of zero", start("lock", r#"{"procs":0}"#), "params"),
        ("a negative size", start("mmap", r#"{"size_mib":-1}"#), "params"),
        ("a huge size", start("mmap", r#"{"size_mib":9223372036854775807}"#), "params"),
        ("a negative file count", start("watch", r#"{"files":-5}"#), "params"),
        ("a fraction for a count", start("io", r#"{"sources":1.5}"#), "params"),
        ("text for a count", start("pipeline", r#"{"items":"many"}"#), "params"),
        ("cancelling a run that is not ours", r#"{"type":"cancel","run":424242}"#.into(), "unknown_run"),
    ];
    for (what, text, kind) in &cases {
        send(&mut ws, text.clone()).await;
        let reply = recv(&mut ws).await;
        let ServerMsg::Error { error, .. } = &reply else { panic!("{what}: not an error: {reply:?}") };
        let said = serde_json::to_value(error).unwrap()["kind"].as_str().unwrap().to_owned();
        assert_eq!(said, *kind, "{what}: {error}");
        send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
        let next = recv(&mut ws).await;
        assert!(matches!(next, ServerMsg::Hello { .. }), "{what}: a second reply {next:?}");
    }
    let scratch_entries = std::fs::read_dir(&c.scratch).map(|d| d.count()).unwrap_or(0);
    assert_eq!(scratch_entries, 0, "a refused request left files");
    println!("{} kinds of garbage refused, each with one typed error", cases.len());
}

#[tokio::test]
async fn stopping_closes_open_sockets_and_ends_the_server() {
    let c = start_companion("stop").await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    recv(&mut ws).await;
    c.stop.send(()).unwrap();
    // The server finishes although the client never closed its socket.
    tokio::time::timeout(Duration::from_secs(10), c.server).await.expect("the server finished").unwrap().unwrap();
    let runner_thread = c.runner_thread;
    assert!(tokio::task::spawn_blocking(move || runner_thread.join()).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_disconnect_cancels_the_run_and_cleans_up() {
    let c = start_companion("disconnect").await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    recv(&mut ws).await;
    let params = lock_params(&[("procs", 4), ("duration_ms", 10_000)]);
    send(&mut ws, ClientMsg::StartRun { request: 1, lab: "lock".into(), params, seed: 5 }.to_json()).await;
    let pids = loop {
        if let ServerMsg::Started { actors, .. } = recv(&mut ws).await {
            break actors.iter().filter_map(|a| a.pid).collect::<Vec<_>>();
        }
    };
    assert_eq!(pids.len(), 4);
    drop(ws);
    // The run is cancelled: within a few seconds every worker is gone and the scratch base is empty.
    let mut clean = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let empty = std::fs::read_dir(&c.scratch).map(|d| d.count() == 0).unwrap_or(true);
        if empty && pids.iter().all(|p| !process_alive(*p)) {
            clean = true;
            break;
        }
    }
    assert!(clean, "workers or scratch files survived the disconnect");
    let _ = std::fs::remove_dir_all(&c.scratch);
}

#[tokio::test]
async fn runs_go_one_at_a_time_and_a_queued_run_is_told_its_place_and_can_be_cancelled() {
    let c = start_companion("queue").await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    recv(&mut ws).await;
    let params = lock_params(&[("procs", 2), ("duration_ms", 400)]);
    for request in [1, 2, 3] {
        let msg = ClientMsg::StartRun { request, lab: "lock".into(), params: params.clone(), seed: 1 };
        send(&mut ws, msg.to_json()).await;
    }
    // Each request is queued behind the ones before it.
    let mut positions = std::collections::BTreeMap::new();
    let mut runs = std::collections::BTreeMap::new();
    while positions.len() < 3 {
        if let ServerMsg::Queued { request, run, position, .. } = recv(&mut ws).await {
            positions.entry(request).or_insert(position);
            runs.insert(request, run);
        }
    }
    assert_eq!(positions.values().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    // The third is cancelled while it waits; the first two finish, one after the other.
    send(&mut ws, ClientMsg::Cancel { run: runs[&3] }.to_json()).await;
    let (mut finished, mut cancelled, mut running_at_once, mut running) = (Vec::new(), Vec::new(), 0, 0);
    while finished.len() + cancelled.len() < 3 {
        match recv(&mut ws).await {
            ServerMsg::Started { .. } => {
                running += 1;
                running_at_once = running_at_once.max(running);
            }
            ServerMsg::Finished { run, .. } => {
                running -= 1;
                finished.push(run);
            }
            ServerMsg::Cancelled { run, .. } => cancelled.push(run),
            _ => {}
        }
    }
    assert_eq!(finished, vec![runs[&1], runs[&2]]);
    assert_eq!(cancelled, vec![runs[&3]]);
    assert_eq!(running_at_once, 1);
}

/// The close code the companion ended the connection with.
async fn close_code(ws: &mut Socket) -> Option<tungstenite::protocol::frame::coding::CloseCode> {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the connection was closed")
}

#[tokio::test]
async fn protocol_violations_close_with_their_codes_and_other_clients_go_on() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    let c = start_companion("violations").await;
    let mut other = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    // A message over the limit: 1009.
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    let huge =
        format!(r#"{{"type":"hello","protocol":1,"pad":"{}"}}"#, "x".repeat(shared::protocol::MAX_MESSAGE_BYTES));
    let _ = ws.send(Message::Text(huge.into())).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    // Invalid UTF-8 in a text frame: 1007.
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    let _ = ws.send(Message::Frame(frame)).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Invalid));
    // The other client still talks to the companion.
    send(&mut other, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    assert!(matches!(recv(&mut other).await, ServerMsg::Hello { .. }));
}

#[tokio::test]
async fn a_run_past_the_companions_limit_is_stopped_and_leaves_nothing() {
    let c = start_companion_with_limit("limit", Duration::from_millis(500)).await;
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    recv(&mut ws).await;
    let params = lock_params(&[("procs", 3), ("duration_ms", 10_000)]);
    send(&mut ws, ClientMsg::StartRun { request: 1, lab: "lock".into(), params, seed: 5 }.to_json()).await;
    let mut pids = Vec::new();
    let error = loop {
        match recv(&mut ws).await {
            ServerMsg::Started { actors, .. } => pids = actors.iter().filter_map(|a| a.pid).collect(),
            ServerMsg::Failed { error, .. } => break error,
            other @ (ServerMsg::Finished { .. } | ServerMsg::Cancelled { .. } | ServerMsg::Error { .. }) => {
                panic!("the run was not stopped by its limit: {other:?}")
            }
            _ => {}
        }
    };
    assert!(error.contains("limit"), "{error}");
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|p| !process_alive(*p)), "a worker outlived the stopped run");
    let empty = std::fs::read_dir(&c.scratch).map(|d| d.count() == 0).unwrap_or(true);
    assert!(empty, "the stopped run's scratch directory is still there");
    let _ = std::fs::remove_dir_all(&c.scratch);
}

/// The next message `pick` takes, skipping the others.
async fn next_of<T>(ws: &mut Socket, pick: impl Fn(ServerMsg) -> Option<T>) -> T {
    loop {
        if let Some(found) = pick(recv(ws).await) {
            return found;
        }
    }
}

/// A calibration is a run like the others: it waits behind a running experiment, is cancelled there or while
/// it measures and then leaves nothing; let run, it stores what it measured and every connection hears of it.
#[tokio::test]
async fn a_calibration_queues_like_a_run_and_reaches_every_connection() {
    let c = start_companion("calibrate").await;
    let store = calibration_store("calibrate");
    let mut ws = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    let mut other = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    for socket in [&mut ws, &mut other] {
        send(socket, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
        let hello = recv(socket).await;
        assert!(matches!(hello, ServerMsg::Hello { calibration: Stored::Missing, .. }), "{hello:?}");
    }
    let params = lock_params(&[("procs", 2), ("duration_ms", 1_000)]);
    send(&mut ws, ClientMsg::StartRun { request: 1, lab: "lock".into(), params, seed: 5 }.to_json()).await;
    send(&mut ws, ClientMsg::Calibrate { request: 2 }.to_json()).await;
    let (waiting, position) = next_of(&mut ws, |m| match m {
        ServerMsg::Queued { request: 2, run, position, .. } => Some((run, position)),
        _ => None,
    })
    .await;
    assert_eq!(position, 1, "the calibration waits behind the running experiment");
    send(&mut ws, ClientMsg::Cancel { run: waiting }.to_json()).await;
    next_of(&mut ws, |m| matches!(m, ServerMsg::Cancelled { run, .. } if run == waiting).then_some(())).await;
    next_of(&mut ws, |m| matches!(m, ServerMsg::Finished { .. }).then_some(())).await;

    // Cancelled while it measures (nothing runs before it now): nothing stored, nothing left.
    send(&mut ws, ClientMsg::Calibrate { request: 3 }.to_json()).await;
    // (Its place may say 1 for a moment: the runner tells the last run's end before it takes the next.)
    let measuring = next_of(&mut ws, |m| match m {
        ServerMsg::Queued { request: 3, run, .. } => Some(run),
        _ => None,
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    send(&mut ws, ClientMsg::Cancel { run: measuring }.to_json()).await;
    next_of(&mut ws, |m| match m {
        ServerMsg::Cancelled { run, .. } if run == measuring => Some(()),
        ServerMsg::Finished { run, .. } | ServerMsg::Failed { run, .. } if run == measuring => {
            panic!("the calibration was not cancelled: {run:?}")
        }
        _ => None,
    })
    .await;
    assert!(!store.exists(), "a cancelled calibration stored something");
    let empty = std::fs::read_dir(&c.scratch).map(|d| d.count() == 0).unwrap_or(true);
    assert!(empty, "the cancelled calibration left files in the scratch base");

    send(&mut ws, ClientMsg::Calibrate { request: 4 }.to_json()).await;
    let run = next_of(&mut ws, |m| match m {
        ServerMsg::Queued { request: 4, run, .. } => Some(run),
        _ => None,
    })
    .await;
    // The run's `finished` and the connection's `calibration` travel apart: either may come first. The
    // calibration says nothing while it measures (in a debug build for tens of seconds).
    let (mut calibrated, mut finished) = (None, false);
    while calibrated.is_none() || !finished {
        match recv_within(&mut ws, Duration::from_secs(180)).await {
            ServerMsg::Calibration { calibration } => calibrated = Some(calibration),
            ServerMsg::Finished { run: done, .. } if done == run => finished = true,
            ServerMsg::Failed { error, .. } => panic!("the calibration failed: {error}"),
            _ => {}
        }
    }
    let calibrated = calibrated.unwrap();
    let calibration = calibrated.calibration().expect("a calibration").clone();
    for key in
        ["lock.cpus", "lock.turn_ns", "lock.wake_us", "mmap.scan_gbps", "watch.stat_ns", "methods.thread_start_us"]
    {
        let e = calibration.values.get(key).unwrap_or_else(|| panic!("{key} was not measured"));
        assert!(e.value > 0.0 && e.repeats >= 1, "{key}: {e:?}");
    }
    let heard = next_of(&mut other, |m| match m {
        ServerMsg::Calibration { calibration } => Some(calibration),
        _ => None,
    })
    .await;
    assert_eq!(heard, calibrated, "the other connection heard of the new calibration");
    let here = native::host::describe(&std::env::temp_dir());
    assert_eq!(
        shared::calibration::Calibration::read(&std::fs::read_to_string(&store).unwrap(), &here),
        Ok(calibration)
    );
    // A connection opened now is told it in hello.
    let mut late = connect(c.port, ORIGIN, TOKEN).await.unwrap();
    send(&mut late, ClientMsg::Hello { protocol: PROTOCOL_VERSION }.to_json()).await;
    assert!(matches!(recv(&mut late).await, ServerMsg::Hello { calibration: Stored::Calibrated { .. }, .. }));
    let empty = std::fs::read_dir(&c.scratch).map(|d| d.count() == 0).unwrap_or(true);
    assert!(empty, "the calibration left files in the scratch base");
    let _ = std::fs::remove_dir_all(store.parent().unwrap());
    let _ = std::fs::remove_dir_all(&c.scratch);
}

#[test]
fn listening_beyond_loopback_needs_the_explicit_flag() {
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_syslab"))
        .args(["serve", "--bind", "0.0.0.0", "--port", "0"])
        .env("SYSLAB_SCRATCH", std::env::temp_dir().join(format!("syslab-bind-test-{}", std::process::id())))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("refusing to listen on 0.0.0.0") && said.contains("--allow-non-loopback"), "{said}");
    assert!(refused.stdout.is_empty(), "it printed a link: {}", String::from_utf8_lossy(&refused.stdout));
}
