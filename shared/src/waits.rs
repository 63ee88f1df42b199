//! How precisely a measured run waited the times its parameters asked for (think, hold, retry, work). The
//! simulation waits exactly what it drew; a real process waits what the machine grants, so a measured run
//! reports, per kind of wait, the median and p99 of what it asked and of what it got, and how many waits missed
//! the bound: 1 µs or 2 % of the wait, whichever is larger. The experiment computes one [`WaitAccuracy`] per kind
//! from every wait it made and records it as an event; metrics and notes come from those events, for any lab.

use crate::i18n::Text;
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{EventKind, Metric, Trace, Unit};
use serde::{Deserialize, Serialize};

/// What a wait was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Work between two lock requests.
    Think,
    /// Time spent holding the lock.
    Hold,
    /// The pause before a non-blocking request or lock-file attempt is tried again.
    Retry,
    /// An item's work in a pipeline (a sleep, like waiting for I/O, or a CPU spin).
    Work,
}

impl WaitKind {
    pub fn key(self) -> &'static str {
        match self {
            WaitKind::Think => "think",
            WaitKind::Hold => "hold",
            WaitKind::Retry => "retry",
            WaitKind::Work => "work",
        }
    }

    pub fn name(self) -> Text {
        Text::new(match self {
            WaitKind::Think => "term.wait.think",
            WaitKind::Hold => "term.wait.hold",
            WaitKind::Retry => "term.wait.retry",
            WaitKind::Work => "term.wait.work",
        })
    }
}

/// One wait: (asked, achieved) nanoseconds.
pub type WaitSample = (u64, u64);

/// The most a wait of `asked` nanoseconds may differ from it and still count as what was asked.
pub fn bound(asked: u64) -> u64 {
    (asked / 50).max(1_000)
}

/// A kind of wait counts as done as asked when at most this share of its waits is off by more than the bound
/// (its p95 is within it) and its mean is within the bound of the mean asked: the workload as a whole is the
/// one asked for. A tick of the timer interrupt lands in about one wait of 10 µs in a hundred and stretches it by
/// a few microseconds: the p99 shows it, and it does not make another workload.
const AS_ASKED_OFF_PER_MILLE: u64 = 50;

/// One kind of wait of a measured run: what was asked and what was achieved, in nanoseconds (saturated at
/// u32::MAX, about 4.3 s, which no lab's wait reaches: this keeps every event of every trace small).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitAccuracy {
    pub wait: WaitKind,
    pub n: u32,
    pub asked_p50_ns: u32,
    pub asked_p99_ns: u32,
    pub achieved_p50_ns: u32,
    pub achieved_p99_ns: u32,
    pub asked_mean_ns: u32,
    pub achieved_mean_ns: u32,
    /// The p99 of how far each wait was from what it asked, either way.
    pub off_p99_ns: u32,
    /// Waits off by more than [`bound`].
    pub beyond_bound: u32,
}

fn small(ns: u64) -> u32 {
    u32::try_from(ns).unwrap_or(u32::MAX)
}

impl WaitAccuracy {
    /// The accuracy of `samples`, each (asked, achieved) in nanoseconds; `None` when there are none.
    pub fn of(wait: WaitKind, samples: &[WaitSample]) -> Option<WaitAccuracy> {
        if samples.is_empty() {
            return None;
        }
        let sorted = |f: &dyn Fn(&WaitSample) -> u64| {
            let mut v: Vec<u64> = samples.iter().map(f).collect();
            v.sort_unstable();
            v
        };
        let (asked, achieved, off) = (sorted(&|s| s.0), sorted(&|s| s.1), sorted(&|s| s.0.abs_diff(s.1)));
        let p = |v: &[u64], q| small(percentile(v, q).unwrap_or(0));
        let beyond = samples.iter().filter(|(a, got)| a.abs_diff(*got) > bound(*a)).count();
        let mean = |v: &[u64]| small((v.iter().map(|&x| u128::from(x)).sum::<u128>() / v.len() as u128) as u64);
        Some(WaitAccuracy {
            wait,
            n: small(samples.len() as u64),
            asked_p50_ns: p(&asked, 50.0),
            asked_p99_ns: p(&asked, 99.0),
            achieved_p50_ns: p(&achieved, 50.0),
            achieved_p99_ns: p(&achieved, 99.0),
            asked_mean_ns: mean(&asked),
            achieved_mean_ns: mean(&achieved),
            off_p99_ns: p(&off, 99.0),
            beyond_bound: small(beyond as u64),
        })
    }

    /// Whether this kind of wait was done as asked: at most 5 % of its waits beyond the bound, and its mean
    /// within the bound of the mean asked.
    pub fn as_asked(&self) -> bool {
        let (asked, achieved) = (u64::from(self.asked_mean_ns), u64::from(self.achieved_mean_ns));
        u64::from(self.beyond_bound) * 1_000 <= u64::from(self.n) * AS_ASKED_OFF_PER_MILLE
            && asked.abs_diff(achieved) <= bound(asked)
    }

