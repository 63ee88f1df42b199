//! The narrated event log: what the drawing shows at a moment, in a sentence a screen reader can say ("process
//! 3 waits for the exclusive lock; process 1 holds it"). The lock lab tells who holds and who waits; every other
//! lab has a sentence for each of its events, numbered from one as the drawings number them. Pure: the page
//! puts the sentence in an ARIA live region and decides how often.

use crate::i18n::Text;
use crate::lab::amdahl::AmdahlEvent;
use crate::lab::io::{IoEvent, ThreadState};
use crate::lab::lock::{LockEvent, LockKind};
use crate::lab::methods::{Activity, MethodsEvent};
use crate::lab::mmap::{self, MmapEvent};
use crate::lab::pipeline::{Pattern, PipelineEvent, PipelineParams, Side, graph, name_text};
use crate::lab::watch::WatchEvent;
use crate::time::Nanos;
use crate::trace::{Event, EventKind, Trace};

/// The sentence for the last event at or before `t`, with its time; `None` before the first event. A run's wait
/// report is a summary, not a moment: the figures say it, the narration passes it by.
pub fn at(trace: &Trace, t: Nanos) -> Option<Text> {
    let upto = trace.events.partition_point(|e| e.t <= t);
    let event = trace.events[..upto]
        .iter()
        .rev()
        .find(|e| !matches!(e.kind, EventKind::Waits(_) | EventKind::Load(_) | EventKind::Repeat(_)))?;
    let who = actor_name(trace, event.actor);
    let sentence = match event.kind {
        EventKind::Lock(lock) => lock_sentence(trace, &trace.events[..upto], who, lock),
        EventKind::Io(io) => io_sentence(who, io),
        EventKind::Methods(methods) => methods_sentence(methods),
        EventKind::Amdahl(amdahl) => amdahl_sentence(amdahl),
        EventKind::Mmap(mmap) => mmap_sentence(mmap),
        EventKind::Watch(watch) => watch_sentence(watch),
        EventKind::Pipeline(pipeline) => pipeline_sentence(trace, who, pipeline),
        EventKind::Waits(_) | EventKind::Load(_) | EventKind::Repeat(_) => return None,
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

/// A count said from one ("thread 1" is the first), as the drawings number them.
fn nth(index: u32) -> u32 {
    index.saturating_add(1)
}

fn io_sentence(who: Text, event: IoEvent) -> Text {
    let said = |key: &str| Text::new(key).with_text("who", who.clone());
    match event {
        IoEvent::Ready { server, source, seq } => said("narrate.io.ready")
            .with("seq", nth(seq))
            .with("source", nth(source))
            .with_text("server", server.name()),
        IoEvent::State { thread, state, .. } => {
            let key = match state {
                ThreadState::Running => "narrate.io.running",
                ThreadState::Blocked => "narrate.io.blocked",
                ThreadState::Polling => "narrate.io.polling",
                ThreadState::Done => "narrate.io.done",
            };
            said(key).with("thread", nth(thread))
        }
        IoEvent::Served { source, seq, thread, .. } => {
            said("narrate.io.served").with("thread", nth(thread)).with("seq", nth(seq)).with("source", nth(source))
        }
        IoEvent::Cost { cpu_ns, blocked_ns, syscalls, wasted, .. } => said("narrate.io.cost")
            .with("cpu", Nanos(cpu_ns))
            .with("blocked", Nanos(blocked_ns))
            .with("syscalls", syscalls)
            .with("wasted", wasted),
        IoEvent::Unavailable { server } => Text::new("narrate.io.unavailable").with_text("server", server.name()),
    }
}

fn methods_sentence(event: MethodsEvent) -> Text {
    match event {
        MethodsEvent::Span { way, lane, activity, start } => {
            let key = match activity {
                Activity::Startup => "narrate.methods.startup",
                Activity::Runnable => "narrate.methods.runnable",
                Activity::Compute => "narrate.methods.compute",
                Activity::Wait => "narrate.methods.wait",
            };
            Text::new(key).with_text("way", way.name()).with("lane", nth(lane)).with("start", start)
        }
        MethodsEvent::Sample { cost, ns } => {
            Text::new("narrate.methods.sample").with_text("cost", cost.name()).with("took", Nanos(ns))
        }
    }
}

fn amdahl_sentence(event: AmdahlEvent) -> Text {
    let AmdahlEvent::Run { threads, serial_ns, parallel_ns } = event;
    Text::new("narrate.amdahl.run")
        .with("n", threads)
        .with("serial", Nanos(serial_ns))
        .with("parallel", Nanos(parallel_ns))
}

fn mmap_sentence(event: MmapEvent) -> Text {
    match event {
        MmapEvent::Chunk { method, index, bytes, ns, syscalls, minor_faults, major_faults } => {
            Text::new("narrate.mmap.chunk")
                .with_text("method", method.name())
                .with("piece", nth(index))
                .with("of", mmap::CHUNKS)
                .with("mib", format!("{:.1}", bytes as f64 / f64::from(1u32 << 20)))
                .with("took", Nanos(ns))
                .with("syscalls", syscalls)
                .with("faults", minor_faults + major_faults)
                .with("major", major_faults)
        }
        // The model reads no bytes, so its passes report no checksum (0).
        MmapEvent::Done { method, checksum: 0 } => Text::new("narrate.mmap.done").with_text("method", method.name()),
        MmapEvent::Done { method, checksum } => Text::new("narrate.mmap.done_checksum")
            .with_text("method", method.name())
            .with("checksum", format!("{checksum:016x}")),
        MmapEvent::Synced { method, ns, dirty_before, dirty_after } => Text::new("narrate.mmap.synced")
            .with_text("method", method.name())
            .with("took", Nanos(ns))
            .with("before", dirty_before.map_or_else(|| "?".to_owned(), |n| n.to_string()))
            .with("after", dirty_after.map_or_else(|| "?".to_owned(), |n| n.to_string())),
        MmapEvent::Verified { method, file_ok } => {
            let key = if file_ok { "narrate.mmap.verified" } else { "narrate.mmap.verify_failed" };
            Text::new(key).with_text("method", method.name())
        }
        MmapEvent::Refused { method, errno } => {
            Text::new("narrate.mmap.refused").with_text("method", method.name()).with("errno", errno)
        }
        MmapEvent::Signalled { method, signal } => {
            Text::new("narrate.mmap.signalled").with_text("method", method.name()).with("signal", signal)
        }
    }
}

fn watch_sentence(event: WatchEvent) -> Text {
    match event {
        WatchEvent::Round { round, files, dirs } => {
            Text::new("narrate.watch.round").with("round", nth(round)).with("files", files).with("dirs", dirs)
        }
        WatchEvent::Ready { watcher, setup_ns, .. } => {
            Text::new("narrate.watch.ready").with_text("watcher", watcher.name()).with("took", Nanos(setup_ns))
        }
        WatchEvent::Write { change, file, .. } => {
            Text::new("narrate.watch.write").with("change", nth(change)).with("file", file)
        }
        WatchEvent::Detect { change, file, watcher, .. } => Text::new("narrate.watch.detect")
            .with_text("watcher", watcher.name())
            .with("change", nth(change))
            .with("file", file),
        WatchEvent::Scan { ns, .. } => Text::new("narrate.watch.scan").with("took", Nanos(ns)),
        WatchEvent::Overflow { .. } => Text::new("narrate.watch.overflow"),
        WatchEvent::Limit { needed, limit, .. } => {
            Text::new("narrate.watch.limit").with("needed", needed).with("limit", limit)
        }
        WatchEvent::Unavailable { .. } => Text::new("narrate.watch.unavailable"),
        WatchEvent::Cost { round, watcher, cpu_ns, wall_ns, .. } => Text::new("narrate.watch.cost")
            .with_text("watcher", watcher.name())
            .with("round", nth(round))
            .with("cpu", Nanos(cpu_ns))
            .with("wall", Nanos(wall_ns)),
    }
}

/// The pipeline lab: which thread of the stage did what with which item, and the channel by its name.
fn pipeline_sentence(trace: &Trace, who: Text, event: PipelineEvent) -> Text {
    let params = PipelineParams::parse(&trace.run.params).ok();
    let topology = params.as_ref().map(PipelineParams::topology);
    let channel = |c: u32| {
        let named = topology.as_ref().and_then(|t| t.channels.get(c as usize));
        named.map_or_else(|| Text::Literal(nth(c).to_string()), |ch| name_text(ch.name))
    };
    // Across processes a stage's workers are processes.
    let unit = match params.map(|p| p.pattern) {
        Some(Pattern::Processes) => "narrate.pipeline.process",
        _ => "narrate.pipeline.thread",
    };
    let said = |key: &str, thread: u32| {
        Text::new(key).with_text("who", who.clone()).with_text("thread", Text::new(unit).with("n", nth(thread)))
    };
    match event {
        PipelineEvent::Produced { item, thread, .. } => {
            said("narrate.pipeline.produced", thread).with("item", nth(item))
        }
        PipelineEvent::Sent { item, channel: c, queued } => Text::new("narrate.pipeline.sent")
            .with_text("who", who.clone())
            .with("item", nth(item))
            .with_text("channel", channel(c))
            .with("queued", queued),
        PipelineEvent::Received { item, channel: c, thread, queued, .. } => said("narrate.pipeline.received", thread)
            .with("item", nth(item))
            .with_text("channel", channel(c))
            .with("queued", queued),
        PipelineEvent::Finished { item, thread, .. } => {
            said("narrate.pipeline.finished", thread).with("item", nth(item))
        }
        PipelineEvent::Blocked { thread, side: Side::Send, .. } => said("narrate.pipeline.send_wait", thread),
        PipelineEvent::Blocked { thread, side: Side::Recv, .. } => said("narrate.pipeline.recv_wait", thread),
        PipelineEvent::Unblocked { thread, .. } => said("narrate.pipeline.unblocked", thread),
        PipelineEvent::Delivered { item } => Text::new("narrate.pipeline.delivered").with("item", nth(item)),
        PipelineEvent::EmptySelect { thread, .. } => said("narrate.pipeline.empty_select", thread),
        PipelineEvent::TaskReady { task } => {
            let n_tasks = graph::BUILD.len() as u32;
            let name = graph::BUILD.get((task % n_tasks) as usize).map_or("", |(name, _, _)| name);
            Text::new("narrate.pipeline.task_ready")
                .with_text("task", name_text(name))
                .with("build", nth(task / n_tasks))
        }
        PipelineEvent::Killed { thread, queued, .. } => said("narrate.pipeline.killed", thread).with("queued", queued),
        PipelineEvent::Lost { item } => Text::new("narrate.pipeline.lost").with("item", nth(item)),
        PipelineEvent::Restarted { thread, .. } => said("narrate.pipeline.restarted", thread),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSet;
    use crate::{LabId, lab::simulate};

    /// The English sentences said at the events `pick` chooses that are the last of their moment (so the
    /// sentence at that moment is theirs), from a default run of `lab`.
    fn said_at(lab: LabId, pick: impl Fn(&EventKind) -> bool) -> Vec<String> {
        let trace = simulate(lab, &ParamSet::new(), 1).unwrap_or_else(|e| panic!("{e}"));
        let last_of_moment = trace.events.windows(2).filter(|w| w[0].t < w[1].t).map(|w| &w[0]);
        last_of_moment.filter(|e| pick(&e.kind)).filter_map(|e| at(&trace, e.t).map(|s| s.to_string())).collect()
    }

    #[test]
    fn the_lock_lab_says_who_waits_and_who_holds() {
        let said = said_at(LabId::Lock, |k| matches!(k, EventKind::Lock(LockEvent::Requested { .. })));
        assert!(
            said.iter().any(|s| s.contains("waits for the exclusive lock; ") && s.contains(" holds it; ")),
            "no request while another held the lock: {said:?}"
        );
    }

    #[test]
    fn a_span_says_when_it_began_as_a_time() {
        let said = said_at(
            LabId::Methods,
            |k| matches!(k, EventKind::Methods(MethodsEvent::Span { start, .. }) if start.0 > 1_000_000),
        );
        let span = said.first().cloned().unwrap_or_default();
        let after: Vec<&str> = span.split(" from ").nth(1).unwrap_or_default().split([' ', ',', ')']).take(2).collect();
        assert!(after.len() == 2 && ["ns", "µs", "ms", "s"].contains(&after[1]), "not a time after start: {span}");
    }

    #[test]
    fn the_other_labs_say_who_did_what_with_which_item_and_channel() {
        let received = said_at(LabId::Pipeline, |k| matches!(k, EventKind::Pipeline(PipelineEvent::Received { .. })));
        assert!(
            !received.is_empty()
                && received.iter().all(|s| s.contains(" takes item ") && s.contains(" from “queue” (")),
            "{received:?}"
        );
        let noticed = said_at(LabId::Watch, |k| matches!(k, EventKind::Watch(WatchEvent::Detect { .. })));
        assert!(noticed.iter().any(|s| s.contains("inotify (notified) notices change ")), "{noticed:?}");
        let served = said_at(LabId::Io, |k| matches!(k, EventKind::Io(IoEvent::Served { .. })));
        assert!(
            !served.is_empty() && served.iter().all(|s| s.contains(": thread ") && s.contains(" serves message ")),
            "{served:?}"
        );
    }

    #[test]
    fn every_lab_is_narrated_at_every_event() {
        for lab in LabId::ALL {
            let trace = simulate(lab, &ParamSet::new(), 2).unwrap_or_else(|e| panic!("{e}"));
            for event in trace.events.iter().step_by(97) {
                let sentence = at(&trace, event.t).unwrap_or_else(|| Text::Literal(String::new()));
                let japanese = sentence.say(crate::i18n::Lang::Ja);
                assert!(!japanese.contains('{'), "{lab:?}: {japanese}");
                let said = sentence.to_string();
                assert!(said.starts_with("At ") && said.len() > 12, "{lab:?}: {said}");
                assert!(!said.contains('{') && !said.contains('"'), "{lab:?}: a placeholder left in {said}");
                assert!(
                    !said.split(' ').any(|w| w.len() > 6 && w.chars().all(|c| c.is_ascii_digit())),
                    "{lab:?}: a raw time in {said}"
                );
            }
        }
    }
}
