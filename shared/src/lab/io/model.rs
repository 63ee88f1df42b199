//! The five servers modelled on the same schedule of messages: each server's threads, their states and the
//! system calls they make, event by event.

use super::*;

/// Per source: its messages as (ready time, seq), in order.
pub(super) fn per_source(p: &IoParams, schedule: &[(Nanos, u32)]) -> Vec<Vec<(Nanos, u32)>> {
    let mut out = vec![Vec::new(); p.sources as usize];
    for (seq, &(at, source)) in schedule.iter().enumerate() {
        out[source as usize].push((at, seq as u32));
    }
    out
}

/// One server's simulated thread(s): emits state changes and serves, and adds up the costs.
struct Sim<'a> {
    server: Server,
    p: &'a IoParams,
    out: Vec<Event>,
    states: Vec<ThreadState>,
    since: Vec<Nanos>,
    blocked: u64,
    polling: u64,
    sleeping: u64,
    syscalls: u64,
    wasted: u64,
    busy: u64,
}

impl<'a> Sim<'a> {
    /// A server whose threads all run from the start.
    fn new(server: Server, p: &'a IoParams, threads: u32) -> Self {
        Self::started(server, p, threads, |_| Nanos::ZERO)
    }

    /// A server whose thread `i` starts running at `start(i)`.
    fn started(server: Server, p: &'a IoParams, threads: u32, start: impl Fn(u32) -> Nanos) -> Self {
        let mut sim = Sim {
            server,
            p,
            out: Vec::new(),
            states: vec![ThreadState::Done; threads as usize],
            since: vec![Nanos::ZERO; threads as usize],
            blocked: 0,
            polling: 0,
            sleeping: 0,
            syscalls: 0,
            wasted: 0,
            busy: 0,
        };
        for thread in 0..threads {
            sim.enter(start(thread), thread, ThreadState::Running);
        }
        sim
    }

    fn push(&mut self, t: Nanos, ev: IoEvent) {
        self.out.push(Event { t, actor: self.server.actor(), kind: EventKind::Io(ev) });
    }

    fn enter(&mut self, t: Nanos, thread: u32, state: ThreadState) {
        let i = thread as usize;
        if self.states[i] == state {
            return;
        }
        let span = t.saturating_sub(self.since[i]).0;
        match self.states[i] {
            ThreadState::Blocked => self.blocked += span,
            ThreadState::Polling => self.polling += span,
            ThreadState::Running | ThreadState::Done => {}
        }
        self.states[i] = state;
        self.since[i] = t;
        self.push(t, IoEvent::State { server: self.server, thread, state });
    }

    /// Blocks `thread` from `now` until `ready` (if later) plus the wake-up; returns when it runs again.
    fn block_until(&mut self, now: Nanos, thread: u32, ready: Nanos) -> Nanos {
        if ready <= now {
            return now;
        }
        self.enter(now, thread, ThreadState::Blocked);
        let running = ready + self.p.wake;
        self.enter(running, thread, ThreadState::Running);
        running
    }

    /// A read that returns data: the call, then the work for each message; returns the time after.
    fn serve(&mut self, mut now: Nanos, thread: u32, source: u32, messages: &[(Nanos, u32)], call: bool) -> Nanos {
        if call {
            now = now + self.p.syscall;
            self.syscalls += 1;
            self.busy += self.p.syscall.0;
        }
        for &(_, seq) in messages {
            now = now + self.p.work;
            self.busy += self.p.work.0;
            self.push(now, IoEvent::Served { server: self.server, source, seq, thread });
        }
        now
    }

    fn finish(mut self, end: Nanos) -> Vec<Event> {
        for thread in 0..self.states.len() as u32 {
            self.enter(end, thread, ThreadState::Done);
        }
        let (server, threads) = (self.server, self.states.len() as u32);
        let ev = IoEvent::Cost {
            server,
            cpu_ns: self.busy + self.polling.saturating_sub(self.sleeping),
            blocked_ns: self.blocked,
            polling_ns: self.polling.saturating_sub(self.sleeping),
            sleeping_ns: self.sleeping,
            syscalls: self.syscalls,
            wasted: self.wasted,
            threads,
        };
        self.push(end, ev);
        self.out
    }
}

/// The messages of a source ready by `now` from index `next` on: how many.
fn ready_count(messages: &[(Nanos, u32)], next: usize, now: Nanos) -> usize {
    messages[next..].iter().take_while(|m| m.0 <= now).count()
}

