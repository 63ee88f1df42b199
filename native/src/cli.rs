//! `syslab run LAB ...`: the lab's parameters read from `--key value` words by the catalogue's declarations,
//! the real run with a progress bar, and a table of measured against simulated figures (or the trace as JSON).

use crate::experiment::{self, CancelFlag};
use crate::scratch;
use indicatif::{ProgressBar, ProgressStyle};
use shared::LabId;
use shared::lab::Progress;
use shared::lab::{metrics, simulate};
use shared::params::{ParamError, ParamSet};
use shared::trace::{Metric, Trace};

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArgs {
    pub lab: LabId,
    pub params: ParamSet,
    /// The parameters the command line named (the rest are defaults, or for a model parameter the calibration).
    pub given: ParamSet,
    pub seed: u64,
    pub json: bool,
    /// Only simulate: the model's figures and run id, nothing measured (`--simulate-only`).
    pub simulate_only: bool,
    /// Files to write the measured run to: `.csv` gets its metrics, anything else the Chrome Trace Event JSON
    /// (which the page imports).
    pub exports: Vec<std::path::PathBuf>,
}

/// Why the words after `run` were refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CliError {
    /// A lab or parameter error from the catalogue.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A word that is not `--key`.
    #[error("expected `--key value`, found `{0}`")]
    Unexpected(String),
    /// A `--key` with nothing after it.
    #[error("`--{0}` needs a value")]
    MissingValue(String),
    /// The seed is not a whole number.
    #[error("`--seed` must be a whole number, not `{0}`")]
    BadSeed(String),
    /// `syslab sweep`'s `--param` without its `=`.
    #[error("`--param` takes NAME=VALUES (`procs=1,2,4` or `procs=1..32:6:log`), not `{0}`")]
    SweepParam(String),
    /// The sweep itself was refused.
    #[error(transparent)]
    Sweep(#[from] shared::sweep::SweepError),
}

/// Parses `LAB [--key value | --key=value]... [--seed N] [--json] [--simulate-only] [--export FILE]...`; keys
/// may use `-` or `_`.
pub fn parse_run_args(lab: &str, words: &[String]) -> Result<RunArgs, CliError> {
    let lab = LabId::parse(lab)?;
    let info = lab.info();
    let mut given = ParamSet::new();
    let (mut seed, mut json, mut simulate_only, mut exports) = (1, false, false, Vec::new());
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--") else { return Err(CliError::Unexpected(word.clone())) };
        if flag == "json" {
            json = true;
            continue;
        }
        if flag == "simulate-only" {
            simulate_only = true;
            continue;
        }
        let (key, inline) = match flag.split_once('=') {
            Some((k, v)) => (k.replace('-', "_"), Some(v.to_owned())),
            None => (flag.replace('-', "_"), None),
        };
        let value = match inline {
            Some(v) => v,
            None => words.next().cloned().ok_or_else(|| CliError::MissingValue(key.clone()))?,
        };
        if key == "seed" {
            seed = value.parse().map_err(|_| CliError::BadSeed(value.clone()))?;
            continue;
        }
        if key == "export" {
            exports.push(value.into());
            continue;
        }
        let spec = info.params.iter().find(|s| s.key == key).ok_or_else(|| ParamError::UnknownParam {
            lab: lab.as_str().to_owned(),
            key: key.clone(),
            known: info.params.iter().map(|s| s.key.replace('_', "-")).collect::<Vec<_>>().join(", "),
        })?;
        given.insert(key, spec.parse_text(&value)?);
    }
    let params = lab.validate(&given)?;
    Ok(RunArgs { lab, params, given, seed, json, simulate_only, exports })
}

/// What a headless run outside the server needs: the scratch base (a dead companion's leftovers swept, the state
/// file open), a cancel flag that Ctrl-C and SIGTERM set, and this binary for the workers. `state::close` ends it.
#[derive(Debug)]
pub struct HeadlessSetup {
    pub base: std::path::PathBuf,
    pub cancel: CancelFlag,
    pub exe: std::path::PathBuf,
}

impl HeadlessSetup {
    pub fn prepare() -> anyhow::Result<HeadlessSetup> {
        use anyhow::Context;
        let base = scratch::default_base();
        crate::state::sweep(&base);
        scratch::remove_leftovers(&base);
        std::fs::create_dir_all(&base).context("creating the scratch base directory")?;
        crate::state::open(&base).context("starting the state file")?;
        let cancel = CancelFlag::default();
        watch_stop_signals(cancel.clone());
        Ok(HeadlessSetup { base, cancel, exe: experiment::current_exe()? })
    }
}

