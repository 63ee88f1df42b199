//! Amdahl's law: a workload whose serial part runs on one thread and whose parallel part is split over n
//! threads. The simulation is the law itself on a given number of cores; the real run times a calibrated compute
//! loop on 1..n threads; the metrics are the speed-ups and the parallel fraction fitted back from them
//! (Karp–Flatt, each repeat on its own, the median with the spread of the repeats; a fit that is not a fraction
//! is refused as too noisy), the same arithmetic for both.

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::stats::percentile;
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace, Unit};
use serde::{Deserialize, Serialize};

pub static INFO: LabInfo = LabInfo {
    id: LabId::Amdahl,
    title: "Amdahl's law",
    summary: "The speed-up a parallel fraction allows, against a parallel-for measured on this machine's cores.",
    explanation: &[
        "A program that is a fraction p parallel and 1 − p serial runs on n cores in (1 − p) + p / n of its \
         one-core time, so its speed-up is 1 / ((1 − p) + p / n). However many cores you add, the serial part \
         stays: the speed-up can never pass 1 / (1 − p). A program that is half parallel (p = 0.5) can never run \
         more than twice as fast.",
        "Why it matters: before buying cores or adding threads, measure the serial part. On a machine with two \
         cores the curve is short: the measured speed-up stops at about what two cores give for pure compute \
         (and threads beyond the cores only add switching). The lab fits the parallel fraction back from the \
         measured speed-ups (the Karp–Flatt metric) and shows how far the machine is from the law.",
        "Try: p = 0.5 and 32 threads (the limit is 2×); p = 0.99 and watch how the cores, not the law, set the \
         ceiling; then run it on this machine and compare the fitted fraction with the one you asked for.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "parallel", values: "0.5,0.75,0.9,0.95,0.99", metric: "best_speedup" },
};

lab_entry!(AmdahlLab, AmdahlParams, {
    /// Every thread count is timed `repeats` times inside the one run, so the run is not repeated around them.
    fn repeats(&self, _params: &ParamSet) -> u32 {
        1
    }
});

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[Question {
    id: "two_threads",
    prompt: "How much faster will 2 threads run this workload than 1 thread?",
    figure: Figure::Metric("speedup_2"),
    answers: &[
        Answer { label: "Hardly (under 1.3×)", below: 1.3 },
        Answer { label: "1.3× to 1.7×", below: 1.7 },
        Answer { label: "1.7× to 1.95×", below: 1.95 },
        Answer { label: "Almost twice (1.95× or more)", below: INF },
    ],
    why: "Only the parallel part is shared out: with a parallel fraction p, 2 threads give 1 / ((1 − p) + \
              p/2) at best. A real machine also pays for starting and joining the threads, and another busy \
              process can take one of the cores.",
}];

static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "parallel",
        label: "Parallel fraction p",
        unit: "",
        help: "The share of the one-thread time that can be split across threads.",
        kind: ParamKind::Float { min: 0.0, max: 1.0, default: 0.9 },
        simulation_only: false,
    },
    ParamSpec {
        key: "max_threads",
        label: "Threads up to",
        unit: "",
        help: "Runs with 1, 2, … up to this many threads (more than the cores shows oversubscription).",
        kind: ParamKind::Int { min: 1, max: 32, default: 8 },
        simulation_only: false,
    },
    ParamSpec {
        key: "work_ms",
        label: "Work",
        unit: "ms",
        help: "How long the whole workload takes on one thread.",
        kind: ParamKind::Int { min: 10, max: 1_000, default: 100 },
        simulation_only: false,
    },
    ParamSpec {
        key: "repeats",
        label: "Repeats",
        unit: "",
        help: "Timed runs per thread count: each speed-up is their median, and the fit's spread comes from them.",
        kind: ParamKind::Int { min: 1, max: 5, default: 3 },
        simulation_only: false,
    },
    ParamSpec {
        key: "cores",
        label: "Cores",
        unit: "",
        help: "Simulation only: how many cores the modelled machine has (a real run uses this machine's).",
        kind: ParamKind::Int { min: 1, max: 64, default: 2 },
        simulation_only: true,
    },
];

/// What happened in the Amdahl lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum AmdahlEvent {
    /// One timed run of the workload on `threads` threads, ending at the event's time: first its serial part on
    /// one thread, then its parallel part split over all of them.
    Run { threads: u32, serial_ns: u64, parallel_ns: u64 },
}

/// The Amdahl lab's parameters, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmdahlParams {
    pub parallel: f64,
    pub max_threads: u32,
    pub work: Nanos,
    pub repeats: u32,
    pub cores: u32,
}

