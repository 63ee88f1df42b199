//! A run as a client receives it. Messages may arrive in any order (the live stream skips ahead when the client
//! falls behind; the gaps come back later as resends), some twice; [`LiveRun`] folds them in, names the gaps so
//! they can be asked for ([`LiveRun::poll_requests`]) and hands out the trace only once every message of the run
//! is there ([`LiveRun::take_trace`]). A figure computed from a trace with a hole would be a false figure: an
//! exclusive lock whose `released` was lost looks held twice.
//!
//! Appending a message costs time in proportion to its events, never to the run: batches are kept by sequence
//! number and joined once, at the end.

use crate::digest::{message_hash, message_share};
use crate::i18n::Text;
use crate::protocol::{ClientMsg, RunId, ServerMsg, WireError};
use crate::trace::{Actor, Event, RunInfo, Trace};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Where a live run stands, for the client.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveStatus {
    Queued {
        position: u32,
    },
    Running,
    Finished,
    Cancelled,
    /// Why: the companion's words (an experiment's error, in English), or the page's own (the connection closed).
    Failed(Text),
}

/// How much of a run has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Messages of the run received so far (each counted once).
    pub messages: u64,
    /// Events received so far.
    pub events: u64,
    /// Messages known to exist that have not arrived.
    pub missing_messages: u64,
    /// Events known to exist that have not arrived (exact once the run's record has arrived, a lower bound before).
    pub missing_events: u64,
    /// Messages that arrived a second time and were ignored.
    pub duplicates: u64,
    /// Messages asked for again so far.
    pub resent_asked: u64,
}

/// Whether the trace handed out is the one the companion recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every message is the one the companion recorded (the messages' digests agree), and so is the number of
    /// events; `digest` names the record (its trace digest, as the companion computed it).
    Verified { digest: String },
    /// The messages' digests differ: the figures must not be shown.
    Mismatch { ours: String, companion: String },
    /// The companion sent no digest (a cancelled or failed run): complete by sequence numbers only.
    Unrecorded,
}

/// What the companion says about its record of a finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    events: u64,
    digest: String,
    messages: String,
}

/// A run being received.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    pub run: RunId,
    status: LiveStatus,
    /// The sequence number of the message that set `status` (a resent old `queued` must not undo `started`).
    status_seq: Option<u64>,
    started: Option<(RunInfo, Vec<Actor>)>,
    batches: BTreeMap<u64, Vec<Event>>,
    /// Every sequence number below this one has arrived.
    contiguous: u64,
    /// Sequence numbers at or above `contiguous` that have arrived.
    beyond: BTreeSet<u64>,
    /// The run has at least this many messages (the highest sequence number seen or told, plus one).
    head: u64,
    /// The sequence number of the run's last message (finished, cancelled or failed), once it has arrived.
    last: Option<u64>,
    notes: Vec<Text>,
    record: Option<Record>,
    events: u64,
    /// The highest event index known to exist, plus one (from the batches' offsets).
    events_known: u64,
    /// The sum of the shares of every message but the last (`crate::digest::message_share`).
    messages_sum: u64,
    /// Sequence numbers already asked for again (below this, all of them).
    requested_below: u64,
    duplicates: u64,
    resent_asked: u64,
    /// Why the run can no longer be completed (the companion no longer keeps it, the connection closed).
    lost: Option<Text>,
    /// The trace was handed out; the batches went with it.
    delivered: bool,
}

impl LiveRun {
    pub fn new(run: RunId) -> Self {
        LiveRun {
            run,
            status: LiveStatus::Queued { position: 0 },
            status_seq: None,
            started: None,
            batches: BTreeMap::new(),
            contiguous: 0,
            beyond: BTreeSet::new(),
            head: 0,
            last: None,
            notes: Vec::new(),
            record: None,
            events: 0,
            events_known: 0,
            messages_sum: 0,
            requested_below: 0,
            duplicates: 0,
            resent_asked: 0,
            lost: None,
            delivered: false,
        }
    }

