//! Producers and consumers across processes (pattern 10): separate worker processes joined by a POSIX message
//! queue, which the kernel keeps apart from every process that uses it. Its capacity pushes back on the
//! producers as a bounded channel does. A consumer killed mid-run (SIGKILL, once a share of the items is
//! delivered) takes the message it was working on with it — nothing gives it back — while the messages still
//! in the queue wait there for the other consumers and for the consumer started again in its place. The model
//! (`model.rs`) and the real run emit the same [`PipelineEvent::Killed`], [`PipelineEvent::Lost`] and
//! [`PipelineEvent::Restarted`].

use super::*;

/// The consumers' stage, the queue's channel, and the consumer that is killed.
pub const CONSUMERS: u32 = 1;
pub const QUEUE: u32 = 0;
pub const KILLED: u32 = 0;

/// The stages and the queue: P producer processes, W consumer processes, a queue of capacity K (at least 1:
/// a message queue holds what it is sent, it has no rendezvous).
pub(super) fn topology(p: &PipelineParams) -> (Vec<StageInfo>, Vec<ChannelInfo>) {
    let stage = |name, role, threads: u32, service, quota, inputs, output| StageInfo {
        name,
        role,
        threads: threads.clamp(1, MAX_STAGE_THREADS),
        service,
        quota,
        inputs,
        output,
        spawn_each: false,
    };
    (
        vec![
            stage("producer processes", Role::Produce, p.producers, p.produce, p.items, Vec::new(), Some(0)),
            stage("consumer processes", Role::Work, p.workers, p.work, 0, vec![0], None),
        ],
        vec![ChannelInfo { name: "message queue", capacity: Some(p.capacity.max(1)) }],
    )
}

impl PipelineParams {
    /// After how many delivered items consumer 0 is killed: `kill_at` % of the items, at least one; `None`
    /// when no consumer is killed (or the pattern has no processes).
    pub fn kill_after(&self) -> Option<u32> {
        (self.pattern == Pattern::Processes && self.kill_at > 0)
            .then(|| ((u64::from(self.items) * u64::from(self.kill_at)).div_ceil(100) as u32).max(1))
    }
}

/// What the kill did, read from a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kill {
    /// When the consumer was killed, and how many messages the queue held right after.
    pub at: Option<(Nanos, u32)>,
    /// The items that were in the killed process, never delivered.
    pub lost: Vec<u32>,
    /// When the consumer started again was ready to receive.
    pub restarted: Option<Nanos>,
}

pub(super) fn metrics(f: &Flow) -> Vec<Metric> {
    let Some((at, queued)) = f.kill.at else { return Vec::new() };
    vec![
        Metric::new("lost", Text::new("metric.pipeline.lost"), Unit::Count, Some(f.kill.lost.len() as f64)),
        Metric::new("survived", Text::new("metric.pipeline.survived"), Unit::Count, Some(f64::from(queued))),
        Metric::new(
            "restart",
            Text::new("metric.pipeline.restart"),
            Unit::Nanos,
            f.kill.restarted.map(|r| r.saturating_sub(at).0 as f64),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &[(&str, &str)]) -> (PipelineParams, Trace) {
        let set = LabId::Pipeline.validate(&bench_set(query)).unwrap();
        (PipelineParams::parse(&set).unwrap(), simulate(&set, 3).unwrap())
    }

    #[test]
    fn a_killed_consumer_loses_what_it_held_and_the_queue_keeps_the_rest() {
        let (p, trace) = run(&[("pattern", "processes"), ("items", "100"), ("produce_us", "50"), ("capacity", "8")]);
        let f = flow(&trace);
        assert_eq!(p.kill_after(), Some(50));
        let (at, queued) = f.kill.at.expect("consumer 0 is killed");
        // Producers faster than the consumers: the queue is full and every consumer busy at the kill.
        assert_eq!(queued, 8);
        assert_eq!(f.kill.lost.len(), 1, "the item consumer 0 was working on");
        assert!(f.kill.restarted.unwrap() >= at + p.restart);
        let mut out: Vec<u32> = f.delivery_order.iter().chain(&f.kill.lost).copied().collect();
        out.sort_unstable();
        assert_eq!(out, (0..100).collect::<Vec<_>>(), "every item delivered once or lost");
        let delivered_before = f.delivered.iter().flatten().filter(|t| **t <= at).count();
        assert_eq!(delivered_before, 50, "killed when half the items are out");
    }

    #[test]
    fn without_a_kill_nothing_is_lost_and_the_queue_pushes_back() {
        let (_, trace) = run(&[("pattern", "processes"), ("kill_at", "0"), ("produce_us", "50"), ("capacity", "2")]);
        let f = flow(&trace);
        assert_eq!(f.kill, Kill::default());
        assert_eq!(f.delivery_order.len(), 200);
        assert!(f.queue[0].iter().all(|(_, q)| *q <= 2));
        assert!(f.stage_time[0].1 > 0, "the producers wait for room in the queue");
    }

    #[test]
    fn a_message_queue_has_no_rendezvous() {
        let set = bench_set(&[("pattern", "processes"), ("capacity", "0")]);
        let err = LabId::Pipeline.validate(&set).unwrap_err();
        assert!(matches!(&err, ParamError::OutOfRange { key, min, .. } if key == "capacity" && *min == 1.0), "{err}");
    }
}
