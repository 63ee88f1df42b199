//! `syslab sweep LAB --param NAME=VALUES [--key value]… [--metric NAME] [--json] [--export FILE]…
//! [--simulate-only]`: one parameter stepped over its values (`shared::sweep`), each point simulated with this
//! host's calibration and measured as `syslab run` measures it, one after another, with a progress bar; then a
//! table of the chosen figure (simulated, measured with its spread, the model's error, whether the run ran
//! alone), or every figure as JSON. Ctrl-C or SIGTERM stops the point being measured and the sweep.

use crate::cli::{self, CliError, HeadlessSetup, RunArgs};
use crate::experiment;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use shared::sweep::{PointFigures, Sweep, SweepReport};
use shared::trace::Trace;

/// What the command line asked for: the run's own arguments (the other parameters, seed, output) and the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepArgs {
    pub run: RunArgs,
    pub sweep: Sweep,
    /// The figure the table shows (every figure is in the JSON).
    pub metric: String,
}

/// Parses the words after `sweep LAB`: `--param NAME=VALUES` (the lab's own sweep when it is left out),
/// `--metric NAME`, and everything `syslab run` takes for the other parameters.
pub fn parse_sweep_args(lab: &str, words: &[String]) -> Result<SweepArgs, CliError> {
    let (mut param, mut metric, mut rest) = (None, None, Vec::new());
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag == "--param" || flag == "--metric" => (flag, Some(value.to_owned())),
            _ => (word.as_str(), None),
        };
        if flag != "--param" && flag != "--metric" {
            rest.push(word.clone());
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => words.next().cloned().ok_or_else(|| CliError::MissingValue(flag[2..].to_owned()))?,
        };
        match flag {
            "--param" => param = Some(value),
            _ => metric = Some(value),
        }
    }
    let run = cli::parse_run_args(lab, &rest)?;
    let sweep = match param {
        Some(param) => {
            let (key, values) = param.split_once('=').ok_or(CliError::SweepParam(param.clone()))?;
            Sweep::new(run.lab, &key.replace('-', "_"), values, &run.given)?
        }
        None => Sweep::default_for(run.lab, &run.given)?,
    };
    if !run.simulate_only {
        sweep.check_measurable()?;
    }
    let metric = metric.unwrap_or_else(|| run.lab.info().sweep.metric.to_owned());
    Ok(SweepArgs { run, sweep, metric })
}

/// Simulates every point, checks the figure and the estimated time, measures the points unless only
/// simulating, and prints or writes the report.
pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let SweepArgs { run, sweep, metric } = args;
    let (lab, points) = (run.lab, sweep.points());
    let mut model_line = String::new();
    let mut simulated: Vec<Trace> = Vec::with_capacity(points.len());
    for point in &points {
        let (model, line) = cli::model_params(lab, point)?;
        simulated.push(shared::lab::simulate(lab, &model, run.seed)?);
        model_line = line;
    }
    shared::sweep::check_metric(metric, &shared::lab::metrics(&simulated[0]))?;
    let measured = match run.simulate_only {
        true => vec![None; points.len()],
        false => {
            let estimate = sweep.estimate(&simulated)?;
            eprintln!(
                "sweeping {} over {} points: about {:.0} s of runs by the model",
                sweep.param.key,
                points.len(),
                estimate.0 as f64 / 1e9
            );
            measure_points(args, &points)?.into_iter().map(Some).collect()
        }
    };
    let report = SweepReport {
        lab,
        param: sweep.param.key.to_owned(),
        metric: metric.clone(),
        points: sweep
            .values
            .iter()
            .zip(&simulated)
            .zip(&measured)
            .map(|((value, sim), real)| PointFigures::of(value, sim, real.as_ref()))
            .collect(),
    };
    for path in &run.exports {
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let contents = if is_csv { report.csv() } else { serde_json::to_string_pretty(&report)? };
        std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    match run.json {
        true => println!("{}", serde_json::to_string(&report)?),
        false => {
            let first_measured = measured.first().and_then(Option::as_ref);
            print!("{}{model_line}", table(&report, &simulated[0], first_measured))
        }
    }
    Ok(())
}

