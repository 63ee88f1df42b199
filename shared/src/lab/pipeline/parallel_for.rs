//! Parallel for: a loop over N items run three ways one after another in one run — a plain loop (one thread
//! does every body in turn), a scoped thread per item (spawned, then all joined, as Go's WaitGroup), and a fixed
//! pool of W threads fed the items (joined the same way) — so that each way's speed-up over the loop is read
//! against the loop of the same run, on the same machine, at the same moment. Each way is a phase with its own
//! small topology; the run's stages, channels and items are the three phases' side by side, and the model and
//! the real run shift each phase's events into place with [`Phase::shift`].

use super::*;
use crate::trace::Event;

/// The three ways of the loop, in the order a run does them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForEach {
    Loop,
    ThreadPerItem,
    Pool,
}

impl ForEach {
    pub const ALL: [ForEach; 3] = [ForEach::Loop, ForEach::ThreadPerItem, ForEach::Pool];

    pub fn key(self) -> &'static str {
        match self {
            ForEach::Loop => "loop",
            ForEach::ThreadPerItem => "thread_per_item",
            ForEach::Pool => "pool",
        }
    }
}

/// One way of the loop as a run of its own (its parameters give its topology), and where its stages, channels
/// and items sit among the whole run's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    pub way: ForEach,
    pub params: PipelineParams,
    pub stage: u32,
    pub channel: u32,
    pub item: u32,
}

impl Phase {
    /// The phase's event as the whole run numbers its stages, channels and items.
    pub fn shift(&self, ev: PipelineEvent) -> PipelineEvent {
        use PipelineEvent as E;
        let (s, c, i) = (self.stage, self.channel, self.item);
        match ev {
            E::Produced { item, stage, thread } => E::Produced { item: item + i, stage: stage + s, thread },
            E::Sent { item, channel, queued } => E::Sent { item: item + i, channel: channel + c, queued },
            E::Received { item, channel, stage, thread, queued } => {
                E::Received { item: item + i, channel: channel + c, stage: stage + s, thread, queued }
            }
            E::Finished { item, stage, thread } => E::Finished { item: item + i, stage: stage + s, thread },
            E::Blocked { stage, thread, side } => E::Blocked { stage: stage + s, thread, side },
            E::Unblocked { stage, thread } => E::Unblocked { stage: stage + s, thread },
            E::Delivered { item } => E::Delivered { item: item + i },
            E::EmptySelect { stage, thread } => E::EmptySelect { stage: stage + s, thread },
            E::TaskReady { task } => E::TaskReady { task: task + i },
            E::Killed { stage, thread, queued } => E::Killed { stage: stage + s, thread, queued },
            E::Lost { item } => E::Lost { item: item + i },
            E::Restarted { stage, thread } => E::Restarted { stage: stage + s, thread },
        }
    }

    /// The phase's actor as the whole run numbers them (stages from 0, channels from 100).
    pub fn shift_actor(&self, actor: ActorId) -> ActorId {
        if actor.0 >= 100 { ActorId(actor.0 + self.channel) } else { ActorId(actor.0 + self.stage) }
    }
}

/// The run's three phases.
pub fn phases(p: &PipelineParams) -> Vec<Phase> {
    let (mut stage, mut channel, mut item) = (0, 0, 0);
    ForEach::ALL
        .into_iter()
        .map(|way| {
            let params = PipelineParams { phase: Some(way), ..*p };
            let topo = params.topology();
            let phase = Phase { way, params, stage, channel, item };
            stage += topo.stages.len() as u32;
            channel += topo.channels.len() as u32;
            item += p.items;
            phase
        })
        .collect()
}