    /// Folds one message in, given the hash of the text it came as ([`message_hash`]). Messages of other
    /// runs, duplicates and messages without a sequence number change nothing; the return value says whether
    /// this one did.
    pub fn handle(&mut self, msg: ServerMsg, text_hash: u64) -> bool {
        let Some((run, seq)) = msg.run_seq() else { return false };
        if run != self.run {
            return false;
        }
        if self.has(seq) {
            self.duplicates += 1;
            return false;
        }
        self.mark(seq);
        let terminal =
            matches!(msg, ServerMsg::Finished { .. } | ServerMsg::Cancelled { .. } | ServerMsg::Failed { .. });
        if !terminal {
            self.messages_sum = self.messages_sum.wrapping_add(message_share(seq, text_hash));
        }
        self.head = self.head.max(seq.saturating_add(1));
        match msg {
            ServerMsg::Queued { position, .. } => self.set_status(seq, LiveStatus::Queued { position }),
            ServerMsg::Started { info, actors, .. } => {
                self.started = Some((info, actors));
                self.set_status(seq, LiveStatus::Running);
            }
            ServerMsg::Events { first, events, .. } => {
                self.set_status(seq, LiveStatus::Running);
                self.events += events.len() as u64;
                self.events_known = self.events_known.max(first.saturating_add(events.len() as u64));
                if !self.delivered {
                    self.batches.insert(seq, events);
                }
            }
            ServerMsg::Finished { notes, events, digest, messages, .. } => {
                self.notes = notes;
                self.events_known = self.events_known.max(events);
                self.record = Some(Record { events, digest, messages });
                self.end_with(seq, LiveStatus::Finished);
            }
            ServerMsg::Cancelled { .. } => self.end_with(seq, LiveStatus::Cancelled),
            ServerMsg::Failed { error, .. } => self.end_with(seq, LiveStatus::Failed(Text::Literal(error))),
            ServerMsg::Hello { .. }
            | ServerMsg::Calibration { .. }
            | ServerMsg::Error { .. }
            | ServerMsg::Lagged { .. }
            | ServerMsg::Evicted { .. } => {}
        }
        true
    }

    /// A message newer than the one that set the status sets it, until the run's last message has arrived.
    fn set_status(&mut self, seq: u64, status: LiveStatus) {
        if self.last.is_none() && self.status_seq.is_none_or(|s| seq > s) {
            self.status = status;
            self.status_seq = Some(seq);
        }
    }

    /// The same for a message not received as text (a test's, or one made in this process): hashed as the
    /// companion would have sent it.
    pub fn handle_parsed(&mut self, msg: ServerMsg) -> bool {
        let hash = message_hash(&msg.to_json());
        self.handle(msg, hash)
    }

    fn end_with(&mut self, seq: u64, status: LiveStatus) {
        self.last = Some(seq);
        self.status = status;
        self.status_seq = Some(seq);
    }

    /// The companion says the run has messages up to `next_seq` (excluded): those not here are gaps.
    pub fn handle_head(&mut self, next_seq: u64) {
        self.head = self.head.max(next_seq);
    }

    /// The run can no longer be completed, for `why`; its figures stay withheld.
    pub fn handle_lost(&mut self, why: Text) {
        if !self.is_complete() && self.lost.is_none() {
            self.lost = Some(why);
        }
    }

    /// The connection closed, for `why`: a run still going was cancelled by the companion, and whatever is
    /// missing can no longer be asked for.
    pub fn handle_closed(&mut self, why: Text) {
        if self.last.is_none() {
            self.status = LiveStatus::Failed(why.clone());
        }
        self.handle_lost(why);
    }

    fn has(&self, seq: u64) -> bool {
        seq < self.contiguous || self.beyond.contains(&seq)
    }

