//! The real Amdahl experiment: a compute loop calibrated to the requested one-thread time, its serial part run
//! on one thread and its parallel part split over n scoped threads, timed for n = 1..max, each repeated.
//! Everything runs inside the companion (threads, no files), streamed run by run.

use super::{CancelFlag, ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use shared::i18n::Text;
use shared::lab::amdahl::{AmdahlEvent, AmdahlParams, actors};
use shared::params::ParamSet;
use shared::trace::{ActorId, Event, EventKind};
use shared::{LabId, Nanos};
use std::hint::black_box;

/// No run of this lab may take longer than this in all; the rest is skipped and the notes say so.
const BUDGET_NS: u64 = 30_000_000_000;

/// The unit of work: a xorshift step, which no compiler can fold away through `black_box`.
fn spin(iterations: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// Nanoseconds per iteration of [`spin`] on one thread (the median of a few short timings).
pub fn calibrate() -> f64 {
    const ITERATIONS: u64 = 2_000_000;
    let mut samples: Vec<f64> = (0..5)
        .map(|i| {
            let t = monotonic_ns();
            spin(ITERATIONS, i + 1);
            (monotonic_ns() - t) as f64 / ITERATIONS as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2].max(1e-3)
}

/// How many steps [`spin_until_cancelled`] takes between looks at the cancel flag (some 100 µs).
const STEPS_PER_LOOK: u64 = 1 << 16;

/// [`spin`] in slices, looking at the cancel flag between them, so that a cancel stops a long piece of work
/// within a fraction of a millisecond. False if it was cancelled.
fn spin_until_cancelled(iterations: u64, seed: u64, cancel: &CancelFlag) -> bool {
    let mut left = iterations;
    while left > 0 {
        if cancel.is_cancelled() {
            return false;
        }
        let slice = left.min(STEPS_PER_LOOK);
        spin(slice, seed);
        left -= slice;
    }
    true
}

/// Runs `parallel` iterations split over `threads` scoped threads; returns when all are done or cancelled.
fn parallel_for(parallel: u64, threads: u32, cancel: &CancelFlag) {
    let threads = u64::from(threads.max(1));
    std::thread::scope(|scope| {
        for i in 0..threads {
            let share = parallel / threads + u64::from(i < parallel % threads);
            scope.spawn(move || spin_until_cancelled(share, i + 7, cancel));
        }
    });
}

experiment_entry!(AmdahlExperiment, Amdahl);

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    let p = AmdahlParams::parse(params)?;
    let ns_per_iteration = calibrate();
    let (serial, parallel) = p.split();
    let serial_iterations = (serial.0 as f64 / ns_per_iteration) as u64;
    let parallel_iterations = (parallel.0 as f64 / ns_per_iteration) as u64;
    ctx.started(LabId::Amdahl, params, seed, actors(Some(std::process::id())));
    let mut notes = vec![Text::new("note.amdahl.calibrated").with("ns", format!("{ns_per_iteration:.2}"))];
    let t0 = monotonic_ns();
    for threads in 1..=p.max_threads {
        for _ in 0..p.repeats {
            check(ctx.cancel)?;
            if monotonic_ns() - t0 > BUDGET_NS {
                notes.push(
                    Text::new("note.amdahl.budget").with("threads", threads).with("s", BUDGET_NS / 1_000_000_000),
                );
                return Ok(notes);
            }
            let start = monotonic_ns();
            spin_until_cancelled(serial_iterations, u64::from(threads), ctx.cancel);
            let mid = monotonic_ns();
            parallel_for(parallel_iterations, threads, ctx.cancel);
            let end = monotonic_ns();
            check(ctx.cancel)?;
            let event = AmdahlEvent::Run { threads, serial_ns: mid - start, parallel_ns: end - mid };
            (ctx.sink)(RunUpdate::Events(vec![Event {
                t: Nanos(end - t0),
                actor: ActorId(0),
                kind: EventKind::Amdahl(event),
            }]));
        }
    }
    if p.max_threads > ctx.host.n_cpus {
        notes.push(Text::new("note.amdahl.oversubscribed").with("cpus", ctx.host.n_cpus));
    }
    Ok(notes)
}

fn check(cancel: &CancelFlag) -> Result<(), ExperimentError> {
    if cancel.is_cancelled() { Err(ExperimentError::Cancelled) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_for_does_all_the_work_whatever_the_split() {
        // The shares add up to the whole, however the iterations divide: the timing relies on it.
        for (parallel, threads) in [(10u64, 3u32), (7, 7), (3, 8), (1_000_003, 4)] {
            let t = u64::from(threads);
            let total: u64 = (0..t).map(|i| parallel / t + u64::from(i < parallel % t)).sum();
            assert_eq!(total, parallel);
            parallel_for(parallel, threads, &CancelFlag::default());
        }
        let cancelled = CancelFlag::default();
        cancelled.cancel();
        assert!(!spin_until_cancelled(u64::MAX, 1, &cancelled), "a cancelled spin stops at once");
        assert!(calibrate() > 0.0);
    }
}
