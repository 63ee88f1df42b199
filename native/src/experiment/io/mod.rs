//! The real I/O models. For each server the companion makes K named pipes (FIFOs) in the run's scratch
//! directory, opens their read ends, starts the feeder process (this binary again, `__worker io SPEC`) which
//! opens the write ends and writes the model's seeded schedule of 16-byte messages (sequence number, source and
//! its CLOCK_MONOTONIC write time), then closes them all. The server reads until every pipe reports its end:
//! blocking reads of each pipe in turn, a blocking thread per pipe, a non-blocking polling loop, epoll, or
//! io_uring where the kernel allows it (said plainly where it does not). Each server thread counts its system
//! calls and takes its CPU time from its own thread clock; a call that slept longer than
//! [`BLOCKED_AFTER_NS`] is drawn as blocked.

mod feeder;
mod servers;

use feeder::{FeederReport, feeder};
use servers::{ThreadLog, blocking, epoll, polling, threads, uring, uring_refusal};

use super::link::{Heard, Inbox, Link};
use super::{ExperimentError, RunContext, RunUpdate};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use shared::i18n::Text;
use shared::lab::io::{IoEvent, IoParams, Server, actors};
use shared::params::ParamSet;
use shared::trace::{Event, EventKind};
use shared::waits::{WaitAccuracy, WaitKind, WaitSample};
use shared::{LabId, Nanos};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A message on a pipe: sequence number, source, write time (CLOCK_MONOTONIC ns), little-endian.
pub const MESSAGE: usize = 16;
/// A call that kept the thread longer than this is drawn as blocked (a wake-up takes longer than a call).
pub const BLOCKED_AFTER_NS: u64 = 5_000;
/// Forces the io_uring server's unavailable path (the tests use it; so can a user comparing without it).
pub const DISABLE_URING_ENV: &str = "SYSLAB_DISABLE_IO_URING";
/// The longest one server may take before the run gives up on it.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest the feeder may take to open the pipes, and to start once told.
const FEEDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the feeder process is told, as JSON in its argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeederSpec {
    pub params: ParamSet,
    pub seed: u64,
    pub dir: PathBuf,
    pub parent_pid: u32,
}

fn fifo(dir: &Path, source: u32) -> PathBuf {
    dir.join(format!("s{source:04}"))
}

fn errno(what: &'static str) -> impl FnOnce(Errno) -> ExperimentError {
    move |e| ExperimentError::io(what)(e.into())
}

experiment_entry!(IoExperiment, Io, worker = feeder);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = IoParams::parse(params)?;
    ctx.started(LabId::Io, params, seed, actors(None, Some(std::process::id())));
    let mut notes = Vec::new();
    let (mut waits, mut last) = (Vec::new(), Nanos::ZERO);
    for server in Server::ALL {
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let mut ring = None;
        if server == Server::Uring {
            match uring_refusal(p.sources) {
                Ok(r) => ring = Some(r),
                Err(why) => {
                    notes.push(Text::new("note.io.uring_unavailable").with("why", why));
                    let ev = IoEvent::Unavailable { server };
                    (ctx.sink)(RunUpdate::Events(vec![Event {
                        t: Nanos::ZERO,
                        actor: server.actor(),
                        kind: EventKind::Io(ev),
                    }]));
                    continue;
                }
            }
        }
        let (events, server_waits) = run_server(server, &p, params, seed, ctx, ring.as_mut())?;
        waits.extend(server_waits);
        last = events.last().map_or(last, |e| last.max(e.t));
        (ctx.sink)(RunUpdate::Events(events));
    }
    // Every server's work per message, against what was asked.
    if let Some(accuracy) = WaitAccuracy::of(WaitKind::Work, &waits) {
        notes.extend(accuracy.note());
        (ctx.sink)(RunUpdate::Events(vec![Event {
            t: last,
            actor: shared::lab::io::FEEDER_ACTOR,
            kind: EventKind::Waits(accuracy),
        }]));
    }
    Ok(notes)
}

