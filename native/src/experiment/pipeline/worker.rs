//! A producer or consumer process of the pattern across processes (`__worker pipeline SPEC`): it opens the
//! run's message queue, says it is ready, waits for go (unless it replaces a killed consumer), and then makes or
//! takes items, reporting each step as the lab's own event stamped on CLOCK_MONOTONIC. A send or receive first
//! tries without waiting; only a failed try is reported as a block. Writing reports out costs a system call and
//! wakes the companion, so a worker writes them out only when it must: before it blocks; a consumer as soon as it
//! has delivered an item (a kill must not lose the report of a delivery, or the item would be counted lost); a
//! producer at most every [`PRODUCER_FLUSH_NS`] (the companion kills by the deliveries it hears, not the sends).

use super::mq::Queue;
use crate::clock::monotonic_ns;
use crate::experiment::ExperimentError;
use crate::experiment::link::{Reports, await_go};
use crate::wait::Waiter;
use serde::{Deserialize, Serialize};
use shared::lab::pipeline::processes::{CONSUMERS, QUEUE};
use shared::lab::pipeline::{PipelineEvent, PipelineParams, Side};
use shared::params::ParamSet;
use shared::rng::SimRng;
use shared::{LabId, Nanos};
use std::io::StdoutLock;

/// How long a producer keeps its reports before writing them out, unless it blocks first.
const PRODUCER_FLUSH_NS: u64 = 2_000_000;

/// The message that tells a consumer the producers are done: no item has this number.
pub const LAST: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Makes items `index`, `index + P`, … and sends them into the queue.
    Producer,
    /// Takes items from the queue and works on them until it takes [`LAST`].
    Consumer,
}

/// What a worker is asked to be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub role: Role,
    pub queue: String,
    /// Its number within its stage.
    pub index: u32,
    /// The seed's stream its service times are drawn from.
    pub stream: u64,
    pub params: ParamSet,
    pub seed: u64,
    /// The run's CLOCK_MONOTONIC origin, which its reports count from.
    pub t0: u64,
    /// How late this machine's sleeps wake, measured once by the companion.
    pub margin: u64,
    pub parent: u32,
    /// Whether to wait for go on stdin (a consumer started in a killed one's place goes at once).
    pub wait_for_go: bool,
}

/// A worker's report: one a line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// The queue is open; nanoseconds since the run's origin.
    Ready { t: u64 },
    /// Something the lab's trace records, at `t`.
    At { t: u64, ev: PipelineEvent },
    /// One item's work: asked and achieved, in nanoseconds.
    Waited { asked: u64, achieved: u64 },
    /// It has made its items, or taken [`LAST`]; what writing its reports out cost it, in nanoseconds.
    Done { reporting_ns: u64 },
}

struct Worker<'a> {
    spec: &'a Spec,
    p: PipelineParams,
    queue: Queue,
    out: Reports<StdoutLock<'static>>,
    waiter: Waiter,
    rng: SimRng,
    /// When it last wrote its reports out.
    flushed_at: u64,
}

type Step = Result<(), ExperimentError>;

impl Worker<'_> {
    fn say(&mut self, report: Report) -> Step {
        self.out.say(&report).map_err(ExperimentError::io("reporting"))
    }

    fn at(&mut self, ev: PipelineEvent) -> Step {
        self.say(Report::At { t: monotonic_ns().saturating_sub(self.spec.t0), ev })
    }

    fn flush(&mut self) -> Step {
        self.flushed_at = monotonic_ns();
        self.out.flush().map_err(ExperimentError::io("reporting"))
    }

    fn work(&mut self, mean: Nanos) -> Step {
        let asked = self.p.service.sample(mean, &mut self.rng);
        let achieved = super::work(&self.p, &self.waiter, asked);
        self.say(Report::Waited { asked: asked.0, achieved })
    }

    fn queue_error(e: std::io::Error) -> ExperimentError {
        ExperimentError::io("using the message queue")(e)
    }

    fn produce(&mut self) -> Step {
        let (stage, thread) = (0, self.spec.index);
        for item in (self.spec.index..self.p.items).step_by(self.p.producers.max(1) as usize) {
            self.at(PipelineEvent::Produced { item, stage, thread })?;
            self.work(self.p.produce)?;
            self.at(PipelineEvent::Finished { item, stage, thread })?;
            if !self.queue.try_send(item).map_err(Self::queue_error)? {
                self.at(PipelineEvent::Blocked { stage, thread, side: Side::Send })?;
                self.flush()?;
                self.queue.send(item).map_err(Self::queue_error)?;
                self.at(PipelineEvent::Unblocked { stage, thread })?;
            }
            let queued = self.queue.queued().map_err(Self::queue_error)?;
            self.at(PipelineEvent::Sent { item, channel: QUEUE, queued })?;
            if monotonic_ns().saturating_sub(self.flushed_at) >= PRODUCER_FLUSH_NS {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn consume(&mut self) -> Step {
        let (stage, thread) = (CONSUMERS, self.spec.index);
        loop {
            let item = match self.queue.try_receive().map_err(Self::queue_error)? {
                Some(item) => item,
                None => {
                    self.at(PipelineEvent::Blocked { stage, thread, side: Side::Recv })?;
                    self.flush()?;
                    let item = self.queue.receive().map_err(Self::queue_error)?;
                    self.at(PipelineEvent::Unblocked { stage, thread })?;
                    item
                }
            };
            if item == LAST {
                return Ok(());
            }
            let queued = self.queue.queued().map_err(Self::queue_error)?;
            self.at(PipelineEvent::Received { item, channel: QUEUE, stage, thread, queued })?;
            self.work(self.p.work)?;
            self.at(PipelineEvent::Finished { item, stage, thread })?;
            self.at(PipelineEvent::Delivered { item })?;
            self.flush()?;
        }
    }
}

/// The worker's entry.
pub(super) fn worker(arg: &str) -> Result<(), ExperimentError> {
    let spec: Spec = serde_json::from_str(arg).map_err(|e| ExperimentError::Worker(format!("bad spec: {e}")))?;
    crate::experiment::fence_worker(Some(spec.parent))?;
    let p = PipelineParams::parse(&spec.params)?;
    let queue = Queue::open(&spec.queue).map_err(ExperimentError::io(format!("opening {}", spec.queue)))?;
    let out = Reports::open(std::io::stdout().lock(), LabId::Pipeline).map_err(ExperimentError::io("reporting"))?;
    let rng = SimRng::new(spec.seed, spec.stream);
    let mut w = Worker { spec: &spec, p, queue, out, waiter: Waiter::with_margin(spec.margin), rng, flushed_at: 0 };
    w.say(Report::Ready { t: monotonic_ns().saturating_sub(spec.t0) })?;
    w.flush()?;
    if spec.wait_for_go {
        await_go(std::io::stdin().lock())?;
    }
    match spec.role {
        Role::Producer => w.produce()?,
        Role::Consumer => w.consume()?,
    }
    let reporting_ns = w.out.spent_ns();
    w.say(Report::Done { reporting_ns })?;
    w.flush()
}
