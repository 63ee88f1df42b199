//! `syslab calibrate`: this machine's primitives (`shared::calibration::PRIMITIVES`), each measured by a lab's
//! own experiment with its repeats (so each comes as a median with its spread) or by a bare probe repeated the
//! same way (`crate::probe`), and stored in the user's data directory for the companion's later starts on this
//! host. The companion runs the same measurement as a queued run (`crate::runner::Work::Calibrate`).

use crate::experiment::{self, ExperimentError};
use shared::LabId;
use shared::calibration::{Calibration, Estimate, Measurements, Stored};
use shared::trace::HostInfo;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the calibration is kept: `$XDG_DATA_HOME/syslab/calibration.json`, else under `~/.local/share`.
pub fn store_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
    Some(data.join("syslab").join("calibration.json"))
}

/// This host's stored calibration, or why there is none to use.
pub fn load(here: &HostInfo) -> Stored {
    let text = store_path().and_then(|path| std::fs::read_to_string(path).ok());
    Stored::load(text.as_deref(), here)
}

/// How many times a probe is timed; each time is one sample of its median.
const PROBE_REPEATS: usize = 7;

/// The host's calibration as the companion holds it: replaced by a calibration run, watched by every connection.
pub type Shared = std::sync::Arc<tokio::sync::watch::Sender<Stored>>;

pub fn shared(stored: Stored) -> Shared {
    std::sync::Arc::new(tokio::sync::watch::Sender::new(stored))
}

/// Measures this host's primitives (every lab's, or `only` one's), from the source labs' experiments and the
/// probes, all in `base` (the probes' files in a directory of their own, removed after). A cancel stops it
/// between two measurements.
pub fn measure(
    base: &Path,
    exe: &Path,
    cancel: &experiment::CancelFlag,
    only: Option<LabId>,
) -> Result<Calibration, ExperimentError> {
    let started = Instant::now();
    let mut measured = Measurements::default();
    for source in shared::calibration::sources(only) {
        let lab = source.lab;
        tracing::info!(%lab, query = source.query, "calibrating: the lab's experiment");
        let given = shared::fidelity_grid::Point { lab, query: source.query }.params(&[])?;
        let params = lab.validate(&given)?;
        let run = experiment::run_headless(lab, &params, 1, base, exe, cancel, &|_, _| {})?;
        run.outcome?;
        let trace = run.trace.ok_or_else(|| ExperimentError::Worker(format!("the {lab} lab reported nothing")))?;
        measured.figures.insert(source, shared::lab::metrics(&trace));
    }
    let scratch = crate::scratch::Scratch::create(base, u64::from(std::process::id()) << 20)
        .map_err(ExperimentError::io("creating the probes' directory"))?;
    for p in shared::calibration::probes(only) {
        tracing::info!(probe = ?p, "calibrating: the probe");
        let mut samples = Vec::with_capacity(PROBE_REPEATS);
        for _ in 0..PROBE_REPEATS {
            if cancel.is_cancelled() {
                return Err(ExperimentError::Cancelled);
            }
            match crate::probe::sample(p, scratch.path()) {
                Ok(sample) => samples.push(sample),
                // What this host cannot do is said, and its models keep their references.
                Err(crate::probe::ProbeError::Unmeasurable(reason)) => {
                    tracing::warn!(probe = ?p, reason, "calibrating: not measurable here");
                    measured.unmeasurable.insert(p, reason.to_owned());
                    samples.clear();
                    break;
                }
                Err(e) => return Err(ExperimentError::Worker(e.to_string())),
            }
        }
        measured.probes.extend(Estimate::of(&samples).map(|estimate| (p, estimate)));
    }
    drop(scratch);
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "calibrated");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(Calibration::from_measurements(crate::host::describe(base), now, &measured))
}

/// Writes the calibration to `path` (where later starts find it, [`store_path`]).
pub fn store(calibration: &Calibration, path: Option<&Path>) -> Result<(), ExperimentError> {
    let path = path.ok_or_else(|| ExperimentError::Worker("no data directory: set XDG_DATA_HOME or HOME".into()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ExperimentError::io(format!("creating {}", dir.display())))?;
    }
    // Written aside and renamed: a start that reads it meanwhile finds the old file or the new, never half.
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, calibration.to_json())
        .map_err(ExperimentError::io(format!("writing {}", partial.display())))?;
    std::fs::rename(&partial, path).map_err(ExperimentError::io(format!("writing {}", path.display())))
}

/// Measures, stores and prints the calibration (as JSON with `json`).
pub fn run(json: bool) -> anyhow::Result<()> {
    let crate::cli::HeadlessSetup { base, cancel, exe } = crate::cli::HeadlessSetup::prepare()?;
    let calibration = measure(&base, &exe, &cancel, None);
    crate::state::close();
    let calibration = calibration?;
    let path = store_path();
    store(&calibration, path.as_deref())?;
    if json {
        println!("{}", calibration.to_json());
    } else {
        for (key, e) in &calibration.values {
            println!("{key:<32} {:>12.3} ± {:.3} ({} repeats)", e.value, e.spread, e.repeats);
        }
        for (key, reason) in &calibration.unmeasured {
            println!("{key:<32} not measurable here ({reason}): its reference value stays");
        }
        println!("stored in {}", path.unwrap_or_default().display());
    }
    Ok(())
}
