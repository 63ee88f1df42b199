//! The runner: experiments run one at a time, in the order they were asked for, each in its own scratch
//! directory. A queued run can be cancelled before it starts, a running one is stopped (workers killed,
//! scratch removed), and a client that goes away takes its runs with it. A calibration of the machine is one of
//! these runs: it waits its turn (it must not measure beside an experiment), and is cancelled the same ways.

use crate::experiment::{self, CancelFlag, ExperimentError, RunContext, RunUpdate};
use crate::outbox::{Outbox, Sent};
use crate::runlog::RunLog;
use crate::scratch::Scratch;
use shared::LabId;
use shared::params::ParamSet;
use shared::protocol::{RunId, ServerMsg};
use shared::trace::{Event, HostInfo};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The most runs that may wait at once.
pub const MAX_QUEUED: u32 = 8;

/// The most events in one message: a batch's JSON then stays well inside
/// [`shared::protocol::MAX_MESSAGE_BYTES`] (bigger events are split further when their JSON is not).
pub const EVENTS_PER_MESSAGE: usize = 1024;

/// Past this many events a run is stopped, whatever its lab: each lab stops itself at
/// [`shared::lab::MAX_RUN_EVENTS`] with a note, and this catches one that does not.
pub const RUN_EVENT_CEILING: u64 = shared::lab::MAX_RUN_EVENTS + shared::lab::MAX_RUN_EVENTS / 10;

/// Where a connection's runs go: its outbox (the live stream) and its log (what it may ask for again).
#[derive(Debug, Clone)]
pub struct Client {
    pub outbox: Outbox,
    pub log: Arc<RunLog>,
}

/// Sends one run's messages with their sequence numbers, recording each in the connection's log.
#[derive(Debug)]
struct RunChannel {
    run: RunId,
    client: Client,
}

impl RunChannel {
    fn send(&self, make: impl FnOnce(RunId, u64) -> ServerMsg) {
        let run = self.run;
        // Only a batch of events is ever given back to be split, and `send` is not used for those.
        let _ = self.record(|seq, _| make(run, seq));
    }

    /// Records a message and queues it live. A closed outbox means the client left (its run is being
    /// cancelled); a full one leaves the message out of the live stream, and the client asks for it later.
    fn record(&self, make: impl FnOnce(u64, u64) -> ServerMsg) -> Result<(), Vec<Event>> {
        let outbox = &self.client.outbox;
        // A client that has gone asks for nothing again: the rest of its run (being cancelled) is neither kept
        // nor serialised, so the cancel ends soon and its memory goes with it.
        if outbox.is_closed() {
            return Ok(());
        }
        for run in self.client.log.append(self.run, make, |text| outbox.send_text(text) == Sent::Queued)? {
            outbox.send(&ServerMsg::Evicted { run });
        }
        Ok(())
    }

    /// Sends a batch of events as messages of at most [`EVENTS_PER_MESSAGE`] events, halved again while one's
    /// JSON is over [`shared::protocol::MAX_MESSAGE_BYTES`].
    fn send_events(&self, mut events: Vec<Event>) {
        let run = self.run;
        // Each message's events get a vector of their own size: the log keeps them for the run's whole life.
        let mut pending: VecDeque<Vec<Event>> = if events.len() > EVENTS_PER_MESSAGE {
            events.chunks(EVENTS_PER_MESSAGE).map(<[Event]>::to_vec).collect()
        } else {
            events.shrink_to_fit();
            VecDeque::from([events])
        };
        while let Some(chunk) = pending.pop_front() {
            if let Err(refused) = self.record(|seq, first| ServerMsg::Events { run, seq, first, events: chunk }) {
                let (left, right) = refused.split_at(refused.len() / 2);
                pending.push_front(right.to_vec());
                pending.push_front(left.to_vec());
            }
        }
    }
}

/// What a queued run does.
#[derive(Debug)]
pub enum Work {
    /// A lab's experiment with validated parameters.
    Lab { lab: LabId, params: ParamSet, seed: u64 },
    /// Measures the machine's primitives, stores them and hands them to every connection.
    Calibrate,
}