/// One server's pass: pipes, feeder, the server's threads; its events with times from the feeder's start, and
/// its work's waits.
fn run_server(
    server: Server,
    p: &IoParams,
    params: &ParamSet,
    seed: u64,
    ctx: &RunContext<'_>,
    ring: Option<&mut io_uring::IoUring>,
) -> Result<(Vec<Event>, Vec<WaitSample>), ExperimentError> {
    let dir = ctx.scratch.join(server.key());
    std::fs::create_dir_all(&dir).map_err(ExperimentError::io("creating the pipes' directory"))?;
    for s in 0..p.sources {
        rustix::fs::mknodat(rustix::fs::CWD, fifo(&dir, s), rustix::fs::FileType::Fifo, Mode::from_raw_mode(0o600), 0)
            .map_err(errno("making a pipe"))?;
    }
    // Read ends first, without blocking (a FIFO's open waits for the other end otherwise); the blocking servers
    // and io_uring then clear O_NONBLOCK.
    let nonblocking = matches!(server, Server::Polling | Server::Epoll);
    let pipes: Vec<OwnedFd> = (0..p.sources)
        .map(|s| {
            let fd =
                rustix::fs::open(fifo(&dir, s), OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())?;
            if !nonblocking {
                rustix::fs::fcntl_setfl(fd.as_fd(), OFlags::empty())?;
            }
            Ok(fd)
        })
        .collect::<Result<_, Errno>>()
        .map_err(errno("opening the pipes for reading"))?;

    let spec = FeederSpec { params: params.clone(), seed, dir: dir.clone(), parent_pid: std::process::id() };
    let (tx, rx) = std::sync::mpsc::channel::<Heard<(), FeederReport>>();
    let mut feeder = Link::spawn(ctx.worker_exe, LabId::Io, (), "the feeder".into(), &spec, &tx, |_| {})?;
    drop(tx);
    let mut inbox = Inbox::new(rx);
    let mut next = |waiting_for: &str| -> Result<FeederReport, ExperimentError> {
        let heard = inbox.next(FEEDER_TIMEOUT)?;
        heard
            .map(|((), report, _)| report)
            .ok_or_else(|| ExperimentError::Worker(format!("the feeder did not {waiting_for}")))
    };
    if next("get ready")? != FeederReport::Ready {
        return Err(ExperimentError::Worker("the feeder did not get ready".into()));
    }
    // The feeder holds every write end now: start it, and serve until every pipe ends. A cancel kills the
    // feeder, which ends every pipe, so the server returns soon.
    feeder.go()?;
    let FeederReport::Started { t0 } = next("start")? else {
        return Err(ExperimentError::Worker("the feeder did not start".into()));
    };
    let work_ns = p.work.0;
    let logs = std::thread::scope(|scope| {
        let serving = scope.spawn(|| match server {
            Server::Blocking => blocking(&pipes, work_ns),
            Server::Threads => threads(&pipes, work_ns),
            Server::Polling => polling(&pipes, work_ns, p.poll_sleep),
            Server::Epoll => epoll(&pipes, work_ns),
            Server::Uring => match ring {
                Some(ring) => uring(ring, &pipes, work_ns),
                None => Err(ExperimentError::Worker("no io_uring".into())),
            },
        });
        let started = std::time::Instant::now();
        while !serving.is_finished() {
            if ctx.cancel.is_cancelled() || started.elapsed() > SERVER_TIMEOUT {
                let _ = feeder.kill();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        serving.join().unwrap_or_else(|_| Err(ExperimentError::Worker("the server panicked".into())))
    })?;
    feeder.wait();
    drop(pipes);
    let _ = std::fs::remove_dir_all(&dir);
    if ctx.cancel.is_cancelled() {
        return Err(ExperimentError::Cancelled);
    }
    let waits = logs.iter().flat_map(|l| l.waits.iter().copied()).collect();
    Ok((events(server, t0, &logs), waits))
}

/// A server's logs as trace events, with times from the feeder's start.
fn events(server: Server, t0: u64, logs: &[ThreadLog]) -> Vec<Event> {
    let at = |t: u64| Nanos(t.saturating_sub(t0));
    let mut out = Vec::new();
    let ev = |t: u64, kind: IoEvent| Event { t: at(t), actor: server.actor(), kind: EventKind::Io(kind) };
    let mut end = t0;
    for (thread, log) in logs.iter().enumerate() {
        for &(t, state) in &log.states {
            out.push(ev(t, IoEvent::State { server, thread: thread as u32, state }));
            end = end.max(t);
        }
        for &(source, seq, written, served, thread) in &log.served {
            let ready = IoEvent::Ready { server, source, seq };
            out.push(Event { t: at(written), actor: shared::lab::io::FEEDER_ACTOR, kind: EventKind::Io(ready) });
            out.push(ev(served, IoEvent::Served { server, source, seq, thread }));
        }
    }
    let sum = |f: fn(&ThreadLog) -> u64| logs.iter().map(f).sum::<u64>();
    out.push(ev(
        end,
        IoEvent::Cost {
            server,
            cpu_ns: sum(|l| l.cpu_ns),
            blocked_ns: sum(|l| l.blocked_ns),
            polling_ns: sum(|l| l.polling_ns),
            sleeping_ns: sum(|l| l.sleeping_ns),
            syscalls: sum(|l| l.syscalls),
            wasted: sum(|l| l.wasted),
            threads: logs.len() as u32,
        },
    ));
    out.sort_by_key(|e| e.t);
    out
}
