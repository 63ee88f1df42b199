//! The one trace model: a run, its actors, timestamped events and the metrics computed from them. The
//! simulation emits it, the companion emits it, the views draw it; a view never cares which produced it.

use crate::alone::MachineLoad;
use crate::catalogue::LabId;
use crate::i18n::Text;
use crate::lab::amdahl::AmdahlEvent;
use crate::lab::io::IoEvent;
use crate::lab::lock::LockEvent;
use crate::lab::methods::MethodsEvent;
use crate::lab::mmap::MmapEvent;
use crate::lab::pipeline::PipelineEvent;
use crate::lab::watch::WatchEvent;
use crate::params::ParamSet;
use crate::time::Nanos;
use crate::waits::WaitAccuracy;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies an actor within one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorId(pub u32);

/// What kind of thing an actor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Process,
    Thread,
    File,
    Channel,
    Watcher,
}

/// Something that acts or is acted on in a run: a process, a file, a channel...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: ActorId,
    pub kind: ActorKind,
    pub label: Text,
    /// The operating-system process id, for measured runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Something that happened to an actor at a moment of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub t: Nanos,
    pub actor: ActorId,
    pub kind: EventKind,
}

/// What happened. One variant per lab, each defined in that lab's own module, and the one every lab's real run
/// may record: how precisely it waited (`shared::waits`) and what else ran on the machine meanwhile
/// (`shared::alone`), summaries at the run's end rather than moments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Lock(LockEvent),
    Amdahl(AmdahlEvent),
    Methods(MethodsEvent),
    Mmap(MmapEvent),
    Watch(WatchEvent),
    Io(IoEvent),
    Pipeline(PipelineEvent),
    Waits(WaitAccuracy),
    Load(MachineLoad),
    /// A measured run repeated: the `n`-th repeat (from 0) of the workload starts here (`shared::repeats`).
    Repeat(u32),
}

impl EventKind {
    /// The lock lab's event, if this is one.
    pub fn as_lock(&self) -> Option<LockEvent> {
        match self {
            EventKind::Lock(ev) => Some(*ev),
            _ => None,
        }
    }
}

/// The machine a measured run ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// `uname -sr`, e.g. "Linux 6.18.0".
    pub kernel: String,
    pub n_cpus: u32,
    /// The file system of the companion's scratch directory, e.g. "ext4 (/tmp)".
    pub scratch_fs: String,
    pub companion_version: String,
    /// The CPU's model name (`/proc/cpuinfo`); empty when unknown (and in runs exported before it was kept).
    #[serde(default)]
    pub cpu_model: String,
    /// The page size in bytes (0 when unknown).
    #[serde(default)]
    pub page_size: u64,
    /// `fs.inotify.max_user_watches`, which bounds the watch lab.
    #[serde(default)]
    pub inotify_max_user_watches: Option<u64>,
    /// The companion's soft limit on open files (RLIMIT_NOFILE), which bounds the I/O lab's sources.
    #[serde(default)]
    pub open_files_limit: Option<u64>,
    /// The companion was a debug build: its own code ran unoptimised (checksums, copies, recording), so its
    /// timings are not this machine's.
    #[serde(default)]
    pub debug_build: bool,
}

impl HostInfo {
    /// The provenance of a measured figure as (key, label, value) rows, in the order the page and the exports
    /// show them; unknown values are left out.
    pub fn provenance(&self) -> Vec<(&'static str, Text, Text)> {
        let literal = |s: String| Text::Literal(s);
        let mut rows = vec![("kernel", literal(self.kernel.clone()))];
        if !self.cpu_model.is_empty() {
            rows.push(("cpu_model", literal(self.cpu_model.clone())));
        }
        rows.push(("cpus", literal(self.n_cpus.to_string())));
        if self.page_size > 0 {
            rows.push(("page_size", Text::new("ui.provenance.bytes").with("n", self.page_size)));
        }
        rows.push(("scratch_fs", literal(self.scratch_fs.clone())));
        if let Some(watches) = self.inotify_max_user_watches {
            rows.push(("inotify_max_user_watches", literal(watches.to_string())));
        }
        if let Some(files) = self.open_files_limit {
            rows.push(("open_files_limit", literal(files.to_string())));
        }
        let version = format!("syslab {}", self.companion_version);
        rows.push((
            "companion_version",
            if self.debug_build {
                Text::new("ui.provenance.debug_build").with("version", version)
            } else {
                literal(version)
            },
        ));
        rows.into_iter().map(|(key, value)| (key, Text::new(&format!("ui.provenance.{key}")), value)).collect()
    }

    /// One line about the machine: kernel, CPUs, where the scratch files go.
    pub fn summary(&self) -> Text {
        Text::new("ui.companion.host").with("kernel", &self.kernel).with("n", self.n_cpus).with("fs", &self.scratch_fs)
    }
}

/// The summary in English, for logs and the command line.
impl fmt::Display for HostInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.summary().fmt(f)
    }
}

/// Where a trace came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Simulated,
    Measured {
        host: HostInfo,
        /// When the run started, in milliseconds since the Unix epoch (0 when unknown).
        #[serde(default)]
        started_unix_ms: u64,
    },
}

impl Source {
    /// The machine a measured run ran on.
    pub fn host(&self) -> Option<&HostInfo> {
        match self {
            Source::Simulated => None,
            Source::Measured { host, .. } => Some(host),
        }
    }

