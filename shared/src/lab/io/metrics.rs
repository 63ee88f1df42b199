//! What a io trace says, simulated or measured alike: the lab's figures and the summaries they come from.

use super::*;

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
