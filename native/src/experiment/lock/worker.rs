//! A lock worker: one real process of the lock experiment. It loops think → request → hold → release on the
//! shared file with flock(2) or a lock file, drawing its times from the same seeded stream as the simulated
//! process of the same index, waits them precisely ([`Waiter`]: a "hold 10 µs" holds 10 µs, not the 60 a short
//! sleep lasts), and reports each step with its CLOCK_MONOTONIC time, and each wait with what it took, in
//! records it writes out only between two turns at the lock.

use super::report::Reporter;
use super::{COUNTER_FILE, LOCK_FILE, WorkerSpec};
use crate::clock::monotonic_ns;
use crate::experiment::ExperimentError;
use crate::wait::Waiter;
use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;
use shared::Nanos;
use shared::lab::lock::{AcquireMode, Demo, LockEvent, LockKind, LockParams};
use shared::rng::SimRng;
use shared::waits::WaitKind;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

/// How long the kill demonstration's victim holds the lock waiting for its SIGKILL.
const VICTIM_WAIT_SECS: u64 = 30;

pub fn main(spec_json: &str) -> Result<(), ExperimentError> {
    let spec: WorkerSpec =
        serde_json::from_str(spec_json).map_err(|e| ExperimentError::Worker(format!("bad worker spec: {e}")))?;
    crate::experiment::fence_worker(Some(spec.parent_pid))?;
    // Wait as long as asked: a plain sleep would stretch every short hold and think time, and the measured run
    // would no longer be the scenario the simulation models.
    let waiter = Waiter::for_this_thread().map_err(ExperimentError::io("setting up precise waits"))?;
    let params = shared::LabId::Lock.validate(&spec.params)?;
    let p = LockParams::parse(&params)?;
    let dir = Path::new(&spec.dir);
    let counter = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(COUNTER_FILE))
        .map_err(ExperimentError::io("opening the counter file"))?;
    let mut worker = Worker {
        p,
        stop: StopRequest::new().map_err(ExperimentError::io("watching for the companion's stop"))?,
        counter,
        deadline: spec.t0_ns + p.duration.0,
        rng: SimRng::new(spec.seed, u64::from(spec.idx)),
        out: Reporter::new(io::stdout().lock()).map_err(ExperimentError::io("saying hello"))?,
        waiter,
    };
    let result = if spec.rogue { worker.rogue_loop() } else { worker.lock_loop(spec.idx, dir) };
    worker.out.finish(monotonic_ns()).map_err(ExperimentError::io("reporting"))?;
    result.map_err(ExperimentError::io("lock worker"))
}

/// Whether the companion has asked this worker to stop: it closes the worker's stdin. Looked at no more than
/// every [`STOP_CHECK_NS`], so the loop does not pay a system call a turn for it.
struct StopRequest {
    next_check: u64,
    asked: bool,
}

const STOP_CHECK_NS: u64 = 2_000_000;

impl StopRequest {
    fn new() -> io::Result<StopRequest> {
        rustix::fs::fcntl_setfl(io::stdin().as_fd(), rustix::fs::OFlags::NONBLOCK)?;
        Ok(StopRequest { next_check: 0, asked: false })
    }

    fn asked(&mut self, now: u64) -> bool {
        if !self.asked && now >= self.next_check {
            self.next_check = now + STOP_CHECK_NS;
            let mut byte = [0u8; 8];
            // Nothing to read yet: go on. The end of the stream, a line, or a broken stdin: stop.
            self.asked = !matches!(rustix::io::read(io::stdin().as_fd(), &mut byte), Err(Errno::AGAIN));
        }
        self.asked
    }
}

/// A wait at least this long is preceded by writing out what was recorded: a worker killed during it (the
/// grace of a stop is shorter) loses nothing, and a write costs nothing next to such a wait.
const LONG_WAIT_NS: u64 = 1_000_000;

/// What one worker process works with.
struct Worker<W: Write> {
    p: LockParams,
    stop: StopRequest,
    counter: File,
    /// When to stop asking for the lock, on CLOCK_MONOTONIC.
    deadline: u64,
    rng: SimRng,
    out: Reporter<W>,
    waiter: Waiter,
}

impl<W: Write> Worker<W> {
    /// Waits a time drawn around `mean` from the same stream as the simulated process, and reports what it took.
    /// A mean of 0 asks for no wait: nothing to report.
    fn wait_around(&mut self, mean: Nanos, wait: WaitKind) -> io::Result<()> {
        let asked = self.p.dist.sample(mean, &mut self.rng).0;
        if mean.0 > 0 {
            if asked >= LONG_WAIT_NS {
                self.out.flush(monotonic_ns())?;
            }
            let achieved = self.waiter.wait(asked);
            self.out.waited(monotonic_ns(), wait, asked, achieved);
        }
        Ok(())
    }