/// One way's stages and channels: the loop hands the items out as fast as it can (no time of its own), to one
/// thread, to a thread spawned per item, or to the pool's queue.
pub(super) fn phase_topology(p: &PipelineParams, way: ForEach) -> (Vec<StageInfo>, Vec<ChannelInfo>) {
    let looping = |name| StageInfo {
        name,
        role: Role::Produce,
        threads: 1,
        service: Nanos::ZERO,
        quota: p.items,
        inputs: Vec::new(),
        output: Some(0),
        spawn_each: false,
    };
    let body = |name, threads: u32, spawn_each| StageInfo {
        name,
        role: Role::Work,
        threads: threads.clamp(1, MAX_STAGE_THREADS),
        service: p.work,
        quota: 0,
        inputs: vec![0],
        output: None,
        spawn_each,
    };
    let (source, channel, worker) = match way {
        ForEach::Loop => (looping("for loop"), "iterations", body("loop body", 1, false)),
        ForEach::ThreadPerItem => (looping("spawner"), "spawned", body("a scoped thread per item", p.items, true)),
        ForEach::Pool => (looping("submitter"), "jobs", body("pool", p.workers, false)),
    };
    (vec![source, worker], vec![ChannelInfo { name: channel, capacity: None }])
}

/// The whole run's topology: the three phases' side by side.
pub(super) fn whole_topology(p: &PipelineParams) -> (Vec<StageInfo>, Vec<ChannelInfo>) {
    let (mut stages, mut channels) = (Vec::new(), Vec::new());
    for way in ForEach::ALL {
        let (phase_stages, phase_channels) = phase_topology(p, way);
        let offset = channels.len();
        stages.extend(phase_stages.into_iter().map(|s| StageInfo {
            inputs: s.inputs.iter().map(|c| c + offset).collect(),
            output: s.output.map(|c| c + offset),
            ..s
        }));
        channels.extend(phase_channels);
    }
    (stages, channels)
}

/// The model's three phases one after another: each starts when the one before has delivered its last item.
pub(super) fn simulate(p: &PipelineParams, seed: u64) -> (Vec<Event>, Option<Nanos>) {
    let (mut events, mut at, mut stopped) = (Vec::new(), Nanos::ZERO, None);
    for phase in phases(p) {
        let (phase_events, phase_stopped) = model::simulate(&phase.params, seed);
        let end = phase_events.iter().map(|e| e.t).max().unwrap_or(Nanos::ZERO);
        events.extend(phase_events.into_iter().map(|e| match e.kind {
            EventKind::Pipeline(ev) => {
                Event { t: e.t + at, actor: phase.shift_actor(e.actor), kind: EventKind::Pipeline(phase.shift(ev)) }
            }
            _ => Event { t: e.t + at, ..e },
        }));
        stopped = stopped.or(phase_stopped.map(|t| t + at));
        at = at + end;
        if stopped.is_some() {
            break;
        }
    }
    (events, stopped)
}

