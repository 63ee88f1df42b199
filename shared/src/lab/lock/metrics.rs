//! The lock lab's figures, recomputed from the raw events so that simulated and measured runs are judged by the
//! same arithmetic.

use super::{LockEvent, LockKind, LockParams};
use crate::i18n::Text;
use crate::stats::{jain_index, mean, percentile};
use crate::time::Nanos;
use crate::trace::{Metric, Trace, Unit};

/// Per-process bookkeeping while scanning events.
#[derive(Debug, Default, Clone, Copy)]
struct Proc {
    requested: Option<(Nanos, LockKind)>,
    acquired: Option<Nanos>,
    acquisitions: u64,
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let Ok(p) = LockParams::parse(&trace.run.params) else { return Vec::new() };
    let mut procs = vec![Proc::default(); p.n_procs as usize];
    let (mut waits, mut exclusive_waits, mut holds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut failed, mut holding, mut max_holding, mut writes, mut gave_up) = (0u64, 0i64, 0i64, 0u64, 0u64);
    let mut final_value = None;

    for event in &trace.events {
        let Some(lock_event) = event.kind.as_lock() else { continue };
        match lock_event {
            LockEvent::CounterWrite { .. } => writes += 1,
            LockEvent::CounterFinal { value } => final_value = Some(value),
            _ => {}
        }
        let Some(proc) = procs.get_mut(event.actor.0 as usize) else { continue };
        match lock_event {
            LockEvent::Requested { kind } => proc.requested = Some((event.t, kind)),
            LockEvent::WouldBlock { attempts } => failed += u64::from(attempts),
            LockEvent::Acquired { .. } => {
                if let Some((since, kind)) = proc.requested.take() {
                    let wait = (event.t - since).0;
                    waits.push(wait);
                    if kind == LockKind::Exclusive {
                        exclusive_waits.push(wait);
                    }
                }
                proc.acquired = Some(event.t);
                proc.acquisitions += 1;
                holding += 1;
                max_holding = max_holding.max(holding);
            }
            LockEvent::Released | LockEvent::Killed => {
                if let Some(since) = proc.acquired.take() {
                    holds.push((event.t - since).0);
                    holding -= 1;
                }
            }
            LockEvent::GaveUp => gave_up += 1,
            LockEvent::CounterWrite { .. } | LockEvent::StaleLockRemoved | LockEvent::CounterFinal { .. } => {}
        }
    }
    waits.sort_unstable();
    let acquisitions: u64 = procs.iter().map(|p| p.acquisitions).sum();
    let secs = trace.end().as_secs_f64();
    let as_f64 = |v: Option<u64>| v.map(|x| x as f64);
    let shares: Vec<u64> = procs.iter().map(|p| p.acquisitions).collect();

    vec![
        Metric::new("acquisitions", Text::new("metric.lock.acquisitions"), Unit::Count, Some(acquisitions as f64)),
        Metric::new(
            "throughput",
            Text::new("metric.lock.throughput"),
            Unit::PerSecond,
            (secs > 0.0).then(|| acquisitions as f64 / secs),
        ),
        Metric::new("wait_p50", Text::new("metric.lock.wait_p50"), Unit::Nanos, as_f64(percentile(&waits, 50.0))),
        Metric::new("wait_p95", Text::new("metric.lock.wait_p95"), Unit::Nanos, as_f64(percentile(&waits, 95.0))),
        Metric::new("wait_p99", Text::new("metric.lock.wait_p99"), Unit::Nanos, as_f64(percentile(&waits, 99.0))),
        Metric::new(
            "exclusive_wait_max",
            Text::new("metric.lock.exclusive_wait_max"),
            Unit::Nanos,
            as_f64(exclusive_waits.iter().copied().max()),
        ),
        Metric::new("hold_mean", Text::new("metric.lock.hold_mean"), Unit::Nanos, mean(&holds)),
        Metric::new("fairness", Text::new("metric.lock.fairness"), Unit::Index, jain_index(&shares)),
        Metric::new(
            "failed_per_acquisition",
            Text::new("metric.lock.failed_per_acquisition"),
            Unit::Ratio,
            (acquisitions > 0).then(|| failed as f64 / acquisitions as f64),
        ),
        Metric::new("max_holders", Text::new("metric.lock.max_holders"), Unit::Count, Some(max_holding as f64)),
        Metric::new(
            "lost_updates",
            Text::new("metric.lock.lost_updates"),
            Unit::Count,
            final_value.map(|v| writes.saturating_sub(v) as f64),
        ),
        Metric::new("gave_up", Text::new("metric.lock.gave_up"), Unit::Count, Some(gave_up as f64)),
    ]
}
