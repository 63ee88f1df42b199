//! The five servers of the I/O lab, each reading the same pipes its own way, and what each thread of them
//! records: its state changes, system calls, CPU time and every message it served.

use super::{BLOCKED_AFTER_NS, DISABLE_URING_ENV, MESSAGE, errno};
use crate::clock::monotonic_ns;
use crate::experiment::ExperimentError;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use shared::Nanos;
use shared::lab::io::ThreadState;
use shared::waits::WaitSample;
use std::time::Duration;

/// One served message: (source, seq, written at, served at, thread).
type Served = (u32, u32, u64, u64, u32);

/// What one server thread recorded.
#[derive(Debug, Default)]
pub(super) struct ThreadLog {
    pub(super) served: Vec<Served>,
    /// (when, state) as the thread entered them.
    pub(super) states: Vec<(u64, ThreadState)>,
    pub(super) cpu_ns: u64,
    pub(super) blocked_ns: u64,
    pub(super) polling_ns: u64,
    pub(super) sleeping_ns: u64,
    pub(super) syscalls: u64,
    pub(super) wasted: u64,
    /// Each message's work: (asked, achieved) nanoseconds.
    pub(super) waits: Vec<WaitSample>,
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
            let achieved = crate::wait::spin(work_ns);
            self.waits.push((work_ns, achieved));
            self.served.push((source, seq, written, monotonic_ns(), thread));
        }
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

pub(super) fn blocking(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
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

pub(super) fn threads(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
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

pub(super) fn polling(pipes: &[OwnedFd], work_ns: u64, sleep: Nanos) -> Result<Vec<ThreadLog>, ExperimentError> {
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

pub(super) fn epoll(pipes: &[OwnedFd], work_ns: u64) -> Result<Vec<ThreadLog>, ExperimentError> {
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

pub(super) fn uring(
    ring: &mut io_uring::IoUring,
    pipes: &[OwnedFd],
    work_ns: u64,
) -> Result<Vec<ThreadLog>, ExperimentError> {
    Ok(vec![timed(|log| fenced_uring::serve(ring, pipes, work_ns, log))?])
}

/// Why io_uring cannot be used here, if it cannot.
pub(super) fn uring_refusal(sources: u32) -> Result<io_uring::IoUring, String> {
    if std::env::var_os(DISABLE_URING_ENV).is_some() {
        return Err(format!("disabled by {DISABLE_URING_ENV}"));
    }
    fenced_uring::ring(sources).map_err(|e| {
        let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .map_or_else(|_| "not present".to_owned(), |v| v.trim().to_owned());
        format!("the kernel refused io_uring ({e}; kernel.io_uring_disabled = {sysctl})")
    })
}
