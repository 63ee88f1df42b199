//! The narrated event log: what the drawing shows at a moment, in a sentence a screen reader can say ("process
//! 3 waits for the exclusive lock; process 1 holds it"). The lock lab tells who holds and who waits; the other
//! labs say who did what, from the event's own name and fields, so every lab is narrated. Pure: the page puts
//! the sentence in an ARIA live region and decides how often.

use crate::i18n::Text;
use crate::lab::lock::{LockEvent, LockKind};
use crate::time::Nanos;
use crate::trace::{Event, EventKind, Trace};

/// The sentence for the last event at or before `t`, with its time; `None` before the first event.
pub fn at(trace: &Trace, t: Nanos) -> Option<Text> {
    let upto = trace.events.partition_point(|e| e.t <= t);
    let event = trace.events[..upto].last()?;
    let who = actor_name(trace, event.actor);
    let sentence = match event.kind {
        EventKind::Lock(lock) => lock_sentence(trace, &trace.events[..upto], who, lock),
        _ => generic_sentence(who, event),
    };
    Some(Text::new("narrate.at").with("t", event.t).with_text("sentence", sentence))
}

fn actor_name(trace: &Trace, actor: crate::trace::ActorId) -> Text {
    trace.actor(actor).map_or_else(|| Text::new("narrate.actor").with("n", actor.0), |a| a.label.clone())
}

fn kind_name(kind: LockKind) -> Text {
    match kind {
        LockKind::Shared => Text::new("term.lock.shared"),
        LockKind::Exclusive => Text::new("term.lock.exclusive"),
    }
}

/// The lock lab: what the actor did, then who holds the lock and how many wait after it.
fn lock_sentence(trace: &Trace, so_far: &[Event], who: Text, event: LockEvent) -> Text {
    let said = |key: &str| Text::new(key).with_text("who", who.clone());
    let did = match event {
        LockEvent::Requested { kind } => said("narrate.lock.requested").with_text("kind", kind_name(kind)),
        LockEvent::WouldBlock { attempts } => said("narrate.lock.would_block").with("n", attempts),
        LockEvent::Acquired { kind } => said("narrate.lock.acquired").with_text("kind", kind_name(kind)),
        LockEvent::Released => said("narrate.lock.released"),
        LockEvent::CounterWrite { value, locked: true } => said("narrate.lock.write").with("value", value),
        LockEvent::CounterWrite { value, locked: false } => said("narrate.lock.write_unlocked").with("value", value),
        LockEvent::Killed => said("narrate.lock.killed"),
        LockEvent::GaveUp => said("narrate.lock.gave_up"),
        LockEvent::StaleLockRemoved => Text::new("narrate.lock.stale_removed"),
        LockEvent::CounterFinal { value } => Text::new("narrate.lock.counter_final").with("value", value),
    };
    // Who holds and who waits after this event.
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
    let holders: Vec<Text> = state.iter().filter(|(_, holds)| **holds).map(|(a, _)| actor_name(trace, *a)).collect();
    let waiting = state.len() - holders.len();
    let holds = match holders.len() {
        0 => Text::new("narrate.lock.nobody"),
        1 => Text::new("narrate.lock.holds_one").with_text("who", holders[0].clone()),
        _ => Text::new("narrate.lock.holds_many").with_text("who", list(holders)),
    };
    Text::new("narrate.lock.sentence").with_text("did", did).with_text("holds", holds).with("n", waiting)
}

/// "a, b, c" in the reader's language.
fn list(items: Vec<Text>) -> Text {
    items
        .into_iter()
        .reduce(|a, b| Text::new("narrate.list").with_text("a", a).with_text("b", b))
        .unwrap_or_else(|| Text::Literal(String::new()))
}

/// Any other lab: "parse: received (item 7, channel 1, 3 queued)" from the event's name and fields, each
/// said through the catalogue (`narrate.what.NAME`, `narrate.field.NAME`, and `narrate.value.NAME` for the
/// fields that name a state or a kind).
fn generic_sentence(who: Text, event: &Event) -> Text {
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
    let details: Vec<Text> = fields
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, v)| {
            let as_time = match k.as_str() {
                "ns" => Some("took"),
                "start" => Some("start"),
                _ => k.strip_suffix("_ns"),
            };
            let (name, value) = match (as_time, v.as_u64()) {
                // Times read as times: "serial 6.89 ms", not "serial ns 6894771"; "start 1.18 ms", not "start 1181896".
                (Some(name), Some(ns)) => (name, Text::Literal(Nanos(ns).to_string())),
                _ => match v.as_str() {
                    Some(word) => (k.as_str(), Text::new(&format!("narrate.value.{word}"))),
                    None => (k.as_str(), Text::Literal(v.to_string())),
                },
            };
            Text::new("narrate.detail")
                .with_text("name", Text::new(&format!("narrate.field.{name}")))
                .with_text("value", value)
        })
        .collect();
    let what = Text::new(&format!("narrate.what.{what}"));
    if details.is_empty() {
        Text::new("narrate.event").with_text("who", who).with_text("what", what)
    } else {
        Text::new("narrate.event_details")
            .with_text("who", who)
            .with_text("what", what)
            .with_text("details", list(details))
    }
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
            .filter_map(|e| at(&trace, e.t).map(|s| s.to_string()))
            .collect();
        assert!(
            said.iter().any(|s| s.contains("waits for the exclusive lock; ") && s.contains(" holds it; ")),
            "no request while another held the lock: {said:?}"
        );
        assert!(trace.events[0].t > Nanos(0) || at(&trace, Nanos(0)).is_some());
    }

    #[test]
    fn a_span_says_when_it_started_as_a_time() {
        let trace = simulate(LabId::Methods, &ParamSet::new(), 1).unwrap_or_else(|e| panic!("{e}"));
        let last_of_moment = trace.events.windows(2).filter(|w| w[0].t < w[1].t).map(|w| &w[0]);
        let span = last_of_moment
            .filter(|e| matches!(e.kind, EventKind::Methods(crate::lab::methods::MethodsEvent::Span { start, .. }) if start.0 > 1_000_000))
            .find_map(|e| at(&trace, e.t))
            .map(|s| s.to_string())
            .unwrap_or_default();
        let after: Vec<&str> = span.split("start ").nth(1).unwrap_or_default().split([' ', ',', ')']).take(2).collect();
        assert!(after.len() == 2 && ["ns", "µs", "ms", "s"].contains(&after[1]), "not a time after start: {span}");
    }

    #[test]
    fn every_lab_is_narrated_at_every_event() {
        for lab in LabId::ALL {
            let trace = simulate(lab, &ParamSet::new(), 2).unwrap_or_else(|e| panic!("{e}"));
            for event in trace.events.iter().step_by(97) {
                let said = at(&trace, event.t).map(|s| s.to_string()).unwrap_or_default();
                assert!(said.starts_with("At ") && said.len() > 12, "{lab:?}: {said}");
                assert!(!said.contains("{") && !said.contains("\""), "{lab:?}: raw JSON in {said}");
                assert!(!said.contains(" ns "), "{lab:?}: a duration in raw nanoseconds in {said}");
                assert!(
                    !said.split(' ').any(|w| w.len() > 6 && w.chars().all(|c| c.is_ascii_digit())),
                    "{lab:?}: a raw time in {said}"
                );
            }
        }
    }
}
