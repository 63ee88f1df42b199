//! The narrated event log: what the drawing shows at a moment, in a sentence a screen reader can say ("process
//! 3 waits for the exclusive lock; process 1 holds it"). The lock lab tells who holds and who waits; the other
//! labs say who did what, from the event's own name and fields, so every lab is narrated. Pure: the page puts
//! the sentence in an ARIA live region and decides how often.

use crate::lab::lock::{LockEvent, LockKind};
use crate::time::Nanos;
use crate::trace::{Event, EventKind, Trace};

/// The sentence for the last event at or before `t`, with its time; `None` before the first event.
pub fn at(trace: &Trace, t: Nanos) -> Option<String> {
    let upto = trace.events.partition_point(|e| e.t <= t);
    let event = trace.events[..upto].last()?;
    let who = actor_name(trace, event);
    let sentence = match event.kind {
        EventKind::Lock(lock) => lock_sentence(trace, &trace.events[..upto], &who, lock),
        _ => generic_sentence(&who, event),
    };
    Some(format!("At {}: {sentence}.", event.t))
}

fn actor_name(trace: &Trace, event: &Event) -> String {
    trace.actor(event.actor).map_or_else(|| format!("actor {}", event.actor.0), |a| a.label.clone())
}

fn kind_name(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Shared => "shared",
        LockKind::Exclusive => "exclusive",
    }
}

/// The lock lab: what the actor did, then who holds the lock and how many wait after it.
fn lock_sentence(trace: &Trace, so_far: &[Event], who: &str, event: LockEvent) -> String {
    let did = match event {
        LockEvent::Requested { kind } => format!("{who} waits for the {} lock", kind_name(kind)),
        LockEvent::WouldBlock { attempts } => format!("{who} was refused {attempts} time(s) and tries again"),
        LockEvent::Acquired { kind } => format!("{who} takes the {} lock", kind_name(kind)),
        LockEvent::Released => format!("{who} lets go of the lock"),
        LockEvent::CounterWrite { value, locked: true } => format!("{who} writes {value} to the counter"),
        LockEvent::CounterWrite { value, locked: false } => {
            format!("{who} writes {value} to the counter without the lock")
        }
        LockEvent::Killed => format!("{who} is killed"),
        LockEvent::GaveUp => format!("{who} gives up: the run ended"),
        LockEvent::StaleLockRemoved => "the stale lock file is removed".to_owned(),
        LockEvent::CounterFinal { value } => format!("the counter ends at {value}"),
    };
    // Who holds and who waits after this event.
    let (mut holders, mut waiting) = (Vec::new(), 0usize);
    let mut state = std::collections::BTreeMap::new();
    for e in so_far {
        if let EventKind::Lock(lock) = e.kind {
            match lock {
                LockEvent::Requested { .. } => {
                    state.insert(e.actor, false);
                }
                LockEvent::Acquired { .. } => {
                    state.insert(e.actor, true);
                }
                LockEvent::Released | LockEvent::Killed | LockEvent::GaveUp => {
                    state.remove(&e.actor);
                }
                _ => {}
            }
        }
    }
    for (actor, holds) in state {
        if holds {
            holders.push(trace.actor(actor).map_or_else(|| format!("actor {}", actor.0), |a| a.label.clone()));
        } else {
            waiting += 1;
        }
    }
    let holds = match holders.as_slice() {
        [] => "nobody holds the lock".to_owned(),
        [one] => format!("{one} holds it"),
        many => format!("{} hold it", many.join(", ")),
    };
    format!("{did}; {holds}; {waiting} waiting")
}

/// Any other lab: "worker 2: done (item 7)" from the event's name and fields.
fn generic_sentence(who: &str, event: &Event) -> String {
    let value = serde_json::to_value(&event.kind).unwrap_or(serde_json::Value::Null);
    let inner = value.as_object().and_then(|o| o.values().next()).cloned().unwrap_or_default();
    let (what, fields) = match inner {
        serde_json::Value::Object(mut fields) => {
            let what = fields.remove("what").and_then(|w| w.as_str().map(str::to_owned)).unwrap_or_default();
            (what, fields)
        }
        serde_json::Value::String(what) => (what, serde_json::Map::new()),
        _ => (String::new(), serde_json::Map::new()),
    };
    let details: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, v)| match (if k == "ns" { Some("took") } else { k.strip_suffix("_ns") }, v.as_u64()) {
            // Durations read as durations: "serial 6.89 ms", not "serial ns 6894771".
            (Some(name), Some(ns)) => format!("{} {}", name.replace('_', " "), Nanos(ns)),
            _ => format!("{} {}", k.replace('_', " "), v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        })
        .collect();
    let what = what.replace('_', " ");
    if details.is_empty() { format!("{who}: {what}") } else { format!("{who}: {what} ({})", details.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSet;
    use crate::{LabId, lab::simulate};

    #[test]
    fn the_lock_lab_says_who_waits_and_who_holds() {
        let trace = simulate(LabId::Lock, &ParamSet::new(), 1).unwrap_or_else(|e| panic!("{e}"));
        // Requests that are the last event of their moment, so the sentence at that moment is theirs.
        let last_of_moment = trace.events.windows(2).filter(|w| w[0].t < w[1].t).map(|w| &w[0]);
        let said: Vec<String> = last_of_moment
            .filter(|e| matches!(e.kind, EventKind::Lock(LockEvent::Requested { .. })))
            .filter_map(|e| at(&trace, e.t))
            .collect();
        assert!(
            said.iter().any(|s| s.contains("waits for the exclusive lock; ") && s.contains(" holds it; ")),
            "no request while another held the lock: {said:?}"
        );
        assert!(trace.events[0].t > Nanos(0) || at(&trace, Nanos(0)).is_some());
    }

    #[test]
    fn every_lab_is_narrated_at_every_event() {
        for lab in LabId::ALL {
            let trace = simulate(lab, &ParamSet::new(), 2).unwrap_or_else(|e| panic!("{e}"));
            for event in trace.events.iter().step_by(97) {
                let said = at(&trace, event.t).unwrap_or_default();
                assert!(said.starts_with("At ") && said.len() > 12, "{lab:?}: {said}");
                assert!(!said.contains("{") && !said.contains("\""), "{lab:?}: raw JSON in {said}");
                assert!(!said.contains(" ns "), "{lab:?}: a duration in raw nanoseconds in {said}");
            }
        }
    }
}