impl AmdahlParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("amdahl", PARAMS, set, |r| {
            Ok(AmdahlParams {
                parallel: r.float("parallel"),
                max_threads: r.uint("max_threads") as u32,
                work: Nanos::from_millis(r.uint("work_ms")),
                repeats: r.uint("repeats") as u32,
                cores: r.uint("cores") as u32,
            })
        })
    }

    /// The serial and parallel parts of the one-thread time.
    pub fn split(&self) -> (Nanos, Nanos) {
        let parallel = libm::round(self.work.0 as f64 * self.parallel) as u64;
        (Nanos(self.work.0 - parallel.min(self.work.0)), Nanos(parallel))
    }
}

/// The one actor: the workload (its threads are drawn from the events).
pub fn actors(pid: Option<u32>) -> Vec<Actor> {
    vec![Actor { id: ActorId(0), kind: ActorKind::Process, label: Text::new("term.actor.workload"), pid }]
}

/// Amdahl's speed-up for parallel fraction `p` on `n` cores.
pub fn speedup(p: f64, n: f64) -> f64 {
    1.0 / ((1.0 - p) + p / n)
}

/// The speed-up no number of cores can pass: 1 / (1 − p); `None` for p = 1 (no limit).
pub fn limit(p: f64) -> Option<f64> {
    (p < 1.0).then(|| 1.0 / (1.0 - p))
}

/// The law on `cores` cores: the parallel part splits over min(n, cores) of them.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(AmdahlParams::parse(params)?, params, seed))
}

fn simulate_typed(p: AmdahlParams, params: &ParamSet, seed: u64) -> Trace {
    let (serial, parallel) = p.split();
    let mut t = Nanos::ZERO;
    let mut events = Vec::new();
    for threads in 1..=p.max_threads {
        let parallel_ns = parallel.0 / u64::from(threads.min(p.cores));
        for _ in 0..p.repeats {
            t = t + serial + Nanos(parallel_ns);
            events.push(Event {
                t,
                actor: ActorId(0),
                kind: EventKind::Amdahl(AmdahlEvent::Run { threads, serial_ns: serial.0, parallel_ns }),
            });
        }
    }
    Trace {
        run: RunInfo { lab: LabId::Amdahl, params: params.clone(), seed, source: Source::Simulated },
        actors: actors(None),
        events,
        notes: Vec::new(),
    }
}

/// Each thread count's elapsed times, in the order its repeats ran, ascending by threads.
fn runs_by_threads(trace: &Trace) -> std::collections::BTreeMap<u32, Vec<u64>> {
    let mut by_threads: std::collections::BTreeMap<u32, Vec<u64>> = std::collections::BTreeMap::new();
    for event in &trace.events {
        if let EventKind::Amdahl(AmdahlEvent::Run { threads, serial_ns, parallel_ns }) = event.kind {
            by_threads.entry(threads).or_default().push(serial_ns + parallel_ns);
        }
    }
    by_threads
}

/// The median elapsed time per thread count, ascending by threads.
pub fn medians(trace: &Trace) -> Vec<(u32, u64)> {
    runs_by_threads(trace)
        .into_iter()
        .filter_map(|(n, mut times)| {
            times.sort_unstable();
            percentile(&times, 50.0).map(|m| (n, m))
        })
        .collect()
}

/// The parallel fraction fitted from speed-ups (Karp–Flatt: the serial fraction e = (1/S − 1/n) / (1 − 1/n)
/// for each n > 1, averaged), `None` without a thread count above one.
pub fn fit_parallel(speedups: &[(u32, f64)]) -> Option<f64> {
    let serial: Vec<f64> = speedups
        .iter()
        .filter(|(n, s)| *n > 1 && *s > 0.0)
        .map(|(n, s)| {
            let n = f64::from(*n);
            (1.0 / s - 1.0 / n) / (1.0 - 1.0 / n)
        })
        .collect();
    (!serial.is_empty()).then(|| 1.0 - serial.iter().sum::<f64>() / serial.len() as f64)
}

/// The fit of a run: the fraction its median times give (the speed-ups the run shows, so a reader can check it
/// against them), and, from its repeats, each repeat's times (the r-th run of every thread count up to `cores`)
/// fitted on their own, half their range as its spread. Pairing repeats is noisier than their medians (one
/// slow two-thread run paired with a fast one-thread run moved a fit of 0.9 to 0.58 here), so it only spreads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fit {
    /// The fit within [0, 1], and its spread (0 with one repeat: nothing to spread).
    Fraction { median: f64, spread: f64, repeats: usize },
    /// The fit is not a fraction (below 0: more threads made it slower; above 1: faster than the cores
    /// allow), which a workload cannot be: the run was too noisy to fit. The repeats' fits say how far off.
    TooNoisy { median: f64, low: f64, high: f64 },
}