#[derive(Debug)]
struct Job {
    conn: u64,
    request: u32,
    work: Work,
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
    /// The host's calibration: a calibration run replaces it, and every connection hears of it.
    pub calibration: crate::calibrate::Shared,
    /// Where a calibration run stores what it measured ([`crate::calibrate::store_path`]; `None`: nowhere, and
    /// the run fails saying so).
    pub calibration_store: Option<PathBuf>,
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

    /// Queues a run and tells the client its place. A lab's parameters must be validated already.
    pub fn submit(&self, conn: u64, request: u32, work: Work, client: Client) -> Result<RunId, u32> {
        let mut state = self.state();
        if state.queue.len() as u32 >= MAX_QUEUED {
            return Err(MAX_QUEUED);
        }
        state.next_run += 1;
        let run = RunId(state.next_run);
        let channel = Arc::new(RunChannel { run, client });
        let position = state.queue.len() as u32 + u32::from(state.running.is_some());
        channel.send(|run, seq| ServerMsg::Queued { request, run, seq, position });
        state.queue.push_back(Job { conn, request, work, cancel: CancelFlag::default(), channel });
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
            // A run's transient memory (and, if its client has gone, its log) is freed now: give it back.
            drop(job);
            crate::server::give_back_freed_memory();
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
    // Past the event ceiling the run is stopped, as the watchdog stops a run past its time.
    let over_budget = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    tracing::info!(run = channel.run.0, work = ?job.work, "run starts");
    let result = watched(config.run_limit, &job.cancel, &timed_out, || match &job.work {
        Work::Lab { lab, params, seed } => run_lab(job, (*lab, params, *seed), scratch.path(), config, &over_budget),
        Work::Calibrate => calibrate(job, scratch.path(), config),
    });
    // The scratch directory goes before the run's last message: a client told the run ended may rely on it.
    drop(scratch);
    match result {
        Ok(notes) => {
            // The record's size and digest go with the last message, so the client can show its copy is whole.
            let record = channel.client.log.record(channel.run, &notes).unwrap_or_default();
            let crate::runlog::Record { events, digest, messages } = record;
            channel.send(|run, seq| ServerMsg::Finished { run, seq, notes, events, digest, messages });
        }
        Err(ExperimentError::Cancelled) if over_budget.load(Ordering::SeqCst) => {
            let error = format!("the run passed the companion's ceiling of {RUN_EVENT_CEILING} events and was stopped");
            channel.send(|run, seq| ServerMsg::Failed { run, seq, error });
        }
        Err(ExperimentError::Cancelled) if timed_out.load(Ordering::SeqCst) => {
            let error = format!("the run passed its limit of {:?} and was stopped", config.run_limit);
            channel.send(|run, seq| ServerMsg::Failed { run, seq, error });
        }
        Err(ExperimentError::Cancelled) => channel.send(|run, seq| ServerMsg::Cancelled { run, seq }),
        Err(err) => {
            tracing::warn!(run = channel.run.0, %err, "run failed");
            channel.send(|run, seq| ServerMsg::Failed { run, seq, error: err.to_string() });
        }
    }
    tracing::info!(
        run = channel.run.0,
        log_bytes = channel.client.log.bytes(),
        "run ended; its scratch was removed before the last message"
    );
}

/// Runs `work` under a watchdog: a run still going after `limit` is cancelled (its workers killed, its scratch
/// removed) and `timed_out` says so.
fn watched<T>(limit: std::time::Duration, cancel: &CancelFlag, timed_out: &AtomicBool, work: impl FnOnce() -> T) -> T {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            if finished.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                timed_out.store(true, Ordering::SeqCst);
                cancel.cancel();
            }
        });
        let result = work();
        drop(done);
        result
    })
}

