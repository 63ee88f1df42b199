//! This machine's primitives as the models take them: a typed, versioned record of what `syslab calibrate`
//! measured (each figure a median with its spread over repeats, in the unit of the model parameter it stands
//! for), with the host it was measured on and when. Pure: the companion measures and stores it; here it is
//! read, checked against the host it would be used on, and turned into the parameters a simulation takes.

use crate::catalogue::LabId;
use crate::i18n::Text;
use crate::params::{ParamSet, ParamValue};
use crate::trace::{HostInfo, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod primitives;
mod probe;
pub use primitives::*;
pub use probe::Probe;

/// The version this build writes and reads; a file of another is refused, not guessed at. It moves when the
/// primitives do (3: the small file's faults, the random page, notify's watch set-up per entry), so no model
/// mixes a calibration with reference values for what it did not measure.
pub const VERSION: u32 = 3;

/// One measured primitive: the median over the repeats, half their range, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub spread: f64,
    pub repeats: u32,
}

impl Estimate {
    /// The estimate of repeated samples: their median, half their range, how many.
    pub fn of(samples: &[f64]) -> Option<Estimate> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (low, high) = (*sorted.first()?, *sorted.last()?);
        Some(Estimate {
            value: crate::repeats::median(&sorted)?,
            spread: (high - low) / 2.0,
            repeats: sorted.len() as u32,
        })
    }
}

/// What `syslab calibrate` measured on a host: model parameters by `lab.parameter` (`methods.process_start_us`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub version: u32,
    pub host: HostInfo,
    pub measured_unix_ms: u64,
    pub values: BTreeMap<String, Estimate>,
    /// The parameters this host could not measure, by key, with the reason (a cache the kernel would not
    /// drop): their models keep the reference values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmeasured: BTreeMap<String, String>,
}

/// Why a stored calibration is not used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrationError {
    #[error("the calibration file is not readable: {0}")]
    Corrupt(String),
    #[error("the calibration file is of version {found}; this syslab reads version {VERSION}: calibrate again")]
    Version { found: u32 },
    #[error("the calibration's {key} is {value}, which no machine measures: calibrate again")]
    Absurd { key: String, value: f64 },
    #[error("the calibration was measured on another machine ({measured}), not this one ({here}): calibrate again")]
    OtherHost { measured: String, here: String },
}

/// What a calibration measured, before it becomes model parameters: each source lab's figures and each probe.
#[derive(Debug, Clone, Default)]
pub struct Measurements {
    pub figures: BTreeMap<Source, Vec<Metric>>,
    pub probes: BTreeMap<Probe, Estimate>,
    /// The probes this host could not time, and why.
    pub unmeasurable: BTreeMap<Probe, String>,
}

impl Calibration {
    /// The calibration of `host` at `measured_unix_ms` from what was measured.
    pub fn from_measurements(host: HostInfo, measured_unix_ms: u64, measured: &Measurements) -> Self {
        let values = PRIMITIVES
            .iter()
            .filter_map(|p| {
                let estimate = match p.from {
                    Origin::Figure { source, metric, derive } => {
                        let run = measured.figures.get(&source)?;
                        let figure = run.iter().find(|m| m.key == metric)?;
                        // A run of several repeats says how many; a run of one has no such figure.
                        let repeats =
                            run.iter().find(|m| m.key == "repeats").and_then(|m| m.value).map_or(1, |n| n as u32);
                        let (value, spread) = (figure.value?, figure.spread.unwrap_or(0.0));
                        Estimate { value: derive.apply(value), spread: derive.spread(value, spread), repeats }
                    }
                    Origin::HostCpus => Estimate { value: f64::from(host.n_cpus), spread: 0.0, repeats: 1 },
                    Origin::Probe(probe) => *measured.probes.get(&probe)?,
                };
                Some((p.key(), estimate))
            })
            .collect();
        let unmeasured = PRIMITIVES
            .iter()
            .filter_map(|p| match p.from {
                Origin::Probe(probe) => Some((p.key(), measured.unmeasurable.get(&probe)?.clone())),
                _ => None,
            })
            .collect();
        Calibration { version: VERSION, host, measured_unix_ms, values, unmeasured }
    }

