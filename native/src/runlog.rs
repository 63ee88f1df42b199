//! What the companion keeps of one connection's runs: every message it sent for them, so a client that missed
//! some (its outbox was full and the live stream skipped ahead) can ask for them again and end up with exactly
//! the run that was recorded. A run is kept whole until newer runs of the connection push the total past
//! [`RUN_LOG_CAP`]; then the oldest runs that have ended go first, and the client is told. The run in progress is
//! never evicted: its own event budget ([`shared::lab::MAX_RUN_EVENTS`], at 80 bytes an event) keeps it under the
//! cap (a test holds the two together). Every connection's log is also in the companion's [`LogBook`], which
//! keeps them all within [`ALL_LOGS_CAP`]: many clients that stop reading cannot each keep 128 MiB, the oldest
//! ended runs of any connection go first (runs run one at a time, so only one is ever in progress).
//!
//! Resends are pulled by the connection's writer one message at a time when the live queue is empty, so what is
//! asked for again never piles up in memory: a waiting resend is two numbers.

use shared::digest::{message_hash, message_share, parts_digest};
use shared::protocol::{MAX_MESSAGE_BYTES, RunHead, RunId, ServerMsg, WireError};
use shared::trace::{Actor, Event};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The most memory one connection's kept runs may take (estimated from what they hold): a run at the event
/// budget (about 80 MB) and the recent smaller ones.
pub const RUN_LOG_CAP: usize = 128 << 20;

/// The most memory every connection's kept runs may take together: a run at the budget and the recent ones of
/// whichever connection (a companion serves one person's page, and a harness's many clients must not multiply it).
pub const ALL_LOGS_CAP: usize = 128 << 20;

/// The most resends that may wait at once for one connection.
pub const MAX_PENDING_RESENDS: u32 = 64;

/// Runs evicted long ago are forgotten; asking for them is then an unknown run.
const EVICTED_REMEMBERED: usize = 64;

/// Every connection's log, so that together they stay within a cap.
#[derive(Debug)]
pub struct LogBook {
    logs: Mutex<Vec<Weak<RunLog>>>,
    total: AtomicUsize,
    cap: usize,
    /// Numbers the runs as they end, so the oldest ended one anywhere is known.
    ended: AtomicU64,
}

impl LogBook {
    pub fn new(cap: usize) -> Arc<LogBook> {
        Arc::new(LogBook { logs: Mutex::new(Vec::new()), total: AtomicUsize::new(0), cap, ended: AtomicU64::new(0) })
    }

    /// A new connection's log, within `cap` of its own and the book's.
    pub fn open(self: &Arc<Self>, cap: usize) -> Arc<RunLog> {
        let log = Arc::new(RunLog::in_book(cap, self.clone()));
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.retain(|l| l.strong_count() > 0);
        logs.push(Arc::downgrade(&log));
        log
    }

    /// The memory every log takes, estimated.
    pub fn bytes(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Evicts the oldest ended runs of any connection until the book fits its cap. Each log is locked alone.
    fn enforce(&self) {
        while self.total.load(Ordering::SeqCst) > self.cap {
            let logs: Vec<Arc<RunLog>> =
                self.logs.lock().unwrap_or_else(|e| e.into_inner()).iter().filter_map(Weak::upgrade).collect();
            let oldest = logs.iter().filter_map(|log| Some((log.lock().oldest_ended()?, log))).min_by_key(|(n, _)| *n);
            let Some((_, log)) = oldest else { return };
            if !log.evict_oldest_ended() {
                return;
            }
        }
    }
}

/// One connection's runs, shared by the runner (which appends) and the connection (which resends).
#[derive(Debug)]
pub struct RunLog {
    inner: Mutex<Runs>,
    /// Wakes the writer when a resend is asked for.
    pub resend_wanted: tokio::sync::Notify,
    book: Arc<LogBook>,
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
    /// The run's number among every ended run of the book, once it has ended.
    ended: Option<u64>,
    /// The sum of its messages' shares of the messages digest.
    messages_sum: u64,
    /// Messages of this run were left out of the live stream.
    dropped: bool,
}

/// A finished run's record, as `finished` tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub events: u64,
    pub digest: String,
    pub messages: String,
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
    /// A log in a book of its own, with no cap but `cap`.
    pub fn new(cap: usize) -> Self {
        RunLog::in_book(cap, LogBook::new(usize::MAX))
    }

    fn in_book(cap: usize, book: Arc<LogBook>) -> Self {
        RunLog {
            inner: Mutex::new(Runs {
                runs: VecDeque::new(),
                bytes: 0,
                cap,
                evicted: VecDeque::new(),
                resends: VecDeque::new(),
            }),
            resend_wanted: tokio::sync::Notify::new(),
            book,
        }
    }

