//! The real I/O models. For each server the companion makes K named pipes (FIFOs) in the run's scratch
//! directory, opens their read ends, starts the feeder process (this binary again, `__worker io SPEC`) which
//! opens the write ends and writes the model's seeded schedule of 16-byte messages (sequence number, source and
//! its CLOCK_MONOTONIC write time), then closes them all. The server reads until every pipe reports its end:
//! blocking reads of each pipe in turn, a blocking thread per pipe, a non-blocking polling loop, epoll, or
//! io_uring where the kernel allows it (said plainly where it does not). Each server thread counts its system
//! calls and takes its CPU time from its own thread clock; a call that slept longer than
//! [`BLOCKED_AFTER_NS`] is drawn as blocked.

use super::{ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use shared::i18n::Text;
use shared::lab::io::{IoEvent, IoParams, Server, ThreadState, actors};
use shared::params::ParamSet;
use shared::trace::{Event, EventKind};
use shared::{LabId, Nanos};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A message on a pipe: sequence number, source, write time (CLOCK_MONOTONIC ns), little-endian.
pub const MESSAGE: usize = 16;
/// A call that kept the thread longer than this is drawn as blocked (a wake-up takes longer than a call).
pub const BLOCKED_AFTER_NS: u64 = 5_000;
/// Forces the io_uring server's unavailable path (the tests use it; so can a user comparing without it).
pub const DISABLE_URING_ENV: &str = "SYSLAB_DISABLE_IO_URING";
/// The longest one server may take before the run gives up on it.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

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

// ---------------------------------------------------------------------------------------------------------
// The feeder process.

/// The `__worker io SPEC` entry: open every pipe's write end, say `ready`, wait for a line, say `go T0`, then
/// write the schedule from T0 and exit (closing the pipes: every reader sees its end).
pub fn feeder(spec_json: &str) -> Result<(), ExperimentError> {
    let spec: FeederSpec =
        serde_json::from_str(spec_json).map_err(|e| ExperimentError::Worker(format!("bad feeder spec: {e}")))?;
    super::fence_worker(Some(spec.parent_pid))?;
    rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1)).map_err(errno("setting the timer slack"))?;
    let p = IoParams::from_validated(&LabId::Io.validate(&spec.params)?);
    let pipes: Vec<OwnedFd> = (0..p.sources)
        .map(|s| rustix::fs::open(fifo(&spec.dir, s), OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()))
        .collect::<Result<_, _>>()
        .map_err(errno("opening the pipes for writing"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").and_then(|()| out.flush()).map_err(ExperimentError::io("reporting"))?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(ExperimentError::io("waiting for go"))?;
    let t0 = monotonic_ns();
    writeln!(out, "go {t0}").and_then(|()| out.flush()).map_err(ExperimentError::io("reporting"))?;
    for (seq, (at, source)) in p.schedule(spec.seed).into_iter().enumerate() {
        let due = t0 + at.0;
        loop {
            let now = monotonic_ns();
            if now >= due {
                break;
            }
            // Sleep most of the wait, spin the last bit: a write should leave on time.
            if due - now > 100_000 {
                std::thread::sleep(Duration::from_nanos(due - now - 50_000));
            }
        }
        let mut msg = [0u8; MESSAGE];
        msg[..4].copy_from_slice(&(seq as u32).to_le_bytes());
        msg[4..8].copy_from_slice(&source.to_le_bytes());
        msg[8..].copy_from_slice(&monotonic_ns().to_le_bytes());
        // 16 bytes is below PIPE_BUF: the write is atomic and whole.
        rustix::io::write(&pipes[source as usize], &msg).map_err(errno("writing a message"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The servers.

/// One served message: (source, seq, written at, served at, thread).
type Served = (u32, u32, u64, u64, u32);

/// What one server thread recorded.
#[derive(Debug, Default)]
struct ThreadLog {
    served: Vec<Served>,
    /// (when, state) as the thread entered them.
    states: Vec<(u64, ThreadState)>,
    cpu_ns: u64,
    blocked_ns: u64,
    polling_ns: u64,
    sleeping_ns: u64,
    syscalls: u64,
    wasted: u64,
}

impl ThreadLog {
    fn enter(&mut self, t: u64, state: ThreadState) {
        if self.states.last().map(|s| s.1) != Some(state) {
            self.states.push((t, state));
        }
    }

    /// Records a call that took from `before` to `after`: blocked if it slept.
    fn call(&mut self, before: u64, after: u64) {
        self.syscalls += 1;
        if after - before > BLOCKED_AFTER_NS {
            self.enter(before, ThreadState::Blocked);
            self.blocked_ns += after - before;
        }
        self.enter(after, ThreadState::Running);
    }

    /// Parses the messages in `bytes` and does each one's work.
    fn serve(&mut self, bytes: &[u8], thread: u32, work_ns: u64) {
        for msg in bytes.chunks_exact(MESSAGE) {
            let word = |r: std::ops::Range<usize>| msg[r].iter().rev().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
            let (seq, source, written) = (word(0..4) as u32, word(4..8) as u32, word(8..16));
            spin(work_ns);
            self.served.push((source, seq, written, monotonic_ns(), thread));
        }
    }
}

/// The work per message: CPU busy for `ns`.
fn spin(ns: u64) {
    let until = monotonic_ns() + ns;
    while monotonic_ns() < until {
        std::hint::spin_loop();
    }
}

fn thread_cpu_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// Runs `body` on the calling thread with its CPU time recorded in the log.
fn timed(body: impl FnOnce(&mut ThreadLog) -> Result<(), ExperimentError>) -> Result<ThreadLog, ExperimentError> {
    let mut log = ThreadLog::default();
    let cpu = thread_cpu_ns();
    log.enter(monotonic_ns(), ThreadState::Running);
    body(&mut log)?;
    log.cpu_ns = thread_cpu_ns() - cpu;
    log.enter(monotonic_ns(), ThreadState::Done);
    Ok(log)
}

/// Reads one message with a blocking read; `None` at the pipe's end.
fn read_message(fd: &OwnedFd, log: &mut ThreadLog) -> Result<Option<[u8; MESSAGE]>, ExperimentError> {
    let mut msg = [0u8; MESSAGE];
    let mut got = 0;
    while got < MESSAGE {
        let before = monotonic_ns();
        let n = rustix::io::read(fd, &mut msg[got..]).map_err(errno("reading a pipe"))?;
        log.call(before, monotonic_ns());
        if n == 0 {
            return Ok(None);
        }
        got += n;
    }
    Ok(Some(msg))
}

fn blocking(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
    let log = timed(|log| {
        let mut open: Vec<usize> = (0..pipes.len()).collect();
        while !open.is_empty() {
            let mut still = Vec::with_capacity(open.len());
            for s in open {
                if let Some(msg) = read_message(&pipes[s], log)? {
                    log.serve(&msg, 0, work_ns);
                    still.push(s);
                }
            }
            open = still;
        }
        Ok(())
    })?;
    Ok(vec![log])
}

fn threads(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = pipes
            .iter()
            .enumerate()
            .map(|(s, fd)| {
                std::thread::Builder::new().stack_size(256 << 10).spawn_scoped(scope, move || {
                    timed(|log| {
                        while let Some(msg) = read_message(fd, log)? {
                            log.serve(&msg, s as u32, work_ns);
                        }
                        Ok(())
                    })
                })
            })
            .collect::<Result<_, _>>()
            .map_err(ExperimentError::io("starting a thread per source"))?;
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(ExperimentError::Worker("a server thread panicked".into()))))
            .collect()
    })
}

fn polling(pipes: &[OwnedFd], work_ns: u64, sleep: Nanos) -> Result<Vec<ThreadLog>, ExperimentError> {
    let log = timed(|log| {
        let mut open = vec![true; pipes.len()];
        let mut buf = vec![0u8; 4_096];
        let mut polling_since: Option<u64> = None;
        while open.iter().any(|&o| o) {
            let mut found = false;
            for (s, fd) in pipes.iter().enumerate() {
                if !open[s] {
                    continue;
                }
                let before = monotonic_ns();
                let result = rustix::io::read(fd, &mut buf);
                log.syscalls += 1;
                match result {
                    Err(Errno::AGAIN) => {
                        log.wasted += 1;
                        if polling_since.is_none() {
                            polling_since = Some(before);
                            log.enter(before, ThreadState::Polling);
                        }
                    }
                    Err(e) => return Err(errno("reading a pipe")(e)),
                    Ok(n) => {
                        if let Some(since) = polling_since.take() {
                            log.polling_ns += before - since;
                        }
                        log.enter(before, ThreadState::Running);
                        if n == 0 {
                            open[s] = false;
                        } else {
                            found = true;
                            log.serve(&buf[..n - n % MESSAGE], 0, work_ns);
                        }
                    }
                }
            }
            if !found && sleep > Nanos::ZERO && open.iter().any(|&o| o) {
                let before = monotonic_ns();
                std::thread::sleep(Duration::from_nanos(sleep.0));
                log.sleeping_ns += monotonic_ns() - before;
            }
        }
        if let Some(since) = polling_since {
            log.polling_ns += monotonic_ns() - since;
        }
        log.polling_ns = log.polling_ns.saturating_sub(log.sleeping_ns);
        Ok(())
    })?;
    Ok(vec![log])
}

fn epoll(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
    use rustix::event::epoll;
    let log = timed(|log| {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(errno("creating the epoll instance"))?;
        for (s, fd) in pipes.iter().enumerate() {
            epoll::add(&ep, fd, epoll::EventData::new_u64(s as u64), epoll::EventFlags::IN)
                .map_err(errno("adding a pipe to epoll"))?;
        }
        let mut open = pipes.len();
        let mut events: Vec<epoll::Event> = Vec::with_capacity(pipes.len().max(1));
        let mut buf = vec![0u8; 4_096];
        while open > 0 {
            events.clear();
            let before = monotonic_ns();
            epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), None).map_err(errno("waiting on epoll"))?;
            log.call(before, monotonic_ns());
            for ev in &events {
                let s = ev.data.u64() as usize;
                let Some(fd) = pipes.get(s) else { continue };
                let n = rustix::io::read(fd, &mut buf).map_err(errno("reading a pipe"))?;
                log.syscalls += 1;
                if n == 0 {
                    epoll::delete(&ep, fd).map_err(errno("removing a pipe from epoll"))?;
                    open -= 1;
                } else {
                    log.serve(&buf[..n - n % MESSAGE], 0, work_ns);
                }
            }
        }
        Ok(())
    })?;
    Ok(vec![log])
}