    /// Reads a stored calibration for use on `here`: refused when it is damaged, of another version, or
    /// measured on another machine (kernel, CPU model or count differ), or holding a figure no machine measures.
    pub fn read(text: &str, here: &HostInfo) -> Result<Calibration, CalibrationError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let versioned: Versioned = serde_json::from_str(text).map_err(|e| CalibrationError::Corrupt(e.to_string()))?;
        if versioned.version != VERSION {
            return Err(CalibrationError::Version { found: versioned.version });
        }
        let calibration: Calibration =
            serde_json::from_str(text).map_err(|e| CalibrationError::Corrupt(e.to_string()))?;
        for (key, e) in &calibration.values {
            // A cost or a count is finite and not negative; a median comes from at least one repeat.
            let sane = |x: f64| x.is_finite() && x >= 0.0;
            if !sane(e.value) || !sane(e.spread) || e.repeats == 0 {
                let value = if sane(e.value) { e.spread } else { e.value };
                return Err(CalibrationError::Absurd { key: key.clone(), value });
            }
        }
        let machine = |h: &HostInfo| format!("{}, {} × {}", h.kernel, h.n_cpus, h.cpu_model);
        if machine(&calibration.host) != machine(here) {
            return Err(CalibrationError::OtherHost { measured: machine(&calibration.host), here: machine(here) });
        }
        Ok(calibration)
    }

    pub fn to_json(&self) -> String {
        // Numbers, strings and maps of them always serialise.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// `lab`'s parameters with this calibration's values for the model parameters `given` does not name: what
    /// the simulated column runs by default.
    pub fn apply(&self, lab: LabId, given: &ParamSet) -> ParamSet {
        let mut params = self.params_for(lab);
        params.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        params
    }

    /// What the page says beside a calibrated parameter: where and when it was measured, and how precisely.
    pub fn mark(&self, lab: LabId, key: &str) -> Option<Text> {
        let estimate = self.values.get(&format!("{lab}.{key}"))?;
        let day: String = crate::time::utc_rfc3339(self.measured_unix_ms).chars().take(10).collect();
        Some(
            Text::new("ui.calibration.mark")
                .with("host", format!("{} × {}", self.host.cpu_model, self.host.n_cpus))
                .with("date", day)
                .with("value", format!("{:.3}", estimate.value))
                .with("spread", format!("{:.3}", estimate.spread))
                .with("repeats", estimate.repeats),
        )
    }

    /// What the page says beside a parameter this host could not measure: why, and that the reference stays.
    pub fn unmeasured_note(&self, lab: LabId, key: &str) -> Option<Text> {
        let reason = self.unmeasured.get(&format!("{lab}.{key}"))?;
        Some(Text::new("ui.calibration.unmeasured").with("reason", reason))
    }

    /// The parameters `lab`'s model takes from this calibration: rounded to a whole parameter's units, to two
    /// decimals for a fractional one, within the parameter's range.
    pub fn params_for(&self, lab: LabId) -> ParamSet {
        use crate::params::ParamKind;
        PRIMITIVES
            .iter()
            .filter(|p| p.lab == lab)
            .filter_map(|p| {
                let estimate = self.values.get(&p.key())?;
                let spec = lab.info().params.iter().find(|s| s.key == p.param)?;
                let value = match spec.kind {
                    ParamKind::Int { min, max, .. } => {
                        ParamValue::Int((libm::round(estimate.value) as i64).clamp(min, max))
                    }
                    ParamKind::Float { min, max, .. } => {
                        ParamValue::Float((libm::round(estimate.value * 100.0) / 100.0).clamp(min, max))
                    }
                    ParamKind::Choice { .. } => return None,
                };
                Some((p.param.to_owned(), value))
            })
            .collect()
    }
}

impl CalibrationError {
    /// The reason in words the page's reader's language can say.
    pub fn text(&self) -> Text {
        match self {
            CalibrationError::Corrupt(detail) => Text::new("error.calibration.corrupt").with("detail", detail),
            CalibrationError::Version { found } => {
                Text::new("error.calibration.version").with("found", found).with("version", VERSION)
            }
            CalibrationError::Absurd { key, value } => {
                Text::new("error.calibration.absurd").with("key", key).with("value", value)
            }
            CalibrationError::OtherHost { measured, here } => {
                Text::new("error.calibration.other_host").with("measured", measured).with("here", here)
            }
        }
    }
}

/// What the companion has for its host, as it says in hello: the page's models use it by default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Stored {
    /// Nothing stored: the models keep their reference defaults.
    #[default]
    Missing,
    Calibrated {
        calibration: Calibration,
    },
    /// A stored calibration was not used, and why.
    Refused {
        reason: Text,
    },
}