    fn mark(&mut self, seq: u64) {
        // Sequence numbers come from the companion; saturating keeps an absurd one from overflowing.
        if seq == self.contiguous {
            self.contiguous = self.contiguous.saturating_add(1);
            while self.beyond.remove(&self.contiguous) {
                self.contiguous = self.contiguous.saturating_add(1);
            }
        } else {
            self.beyond.insert(seq);
        }
    }

    /// The ranges of sequence numbers known to exist that have not arrived, in order.
    pub fn missing(&self) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut from = self.contiguous;
        for &seq in &self.beyond {
            if seq > from {
                gaps.push(from..seq);
            }
            from = seq.saturating_add(1);
        }
        if self.head > from {
            gaps.push(from..self.head);
        }
        gaps
    }

    /// The gaps not asked for yet, to ask the companion for; each is asked for once (the companion's resends are
    /// not dropped, so a gap asked for is filled unless the run is lost).
    pub fn poll_requests(&mut self) -> Vec<Range<u64>> {
        if self.lost.is_some() || self.delivered {
            return Vec::new();
        }
        let below = self.requested_below;
        let asks: Vec<Range<u64>> =
            self.missing().into_iter().filter(|r| r.end > below).map(|r| r.start.max(below)..r.end).collect();
        if let Some(last) = asks.last() {
            self.requested_below = last.end;
        }
        self.resent_asked = asks.iter().fold(self.resent_asked, |n, r| n.saturating_add(r.end - r.start));
        asks
    }

    pub fn status(&self) -> &LiveStatus {
        &self.status
    }

    /// Nothing more of the run is coming live: its last message arrived (whether or not every message before it
    /// did), or it was lost.
    pub fn is_over(&self) -> bool {
        self.last.is_some() || self.lost.is_some()
    }

    /// Every message of the run is here: its last one and all before it.
    pub fn is_complete(&self) -> bool {
        let all_arrived = self.last.is_some_and(|last| self.contiguous > last) && self.started.is_some();
        all_arrived || self.delivered
    }

    /// Why the run cannot be completed, if it cannot.
    pub fn lost(&self) -> Option<&Text> {
        self.lost.as_ref()
    }

    pub fn progress(&self) -> Progress {
        let missing_messages = self.missing().iter().fold(0u64, |n, r| n.saturating_add(r.end - r.start));
        Progress {
            messages: self.contiguous.saturating_add(self.beyond.len() as u64),
            events: self.events,
            missing_messages,
            missing_events: self.events_known.saturating_sub(self.events),
            duplicates: self.duplicates,
            resent_asked: self.resent_asked,
        }
    }

    /// The whole trace, once the run is complete: the batches joined in sequence order and put in time order
    /// (stable, as the companion orders its record). It is handed out once; the batches go with it.
    pub fn take_trace(&mut self) -> Option<(Trace, Verification)> {
        if self.delivered || !self.is_complete() {
            return None;
        }
        let (info, actors) = self.started.take()?;
        let batches = std::mem::take(&mut self.batches);
        let mut events = Vec::with_capacity(self.events as usize);
        for (_, batch) in batches {
            events.extend(batch);
        }
        let mut trace = Trace { run: info, actors, events, notes: std::mem::take(&mut self.notes) };
        trace.sort_events();
        self.delivered = true;
        let verification = match &self.record {
            None => Verification::Unrecorded,
            Some(record) => {
                let ours = format!("{:016x}", self.messages_sum);
                if ours == record.messages && record.events == trace.events.len() as u64 {
                    Verification::Verified { digest: record.digest.clone() }
                } else {
                    Verification::Mismatch { ours, companion: record.messages.clone() }
                }
            }
        };
        Some((trace, verification))
    }
}

/// What a client did with a message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Handled {
    /// The runs it changed.
    pub runs: Vec<RunId>,
    /// Whether one of them reached a milestone worth showing at once (it started, ended, became complete or was
    /// lost), rather than with the next progress update.
    pub milestone: bool,
    /// What to ask the companion for: the gaps the message revealed.
    pub asks: Vec<ClientMsg>,
    /// The message was about the runs only (a `lagged` notice, an eviction, a refused resend): nothing else needs
    /// to see it.
    pub consumed: bool,
}

