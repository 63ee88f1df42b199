//! The runner: experiments run one at a time, in the order they were asked for, each in its own scratch
//! directory. A queued run can be cancelled before it starts, a running one is stopped (workers killed,
//! scratch removed), and a client that goes away takes its runs with it.

use crate::experiment::{self, CancelFlag, ExperimentError, RunContext, RunUpdate};
use crate::outbox::Outbox;
use crate::scratch::Scratch;
use shared::LabId;
use shared::params::ParamSet;
use shared::protocol::{RunId, ServerMsg};
use shared::trace::HostInfo;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The most runs that may wait at once.
pub const MAX_QUEUED: u32 = 8;

/// Sends one run's messages with their sequence numbers.
#[derive(Debug)]
struct RunChannel {
    run: RunId,
    seq: Mutex<u64>,
    tx: Outbox,
}

impl RunChannel {
    fn send(&self, make: impl FnOnce(RunId, u64) -> ServerMsg) {
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        // A closed outbox means the client left; its run is being cancelled. A full one drops the message and
        // counts it: the sequence number still advances, so the client sees the gap.
        let _ = self.tx.send(&make(self.run, *seq));
        *seq += 1;
    }
}

#[derive(Debug)]
struct Job {
    conn: u64,
    request: u32,
    lab: LabId,
    params: ParamSet,
    seed: u64,
    cancel: CancelFlag,
    channel: Arc<RunChannel>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Job>,
    running: Option<(u64, RunId, CancelFlag)>,
    next_run: u64,
    shutting_down: bool,
}

/// The handle the server holds.
#[derive(Debug, Clone)]
pub struct Runner {
    shared: Arc<(Mutex<State>, Condvar)>,
}

#[derive(Debug)]
pub struct RunnerConfig {
    pub scratch_base: PathBuf,
    pub worker_exe: PathBuf,
    pub host: HostInfo,
    /// The longest a run may go on before the runner stops it.
    pub run_limit: std::time::Duration,
}

/// The companion's run limit: every lab's own budget is well inside it.
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

