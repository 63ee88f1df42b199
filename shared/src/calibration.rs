//! This machine's primitives as the models take them: a typed, versioned record of what `syslab calibrate`
//! measured (each figure a median with its spread over repeats, in the unit of the model parameter it stands
//! for), with the host it was measured on and when. Pure: the companion measures and stores it; here it is
//! read, checked against the host it would be used on, and turned into the parameters a simulation takes.

use crate::catalogue::LabId;
use crate::params::{ParamSet, ParamValue};
use crate::trace::{HostInfo, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version this build writes and reads; a file of another is refused, not guessed at.
pub const VERSION: u32 = 1;

/// One measured primitive: the median over the repeats, half their range, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub spread: f64,
    pub repeats: u32,
}

/// What `syslab calibrate` measured on a host: model parameters by `lab.parameter` (`methods.process_start_us`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub version: u32,
    pub host: HostInfo,
    pub measured_unix_ms: u64,
    pub values: BTreeMap<String, Estimate>,
}

/// Why a stored calibration is not used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrationError {
    #[error("the calibration file is not readable: {0}")]
    Corrupt(String),
    #[error("the calibration file is of version {found}; this syslab reads version {VERSION}: calibrate again")]
    Version { found: u32 },
    #[error("the calibration was measured on another machine ({measured}), not this one ({here}): calibrate again")]
    OtherHost { measured: String, here: String },
}

/// A model parameter a lab's measured figure stands for: the parameter `param` of `lab` is the figure `metric`
/// of a calibration run of `source`, times `scale` (e.g. nanoseconds to the parameter's microseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Primitive {
    pub lab: LabId,
    pub param: &'static str,
    pub source: LabId,
    pub metric: &'static str,
    pub scale: f64,
}

/// The primitives a calibration measures, each from the median figure of a lab's own experiment.
pub const PRIMITIVES: &[Primitive] = &[
    Primitive {
        lab: LabId::Methods,
        param: "process_start_us",
        source: LabId::Methods,
        metric: "process_start_p50",
        scale: 1e-3,
    },
    Primitive {
        lab: LabId::Methods,
        param: "thread_start_us",
        source: LabId::Methods,
        metric: "thread_start_p50",
        scale: 1e-3,
    },
    Primitive {
        lab: LabId::Pipeline,
        param: "spawn_us",
        source: LabId::Methods,
        metric: "thread_start_p50",
        scale: 1e-3,
    },
    // A blocked reader of a pipe woken by another process's write, as the I/O servers are by the feeder. (The
    // lock model's wake-up is a flock waiter's, another kernel path: not this figure.)
    Primitive { lab: LabId::Io, param: "wake_us", source: LabId::Methods, metric: "pipe_handoff_p50", scale: 1e-3 },
    // A blocked receiver of a channel woken by another thread's send.
    Primitive {
        lab: LabId::Pipeline,
        param: "wake_us",
        source: LabId::Methods,
        metric: "channel_handoff_p50",
        scale: 1e-3,
    },
];

impl Calibration {
    /// The calibration of `host` at `measured_unix_ms` from each primitive's figures, by source lab.
    pub fn from_figures(host: HostInfo, measured_unix_ms: u64, figures: &BTreeMap<LabId, Vec<Metric>>) -> Self {
        let values = PRIMITIVES
            .iter()
            .filter_map(|p| {
                let run = figures.get(&p.source)?;
                let metric = run.iter().find(|m| m.key == p.metric)?;
                // A run of several repeats says how many; a run of one has no such figure.
                let repeats = run.iter().find(|m| m.key == "repeats").and_then(|m| m.value).map_or(1, |n| n as u32);
                let estimate = Estimate {
                    value: metric.value? * p.scale,
                    spread: metric.spread.unwrap_or(0.0) * p.scale,
                    repeats,
                };
                Some((format!("{}.{}", p.lab, p.param), estimate))
            })
            .collect();
        Calibration { version: VERSION, host, measured_unix_ms, values }
    }

    /// Reads a stored calibration for use on `here`: refused when it is damaged, of another version, or
    /// measured on another machine (kernel, CPU model or count differ).
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

    /// The parameters `lab`'s model takes from this calibration, rounded to the parameter's whole units.
    pub fn params_for(&self, lab: LabId) -> ParamSet {
        PRIMITIVES
            .iter()
            .filter(|p| p.lab == lab)
            .filter_map(|p| {
                let estimate = self.values.get(&format!("{}.{}", p.lab, p.param))?;
                let spec = lab.info().params.iter().find(|s| s.key == p.param)?;
                let crate::params::ParamKind::Int { min, max, .. } = spec.kind else { return None };
                let value = (libm::round(estimate.value) as i64).clamp(min, max);
                Some((p.param.to_owned(), ParamValue::Int(value)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Text;
    use crate::trace::Unit;

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
        let figures = BTreeMap::from([(
            LabId::Methods,
            vec![figure("process_start_p50", 812_400.0), figure("thread_start_p50", 41_700.0), repeats],
        )]);
        Calibration::from_figures(host(2), 1_700_000_000_000, &figures)
    }

    #[test]
    fn figures_become_model_parameters_in_their_units() {
        let c = calibration();
        let start = c.values["methods.process_start_us"];
        assert!((start.value - 812.4).abs() < 1e-9 && (start.spread - 81.24).abs() < 1e-9, "{start:?}");
        assert_eq!(start.repeats, 3);
        assert_eq!(c.params_for(LabId::Methods)["process_start_us"], ParamValue::Int(812));
        assert_eq!(c.params_for(LabId::Pipeline)["spawn_us"], ParamValue::Int(42));
        assert!(c.params_for(LabId::Lock).is_empty(), "nothing calibrated for the lock model yet");
    }

    #[test]
    fn a_stored_calibration_is_read_back_on_its_host_only() {
        let c = calibration();
        assert_eq!(Calibration::read(&c.to_json(), &host(2)), Ok(c.clone()));
        assert!(matches!(Calibration::read(&c.to_json(), &host(8)), Err(CalibrationError::OtherHost { .. })));
        assert!(matches!(Calibration::read("{not json", &host(2)), Err(CalibrationError::Corrupt(_))));
        let newer = c.to_json().replace("\"version\": 1", "\"version\": 2");
        assert_eq!(Calibration::read(&newer, &host(2)), Err(CalibrationError::Version { found: 2 }));
    }

    #[test]
    fn every_primitive_names_a_parameter_of_its_lab() {
        for p in PRIMITIVES {
            assert!(p.lab.info().params.iter().any(|s| s.key == p.param), "{}.{}", p.lab, p.param);
        }
    }
}
