//! The stage-and-channel model: every thread is a small state machine (make or work, send, receive, select),
//! every channel a buffer with its waiting senders and receivers, with Go's rules: a rendezvous hands an item
//! from sender to receiver directly, a bounded channel stalls its sender when full, an unbounded one never
//! does, and a channel closes when the last thread that sends on it has finished. The threads share the
//! machine's CPUs: a thread that makes or works on an item needs one — with the CPU workload, or when its wait
//! is short enough for the real workers to spin it rather than trust a sleep (`spin_us`) — and waits its turn
//! (first come, first served) while all are taken. Across processes, consumer 0 is killed once its share of
//! the items is delivered: what it held is lost, and a consumer in a new slot takes its place after a process
//! start.

use super::{PipelineEvent, PipelineParams, Role, Side, Topology};
use crate::lab::MAX_SIM_EVENTS;
use crate::rng::SimRng;
use crate::sim::Timers;
use crate::time::Nanos;
use crate::trace::{ActorId, Event, EventKind};
use std::collections::{BTreeSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Ready to take its next step when its timer fires.
    Ready,
    /// Making or working on an item until its timer fires.
    Busy(u32),
    /// Woken with an item (its timer fires when it runs again), then working on it for this long.
    Waking(u32, Nanos),
    /// Waiting for a CPU to work on an item for this long.
    Runnable(u32, Nanos),
    /// select's default branch: other work until its timer fires.
    Spinning,
    SendWait,
    RecvWait,
    /// A consumer started again in a killed one's place, ready when its timer fires.
    Starting,
    Done,
}

struct Thread {
    stage: usize,
    index: u32,
    state: State,
    rng: SimRng,
    /// Whether its work holds one of the CPUs.
    on_cpu: bool,
}

struct Channel {
    capacity: Option<u32>,
    queue: VecDeque<u32>,
    senders: VecDeque<(usize, u32)>,
    receivers: VecDeque<usize>,
    /// Threads that may still send on it; at zero it is closed.
    writers: u32,
}

struct Sim<'a> {
    p: &'a PipelineParams,
    seed: u64,
    topo: Topology,
    threads: Vec<Thread>,
    channels: Vec<Channel>,
    /// Per stage: items it may still make (producers).
    quota: Vec<u32>,
    next_item: u32,
    /// Start-order delivery: results waiting for their turn, and the next item due.
    reorder: BTreeSet<u32>,
    next_due: u32,
    timers: Timers<usize>,
    out: Vec<Event>,
    /// CPUs no thread works on, and the threads waiting for one, in order.
    free_cpus: u32,
    run_queue: VecDeque<usize>,
    /// Items delivered so far, and after how many consumer 0 is killed (taken once it is).
    delivered: u32,
    kill_after: Option<u32>,
}

/// The run's events, and the time it stopped at if it reached the event budget first.
pub fn simulate(p: &PipelineParams, seed: u64) -> (Vec<Event>, Option<Nanos>) {
    let topo = p.topology();
    let mut threads = Vec::new();
    for (s, stage) in topo.stages.iter().enumerate() {
        for i in 0..stage.threads {
            let stream = threads.len() as u64;
            let rng = SimRng::new(seed, stream);
            threads.push(Thread { stage: s, index: i, state: State::Ready, rng, on_cpu: false });
        }
    }
    let channels = topo
        .channels
        .iter()
        .enumerate()
        .map(|(c, info)| Channel {
            capacity: info.capacity,
            queue: VecDeque::new(),
            senders: VecDeque::new(),
            receivers: VecDeque::new(),
            writers: topo.stages.iter().filter(|s| s.output == Some(c)).map(|s| s.threads).sum(),
        })
        .collect();
    let quota = topo.stages.iter().map(|s| s.quota).collect();
    let mut sim = Sim {
        p,
        seed,
        topo,
        threads,
        channels,
        quota,
        next_item: 0,
        reorder: BTreeSet::new(),
        next_due: 0,
        timers: Timers::default(),
        out: Vec::new(),
        free_cpus: p.cpus,
        run_queue: VecDeque::new(),
        delivered: 0,
        kill_after: p.kill_after(),
    };
    for t in 0..sim.threads.len() {
        sim.timers.set(Nanos::ZERO, t);
    }
    let mut stopped = None;
    while let Some(now) = sim.timers.next_due() {
        while let Some(t) = sim.timers.pop_due(now) {
            sim.step(t, now);
            if sim.kill_after.is_some_and(|n| sim.delivered >= n) {
                sim.kill_after = None;
                sim.kill(now);
            }
        }
        if sim.out.len() >= MAX_SIM_EVENTS {
            stopped = Some(now);
            break;
        }
    }
    sim.out.sort_by_key(|e| e.t);
    (sim.out, stopped)
}

