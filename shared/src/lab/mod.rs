//! The labs' pure parts: one module per lab, each with its parameters, events, simulation model, metrics and the
//! state a view draws at a moment. This file holds the [`Lab`] trait they implement and the registry of them.

/// A lab module's registry entry: a unit type implementing [`Lab`] from the module's `INFO`, `QUESTIONS`,
/// `simulate`, `metrics` and its typed parameters' `parse`; a lab with trait items of its own (its `progress`)
/// passes them in braces.
macro_rules! lab_entry {
    ($name:ident, $params:ty $(, { $($own:tt)* })?) => {
        /// This lab in [`crate::lab::LABS`].
        #[derive(Debug)]
        pub struct $name;

        impl crate::lab::Lab for $name {
            fn info(&self) -> &'static crate::catalogue::LabInfo {
                &INFO
            }

            fn check(&self, params: &crate::params::ParamSet) -> Result<(), crate::params::ParamError> {
                <$params>::parse(params).map(drop)
            }

            fn simulate(
                &self,
                params: &crate::params::ParamSet,
                seed: u64,
            ) -> Result<crate::trace::Trace, crate::params::ParamError> {
                simulate(params, seed)
            }

            fn metrics(&self, trace: &crate::trace::Trace) -> Vec<crate::trace::Metric> {
                metrics(trace)
            }

            fn questions(&self) -> &'static [crate::predict::Question] {
                QUESTIONS
            }

            $($($own)*)?
        }
    };
}

pub mod amdahl;
pub mod io;
pub mod lock;
pub mod methods;
pub mod mmap;
pub mod pipeline;
pub mod watch;

use crate::catalogue::{LabId, LabInfo};
use crate::params::{ParamError, ParamSet};
use crate::predict::Question;
use crate::trace::{Event, EventKind, Metric, Trace};

/// A wait this short is spun whole by the real workers (`native::wait::SPIN_ALONE_NS` is this): it keeps its
/// CPU, where a longer one sleeps. The models that share CPUs charge such waits to one.
pub const SPIN: crate::time::Nanos = crate::time::Nanos(20_000);

/// The most events one simulated run may emit; beyond it the run stops and says so in its notes.
pub const MAX_SIM_EVENTS: usize = 200_000;

/// The most events a lab's real experiment records before it stops and says so in its notes. The companion
/// keeps a run whole until its client has it (about 40 bytes an event), so this also bounds its memory.
pub const MAX_RUN_EVENTS: u64 = 1_000_000;

/// A lab as the pure core knows it: what it is, its parameters, its model and how its figures come out of a trace,
/// simulated or measured alike. Every lab implements it once, and [`LABS`] lists them; everything lab-wide
/// (the catalogue, simulation, figures, questions, progress) goes through it, so a lab added here is added
/// everywhere the core reaches.
pub trait Lab: Sync {
    fn info(&self) -> &'static LabInfo;
    /// Reads `params` as the lab's typed parameters: validated against `info().params`, every choice known to
    /// the lab's enums. The catalogue's validation ends here, so a spec and its reader cannot disagree unseen.
    fn check(&self, params: &ParamSet) -> Result<(), ParamError>;
    /// The simulated run of parameters validated against `info().params`.
    fn simulate(&self, params: &ParamSet, seed: u64) -> Result<Trace, ParamError>;
    /// The lab's own figures of a trace (the wait report's are added by [`metrics`]).
    fn metrics(&self, trace: &Trace) -> Vec<Metric>;
    /// The question the page asks before a live run: see [`crate::predict`].
    fn questions(&self) -> &'static [Question];
    /// How a run's progress is counted: by default its clock against `duration_ms` where it has one, else its
    /// events.
    fn progress(&self, params: &ParamSet) -> Progress {
        match params.get("duration_ms") {
            Some(crate::ParamValue::Int(ms)) => Progress::Millis(u64::try_from(*ms).unwrap_or(0)),
            _ => Progress::Events,
        }
    }
    /// How many times a measured run repeats the workload end to end ([`crate::repeats`]): the `repeats`
    /// parameter where the lab has it; a lab that repeats inside its own run says 1.
    fn repeats(&self, params: &ParamSet) -> u32 {
        crate::repeats::asked(params)
    }
}

