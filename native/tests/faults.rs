//! Faults in the middle of every lab's experiment, 50 times each, against the real `syslab serve`: the page
//! cancels the run, the page closes its socket cleanly, the connection is reset (RST, no close frame), and the
//! companion is told to stop (SIGTERM and Ctrl-C's SIGINT, alternating). After each, within 2 seconds, every
//! process group of the run is empty and the scratch base holds no run directory; after a signal the companion
//! has exited and removed its state file as well. A sweep's point after its first (measured whole) goes through
//! the same faults: a sweep's runs are ordinary runs, one after another. The pipeline across processes leaves
//! no message queue either.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use native::spawned::SpawnedCompanion;
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, RunId, ServerMsg};
use shared::{LabId, ParamSet, ParamValue};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

mod common;

const ROUNDS: usize = 50;
const DEADLINE: Duration = Duration::from_secs(2);
const ORIGIN: &str = "http://127.0.0.1:8080";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Cancel,
    CleanClose,
    Reset,
    Signal,
}

/// A `syslab serve` process of this test, greeted.
async fn serve(base: &Path) -> SpawnedCompanion {
    SpawnedCompanion::start(Path::new(env!("CARGO_BIN_EXE_syslab")), base, ORIGIN).await.unwrap()
}

async fn connect(serve: &SpawnedCompanion) -> Socket {
    let url = format!("ws://127.0.0.1:{}/ws?token={}", serve.port, serve.token);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Origin", ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(&mut ws, ClientMsg::Hello { protocol: PROTOCOL_VERSION }).await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Hello { .. }));
    ws
}

async fn send(ws: &mut Socket, msg: ClientMsg) {
    ws.send(Message::Text(msg.to_json().into())).await.unwrap();
}

async fn recv(ws: &mut Socket) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("a message in time");
        if let Message::Text(text) = frame.expect("open").expect("a frame") {
            return ServerMsg::parse(&text).expect("a server message");
        }
    }
}

