//! The labs' pure parts: one module per lab, each with its parameters, events, simulation model, metrics and the
//! state a view draws at a moment. This file only dispatches on the lab id.

pub mod amdahl;
pub mod io;
pub mod lock;
pub mod methods;
pub mod mmap;
pub mod pipeline;
pub mod watch;

use crate::catalogue::LabId;
use crate::params::{ParamError, ParamSet};
use crate::trace::{Metric, Trace};

/// The most events one simulated run may emit; beyond it the run stops and says so in its notes.
pub const MAX_SIM_EVENTS: usize = 200_000;

/// The most events a lab's real experiment records before it stops and says so in its notes. The companion
/// keeps a run whole until its client has it (about 40 bytes an event), so this also bounds its memory.
pub const MAX_RUN_EVENTS: u64 = 1_000_000;

/// Simulates `lab` with `params` (validated here) and `seed`.
pub fn simulate(lab: LabId, params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    let params = lab.validate(params)?;
    match lab {
        LabId::Lock => Ok(lock::simulate(&params, seed)),
        LabId::Amdahl => Ok(amdahl::simulate(&params, seed)),
        LabId::Methods => Ok(methods::simulate(&params, seed)),
        LabId::Mmap => Ok(mmap::simulate(&params, seed)),
        LabId::Watch => Ok(watch::simulate(&params, seed)),
        LabId::Io => Ok(io::simulate(&params, seed)),
        LabId::Pipeline => Ok(pipeline::simulate(&params, seed)),
    }
}

/// The metrics of a trace, simulated or measured alike; a measured run's wait report adds its own.
pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let mut metrics = lab_metrics(trace);
    metrics.extend(crate::waits::metrics(trace));
    metrics
}

fn lab_metrics(trace: &Trace) -> Vec<Metric> {
    match trace.run.lab {
        LabId::Lock => lock::metrics(trace),
        LabId::Amdahl => amdahl::metrics(trace),
        LabId::Methods => methods::metrics(trace),
        LabId::Mmap => mmap::metrics(trace),
        LabId::Watch => watch::metrics(trace),
        LabId::Io => io::metrics(trace),
        LabId::Pipeline => pipeline::metrics(trace),
    }
}
