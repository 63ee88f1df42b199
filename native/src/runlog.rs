//! What the companion keeps of one connection's runs: every message it sent for them, so a client that missed
//! some (its outbox was full and the live stream skipped ahead) can ask for them again and end up with exactly
//! the run that was recorded. A run is kept whole until newer runs of the connection push the total past
//! [`RUN_LOG_CAP`]; then the oldest runs that have ended go first, and the client is told. The run in progress is
//! never evicted: its own event budget ([`shared::lab::MAX_RUN_EVENTS`], at 80 bytes an event) keeps it under the
//! cap (a test holds the two together).
//!
//! Resends are pulled by the connection's writer one message at a time when the live queue is empty, so what is
//! asked for again never piles up in memory: a waiting resend is two numbers.

use shared::digest::parts_digest;
use shared::protocol::{MAX_MESSAGE_BYTES, RunHead, RunId, ServerMsg, WireError};
use shared::trace::{Actor, Event};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// The most memory one connection's kept runs may take (estimated from what they hold): a run at the event
/// budget (about 80 MB) and the recent smaller ones.
pub const RUN_LOG_CAP: usize = 128 << 20;

/// The most resends that may wait at once for one connection.
pub const MAX_PENDING_RESENDS: u32 = 64;

/// Runs evicted long ago are forgotten; asking for them is then an unknown run.
const EVICTED_REMEMBERED: usize = 64;

/// One connection's runs, shared by the runner (which appends) and the connection (which resends).
#[derive(Debug)]
pub struct RunLog {
    inner: Mutex<Runs>,
    /// Wakes the writer when a resend is asked for.
    pub resend_wanted: tokio::sync::Notify,
}

#[derive(Debug)]
struct Runs {
    runs: VecDeque<LoggedRun>,
    bytes: usize,
    cap: usize,
    evicted: VecDeque<RunId>,
    resends: VecDeque<(RunId, u64, u64)>,
}

#[derive(Debug)]
struct LoggedRun {
    run: RunId,
    messages: Vec<ServerMsg>,
    bytes: usize,
    events: u64,
    over: bool,
    /// Messages of this run were left out of the live stream.
    dropped: bool,
}

/// What a message holds in memory, estimated: the enum itself and what its vectors point to. Events own no heap
/// memory of their own (a test holds them to that), so a batch is its length times an event's size.
pub fn message_bytes(msg: &ServerMsg) -> usize {
    let base = std::mem::size_of::<ServerMsg>();
    match msg {
        ServerMsg::Events { events, .. } => base + events.capacity() * std::mem::size_of::<Event>(),
        ServerMsg::Started { actors, info, .. } => {
            base + actors.len() * (std::mem::size_of::<Actor>() + 64) + info.params.len() * 64
        }
        ServerMsg::Finished { notes, digest, .. } => base + notes.len() * 128 + digest.len(),
        ServerMsg::Failed { error, .. } => base + error.len(),
        _ => base,
    }
}

