//! The page's side of live runs. [`Ingest`] holds every run being received (`shared::live`) and turns each into a
//! [`LiveView`], the small value the companion reducer keeps: status, progress and, once every message is there
//! and matches the companion's record, the whole trace. Taking in a message costs time in proportion to its
//! events; the trace is joined once, at the end, so a run of a million events is not copied per message.

use crate::lab::TraceRef;
use shared::i18n::{Lang, Text};
use shared::live::{Handled, LiveRuns, LiveStatus, Progress, Verification};
use shared::protocol::{RunId, ServerMsg};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// How many whole runs the page keeps: a run at the event budget is about 80 MB of the page's memory, and the
/// page shows only the latest of them.
pub const KEEP_TRACES: usize = 2;

/// What the page shows of a live run.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveView {
    pub run: RunId,
    pub status: LiveStatus,
    pub progress: Progress,
    /// Nothing more of it is coming live.
    pub over: bool,
    /// Why what is missing can no longer be fetched.
    pub lost: Option<Text>,
    /// The whole run: every message arrived and, where the companion sent its record's digest, it matched.
    pub trace: Option<TraceRef>,
    pub verification: Option<Verification>,
    /// The whole trace was let go to bound the page's memory (newer runs came after it).
    pub released: bool,
}

impl LiveView {
    /// What the measured side says while it has no figures, or how complete the figures' run is.
    pub fn status_text(&self, lang: Lang) -> String {
        let p = &self.progress;
        if self.released {
            return lang.ui("ui.live.released").to_owned();
        }
        if let Some(Verification::Mismatch { ours, companion }) = &self.verification {
            return lang.fill("ui.status.mismatch", &[("ours", ours), ("theirs", companion)]);
        }
        let missing = p.missing_messages > 0 || p.missing_events > 0;
        match &self.lost {
            Some(why) if missing => {
                return lang.fill("ui.status.lost", &[("n", &p.missing_events), ("why", &why.say(lang))]);
            }
            None if missing => {
                return lang.fill("ui.status.incomplete", &[("n", &p.missing_events), ("m", &p.missing_messages)]);
            }
            // Lost with nothing known to be missing: the run itself was cut off, and its status says how.
            _ => {}
        }
        match &self.status {
            LiveStatus::Queued { position } => lang.fill("ui.status.queued", &[("n", position)]),
            LiveStatus::Running => lang.fill("ui.status.running_events", &[("n", &p.events)]),
            LiveStatus::Finished => lang.ui("ui.status.finished").to_owned(),
            LiveStatus::Cancelled => lang.ui("ui.status.cancelled").to_owned(),
            LiveStatus::Failed(err) => lang.fill("ui.status.failed", &[("error", &err.say(lang))]),
        }
    }

    /// The line under a complete run that says how the page knows it is whole.
    pub fn record_text(&self, lang: Lang) -> Option<String> {
        let trace = self.trace.as_ref()?;
        let n = trace.0.events.len();
        let mut line = match (&self.verification, &self.status) {
            (Some(Verification::Verified { digest }), _) => {
                lang.fill("ui.live.verified", &[("n", &n), ("digest", digest)])
            }
            // A run stopped early: its figures cover it only up to there, and the reader must know.
            (_, LiveStatus::Cancelled) => lang.fill("ui.live.cancelled_whole", &[("n", &n)]),
            (_, LiveStatus::Failed(err)) => lang.fill("ui.live.failed_whole", &[("n", &n), ("error", &err.say(lang))]),
            _ => lang.fill("ui.live.unrecorded", &[("n", &n)]),
        };
        if self.progress.resent_asked > 0 {
            line += &lang.fill("ui.live.resent", &[("n", &self.progress.resent_asked)]);
        }
        Some(line)
    }
}

/// Every live run of the connection, and the traces of those that are complete.
#[derive(Debug, Default)]
pub struct Ingest {
    runs: LiveRuns,
    delivered: BTreeMap<RunId, (TraceRef, Verification)>,
    /// The delivered runs, oldest first, and those let go.
    kept: VecDeque<RunId>,
    released: BTreeSet<RunId>,
    /// Runs changed since their views were last taken.
    dirty: BTreeSet<RunId>,
}

impl Ingest {
    /// Folds a message in, given the hash of the text it came as; the caller sends `asks` and, unless
    /// `consumed`, shows the message to the reducer.
    pub fn handle(&mut self, msg: ServerMsg, text_hash: u64) -> Handled {
        let handled = self.runs.handle(msg, text_hash);
        self.dirty.extend(handled.runs.iter().copied());
        handled
    }

    /// The connection closed: runs not complete are lost.
    pub fn handle_closed(&mut self) {
        let changed = self.runs.handle_closed(&Text::new("ui.companion.closed"));
        self.dirty.extend(changed);
    }

    /// The views of the runs changed since the last call. A run that has become complete hands over its trace
    /// here, once; a run let go for it comes after, so that the reducer lets go of its trace too.
    pub fn poll_views(&mut self) -> Vec<LiveView> {
        let mut views = Vec::new();
        while !self.dirty.is_empty() {
            let dirty = std::mem::take(&mut self.dirty);
            views.extend(dirty.into_iter().filter_map(|run| self.view(run)));
        }
        views
    }