pub(super) fn simulate_server(server: Server, p: &IoParams, sources: &[Vec<(Nanos, u32)>], eof: Nanos) -> Vec<Event> {
    let k = p.sources as usize;
    match server {
        // Each source in turn: wait for its next message, read it; a source at its end reads EOF and leaves.
        Server::Blocking => {
            let mut sim = Sim::new(server, p, 1);
            let mut next = vec![0usize; k];
            let mut active: Vec<usize> = (0..k).collect();
            let mut now = Nanos::ZERO;
            while !active.is_empty() {
                active.retain(|&s| match sources[s].get(next[s]) {
                    Some(&msg) => {
                        now = sim.block_until(now, 0, msg.0);
                        now = sim.serve(now, 0, s as u32, &[msg], true);
                        next[s] += 1;
                        true
                    }
                    None => {
                        now = sim.block_until(now, 0, eof);
                        now = now + p.syscall;
                        sim.syscalls += 1;
                        sim.busy += p.syscall.0;
                        false
                    }
                });
            }
            sim.finish(now)
        }
        // A thread per source, started one after another as the messages already flow: a message written
        // before its thread runs waits for it.
        Server::Threads => {
            let start = |thread: u32| Nanos(p.spawn.0 * (u64::from(thread) + 1));
            let mut sim = Sim::started(server, p, p.sources, start);
            let mut end = Nanos::ZERO;
            for (s, messages) in sources.iter().enumerate() {
                let mut now = start(s as u32);
                for &msg in messages {
                    now = sim.block_until(now, s as u32, msg.0);
                    now = sim.serve(now, s as u32, s as u32, &[msg], true);
                }
                now = sim.block_until(now, s as u32, eof) + p.syscall;
                sim.syscalls += 1;
                sim.busy += p.syscall.0;
                end = end.max(now);
            }
            sim.finish(end)
        }
        // Rounds over every open source; a round that found nothing is followed by the sleep. Runs of empty
        // rounds are skipped over in one step, counted exactly.
        Server::Polling => {
            let mut sim = Sim::new(server, p, 1);
            let mut next = vec![0usize; k];
            let mut open = vec![true; k];
            let mut now = Nanos::ZERO;
            while open.iter().any(|&o| o) {
                let n_open = open.iter().filter(|&&o| o).count() as u64;
                let earliest = (0..k).filter(|&s| open[s]).map(|s| sources[s].get(next[s]).map_or(eof, |m| m.0)).min();
                let round = Nanos(n_open * p.syscall.0 + p.poll_sleep.0);
                if let Some(earliest) = earliest
                    && earliest > now + round
                {
                    // Whole rounds before anything is ready: all wasted.
                    let rounds = (earliest.0 - now.0) / round.0.max(1);
                    sim.enter(now, 0, ThreadState::Polling);
                    sim.wasted += rounds * n_open;
                    sim.syscalls += rounds * n_open;
                    sim.sleeping += rounds * p.poll_sleep.0;
                    now = now + Nanos(rounds * round.0);
                }
                let mut found = false;
                for s in 0..k {
                    if !open[s] {
                        continue;
                    }
                    let call_end = now + p.syscall;
                    let n = ready_count(&sources[s], next[s], call_end);
                    if n > 0 {
                        found = true;
                        sim.enter(now, 0, ThreadState::Running);
                        let batch: Vec<(Nanos, u32)> = sources[s][next[s]..next[s] + n].to_vec();
                        now = sim.serve(now, 0, s as u32, &batch, true);
                        next[s] += n;
                    } else if next[s] == sources[s].len() && call_end >= eof {
                        // EOF: the source is done.
                        sim.enter(now, 0, ThreadState::Running);
                        now = call_end;
                        sim.syscalls += 1;
                        sim.busy += p.syscall.0;
                        open[s] = false;
                    } else {
                        sim.enter(now, 0, ThreadState::Polling);
                        now = call_end;
                        sim.syscalls += 1;
                        sim.wasted += 1;
                    }
                }
                if !found && p.poll_sleep > Nanos::ZERO && open.iter().any(|&o| o) {
                    sim.enter(now, 0, ThreadState::Polling);
                    now = now + p.poll_sleep;
                    sim.sleeping += p.poll_sleep.0;
                }
            }
            sim.finish(now)
        }
        // Wait for any ready source (one call), then read each ready source once (a read takes all it has).
        // io_uring: the reads were submitted before; completions arrive without a read call, and the wait that
        // reaps them also submits the next reads.
        Server::Epoll | Server::Uring => {
            let mut sim = Sim::new(server, p, 1);
            let mut next = vec![0usize; k];
            let mut open = vec![true; k];
            let mut now = Nanos::ZERO;
            let per_read = server == Server::Epoll;
            while open.iter().any(|&o| o) {
                let earliest = (0..k)
                    .filter(|&s| open[s])
                    .map(|s| sources[s].get(next[s]).map_or(eof, |m| m.0))
                    .min()
                    .unwrap_or(eof);
                sim.syscalls += 1;
                sim.busy += p.syscall.0;
                now = sim.block_until(now + p.syscall, 0, earliest);
                for s in 0..k {
                    if !open[s] {
                        continue;
                    }
                    let n = ready_count(&sources[s], next[s], now);
                    if n > 0 {
                        let batch: Vec<(Nanos, u32)> = sources[s][next[s]..next[s] + n].to_vec();
                        now = sim.serve(now, 0, s as u32, &batch, per_read);
                        next[s] += n;
                    } else if next[s] == sources[s].len() && now >= eof {
                        if per_read {
                            now = now + p.syscall;
                            sim.syscalls += 1;
                            sim.busy += p.syscall.0;
                        }
                        open[s] = false;
                    }
                }
            }
            sim.finish(now)
        }
    }
}
