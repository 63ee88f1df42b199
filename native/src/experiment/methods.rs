//! The real methods experiment: what it costs on this machine to start a unit of work as a process (this binary,
//! started as a worker that exits at once), a thread, a task on a running thread pool and an async task on a
//! running runtime; and to hand one message to another process through a pipe or to another thread through a
//! channel. Each cost is sampled many times and streamed as samples.

use super::{ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use shared::i18n::Text;
use shared::lab::methods::{Cost, MethodsEvent, MethodsParams, actors};
use shared::params::ParamSet;
use shared::trace::{ActorId, Event, EventKind};
use shared::{LabId, Nanos};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::mpsc;

/// The worker's roles: exit at once, or echo every byte back until its input closes.
pub const NOOP: &str = "noop";
pub const ECHO: &str = "echo";

/// The `__worker methods ROLE` entry.
fn worker(role: &str) -> Result<(), ExperimentError> {
    match role {
        NOOP => Ok(()),
        ECHO => {
            super::fence_worker(None)?;
            let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
            let mut byte = [0u8; 1];
            while input.read(&mut byte).map_err(ExperimentError::io("echo: reading"))? == 1 {
                output.write_all(&byte).and_then(|()| output.flush()).map_err(ExperimentError::io("echo: writing"))?;
            }
            Ok(())
        }
        other => Err(ExperimentError::Worker(format!("unknown methods worker role `{other}`"))),
    }
}

/// Streams samples to the sink in batches, stamped with the time since the run started.
struct Samples<'a> {
    ctx: &'a RunContext<'a>,
    t0: u64,
    batch: Vec<Event>,
}

impl Samples<'_> {
    /// Times `f` once and records it as a sample of `cost` (divided by `per` for round trips).
    fn time(
        &mut self,
        cost: Cost,
        per: u64,
        f: impl FnOnce() -> Result<(), ExperimentError>,
    ) -> Result<(), ExperimentError> {
        if self.ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let start = monotonic_ns();
        f()?;
        let end = monotonic_ns();
        let ev = MethodsEvent::Sample { cost, ns: (end - start) / per };
        self.batch.push(Event { t: Nanos(end - self.t0), actor: ActorId(0), kind: EventKind::Methods(ev) });
        if self.batch.len() >= 50 {
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            (self.ctx.sink)(RunUpdate::Events(std::mem::take(&mut self.batch)));
        }
    }
}

experiment_entry!(MethodsExperiment, Methods, worker = worker);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = MethodsParams::parse(params)?;
    ctx.started(LabId::Methods, params, seed, actors(Some(std::process::id())));
    let mut s = Samples { ctx, t0: monotonic_ns(), batch: Vec::new() };
    let n = p.samples;
    // Process starts are the slowest (about a millisecond each): a tenth as many, at least ten.
    for _ in 0..(n / 10).max(10) {
        s.time(Cost::ProcessStart, 1, || {
            let status = super::worker_command(ctx.worker_exe, LabId::Methods, NOOP)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .map_err(ExperimentError::io("starting a worker process"))?;
            if status.success() {
                Ok(())
            } else {
                Err(ExperimentError::Worker(format!("the no-op worker failed: {status}")))
            }
        })?;
    }
    for _ in 0..n {
        s.time(Cost::ThreadStart, 1, || {
            std::thread::spawn(|| ()).join().map_err(|_| ExperimentError::Worker("a thread panicked".into()))
        })?;
    }
    pooled_tasks(&mut s, n)?;
    async_tasks(&mut s, n)?;
    pipe_handoffs(&mut s, n, ctx)?;
    channel_handoffs(&mut s, n)?;
    s.flush();
    Ok(vec![Text::new("note.methods.halves")])
}

/// A pool of two threads fed through a channel; each sample is one empty job there and back.
fn pooled_tasks(s: &mut Samples<'_>, n: u32) -> Result<(), ExperimentError> {
    type Job = Box<dyn FnOnce() + Send>;
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    let pool: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            std::thread::spawn(move || {
                while let Ok(job) = queue.lock().map_err(|_| ()).and_then(|q| q.recv().map_err(|_| ())) {
                    job();
                }
            })
        })
        .collect();
    let (done_tx, done) = mpsc::channel::<()>();
    let result = (0..n).try_for_each(|_| {
        s.time(Cost::PooledTask, 1, || {
            let done_tx = done_tx.clone();
            jobs.send(Box::new(move || {
                let _ = done_tx.send(());
            }))
            .map_err(|_| ExperimentError::Worker("the pool stopped".into()))?;
            done.recv().map_err(|_| ExperimentError::Worker("the pool stopped".into()))
        })
    });
    drop(jobs);
    for thread in pool {
        let _ = thread.join();
    }
    result
}

/// A running two-thread tokio runtime; each sample spawns an empty task and awaits it.
fn async_tasks(s: &mut Samples<'_>, n: u32) -> Result<(), ExperimentError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .map_err(ExperimentError::io("starting an async runtime"))?;
    (0..n).try_for_each(|_| {
        s.time(Cost::AsyncTask, 1, || {
            rt.block_on(async { tokio::spawn(async {}).await })
                .map_err(|e| ExperimentError::Worker(format!("an async task failed: {e}")))
        })
    })
}

/// An echo worker process; each sample is one byte there and back through its pipes, halved.
fn pipe_handoffs(s: &mut Samples<'_>, n: u32, ctx: &RunContext<'_>) -> Result<(), ExperimentError> {
    let mut child = super::worker_command(ctx.worker_exe, LabId::Methods, ECHO)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .inspect(|child| crate::state::record(child.id()))
        .map_err(ExperimentError::io("starting the echo worker"))?;
    let (Some(mut to), Some(mut from)) = (child.stdin.take(), child.stdout.take()) else {
        super::kill_worker(&mut child);
        return Err(ExperimentError::Worker("the echo worker has no pipes".into()));
    };
    let result = (0..n).try_for_each(|_| {
        s.time(Cost::PipeHandoff, 2, || {
            let mut byte = [7u8; 1];
            to.write_all(&byte).map_err(ExperimentError::io("writing to the echo worker"))?;
            from.read_exact(&mut byte).map_err(ExperimentError::io("reading from the echo worker"))
        })
    });
    drop(to);
    super::kill_worker(&mut child);
    result
}

/// An echo thread; each sample is one message there and back through two channels, halved.
fn channel_handoffs(s: &mut Samples<'_>, n: u32) -> Result<(), ExperimentError> {
    let (ping, pings) = mpsc::sync_channel::<u8>(1);
    let (pong_tx, pongs) = mpsc::sync_channel::<u8>(1);
    let echo = std::thread::spawn(move || {
        while let Ok(v) = pings.recv() {
            if pong_tx.send(v).is_err() {
                break;
            }
        }
    });
    let result = (0..n).try_for_each(|_| {
        s.time(Cost::ChannelHandoff, 2, || {
            ping.send(7).map_err(|_| ExperimentError::Worker("the echo thread stopped".into()))?;
            pongs.recv().map(|_| ()).map_err(|_| ExperimentError::Worker("the echo thread stopped".into()))
        })
    });
    drop(ping);
    let _ = echo.join();
    result
}
