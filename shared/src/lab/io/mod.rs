//! The four I/O models. K sources (pipes) receive messages at random moments; five servers read them: one
//! thread blocking on each source in turn (synchronous, blocking), one blocking thread per source, one thread
//! looping over non-blocking reads (synchronous, non-blocking: polling), one thread waiting on epoll for any
//! ready source (asynchronous, blocking: multiplexing) and one thread reaping completions of reads submitted to
//! io_uring (asynchronous, non-blocking: completion). Every server faces the same seeded schedule; each one's
//! time line starts at its own zero, so the lanes stack for comparison.

mod metrics;
mod model;
mod params;

pub use metrics::*;
use model::{per_source, simulate_server};
use params::*;

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
    sweep: crate::sweep::DefaultSweep { param: "sources", values: "1,10,100,1000", metric: "epoll_p50" },
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
    /// Starting one thread of the thread-per-source server.
    pub spawn: Nanos,
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
                spawn: Nanos::from_micros(r.uint("spawn_us")),
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
