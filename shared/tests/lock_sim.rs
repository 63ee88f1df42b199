//! Properties of the lock simulation: the lock is never violated, every request ends, the metrics agree with a
//! recount from the raw events, and the same seed gives the same trace.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::lock::{LockEvent, LockKind, LockParams};
use shared::lab::{metrics, simulate};
use shared::{EventKind, LabId, ParamSet, ParamValue, Trace};

fn params(pairs: &[(&str, ParamValue)]) -> ParamSet {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn metric(trace: &Trace, key: &str) -> Option<f64> {
    metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value)
}

fn lock_events(trace: &Trace) -> impl Iterator<Item = (u32, LockEvent)> + '_ {
    trace.events.iter().filter_map(|e| Some((e.actor.0, e.kind.as_lock()?)))
}

fn arb_params() -> impl Strategy<Value = ParamSet> {
    (
        1i64..=12,
        prop_oneof![Just("blocking"), Just("nonblocking"), Just("lockfile")],
        0i64..=100,
        10i64..=2_000,
        0i64..=3_000,
        1i64..=3_000,
        prop_oneof![Just("constant"), Just("uniform"), Just("exponential")],
        10i64..=60,
        prop_oneof![Just("none"), Just("kill_holder"), Just("rogue_writer")],
        0i64..=100,
        1i64..=8,
        (0i64..=20_000, 1i64..=2_000),
    )
        .prop_map(|(procs, mode, readers, retry, think, hold, dist, duration, demo, wake, cpus, (turn, slice))| {
            use ParamValue::{Int, Text};
            params(&[
                ("procs", Int(procs)),
                ("mode", Text(mode.into())),
                ("readers", Int(readers)),
                ("retry_us", Int(retry)),
                ("think_us", Int(think)),
                ("hold_us", Int(hold)),
                ("dist", Text(dist.into())),
                ("duration_ms", Int(duration)),
                ("demo", Text(demo.into())),
                ("wake_us", Int(wake)),
                ("cpus", Int(cpus)),
                ("turn_ns", Int(turn)),
                ("slice_us", Int(slice)),
            ])
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn never_two_holders_while_one_holds_exclusively(set in arb_params(), seed in any::<u64>()) {
        let trace = simulate(LabId::Lock, &set, seed).unwrap();
        let mut holders: Vec<(u32, LockKind)> = Vec::new();
        for (actor, ev) in lock_events(&trace) {
            match ev {
                LockEvent::Acquired { kind } => {
                    let clash = match kind {
                        LockKind::Exclusive => !holders.is_empty(),
                        LockKind::Shared => holders.iter().any(|(_, k)| *k == LockKind::Exclusive),
                    };
                    prop_assert!(!clash, "P{actor} got {kind:?} while {holders:?} held");
                    holders.push((actor, kind));
                }
                LockEvent::Released | LockEvent::Killed => holders.retain(|(h, _)| *h != actor),
                _ => {}
            }
        }
    }

    #[test]
    fn every_request_is_granted_or_ends_with_the_run(set in arb_params(), seed in any::<u64>()) {
        let trace = simulate(LabId::Lock, &set, seed).unwrap();
        prop_assume!(trace.notes.is_empty()); // a run cut by the event budget ends mid-way by design
        let p = LockParams::parse(&trace.run.params).unwrap();
        let mut open = vec![false; p.n_procs as usize];
        for (actor, ev) in lock_events(&trace) {
            let Some(slot) = open.get_mut(actor as usize) else { continue };
            match ev {
                LockEvent::Requested { .. } => *slot = true,
                LockEvent::Acquired { .. } | LockEvent::GaveUp | LockEvent::Killed => *slot = false,
                _ => {}
            }
        }
        prop_assert!(open.iter().all(|o| !o), "requests left open: {open:?}");
    }

    #[test]
    fn metrics_agree_with_a_recount(set in arb_params(), seed in any::<u64>()) {
        let trace = simulate(LabId::Lock, &set, seed).unwrap();
        let p = LockParams::parse(&trace.run.params).unwrap();
        let acquired = lock_events(&trace).filter(|(_, e)| matches!(e, LockEvent::Acquired { .. })).count();
        prop_assert_eq!(metric(&trace, "acquisitions"), Some(acquired as f64));
        let failed: u64 = lock_events(&trace)
            .map(|(_, e)| if let LockEvent::WouldBlock { attempts } = e { u64::from(attempts) } else { 0 })
            .sum();
        if acquired > 0 {
            let ratio = metric(&trace, "failed_per_acquisition").unwrap();
            prop_assert!((ratio - failed as f64 / acquired as f64).abs() < 1e-9);
        }
        // Exclusive holders keep the counter exact; only the rogue writer can lose updates.
        let lost = metric(&trace, "lost_updates").unwrap();
        if p.demo != shared::lab::lock::Demo::RogueWriter {
            prop_assert_eq!(lost, 0.0);
        }
        // Exclusive-only runs never have two holders.
        if p.n_readers() == 0 && acquired > 0 {
            prop_assert_eq!(metric(&trace, "max_holders"), Some(1.0));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_trace(set in arb_params(), seed in any::<u64>()) {
        let a = simulate(LabId::Lock, &set, seed).unwrap();
        let b = simulate(LabId::Lock, &set, seed).unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn shared_locks_admit_several_readers() {
    use ParamValue::{Int, Text};
    let set =
        params(&[("procs", Int(6)), ("readers", Int(100)), ("mode", Text("blocking".into())), ("hold_us", Int(3_000))]);
    let trace = simulate(LabId::Lock, &set, 1).unwrap();
    assert!(metric(&trace, "max_holders").unwrap() > 1.0);
}

#[test]
fn nonblocking_contention_fails_attempts_and_blocking_does_not() {
    use ParamValue::{Int, Text};
    let base = [("procs", Int(8)), ("think_us", Int(100)), ("hold_us", Int(1_000)), ("retry_us", Int(50))];
    let mut nb = params(&base);
    nb.insert("mode".into(), Text("nonblocking".into()));
    let trace = simulate(LabId::Lock, &nb, 3).unwrap();
    assert!(metric(&trace, "failed_per_acquisition").unwrap() > 1.0);
    let blocking = simulate(LabId::Lock, &params(&base), 3).unwrap();
    assert_eq!(metric(&blocking, "failed_per_acquisition"), Some(0.0));
}

#[test]
fn a_killed_flock_holder_releases_but_a_lock_file_stays_stale() {
    use ParamValue::{Int, Text};
    for (mode, expect_progress) in [("blocking", true), ("lockfile", false)] {
        let set = params(&[("procs", Int(4)), ("mode", Text(mode.into())), ("demo", Text("kill_holder".into()))]);
        let trace = simulate(LabId::Lock, &set, 5).unwrap();
        let killed_at = trace
            .events
            .iter()
            .find(|e| e.kind == EventKind::Lock(LockEvent::Killed))
            .map(|e| e.t)
            .expect("someone is killed");
        let acquired_after = trace
            .events
            .iter()
            .any(|e| e.t > killed_at && matches!(e.kind, EventKind::Lock(LockEvent::Acquired { .. })));
        assert_eq!(acquired_after, expect_progress, "{mode}");
        if !expect_progress {
            let snap = shared::lab::lock::snapshot(&trace, trace.end());
            assert!(matches!(snap.lock_file, shared::lab::lock::LockFileView::Stale(_)));
            assert!(metric(&trace, "gave_up").unwrap() > 0.0);
        }
    }
}

#[test]
fn a_rogue_writer_loses_updates() {
    use ParamValue::{Int, Text};
    let set = params(&[("procs", Int(3)), ("demo", Text("rogue_writer".into())), ("think_us", Int(500))]);
    let trace = simulate(LabId::Lock, &set, 9).unwrap();
    assert!(metric(&trace, "lost_updates").unwrap() > 0.0);
}
