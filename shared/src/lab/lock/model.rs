//! The lock lab's simulation model. It follows the kernel's flock semantics closely enough to reproduce the
//! lessons: a release wakes every blocked waiter after a wake-up latency and they race for the lock (so a
//! process that comes straight back can take it first); shared requests are granted whenever no writer holds the
//! lock, even while a writer waits (writer starvation); LOCK_NB and lock-file attempts fail at once and retry.
//!
//! Every turn at the lock costs the process its own work beyond hold and think (the flock calls, the counter's
//! read and write, the clock, its records), half of it while holding. A process that comes straight back asks
//! again before the waiter it woke can run and takes the lock again — as the real workers do — until it has
//! held it for a scheduler slice since it took it over; then the woken waiter runs instead and the lock passes
//! on (how fairness over a run stays high while nearly every wait is zero). The processes share the machine's
//! CPUs: a process spinning through a short wait (the real workers spin the last [`SPIN`] of every wait) keeps a
//! CPU, a blocked or sleeping one does not, and more spinners than CPUs stretch each one's spun time by how many
//! want a CPU per CPU (how LOCK_NB retrying collapses).

use super::{AcquireMode, Demo, LockEvent, LockKind, LockParams};
use crate::LabId;
use crate::i18n::Text;
use crate::lab::{MAX_SIM_EVENTS, SPIN};
use crate::params::{ParamError, ParamSet};
use crate::rng::SimRng;
use crate::sim::{self, Model, Stop, Timers};
use crate::time::Nanos;
use crate::trace::{ActorId, Event, EventKind, RunInfo, Source, Trace};
use std::collections::VecDeque;

/// Simulates a validated parameter set.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(LockParams::parse(params)?, params, seed))
}