/// Fits a run's parallel fraction, using the thread counts the cores run at once.
pub fn fit_repeats(trace: &Trace, cores: u32) -> Option<Fit> {
    let mut runs = runs_by_threads(trace);
    runs.retain(|threads, _| *threads <= cores);
    let repeats = runs.values().map(Vec::len).min()?;
    let one = runs.get(&1)?;
    let mut fits: Vec<f64> = (0..repeats)
        .filter_map(|r| {
            let speedups: Vec<(u32, f64)> =
                runs.iter().map(|(n, times)| (*n, one[r] as f64 / times[r].max(1) as f64)).collect();
            fit_parallel(&speedups)
        })
        .collect();
    fits.sort_unstable_by(f64::total_cmp);
    let (low, high) = (*fits.first()?, *fits.last()?);
    let medians: Vec<(u32, f64)> =
        medians(trace).into_iter().filter(|(n, _)| *n <= cores).map(|(n, t)| (n, t as f64)).collect();
    let one_median = medians.iter().find(|(n, _)| *n == 1)?.1;
    let median = fit_parallel(&medians.iter().map(|(n, t)| (*n, one_median / t.max(1.0))).collect::<Vec<_>>())?;
    Some(if (0.0..=1.0).contains(&median) {
        Fit::Fraction { median, spread: (high - low) / 2.0, repeats: fits.len() }
    } else {
        Fit::TooNoisy { median, low, high }
    })
}