/// Every run of a connection being received: routes the companion's messages to their runs and says what to ask
/// for again. The page's connection and the native clients (tests, the load harness) share it.
#[derive(Debug, Clone, Default)]
pub struct LiveRuns {
    runs: BTreeMap<RunId, LiveRun>,
}

/// Where a run stands, for telling when it reaches a milestone.
fn stage(run: &LiveRun) -> (std::mem::Discriminant<LiveStatus>, bool, bool) {
    (std::mem::discriminant(&run.status), run.is_complete(), run.lost.is_some())
}

impl LiveRuns {
    pub fn get(&self, run: RunId) -> Option<&LiveRun> {
        self.runs.get(&run)
    }

    pub fn get_mut(&mut self, run: RunId) -> Option<&mut LiveRun> {
        self.runs.get_mut(&run)
    }

    /// Folds in a message from the companion as it came, as text.
    pub fn handle_text(&mut self, text: &str) -> Result<Handled, WireError> {
        let msg = ServerMsg::parse(text)?;
        Ok(self.handle(msg, message_hash(text)))
    }

    /// The same for a message not received as text (hashed as the companion would have sent it).
    pub fn handle_parsed(&mut self, msg: ServerMsg) -> Handled {
        let hash = message_hash(&msg.to_json());
        self.handle(msg, hash)
    }

    /// Folds a message from the companion in, given the hash of its text.
    pub fn handle(&mut self, msg: ServerMsg, text_hash: u64) -> Handled {
        let mut out = Handled::default();
        match msg {
            ServerMsg::Lagged { runs, .. } => {
                out.consumed = true;
                for head in runs {
                    self.touch(head.run, &mut out, |live| live.handle_head(head.next_seq));
                }
            }
            ServerMsg::Evicted { run } => {
                out.consumed = true;
                self.touch(run, &mut out, |live| live.handle_lost(Text::new("ui.live.evicted")));
            }
            ServerMsg::Error {
                request: None,
                error:
                    ref
                    error @ (WireError::Evicted { run } | WireError::BadRange { run, .. } | WireError::UnknownRun { run }),
            } if self.runs.get(&run).is_some_and(|live| live.resent_asked > 0) => {
                // A resend of ours was refused: what it asked for will not come.
                out.consumed = true;
                let why = error.text();
                self.touch(run, &mut out, |live| live.handle_lost(why));
            }
            other => {
                if let Some((run, _)) = other.run_seq() {
                    let live = self.runs.entry(run).or_insert_with(|| LiveRun::new(run));
                    let before = stage(live);
                    if live.handle(other, text_hash) {
                        out.milestone = stage(live) != before;
                        out.runs.push(run);
                        Self::ask(live, &mut out);
                    }
                }
            }
        }
        out
    }

    fn touch(&mut self, run: RunId, out: &mut Handled, change: impl FnOnce(&mut LiveRun)) {
        let Some(live) = self.runs.get_mut(&run) else { return };
        let before = stage(live);
        change(live);
        out.milestone |= stage(live) != before;
        out.runs.push(run);
        Self::ask(live, out);
    }

    fn ask(live: &mut LiveRun, out: &mut Handled) {
        let run = live.run;
        out.asks.extend(live.poll_requests().into_iter().map(|r| ClientMsg::Resend {
            run,
            from_seq: r.start,
            to_seq: r.end,
        }));
    }

    /// The connection closed: every run not complete is lost, and those still going failed. Returns them.
    pub fn handle_closed(&mut self, why: &Text) -> Vec<RunId> {
        let mut changed = Vec::new();
        for (run, live) in &mut self.runs {
            if !live.is_complete() && live.lost.is_none() {
                live.handle_closed(why.clone());
                changed.push(*run);
            }
        }
        changed
    }
}