fn simulate_typed(p: LockParams, params: &ParamSet, seed: u64) -> Trace {
    let mut model = LockModel::new(p, seed);
    let (events, stop) = sim::run(&mut model, MAX_SIM_EVENTS);
    let mut notes = Vec::new();
    if let Stop::Budget(at) = stop {
        notes.push(Text::new("note.sim_budget").with("at", at).with("events", MAX_SIM_EVENTS));
    }
    Trace {
        run: RunInfo { lab: LabId::Lock, params: params.clone(), seed, source: Source::Simulated },
        actors: p.actors(&[]),
        events,
        notes,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    /// Process `i` takes its next step.
    Proc(u32),
    /// The kill demonstration looks for a holder.
    Kill,
    /// The rogue writer takes its next step.
    Rogue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Thinking,
    Waiting,
    /// Holding, with the counter value read on acquiring.
    Holding {
        read: u64,
    },
    Dead,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FileState {
    Absent,
    Present,
    /// Left behind by a killed holder.
    Stale,
}

#[derive(Debug)]
struct LockModel {
    p: LockParams,
    timers: Timers<Wake>,
    states: Vec<State>,
    rngs: Vec<SimRng>,
    holders: Vec<(u32, LockKind)>,
    /// Blocked flock waiters, in the order they blocked.
    waiters: VecDeque<u32>,
    file: FileState,
    counter: u64,
    /// The rogue's read value while it is between its read and its write.
    rogue_read: Option<u64>,
    /// The kill demonstration waits for P0 to hold the lock.
    kill_pending: bool,
    /// The last process to take the lock, and since when it has kept taking it again.
    stretch: Option<(u32, Nanos)>,
    final_emitted: bool,
    out: VecDeque<Event>,
}

impl LockModel {
    fn new(p: LockParams, seed: u64) -> Self {
        let mut timers = Timers::default();
        // One generator stream per process (and one for the rogue), as the real workers use.
        let mut rngs: Vec<SimRng> = (0..=p.n_procs).map(|i| SimRng::new(seed, u64::from(i))).collect();
        for i in 0..p.n_procs {
            let first = p.dist.sample(p.think, &mut rngs[i as usize]);
            timers.set(first, Wake::Proc(i));
        }
        match p.demo {
            Demo::KillHolder => timers.set(p.kill_at(), Wake::Kill),
            Demo::RogueWriter => {
                let first = p.dist.sample(p.think, &mut rngs[p.n_procs as usize]);
                timers.set(first, Wake::Rogue);
            }
            Demo::None => {}
        }
        LockModel {
            p,
            timers,
            states: vec![State::Thinking; p.n_procs as usize],
            rngs,
            holders: Vec::new(),
            waiters: VecDeque::new(),
            file: FileState::Absent,
            counter: 0,
            rogue_read: None,
            kill_pending: false,
            stretch: None,
            final_emitted: false,
            out: VecDeque::new(),
        }
    }

    fn emit(&mut self, t: Nanos, actor: ActorId, event: LockEvent) {
        self.out.push_back(Event { t, actor, kind: EventKind::Lock(event) });
    }

    fn draw(&mut self, i: u32, mean: Nanos) -> Nanos {
        self.p.dist.sample(mean, &mut self.rngs[i as usize])
    }

    fn step(&mut self, i: u32, now: Nanos) {
        match self.states[i as usize] {
            State::Thinking if now >= self.p.duration => self.states[i as usize] = State::Done,
            State::Thinking => {
                let kind = self.p.kind_of(i);
                self.emit(now, ActorId(i), LockEvent::Requested { kind });
                self.try_acquire(i, now);
            }
            State::Waiting => self.try_acquire(i, now),
            State::Holding { read } => self.release(i, read, now),
            State::Dead | State::Done => {}
        }
    }

    fn compatible(&self, kind: LockKind) -> bool {
        match (self.p.mode, kind) {
            (AcquireMode::LockFile, _) => self.file == FileState::Absent,
            (_, LockKind::Exclusive) => self.holders.is_empty(),
            (_, LockKind::Shared) => self.holders.iter().all(|(_, k)| *k == LockKind::Shared),
        }
    }

    fn try_acquire(&mut self, i: u32, now: Nanos) {
        let kind = self.p.kind_of(i);
        if self.compatible(kind) {
            self.holders.push((i, kind));
            if self.p.mode == AcquireMode::LockFile {
                self.file = FileState::Present;
            }
            self.states[i as usize] = State::Holding { read: self.counter };
            self.emit(now, ActorId(i), LockEvent::Acquired { kind });
            if self.stretch.is_none_or(|(last, _)| last != i) {
                self.stretch = Some((i, now));
            }
            if i == 0 && self.kill_pending {
                self.timers.set(now, Wake::Kill);
            }
            // Half the turn's own work (the counter's read and write) is done holding the lock.
            let hold = self.draw(i, self.p.hold) + Nanos(self.p.turn.0 / 2);
            self.timers.set(now + self.stretched(hold, self.p.hold), Wake::Proc(i));
            return;
        }
        match self.p.mode {
            AcquireMode::Blocking => {
                self.states[i as usize] = State::Waiting;
                self.waiters.push_back(i);
            }
            AcquireMode::NonBlocking | AcquireMode::LockFile => {
                self.emit(now, ActorId(i), LockEvent::WouldBlock { attempts: 1 });
                if now >= self.p.duration {
                    self.emit(now, ActorId(i), LockEvent::GaveUp);
                    self.states[i as usize] = State::Done;
                } else {
                    self.states[i as usize] = State::Waiting;
                    let retry = self.stretched(self.p.retry, self.p.retry) + Nanos(self.p.turn.0 / 2);
                    self.timers.set(now + retry, Wake::Proc(i));
                }
            }
        }
    }

    fn release(&mut self, i: u32, read: u64, now: Nanos) {
        let kind = self.p.kind_of(i);
        self.holders.retain(|(h, _)| *h != i);
        if kind == LockKind::Exclusive {
            self.counter = read + 1;
            self.emit(now, ActorId(i), LockEvent::CounterWrite { value: self.counter, locked: true });
        }
        if self.p.mode == AcquireMode::LockFile {
            self.file = FileState::Absent;
        }
        self.emit(now, ActorId(i), LockEvent::Released);
        self.states[i as usize] = State::Thinking;
        // Past its slice, a process that would come straight back gives way: the waiter it wakes runs first.
        let slice_over = self.stretch.is_some_and(|(_, since)| now.saturating_sub(since) >= self.p.slice);
        let gives_way = !self.waiters.is_empty() && slice_over;
        self.wake_waiters(now);
        let back = if gives_way { now + self.p.wake } else { now };
        let think = self.draw(i, self.p.think);
        // The other half of the turn's own work: the unlock, the records, the next request's lock.
        let own = Nanos(self.p.turn.0 - self.p.turn.0 / 2);
        self.timers.set(back + self.stretched(think, self.p.think) + own, Wake::Proc(i));
    }

    /// The kernel wakes every blocked waiter; each retries after the wake-up latency and the first wins.
    fn wake_waiters(&mut self, now: Nanos) {
        while let Some(w) = self.waiters.pop_front() {
            self.timers.set(now + self.p.wake, Wake::Proc(w));
        }
    }

    /// How many processes want a CPU now: those spinning through a short hold, think or retry.
    fn on_cpu(&self) -> u32 {
        let spins = |mean: Nanos| u32::from(mean <= SPIN);
        let (mut holding, mut thinking, mut waiting) = (0u32, 0u32, 0u32);
        for state in &self.states {
            match state {
                State::Holding { .. } => holding += 1,
                State::Thinking => thinking += 1,
                State::Waiting => waiting += 1,
                State::Dead | State::Done => {}
            }
        }
        // A blocked waiter sleeps, and a woken one is on its way back for a moment, not spinning: neither counts.
        let waiting_on_cpu = match self.p.mode {
            AcquireMode::Blocking => 0,
            AcquireMode::NonBlocking | AcquireMode::LockFile => spins(self.p.retry) * waiting,
        };
        spins(self.p.hold) * holding + spins(self.p.think) * thinking + waiting_on_cpu
    }

    /// The time a process needs for `wait` drawn around `mean`: a spun wait stretches while more processes want a
    /// CPU than there are, as they share them.
    fn stretched(&self, wait: Nanos, mean: Nanos) -> Nanos {
        let wanting = u64::from(self.on_cpu());
        let cpus = u64::from(self.p.cpus.max(1));
        if mean > SPIN || wanting <= cpus { wait } else { Nanos(wait.0 * wanting / cpus) }
    }

    /// The demonstration's victim is P0 (always a writer): killed at its first hold from a third of the run on.
    fn kill(&mut self, now: Nanos) {
        const VICTIM: u32 = 0;
        if !matches!(self.states[VICTIM as usize], State::Holding { .. }) {
            self.kill_pending = true;
            return;
        }
        self.kill_pending = false;
        self.holders.retain(|(h, _)| *h != VICTIM);
        self.states[VICTIM as usize] = State::Dead;
        self.emit(now, ActorId(VICTIM), LockEvent::Killed);
        if self.p.mode == AcquireMode::LockFile {
            // Nobody removes the file: it stays, stale, and every later attempt fails.
            self.file = FileState::Stale;
        } else {
            // The kernel drops a flock with the last descriptor of a dead process.
            self.wake_waiters(now);
        }
    }

    fn rogue_step(&mut self, now: Nanos) {
        let Some(rogue) = self.p.rogue_actor() else { return };
        let idx = self.p.n_procs;
        match self.rogue_read.take() {
            None if now >= self.p.duration => {}
            None => {
                self.rogue_read = Some(self.counter);
                let hold = self.draw(idx, self.p.hold);
                self.timers.set(now + hold, Wake::Rogue);
            }
            Some(read) => {
                self.counter = read + 1;
                self.emit(now, rogue, LockEvent::CounterWrite { value: self.counter, locked: false });
                let think = self.draw(idx, self.p.think);
                self.timers.set(now + think, Wake::Rogue);
            }
        }
    }
}

impl Model for LockModel {
    fn poll_timeout(&self) -> Option<Nanos> {
        self.timers.next_due()
    }

    fn handle_timeout(&mut self, now: Nanos) {
        while let Some(wake) = self.timers.pop_due(now) {
            match wake {
                Wake::Proc(i) => self.step(i, now),
                Wake::Kill => self.kill(now),
                Wake::Rogue => self.rogue_step(now),
            }
        }
        if self.timers.next_due().is_none() && !self.final_emitted {
            self.final_emitted = true;
            let file = self.p.file_actor();
            self.emit(now, file, LockEvent::CounterFinal { value: self.counter });
        }
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.out.pop_front()
    }
}
