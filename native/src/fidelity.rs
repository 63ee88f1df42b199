//! `syslab fidelity [--quick]`: every point of `shared::fidelity_grid` measured on this machine and simulated
//! with its stored calibration (reference values when there is none, said), then per point and headline figure
//! both values and the model's error, whether the measured run ran alone, and the share of figures within
//! ±15 % (of all, and of the runs that ran alone): how far the side-by-side can be trusted here. Each point is
//! measured twice, and the second run is set against the first as the model is: how far this machine agrees
//! with itself from one run to the next bounds what any model of it can reach. Each lab's primitives are also
//! calibrated afresh just before its points and the model run with those too ("fresh"): a shared machine's
//! caches and wake-ups move by a third within minutes here, so the stored calibration's error is the model's
//! and the machine's drift since, the fresh one's mostly the model's; how far each lab's primitives moved is
//! printed. The quick form (three points a lab, one repeat each) is what `cargo xtask bench` runs.

use crate::cli::HeadlessSetup;
use crate::experiment;
use anyhow::Context;
use shared::calibration::Calibration;
use shared::fidelity_grid::{self, Compared, Point};

/// Runs the grid and prints the table; returns the share within the mark (within, of).
pub fn run(quick: bool) -> anyhow::Result<(usize, usize)> {
    let HeadlessSetup { base, cancel, exe } = HeadlessSetup::prepare()?;
    let result = run_in(&base, &exe, &cancel, quick);
    crate::state::close();
    result
}

fn run_in(
    base: &std::path::Path,
    exe: &std::path::Path,
    cancel: &experiment::CancelFlag,
    quick: bool,
) -> anyhow::Result<(usize, usize)> {
    let stored = crate::calibrate::load(&crate::host::describe(base));
    let calibration = stored.calibration();
    match calibration {
        Some(c) => println!("models calibrated on this machine ({} values)", c.values.len()),
        None => println!("models at their reference values: this machine is not calibrated (`syslab calibrate`)"),
    }
    let points = if quick { fidelity_grid::quick() } else { fidelity_grid::GRID.to_vec() };
    // The quick form measures each point once; the full one with each lab's own repeats.
    let extra: &[(&str, &str)] = if quick { &[(shared::repeats::KEY, "1")] } else { &[] };
    let (mut all, mut undisturbed, mut retakes): (Vec<Compared>, Vec<Compared>, Vec<Compared>) = Default::default();
    let mut fresh_all: Vec<Compared> = Vec::new();
    let mut fresh: Option<(shared::LabId, Calibration)> = None;
    println!(
        "{:<9} {:<40} {:<28} {:>12} {:>12} {:>7}  {:>7}  {:>7}  ran",
        "lab", "point", "figure", "simulated", "measured", "error", "fresh", "again"
    );
    for point in points {
        if fresh.as_ref().is_none_or(|(lab, _)| *lab != point.lab) {
            let now = crate::calibrate::measure(base, exe, cancel, Some(point.lab))?;
            println!("{}", drift_line(point.lab, calibration, &now));
            fresh = Some((point.lab, now));
        }
        let afresh = fresh.as_ref().map(|(_, c)| c);
        let Measured { compared, fresh: compared_fresh, retake, disturbed } =
            compare_point(point, extra, (base, exe, cancel), (calibration, afresh))?;
        // A run other programs disturbed says so on every row: its error is not the model's alone.
        let ran = disturbed.map_or_else(|| "alone".to_owned(), |others| format!("others took {:.0} %", others * 100.0));
        for c in &compared {
            let mark = |e: shared::fidelity::ModelError| if e.marked() { "!" } else { " " };
            let query = if point.query.is_empty() { "(defaults)" } else { point.query };
            let again = retake.iter().find(|r| r.key == c.key).map(|r| r.error);
            let afresh = compared_fresh.iter().find(|r| r.key == c.key).map(|r| r.error);
            let shown = |e: Option<shared::fidelity::ModelError>| {
                (e.map_or_else(|| "—".to_owned(), |e| e.display()), e.map_or(" ", mark))
            };
            let ((fresh_error, fresh_mark), (again, again_mark)) = (shown(afresh), shown(again));
            println!(
                "{:<9} {:<40} {:<28} {:>12.4} {:>12.4} {:>7}{} {fresh_error:>7}{fresh_mark} {again:>7}{again_mark} {ran}",
                point.lab.as_str(),
                query,
                c.key,
                c.simulated,
                c.measured,
                c.error.display(),
                mark(c.error),
            );
        }
        retakes.extend(retake);
        fresh_all.extend(compared_fresh);
        if disturbed.is_none() {
            undisturbed.extend(compared.iter().cloned());
        }
        all.extend(compared);
    }
    let share = |compared: &[Compared]| {
        let (within, of) = fidelity_grid::share_within(compared);
        format!("{within} of {of} ({:.0} %)", 100.0 * within as f64 / of.max(1) as f64)
    };
    println!("within ±15 %: {} headline figures; `!` marks the others", share(&all));
    println!("within ±15 %, runs that ran alone only: {}", share(&undisturbed));
    println!("within ±15 %, each lab's model calibrated afresh before its points (\"fresh\"): {}", share(&fresh_all));
    println!(
        "the machine against itself (\"again\": a second run against the first): {} within ±15 %, the most a model \
         of it can reach",
        share(&retakes)
    );
    Ok(fidelity_grid::share_within(&all))
}

