//! The runs a reader has seen, kept by the page across reloads (its IndexedDB is the shell; this is the pure
//! part): what is kept of each run ([`Entry`]: lab, parameters, time, host, marks and figures, small enough to
//! list them all), its body kept beside it (a measured or imported run's trace; a sweep's figures; nothing for
//! a simulated run, which its parameters and seed give again, checked by its run id), and which entries go when
//! the history is over its cap: the oldest first, and the page says how many.

use crate::catalogue::LabId;
use crate::params::ParamSet;
use crate::trace::{Metric, Source, Trace};
use serde::{Deserialize, Serialize};

/// The version of what the history stores; entries of another are not read back (and are said to be).
pub const FORMAT: u32 = 1;

/// The most the history keeps in bytes of stored JSON (entries and bodies); past it the oldest entries go.
pub const CAP_BYTES: u64 = 96 * 1024 * 1024;

/// The largest body kept (a run near its event budget is 40–80 MB of JSON): a run over it keeps its entry and
/// figures but not its trace.
pub const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// The most events a kept trace may have: past it the page does not even write the body out (a trace file is
/// about 150–250 bytes an event, so this is near [`MAX_BODY_BYTES`]), which would stall it for seconds after a
/// run at its event budget only to throw the text away.
pub const MAX_BODY_EVENTS: usize = 150_000;

/// The most entries the history keeps; past it the oldest go.
pub const MAX_ENTRIES: usize = 400;

/// What kind of run an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Simulated,
    Measured,
    Imported,
    Sweep,
}

/// What a reader must know about a kept run before trusting its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mark", rename_all = "snake_case")]
pub enum Mark {
    /// Other programs took this share of the CPUs while it ran.
    Disturbed { others: f64 },
    /// It stopped before its end (cancelled, failed, or at its event budget): its figures cover part of it.
    Incomplete,
    /// Measured by a companion built without optimisations.
    DebugBuild,
    /// The page kept drawing while it measured.
    WatchedLive,
}

/// One kept run, as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its key: unique in the history, later runs higher.
    pub id: u64,
    pub format: u32,
    /// What the list calls it: the parameters that differ from the defaults, until the reader renames it.
    pub name: String,
    pub lab: LabId,
    pub kind: Kind,
    pub params: ParamSet,
    pub seed: u64,
    pub saved_unix_ms: u64,
    /// The machine a measured run ran on, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    pub figures: Vec<Metric>,
    /// A simulated run's id (its digest's first digits), which simulating it again must give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The size of its stored body in bytes (0 for none).
    pub body_bytes: u64,
}

impl Entry {
    /// The entry of a run the page showed, with the figures the page computed of it (its body, where it has
    /// one, is the trace's file of `body_bytes`).
    pub fn of_run(
        id: u64,
        trace: &Trace,
        figures: Vec<Metric>,
        kind: Kind,
        saved_unix_ms: u64,
        mut marks: Vec<Mark>,
        body_bytes: u64,
    ) -> Entry {
        if let Some(others) = crate::alone::disturbance(trace) {
            marks.push(Mark::Disturbed { others });
        }
        let host = match &trace.run.source {
            Source::Measured { host, .. } => {
                if host.debug_build {
                    marks.push(Mark::DebugBuild);
                }
                Some(host_words(host))
            }
            Source::Simulated => None,
        };
        if trace.stopped_at_budget() {
            marks.push(Mark::Incomplete);
        }
        marks.dedup();
        Entry {
            id,
            format: FORMAT,
            name: default_name(trace.run.lab, &trace.run.params),
            lab: trace.run.lab,
            kind,
            params: trace.run.params.clone(),
            seed: trace.run.seed,
            saved_unix_ms,
            host,
            marks,
            figures,
            run_id: (kind == Kind::Simulated).then(|| crate::golden::run_id(trace)),
            body_bytes,
        }
    }

    /// The entry of a sweep: its other parameters, and a name saying what was swept over which values (its body
    /// is the [`crate::sweep::SweepReport`]'s JSON of `body_bytes`).
    pub fn of_sweep(
        id: u64,
        report: &crate::sweep::SweepReport,
        base: &ParamSet,
        seed: u64,
        saved_unix_ms: u64,
        body_bytes: u64,
    ) -> Entry {
        let values: Vec<String> = report.points.iter().map(|p| p.value.to_string()).collect();
        let measured = report.points.iter().any(|p| p.measured.is_some());
        let mut marks = Vec::new();
        if let Some(others) = report.points.iter().filter_map(|p| p.disturbed).reduce(f64::max) {
            marks.push(Mark::Disturbed { others });
        }
        if measured && report.points.iter().any(|p| p.measured.is_none()) {
            marks.push(Mark::Incomplete);
        }
        Entry {
            id,
            format: FORMAT,
            name: format!("{}: {}", report.param, values.join(", ")),
            lab: report.lab,
            kind: Kind::Sweep,
            params: base.clone(),
            seed,
            saved_unix_ms,
            host: None,
            marks,
            figures: Vec::new(),
            run_id: None,
            body_bytes,
        }
    }

