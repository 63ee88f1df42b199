//! `syslab fidelity [--quick]`: every point of `shared::fidelity_grid` measured on this machine and simulated
//! with its stored calibration (reference values when there is none, said), then per point and headline figure
//! both values and the model's error, and the share of figures within ±15 %: how far the side-by-side can be
//! trusted here. The quick form (three points a lab, one repeat each) is what `cargo xtask bench` runs.

use crate::cli::HeadlessSetup;
use crate::experiment;
use anyhow::Context;
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
    let mut all: Vec<Compared> = Vec::new();
    println!("{:<9} {:<40} {:<28} {:>12} {:>12} {:>7}", "lab", "point", "figure", "simulated", "measured", "error");
    for point in points {
        let compared = compare_point(point, extra, (base, exe, cancel), calibration)?;
        for c in &compared {
            let mark = if c.error.marked() { " !" } else { "" };
            let query = if point.query.is_empty() { "(defaults)" } else { point.query };
            println!(
                "{:<9} {:<40} {:<28} {:>12.4} {:>12.4} {:>7}{mark}",
                point.lab.as_str(),
                query,
                c.key,
                c.simulated,
                c.measured,
                c.error.display()
            );
        }
        all.extend(compared);
    }
    let (within, of) = fidelity_grid::share_within(&all);
    println!(
        "within ±15 %: {within} of {of} headline figures ({:.0} %); `!` marks the others",
        100.0 * within as f64 / of.max(1) as f64
    );
    Ok((within, of))
}

/// One point: measured with the reader's parameters, simulated with the calibration's model constants.
fn compare_point(
    point: Point,
    extra: &[(&str, &str)],
    (base, exe, cancel): (&std::path::Path, &std::path::Path, &experiment::CancelFlag),
    calibration: Option<&shared::calibration::Calibration>,
) -> anyhow::Result<Vec<Compared>> {
    let lab = point.lab;
    let given = point.params(extra)?;
    let model = lab.validate(&calibration.map_or_else(|| given.clone(), |c| c.apply(lab, &given)))?;
    let simulated = shared::lab::simulate(lab, &model, 1)?;
    let run = experiment::run_headless(lab, &lab.validate(&given)?, 1, base, exe, cancel, &|_, _| {})?;
    run.outcome.with_context(|| format!("measuring {lab} at {:?}", point.query))?;
    let measured = run.trace.with_context(|| format!("the {lab} run reported nothing"))?;
    Ok(fidelity_grid::compare(lab, &shared::lab::metrics(&simulated), &shared::lab::metrics(&measured)))
}
