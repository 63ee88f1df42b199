//! The grid `syslab fidelity` runs: each lab at its defaults, its "Try" suggestions and its extremes (think
//! time 0, 1 µs holds, 100 000 files, 1 000 sources, capacity 0, 1 and 8 threads, a cold cache), and the
//! headline figures compared at each point. Pure: the command runs the points and tallies what is within
//! [`crate::fidelity::MARKED_BEYOND`].

use crate::catalogue::LabId;
use crate::fidelity::ModelError;
use crate::params::{ParamError, ParamSet};
use crate::trace::Trace;

/// One point of the grid: a lab and its parameters as a permalink's query (`key=value&…`; the rest default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub lab: LabId,
    pub query: &'static str,
}

const fn at(lab: LabId, query: &'static str) -> Point {
    Point { lab, query }
}

/// The grid, lab by lab.
pub const GRID: &[Point] = &[
    at(LabId::Lock, ""),
    at(LabId::Lock, "procs=32"),
    at(LabId::Lock, "mode=nonblocking&retry_us=50"),
    at(LabId::Lock, "readers=50"),
    at(LabId::Lock, "think_us=0&hold_us=10"),
    at(LabId::Lock, "think_us=0&hold_us=1&procs=8"),
    at(LabId::Lock, "mode=lockfile"),
    at(LabId::Mmap, "size_mib=64"),
    at(LabId::Mmap, "size_mib=1"),
    at(LabId::Mmap, "size_mib=64&fraction_pct=100"),
    at(LabId::Mmap, "size_mib=64&pattern=strided"),
    at(LabId::Mmap, "size_mib=64&readahead=off"),
    at(LabId::Mmap, "size_mib=64&cache=cold"),
    at(LabId::Mmap, "mode=write&size_mib=64"),
    at(LabId::Mmap, "mode=write&size_mib=64&offset_kib=1024"),
    at(LabId::Watch, ""),
    at(LabId::Watch, "files=10000"),
    at(LabId::Watch, "files=100000&per_dir=1000"),
    at(LabId::Watch, "rate=1000&burst=16"),
    at(LabId::Watch, "interval_ms=10"),
    at(LabId::Watch, "changes=500&rate=500"),
    at(LabId::Io, ""),
    at(LabId::Io, "sources=1000"),
    at(LabId::Io, "sources=1"),
    at(LabId::Io, "work_us=0"),
    at(LabId::Io, "rate=50000"),
    at(LabId::Io, "poll_sleep_us=100"),
    at(LabId::Pipeline, ""),
    at(LabId::Pipeline, "capacity=0"),
    at(LabId::Pipeline, "capacity=1024"),
    at(LabId::Pipeline, "workers=1"),
    at(LabId::Pipeline, "workers=8"),
    at(LabId::Pipeline, "work_us=10&produce_us=0"),
    at(LabId::Pipeline, "pattern=parallel_for&workload=cpu&items=48&work_us=500"),
    at(LabId::Pipeline, "pattern=processes"),
    at(LabId::Methods, ""),
    at(LabId::Methods, "workers=1"),
    at(LabId::Methods, "workers=8"),
    at(LabId::Methods, "wait_us=0"),
    at(LabId::Methods, "compute_us=0"),
    at(LabId::Methods, "tasks=64"),
    at(LabId::Amdahl, ""),
    at(LabId::Amdahl, "parallel=0.5&max_threads=32"),
    at(LabId::Amdahl, "parallel=0.99"),
    at(LabId::Amdahl, "max_threads=1"),
    at(LabId::Amdahl, "parallel=0"),
    at(LabId::Amdahl, "work_ms=10"),
];

/// The points of the quick form: the first three of each lab, each measured once.
pub fn quick() -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    for point in GRID {
        if out.iter().filter(|p| p.lab == point.lab).count() < 3 {
            out.push(*point);
        }
    }
    out
}

/// The figures a lab's lesson is read from: a name, or `*suffix` for every figure whose key ends so.
fn headline(lab: LabId) -> &'static [&'static str] {
    match lab {
        LabId::Lock => &["throughput", "fairness"],
        LabId::Mmap => &["*_gbps"],
        LabId::Watch => &["*_p50", "poll_cpu_ratio"],
        LabId::Io => &["*_p50"],
        LabId::Pipeline => &["throughput", "p50", "*_speedup"],
        LabId::Methods => &["*_makespan", "*_p50"],
        LabId::Amdahl => &["best_speedup", "fitted_parallel"],
    }
}

/// Whether `key` is one of `lab`'s headline figures.
pub fn is_headline(lab: LabId, key: &str) -> bool {
    headline(lab).iter().any(|h| match h.strip_prefix('*') {
        Some(suffix) => key.ends_with(suffix),
        None => key == *h,
    })
}

impl Point {
    /// The point's parameters, each read as its lab's form reads it; `extra` pairs (the quick form's single
    /// repeat) are added.
    pub fn params(&self, extra: &[(&str, &str)]) -> Result<ParamSet, ParamError> {
        let pairs = self.query.split('&').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('='));
        let specs = self.lab.info().params;
        let mut set = ParamSet::new();
        for (key, text) in pairs.chain(extra.iter().copied()) {
            let spec = specs.iter().find(|s| s.key == key).ok_or_else(|| ParamError::UnknownParam {
                lab: self.lab.as_str().to_owned(),
                key: key.to_owned(),
                known: specs.iter().map(|s| s.key).collect::<Vec<_>>().join(", "),
            })?;
            set.insert(key.to_owned(), spec.parse_text(text)?);
        }
        Ok(set)
    }
}

/// One compared figure: its key, both values and the model's error.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub key: String,
    pub simulated: f64,
    pub measured: f64,
    pub error: ModelError,
}

/// The headline figures both runs of a point have, compared.
pub fn compare(simulated: &Trace, measured: &Trace) -> Vec<Compared> {
    let lab = measured.run.lab;
    let spans = crate::fidelity::Spans::of(simulated, measured);
    let simulated = crate::lab::metrics(simulated);
    crate::lab::metrics(measured)
        .into_iter()
        .filter(|m| is_headline(lab, &m.key))
        .filter_map(|m| {
            let sim = simulated.iter().find(|s| s.key == m.key)?;
            Some(Compared {
                key: m.key.clone(),
                simulated: sim.value?,
                measured: m.value?,
                error: crate::fidelity::error(sim, &m, spans)?,
            })
        })
        .collect()
}

/// How many compared figures are within the mark, of how many.
pub fn share_within(compared: &[Compared]) -> (usize, usize) {
    (compared.iter().filter(|c| !c.error.marked()).count(), compared.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_a_valid_run_and_every_lab_has_six() {
        for point in GRID {
            let set = point.params(&[]).unwrap_or_else(|e| panic!("{point:?}: {e}"));
            point.lab.validate(&set).unwrap_or_else(|e| panic!("{point:?}: {e}"));
        }
        for lab in LabId::ALL {
            assert!(GRID.iter().filter(|p| p.lab == lab).count() >= 6, "{lab}");
        }
        assert_eq!(quick().len(), 3 * LabId::ALL.len());
    }

    #[test]
    fn headlines_match_names_and_suffixes() {
        assert!(is_headline(LabId::Mmap, "mmap_seq_gbps"));
        assert!(is_headline(LabId::Lock, "throughput") && !is_headline(LabId::Lock, "wait_p50"));
        assert!(Point { lab: LabId::Lock, query: "nope=1" }.params(&[]).is_err());
    }
}