/// Measures each point in turn (the repeats its parameters ask for), a bar counting the points.
fn measure_points(args: &SweepArgs, points: &[shared::ParamSet]) -> anyhow::Result<Vec<Trace>> {
    let lab = args.run.lab;
    let HeadlessSetup { base, cancel, exe } = HeadlessSetup::prepare()?;
    let bar = ProgressBar::new(points.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} {msg:>24} [{bar:40}] {pos}/{len} points, {elapsed} (about {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut measured = Vec::with_capacity(points.len());
    let result = points.iter().zip(&args.sweep.values).try_for_each(|(point, value)| {
        bar.set_message(format!("{}={value}", args.sweep.param.key));
        let params = lab.validate(point)?;
        let run = experiment::run_headless(lab, &params, args.run.seed, &base, &exe, &cancel, &|_, _| {})?;
        run.outcome.with_context(|| format!("measuring {lab} at {}={value}", args.sweep.param.key))?;
        measured.push(run.trace.with_context(|| format!("the {lab} run at {value} reported nothing"))?);
        bar.inc(1);
        anyhow::Ok(())
    });
    bar.finish_and_clear();
    // The points' workers are gone, whatever happened: nothing for a later start to sweep.
    crate::state::close();
    result.map(|()| measured)
}

/// The chosen figure at each point: simulated, measured with its spread, the error (`!` beyond ±15 %), and
/// whether the run ran alone; under the provenance of the measured runs (the first one's: they ran on one host
/// with one binary).
fn table(report: &SweepReport, first: &Trace, first_measured: Option<&Trace>) -> String {
    let metric = &report.metric;
    let label = shared::lab::metrics(first).into_iter().find(|m| m.key == *metric);
    let shown = |value: Option<f64>| match (&label, value) {
        (Some(m), Some(v)) => shared::trace::Metric { value: Some(v), spread: None, ..m.clone() }.display_value(),
        _ => "—".to_owned(),
    };
    let measured = report.points.iter().any(|p| p.measured.is_some());
    let title = label.as_ref().map_or_else(|| metric.clone(), |m| m.label.to_string());
    let mut out = format!("{} lab: {title} against {}\n", report.lab, report.param);
    if let Some(shared::Source::Measured { host, .. }) = first_measured.map(|t| &t.run.source) {
        out += &cli::provenance_lines(host);
    }
    out += &format!("{:>12}  {:>16}", report.param, "simulated");
    if measured {
        out += &format!("  {:>28}  {:>9}  ran", "measured", "error");
    }
    out += "\n";
    for point in &report.points {
        out += &format!("{:>12}  {:>16}", point.value.to_string(), shown(point.simulated.get(metric).copied()));
        if let Some(real) = &point.measured {
            let spread = point.spread.get(metric).map_or_else(String::new, |s| format!(" ± {}", shown(Some(*s))));
            let value = format!("{}{spread}", shown(real.get(metric).copied()));
            let error = point.error.get(metric).map(|e| shared::fidelity::ModelError(*e));
            let error =
                error.map_or_else(String::new, |e| format!("{}{}", e.display(), if e.marked() { " !" } else { "  " }));
            let ran = point.disturbed.map_or_else(|| "alone".to_owned(), |o| format!("others took {:.0} %", o * 100.0));
            out += &format!("  {value:>28}  {error:>9}  {ran}");
        }
        out += "\n";
    }
    if measured {
        out += "error: (simulated − measured) ÷ measured; `!` beyond ±15 %\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::sweep::SweepError;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_the_sweep_beside_the_runs_own_words() {
        let args =
            parse_sweep_args("lock", &words("--param procs=1..8:4 --think-us 0 --metric=fairness --json")).unwrap();
        assert_eq!(args.sweep.param.key, "procs");
        assert_eq!(args.sweep.values.len(), 4);
        assert_eq!(args.sweep.base.get("think_us"), Some(&shared::ParamValue::Int(0)));
        assert_eq!((args.metric.as_str(), args.run.json), ("fairness", true));
        let default = parse_sweep_args("lock", &[]).unwrap();
        assert_eq!((default.sweep.param.key, default.metric.as_str()), ("procs", "throughput"));
    }

    #[test]
    fn bad_sweeps_are_typed_errors() {
        let err = |s: &str| parse_sweep_args("lock", &words(s)).unwrap_err();
        assert!(matches!(err("--param procs"), CliError::SweepParam(_)));
        assert!(matches!(err("--param"), CliError::MissingValue(_)));
        assert!(matches!(err("--param procs=1,99"), CliError::Sweep(SweepError::Param(_))));
        assert!(matches!(err("--param wake-us=1,2"), CliError::Sweep(SweepError::ModelOnly { .. })));
        assert!(parse_sweep_args("lock", &words("--param wake-us=1,2 --simulate-only")).is_ok());
    }

    #[test]
    fn the_table_shows_the_chosen_figure_at_every_point() {
        let args = parse_sweep_args("lock", &words("--param procs=1,2,4 --simulate-only")).unwrap();
        let sims: Vec<Trace> =
            args.sweep.points().iter().map(|p| shared::lab::simulate(shared::LabId::Lock, p, 1).unwrap()).collect();
        let points = args.sweep.values.iter().zip(&sims).map(|(v, s)| PointFigures::of(v, s, Some(s))).collect();
        let report =
            SweepReport { lab: shared::LabId::Lock, param: "procs".into(), metric: "throughput".into(), points };
        let out = table(&report, &sims[0], None);
        assert_eq!(out.lines().filter(|l| l.contains("/s")).count(), 3, "{out}");
        assert!(out.contains("+0.0 %") || out.contains("0 %"), "{out}");
    }
}
