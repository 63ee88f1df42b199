//! What a methods trace says, simulated or measured alike: the lab's figures and the summaries they come from.

use super::*;

/// The time each way finished all its tasks (the end of its last span), for the ways the trace has.
pub fn makespans(trace: &Trace) -> Vec<(Way, Nanos)> {
    let mut ends: std::collections::BTreeMap<Way, Nanos> = std::collections::BTreeMap::new();
    for event in &trace.events {
        if let EventKind::Methods(MethodsEvent::Span { way, .. }) = event.kind {
            let end = ends.entry(way).or_default();
            *end = (*end).max(event.t);
        }
    }
    ends.into_iter().collect()
}

/// The sorted samples of one cost.
pub fn samples(trace: &Trace, cost: Cost) -> Vec<u64> {
    let mut out: Vec<u64> = trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Methods(MethodsEvent::Sample { cost: c, ns }) if c == cost => Some(ns),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let mut out = Vec::new();
    let median = |cost| percentile(&samples(trace, cost), 50.0).map(|v| v as f64);
    for cost in Cost::ALL {
        let sorted = samples(trace, cost);
        let key = cost.key();
        let p50 = percentile(&sorted, 50.0).map(|v| v as f64);
        let p99 = percentile(&sorted, 99.0).map(|v| v as f64);
        out.push(Metric::new(
            &format!("{key}_p50"),
            Text::new("metric.methods.p50").with_text("cost", cost.name()),
            Unit::Nanos,
            p50,
        ));
        out.push(Metric::new(&format!("{key}_p99"), Text::new("metric.methods.p99"), Unit::Nanos, p99));
    }
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
    let process_per_thread = ratio(median(Cost::ProcessStart), median(Cost::ThreadStart));
    let thread_per_pooled = ratio(median(Cost::ThreadStart), median(Cost::PooledTask));
    let pipe_per_channel = ratio(median(Cost::PipeHandoff), median(Cost::ChannelHandoff));
    out.push(Metric::new(
        "process_per_thread",
        Text::new("metric.methods.process_per_thread"),
        Unit::Ratio,
        process_per_thread,
    ));
    out.push(Metric::new(
        "thread_per_pooled",
        Text::new("metric.methods.thread_per_pooled"),
        Unit::Ratio,
        thread_per_pooled,
    ));
    out.push(Metric::new(
        "pipe_per_channel",
        Text::new("metric.methods.pipe_per_channel"),
        Unit::Ratio,
        pipe_per_channel,
    ));
    for (way, end) in makespans(trace) {
        let label = Text::new("metric.methods.makespan").with_text("way", way.name());
        out.push(Metric::new(&format!("makespan_{}", way.key()), label, Unit::Nanos, Some(end.0 as f64)));
    }
    out
}