/// Each way's makespan (from its first item made to its last delivered) and the speed-up of the thread per
/// item and of the pool over the loop of the same run.
pub(super) fn metrics(trace: &Trace, p: &PipelineParams) -> Vec<Metric> {
    let f = flow(trace);
    let n = p.items as usize;
    let makespan = |k: usize| {
        let made = f.produced.iter().skip(k * n).take(n).flatten().min()?;
        let done = f.delivered.iter().skip(k * n).take(n).copied().collect::<Option<Vec<_>>>()?.into_iter().max()?;
        Some(done.saturating_sub(*made).0 as f64)
    };
    let spans: Vec<Option<f64>> = (0..ForEach::ALL.len()).map(makespan).collect();
    let mut out = Vec::new();
    for (k, way) in ForEach::ALL.into_iter().enumerate() {
        out.push(Metric::new(
            &format!("{}_makespan", way.key()),
            Text::new(&format!("metric.pipeline.for_{}", way.key())),
            Unit::Nanos,
            spans[k],
        ));
        if way != ForEach::Loop {
            out.push(Metric::new(
                &format!("{}_speedup", way.key()),
                Text::new("metric.pipeline.for_speedup"),
                Unit::Ratio,
                spans[0].zip(spans[k]).map(|(lp, this)| lp / this.max(1.0)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn params(pairs: &[(&str, ParamValue)]) -> ParamSet {
        let mut given: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        given.insert("pattern".to_owned(), ParamValue::Text("parallel_for".into()));
        LabId::Pipeline.validate(&given).unwrap()
    }

    #[test]
    fn the_three_ways_run_one_after_another_with_their_own_stages_channels_and_items() {
        let set = params(&[("items", ParamValue::Int(20)), ("workers", ParamValue::Int(4))]);
        let p = PipelineParams::parse(&set).unwrap();
        let all = phases(&p);
        assert_eq!(
            all.iter().map(|ph| (ph.stage, ph.channel, ph.item)).collect::<Vec<_>>(),
            [(0, 0, 0), (2, 1, 20), (4, 2, 40)]
        );
        let topo = p.topology();
        assert_eq!((topo.stages.len(), topo.channels.len()), (6, 3));
        assert_eq!(topo.stages[3].threads, 20, "a thread per item");
        assert_eq!(topo.stages[5].threads, 4, "the pool's W threads");
        assert_eq!(topo.stages[5].inputs, vec![2]);
        let trace = simulate_typed(p, &set, 1);
        let f = flow(&trace);
        assert_eq!(f.delivered.iter().flatten().count(), 60, "every way delivers every item");
        // Each phase starts after the one before has delivered all of its items.
        let end_of = |k: usize| f.delivered[k * 20..(k + 1) * 20].iter().flatten().max().copied().unwrap();
        let start_of = |k: usize| f.produced[k * 20..(k + 1) * 20].iter().flatten().min().copied().unwrap();
        assert!(start_of(1) >= end_of(0) && start_of(2) >= end_of(1));
    }

    #[test]
    fn every_way_does_the_same_work_on_each_item_and_the_loop_does_it_in_turn() {
        let set = params(&[("items", ParamValue::Int(30)), ("service", ParamValue::Text("exponential".into()))]);
        let p = PipelineParams::parse(&set).unwrap();
        let work: Vec<Nanos> = (0..30).map(|i| p.item_work(7, i, p.work).unwrap()).collect();
        assert!(work.windows(2).any(|w| w[0] != w[1]), "exponential draws differ between items");
        for phase in phases(&p) {
            assert_eq!(phase.params.item_work(7, 3, p.work), Some(work[3]), "{:?}", phase.way);
        }
        let total: u64 = work.iter().map(|w| w.0).sum();
        let trace = crate::lab::simulate(LabId::Pipeline, &set, 7).unwrap();
        let m = crate::lab::metrics(&trace);
        let looped = m.iter().find(|x| x.key == "loop_makespan").and_then(|x| x.value).unwrap();
        assert!((looped / total as f64 - 1.0).abs() < 0.05, "the loop took {looped} ns for {total} ns of work");
    }

    #[test]
    fn waits_overlap_in_threads_but_cpu_work_is_bounded_by_the_cpus() {
        let speedup = |workload: &str, cpus: i64| {
            let set = params(&[
                ("items", ParamValue::Int(16)),
                ("workers", ParamValue::Int(4)),
                ("service", ParamValue::Text("constant".into())),
                ("workload", ParamValue::Text(workload.into())),
                ("cpus", ParamValue::Int(cpus)),
            ]);
            let trace = crate::lab::simulate(LabId::Pipeline, &set, 1).unwrap();
            let m = crate::lab::metrics(&trace);
            let v = |k: &str| m.iter().find(|x| x.key == k).and_then(|x| x.value).unwrap();
            (v("thread_per_item_speedup"), v("pool_speedup"))
        };
        let (threads, pool) = speedup("sleep", 2);
        // Sixteen waits overlap in sixteen threads (each started in turn) and in four.
        assert!(threads > pool && pool > 3.0, "waits overlap: {threads:.2}× and {pool:.2}×");
        let (threads, pool) = speedup("cpu", 2);
        assert!(threads <= 2.05 && pool <= 2.05, "two CPUs: at most 2×, got {threads:.2}× and {pool:.2}×");
        assert!(threads > 1.2 && pool > 1.2, "but more than one: {threads:.2}× and {pool:.2}×");
    }
}