impl Runner {
    /// Starts the runner's thread.
    pub fn start(config: RunnerConfig) -> (Runner, std::thread::JoinHandle<()>) {
        let runner = Runner { shared: Arc::new((Mutex::new(State::default()), Condvar::new())) };
        let worker = runner.clone();
        let handle = std::thread::spawn(move || worker.work(&config));
        (runner, handle)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a run and tells the client its place. Parameters must be validated already.
    pub fn submit(
        &self,
        conn: u64,
        request: u32,
        lab: LabId,
        params: ParamSet,
        seed: u64,
        tx: Outbox,
    ) -> Result<RunId, u32> {
        let mut state = self.state();
        if state.queue.len() as u32 >= MAX_QUEUED {
            return Err(MAX_QUEUED);
        }
        state.next_run += 1;
        let run = RunId(state.next_run);
        let channel = Arc::new(RunChannel { run, seq: Mutex::new(0), tx });
        let position = state.queue.len() as u32 + u32::from(state.running.is_some());
        channel.send(|run, seq| ServerMsg::Queued { request, run, seq, position });
        state.queue.push_back(Job { conn, request, lab, params, seed, cancel: CancelFlag::default(), channel });
        self.shared.1.notify_all();
        Ok(run)
    }

    /// Cancels a run of connection `conn`; false if it has no such run.
    pub fn cancel(&self, conn: u64, run: RunId) -> bool {
        let mut state = self.state();
        if let Some((owner, running, flag)) = &state.running
            && *owner == conn
            && *running == run
        {
            flag.cancel();
            return true;
        }
        let Some(idx) = state.queue.iter().position(|j| j.conn == conn && j.channel.run == run) else {
            return false;
        };
        if let Some(job) = state.queue.remove(idx) {
            job.channel.send(|run, seq| ServerMsg::Cancelled { run, seq });
        }
        Self::announce_positions(&state);
        true
    }

    /// Cancels everything of a connection that went away.
    pub fn cancel_connection(&self, conn: u64) {
        let mut state = self.state();
        if let Some((owner, _, flag)) = &state.running
            && *owner == conn
        {
            flag.cancel();
        }
        state.queue.retain(|j| j.conn != conn);
        Self::announce_positions(&state);
    }

    /// Cancels everything and stops the runner's thread after the current run has cleaned up.
    pub fn shutdown(&self) {
        let mut state = self.state();
        state.shutting_down = true;
        if let Some((_, _, flag)) = &state.running {
            flag.cancel();
        }
        for job in state.queue.drain(..) {
            job.channel.send(|run, seq| ServerMsg::Cancelled { run, seq });
        }
        self.shared.1.notify_all();
    }

    fn announce_positions(state: &State) {
        let ahead = u32::from(state.running.is_some());
        for (i, job) in state.queue.iter().enumerate() {
            let request = job.request;
            job.channel.send(|run, seq| ServerMsg::Queued { request, run, seq, position: ahead + i as u32 });
        }
    }

    fn work(&self, config: &RunnerConfig) {
        loop {
            let job = {
                let mut state = self.state();
                loop {
                    if state.shutting_down {
                        return;
                    }
                    if let Some(job) = state.queue.pop_front() {
                        state.running = Some((job.conn, job.channel.run, job.cancel.clone()));
                        Self::announce_positions(&state);
                        break job;
                    }
                    state = self.shared.1.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            };
            run_job(&job, config);
            self.state().running = None;
        }
    }
}

fn run_job(job: &Job, config: &RunnerConfig) {
    let channel = &job.channel;
    let scratch = match Scratch::create(&config.scratch_base, channel.run.0) {
        Ok(scratch) => scratch,
        Err(err) => {
            channel.send(|run, seq| ServerMsg::Failed {
                run,
                seq,
                error: format!("creating a scratch directory: {err}"),
            });
            return;
        }
    };
    let sink = |update: RunUpdate| match update {
        RunUpdate::Started { info, actors } => channel.send(|run, seq| ServerMsg::Started { run, seq, info, actors }),
        RunUpdate::Events(events) => channel.send(|run, seq| ServerMsg::Events { run, seq, events }),
    };
    let ctx = RunContext {
        scratch: scratch.path(),
        cancel: &job.cancel,
        host: &config.host,
        worker_exe: &config.worker_exe,
        sink: &sink,
    };
    tracing::info!(run = channel.run.0, lab = %job.lab, "run starts");
    // A watchdog: a run still going after the limit is cancelled (its workers killed, its scratch removed).
    let timed_out = std::sync::atomic::AtomicBool::new(false);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let (timed_out, cancel) = (&timed_out, &job.cancel);
        scope.spawn(move || {
            if finished.recv_timeout(config.run_limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                cancel.cancel();
            }
        });
        let result = experiment::run(job.lab, &job.params, job.seed, &ctx);
        drop(done);
        result
    });
    // The scratch directory goes before the run's last message: a client told the run ended may rely on it.
    drop(scratch);
    match result {
        Ok(notes) => channel.send(|run, seq| ServerMsg::Finished { run, seq, notes }),
        Err(ExperimentError::Cancelled) if timed_out.load(std::sync::atomic::Ordering::SeqCst) => {
            let error = format!("the run passed its limit of {:?} and was stopped", config.run_limit);
            channel.send(|run, seq| ServerMsg::Failed { run, seq, error });
        }
        Err(ExperimentError::Cancelled) => channel.send(|run, seq| ServerMsg::Cancelled { run, seq }),
        Err(err) => {
            tracing::warn!(run = channel.run.0, %err, "run failed");
            channel.send(|run, seq| ServerMsg::Failed { run, seq, error: err.to_string() });
        }
    }
    tracing::info!(run = channel.run.0, "run ended; its scratch was removed before the last message");
}