impl Stored {
    /// The state of a store file's text (`None`: no file) for use on `here`.
    pub fn load(text: Option<&str>, here: &HostInfo) -> Stored {
        match text.map(|text| Calibration::read(text, here)) {
            None => Stored::Missing,
            Some(Ok(calibration)) => Stored::Calibrated { calibration },
            Some(Err(err)) => Stored::Refused { reason: err.text() },
        }
    }

    pub fn calibration(&self) -> Option<&Calibration> {
        match self {
            Stored::Calibrated { calibration } => Some(calibration),
            _ => None,
        }
    }
}

/// Whether `key` of `lab` is a model parameter a calibration sets.
pub fn is_calibrated(lab: LabId, key: &str) -> bool {
    PRIMITIVES.iter().any(|p| p.lab == lab && p.param == key)
}

#[cfg(test)]
mod tests {
    use super::primitives::{LOCK_PAIR, METHODS};
    use super::*;
    use crate::trace::Unit;
    use std::collections::BTreeSet;

    fn host(cpus: u32) -> HostInfo {
        HostInfo {
            kernel: "Linux 6.1".into(),
            n_cpus: cpus,
            scratch_fs: "ext4 (/tmp)".into(),
            companion_version: "0.1.0".into(),
            cpu_model: "Test CPU".into(),
            page_size: 4096,
            inotify_max_user_watches: None,
            open_files_limit: None,
            debug_build: false,
        }
    }

    fn calibration() -> Calibration {
        let figure = |key: &str, ns: f64| Metric {
            spread: Some(ns / 10.0),
            ..Metric::new(key, Text::Literal(key.into()), Unit::Nanos, Some(ns))
        };
        let repeats = Metric::new("repeats", Text::Literal("repeats".into()), Unit::Count, Some(3.0));
        let rate = Metric {
            spread: Some(2_000.0),
            ..Metric::new("throughput", Text::Literal("throughput".into()), Unit::PerSecond, Some(66_000.0))
        };
        let figures = BTreeMap::from([
            (METHODS, vec![figure("process_start_p50", 812_400.0), figure("thread_start_p50", 41_700.0), repeats]),
            (LOCK_PAIR, vec![rate]),
        ]);
        let probes = BTreeMap::from([
            (Probe::EmptyRead, Estimate { value: 87.0, spread: 2.0, repeats: 5 }),
            (Probe::Scan, Estimate { value: 6.4321, spread: 0.2, repeats: 7 }),
        ]);
        let unmeasurable = BTreeMap::from([(Probe::ColdRead, "the kernel kept the file's pages".to_owned())]);
        Calibration::from_measurements(host(2), 1_700_000_000_000, &Measurements { figures, probes, unmeasurable })
    }

    #[test]
    fn what_the_host_cannot_measure_keeps_its_reference_and_says_why() {
        let c = calibration();
        assert!(!c.values.contains_key("mmap.disk_mbps"));
        assert!(!c.params_for(LabId::Mmap).contains_key("disk_mbps"), "the reference stays");
        let note = c.unmeasured_note(LabId::Mmap, "disk_mbps").map(|t| t.to_string());
        assert!(note.as_deref().is_some_and(|n| n.contains("the kernel kept the file's pages")), "{note:?}");
        assert_eq!(c.unmeasured_note(LabId::Mmap, "scan_gbps"), None, "measured");
        assert_eq!(Calibration::read(&c.to_json(), &host(2)), Ok(c.clone()), "kept in the stored file");
    }

    #[test]
    fn figures_become_model_parameters_in_their_units() {
        let c = calibration();
        let start = c.values["methods.process_start_us"];
        assert!((start.value - 812.4).abs() < 1e-9 && (start.spread - 81.24).abs() < 1e-9, "{start:?}");
        assert_eq!(start.repeats, 3);
        assert_eq!(c.params_for(LabId::Methods)["process_start_us"], ParamValue::Int(812));
        assert_eq!(c.params_for(LabId::Pipeline)["spawn_us"], ParamValue::Int(42));
        assert_eq!(c.params_for(LabId::Lock)["cpus"], ParamValue::Int(2), "the lock model's CPUs are the host's");
        // 66 000 turns a second of a 10 µs hold: 15.15 µs a turn, 5.15 µs of it the loop's own.
        let turn = c.values["lock.turn_ns"];
        assert!((turn.value - 5_151.5).abs() < 1.0 && (turn.spread - 459.1).abs() < 1.0, "{turn:?}");
        assert!(!c.values.contains_key("lock.slice_us"), "a figure the run lacks sets nothing");
        assert_eq!(c.params_for(LabId::Amdahl)["cores"], ParamValue::Int(2), "the host's CPUs");
        assert_eq!(c.params_for(LabId::Io)["syscall_ns"], ParamValue::Int(87), "the probe");
        assert_eq!(c.params_for(LabId::Mmap)["scan_gbps"], ParamValue::Float(6.43), "a bandwidth to two decimals");
        assert!(!c.params_for(LabId::Mmap).contains_key("copy_gbps"), "a probe not measured sets nothing");
    }

