//! What a watch trace says, simulated or measured alike: the lab's figures and the summaries they come from.

use super::*;

/// One round of a trace, gathered from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundSummary {
    pub round: u32,
    /// When the round started.
    pub start: Nanos,
    pub files: u32,
    pub dirs: u32,
    /// Per change: when it was written.
    pub writes: Vec<Option<Nanos>>,
    /// Per watcher (in [`Watcher::ALL`] order), per change: when it was noticed.
    pub detected: [Vec<Option<Nanos>>; 2],
    pub overflows: u32,
    pub limit: Option<(u32, u32)>,
    /// inotify could not start in this round.
    pub unavailable: bool,
    pub cost: [Option<(u64, u64, Option<u64>)>; 2],
    /// The poller's passes: (end, duration).
    pub scans: Vec<(Nanos, u64)>,
}

impl RoundSummary {
    /// Detection latencies of a watcher, sorted.
    pub fn latencies(&self, watcher: Watcher) -> Vec<u64> {
        let mut out: Vec<u64> = self.detected[watcher as usize]
            .iter()
            .zip(&self.writes)
            .filter_map(|(d, w)| Some(d.as_ref()?.saturating_sub((*w)?).0))
            .collect();
        out.sort_unstable();
        out
    }

    /// Changes written that the watcher never noticed.
    pub fn missed(&self, watcher: Watcher) -> usize {
        self.writes.iter().zip(&self.detected[watcher as usize]).filter(|(w, d)| w.is_some() && d.is_none()).count()
    }

    /// Changes noticed together with an earlier change of the same file (one event or one stat for both).
    pub fn merged(&self, watcher: Watcher, files_of: &[u32]) -> usize {
        let mut moments: Vec<(u32, Nanos)> =
            self.detected[watcher as usize].iter().zip(files_of).filter_map(|(d, f)| Some((*f, (*d)?))).collect();
        let total = moments.len();
        moments.sort_unstable();
        moments.dedup();
        total - moments.len()
    }

    /// CPU time per second of watching, in ns/s.
    pub fn cpu_per_second(&self, watcher: Watcher) -> Option<f64> {
        let (cpu, wall, _) = self.cost[watcher as usize]?;
        (wall > 0).then(|| cpu as f64 / wall as f64 * 1e9)
    }

    /// CPU time per system call it made (for the poller, per stat), in ns.
    pub fn cpu_per_call(&self, watcher: Watcher) -> Option<f64> {
        let (cpu, _, calls) = self.cost[watcher as usize]?;
        calls.filter(|n| *n > 0).map(|n| cpu as f64 / n as f64)
    }

    /// CPU time per change written, in ns.
    pub fn cpu_per_change(&self, watcher: Watcher) -> Option<f64> {
        let (cpu, _, _) = self.cost[watcher as usize]?;
        let changes = self.writes.iter().flatten().count();
        (changes > 0).then(|| cpu as f64 / changes as f64)
    }

    pub fn syscalls_per_second(&self, watcher: Watcher) -> Option<f64> {
        let (_, wall, calls) = self.cost[watcher as usize]?;
        let calls = calls?;
        (wall > 0).then(|| calls as f64 / wall as f64 * 1e9)
    }
}