/// The cores the run had: the model's for a simulation, the host's for a measurement.
pub fn cores_of(trace: &Trace) -> u32 {
    match &trace.run.source {
        Source::Measured { host, .. } => host.n_cpus.max(1),
        Source::Simulated => AmdahlParams::parse(&trace.run.params).map_or(1, |p| p.cores),
    }
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let Ok(p) = AmdahlParams::parse(&trace.run.params) else { return Vec::new() };
    let medians = medians(trace);
    let one = medians.iter().find(|(n, _)| *n == 1).map(|(_, t)| *t as f64);
    let speedups: Vec<(u32, f64)> =
        one.map(|one| medians.iter().map(|(n, t)| (*n, one / (*t).max(1) as f64)).collect()).unwrap_or_default();
    // The fit uses thread counts the cores can actually run at once; beyond them the law does not apply.
    let fit = fit_repeats(trace, cores_of(trace));
    let fitted_label = match fit {
        Some(Fit::TooNoisy { median, low, high }) => Text::new("metric.amdahl.too_noisy")
            .with("median", format!("{median:.2}"))
            .with("low", format!("{low:.2}"))
            .with("high", format!("{high:.2}")),
        _ => Text::new("metric.amdahl.fitted_parallel"),
    };
    let (fitted, spread) = match fit {
        Some(Fit::Fraction { median, spread, repeats }) => (Some(median), (repeats > 1).then_some(spread)),
        _ => (None, None),
    };
    let best = speedups.iter().copied().fold(None, |best: Option<(u32, f64)>, s| match best {
        Some(b) if b.1 >= s.1 => Some(b),
        _ => Some(s),
    });
    let mut out = vec![
        Metric::new("limit", Text::new("metric.amdahl.limit"), Unit::Ratio, limit(p.parallel)),
        Metric::new("best_speedup", Text::new("metric.amdahl.best_speedup"), Unit::Ratio, best.map(|b| b.1)),
        Metric::new("best_threads", Text::new("metric.amdahl.best_threads"), Unit::Count, best.map(|b| f64::from(b.0))),
        Metric::new("fitted_parallel", fitted_label, Unit::Index, fitted),
        Metric::new("fit_spread", Text::new("metric.amdahl.fit_spread"), Unit::Index, spread),
    ];
    out.extend(speedups.iter().map(|(n, s)| {
        let label = if *n == 1 {
            Text::new("metric.amdahl.speedup_one")
        } else {
            Text::new("metric.amdahl.speedup").with("n", n)
        };
        Metric::new(&format!("speedup_{n}"), label, Unit::Ratio, Some(*s))
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn params(pairs: &[(&str, ParamValue)]) -> ParamSet {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        LabId::Amdahl.validate(&given).unwrap()
    }

    fn metric(trace: &Trace, key: &str) -> Option<f64> {
        metrics(trace).into_iter().find(|m| m.key == key).and_then(|m| m.value)
    }

    #[test]
    fn the_law_and_its_limit() {
        assert!((speedup(0.5, 1e12) - 2.0).abs() < 1e-9, "p = 0.5 tends to 2×");
        assert_eq!(speedup(0.5, 1.0), 1.0);
        assert!((speedup(0.9, 10.0) - 1.0 / 0.19).abs() < 1e-12);
        assert_eq!(limit(0.5), Some(2.0));
        assert_eq!(limit(1.0), None);
    }

    #[test]
    fn karp_flatt_recovers_the_fraction_exactly_from_ideal_speedups() {
        for p in [0.0, 0.25, 0.5, 0.9, 0.99] {
            let data: Vec<(u32, f64)> = (1..=16).map(|n| (n, speedup(p, f64::from(n)))).collect();
            let fitted = fit_parallel(&data).unwrap();
            assert!((fitted - p).abs() < 1e-12, "p = {p}: fitted {fitted}");
        }
        assert_eq!(fit_parallel(&[(1, 1.0)]), None);
    }

    /// A measured-like run on two cores: per repeat, (one-thread time, two-thread time) in ms.
    fn run_of(pairs: &[(u64, u64)]) -> Trace {
        let mut trace = simulate(&params(&[("max_threads", ParamValue::Int(2))]), 1).unwrap();
        trace.events.clear();
        for (threads, pick) in [(1, 0), (2, 1)] {
            for pair in pairs {
                let ns = [pair.0, pair.1][pick] * 1_000_000;
                trace.events.push(Event {
                    t: Nanos(0),
                    actor: ActorId(0),
                    kind: EventKind::Amdahl(AmdahlEvent::Run { threads, serial_ns: 0, parallel_ns: ns }),
                });
            }
        }
        trace
    }

    #[test]
    fn the_fit_has_the_spread_of_its_repeats() {
        // The repeats' speed-ups on two cores, 1.61, 1.6 and 2.2, fit 0.76, 0.75 and 1.09 (the median of those
        // would be 0.76); the median times, 100 and 60 ms, give the speed-up of 1.67 the run shows: 0.8.
        let trace = run_of(&[(100, 62), (96, 60), (110, 50)]);
        let Some(Fit::Fraction { median, spread, repeats: 3 }) = fit_repeats(&trace, 2) else { panic!() };
        assert!((median - 2.0 + 2.0 * 60.0 / 100.0).abs() < 1e-3, "{median}");
        assert!((spread - (2.0 - 2.0 * 50.0 / 110.0 - 0.75) / 2.0).abs() < 1e-3, "{spread}");
        assert!((metric(&trace, "fit_spread").unwrap() - spread).abs() < 1e-12);
        // One repeat has no spread to show.
        assert_eq!(metric(&run_of(&[(100, 55)]), "fit_spread"), None);
        assert!(metric(&run_of(&[(100, 55)]), "fitted_parallel").is_some());
    }

    #[test]
    fn a_fraction_outside_zero_to_one_is_too_noisy_to_fit_never_a_figure() {
        // Two threads slower than one (another program took a core): the fit says −0.53, which no workload is.
        let slower = run_of(&[(100, 130), (100, 120), (100, 140)]);
        let fit = fit_repeats(&slower, 2);
        assert!(matches!(fit, Some(Fit::TooNoisy { median, .. }) if median < 0.0), "{fit:?}");
        let fitted = metrics(&slower).into_iter().find(|m| m.key == "fitted_parallel").unwrap();
        assert_eq!(fitted.value, None);
        assert!(fitted.label.to_string().contains("too noisy to fit"), "{}", fitted.label);
        assert_eq!(metric(&slower, "fit_spread"), None);
        // Faster than two cores can be.
        assert!(matches!(fit_repeats(&run_of(&[(100, 40)]), 2), Some(Fit::TooNoisy { median, .. }) if median > 1.0));
    }

    #[test]
    fn the_simulation_follows_the_law_up_to_the_cores_and_is_flat_beyond() {
        use ParamValue::{Float, Int};
        let set =
            params(&[("parallel", Float(0.5)), ("max_threads", Int(8)), ("cores", Int(4)), ("work_ms", Int(100))]);
        let trace = simulate(&set, 1).unwrap();
        assert_eq!(trace.events.len(), 8 * 3);
        assert!((metric(&trace, "speedup_4").unwrap() - speedup(0.5, 4.0)).abs() < 1e-6);
        assert_eq!(metric(&trace, "speedup_8"), metric(&trace, "speedup_4"));
        assert!((metric(&trace, "fitted_parallel").unwrap() - 0.5).abs() < 1e-6);
        assert_eq!(metric(&trace, "limit"), Some(2.0));
        assert!(metric(&trace, "best_speedup").unwrap() < 2.0);
        // Deterministic.
        assert_eq!(simulate(&set, 1).unwrap(), trace);
    }
}
