//! The four I/O models. K sources (pipes) receive messages at random moments; five servers read them: one
//! thread blocking on each source in turn (synchronous, blocking), one blocking thread per source, one thread
//! looping over non-blocking reads (synchronous, non-blocking: polling), one thread waiting on epoll for any
//! ready source (asynchronous, blocking: multiplexing) and one thread reaping completions of reads submitted to
//! io_uring (asynchronous, non-blocking: completion). Every server faces the same seeded schedule; each one's
//! time line starts at its own zero, so the lanes stack for comparison.

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::rng::{Distribution, SimRng};
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace, Unit};
use serde::{Deserialize, Serialize};

pub static INFO: LabInfo = LabInfo {
    id: LabId::Io,
    title: "The four I/O models",
    summary: "Blocking, non-blocking polling, multiplexing (epoll) and completion (io_uring) on the same workload.",
    explanation: &[
        "A program that reads from many sources (pipes, sockets, files) must wait for them, and there are four \
         ways to wait. Synchronous blocking: read one source and sleep in the kernel until it has data. \
         Synchronous non-blocking: ask every source in turn and take EAGAIN for an answer until one has data \
         (polling). Asynchronous blocking, or multiplexing: one call (select, poll, epoll) sleeps until any \
         source is ready, the event-driven model. Asynchronous non-blocking, or completion: submit the reads \
         and be told when each has finished (POSIX aio; today io_uring).",
        "Why it matters: one blocking thread serves sources in its own order, so a quiet source holds up busy \
         ones (head-of-line blocking); a thread per source fixes that with a thread per source. Polling answers \
         fast but burns a CPU on wasted calls, or sleeps and answers late. epoll and io_uring serve every ready \
         source from one thread and sleep when nothing is ready; io_uring also saves the read call per request.",
        "Try: raise the sources from 16 to 1 000 and watch the wasted polls and the blocking thread's latency \
         grow while epoll stays put; give the poller a sleep and see its CPU fall and its latency rise. The lanes \
         show each thread's state: running (a call or the work), blocked in the kernel, polling, sleeping.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
};

lab_entry!(IoLab, IoParams);

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "polling_cost",
    prompt: "How many times more CPU per message will the non-blocking polling loop spend than epoll?",
    figure: Figure::Ratio("polling_cpu_per_msg", "epoll_cpu_per_msg"),
    answers: &[
        Answer { label: "About the same (under 1.5×)", below: 1.5 },
        Answer { label: "1.5× to 5×", below: 5.0 },
        Answer { label: "Over 5×", below: INF },
    ],
    why: "The polling loop asks every source again and again and is told EAGAIN almost every time: it keeps \
              a CPU busy while nothing arrives. epoll sleeps in the kernel until a source is ready, so its CPU \
              goes to the messages themselves.",
}];

static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "sources",
        label: "Sources (K)",
        unit: "",
        help: "How many pipes the servers read.",
        kind: ParamKind::Int { min: 1, max: 1_000, default: 16 },
        simulation_only: false,
    },
    ParamSpec {
        key: "requests",
        label: "Messages",
        unit: "",
        help: "How many messages the feeder writes, each to a random source.",
        kind: ParamKind::Int { min: 1, max: 2_000, default: 200 },
        simulation_only: false,
    },
    ParamSpec {
        key: "rate",
        label: "Message rate",
        unit: "/s",
        help: "Messages per second over all sources, at random (exponential) moments.",
        kind: ParamKind::Int { min: 100, max: 100_000, default: 5_000 },
        simulation_only: false,
    },
    ParamSpec {
        key: "work_us",
        label: "Work per message",
        unit: "µs",
        help: "CPU work a server does for each message it reads.",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 20 },
        simulation_only: false,
    },
    ParamSpec {
        key: "poll_sleep_us",
        label: "Poller's sleep",
        unit: "µs",
        help: "How long the polling server sleeps after a round that found nothing (0: it spins).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 0 },
        simulation_only: false,
    },
    ParamSpec {
        key: "syscall_ns",
        label: "Read call",
        unit: "ns",
        help: "Model: one read(2) of a pipe, or an EAGAIN (measured here: about 0.3 µs).",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 300 },
        simulation_only: true,
    },
    ParamSpec {
        key: "wake_us",
        label: "Wake-up",
        unit: "µs",
        help: "Model: from data arriving to a blocked thread running again (a cross-CPU wake-up: ~10–15 µs).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 12 },
        simulation_only: true,
    },
];