/// Runs the experiment headless. Ctrl-C or SIGTERM cancels it (workers killed, scratch removed).
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let (model, model_line) = model_params(args.lab, &args.given)?;
    if args.simulate_only {
        let simulated = simulate(args.lab, &model, args.seed)?;
        return write_out(args, &simulated, None, |trace| {
            Ok(format!("{}{model_line}{}", table(None, trace), run_id_line(trace)))
        });
    }
    let HeadlessSetup { base, cancel, exe } = HeadlessSetup::prepare()?;

    // What the bar counts is the lab's, read once; the position is kept up to date batch by batch, so a run of
    // a million events is never scanned whole for its progress.
    let counted = shared::lab::progress(args.lab, &args.params);
    let bar = progress_bar(args, counted);
    let position = std::sync::atomic::AtomicU64::new(0);
    let progress = |trace: &Trace, added: &[shared::Event]| {
        let at = counted.advance(position.load(std::sync::atomic::Ordering::Relaxed), added, trace.events.len() as u64);
        position.store(at, std::sync::atomic::Ordering::Relaxed);
        bar.set_position(at);
    };
    let run = experiment::run_headless(args.lab, &args.params, args.seed, &base, &exe, &cancel, &progress);
    bar.finish_and_clear();
    // The run's workers are gone, whatever happened: nothing for a later start to sweep.
    crate::state::close();
    let run = run.with_context(|| format!("running the {} lab", args.lab))?;
    run.outcome.with_context(|| format!("running the {} lab", args.lab))?;
    let measured = run.trace.context("the run reported nothing")?;
    let simulated = simulate(args.lab, &model, args.seed)?;
    write_out(args, &measured, Some(&simulated), |measured| {
        Ok(format!("{}{model_line}{}", table(Some(measured), &simulated), run_id_line(&simulated)))
    })
}

/// The parameters the simulated column runs: the command line's, and for the model parameters it does not name
/// this host's stored calibration; with the line saying which (or why the model keeps its reference values).
pub(crate) fn model_params(lab: LabId, given: &ParamSet) -> anyhow::Result<(ParamSet, String)> {
    use shared::calibration::Stored;
    let calibrated = |key: &&str| shared::calibration::is_calibrated(lab, key);
    let open: Vec<&str> =
        lab.info().params.iter().map(|s| s.key).filter(calibrated).filter(|k| !given.contains_key(*k)).collect();
    let params = lab.validate(given)?;
    if open.is_empty() {
        return Ok((params, String::new()));
    }
    let here = crate::host::describe(&scratch::default_base());
    Ok(match crate::calibrate::load(&here) {
        Stored::Calibrated { calibration } => {
            let params = lab.validate(&calibration.apply(lab, given))?;
            let used: Vec<String> = open.iter().map(|k| format!("{k} {}", params[*k])).collect();
            let day: String = shared::time::utc_rfc3339(calibration.measured_unix_ms).chars().take(10).collect();
            (params, format!("model calibrated on this machine, {day}: {}\n", used.join(", ")))
        }
        Stored::Missing => (
            params,
            "model: reference values measured elsewhere (this machine is not calibrated: run `syslab calibrate`)\n"
                .to_owned(),
        ),
        Stored::Refused { reason } => {
            (params, format!("model: reference values (the stored calibration is not used: {reason})\n"))
        }
    })
}

