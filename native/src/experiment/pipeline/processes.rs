//! The pattern across processes, for real: a POSIX message queue of the asked capacity, P producer and W
//! consumer processes of this binary ([`super::worker`]) started together on go, and consumer 0 killed with
//! SIGKILL once its share of the items is delivered (as the companion hears the deliveries), the queue's
//! length read from the kernel right after, and a consumer started again in its place. When the producers are
//! done the companion sends one [`LAST`] message per consumer behind the items. What was lost is known exactly
//! afterwards: the items the producers sent that no consumer delivered — those that had left the queue for the
//! killed process.

use super::mq::Queue;
use super::worker::{LAST, Report, Role, Spec};
use crate::clock::monotonic_ns;
use crate::experiment::link::{Heard, Link};
use crate::experiment::{ExperimentError, RunContext, RunUpdate};
use shared::i18n::Text;
use shared::lab::pipeline::processes::{CONSUMERS, KILLED};
use shared::lab::pipeline::{PipelineEvent, PipelineParams};
use shared::params::ParamSet;
use shared::trace::{ActorId, Event, EventKind};
use shared::waits::WaitSample;
use shared::{LabId, Nanos};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A worker: its stage, its number in the stage, and which start of it (a consumer started again is the 2nd).
type Key = (u32, u32, u32);

/// How long the workers may take to open the queue and say they are ready.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How long a worker that exited may take for its last reports to arrive.
const LAST_WORDS_WITHIN: Duration = Duration::from_millis(500);

/// A queue name no other run of any companion uses: the companion's pid and a count.
fn queue_name() -> String {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    format!("/syslab.{}.{}", std::process::id(), RUNS.fetch_add(1, Ordering::SeqCst))
}

/// Why the kernel refused the queue, in words that name the limit.
fn refused(capacity: u32, e: std::io::Error) -> ExperimentError {
    let limit = std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max").map(|s| s.trim().to_owned());
    let what = match (e.raw_os_error(), limit) {
        (Some(libc::ENOSYS), _) => "this kernel has no POSIX message queues".to_owned(),
        (Some(libc::EINVAL | libc::EMFILE | libc::ENOMEM), Ok(max)) => format!(
            "creating a message queue of {capacity} messages (this machine's limit, fs.mqueue.msg_max, is {max}: ask for at most {max}, or raise it with `sysctl fs.mqueue.msg_max={capacity}`; only a process with CAP_SYS_RESOURCE may go beyond it)"
        ),
        _ => format!("creating a message queue of {capacity} messages"),
    };
    ExperimentError::io(what)(e)
}

struct Run<'a> {
    p: &'a PipelineParams,
    params: &'a ParamSet,
    seed: u64,
    t0: u64,
    margin: u64,
    ctx: &'a RunContext<'a>,
    queue: Queue,
    tx: mpsc::Sender<Heard<Key, Report>>,
    links: Vec<(Key, Link)>,
}

impl Run<'_> {
    fn spawn(&mut self, key: Key, role: Role, stream: u64, wait_for_go: bool) -> Result<(), ExperimentError> {
        let spec = Spec {
            role,
            queue: self.queue.name().to_owned(),
            index: key.1,
            stream,
            params: self.params.clone(),
            seed: self.seed,
            t0: self.t0,
            margin: self.margin,
            parent: std::process::id(),
            wait_for_go,
        };
        let name = match role {
            Role::Producer => format!("producer process {}", key.1),
            Role::Consumer => format!("consumer process {} (start {})", key.1, key.2 + 1),
        };
        let link = Link::spawn(self.ctx.worker_exe, LabId::Pipeline, key, name, &spec, &self.tx, |_| {})?;
        self.links.push((key, link));
        Ok(())
    }
}