impl RunLog {
    pub fn new(cap: usize) -> Self {
        RunLog {
            inner: Mutex::new(Runs {
                runs: VecDeque::new(),
                bytes: 0,
                cap,
                evicted: VecDeque::new(),
                resends: VecDeque::new(),
            }),
            resend_wanted: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Runs> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the next message of `run` (made with its sequence number and, for events, the index of the
    /// first) and hands its JSON to `send` while the log is held, so the live stream goes out in sequence order.
    /// `send` returns false when the message was left out of the live stream. Returns the runs evicted to make
    /// room, or, for a batch of several events whose JSON is over [`MAX_MESSAGE_BYTES`], gives the events back
    /// unrecorded to be split.
    pub fn append(
        &self,
        run: RunId,
        make: impl FnOnce(u64, u64) -> ServerMsg,
        send: impl FnOnce(String) -> bool,
    ) -> Result<Vec<RunId>, Vec<Event>> {
        let mut runs = self.lock();
        if !runs.runs.iter().any(|r| r.run == run) {
            runs.runs.push_back(LoggedRun {
                run,
                messages: Vec::new(),
                bytes: 0,
                events: 0,
                over: false,
                dropped: false,
            });
        }
        let Some(logged) = runs.runs.iter_mut().find(|r| r.run == run) else { return Ok(Vec::new()) };
        let msg = make(logged.messages.len() as u64, logged.events);
        let text = msg.to_json();
        match msg {
            ServerMsg::Events { events, .. } if events.len() > 1 && text.len() > MAX_MESSAGE_BYTES => {
                return Err(events);
            }
            ServerMsg::Events { ref events, .. } => logged.events += events.len() as u64,
            ServerMsg::Finished { .. } | ServerMsg::Cancelled { .. } | ServerMsg::Failed { .. } => logged.over = true,
            _ => {}
        }
        let bytes = message_bytes(&msg);
        logged.bytes += bytes;
        logged.dropped |= !send(text);
        logged.messages.push(msg);
        runs.bytes += bytes;
        Ok(runs.evict_past_cap(run))
    }

    /// The digest of `run`'s record as it stands, and its number of events: what `finished` tells the client.
    pub fn record(&self, run: RunId, notes: &[shared::i18n::Text]) -> Option<(u64, String)> {
        let runs = self.lock();
        let logged = runs.runs.iter().find(|r| r.run == run)?;
        let (info, actors) = logged.messages.iter().find_map(|m| match m {
            ServerMsg::Started { info, actors, .. } => Some((info, actors)),
            _ => None,
        })?;
        let events = logged.messages.iter().flat_map(|m| match m {
            ServerMsg::Events { events, .. } => events.as_slice(),
            _ => &[],
        });
        Some((logged.events, parts_digest(info, actors, events, notes)))
    }

    /// Queues a resend of `run`'s messages `from..to`, checked against what was sent.
    pub fn resend(&self, run: RunId, from: u64, to: u64) -> Result<(), WireError> {
        let mut runs = self.lock();
        let Some(logged) = runs.runs.iter().find(|r| r.run == run) else {
            return Err(if runs.evicted.contains(&run) {
                WireError::Evicted { run }
            } else {
                WireError::UnknownRun { run }
            });
        };
        let available = logged.messages.len() as u64;
        if from >= to || to > available {
            return Err(WireError::BadRange { run, from_seq: from, to_seq: to, available });
        }
        if runs.resends.len() as u32 >= MAX_PENDING_RESENDS {
            return Err(WireError::TooManyResends { limit: MAX_PENDING_RESENDS });
        }
        runs.resends.push_back((run, from, to));
        drop(runs);
        self.resend_wanted.notify_one();
        Ok(())
    }

    /// The next message asked for again, as JSON; a run evicted while its resend waited says so instead.
    pub fn next_resend(&self) -> Option<String> {
        let mut runs = self.lock();
        let (run, from, to) = runs.resends.pop_front()?;
        let Some(logged) = runs.runs.iter().find(|r| r.run == run) else {
            return Some(ServerMsg::Evicted { run }.to_json());
        };
        let text = logged.messages.get(from as usize).map(ServerMsg::to_json);
        if from + 1 < to {
            runs.resends.push_front((run, from + 1, to));
        }
        text
    }

    /// How far each run that lost messages from the live stream has got, for the `lagged` notice.
    pub fn heads(&self) -> Vec<RunHead> {
        self.lock()
            .runs
            .iter()
            .filter(|r| r.dropped)
            .map(|r| RunHead { run: r.run, next_seq: r.messages.len() as u64 })
            .collect()
    }

    /// The memory the kept runs take, estimated.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl Runs {
    /// Evicts the oldest runs that have ended until the log fits its cap again; never `current`.
    fn evict_past_cap(&mut self, current: RunId) -> Vec<RunId> {
        let mut evicted = Vec::new();
        while self.bytes > self.cap {
            let Some(idx) = self.runs.iter().position(|r| r.over && r.run != current) else { break };
            let Some(gone) = self.runs.remove(idx) else { break };
            self.bytes -= gone.bytes;
            tracing::info!(run = gone.run.0, bytes = gone.bytes, "evicted a run from the connection's log");
            self.evicted.push_back(gone.run);
            if self.evicted.len() > EVICTED_REMEMBERED {
                self.evicted.pop_front();
            }
            evicted.push(gone.run);
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::lab::lock::LockEvent;
    use shared::trace::{ActorId, EventKind};
    use shared::{LabId, Nanos};

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event { t: Nanos(i as u64), actor: ActorId(0), kind: EventKind::Lock(LockEvent::Released) })
            .collect()
    }

    fn log_run(log: &RunLog, run: RunId, batches: usize, per_batch: usize, delivered: bool) -> Vec<RunId> {
        let mut evicted = Vec::new();
        for _ in 0..batches {
            let batch = log.append(
                run,
                |seq, first| ServerMsg::Events { run, seq, first, events: events(per_batch) },
                |_| delivered,
            );
            evicted.extend(batch.expect("small batches fit a message"));
        }
        evicted.extend(log.append(run, |seq, _| ServerMsg::Cancelled { run, seq }, |_| delivered).expect("small"));
        evicted
    }

    /// What a message holds is estimated from the events' size: they must own no heap memory (being `Copy`).
    #[test]
    fn events_own_no_heap_memory() {
        fn copy<T: Copy>() {}
        copy::<shared::lab::lock::LockEvent>();
        copy::<shared::lab::amdahl::AmdahlEvent>();
        copy::<shared::lab::methods::MethodsEvent>();
        copy::<shared::lab::mmap::MmapEvent>();
        copy::<shared::lab::watch::WatchEvent>();
        copy::<shared::lab::io::IoEvent>();
        copy::<shared::lab::pipeline::PipelineEvent>();
    }

    #[test]
    fn a_run_at_the_event_budget_fits_the_cap() {
        let per_message = message_bytes(&ServerMsg::Events {
            run: RunId(0),
            seq: 0,
            first: 0,
            events: Vec::with_capacity(crate::runner::EVENTS_PER_MESSAGE),
        });
        let messages = crate::runner::RUN_EVENT_CEILING.div_ceil(crate::runner::EVENTS_PER_MESSAGE as u64);
        assert!((messages as usize) * per_message < RUN_LOG_CAP, "{messages} messages of {per_message} bytes");
    }

    #[test]
    fn resends_come_back_in_order_and_bad_ranges_are_typed_errors() {
        let log = RunLog::new(RUN_LOG_CAP);
        let run = RunId(1);
        log_run(&log, run, 3, 10, false);
        assert_eq!(log.heads(), vec![RunHead { run, next_seq: 4 }]);
        log.resend(run, 1, 3).expect("a range the run has");
        let again: Vec<ServerMsg> =
            std::iter::from_fn(|| log.next_resend()).map(|t| ServerMsg::parse(&t).expect("our JSON")).collect();
        assert_eq!(again.iter().map(|m| m.run_seq()).collect::<Vec<_>>(), vec![Some((run, 1)), Some((run, 2))]);
        assert!(matches!(&again[1], ServerMsg::Events { first: 20, .. }));
        assert_eq!(log.resend(RunId(9), 0, 1), Err(WireError::UnknownRun { run: RunId(9) }));
        assert!(matches!(log.resend(run, 3, 1), Err(WireError::BadRange { available: 4, .. })));
        assert!(matches!(log.resend(run, 2, 2), Err(WireError::BadRange { .. })));
        assert!(matches!(log.resend(run, 0, u64::MAX), Err(WireError::BadRange { .. })));
        for _ in 0..MAX_PENDING_RESENDS {
            log.resend(run, 0, 1).expect("room for it");
        }
        assert_eq!(log.resend(run, 0, 1), Err(WireError::TooManyResends { limit: MAX_PENDING_RESENDS }));
    }

    #[test]
    fn old_runs_go_first_past_the_cap_and_are_then_evicted_not_unknown() {
        let per_run = message_bytes(&ServerMsg::Events { run: RunId(0), seq: 0, first: 0, events: events(1000) });
        let log = RunLog::new(per_run * 5 / 2);
        assert!(log_run(&log, RunId(1), 1, 1000, true).is_empty());
        assert!(log_run(&log, RunId(2), 1, 1000, true).is_empty());
        assert_eq!(log_run(&log, RunId(3), 1, 1000, true), vec![RunId(1)]);
        assert!(log.bytes() <= per_run * 5 / 2);
        assert_eq!(log.resend(RunId(1), 0, 1), Err(WireError::Evicted { run: RunId(1) }));
        log.resend(RunId(2), 0, 1).expect("still kept");
        // The run in progress stays, whatever its size.
        let small = RunLog::new(10);
        log_run(&small, RunId(4), 2, 1000, true);
        small.resend(RunId(4), 0, 2).expect("the current run is kept");
    }

    #[test]
    fn the_record_digest_is_the_digest_of_the_trace_it_makes() {
        let trace = shared::lab::simulate(LabId::Lock, &shared::ParamSet::new(), 2).expect("defaults");
        let log = RunLog::new(RUN_LOG_CAP);
        let run = RunId(1);
        let (info, actors) = (trace.run.clone(), trace.actors.clone());
        log.append(run, |seq, _| ServerMsg::Started { run, seq, info, actors }, |_| true).expect("small");
        for batch in trace.events.chunks(100) {
            let events = batch.to_vec();
            log.append(run, |seq, first| ServerMsg::Events { run, seq, first, events }, |_| true).expect("fits");
        }
        // A batch too big for one message is given back to be split, and takes no sequence number.
        let (info, actors) = (trace.run.clone(), trace.actors.clone());
        let big = RunId(2);
        log.append(big, |seq, _| ServerMsg::Started { run: big, seq, info, actors }, |_| true).expect("small");
        let many = [trace.events.as_slice(); 40].concat();
        let refused = log.append(big, |seq, first| ServerMsg::Events { run: big, seq, first, events: many }, |_| true);
        assert!(refused.is_err());
        assert_eq!(log.heads(), vec![]);
        log.resend(big, 0, 1).expect("started is there");
        assert!(matches!(log.resend(big, 1, 2), Err(WireError::BadRange { available: 1, .. })));
        let (n, digest) = log.record(run, &trace.notes).expect("started");
        assert_eq!(n, trace.events.len() as u64);
        assert_eq!(digest, shared::digest::trace_digest(&trace));
    }
}