impl Sim<'_> {
    fn emit(&mut self, t: Nanos, stage: usize, ev: PipelineEvent) {
        self.out.push(Event { t, actor: ActorId(stage as u32), kind: EventKind::Pipeline(ev) });
    }

    fn queued(&self, c: usize) -> u32 {
        self.channels[c].queue.len() as u32
    }

    fn ids(&self, t: usize) -> (u32, u32) {
        (self.threads[t].stage as u32, self.threads[t].index)
    }

    fn draw(&mut self, t: usize, mean: Nanos) -> Nanos {
        self.p.service.sample(mean, &mut self.threads[t].rng)
    }

    /// A thread's timer fired: it finished what it was doing, or it is ready to go on.
    fn step(&mut self, t: usize, now: Nanos) {
        let stage = self.threads[t].stage;
        let role = self.topo.stages[stage].role;
        match self.threads[t].state {
            State::Busy(item) => {
                self.release_cpu(t, now);
                let (s, i) = self.ids(t);
                self.emit(now, stage, PipelineEvent::Finished { item, stage: s, thread: i });
                match self.topo.stages[stage].output {
                    Some(c) => {
                        if !self.send(t, item, c, now) {
                            return;
                        }
                    }
                    None => self.deliver(item, now, stage),
                }
                self.next(t, role, now);
            }
            State::Spinning | State::Ready => self.next(t, role, now),
            State::Waking(item, service) => self.work(t, item, service, now),
            State::Starting => {
                let (s, i) = self.ids(t);
                self.emit(now, stage, PipelineEvent::Restarted { stage: s, thread: i });
                self.next(t, role, now);
            }
            State::SendWait | State::RecvWait | State::Runnable(..) | State::Done => {}
        }
    }

    /// The thread's next move in its loop.
    fn next(&mut self, t: usize, role: Role, now: Nanos) {
        let stage = self.threads[t].stage;
        match role {
            Role::Produce => {
                if self.quota[stage] == 0 {
                    return self.finish(t, now);
                }
                self.quota[stage] -= 1;
                let item = self.next_item;
                self.next_item += 1;
                let (s, i) = self.ids(t);
                self.emit(now, stage, PipelineEvent::Produced { item, stage: s, thread: i });
                let mut service = self.draw(t, self.topo.stages[stage].service);
                let downstream_spawns = self.topo.stages[stage]
                    .output
                    .is_some_and(|c| self.topo.stages.iter().any(|s| s.spawn_each && s.inputs.contains(&c)));
                if downstream_spawns {
                    service = service + self.p.spawn;
                }
                self.work(t, item, service, now);
            }
            Role::Work | Role::Collect | Role::Select => self.receive(t, now),
        }
    }

    /// Sends `item` on `c`; false when the sender must wait (it goes on when a receiver takes the item).
    fn send(&mut self, t: usize, item: u32, c: usize, now: Nanos) -> bool {
        let stage = self.threads[t].stage;
        while let Some(r) = self.channels[c].receivers.pop_front() {
            if self.threads[r].state != State::RecvWait {
                continue;
            }
            let queued = self.queued(c);
            self.emit(now, stage, PipelineEvent::Sent { item, channel: c as u32, queued });
            self.hand_to(r, item, c, now);
            return true;
        }
        let ch = &self.channels[c];
        if ch.capacity.is_none_or(|k| (ch.queue.len() as u32) < k) {
            self.channels[c].queue.push_back(item);
            let queued = self.queued(c);
            self.emit(now, stage, PipelineEvent::Sent { item, channel: c as u32, queued });
            return true;
        }
        self.channels[c].senders.push_back((t, item));
        self.threads[t].state = State::SendWait;
        let (s, i) = self.ids(t);
        self.emit(now, stage, PipelineEvent::Blocked { stage: s, thread: i, side: Side::Send });
        false
    }

    /// A waiting receiver gets `item` from channel `c`: it wakes and starts on it.
    fn hand_to(&mut self, r: usize, item: u32, c: usize, now: Nanos) {
        let stage = self.threads[r].stage;
        // A selector waits on all its inputs: it no longer waits on the others.
        for ch in &mut self.channels {
            ch.receivers.retain(|&x| x != r);
        }
        let (s, i) = self.ids(r);
        self.emit(now, stage, PipelineEvent::Unblocked { stage: s, thread: i });
        let queued = self.queued(c);
        self.emit(now, stage, PipelineEvent::Received { item, channel: c as u32, stage: s, thread: i, queued });
        self.start(r, item, now, now + self.p.wake);
    }

    /// Starts the thread's work on an item it just received, once it runs (`at`, after a wake-up).
    fn start(&mut self, t: usize, item: u32, now: Nanos, at: Nanos) {
        let stage = self.threads[t].stage;
        let mean = self.topo.stages[stage].service;
        let service = self.p.item_work(self.seed, item, mean).unwrap_or_else(|| self.draw(t, mean));
        if at > now {
            self.threads[t].state = State::Waking(item, service);
            self.timers.set(at, t);
        } else {
            self.work(t, item, service, now);
        }
    }

    /// The thread works on `item` for `service` from `now`: on a CPU when the work needs one, and after the
    /// threads already waiting for one when none is free.
    fn work(&mut self, t: usize, item: u32, service: Nanos, now: Nanos) {
        let on_cpu = self.p.cpu_workload || service <= self.p.spin;
        if !on_cpu || service == Nanos::ZERO {
            self.threads[t].state = State::Busy(item);
            return self.timers.set(now + service, t);
        }
        if self.free_cpus == 0 {
            self.threads[t].state = State::Runnable(item, service);
            return self.run_queue.push_back(t);
        }
        self.free_cpus -= 1;
        self.threads[t].on_cpu = true;
        self.threads[t].state = State::Busy(item);
        self.timers.set(now + service, t);
    }

    /// The thread's work is done: its CPU goes to the longest waiting thread.
    fn release_cpu(&mut self, t: usize, now: Nanos) {
        if !std::mem::take(&mut self.threads[t].on_cpu) {
            return;
        }
        self.free_cpus += 1;
        if let Some(next) = self.run_queue.pop_front()
            && let State::Runnable(item, service) = self.threads[next].state
        {
            self.work(next, item, service, now);
        }
    }

    /// Takes an item from channel `c` if one is there (buffered, or from a waiting sender).
    fn take(&mut self, t: usize, c: usize, now: Nanos) -> bool {
        let stage = self.threads[t].stage;
        let (s, i) = self.ids(t);
        if let Some(item) = self.channels[c].queue.pop_front() {
            let queued = self.queued(c);
            self.emit(now, stage, PipelineEvent::Received { item, channel: c as u32, stage: s, thread: i, queued });
            // A sender stalled on the full buffer moves its item in and goes on.
            if let Some((w, pending)) = self.channels[c].senders.pop_front() {
                self.channels[c].queue.push_back(pending);
                self.wake_sender(w, pending, c, now);
            }
            self.start(t, item, now, now);
            return true;
        }
        if let Some((w, item)) = self.channels[c].senders.pop_front() {
            // A rendezvous: the item passes straight from the waiting sender.
            self.wake_sender(w, item, c, now);
            let queued = self.queued(c);
            self.emit(now, stage, PipelineEvent::Received { item, channel: c as u32, stage: s, thread: i, queued });
            self.start(t, item, now, now);
            return true;
        }
        false
    }

    fn wake_sender(&mut self, w: usize, item: u32, c: usize, now: Nanos) {
        let stage = self.threads[w].stage;
        let (s, i) = self.ids(w);
        let queued = self.queued(c);
        self.emit(now, stage, PipelineEvent::Sent { item, channel: c as u32, queued });
        self.emit(now, stage, PipelineEvent::Unblocked { stage: s, thread: i });
        self.threads[w].state = State::Ready;
        self.timers.set(now + self.p.wake, w);
    }

    fn receive(&mut self, t: usize, now: Nanos) {
        let stage = self.threads[t].stage;
        // By index, not a copy of the list: this runs for every item a stage takes, and an allocation costs more
        // than the rest of it (in wasm most of all).
        let input = |sim: &Self, k: usize| sim.topo.stages[stage].inputs[k];
        let n_inputs = self.topo.stages[stage].inputs.len();
        for k in 0..n_inputs {
            if self.take(t, input(self, k), now) {
                return;
            }
        }
        if (0..n_inputs).all(|k| self.channels[input(self, k)].writers == 0) {
            return self.finish(t, now);
        }
        let (s, i) = self.ids(t);
        if self.topo.stages[stage].role == Role::Select && self.topo.default_branch {
            self.emit(now, stage, PipelineEvent::EmptySelect { stage: s, thread: i });
            self.threads[t].state = State::Spinning;
            self.timers.set(now + self.p.default_work, t);
            return;
        }
        for k in 0..n_inputs {
            let c = input(self, k);
            if self.channels[c].writers > 0 {
                self.channels[c].receivers.push_back(t);
            }
        }
        self.threads[t].state = State::RecvWait;
        self.emit(now, stage, PipelineEvent::Blocked { stage: s, thread: i, side: Side::Recv });
    }

    /// Delivers an item out of the pipeline, in start order if asked (a collector holds early ones back).
    fn deliver(&mut self, item: u32, now: Nanos, stage: usize) {
        self.delivered += 1;
        let collect = self.topo.stages[stage].role == Role::Collect;
        if !(collect && self.topo.start_order) {
            return self.emit(now, stage, PipelineEvent::Delivered { item });
        }
        self.reorder.insert(item);
        while self.reorder.remove(&self.next_due) {
            let due = self.next_due;
            self.emit(now, stage, PipelineEvent::Delivered { item: due });
            self.next_due += 1;
        }
    }

    /// Kills consumer 0: whatever item it holds is lost, the CPU it held goes on, and a consumer in a new slot
    /// (the same stage and number) starts after a process start. Its old slot's timer finds it done.
    fn kill(&mut self, now: Nanos) {
        let stage = super::processes::CONSUMERS as usize;
        let killed = super::processes::KILLED;
        let Some(t) = self.threads.iter().position(|x| x.stage == stage && x.index == killed && x.state != State::Done)
        else {
            return;
        };
        let held = match self.threads[t].state {
            State::Busy(item) | State::Waking(item, _) | State::Runnable(item, _) => Some(item),
            _ => None,
        };
        self.run_queue.retain(|&x| x != t);
        for ch in &mut self.channels {
            ch.receivers.retain(|&x| x != t);
        }
        self.release_cpu(t, now);
        self.threads[t].state = State::Done;
        let queued = self.queued(super::processes::QUEUE as usize);
        let s = stage as u32;
        self.emit(now, stage, PipelineEvent::Killed { stage: s, thread: killed, queued });
        if let Some(item) = held {
            self.emit(now, stage, PipelineEvent::Lost { item });
        }
        let rng = SimRng::new(self.seed, self.threads.len() as u64);
        self.threads.push(Thread { stage, index: killed, state: State::Starting, rng, on_cpu: false });
        self.timers.set(now + self.p.restart, self.threads.len() - 1);
    }

    /// The thread is done; the channel it sends on closes when its last sender is, waking its receivers.
    fn finish(&mut self, t: usize, now: Nanos) {
        self.threads[t].state = State::Done;
        let Some(c) = self.topo.stages[self.threads[t].stage].output else { return };
        self.channels[c].writers -= 1;
        if self.channels[c].writers == 0 {
            let waiting: Vec<usize> = self.channels[c].receivers.drain(..).collect();
            for r in waiting {
                if self.threads[r].state == State::RecvWait {
                    for ch in &mut self.channels {
                        ch.receivers.retain(|&x| x != r);
                    }
                    let stage = self.threads[r].stage;
                    let (s, i) = self.ids(r);
                    self.emit(now, stage, PipelineEvent::Unblocked { stage: s, thread: i });
                    self.threads[r].state = State::Ready;
                    self.timers.set(now, r);
                }
            }
        }
    }
}
