//! Whether a measured run ran alone. A user's browser, an editor or a build shares the machine with the
//! companion, and what they take is not in the run's figures but changes them. The companion reads the machine's
//! CPU time (`/proc/stat`) and the run's own (the companion's threads and every worker it reaped, from
//! getrusage) before and after a run; the difference is what other programs (and other virtual machines, as
//! steal) took; and what the run's own recording cost, estimated from its events and the measured cost of one
//! record (the observer effect). This module is the pure half: the parse of `/proc/stat`'s first line, the two samples' difference
//! as a [`MachineLoad`] recorded with the run as an event, its verdict, figures and note.

use crate::i18n::Text;
use crate::trace::{EventKind, Metric, Trace, Unit};
use serde::{Deserialize, Serialize};

/// Above this share of the machine's CPUs taken by other programs over a run, the run is marked disturbed.
pub const DISTURBED_SHARE: f64 = 0.10;

/// The kernel's counters are in clock ticks, so a share has an error of about a tick per CPU at each end of the
/// run; a verdict needs that error to be at most this share, else the run is too short to tell.
const MAX_UNCERTAINTY: f64 = DISTURBED_SHARE / 2.0;

/// The machine's CPU time so far, in clock ticks summed over its CPUs (`/proc/stat`'s `cpu` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineTicks {
    /// Time some program (or the kernel for it, or another virtual machine, as steal) ran.
    pub busy: u64,
    /// Busy and idle (including waiting for I/O): the CPUs' whole time.
    pub total: u64,
}

/// Why `/proc/stat` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    #[error("/proc/stat has no `cpu` line first")]
    NoCpuLine,
    #[error("/proc/stat's `cpu` line has {0} fields, fewer than the 8 of any Linux since 2.6.11")]
    TooFewFields(usize),
    #[error("/proc/stat's `cpu` line has `{0}` where a count of ticks belongs")]
    NotANumber(String),
}

impl MachineTicks {
    /// Reads the first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal [guest …]`
    /// (guest time is already inside user and nice, so it is not added again).
    pub fn parse(stat: &str) -> Result<MachineTicks, StatError> {
        let mut fields = stat.lines().next().unwrap_or_default().split_ascii_whitespace();
        if fields.next() != Some("cpu") {
            return Err(StatError::NoCpuLine);
        }
        let ticks = fields
            .take(8)
            .map(|f| f.parse::<u64>().map_err(|_| StatError::NotANumber(f.to_owned())))
            .collect::<Result<Vec<u64>, _>>()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
            return Err(StatError::TooFewFields(ticks.len()));
        };
        let busy = user + nice + system + irq + softirq + steal;
        Ok(MachineTicks { busy, total: busy + idle + iowait })
    }
}

/// One reading at a moment: the machine's ticks and the run's own CPU time and involuntary context switches so
/// far (the companion's, and its reaped children's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuSample {
    pub machine: MachineTicks,
    pub own_cpu_ns: u64,
    pub own_involuntary_switches: u64,
}

/// The load on the machine over one run, as the run's last event records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineLoad {
    pub cpus: u32,
    /// The CPUs' whole time over the run, summed over them (about the run's length × `cpus`).
    pub total_ns: u64,
    /// The CPU time anything took over the run.
    pub busy_ns: u64,
    /// The CPU time the run itself took: the companion's threads and its workers.
    pub own_ns: u64,
    /// How often the kernel took a CPU away from one of the run's threads before it was done.
    pub involuntary_switches: u64,
    /// The length of a clock tick, the counters' resolution.
    pub tick_ns: u64,
    /// The events the run recorded, and what recording one costs on this machine in picoseconds (a clock read
    /// and a store, timed by the companion): the observer effect's estimate. Zero in runs from before.
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub record_ps: u64,
}

/// What a run's load says about its figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Other programs took at most [`DISTURBED_SHARE`] of the CPUs.
    Alone { others: f64 },
    /// Other programs took more: the figures are not what this machine does alone.
    Disturbed { others: f64 },
    /// The run was too short for the counters' resolution to tell.
    TooShort { others: f64, uncertainty: f64 },
}