/// Writes the run shown (the measured one, or the simulated one with `--simulate-only`) to the exports (a CSV
/// sets the model's figures and errors beside a measured run's), then prints it as JSON with `--json` or as the
/// table `table` makes.
fn write_out(
    args: &RunArgs,
    trace: &Trace,
    simulated: Option<&Trace>,
    table: impl FnOnce(&Trace) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    for path in &args.exports {
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let contents = if is_csv {
            shared::export::metrics_csv(trace, simulated)
        } else {
            serde_json::to_string(&shared::export::chrome_trace(trace))?
        };
        std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        // Written as it is serialised: a run of a million events is about 80 MB of JSON.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        serde_json::to_writer(&mut out, trace)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
    print!("{}", table(trace)?);
    Ok(())
}

/// The bar counts what the lab's [`shared::lab::Progress`] says: the run's milliseconds, events of one kind, or
/// the events so far.
fn progress_bar(args: &RunArgs, counted: Progress) -> ProgressBar {
    let bar = |len: u64, unit: &str| {
        ProgressBar::new(len.max(1)).with_style(
            ProgressStyle::with_template(&format!("{{spinner}} {{msg:>8}} [{{bar:40}}] {{pos}}/{{len}} {unit}"))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    };
    let bar = match counted {
        Progress::Millis(ms) => bar(ms, "ms"),
        Progress::Counted { total, unit, .. } => bar(total, unit),
        Progress::Events => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg:>8} {pos} events, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(args.lab.as_str().to_owned());
    bar
}

/// The measured and simulated figures side by side, with the host and the notes; the simulated figures alone
/// when nothing was measured (`--simulate-only`).
pub fn table(measured: Option<&Trace>, simulated: &Trace) -> String {
    let s = metrics(simulated);
    let m = measured.map(metrics);
    let spans = measured.map_or(shared::fidelity::Spans::Same, |m| shared::fidelity::Spans::of(simulated, m));
    let rows = m.as_ref().unwrap_or(&s);
    let width = rows.iter().map(|x| x.label.to_string().chars().count()).max().unwrap_or(10).max(10);
    let mut out = String::new();
    if let Some(shared::Source::Measured { host, started_unix_ms }) = measured.map(|t| &t.run.source) {
        out += &format!("{} lab, run at {}\n", simulated.run.lab, shared::time::utc_rfc3339(*started_unix_ms));
        out += &provenance_lines(host);
    }
    let measured_column = |text: &str| if m.is_some() { format!("  {text:>24}") } else { String::new() };
    let error_column = |text: &str| if m.is_some() { format!("  {text:>9}") } else { String::new() };
    out += &format!("{:<width$}{}  {:>16}{}\n", "", measured_column("measured"), "simulated", error_column("error"));
    for metric in rows {
        let sim = s.iter().find(|x| x.key == metric.key).map_or_else(|| "—".to_owned(), Metric::display_value);
        let real = m.as_ref().and_then(|m| m.iter().find(|x| x.key == metric.key)).map(Metric::display_with_spread);
        // The model's signed error, marked `!` beyond ±15 %.
        let error = m.as_ref().and_then(|m| shared::fidelity::error_of(&s, m, &metric.key, spans));
        let error =
            error.map_or_else(String::new, |e| format!("{}{}", e.display(), if e.marked() { " !" } else { "  " }));
        out += &format!(
            "{:<width$}{}  {:>16}{}\n",
            metric.label,
            measured_column(real.as_deref().unwrap_or("")),
            sim,
            error_column(&error)
        );
    }
    if m.is_some() {
        out += "error: (simulated − measured) ÷ measured; `!` beyond ±15 %\n";
    }
    for note in &measured.unwrap_or(simulated).notes {
        out += &format!("note: {note}\n");
    }
    out
}

/// Where a measured figure came from, a line each ("  Kernel: Linux 6.18"), as the tables print it.
pub fn provenance_lines(host: &shared::trace::HostInfo) -> String {
    host.provenance().into_iter().map(|(_, label, value)| format!("  {label}: {value}\n")).collect()
}

/// The simulated run's short id, as the lab page shows it for the same parameters and seed.
pub fn run_id_line(simulated: &Trace) -> String {
    format!(
        "simulated run: id {}, seed {} (the lab page shows the same id for the same parameters and seed)\n",
        shared::golden::run_id(simulated),
        simulated.run.seed
    )
}

/// Cancels on Ctrl-C or SIGTERM, from a small thread of its own so the experiment's thread stays plain
/// blocking code: the workers are stopped and the scratch directory removed as after any cancel.
pub fn watch_stop_signals(cancel: CancelFlag) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            stop_signal().await;
            eprintln!("\ninterrupted: stopping the workers and removing the scratch directory");
            cancel.cancel();
        });
    });
}

/// Ctrl-C or SIGTERM, whichever comes first.
pub async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ParamValue;

    #[test]
    fn the_table_lines_its_columns_up() {
        let run = |seed| shared::lab::simulate(shared::LabId::Io, &shared::ParamSet::new(), seed).unwrap();
        let out = table(Some(&run(1)), &run(2));
        let rows: Vec<usize> = out.lines().filter(|l| !l.starts_with("error:")).map(|l| l.chars().count()).collect();
        assert!(rows.len() > 10, "{out}");
        // Two seeds of one model differ a little: every figure with a value on both sides has its error.
        let served = out.lines().find(|l| l.contains("messages served")).unwrap_or_default();
        assert!(served.contains(" %"), "no error column:\n{out}");
        assert!(rows.iter().all(|n| *n == rows[0]), "ragged columns:\n{out}");
        let alone = table(None, &run(2));
        let rows: Vec<usize> = alone.lines().map(|l| l.chars().count()).collect();
        assert!(rows.len() > 10 && rows.iter().all(|n| *n == rows[0]), "ragged columns:\n{alone}");
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_keys_with_dashes_or_underscores_and_equals() {
        let args =
            parse_run_args("lock", &words("--procs 8 --retry-us=50 --mode nonblocking --seed 9 --json")).unwrap();
        assert_eq!(args.params["procs"], ParamValue::Int(8));
        assert_eq!(args.params["retry_us"], ParamValue::Int(50));
        assert_eq!(args.params["mode"], ParamValue::Text("nonblocking".into()));
        assert_eq!((args.seed, args.json), (9, true));
    }

    #[test]
    fn bad_words_get_typed_errors() {
        assert!(matches!(parse_run_args("nope", &[]), Err(CliError::Param(ParamError::UnknownLab { .. }))));
        assert!(matches!(
            parse_run_args("lock", &words("--procs 65")),
            Err(CliError::Param(ParamError::OutOfRange { .. }))
        ));
        assert!(matches!(parse_run_args("lock", &words("--procs")), Err(CliError::MissingValue(_))));
        assert!(matches!(parse_run_args("lock", &words("procs 3")), Err(CliError::Unexpected(_))));
        assert!(matches!(
            parse_run_args("lock", &words("--colour red")),
            Err(CliError::Param(ParamError::UnknownParam { .. }))
        ));
    }
}