    /// Evicts this log's oldest ended run; false if it has none.
    fn evict_oldest_ended(&self) -> bool {
        let mut runs = self.lock();
        let Some(idx) = runs.runs.iter().enumerate().filter_map(|(i, r)| Some((r.ended?, i))).min().map(|(_, i)| i)
        else {
            return false;
        };
        let freed = runs.evict(idx);
        self.book.total.fetch_sub(freed, Ordering::SeqCst);
        true
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
                ended: None,
                messages_sum: 0,
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
            ServerMsg::Finished { .. } | ServerMsg::Cancelled { .. } | ServerMsg::Failed { .. } => {
                logged.ended = Some(self.book.ended.fetch_add(1, Ordering::SeqCst));
            }
            _ => {}
        }
        let bytes = message_bytes(&msg);
        logged.bytes += bytes;
        let seq = logged.messages.len() as u64;
        logged.messages_sum = logged.messages_sum.wrapping_add(message_share(seq, message_hash(&text)));
        logged.dropped |= !send(text);
        logged.messages.push(msg);
        runs.bytes += bytes;
        self.book.total.fetch_add(bytes, Ordering::SeqCst);
        let evicted = runs.evict_past_cap(run);
        let freed: usize = evicted.iter().map(|(_, b)| b).sum();
        self.book.total.fetch_sub(freed, Ordering::SeqCst);
        drop(runs);
        self.book.enforce();
        Ok(evicted.into_iter().map(|(r, _)| r).collect())
    }

    /// What `finished` tells the client of `run`'s record as it stands: its number of events, its trace digest
    /// and the digest of its messages so far.
    pub fn record(&self, run: RunId, notes: &[shared::i18n::Text]) -> Option<Record> {
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
        let digest = parts_digest(info, actors, events, notes);
        Some(Record { events: logged.events, digest, messages: format!("{:016x}", logged.messages_sum) })
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

impl Drop for RunLog {
    fn drop(&mut self) {
        self.book.total.fetch_sub(self.lock().bytes, Ordering::SeqCst);
    }
}

impl Runs {
    /// Evicts the oldest runs that have ended until the log fits its cap again; never `current`. Returns each
    /// one evicted with the bytes it freed.
    fn evict_past_cap(&mut self, current: RunId) -> Vec<(RunId, usize)> {
        let mut evicted = Vec::new();
        while self.bytes > self.cap {
            let Some(idx) = self.runs.iter().position(|r| r.ended.is_some() && r.run != current) else { break };
            let run = self.runs[idx].run;
            evicted.push((run, self.evict(idx)));
        }
        evicted
    }

    /// The end number of the oldest ended run, if any.
    fn oldest_ended(&self) -> Option<u64> {
        self.runs.iter().filter_map(|r| r.ended).min()
    }

    /// Evicts the run at `idx`, remembering its id; returns the bytes it freed.
    fn evict(&mut self, idx: usize) -> usize {
        let Some(gone) = self.runs.remove(idx) else { return 0 };
        self.bytes -= gone.bytes;
        tracing::info!(run = gone.run.0, bytes = gone.bytes, "evicted a run from a connection's log");
        self.evicted.push_back(gone.run);
        if self.evicted.len() > EVICTED_REMEMBERED {
            self.evicted.pop_front();
        }
        gone.bytes
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
        assert!((messages as usize) * per_message < RUN_LOG_CAP.min(ALL_LOGS_CAP), "{messages} of {per_message} bytes");
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
    fn the_book_evicts_the_oldest_ended_run_of_any_connection() {
        let per_run = message_bytes(&ServerMsg::Events { run: RunId(0), seq: 0, first: 0, events: events(1000) });
        let book = LogBook::new(per_run * 5 / 2);
        let (stalled, busy) = (book.open(RUN_LOG_CAP), book.open(RUN_LOG_CAP));
        log_run(&stalled, RunId(1), 1, 1000, false);
        log_run(&busy, RunId(2), 1, 1000, true);
        assert!(book.bytes() <= per_run * 5 / 2);
        // A third run, on the busy connection: the stalled one's older run goes, not the busy one's.
        log_run(&busy, RunId(3), 1, 1000, true);
        assert_eq!(stalled.resend(RunId(1), 0, 1), Err(WireError::Evicted { run: RunId(1) }));
        busy.resend(RunId(2), 0, 1).expect("still kept");
        assert!(book.bytes() <= per_run * 5 / 2, "{} > {}", book.bytes(), per_run * 5 / 2);
        // A connection that goes gives its memory back to the book.
        let before = book.bytes();
        drop(busy);
        assert!(book.bytes() < before);
        assert_eq!(book.bytes(), stalled.bytes());
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
        let record = log.record(run, &trace.notes).expect("started");
        assert_eq!(record.events, trace.events.len() as u64);
        assert_eq!(record.digest, shared::digest::trace_digest(&trace));
    }
}
