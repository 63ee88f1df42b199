//! Each process's timeline as spans of waiting and holding, for the lane chart under the lock drawing: it shows
//! at a glance who waits, who holds, and who starves.

use super::{LockEvent, LockKind, LockParams};
use crate::time::Nanos;
use crate::trace::{ActorId, Trace};

/// What a process was doing during a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanState {
    Waiting,
    Holding(LockKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Nanos,
    pub end: Nanos,
    pub state: SpanState,
}

/// One process's spans, in time order, and when it was killed, if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub actor: ActorId,
    pub spans: Vec<Span>,
    pub killed_at: Option<Nanos>,
}

/// The lanes of every locking process; spans still open when the trace ends close at its end.
pub fn lanes(trace: &Trace) -> Vec<Lane> {
    let Ok(p) = LockParams::parse(&trace.run.params) else { return Vec::new() };
    let mut lanes: Vec<Lane> =
        (0..p.n_procs).map(|i| Lane { actor: ActorId(i), spans: Vec::new(), killed_at: None }).collect();
    let mut open: Vec<Option<(Nanos, SpanState)>> = vec![None; lanes.len()];
    for event in &trace.events {
        let Some(ev) = event.kind.as_lock() else { continue };
        let idx = event.actor.0 as usize;
        let (Some(lane), Some(slot)) = (lanes.get_mut(idx), open.get_mut(idx)) else { continue };
        let next = match ev {
            LockEvent::Requested { .. } => Some(SpanState::Waiting),
            LockEvent::Acquired { kind } => Some(SpanState::Holding(kind)),
            LockEvent::Released | LockEvent::GaveUp | LockEvent::Killed => None,
            _ => continue,
        };
        if let Some((start, state)) = slot.take() {
            lane.spans.push(Span { start, end: event.t, state });
        }
        if ev == LockEvent::Killed {
            lane.killed_at = Some(event.t);
        }
        *slot = next.map(|state| (event.t, state));
    }
    let end = trace.end();
    for (lane, slot) in lanes.iter_mut().zip(open) {
        if let Some((start, state)) = slot {
            lane.spans.push(Span { start, end, state });
        }
    }
    lanes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::LabId;
    use crate::params::{ParamSet, ParamValue};
    use crate::trace::EventKind;

    #[test]
    fn spans_follow_request_acquire_release_and_never_overlap_within_a_lane() {
        let mut set = ParamSet::new();
        set.insert("procs".into(), ParamValue::Int(5));
        set.insert("demo".into(), ParamValue::Text("kill_holder".into()));
        let trace = crate::lab::simulate(LabId::Lock, &set, 3).unwrap();
        let lanes = lanes(&trace);
        assert_eq!(lanes.len(), 5);
        for lane in &lanes {
            for pair in lane.spans.windows(2) {
                assert!(pair[0].end <= pair[1].start, "{:?} overlaps {:?}", pair[0], pair[1]);
            }
            for span in &lane.spans {
                assert!(span.start <= span.end);
            }
        }
        let holds: usize =
            lanes.iter().flat_map(|l| &l.spans).filter(|s| matches!(s.state, SpanState::Holding(_))).count();
        let acquired =
            trace.events.iter().filter(|e| matches!(e.kind, EventKind::Lock(LockEvent::Acquired { .. }))).count();
        assert_eq!(holds, acquired);
        assert!(lanes.iter().any(|l| l.killed_at.is_some()));
    }
}