/// io_uring: one read per pipe in flight; reap completions, serve, resubmit. The only `unsafe` of the lab.
mod fenced_uring {
    #![allow(unsafe_code)] // Submitting a read hands the kernel a buffer: io_uring has no safe interface.

    use super::{MESSAGE, ThreadLog, errno};
    use crate::clock::monotonic_ns;
    use crate::experiment::ExperimentError;
    use io_uring::{IoUring, opcode, types};
    use rustix::fd::{AsRawFd, OwnedFd};

    const BUF: usize = 4_096;

    /// The ring, or why the kernel refused it.
    pub fn ring(entries: u32) -> std::io::Result<IoUring> {
        IoUring::new(entries.next_power_of_two().max(8))
    }

    pub fn serve(
        ring: &mut IoUring,
        pipes: &[OwnedFd],
        work_ns: u64,
        log: &mut ThreadLog,
    ) -> Result<(), ExperimentError> {
        // One buffer per pipe, never moved or freed while a read into it is in flight: every read is reaped
        // before this function returns (each pipe ends with a completion of 0 bytes when the feeder exits,
        // and an error return below abandons the buffers instead of freeing them).
        let mut buffers: Vec<Box<[u8; BUF]>> = pipes.iter().map(|_| Box::new([0u8; BUF])).collect();
        let submit = |ring: &mut IoUring, buffers: &mut [Box<[u8; BUF]>], s: usize| {
            let entry = opcode::Read::new(types::Fd(pipes[s].as_raw_fd()), buffers[s].as_mut_ptr(), BUF as u32)
                .offset(u64::MAX)
                .build()
                .user_data(s as u64);
            // SAFETY: the buffer belongs to `buffers`, which outlives every in-flight read (see above), and no
            // other read into it is in flight: a pipe's read is resubmitted only after its completion.
            unsafe { ring.submission().push(&entry) }.map_err(|_| ExperimentError::Worker("io_uring queue full".into()))
        };
        let result = (|| {
            for s in 0..pipes.len() {
                submit(ring, &mut buffers, s)?;
            }
            let mut open = pipes.len();
            while open > 0 {
                let before = monotonic_ns();
                ring.submit_and_wait(1).map_err(ExperimentError::io("waiting on io_uring"))?;
                log.call(before, monotonic_ns());
                let done: Vec<(usize, i32)> = ring.completion().map(|c| (c.user_data() as usize, c.result())).collect();
                for (s, res) in done {
                    match res {
                        0 => open -= 1,
                        n if n > 0 => {
                            let n = n as usize;
                            log.serve(&buffers[s][..n - n % MESSAGE], 0, work_ns);
                            submit(ring, &mut buffers, s)?;
                        }
                        e => return Err(errno("an io_uring read")(rustix::io::Errno::from_raw_os_error(-e))),
                    }
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Reads may still be in flight: the kernel may write into these buffers until the ring is gone.
            std::mem::forget(buffers);
        }
        result
    }
}

fn uring(ring: &mut io_uring::IoUring, pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
    Ok(vec![timed(|log| fenced_uring::serve(ring, pipes, work_ns, log))?])
}

/// Why io_uring cannot be used here, if it cannot.
fn uring_refusal(sources: u32) -> Result<io_uring::IoUring, String> {
    if std::env::var_os(DISABLE_URING_ENV).is_some() {
        return Err(format!("disabled by {DISABLE_URING_ENV}"));
    }
    fenced_uring::ring(sources).map_err(|e| {
        let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .map_or_else(|_| "not present".to_owned(), |v| v.trim().to_owned());
        format!("the kernel refused io_uring ({e}; kernel.io_uring_disabled = {sysctl})")
    })
}

// ---------------------------------------------------------------------------------------------------------
// The companion's side.

/// The feeder process of one server's pass; dropping it kills and reaps it.
#[derive(Debug)]
struct Feeder(Child);

impl Drop for Feeder {
    fn drop(&mut self) {
        super::kill_worker(&mut self.0);
    }
}

pub fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = IoParams::from_validated(params);
    ctx.started(LabId::Io, params, seed, actors(None, Some(std::process::id())));
    let mut notes = Vec::new();
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
        let events = run_server(server, &p, params, seed, ctx, ring.as_mut())?;
        (ctx.sink)(RunUpdate::Events(events));
    }
    Ok(notes)
}

/// One server's pass: pipes, feeder, the server's threads, and its events with times from the feeder's start.
fn run_server(
    server: Server,
    p: &IoParams,
    params: &ParamSet,
    seed: u64,
    ctx: &RunContext<'_>,
    ring: Option<&mut io_uring::IoUring>,
) -> Result<Vec<Event>, ExperimentError> {
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
    let spec_json = serde_json::to_string(&spec).map_err(|e| ExperimentError::Worker(e.to_string()))?;
    let mut child = super::worker_command(ctx.worker_exe, LabId::Io, &spec_json)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .inspect(|child| crate::state::record(child.id()))
        .map_err(ExperimentError::io("starting the feeder"))?;
    let stdout = child.stdout.take().ok_or_else(|| ExperimentError::Worker("no feeder stdout".into()))?;
    let mut stdin = child.stdin.take().ok_or_else(|| ExperimentError::Worker("no feeder stdin".into()))?;
    let mut feeder = Feeder(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || lines.next().and_then(Result::ok).unwrap_or_default();
    if next_line() != "ready" {
        return Err(ExperimentError::Worker("the feeder did not get ready".into()));
    }
    // The feeder holds every write end now: start it, and serve until every pipe ends. A cancel kills the
    // feeder, which ends every pipe, so the server returns soon.
    stdin.write_all(b"go\n").map_err(ExperimentError::io("starting the feeder"))?;
    let t0: u64 = next_line()
        .strip_prefix("go ")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| ExperimentError::Worker("the feeder did not start".into()))?;
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
                let _ = feeder.0.kill();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        serving.join().unwrap_or_else(|_| Err(ExperimentError::Worker("the server panicked".into())))
    })?;
    let _ = feeder.0.wait();
    drop(pipes);
    let _ = std::fs::remove_dir_all(&dir);
    if ctx.cancel.is_cancelled() {
        return Err(ExperimentError::Cancelled);
    }
    Ok(events(server, t0, &logs))
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