/// Every round of a trace, in order, with the files written per change.
pub fn rounds(trace: &Trace) -> Vec<(RoundSummary, Vec<u32>)> {
    let mut out: Vec<(RoundSummary, Vec<u32>)> = Vec::new();
    let grow = |v: &mut Vec<Option<Nanos>>, i: u32| {
        if v.len() <= i as usize {
            v.resize(i as usize + 1, None);
        }
    };
    for e in &trace.events {
        let EventKind::Watch(ev) = e.kind else { continue };
        if let WatchEvent::Round { round, files, dirs } = ev {
            out.push((RoundSummary { round, start: e.t, files, dirs, ..RoundSummary::default() }, Vec::new()));
            continue;
        }
        let Some((r, files_of)) = out.last_mut() else { continue };
        match ev {
            WatchEvent::Write { change, file, .. } => {
                grow(&mut r.writes, change);
                r.writes[change as usize] = Some(e.t);
                if files_of.len() <= change as usize {
                    files_of.resize(change as usize + 1, 0);
                }
                files_of[change as usize] = file;
            }
            WatchEvent::Detect { change, watcher, .. } => {
                let slot = &mut r.detected[watcher as usize];
                grow(slot, change);
                // The first notice counts; a later one for the same change is not a new detection.
                slot[change as usize].get_or_insert(e.t);
            }
            WatchEvent::Scan { ns, .. } => r.scans.push((e.t, ns)),
            WatchEvent::Overflow { .. } => r.overflows += 1,
            WatchEvent::Limit { needed, limit, .. } => r.limit = Some((needed, limit)),
            WatchEvent::Cost { watcher, cpu_ns, wall_ns, syscalls, .. } => {
                r.cost[watcher as usize] = Some((cpu_ns, wall_ns, syscalls));
            }
            WatchEvent::Unavailable { .. } => r.unavailable = true,
            WatchEvent::Round { .. } | WatchEvent::Ready { .. } => {}
        }
    }
    for (r, files_of) in &mut out {
        let n = r.writes.len();
        for d in &mut r.detected {
            d.resize(n.max(d.len()), None);
        }
        files_of.resize(n, 0);
    }
    out
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let all = rounds(trace);
    let Some((last, files_of)) = all.last() else { return Vec::new() };
    let mut out = vec![
        Metric::new("files", Text::new("metric.watch.files"), Unit::Count, Some(f64::from(last.files))),
        Metric::new(
            "changes",
            Text::new("metric.watch.changes"),
            Unit::Count,
            Some(last.writes.iter().flatten().count() as f64),
        ),
    ];
    for w in Watcher::ALL {
        let lat = last.latencies(w);
        let key = w.key();
        let pct = |p: f64| percentile(&lat, p).map(|v| v as f64);
        out.extend([
            Metric::new(
                &format!("{key}_p50"),
                Text::new("metric.watch.p50").with_text("watcher", w.name()),
                Unit::Nanos,
                pct(50.0),
            ),
            Metric::new(&format!("{key}_p95"), Text::new("metric.watch.p95"), Unit::Nanos, pct(95.0)),
            Metric::new(&format!("{key}_p99"), Text::new("metric.watch.p99"), Unit::Nanos, pct(99.0)),
            Metric::new(
                &format!("{key}_max"),
                Text::new("metric.watch.max"),
                Unit::Nanos,
                lat.last().map(|&v| v as f64),
            ),
            Metric::new(
                &format!("{key}_missed"),
                Text::new("metric.watch.missed"),
                Unit::Count,
                Some(last.missed(w) as f64),
            ),
            Metric::new(
                &format!("{key}_merged"),
                Text::new("metric.watch.merged"),
                Unit::Count,
                Some(last.merged(w, files_of) as f64),
            ),
            Metric::new(&format!("{key}_cpu"), Text::new("metric.watch.cpu"), Unit::Nanos, last.cpu_per_second(w)),
            Metric::new(
                &format!("{key}_syscalls"),
                Text::new("metric.watch.syscalls"),
                Unit::PerSecond,
                last.syscalls_per_second(w),
            ),
        ]);
    }
    out.push(Metric::new(
        "overflows",
        Text::new("metric.watch.overflows"),
        Unit::Count,
        Some(f64::from(last.overflows)),
    ));
    let ratio =
        last.cpu_per_second(Watcher::Poll).zip(last.cpu_per_second(Watcher::Inotify)).map(|(p, i)| p / i.max(1.0));
    out.push(Metric::new("poll_cpu_ratio", Text::new("metric.watch.poll_cpu_ratio"), Unit::Ratio, ratio));
    // What each watcher's CPU time comes to per unit of its work: the model's two costs, measured.
    out.push(Metric::new(
        "poll_cpu_per_stat",
        Text::new("metric.watch.poll_cpu_per_stat"),
        Unit::Nanos,
        last.cpu_per_call(Watcher::Poll),
    ));
    out.push(Metric::new(
        "inotify_cpu_per_change",
        Text::new("metric.watch.inotify_cpu_per_change"),
        Unit::Nanos,
        last.cpu_per_change(Watcher::Inotify),
    ));
    if all.len() > 1 {
        for (r, _) in &all {
            for w in Watcher::ALL {
                out.push(Metric::new(
                    &format!("{}_cpu_n{}", w.key(), r.files),
                    Text::new("metric.watch.cpu_at").with_text("watcher", w.name()).with("n", r.files),
                    Unit::Nanos,
                    r.cpu_per_second(w),
                ));
            }
        }
    }
    out
}