    fn view(&mut self, run: RunId) -> Option<LiveView> {
        let live = self.runs.get_mut(run)?;
        if let Some((trace, verification)) = live.take_trace() {
            self.delivered.insert(run, (TraceRef(Rc::new(trace)), verification));
            self.kept.push_back(run);
            while self.kept.len() > KEEP_TRACES {
                if let Some(old) = self.kept.pop_front() {
                    self.delivered.remove(&old);
                    self.released.insert(old);
                    self.dirty.insert(old);
                }
            }
        }
        let delivered = self.delivered.get(&run);
        let verification = delivered.map(|(_, v)| v.clone());
        let trace =
            delivered.filter(|(_, v)| !matches!(v, Verification::Mismatch { .. })).map(|(trace, _)| trace.clone());
        Some(LiveView {
            run,
            status: live.status().clone(),
            progress: live.progress(),
            over: live.is_over(),
            lost: live.lost().cloned(),
            trace,
            verification,
            released: self.released.contains(&run),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::digest::{message_hash, message_share, trace_digest};

    fn share(seq: u64, msg: &ServerMsg) -> u64 {
        message_share(seq, message_hash(&msg.to_json()))
    }

    /// A message as the page gets it: with the hash of its text.
    fn take(ingest: &mut Ingest, msg: ServerMsg) -> Handled {
        let hash = message_hash(&msg.to_json());
        ingest.handle(msg, hash)
    }

    fn messages() -> (shared::Trace, Vec<ServerMsg>) {
        run_messages(RunId(1))
    }

    fn run_messages(run: RunId) -> (shared::Trace, Vec<ServerMsg>) {
        let trace = shared::lab::simulate(shared::LabId::Lock, &shared::ParamSet::new(), 1).unwrap();
        let mut msgs = vec![
            ServerMsg::Queued { request: 1, run, seq: 0, position: 0 },
            ServerMsg::Started { run, seq: 1, info: trace.run.clone(), actors: trace.actors.clone() },
        ];
        for (i, batch) in trace.events.chunks(100).enumerate() {
            let seq = msgs.len() as u64;
            msgs.push(ServerMsg::Events { run, seq, first: i as u64 * 100, events: batch.to_vec() });
        }
        let seq = msgs.len() as u64;
        let (events, digest) = (trace.events.len() as u64, trace_digest(&trace));
        let sum = msgs.iter().enumerate().fold(0u64, |sum, (i, m)| sum.wrapping_add(share(i as u64, m)));
        let messages = format!("{sum:016x}");
        msgs.push(ServerMsg::Finished { run, seq, notes: trace.notes.clone(), events, digest, messages });
        (trace, msgs)
    }

    #[test]
    fn a_run_with_a_gap_shows_no_figures_until_the_gap_is_fetched() {
        let (trace, msgs) = messages();
        let mut ingest = Ingest::default();
        let mut asks = Vec::new();
        for (i, msg) in msgs.iter().enumerate() {
            if i != 3 {
                asks.extend(take(&mut ingest, msg.clone()).asks);
            }
        }
        assert_eq!(asks, vec![shared::protocol::ClientMsg::Resend { run: RunId(1), from_seq: 3, to_seq: 4 }]);
        let view = ingest.poll_views().pop().unwrap();
        assert!(view.trace.is_none() && view.over);
        assert!(view.status_text(Lang::En).starts_with("Incomplete: 100 events (1 messages) missing"));
        take(&mut ingest, msgs[3].clone());
        let view = ingest.poll_views().pop().unwrap();
        assert_eq!(view.trace.as_ref().map(|t| (*t.0).clone()), Some(trace));
        assert!(view.record_text(Lang::En).unwrap().contains("the companion’s whole record"));
        // The connection closing later changes nothing for a complete run.
        ingest.handle_closed();
        assert!(ingest.poll_views().is_empty());
    }

    #[test]
    fn only_the_latest_whole_runs_are_kept() {
        let mut ingest = Ingest::default();
        for run in 1..=(KEEP_TRACES as u64 + 1) {
            for msg in run_messages(RunId(run)).1 {
                take(&mut ingest, msg);
            }
        }
        // A run let go while views are taken comes again after, as let go: the last view of each run counts.
        let views: BTreeMap<RunId, LiveView> = ingest.poll_views().into_iter().map(|v| (v.run, v)).collect();
        let views: Vec<LiveView> = views.into_values().collect();
        let kept: Vec<u64> = views.iter().filter(|v| v.trace.is_some()).map(|v| v.run.0).collect();
        assert_eq!(kept, (2..=KEEP_TRACES as u64 + 1).collect::<Vec<_>>());
        let first = views.iter().find(|v| v.run == RunId(1)).unwrap();
        assert!(first.released && first.status_text(Lang::En).contains("let go"));
    }

    #[test]
    fn a_closed_connection_withholds_the_figures_with_the_reason() {
        let (_, msgs) = messages();
        let mut ingest = Ingest::default();
        for msg in msgs.iter().take(4) {
            take(&mut ingest, msg.clone());
        }
        ingest.handle_closed();
        let view = ingest.poll_views().pop().unwrap();
        assert!(view.over && view.trace.is_none());
        let said = view.status_text(Lang::En);
        assert!(said.starts_with("Failed:"), "{said}");
    }
}
