//! What the lock view draws at one moment of a trace: who thinks, waits, holds or died, the wait queue, the lock
//! file and the counter. Pure, so the page only renders it and the tests can check it.

use super::{AcquireMode, LockEvent, LockKind, LockParams};
use crate::time::Nanos;
use crate::trace::{ActorId, Trace};

/// A process's state at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// Working without the lock (or not started yet).
    Idle,
    Waiting {
        since: Nanos,
    },
    Holding {
        since: Nanos,
    },
    Dead,
    /// Finished or gave up: it will not ask again.
    Finished,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcView {
    pub actor: ActorId,
    pub kind: LockKind,
    pub state: ProcState,
    /// The last failed attempt, to draw it as a bounce.
    pub last_bounce: Option<Nanos>,
    pub failed_attempts: u64,
    pub acquisitions: u64,
}

/// The lock file's state, when the lab uses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFileView {
    /// The lab uses flock: there is no lock file.
    NotUsed,
    Absent,
    Held(ActorId),
    /// Left behind by a holder that was killed.
    Stale(ActorId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSnapshot {
    pub t: Nanos,
    pub procs: Vec<ProcView>,
    /// Waiting processes, longest-waiting first.
    pub queue: Vec<ActorId>,
    pub lock_file: LockFileView,
    /// The shared counter's last written value.
    pub counter: u64,
    /// The rogue writer's last write, in that demonstration.
    pub rogue_last_write: Option<Nanos>,
}

impl LockSnapshot {
    pub fn holders(&self) -> impl Iterator<Item = &ProcView> {
        self.procs.iter().filter(|p| matches!(p.state, ProcState::Holding { .. }))
    }
}

/// The state after every event at or before `t`.
pub fn snapshot(trace: &Trace, t: Nanos) -> LockSnapshot {
    // A trace's parameters were validated when it was made or imported; without them nothing is drawn.
    let p = LockParams::parse(&trace.run.params).ok();
    let mut procs: Vec<ProcView> = (0..p.map_or(0, |p| p.n_procs))
        .map(|i| ProcView {
            actor: ActorId(i),
            kind: p.map_or(LockKind::Exclusive, |p| p.kind_of(i)),
            state: ProcState::Idle,
            last_bounce: None,
            failed_attempts: 0,
            acquisitions: 0,
        })
        .collect();
    let uses_file = p.is_some_and(|p| p.mode == AcquireMode::LockFile);
    let mut lock_file = if uses_file { LockFileView::Absent } else { LockFileView::NotUsed };
    let (mut counter, mut rogue_last_write) = (0, None);

    for event in &trace.events[..trace.count_until(t)] {
        let Some(lock_event) = event.kind.as_lock() else { continue };
        if let LockEvent::CounterWrite { value, locked } = lock_event {
            counter = value;
            if !locked {
                rogue_last_write = Some(event.t);
            }
        }
        if lock_event == LockEvent::StaleLockRemoved {
            lock_file = LockFileView::Absent;
        }
        let Some(proc) = procs.get_mut(event.actor.0 as usize) else { continue };
        match lock_event {
            LockEvent::Requested { .. } => proc.state = ProcState::Waiting { since: event.t },
            LockEvent::WouldBlock { attempts } => {
                proc.last_bounce = Some(event.t);
                proc.failed_attempts += u64::from(attempts);
            }
            LockEvent::Acquired { .. } => {
                proc.state = ProcState::Holding { since: event.t };
                proc.acquisitions += 1;
                if uses_file {
                    lock_file = LockFileView::Held(proc.actor);
                }
            }
            LockEvent::Released => {
                proc.state = ProcState::Idle;
                if uses_file {
                    lock_file = LockFileView::Absent;
                }
            }
            LockEvent::Killed => {
                if uses_file && lock_file == LockFileView::Held(proc.actor) {
                    lock_file = LockFileView::Stale(proc.actor);
                }
                proc.state = ProcState::Dead;
            }
            LockEvent::GaveUp => proc.state = ProcState::Finished,
            LockEvent::CounterWrite { .. } | LockEvent::StaleLockRemoved | LockEvent::CounterFinal { .. } => {}
        }
    }
    let mut waiting: Vec<(Nanos, ActorId)> = procs
        .iter()
        .filter_map(|p| match p.state {
            ProcState::Waiting { since } => Some((since, p.actor)),
            _ => None,
        })
        .collect();
    waiting.sort();
    LockSnapshot {
        t,
        procs,
        queue: waiting.into_iter().map(|(_, a)| a).collect(),
        lock_file,
        counter,
        rogue_last_write,
    }
}