    #[test]
    fn the_reader_s_own_values_win_over_the_calibration() {
        let c = calibration();
        let given = ParamSet::from([("thread_start_us".to_owned(), ParamValue::Int(7))]);
        let applied = c.apply(LabId::Methods, &given);
        assert_eq!(
            (applied["thread_start_us"].clone(), applied["process_start_us"].clone()),
            (ParamValue::Int(7), ParamValue::Int(812))
        );
        let mark = c.mark(LabId::Methods, "process_start_us").map(|t| t.to_string()).unwrap_or_default();
        assert!(mark.contains("Test CPU × 2") && mark.contains("2023-11-14") && mark.contains("812.400"), "{mark}");
        assert!(c.mark(LabId::Methods, "samples").is_none());
    }

    #[test]
    fn the_stored_state_says_why_a_file_is_not_used() {
        let c = calibration();
        assert_eq!(Stored::load(None, &host(2)), Stored::Missing);
        assert_eq!(Stored::load(Some(&c.to_json()), &host(2)).calibration(), Some(&c));
        let Stored::Refused { reason } = Stored::load(Some(&c.to_json()), &host(4)) else { panic!("used elsewhere") };
        assert!(reason.to_string().contains("another machine"), "{reason}");
    }

    #[test]
    fn a_stored_calibration_is_read_back_on_its_host_only() {
        let c = calibration();
        assert_eq!(Calibration::read(&c.to_json(), &host(2)), Ok(c.clone()));
        assert!(matches!(Calibration::read(&c.to_json(), &host(8)), Err(CalibrationError::OtherHost { .. })));
        assert!(matches!(Calibration::read("{not json", &host(2)), Err(CalibrationError::Corrupt(_))));
        let other = |v: u32| c.to_json().replace(&format!("\"version\": {VERSION}"), &format!("\"version\": {v}"));
        assert_eq!(
            Calibration::read(&other(VERSION + 1), &host(2)),
            Err(CalibrationError::Version { found: VERSION + 1 })
        );
        // An older file lacks primitives this build's models take: refused, not mixed with reference values.
        assert_eq!(
            Calibration::read(&other(VERSION - 1), &host(2)),
            Err(CalibrationError::Version { found: VERSION - 1 })
        );
        let mut absurd = c.clone();
        absurd.values.insert("io.wake_us".into(), Estimate { value: -3.0, spread: 0.0, repeats: 3 });
        assert!(
            matches!(Calibration::read(&absurd.to_json(), &host(2)), Err(CalibrationError::Absurd { value, .. }) if value == -3.0)
        );
        absurd.values.insert("io.wake_us".into(), Estimate { value: 3.0, spread: 0.0, repeats: 0 });
        assert!(matches!(Calibration::read(&absurd.to_json(), &host(2)), Err(CalibrationError::Absurd { .. })));
    }

    #[test]
    fn every_primitive_names_a_parameter_of_its_lab() {
        for p in PRIMITIVES {
            assert!(p.lab.info().params.iter().any(|s| s.key == p.param), "{}.{}", p.lab, p.param);
        }
    }

    #[test]
    fn a_lab_is_calibrated_by_the_runs_and_probes_its_own_primitives_need() {
        use crate::catalogue::LabId;
        // The I/O model's thread start is the methods lab's figure: its calibration runs that lab too.
        assert!(sources(Some(LabId::Io)).iter().any(|s| s.lab == LabId::Methods));
        assert!(probes(Some(LabId::Lock)).contains(&Probe::FlockWake));
        assert!(!probes(Some(LabId::Lock)).contains(&Probe::Fault));
        assert!(sources(Some(LabId::Mmap)).is_empty());
        // Every lab's together are the whole calibration's.
        let sources_of_every: BTreeSet<Source> = LabId::ALL.iter().flat_map(|l| sources(Some(*l))).collect();
        assert_eq!(sources_of_every, sources(None));
        let probes_of_every: BTreeSet<Probe> = LabId::ALL.iter().flat_map(|l| probes(Some(*l))).collect();
        assert_eq!(probes_of_every, probes(None));
    }
}