/// The five servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    /// One thread, blocking read of each source in turn.
    Blocking,
    /// One thread per source, each blocking.
    Threads,
    /// One thread, non-blocking reads of every source in a loop.
    Polling,
    /// One thread waiting on epoll.
    Epoll,
    /// One thread reaping io_uring completions.
    Uring,
}

impl Server {
    pub const ALL: [Server; 5] = [Server::Blocking, Server::Threads, Server::Polling, Server::Epoll, Server::Uring];

    pub fn key(self) -> &'static str {
        match self {
            Server::Blocking => "blocking",
            Server::Threads => "threads",
            Server::Polling => "polling",
            Server::Epoll => "epoll",
            Server::Uring => "uring",
        }
    }

    pub fn name(self) -> Text {
        Text::new(&format!("term.io.{}", self.key()))
    }

    /// Where the model sits: (synchronous?, blocking?).
    pub fn quadrant(self) -> (bool, bool) {
        match self {
            Server::Blocking | Server::Threads => (true, true),
            Server::Polling => (true, false),
            Server::Epoll => (false, true),
            Server::Uring => (false, false),
        }
    }

    pub fn actor(self) -> ActorId {
        ActorId(1 + self as u32)
    }
}

/// What a server's thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    /// In a read that returns data, or doing the work.
    Running,
    /// Asleep in the kernel until data comes.
    Blocked,
    /// Asking sources that have nothing (EAGAIN), with the poller's sleeps between rounds.
    Polling,
    /// Finished.
    Done,
}

/// What happened in the I/O lab. Times are from the server's own start: every server faces the same schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum IoEvent {
    /// The feeder wrote message `seq` to `source` for `server`'s pass.
    Ready { server: Server, source: u32, seq: u32 },
    /// A thread of the server entered a state.
    State { server: Server, thread: u32, state: ThreadState },
    /// The server read message `seq` of `source` and did its work.
    Served { server: Server, source: u32, seq: u32, thread: u32 },
    /// The server's totals: CPU time, time blocked, polling and sleeping, system calls, wasted polls, threads.
    Cost {
        server: Server,
        cpu_ns: u64,
        blocked_ns: u64,
        polling_ns: u64,
        sleeping_ns: u64,
        syscalls: u64,
        wasted: u64,
        threads: u32,
    },
    /// The kernel refused the server (io_uring disabled or not allowed); the run went on without it.
    Unavailable { server: Server },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoParams {
    pub sources: u32,
    pub requests: u32,
    pub rate: f64,
    pub work: Nanos,
    pub poll_sleep: Nanos,
    pub syscall: Nanos,
    pub wake: Nanos,
}

impl IoParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("io", PARAMS, set, |r| {
            Ok(IoParams {
                sources: r.uint("sources") as u32,
                requests: r.uint("requests") as u32,
                rate: r.uint("rate") as f64,
                work: Nanos::from_micros(r.uint("work_us")),
                poll_sleep: Nanos::from_micros(r.uint("poll_sleep_us")),
                syscall: Nanos(r.uint("syscall_ns")),
                wake: Nanos::from_micros(r.uint("wake_us")),
            })
        })
    }

    /// The feeder's plan: (offset from its start, source) per message, in order. The real feeder follows it.
    pub fn schedule(&self, seed: u64) -> Vec<(Nanos, u32)> {
        let mut rng = SimRng::new(seed, 200);
        let gap = Nanos(libm::round(1e9 / self.rate) as u64);
        let mut at = Nanos::ZERO;
        (0..self.requests)
            .map(|_| {
                at = at + Distribution::Exponential.sample(gap, &mut rng);
                (at, rng.below(u64::from(self.sources)) as u32)
            })
            .collect()
    }
}

pub const FEEDER_ACTOR: ActorId = ActorId(0);

pub fn actors(feeder_pid: Option<u32>, server_pid: Option<u32>) -> Vec<Actor> {
    let mut out = vec![Actor {
        id: FEEDER_ACTOR,
        kind: ActorKind::Process,
        label: Text::new("term.actor.feeder"),
        pid: feeder_pid,
    }];
    out.extend(Server::ALL.map(|s| Actor { id: s.actor(), kind: ActorKind::Thread, label: s.name(), pid: server_pid }));
    out
}