impl MachineLoad {
    /// The load between two samples, with the counters' tick length and the machine's CPU count.
    pub fn between(before: CpuSample, after: CpuSample, tick_ns: u64, cpus: u32) -> MachineLoad {
        let ticks = |a: u64, b: u64| b.saturating_sub(a).saturating_mul(tick_ns);
        MachineLoad {
            cpus,
            total_ns: ticks(before.machine.total, after.machine.total),
            busy_ns: ticks(before.machine.busy, after.machine.busy),
            own_ns: after.own_cpu_ns.saturating_sub(before.own_cpu_ns),
            involuntary_switches: after.own_involuntary_switches.saturating_sub(before.own_involuntary_switches),
            tick_ns,
            events: 0,
            record_ps: 0,
        }
    }

    /// The same load, with the run's recording: `events` recorded at `record_ps` each.
    pub fn with_recording(self, events: u64, record_ps: u64) -> MachineLoad {
        MachineLoad { events, record_ps, ..self }
    }

    /// Recording's estimated share of the run's own CPU time, when the run says what it recorded.
    pub fn recording_share(&self) -> Option<f64> {
        (self.record_ps > 0 && self.own_ns > 0)
            .then(|| (self.events as f64 * self.record_ps as f64 / 1e3 / self.own_ns as f64).min(1.0))
    }

    /// The share of the CPUs' time other programs took: what was busy and not the run's own. The run's own
    /// time is exact and the machine's is counted in ticks, so a quiet machine can show slightly below zero;
    /// that is zero.
    pub fn others_share(&self) -> f64 {
        if self.total_ns == 0 {
            return 0.0;
        }
        (self.busy_ns.saturating_sub(self.own_ns) as f64 / self.total_ns as f64).clamp(0.0, 1.0)
    }

    /// The share's error: a tick per CPU at each end of the busy count.
    pub fn uncertainty(&self) -> f64 {
        if self.total_ns == 0 {
            return 1.0;
        }
        (2 * u64::from(self.cpus.max(1)) * self.tick_ns) as f64 / self.total_ns as f64
    }

    pub fn verdict(&self) -> Verdict {
        let (others, uncertainty) = (self.others_share(), self.uncertainty());
        if others > DISTURBED_SHARE + uncertainty {
            Verdict::Disturbed { others }
        } else if uncertainty > MAX_UNCERTAINTY {
            Verdict::TooShort { others, uncertainty }
        } else {
            Verdict::Alone { others }
        }
    }

    /// The note that marks a disturbed run, or says a run was too short to tell.
    pub fn note(&self) -> Option<Text> {
        let percent = |share: f64| format!("{:.0}", 100.0 * share);
        match self.verdict() {
            Verdict::Alone { .. } => None,
            Verdict::Disturbed { others } => Some(
                Text::new("note.load.disturbed")
                    .with("share", percent(others))
                    .with("cpus", self.cpus)
                    .with("switches", self.involuntary_switches),
            ),
            Verdict::TooShort { others, uncertainty } => Some(
                Text::new("note.load.too_short")
                    .with("share", percent(others))
                    .with("uncertainty", percent(uncertainty)),
            ),
        }
    }
}

/// The load recorded with a trace, if it has one (a measured run since the companion records it).
pub fn of(trace: &Trace) -> Option<&MachineLoad> {
    trace.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Load(load) => Some(load),
        _ => None,
    })
}

/// The share of the CPUs other programs took, when that marks the trace disturbed.
pub fn disturbance(trace: &Trace) -> Option<f64> {
    match of(trace)?.verdict() {
        Verdict::Disturbed { others } => Some(others),
        _ => None,
    }
}

