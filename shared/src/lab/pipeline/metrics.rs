//! What a pipeline trace says, simulated or measured alike: where every item was when ([`Flow`], one pass)
//! and the lab's figures from it.

use super::*;

/// Everything the metrics and the view read from a trace, in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flow {
    /// Per item: produced, delivered.
    pub produced: Vec<Option<Nanos>>,
    pub delivered: Vec<Option<Nanos>>,
    /// Items in delivery order.
    pub delivery_order: Vec<u32>,
    /// Per channel: (time, queue length after the change).
    pub queue: Vec<Vec<(Nanos, u32)>>,
    /// Per stage: (busy ns, blocked on send ns, blocked on receive ns).
    pub stage_time: Vec<(u64, u64, u64)>,
    pub empty_selects: u64,
    /// Across processes: the consumer killed, what it lost and when its successor was ready.
    pub kill: processes::Kill,
    pub end: Nanos,
}

/// Gathers a trace's flow: which is where, when.
pub fn flow(trace: &Trace) -> Flow {
    let mut f = Flow::default();
    let mut started: std::collections::HashMap<(u32, u32), Nanos> = Default::default();
    let mut blocked: std::collections::HashMap<(u32, u32), (Nanos, Side)> = Default::default();
    let grow = |v: &mut Vec<Option<Nanos>>, i: u32| {
        if v.len() <= i as usize {
            v.resize(i as usize + 1, None);
        }
    };
    let stage_slot = |f: &mut Flow, s: u32| {
        if f.stage_time.len() <= s as usize {
            f.stage_time.resize(s as usize + 1, (0, 0, 0));
        }
        s as usize
    };
    for e in &trace.events {
        let EventKind::Pipeline(ev) = e.kind else { continue };
        f.end = f.end.max(e.t);
        match ev {
            PipelineEvent::Produced { item, stage, thread } => {
                grow(&mut f.produced, item);
                f.produced[item as usize] = Some(e.t);
                started.insert((stage, thread), e.t);
            }
            PipelineEvent::Sent { channel, queued, .. } | PipelineEvent::Received { channel, queued, .. } => {
                let c = channel as usize;
                if f.queue.len() <= c {
                    f.queue.resize(c + 1, Vec::new());
                }
                f.queue[c].push((e.t, queued));
                if let PipelineEvent::Received { stage, thread, .. } = ev {
                    started.insert((stage, thread), e.t);
                }
            }
            PipelineEvent::Finished { stage, thread, .. } => {
                if let Some(t0) = started.remove(&(stage, thread)) {
                    let s = stage_slot(&mut f, stage);
                    f.stage_time[s].0 += e.t.saturating_sub(t0).0;
                }
            }
            PipelineEvent::Blocked { stage, thread, side } => {
                blocked.insert((stage, thread), (e.t, side));
            }
            PipelineEvent::Unblocked { stage, thread } => {
                if let Some((t0, side)) = blocked.remove(&(stage, thread)) {
                    let s = stage_slot(&mut f, stage);
                    let span = e.t.saturating_sub(t0).0;
                    match side {
                        Side::Send => f.stage_time[s].1 += span,
                        Side::Recv => f.stage_time[s].2 += span,
                    }
                }
            }
            PipelineEvent::Delivered { item } => {
                grow(&mut f.delivered, item);
                f.delivered[item as usize] = Some(e.t);
                f.delivery_order.push(item);
            }
            PipelineEvent::EmptySelect { .. } => f.empty_selects += 1,
            PipelineEvent::TaskReady { .. } => {}
            PipelineEvent::Killed { queued, .. } => f.kill.at = Some((e.t, queued)),
            PipelineEvent::Lost { item } => f.kill.lost.push(item),
            PipelineEvent::Restarted { .. } => f.kill.restarted = Some(e.t),
        }
    }
    f
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let Ok(p) = PipelineParams::parse(&trace.run.params) else { return Vec::new() };
    let f = flow(trace);
    let mut lat: Vec<u64> =
        f.produced.iter().zip(&f.delivered).filter_map(|(a, b)| Some(b.as_ref()?.saturating_sub((*a)?).0)).collect();
    lat.sort_unstable();
    let pct = |q: f64| percentile(&lat, q).map(|v| v as f64);
    let delivered = f.delivery_order.len() as f64;
    let span = f.end.0.max(1) as f64 / 1e9;
    let out_of_order = f.delivery_order.windows(2).filter(|w| w[1] < w[0]).count() as f64;
    let mut out = vec![
        Metric::new("delivered", Text::new("metric.pipeline.delivered"), Unit::Count, Some(delivered)),
        Metric::new("throughput", Text::new("metric.pipeline.throughput"), Unit::PerSecond, Some(delivered / span)),
    ];
    if p.pattern == Pattern::DependencyGraph {
        out.extend(graph::metrics(trace, &p));
        return out;
    }
    if p.pattern == Pattern::ParallelFor {
        out.extend(parallel_for::metrics(trace, &p));
        return out;
    }
    out.extend([
        Metric::new("p50", Text::new("metric.pipeline.p50"), Unit::Nanos, pct(50.0)),
        Metric::new("p95", Text::new("metric.pipeline.p95"), Unit::Nanos, pct(95.0)),
        Metric::new("p99", Text::new("metric.pipeline.p99"), Unit::Nanos, pct(99.0)),
        Metric::new("out_of_order", Text::new("metric.pipeline.out_of_order"), Unit::Count, Some(out_of_order)),
    ]);
    let topo = p.topology();
    for (c, info) in topo.channels.iter().enumerate() {
        let peak = f.queue.get(c).and_then(|q| q.iter().map(|x| x.1).max()).unwrap_or(0);
        out.push(Metric::new(
            &format!("peak_{c}"),
            Text::new("metric.pipeline.peak").with_text("name", name_text(info.name)),
            Unit::Count,
            Some(f64::from(peak)),
        ));
        if info.capacity.is_none() {
            out.push(Metric::new(
                &format!("peak_bytes_{c}"),
                Text::new("metric.pipeline.peak_bytes"),
                Unit::Count,
                Some(f64::from(peak) * 64.0),
            ));
        }
    }
    let mut bottleneck: Option<(usize, f64)> = None;
    for (s, info) in topo.stages.iter().enumerate() {
        let (busy, send, recv) = f.stage_time.get(s).copied().unwrap_or_default();
        let threads = f64::from(info.threads);
        let share = busy as f64 / (f.end.0.max(1) as f64 * threads);
        out.push(Metric::new(
            &format!("busy_{s}"),
            Text::new("metric.pipeline.busy").with_text("name", name_text(info.name)),
            Unit::Ratio,
            Some(share),
        ));
        out.push(Metric::new(
            &format!("send_wait_{s}"),
            Text::new("metric.pipeline.send_wait"),
            Unit::Nanos,
            Some(send as f64),
        ));
        out.push(Metric::new(
            &format!("recv_wait_{s}"),
            Text::new("metric.pipeline.recv_wait"),
            Unit::Nanos,
            Some(recv as f64),
        ));
        if matches!(info.role, Role::Work | Role::Select) && bottleneck.is_none_or(|b| share > b.1) {
            bottleneck = Some((s, share));
        }
    }
    if let Some((s, share)) = bottleneck.filter(|_| topo.stages.len() > 2) {
        out.push(Metric::new(
            "bottleneck",
            Text::new("metric.pipeline.bottleneck").with_text("name", name_text(topo.stages[s].name)),
            Unit::Ratio,
            Some(share),
        ));
    }
    out.extend(processes::metrics(&f));
    if p.pattern == Pattern::Select {
        out.push(Metric::new(
            "empty_selects",
            Text::new("metric.pipeline.empty_selects"),
            Unit::Count,
            Some(f.empty_selects as f64),
        ));
    }
    out
}