/// Runs the pattern; returns the items' waits and the run's last moment.
pub(super) fn run(
    p: &PipelineParams,
    params: &ParamSet,
    seed: u64,
    margin: u64,
    ctx: &RunContext<'_>,
    notes: &mut Vec<Text>,
) -> Result<(Vec<WaitSample>, Nanos), ExperimentError> {
    let name = queue_name();
    crate::state::record_queue(&name);
    let queue = Queue::create(&name, p.capacity).map_err(|e| refused(p.capacity, e))?;
    let (tx, rx) = mpsc::channel();
    let mut run = Run { p, params, seed, t0: monotonic_ns(), margin, ctx, queue, tx, links: Vec::new() };
    for index in 0..p.workers {
        run.spawn((CONSUMERS, index, 0), Role::Consumer, u64::from(p.producers + index), true)?;
    }
    for index in 0..p.producers {
        run.spawn((0, index, 0), Role::Producer, u64::from(index), true)?;
    }
    // Everyone has the queue open before anyone starts: the run's time counts from go.
    let mut ready = 0;
    let waited = Instant::now();
    while ready < run.links.len() {
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((_, heard)) => ready += heard?.iter().filter(|r| matches!(r, Report::Ready { .. })).count(),
            Err(_) if waited.elapsed() > READY_WITHIN => {
                return Err(ExperimentError::Worker(format!("{ready} of {} workers were ready", run.links.len())));
            }
            Err(_) => {}
        }
    }
    let go = monotonic_ns();
    for (_, link) in &mut run.links {
        link.go()?;
    }
    let shift = go - run.t0;
    let at = |t: u64| Nanos(t.saturating_sub(shift));
    let started = Instant::now();
    let (mut waits, mut last) = (Vec::new(), Nanos::ZERO);
    let (mut sent, mut delivered) = (BTreeSet::new(), BTreeSet::new());
    let (mut producers_done, mut consumers_done) = (0, 0);
    let mut killed: Option<Nanos> = None;
    let mut exited_since: Vec<(Key, Instant)> = Vec::new();
    let mut finished: BTreeSet<Key> = BTreeSet::new();
    while consumers_done < p.workers {
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        if started.elapsed() > super::RUN_BUDGET {
            notes.push(Text::new("note.pipeline.budget").with("s", super::RUN_BUDGET.as_secs()));
            return Ok((waits, last));
        }
        let heard = match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((key, heard)) => Some((key, heard?)),
            Err(_) => None,
        };
        let mut events = Vec::new();
        for (key, report) in heard.into_iter().flat_map(|(key, reports)| reports.into_iter().map(move |r| (key, r))) {
            match report {
                Report::At { t, ev } => {
                    match ev {
                        PipelineEvent::Sent { item, .. } => _ = sent.insert(item),
                        PipelineEvent::Delivered { item } => _ = delivered.insert(item),
                        _ => {}
                    }
                    last = last.max(at(t));
                    events.push(Event { t: at(t), actor: ActorId(key.0), kind: EventKind::Pipeline(ev) });
                }
                Report::Waited { asked, achieved } => waits.push((asked, achieved)),
                // Only a consumer started again is heard being ready after go.
                Report::Ready { t } => events.push(Event {
                    t: at(t),
                    actor: ActorId(key.0),
                    kind: EventKind::Pipeline(PipelineEvent::Restarted { stage: key.0, thread: key.1 }),
                }),
                Report::Done { reporting_ns } => {
                    (ctx.sink)(RunUpdate::Reporting(reporting_ns));
                    finished.insert(key);
                    if key.0 == CONSUMERS {
                        consumers_done += 1;
                    } else {
                        producers_done += 1;
                        if producers_done == p.producers {
                            // Behind the last item, one message per consumer says the producers are done.
                            for _ in 0..p.workers {
                                send_last(&run.queue, ctx)?;
                            }
                        }
                    }
                }
            }
        }
        // (A consumer 0 that took its last message already is not killed: it holds nothing.)
        let due = p.kill_after().is_some_and(|n| delivered.len() >= n as usize);
        if killed.is_none() && due && !finished.contains(&(CONSUMERS, KILLED, 0)) {
            killed = Some(kill(&mut run, &mut events, at, producers_done == p.producers)?);
        }
        if !events.is_empty() {
            events.sort_by_key(|e| e.t);
            (ctx.sink)(RunUpdate::Events(events));
        }
        check_exits(&mut run.links, &finished, &mut exited_since)?;
    }
    let lost: Vec<u32> = sent.difference(&delivered).copied().collect();
    match killed {
        Some(t) => {
            let events = lost.iter().map(|&item| Event {
                t,
                actor: ActorId(CONSUMERS),
                kind: EventKind::Pipeline(PipelineEvent::Lost { item }),
            });
            (ctx.sink)(RunUpdate::Events(events.collect()));
        }
        None if !lost.is_empty() => {
            return Err(ExperimentError::Worker(format!(
                "{} items left the queue and were never delivered",
                lost.len()
            )));
        }
        None => {}
    }
    Ok((waits, last))
}

/// Sends one [`LAST`], waiting for room as long as the run is not cancelled.
fn send_last(queue: &Queue, ctx: &RunContext<'_>) -> Result<(), ExperimentError> {
    while !queue.send_within(LAST, Duration::from_millis(20)).map_err(ExperimentError::io("ending the consumers"))? {
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
    }
    Ok(())
}

/// Kills consumer 0 (its whole process group, reaped), reads what the queue holds, and starts a consumer in
/// its place — with a [`LAST`] of its own if the others were sent already, since the killed one may have taken
/// one; returns the moment of the kill.
fn kill(
    run: &mut Run<'_>,
    events: &mut Vec<Event>,
    at: impl Fn(u64) -> Nanos,
    lasts_sent: bool,
) -> Result<Nanos, ExperimentError> {
    let key = (CONSUMERS, KILLED, 0);
    if let Some((_, link)) = run.links.iter_mut().find(|(k, _)| *k == key) {
        link.kill();
    }
    let t = at(monotonic_ns().saturating_sub(run.t0));
    let queued = run.queue.queued().map_err(ExperimentError::io("reading the message queue's length"))?;
    let (stage, thread) = (CONSUMERS, KILLED);
    events.push(Event {
        t,
        actor: ActorId(stage),
        kind: EventKind::Pipeline(PipelineEvent::Killed { stage, thread, queued }),
    });
    // Its seed stream follows every first start's, as the model numbers a new slot.
    let stream = u64::from(run.p.producers + run.p.workers);
    run.spawn((CONSUMERS, KILLED, 1), Role::Consumer, stream, false)?;
    if lasts_sent {
        send_last(&run.queue, run.ctx)?;
    }
    Ok(t)
}

/// A worker that exited without saying it was done (other than the one killed) ends the run with an error,
/// once its last reports had time to arrive.
fn check_exits(
    links: &mut [(Key, Link)],
    finished: &BTreeSet<Key>,
    exited_since: &mut Vec<(Key, Instant)>,
) -> Result<(), ExperimentError> {
    for (key, link) in links.iter_mut() {
        let killed = *key == (CONSUMERS, KILLED, 0);
        if killed || finished.contains(key) || !link.has_exited() {
            continue;
        }
        match exited_since.iter().find(|(k, _)| k == key) {
            None => exited_since.push((*key, Instant::now())),
            Some((_, since)) if since.elapsed() > LAST_WORDS_WITHIN => {
                return Err(ExperimentError::Worker(format!("worker {key:?} exited before it was done")));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