    /// The note that marks a run whose waits of this kind were not as asked.
    pub fn note(&self) -> Option<Text> {
        (!self.as_asked()).then(|| {
            Text::new("note.waits.off")
                .with_text("wait", self.wait.name())
                .with("beyond", self.beyond_bound)
                .with("n", self.n)
                .with("asked", Nanos(u64::from(self.asked_p50_ns)))
                .with("achieved", Nanos(u64::from(self.achieved_p50_ns)))
                .with("asked_mean", Nanos(u64::from(self.asked_mean_ns)))
                .with("achieved_mean", Nanos(u64::from(self.achieved_mean_ns)))
                .with("off", Nanos(u64::from(self.off_p99_ns)))
        })
    }
}

/// The wait reports of a trace, in the order they were recorded.
pub fn accuracies(trace: &Trace) -> impl Iterator<Item = &WaitAccuracy> {
    trace.events.iter().filter_map(|e| match &e.kind {
        EventKind::Waits(w) => Some(w),
        _ => None,
    })
}

/// The figures of a trace's wait reports: per kind, the achieved median and p99 (labelled with what was asked),
/// and one figure that says whether every kind was as asked. None for a run without reports (a simulated one).
pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let mut out = Vec::new();
    let mut all_as_asked = None;
    for w in accuracies(trace) {
        let key = w.wait.key();
        let label = |template: &str, asked: u32| {
            Text::new(template).with_text("wait", w.wait.name()).with("asked", Nanos(u64::from(asked)))
        };
        out.push(Metric::new(
            &format!("{key}_achieved_p50"),
            label("metric.waits.achieved_p50", w.asked_p50_ns),
            Unit::Nanos,
            Some(f64::from(w.achieved_p50_ns)),
        ));
        out.push(Metric::new(
            &format!("{key}_achieved_p99"),
            label("metric.waits.achieved_p99", w.asked_p99_ns),
            Unit::Nanos,
            Some(f64::from(w.achieved_p99_ns)),
        ));
        all_as_asked = Some(all_as_asked.unwrap_or(true) && w.as_asked());
    }
    if let Some(ok) = all_as_asked {
        out.push(Metric::new(
            "waits_as_asked",
            Text::new("metric.waits.as_asked"),
            Unit::Verdict,
            Some(f64::from(u8::from(ok))),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_a_microsecond_or_two_percent() {
        assert_eq!(bound(0), 1_000);
        assert_eq!(bound(10_000), 1_000);
        assert_eq!(bound(50_000), 1_000);
        assert_eq!(bound(100_000), 2_000);
        assert_eq!(bound(1_000_000_000), 20_000_000);
    }

    #[test]
    fn precise_waits_are_as_asked_and_coarse_ones_are_marked() {
        let precise: Vec<(u64, u64)> = (1..=1_000).map(|i| (i * 100, i * 100 + 300)).collect();
        let w = WaitAccuracy::of(WaitKind::Hold, &precise).expect("samples");
        assert_eq!((w.n, w.beyond_bound, w.off_p99_ns), (1_000, 0, 300));
        assert_eq!((w.asked_p50_ns, w.achieved_p50_ns), (50_000, 50_300));
        assert!(w.as_asked() && w.note().is_none());
        // A sleep that wakes 55 µs late, as `std::thread::sleep` does here.
        let coarse: Vec<(u64, u64)> = (1..=1_000).map(|i| (10_000, 10_000 + 55_000 + i)).collect();
        let w = WaitAccuracy::of(WaitKind::Hold, &coarse).expect("samples");
        assert_eq!(w.beyond_bound, 1_000);
        assert!(!w.as_asked());
        assert!(w.note().is_some_and(|n| n.to_string().contains("1000 of 1000")), "{:?}", w.note());
        // A few in a hundred stretched by a timer tick are still as asked; more, or a mean that moved, are not.
        let mut few: Vec<(u64, u64)> = vec![(10_000, 10_000); 1_000];
        for s in few.iter_mut().take(50) {
            s.1 = 14_000;
        }
        assert!(WaitAccuracy::of(WaitKind::Think, &few).expect("samples").as_asked());
        few[50].1 = 14_000;
        assert!(!WaitAccuracy::of(WaitKind::Think, &few).expect("samples").as_asked(), "51 of 1000 beyond");
        let mut rare_but_long: Vec<(u64, u64)> = vec![(10_000, 10_000); 1_000];
        rare_but_long[0].1 = 10_000_000;
        let w = WaitAccuracy::of(WaitKind::Think, &rare_but_long).expect("samples");
        assert_eq!(w.beyond_bound, 1);
        assert!(!w.as_asked(), "one wait of 10 ms among 10 µs ones moves the mean by 10 µs");
        assert_eq!(WaitAccuracy::of(WaitKind::Retry, &[]), None);
        // Past u32 nanoseconds the figures saturate instead of wrapping.
        let long = WaitAccuracy::of(WaitKind::Work, &[(u64::MAX, u64::MAX)]).expect("samples");
        assert_eq!(long.achieved_p99_ns, u32::MAX);
    }
}