/// Starts a run and returns once it is in the middle (its first events have arrived and, for a lab that runs
/// worker processes, one is alive), with the process groups of its workers: the actors' pids and whatever else
/// the companion has started by then.
async fn start_mid_run(ws: &mut Socket, serve: &SpawnedCompanion, lab: &Lab, seed: u64) -> (RunId, Vec<u32>) {
    let Lab { id: lab, params, runs_workers, sweep_from } = lab;
    // A sweep's point after its first: the first point measured whole, then the next asked for, as the page does.
    if let Some(first) = sweep_from {
        send(ws, ClientMsg::StartRun { request: 2, lab: lab.as_str().into(), params: first.clone(), seed }).await;
        loop {
            match recv(ws).await {
                ServerMsg::Finished { .. } => break,
                ServerMsg::Failed { error, .. } => panic!("{lab:?}: the sweep's first point failed: {error:?}"),
                _ => {}
            }
        }
    }
    let start = ClientMsg::StartRun { request: 1, lab: lab.as_str().into(), params: params.clone(), seed };
    send(ws, start).await;
    let (run, mut groups) = loop {
        match recv(ws).await {
            ServerMsg::Started { run, actors, .. } => {
                break (run, actors.iter().filter_map(|a| a.pid).collect::<Vec<_>>());
            }
            ServerMsg::Queued { .. } => {}
            other => panic!("{lab:?}: expected the run to start, got {other:?}"),
        }
    };
    loop {
        match recv(ws).await {
            ServerMsg::Events { events, .. } if !events.is_empty() => break,
            ServerMsg::Events { .. } => {}
            other => panic!("{lab:?}: expected events in the middle of the run, got {other:?}"),
        }
    }
    let since = Instant::now();
    loop {
        let children = common::processes_with_parent(serve.pid).1;
        if !children.is_empty() || !runs_workers || since.elapsed() > Duration::from_secs(10) {
            groups.extend(children);
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    groups.retain(|pid| *pid != serve.pid);
    groups.sort_unstable();
    groups.dedup();
    (run, groups)
}

/// What is left of a run: process groups with a member, children of a companion still running, run
/// directories and (after a signal) state files in the scratch base.
fn leftovers(base: &Path, groups: &[u32], companion: Option<u32>) -> Vec<String> {
    let mut left: Vec<String> = groups
        .iter()
        .filter(|pgid| {
            let pid = i32::try_from(**pgid).ok().and_then(rustix::process::Pid::from_raw).unwrap();
            rustix::process::test_kill_process_group(pid).is_ok()
        })
        .map(|pgid| format!("process group {pgid}"))
        .collect();
    if let Some(companion) = companion {
        left.extend(common::processes_with_parent(companion).1.iter().map(|pid| format!("child process {pid}")));
    }
    let entries = std::fs::read_dir(base).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("run-") || (companion.is_none() && name.starts_with("state-")) {
            left.push(name);
        }
    }
    left
}

/// Waits until nothing of the run is left; fails with what is left once the deadline has passed.
async fn settled(what: &str, since: Instant, mut left: impl FnMut() -> Vec<String>) -> Duration {
    loop {
        let now = left();
        if now.is_empty() {
            return since.elapsed();
        }
        assert!(since.elapsed() < DEADLINE, "{what}: left {DEADLINE:?} after the fault: {now:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One fault, `ROUNDS` times, in the middle of `lab`'s experiment; returns the slowest cleanup and in how many
/// rounds worker processes were alive at the fault.
async fn fault_loop(lab: &Lab, fault: Fault, base: &Path) -> (Duration, usize) {
    let (mut slowest, mut with_workers) = (Duration::ZERO, 0);
    // Cancel and disconnects go to one companion; a signal ends its companion, so each round starts one.
    let shared_serve = if fault == Fault::Signal { None } else { Some(serve(base).await) };
    for round in 0..ROUNDS {
        let what = format!("{:?}, {fault:?} #{round}", lab.id);
        let own_serve = if fault == Fault::Signal { Some(serve(base).await) } else { None };
        let serve = own_serve.as_ref().or(shared_serve.as_ref()).unwrap();
        let mut ws = connect(serve).await;
        let (run, groups) = start_mid_run(&mut ws, serve, lab, round as u64).await;
        with_workers += usize::from(!groups.is_empty());
        let since = Instant::now();
        // The socket stays open through the cleanup after a cancel or a signal.
        let _open = match fault {
            Fault::Cancel => {
                send(&mut ws, ClientMsg::Cancel { run }).await;
                Some(ws)
            }
            Fault::CleanClose => {
                ws.close(None).await.unwrap();
                drop(ws);
                None
            }
            Fault::Reset => {
                if let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
                    tcp.set_zero_linger().unwrap();
                }
                drop(ws);
                None
            }
            Fault::Signal => {
                let signal = if round % 2 == 0 { rustix::process::Signal::TERM } else { rustix::process::Signal::INT };
                let pid = rustix::process::Pid::from_raw(i32::try_from(serve.pid).unwrap()).unwrap();
                rustix::process::kill_process(pid, signal).unwrap();
                Some(ws)
            }
        };
        let companion = (fault != Fault::Signal).then_some(serve.pid);
        // A run of the pattern across processes made a message queue, named for its companion and its runs of
        // the pattern (one a repeat; a fault comes in the first).
        let queues = || common::queues_left(serve.pid, 8 * (round as u32 + 1));
        let took = settled(&what, since, || [leftovers(base, &groups, companion), queues()].concat()).await;
        if let Some(mut own) = own_serve {
            let status = tokio::time::timeout(DEADLINE, own.child.wait()).await.expect("the companion exits");
            assert!(status.unwrap().success(), "{what}: the companion's exit");
        }
        slowest = slowest.max(took);
    }
    if let Some(mut serve) = shared_serve {
        serve.child.kill().await.unwrap();
    }
    (slowest, with_workers)
}

/// A lab under test: parameters for a run that starts quickly and would go on for seconds, and whether its
/// experiment runs worker processes (the others run threads of the companion: their cleanup shows in the
/// scratch directory and the companion's exit).
struct Lab {
    id: LabId,
    params: ParamSet,
    runs_workers: bool,
    /// For a sweep: the parameters of its first point, measured whole before the faulted one starts.
    sweep_from: Option<ParamSet>,
}

impl Lab {
    /// `id` at the parameters `pairs` (the rest default), not a sweep.
    fn at(id: LabId, pairs: &[(&str, ParamValue)], runs_workers: bool) -> Lab {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        Lab { id, params: id.validate(&given).expect("valid parameters"), runs_workers, sweep_from: None }
    }
}

/// Every fault loop for a lab; one that runs worker processes must have had them alive at every fault.
async fn every_fault(id: LabId, pairs: &[(&str, i64)], runs_workers: bool) {
    let pairs: Vec<(&str, ParamValue)> = pairs.iter().map(|(k, v)| (*k, ParamValue::Int(*v))).collect();
    every_fault_of(&Lab::at(id, &pairs, runs_workers), id.as_str()).await;
}

/// A sweep's second point faulted, after its first ran whole: the sweep's runs are runs like any other.
async fn every_fault_in_a_sweep() {
    use ParamValue::Int;
    let first = Lab::at(LabId::Lock, &[("procs", Int(2)), ("duration_ms", Int(20)), ("repeats", Int(1))], true);
    let faulted = Lab::at(LabId::Lock, &[("procs", Int(3)), ("duration_ms", Int(10_000)), ("repeats", Int(1))], true);
    let lab = Lab { sweep_from: Some(first.params), ..faulted };
    every_fault_of(&lab, "lock-sweep").await;
}

/// The mmap lab's write passes faulted in their first pass, with the file open for writing and mapped. Its
/// PROT_READ worker lives for the few milliseconds the kernel takes to kill it, so no fault can be aimed at it:
/// it dies with its parent (the parent-death signal) and is in the state file like every worker.
async fn every_fault_of_the_mmap_writes() {
    let pairs = [("mode", ParamValue::Text("write".into())), ("size_mib", ParamValue::Int(64))];
    every_fault_of(&Lab::at(LabId::Mmap, &pairs, false), "mmap-write").await;
}

/// The pipeline's producers and consumers as processes over a message queue: the queue goes with the run too.
async fn every_fault_of_the_pipeline_across_processes() {
    let pairs = [
        ("pattern", ParamValue::Text("processes".into())),
        ("items", ParamValue::Int(2_000)),
        ("work_us", ParamValue::Int(20_000)),
    ];
    every_fault_of(&Lab::at(LabId::Pipeline, &pairs, true), "pipeline-processes").await;
}

async fn every_fault_of(lab: &Lab, name: &str) {
    let id = lab.id;
    let base: PathBuf = common::base().join(format!("faults-{name}"));
    let _ = std::fs::remove_dir_all(&base);
    for fault in [Fault::Cancel, Fault::CleanClose, Fault::Reset, Fault::Signal] {
        let (slowest, with_workers) = fault_loop(lab, fault, &base).await;
        println!(
            "{name}: {ROUNDS} × {fault:?}: nothing left (workers alive at {with_workers} faults), slowest cleanup {slowest:?}"
        );
        if lab.runs_workers {
            assert_eq!(with_workers, ROUNDS, "{id:?}: a fault came before the workers were up");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// Each lab's case: parameters for a run that starts quickly and would go on for seconds, and whether it runs
/// worker processes. The match has no wildcard, so a lab added to `LabId` does not compile here without its case.
fn fault_case(id: LabId) -> (&'static [(&'static str, i64)], bool) {
    match id {
        LabId::Lock => (&[("procs", 3), ("duration_ms", 10_000)], true),
        LabId::Amdahl => (&[("work_ms", 10), ("repeats", 5), ("max_threads", 32)], false),
        LabId::Methods => (&[("samples", 2_000)], false),
        LabId::Mmap => (&[("size_mib", 16)], false),
        LabId::Watch => (&[("files", 100), ("per_dir", 10), ("changes", 2_000), ("rate", 10)], true),
        LabId::Io => (&[("sources", 16), ("requests", 200), ("rate", 1_000)], true),
        LabId::Pipeline => (&[("items", 2_000), ("work_us", 20_000)], false),
    }
}

/// Every lab of the registry through every fault loop, two labs at a time (each on a thread and runtime of its
/// own, as separate tests were).
#[test]
fn every_lab_survives_every_fault() {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                loop {
                    let case = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    match LabId::ALL.get(case) {
                        Some(&id) => {
                            let (pairs, runs_workers) = fault_case(id);
                            runtime.block_on(every_fault(id, pairs, runs_workers));
                        }
                        // After the labs, a sweep.
                        None if case == LabId::ALL.len() => runtime.block_on(every_fault_in_a_sweep()),
                        None if case == LabId::ALL.len() + 1 => runtime.block_on(every_fault_of_the_mmap_writes()),
                        None if case == LabId::ALL.len() + 2 => {
                            runtime.block_on(every_fault_of_the_pipeline_across_processes());
                        }
                        None => break,
                    }
                }
            });
        }
    });
}