/// The figures of a trace's load: the share other programs took, whether the run ran alone (undefined when too
/// short to tell) and the run's involuntary context switches. None for a run without a load (a simulated one).
pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let Some(load) = of(trace) else { return Vec::new() };
    let alone = match load.verdict() {
        Verdict::Alone { .. } => Some(1.0),
        Verdict::Disturbed { .. } => Some(0.0),
        Verdict::TooShort { .. } => None,
    };
    let recording = Text::new("metric.load.recording")
        .with("events", load.events)
        .with("ns", format!("{:.0}", load.record_ps as f64 / 1e3));
    vec![
        Metric::new("others_cpu_share", Text::new("metric.load.others"), Unit::Share, Some(load.others_share())),
        Metric::new("recording_share", recording, Unit::Share, load.recording_share()),
        Metric::new("ran_alone", Text::new("metric.load.alone"), Unit::Verdict, alone),
        Metric::new(
            "involuntary_switches",
            Text::new("metric.load.switches"),
            Unit::Count,
            Some(load.involuntary_switches as f64),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: u64 = 10_000_000;

    fn sample(busy: u64, total: u64, own_ms: u64) -> CpuSample {
        CpuSample { machine: MachineTicks { busy, total }, own_cpu_ns: own_ms * 1_000_000, own_involuntary_switches: 0 }
    }

    #[test]
    fn proc_stat_parses_and_bad_lines_are_named() {
        let stat = "cpu  1334 5 1681 28901 232 7 51 1918 3 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n";
        assert_eq!(MachineTicks::parse(stat), Ok(MachineTicks { busy: 1334 + 5 + 1681 + 7 + 51 + 1918, total: 34129 }));
        assert_eq!(MachineTicks::parse("intr 1 2"), Err(StatError::NoCpuLine));
        assert_eq!(MachineTicks::parse(""), Err(StatError::NoCpuLine));
        assert_eq!(MachineTicks::parse("cpu 1 2 3"), Err(StatError::TooFewFields(3)));
        assert_eq!(MachineTicks::parse("cpu 1 2 x 4 5 6 7 8"), Err(StatError::NotANumber("x".into())));
    }

    #[test]
    fn a_hog_on_one_of_two_cpus_is_a_disturbance_and_a_quiet_machine_is_not() {
        // One second on two CPUs: 200 ticks. The run used 90 ms; a hog took a whole CPU.
        let hog = MachineLoad::between(sample(0, 0, 0), sample(109, 200, 90), TICK, 2);
        assert!((hog.others_share() - 0.5).abs() < 1e-9, "{}", hog.others_share());
        assert!(matches!(hog.verdict(), Verdict::Disturbed { .. }));
        assert!(disturbed_note(&hog).contains("50 %"), "{}", disturbed_note(&hog));
        // The same run on a quiet machine: its own time is all there was (the counters may round below it).
        let quiet = MachineLoad::between(sample(0, 0, 0), sample(8, 200, 90), TICK, 2);
        assert_eq!(quiet.others_share(), 0.0);
        assert_eq!(quiet.verdict(), Verdict::Alone { others: 0.0 });
        assert_eq!(quiet.note(), None);
    }

    #[test]
    fn a_run_shorter_than_the_counters_can_tell_says_so_unless_clearly_disturbed() {
        // 100 ms on two CPUs: 20 ticks, an error of 2 ticks per CPU is 20 %.
        let short = MachineLoad::between(sample(0, 0, 0), sample(1, 20, 10), TICK, 2);
        assert!(matches!(short.verdict(), Verdict::TooShort { .. }));
        assert!(short.note().is_some_and(|n| n.to_string().contains("too short")));
        let swamped = MachineLoad::between(sample(0, 0, 0), sample(20, 20, 0), TICK, 2);
        assert!(matches!(swamped.verdict(), Verdict::Disturbed { .. }), "all of it taken by others is clear");
        // Counters that went backwards (they do not, but a sample may be garbage) saturate instead of wrapping.
        let odd = MachineLoad::between(sample(50, 50, 50), sample(0, 0, 0), TICK, 2);
        assert_eq!((odd.total_ns, odd.others_share()), (0, 0.0));
        assert!(matches!(odd.verdict(), Verdict::TooShort { .. }));
    }

    #[test]
    fn recording_is_estimated_against_the_runs_own_cpu_time() {
        let load = MachineLoad::between(sample(0, 0, 0), sample(100, 200, 1_000), TICK, 2);
        assert_eq!(load.recording_share(), None, "a run that does not say what it recorded has no estimate");
        // A million events at 25 ns each in a second of CPU time: 2.5 %.
        let recorded = load.with_recording(1_000_000, 25_000);
        assert!((recorded.recording_share().unwrap() - 0.025).abs() < 1e-12);
        let label = metrics_of(recorded).into_iter().find(|m| m.key == "recording_share").unwrap().label;
        assert!(label.to_string().contains("1000000 events × 25 ns"), "{label}");
    }

    fn metrics_of(load: MachineLoad) -> Vec<Metric> {
        let mut trace = crate::lab::simulate(crate::LabId::Amdahl, &crate::ParamSet::default(), 1).unwrap();
        trace.events.push(crate::Event { t: trace.end(), actor: crate::ActorId(0), kind: EventKind::Load(load) });
        metrics(&trace)
    }

    fn disturbed_note(load: &MachineLoad) -> String {
        load.note().map(|n| n.to_string()).unwrap_or_default()
    }
}
