//! `syslab calibrate`: this machine's primitives (`shared::calibration::PRIMITIVES`), each measured by a lab's
//! own experiment with its repeats (so each comes as a median with its spread), and stored in the user's data
//! directory for the companion's later starts on this host.

use crate::experiment;
use anyhow::Context;
use shared::LabId;
use shared::calibration::{Calibration, PRIMITIVES};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Where the calibration is kept: `$XDG_DATA_HOME/syslab/calibration.json`, else under `~/.local/share`.
pub fn store_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
    Some(data.join("syslab").join("calibration.json"))
}

/// Measures, stores and prints the calibration (as JSON with `json`).
pub fn run(json: bool) -> anyhow::Result<()> {
    let crate::cli::HeadlessSetup { base, cancel, exe } = crate::cli::HeadlessSetup::prepare()?;
    let sources: BTreeSet<LabId> = PRIMITIVES.iter().map(|p| p.source).collect();
    let mut figures = BTreeMap::new();
    for lab in sources {
        eprintln!("calibrate: running the {lab} lab's experiment");
        let params = lab.validate(&shared::ParamSet::new())?;
        let run = experiment::run_headless(lab, &params, 1, &base, &exe, &cancel, &|_, _| {});
        let run = run.with_context(|| format!("running the {lab} lab"))?;
        run.outcome.with_context(|| format!("running the {lab} lab"))?;
        let trace = run.trace.context("the run reported nothing")?;
        figures.insert(lab, shared::lab::metrics(&trace));
    }
    crate::state::close();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let calibration = Calibration::from_figures(crate::host::describe(&base), now, &figures);
    let path = store_path().context("no data directory: set XDG_DATA_HOME or HOME")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, calibration.to_json()).with_context(|| format!("writing {}", path.display()))?;
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