/// A lab's experiment, its updates recorded and streamed as they come.
fn run_lab(
    job: &Job,
    (lab, params, seed): (LabId, &ParamSet, u64),
    scratch: &Path,
    config: &RunnerConfig,
    over_budget: &AtomicBool,
) -> Result<Vec<shared::i18n::Text>, ExperimentError> {
    let channel = &job.channel;
    let recorded = AtomicU64::new(0);
    std::thread::scope(|scope| {
        // The experiment hands its updates over and goes on: recording them (serialising, the log, the
        // outbox) happens on a thread of its own, so a slow client or a big batch never holds up what is measured.
        let (updates, recorder) = std::sync::mpsc::channel::<RunUpdate>();
        let forwarding = scope.spawn(move || {
            for update in recorder {
                match update {
                    RunUpdate::Started { info, actors } => {
                        channel.send(|run, seq| ServerMsg::Started { run, seq, info, actors });
                    }
                    RunUpdate::Events(events) => channel.send_events(events),
                    RunUpdate::Reporting(_) => {}
                }
            }
        });
        let result = {
            let recorded = &recorded;
            let sink = move |update: RunUpdate| {
                if let RunUpdate::Events(events) = &update {
                    let n = events.len() as u64;
                    if recorded.fetch_add(n, Ordering::SeqCst) + n > RUN_EVENT_CEILING {
                        over_budget.store(true, Ordering::SeqCst);
                        job.cancel.cancel();
                    }
                }
                // Gone only if the recording thread panicked; the run then ends without its events.
                let _ = updates.send(update);
            };
            let ctx = RunContext {
                scratch,
                cancel: &job.cancel,
                host: &config.host,
                worker_exe: &config.worker_exe,
                sink: &sink,
                event_budget: shared::lab::MAX_RUN_EVENTS,
            };
            experiment::run(lab, params, seed, &ctx)
        };
        // Every update is recorded before the run's last message.
        let _ = forwarding.join();
        result
    })
}

/// A calibration run: measures the machine, stores what it measured for later starts, and hands it to every
/// connection (their pages simulate with it from then on).
fn calibrate(job: &Job, scratch: &Path, config: &RunnerConfig) -> Result<Vec<shared::i18n::Text>, ExperimentError> {
    let calibration = crate::calibrate::measure(scratch, &config.worker_exe, &job.cancel, None)?;
    crate::calibrate::store(&calibration, config.calibration_store.as_deref())?;
    tracing::info!(path = ?config.calibration_store, "calibrated this host");
    config.calibration.send_replace(shared::calibration::Stored::Calibrated { calibration });
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::lab::lock::LockEvent;
    use shared::trace::{ActorId, EventKind};

    #[test]
    fn a_big_batch_goes_out_in_messages_of_their_own_size_with_their_offsets() {
        let log = Arc::new(RunLog::new(crate::runlog::RUN_LOG_CAP));
        let (outbox, _rx) = crate::outbox::outbox(crate::outbox::OUTBOX_LIMIT, log.clone());
        let run = RunId(1);
        let channel = RunChannel { run, client: Client { outbox, log: log.clone() } };
        let n = 2 * EVENTS_PER_MESSAGE + 100;
        let mut events: Vec<Event> = (0..n as u64)
            .map(|t| Event { t: shared::Nanos(t), actor: ActorId(0), kind: EventKind::Lock(LockEvent::Released) })
            .collect();
        // As a batcher's vector would be: grown past what it holds.
        events.reserve(5 * n);
        channel.send_events(events);
        log.resend(run, 0, 3).expect("three messages");
        let sent: Vec<(u64, usize)> = std::iter::from_fn(|| log.next_resend())
            .map(|text| match ServerMsg::parse(&text) {
                Ok(ServerMsg::Events { first, events, .. }) => (first, events.len()),
                other => panic!("not events: {other:?}"),
            })
            .collect();
        let per = EVENTS_PER_MESSAGE;
        assert_eq!(sent, vec![(0, per), (per as u64, per), (2 * per as u64, 100)]);
        // The log holds exactly the events, not the batch's spare room.
        let base = crate::runlog::message_bytes(&ServerMsg::Events { run, seq: 0, first: 0, events: Vec::new() });
        assert_eq!(log.bytes(), 3 * base + n * std::mem::size_of::<Event>());
    }
}