    /// Process `idx`'s loop: think, request, hold (reading and writing the counter if it writes), release.
    fn lock_loop(&mut self, idx: u32, dir: &Path) -> io::Result<()> {
        let p = self.p;
        let kind = p.kind_of(idx);
        let victim = p.demo == Demo::KillHolder && idx == 0;
        let kill_at = self.deadline - p.duration.0 + p.kill_at().0;
        // Each worker opens the file itself: a flock belongs to an open file description, not to the file.
        let locked = OpenOptions::new().read(true).write(true).open(dir.join(COUNTER_FILE))?;
        let lock_path = dir.join(LOCK_FILE);
        self.wait_around(p.think, WaitKind::Think)?;
        loop {
            let mut now = monotonic_ns();
            if now >= self.deadline || self.stop.asked(now) {
                break;
            }
            // Between two turns at the lock: where a batch of records is written out. One clock read per event:
            // the request is now, unless writing the batch took time.
            if self.out.maybe_flush(now)? {
                now = monotonic_ns();
            }
            self.out.emit(now, LockEvent::Requested { kind });
            let turn = Turn { deadline: self.deadline, stop: &mut self.stop, out: &mut self.out, waiter: &self.waiter };
            if !acquire(&p, kind, &locked, &lock_path, turn)? {
                self.out.emit(monotonic_ns(), LockEvent::GaveUp);
                return Ok(());
            }
            let acquired_at = monotonic_ns();
            self.out.emit(acquired_at, LockEvent::Acquired { kind });
            if victim && acquired_at >= kill_at {
                // The kill demonstration's victim: tell the companion it holds the lock, then hold on until the
                // companion's SIGKILL lands (bounded, in case it never does).
                self.out.flush(acquired_at)?;
                std::thread::sleep(Duration::from_secs(VICTIM_WAIT_SECS));
            }
            let read = (kind == LockKind::Exclusive).then(|| read_counter(&self.counter)).transpose()?;
            self.wait_around(p.hold, WaitKind::Hold)?;
            if let Some(read) = read {
                write_counter(&self.counter, read + 1)?;
                self.out.emit(monotonic_ns(), LockEvent::CounterWrite { value: read + 1, locked: true });
            }
            // Stamped before letting go, so no waiter's `Acquired` can carry an earlier time than this release.
            self.out.emit(monotonic_ns(), LockEvent::Released);
            release(&p, &locked, &lock_path)?;
            self.wait_around(p.think, WaitKind::Think)?;
        }
        Ok(())
    }

    /// The rogue writer: read-modify-write of the counter without ever asking for the lock.
    fn rogue_loop(&mut self) -> io::Result<()> {
        let p = self.p;
        self.wait_around(p.think, WaitKind::Think)?;
        loop {
            let now = monotonic_ns();
            if now >= self.deadline || self.stop.asked(now) {
                return Ok(());
            }
            self.out.maybe_flush(now)?;
            let read = read_counter(&self.counter)?;
            self.wait_around(p.hold, WaitKind::Hold)?;
            write_counter(&self.counter, read + 1)?;
            self.out.emit(monotonic_ns(), LockEvent::CounterWrite { value: read + 1, locked: false });
            self.wait_around(p.think, WaitKind::Think)?;
        }
    }
}

/// What a request for the lock works with besides the lock itself.
struct Turn<'a, W: Write> {
    deadline: u64,
    stop: &'a mut StopRequest,
    out: &'a mut Reporter<W>,
    waiter: &'a Waiter,
}

/// Takes the lock; `false` if a non-blocking request was still refused when the run ended or was stopped.
fn acquire<W: Write>(
    p: &LockParams,
    kind: LockKind,
    locked: &File,
    lock_path: &Path,
    turn: Turn<'_, W>,
) -> io::Result<bool> {
    let Turn { deadline, stop, out, waiter } = turn;
    let (blocking_op, nonblocking_op) = match kind {
        LockKind::Exclusive => (FlockOperation::LockExclusive, FlockOperation::NonBlockingLockExclusive),
        LockKind::Shared => (FlockOperation::LockShared, FlockOperation::NonBlockingLockShared),
    };
    loop {
        let attempt = match p.mode {
            // A blocked worker's records wait for its next turn: writing them out here would add a system call
            // to every request.
            AcquireMode::Blocking => {
                flock(locked, blocking_op).map_err(io::Error::from)?;
                return Ok(true);
            }
            AcquireMode::NonBlocking => match flock(locked, nonblocking_op) {
                Ok(()) => Ok(()),
                Err(e) if e == Errno::WOULDBLOCK => Err(()),
                Err(e) => return Err(e.into()),
            },
            AcquireMode::LockFile => match OpenOptions::new().write(true).create_new(true).open(lock_path) {
                Ok(mut file) => {
                    // The holder's pid in the file is what lets a person find (and judge) a stale lock file.
                    writeln!(file, "{}", std::process::id())?;
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(()),
                Err(e) => return Err(e),
            },
        };
        if attempt.is_ok() {
            return Ok(true);
        }
        let now = monotonic_ns();
        out.failed_attempt(now);
        if now >= deadline || stop.asked(now) {
            return Ok(false);
        }
        let achieved = waiter.wait(p.retry.0);
        out.waited(monotonic_ns(), WaitKind::Retry, p.retry.0, achieved);
    }
}

fn release(p: &LockParams, locked: &File, lock_path: &Path) -> io::Result<()> {
    match p.mode {
        AcquireMode::LockFile => std::fs::remove_file(lock_path),
        AcquireMode::Blocking | AcquireMode::NonBlocking => flock(locked, FlockOperation::Unlock).map_err(Into::into),
    }
}

/// The counter is 20 decimal digits at offset 0, so every write replaces it whole.
pub(super) fn read_counter(file: &File) -> io::Result<u64> {
    let mut buf = [0u8; 20];
    file.read_exact_at(&mut buf, 0)?;
    std::str::from_utf8(&buf)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "the counter file does not hold a number"))
}

pub(super) fn write_counter(file: &File, value: u64) -> io::Result<()> {
    file.write_all_at(format!("{value:020}").as_bytes(), 0)
}