/// A point's figures: the model against the first run, the second run against the first, and the share of
/// the CPUs other programs took when they disturbed either run.
struct Measured {
    compared: Vec<Compared>,
    fresh: Vec<Compared>,
    retake: Vec<Compared>,
    disturbed: Option<f64>,
}

/// One point: measured twice with the reader's parameters, simulated with the stored calibration's model
/// constants and with the fresh one's.
fn compare_point(
    point: Point,
    extra: &[(&str, &str)],
    (base, exe, cancel): (&std::path::Path, &std::path::Path, &experiment::CancelFlag),
    (stored, fresh): (Option<&Calibration>, Option<&Calibration>),
) -> anyhow::Result<Measured> {
    let lab = point.lab;
    let given = point.params(extra)?;
    let simulate = |calibration: Option<&Calibration>| -> anyhow::Result<shared::Trace> {
        let model = lab.validate(&calibration.map_or_else(|| given.clone(), |c| c.apply(lab, &given)))?;
        Ok(shared::lab::simulate(lab, &model, 1)?)
    };
    let simulated = simulate(stored)?;
    let measure = || -> anyhow::Result<shared::Trace> {
        let run = experiment::run_headless(lab, &lab.validate(&given)?, 1, base, exe, cancel, &|_, _| {})?;
        run.outcome.with_context(|| format!("measuring {lab} at {:?}", point.query))?;
        run.trace.with_context(|| format!("the {lab} run reported nothing"))
    };
    let (first, second) = (measure()?, measure()?);
    let disturbed = [&first, &second].into_iter().filter_map(shared::alone::disturbance).reduce(f64::max);
    let compared = fidelity_grid::compare(&simulated, &first);
    let fresh =
        fresh.map(|c| simulate(Some(c))).transpose()?.map_or_else(Vec::new, |s| fidelity_grid::compare(&s, &first));
    // The figures the model is judged on, so that both shares are of the same figures.
    let retake =
        fidelity_grid::compare(&second, &first).into_iter().filter(|r| compared.iter().any(|c| c.key == r.key));
    Ok(Measured { retake: retake.collect(), compared, fresh, disturbed })
}

/// How far `lab`'s primitives moved from the stored calibration to the one just made, the most first.
fn drift_line(lab: shared::LabId, stored: Option<&Calibration>, now: &Calibration) -> String {
    let Some(stored) = stored else { return format!("{lab}: calibrated afresh (nothing stored to set it against)") };
    let mut moved: Vec<(f64, String)> = now
        .values
        .iter()
        // The fresh calibration also holds what its runs gave other labs (the methods lab's thread start is the
        // I/O model's too): only this lab's primitives are said.
        .filter(|(key, _)| key.strip_prefix(lab.as_str()).is_some_and(|rest| rest.starts_with('.')))
        .filter_map(|(key, e)| {
            let before = stored.values.get(key)?.value;
            (before > 0.0).then(|| ((e.value - before) / before, format!("{key} {before:.3} → {:.3}", e.value)))
        })
        .collect();
    moved.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let most: Vec<String> = moved.iter().take(3).map(|(r, what)| format!("{what} ({:+.0} %)", r * 100.0)).collect();
    if most.is_empty() {
        return format!("{lab}: calibrated afresh (no primitive of it in the stored calibration)");
    }
    format!("{lab}: calibrated afresh; the most moved since the stored calibration: {}", most.join(", "))
}