    /// Whether `other` is the same simulated run (same lab, parameters and seed): saved again, it replaces
    /// this one rather than adding a twin.
    pub fn same_simulation(&self, other: &Entry) -> bool {
        self.kind == Kind::Simulated
            && other.kind == Kind::Simulated
            && self.lab == other.lab
            && self.params == other.params
            && self.seed == other.seed
    }

    /// What the entry weighs in the history: its body, and a rough size of the entry itself.
    pub fn bytes(&self) -> u64 {
        self.body_bytes + 512 + 96 * self.figures.len() as u64
    }
}

/// The machine in a few words: "Intel Xeon … , 2 CPUs, Linux 6.18".
pub fn host_words(host: &crate::trace::HostInfo) -> String {
    let cpu = if host.cpu_model.is_empty() { String::new() } else { format!("{}, ", host.cpu_model) };
    format!("{cpu}{} CPUs, {}", host.n_cpus, host.kernel)
}

/// The parameters that differ from the lab's defaults, as `key=value` joined by commas ("defaults" for none).
pub fn default_name(lab: LabId, params: &ParamSet) -> String {
    let changed: Vec<String> = lab
        .info()
        .params
        .iter()
        .filter_map(|spec| {
            let value = params.get(spec.key)?;
            (spec.check(value).ok()? != spec.default_value()).then(|| format!("{}={value}", spec.key))
        })
        .collect();
    match changed.is_empty() {
        true => "defaults".to_owned(),
        false => changed.join(", "),
    }
}

/// The entries to evict so that the history is within `cap` bytes and [`MAX_ENTRIES`]: the oldest first, never
/// the newest.
pub fn to_evict(entries: &[Entry], cap: u64) -> Vec<u64> {
    let mut by_age: Vec<&Entry> = entries.iter().collect();
    by_age.sort_by_key(|e| e.id);
    let mut total: u64 = by_age.iter().map(|e| e.bytes()).sum();
    let mut count = by_age.len();
    let mut out = Vec::new();
    for entry in by_age.iter().take(by_age.len().saturating_sub(1)) {
        if total <= cap && count <= MAX_ENTRIES {
            break;
        }
        total -= entry.bytes();
        count -= 1;
        out.push(entry.id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamValue;

    fn entry(id: u64, body_bytes: u64) -> Entry {
        let trace = crate::lab::simulate(LabId::Lock, &ParamSet::new(), 1).expect("simulates");
        Entry::of_run(id, &trace, crate::lab::metrics(&trace), Kind::Measured, id, Vec::new(), body_bytes)
    }

    #[test]
    fn the_oldest_go_first_until_the_history_is_within_its_cap_and_never_the_newest() {
        let entries: Vec<Entry> = (1..=5).map(|id| entry(id, 1_000)).collect();
        let each = entries[0].bytes();
        assert_eq!(to_evict(&entries, 5 * each), Vec::<u64>::new());
        assert_eq!(to_evict(&entries, 3 * each), vec![1, 2]);
        assert_eq!(to_evict(&entries, 0), vec![1, 2, 3, 4], "the newest stays, whatever its size");
        let many: Vec<Entry> = (1..=(MAX_ENTRIES as u64 + 2)).map(|id| entry(id, 0)).collect();
        assert_eq!(to_evict(&many, u64::MAX), vec![1, 2]);
    }

    #[test]
    fn a_name_says_what_differs_from_the_defaults_and_a_simulation_saved_again_is_the_same() {
        assert_eq!(default_name(LabId::Lock, &ParamSet::new()), "defaults");
        let lock = LabId::Lock.validate(&ParamSet::from([("procs".to_owned(), ParamValue::Int(8))])).expect("valid");
        assert_eq!(default_name(LabId::Lock, &lock), "procs=8");
        let trace = crate::lab::simulate(LabId::Lock, &lock, 3).expect("simulates");
        let figures = crate::lab::metrics(&trace);
        let a = Entry::of_run(1, &trace, figures.clone(), Kind::Simulated, 10, Vec::new(), 0);
        let b = Entry::of_run(2, &trace, figures, Kind::Simulated, 20, Vec::new(), 0);
        assert!(a.same_simulation(&b) && a.run_id.is_some() && a.host.is_none());
        assert!(!a.same_simulation(&Entry { seed: 4, ..b.clone() }));
        assert!(!a.same_simulation(&Entry { kind: Kind::Measured, ..b }));
        let json = serde_json::to_string(&a).expect("serialises");
        assert_eq!(serde_json::from_str::<Entry>(&json).expect("reads back"), a);
    }
}