/// How a measured run's progress is counted, over all its repeats.
pub fn progress(lab: LabId, params: &ParamSet) -> Progress {
    let repeats = u64::from(lab.lab().repeats(params));
    match lab.lab().progress(params) {
        Progress::Millis(ms) => Progress::Millis(ms * repeats),
        Progress::Counted { total, unit, counts } => Progress::Counted { total: total * repeats, unit, counts },
        Progress::Events => Progress::Events,
    }
}

/// What a progress bar counts for a run.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// The run's clock in milliseconds, up to this many.
    Millis(u64),
    /// Events of one kind (`counts` says which), up to `total`, in `unit`s.
    Counted { total: u64, unit: &'static str, counts: fn(&EventKind) -> bool },
    /// Events, with no known end.
    Events,
}

impl Progress {
    /// Where a bar stands at `position` after `added` events of the run.
    pub fn advance(&self, position: u64, added: &[Event], events_so_far: u64) -> u64 {
        match self {
            Progress::Millis(_) => position.max(added.iter().map(|e| e.t.0).max().unwrap_or(0) / 1_000_000),
            Progress::Counted { counts, .. } => position + added.iter().filter(|e| counts(&e.kind)).count() as u64,
            Progress::Events => events_so_far,
        }
    }
}

/// Every lab, in [`LabId::ALL`]'s order (a test holds them to it).
pub static LABS: [&dyn Lab; 7] = [
    &lock::LockLab,
    &mmap::MmapLab,
    &watch::WatchLab,
    &io::IoLab,
    &pipeline::PipelineLab,
    &methods::MethodsLab,
    &amdahl::AmdahlLab,
];

impl LabId {
    /// This lab's implementation.
    pub fn lab(self) -> &'static dyn Lab {
        LABS[self as usize]
    }
}

/// Simulates `lab` with `params` (validated here) and `seed`.
pub fn simulate(lab: LabId, params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    let params = lab.validate(params)?;
    lab.lab().simulate(&params, seed)
}

/// The metrics of a trace, simulated or measured alike; a measured run's wait report and load add their own. A
/// run of several repeats has each figure of its repeats combined (their median and spread); whether it ran
/// alone is a figure of the whole run.
pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let lab = trace.run.lab.lab();
    let of_one = |run: &Trace| {
        let mut metrics = lab.metrics(run);
        metrics.extend(crate::waits::metrics(run));
        metrics
    };
    let mut metrics = match crate::repeats::count(trace) {
        1 => of_one(trace),
        _ => crate::repeats::combine(crate::repeats::split(trace).iter().map(of_one).collect()),
    };
    metrics.extend(crate::repeats::metric(trace));
    metrics.extend(crate::alone::metrics(trace));
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{ChoiceEnum, ParamKind, ParamValue, choice_texts};

    #[test]
    fn every_choice_of_every_lab_reads_as_its_lab_expects() {
        for lab in LABS {
            for spec in lab.info().params {
                let ParamKind::Choice { choices, .. } = spec.kind else { continue };
                for choice in choices {
                    let set = ParamSet::from([(spec.key.to_owned(), ParamValue::Text(choice.value.to_owned()))]);
                    assert_eq!(lab.check(&set), Ok(()), "{}: {} = {}", lab.info().id, spec.key, choice.value);
                }
            }
        }
    }

    #[test]
    fn the_choice_enums_have_exactly_their_specs_texts() {
        fn same<T: ChoiceEnum>(lab: LabId, key: &str) {
            let mut spec = choice_texts(lab.info().params, key);
            let mut texts = T::texts();
            spec.sort_unstable();
            texts.sort_unstable();
            assert_eq!(texts, spec, "{lab}: {key}");
        }
        same::<lock::AcquireMode>(LabId::Lock, "mode");
        same::<lock::Demo>(LabId::Lock, "demo");
        same::<crate::rng::Distribution>(LabId::Lock, "dist");
        same::<pipeline::Pattern>(LabId::Pipeline, "pattern");
        same::<crate::rng::Distribution>(LabId::Pipeline, "service");
    }

    #[test]
    fn the_registry_holds_every_lab_once_in_the_ids_order() {
        let ids: Vec<LabId> = LABS.iter().map(|lab| lab.info().id).collect();
        assert_eq!(ids, LabId::ALL.to_vec());
        for id in LabId::ALL {
            assert_eq!(id.lab().info().id, id);
        }
    }
}
