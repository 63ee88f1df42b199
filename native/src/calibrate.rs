//! `syslab calibrate`: this machine's primitives (`shared::calibration::PRIMITIVES`), each measured by a lab's
//! own experiment with its repeats (so each comes as a median with its spread) or by a bare probe repeated the
//! same way, and stored in the user's data directory for the companion's later starts on this host.

use crate::experiment;
use anyhow::Context;
use shared::calibration::{Calibration, Estimate, Measurements, Probe, Stored};
use shared::trace::HostInfo;
use std::path::PathBuf;
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

/// How many times a probe's loop is timed; each time is one sample of its median.
const PROBE_REPEATS: usize = 7;

/// Times one probe: `PROBE_REPEATS` loops, each its per-call cost in nanoseconds.
fn probe(probe: Probe) -> Option<Estimate> {
    let samples: Vec<f64> = (0..PROBE_REPEATS)
        .map(|_| match probe {
            Probe::Syscall => {
                const CALLS: u32 = 100_000;
                let start = Instant::now();
                for _ in 0..CALLS {
                    // rustix makes the system call itself (no libc cache), so this is one kernel entry a call.
                    std::hint::black_box(rustix::process::getppid());
                }
                start.elapsed().as_nanos() as f64 / f64::from(CALLS)
            }
        })
        .collect();
    Estimate::of(&samples)
}

/// Measures this host's primitives, from the source labs' experiments run in `base`.
pub fn measure(
    base: &std::path::Path,
    exe: &std::path::Path,
    cancel: &experiment::CancelFlag,
) -> anyhow::Result<Calibration> {
    let mut measured = Measurements::default();
    for lab in shared::calibration::source_labs() {
        eprintln!("calibrate: running the {lab} lab's experiment");
        let params = lab.validate(&shared::ParamSet::new())?;
        let run = experiment::run_headless(lab, &params, 1, base, exe, cancel, &|_, _| {});
        let run = run.with_context(|| format!("running the {lab} lab"))?;
        run.outcome.with_context(|| format!("running the {lab} lab"))?;
        let trace = run.trace.context("the run reported nothing")?;
        measured.figures.insert(lab, shared::lab::metrics(&trace));
    }
    for p in shared::calibration::probes() {
        measured.probes.extend(probe(p).map(|estimate| (p, estimate)));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(Calibration::from_measurements(crate::host::describe(base), now, &measured))
}

/// Writes the calibration where later starts find it; returns the path.
pub fn store(calibration: &Calibration) -> anyhow::Result<PathBuf> {
    let path = store_path().context("no data directory: set XDG_DATA_HOME or HOME")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, calibration.to_json()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Measures, stores and prints the calibration (as JSON with `json`).
pub fn run(json: bool) -> anyhow::Result<()> {
    let crate::cli::HeadlessSetup { base, cancel, exe } = crate::cli::HeadlessSetup::prepare()?;
    let calibration = measure(&base, &exe, &cancel);
    crate::state::close();
    let calibration = calibration?;
    let path = store(&calibration)?;
    if json {
        println!("{}", calibration.to_json());
    } else {
        for (key, e) in &calibration.values {
            println!("{key:<32} {:>12.3} ± {:.3} ({} repeats)", e.value, e.spread, e.repeats);
        }
        println!("stored in {}", path.display());
    }
    Ok(())
}