/// Per source: its messages as (ready time, seq), in order.
fn per_source(p: &IoParams, schedule: &[(Nanos, u32)]) -> Vec<Vec<(Nanos, u32)>> {
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
    fn new(server: Server, p: &'a IoParams, threads: u32) -> Self {
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
            sim.enter(Nanos::ZERO, thread, ThreadState::Running);
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

fn simulate_server(server: Server, p: &IoParams, sources: &[Vec<(Nanos, u32)>], eof: Nanos) -> Vec<Event> {
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
        Server::Threads => {
            let mut sim = Sim::new(server, p, p.sources);
            let mut end = Nanos::ZERO;
            for (s, messages) in sources.iter().enumerate() {
                let mut now = Nanos::ZERO;
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

/// Simulates the five servers on the same schedule.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(IoParams::parse(params)?, params, seed))
}

fn simulate_typed(p: IoParams, params: &ParamSet, seed: u64) -> Trace {
    let schedule = p.schedule(seed);
    let sources = per_source(&p, &schedule);
    let eof = schedule.last().map_or(Nanos::ZERO, |m| m.0);
    let mut events = Vec::new();
    for server in Server::ALL {
        for (seq, &(at, source)) in schedule.iter().enumerate() {
            events.push(Event {
                t: at,
                actor: FEEDER_ACTOR,
                kind: EventKind::Io(IoEvent::Ready { server, source, seq: seq as u32 }),
            });
        }
        events.extend(simulate_server(server, &p, &sources, eof));
    }
    events.sort_by_key(|e| e.t);
    Trace {
        run: RunInfo { lab: LabId::Io, params: params.clone(), seed, source: Source::Simulated },
        actors: actors(None, None),
        events,
        notes: Vec::new(),
    }
}

/// One server's figures, gathered from a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerSummary {
    /// Per message seq: when it was ready and when it was served.
    pub ready: Vec<Option<Nanos>>,
    pub served: Vec<Option<Nanos>>,
    /// How many times each message was served (must be exactly once).
    pub times_served: Vec<u32>,
    pub cost: Option<IoEvent>,
    pub unavailable: bool,
    pub end: Nanos,
}

impl ServerSummary {
    pub fn latencies(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .ready
            .iter()
            .zip(&self.served)
            .filter_map(|(r, s)| Some(s.as_ref()?.saturating_sub((*r)?).0))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Every server's summary, in [`Server::ALL`] order.
pub fn summaries(trace: &Trace) -> Vec<ServerSummary> {
    let mut out = vec![ServerSummary::default(); Server::ALL.len()];
    let slot = |v: &mut Vec<Option<Nanos>>, i: u32| {
        if v.len() <= i as usize {
            v.resize(i as usize + 1, None);
        }
        i as usize
    };
    for e in &trace.events {
        let EventKind::Io(ev) = e.kind else { continue };
        match ev {
            IoEvent::Ready { server, seq, .. } => {
                let s = &mut out[server as usize];
                let i = slot(&mut s.ready, seq);
                s.ready[i] = Some(e.t);
            }
            IoEvent::Served { server, seq, .. } => {
                let s = &mut out[server as usize];
                let i = slot(&mut s.served, seq);
                s.served[i].get_or_insert(e.t);
                if s.times_served.len() <= i {
                    s.times_served.resize(i + 1, 0);
                }
                s.times_served[i] += 1;
                s.end = s.end.max(e.t);
            }
            IoEvent::Cost { server, .. } => {
                out[server as usize].cost = Some(ev);
                out[server as usize].end = out[server as usize].end.max(e.t);
            }
            IoEvent::Unavailable { server } => out[server as usize].unavailable = true,
            IoEvent::State { .. } => {}
        }
    }
    out
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let mut out = Vec::new();
    for (server, s) in Server::ALL.into_iter().zip(summaries(trace)) {
        if s.unavailable {
            continue;
        }
        let key = server.key();
        let lat = s.latencies();
        let pct = |p: f64| percentile(&lat, p).map(|v| v as f64);
        let served = s.served.iter().flatten().count() as f64;
        let cost = match s.cost {
            Some(IoEvent::Cost { cpu_ns, blocked_ns, polling_ns, syscalls, wasted, threads, .. }) => {
                Some((cpu_ns, blocked_ns, polling_ns, syscalls, wasted, threads))
            }
            _ => None,
        };
        let wall = s.end.0.max(1) as f64;
        out.extend([
            Metric::new(
                &format!("{key}_p50"),
                Text::new("metric.io.p50").with_text("server", server.name()),
                Unit::Nanos,
                pct(50.0),
            ),
            Metric::new(&format!("{key}_p99"), Text::new("metric.io.p99"), Unit::Nanos, pct(99.0)),
            Metric::new(&format!("{key}_served"), Text::new("metric.io.served"), Unit::Count, Some(served)),
            Metric::new(
                &format!("{key}_cpu"),
                Text::new("metric.io.cpu"),
                Unit::Ratio,
                cost.map(|c| c.0 as f64 / wall),
            ),
            Metric::new(
                &format!("{key}_cpu_per_msg"),
                Text::new("metric.io.cpu_per_msg"),
                Unit::Nanos,
                cost.map(|c| c.0 as f64 / served.max(1.0)),
            ),
            Metric::new(
                &format!("{key}_blocked"),
                Text::new("metric.io.blocked"),
                Unit::Nanos,
                cost.map(|c| c.1 as f64),
            ),
            Metric::new(
                &format!("{key}_polling"),
                Text::new("metric.io.polling"),
                Unit::Nanos,
                cost.map(|c| c.2 as f64),
            ),
            Metric::new(
                &format!("{key}_syscalls"),
                Text::new("metric.io.syscalls"),
                Unit::Count,
                cost.map(|c| c.3 as f64),
            ),
            Metric::new(&format!("{key}_wasted"), Text::new("metric.io.wasted"), Unit::Count, cost.map(|c| c.4 as f64)),
            Metric::new(
                &format!("{key}_threads"),
                Text::new("metric.io.threads"),
                Unit::Count,
                cost.map(|c| f64::from(c.5)),
            ),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn set(pairs: &[(&str, i64)]) -> ParamSet {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), ParamValue::Int(*v))).collect();
        LabId::Io.validate(&given).unwrap()
    }

    #[test]
    fn every_server_serves_every_message_once() {
        let trace = simulate(&set(&[]), 3).unwrap();
        for (server, s) in Server::ALL.into_iter().zip(summaries(&trace)) {
            assert_eq!(s.times_served.len(), 200, "{server:?}");
            assert!(s.times_served.iter().all(|&n| n == 1), "{server:?}");
        }
        assert_eq!(simulate(&set(&[]), 3).unwrap(), trace);
    }

    #[test]
    fn epoll_and_uring_use_one_thread_and_threads_one_per_source() {
        let trace = simulate(&set(&[("sources", 40)]), 1).unwrap();
        let threads = |server: Server| {
            metrics(&trace).into_iter().find(|m| m.key == format!("{}_threads", server.key())).and_then(|m| m.value)
        };
        assert_eq!(threads(Server::Epoll), Some(1.0));
        assert_eq!(threads(Server::Uring), Some(1.0));
        assert_eq!(threads(Server::Threads), Some(40.0));
    }

    #[test]
    fn the_pollers_wasted_polls_fall_as_its_sleep_grows() {
        let wasted = |sleep: i64| {
            let trace = simulate(&set(&[("poll_sleep_us", sleep)]), 1).unwrap();
            metrics(&trace).into_iter().find(|m| m.key == "polling_wasted").and_then(|m| m.value).unwrap()
        };
        let w: Vec<f64> = [0, 10, 100, 1_000].into_iter().map(wasted).collect();
        assert!(w.windows(2).all(|p| p[0] > p[1]), "{w:?}");
    }

    #[test]
    fn a_blocking_thread_waits_behind_quiet_sources_and_epoll_does_not() {
        let trace = simulate(&set(&[("sources", 100)]), 1).unwrap();
        let p99 = |server: Server| {
            metrics(&trace).into_iter().find(|m| m.key == format!("{}_p99", server.key())).and_then(|m| m.value)
        };
        assert!(p99(Server::Blocking).unwrap() > 10.0 * p99(Server::Epoll).unwrap());
    }
}