    /// `simulated` or `measured`, as exports and file names say it.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Simulated => "simulated",
            Source::Measured { .. } => "measured",
        }
    }
}

/// What was run: the lab, its validated parameters, the seed and the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub lab: LabId,
    pub params: ParamSet,
    pub seed: u64,
    pub source: Source,
}

/// A whole run. Events are in time order (ties keep the order they were emitted in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub run: RunInfo,
    pub actors: Vec<Actor>,
    pub events: Vec<Event>,
    /// Things the reader should know about the run ("the event budget was reached at 1.2 s").
    #[serde(default)]
    pub notes: Vec<Text>,
}

impl Trace {
    /// The time of the last event: the run's length as observed.
    pub fn end(&self) -> Nanos {
        self.events.last().map_or(Nanos::ZERO, |e| e.t)
    }

    pub fn actor(&self, id: ActorId) -> Option<&Actor> {
        self.actors.iter().find(|a| a.id == id)
    }

    /// The number of events at or before `t` (events are sorted by time).
    pub fn count_until(&self, t: Nanos) -> usize {
        self.events.partition_point(|e| e.t <= t)
    }

    /// Whether the run stopped short of what its parameters asked, at its event budget (its notes say so): its
    /// totals then cover a shorter span than another run of the same parameters.
    pub fn stopped_at_budget(&self) -> bool {
        const BUDGET_NOTES: [&str; 2] = ["note.sim_budget", "note.run_budget"];
        self.notes.iter().any(|n| matches!(n, Text::Keyed { key, .. } if BUDGET_NOTES.contains(&key.as_str())))
    }

    /// Restores time order after events from several sources were appended (stable: ties keep their order).
    pub fn sort_events(&mut self) {
        self.events.sort_by_key(|e| e.t);
    }
}

/// The unit a metric is expressed in; it decides how the value is displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    PerSecond,
    Nanos,
    /// A number between 0 and 1, shown as is (Jain's index).
    Index,
    Ratio,
    /// A share between 0 and 1, shown as a percentage.
    Share,
    /// A yes or no, stored as 1 or 0 and shown as ✓ or ✗ (the same in every language).
    Verdict,
}

/// One computed figure of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    /// What it is, in words the reader's language can say (English on the command line and in exports).
    pub label: Text,
    pub unit: Unit,
    /// `None` when it is undefined for the run (a wait percentile with no acquisitions).
    pub value: Option<f64>,
    /// For a run of several repeats, half the range of the repeats' figures (the value is their median).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
}

impl Metric {
    pub fn new(key: &str, label: Text, unit: Unit, value: Option<f64>) -> Self {
        Metric { key: key.to_owned(), label, unit, value, spread: None }
    }

    /// The spread formatted in the value's unit ("± 1.2 µs"), for a figure from several repeats.
    pub fn display_spread(&self) -> Option<String> {
        let spread = Metric { value: self.spread, spread: None, ..self.clone() };
        self.spread.map(|_| format!("± {}", spread.display_value()))
    }

    /// The value with its spread when it has one ("12.3 k/s ± 400/s").
    pub fn display_with_spread(&self) -> String {
        match self.display_spread() {
            Some(spread) => format!("{} {spread}", self.display_value()),
            None => self.display_value(),
        }
    }

    /// The value formatted for people, the same on the page and on the command line.
    pub fn display_value(&self) -> String {
        let Some(v) = self.value else { return "—".to_owned() };
        match self.unit {
            Unit::Count => format!("{}", v.round() as i64),
            Unit::PerSecond => format!("{}/s", human(v)),
            Unit::Nanos => Nanos(v.max(0.0).round() as u64).to_string(),
            Unit::Index => format!("{v:.3}"),
            Unit::Ratio => format!("{v:.2}"),
            Unit::Share => format!("{:.1} %", 100.0 * v),
            Unit::Verdict => if v >= 0.5 { "✓" } else { "✗" }.to_owned(),
        }
    }
}

/// 1234567 → "1.23 M", 12345 → "12.3 k", 12.3 → "12.3".
fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_display_by_unit() {
        let check = |unit, v: Option<f64>, want: &str| {
            assert_eq!(Metric::new("k", Text::Literal("K".into()), unit, v).display_value(), want)
        };
        check(Unit::Count, Some(41.6), "42");
        check(Unit::PerSecond, Some(1_234_567.0), "1.23 M/s");
        check(Unit::PerSecond, Some(52_300.0), "52.3 k/s");
        check(Unit::Nanos, Some(1_500.0), "1.5 µs");
        check(Unit::Index, Some(0.98765), "0.988");
        check(Unit::Share, Some(0.1234), "12.3 %");
        check(Unit::Verdict, Some(1.0), "✓");
        check(Unit::Verdict, Some(0.0), "✗");
        check(Unit::Ratio, None, "—");
    }

    #[test]
    fn a_spread_is_shown_in_its_figures_unit() {
        let mut rate = Metric::new("k", Text::Literal("K".into()), Unit::PerSecond, Some(52_300.0));
        assert_eq!(rate.display_with_spread(), "52.3 k/s");
        rate.spread = Some(400.0);
        assert_eq!(rate.display_with_spread(), "52.3 k/s ± 400/s");
        let wait =
            Metric { spread: Some(1_500.0), ..Metric::new("w", Text::Literal("W".into()), Unit::Nanos, Some(9_000.0)) };
        assert_eq!(wait.display_spread().as_deref(), Some("± 1.5 µs"));
    }
}
