//! The catalogue: every lab of the brief with its id, title, explanation, status and parameters. The page's
//! lab list, the command line's `run LAB` and the companion's request check all read it.

use crate::params::{ParamError, ParamSet, ParamSpec};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lab's id, as it appears in URLs, on the wire and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabId {
    Lock,
    Mmap,
    Watch,
    Io,
    Pipeline,
    Methods,
    Amdahl,
}

impl LabId {
    pub const ALL: [LabId; 7] =
        [LabId::Lock, LabId::Mmap, LabId::Watch, LabId::Io, LabId::Pipeline, LabId::Methods, LabId::Amdahl];

    pub fn as_str(self) -> &'static str {
        match self {
            LabId::Lock => "lock",
            LabId::Mmap => "mmap",
            LabId::Watch => "watch",
            LabId::Io => "io",
            LabId::Pipeline => "pipeline",
            LabId::Methods => "methods",
            LabId::Amdahl => "amdahl",
        }
    }

    /// Parses an id, with a typed error that lists the known ones.
    pub fn parse(text: &str) -> Result<LabId, ParamError> {
        LabId::ALL.into_iter().find(|id| id.as_str() == text).ok_or_else(|| ParamError::UnknownLab {
            lab: text.to_owned(),
            known: LabId::ALL.map(LabId::as_str).join(", "),
        })
    }

    pub fn info(self) -> &'static LabInfo {
        self.lab().info()
    }

    /// Validates parameters for this lab: see [`crate::params::validate`].
    pub fn validate(self, given: &ParamSet) -> Result<ParamSet, ParamError> {
        let info = self.info();
        if info.status == LabStatus::Coming {
            return Err(ParamError::LabNotAvailable { lab: self.as_str().to_owned() });
        }
        let valid = crate::params::validate(self.as_str(), info.params, given)?;
        self.lab().check(&valid)?;
        Ok(valid)
    }
}

impl fmt::Display for LabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a lab can be used yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabStatus {
    Available,
    Coming,
}

/// Everything the page and the command line say about a lab.
#[derive(Debug)]
pub struct LabInfo {
    pub id: LabId,
    pub title: &'static str,
    /// One sentence for the lab list.
    pub summary: &'static str,
    /// The explanation on the lab's page: what it is, why it matters, what to try. One string per paragraph.
    pub explanation: &'static [&'static str],
    pub status: LabStatus,
    pub params: &'static [ParamSpec],
    /// The sweep the lab page offers first (its "Try" text's own steps).
    pub sweep: crate::sweep::DefaultSweep,
}

/// A chapter of the text the labs come from; the front page orders the labs by them.
#[derive(Debug)]
pub struct Chapter {
    pub title: &'static str,
    pub summary: &'static str,
    pub labs: &'static [LabId],
}

/// The two chapters, in the text's order, each with its labs in the order it treats them.
pub const CHAPTERS: [Chapter; 2] = [
    Chapter {
        title: "The depths of the file system",
        summary: "Watching files, locking them, mapping them into memory, and the four ways to wait for I/O.",
        labs: &[LabId::Watch, LabId::Lock, LabId::Mmap, LabId::Io],
    },
    Chapter {
        title: "Methods and patterns of concurrency and parallelism",
        summary: "Processes, threads and events; what parallelism can gain; channels and the patterns built on them.",
        labs: &[LabId::Methods, LabId::Amdahl, LabId::Pipeline],
    },
];

/// All labs in the order the page lists them.
pub fn catalogue() -> impl Iterator<Item = &'static LabInfo> {
    LabId::ALL.into_iter().map(LabId::info)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_lab_is_in_exactly_one_chapter() {
        for lab in super::LabId::ALL {
            let homes = super::CHAPTERS.iter().filter(|c| c.labs.contains(&lab)).count();
            assert_eq!(homes, 1, "{lab:?} is in {homes} chapters");
        }
    }

    use super::*;

    #[test]
    fn every_lab_is_listed_once_under_its_own_id() {
        let ids: Vec<LabId> = catalogue().map(|info| info.id).collect();
        assert_eq!(ids, LabId::ALL.to_vec());
        for id in LabId::ALL {
            assert_eq!(LabId::parse(id.as_str()), Ok(id));
        }
    }

    #[test]
    fn unknown_labs_get_typed_errors() {
        assert!(matches!(LabId::parse("nope"), Err(ParamError::UnknownLab { .. })));
    }

    #[test]
    fn available_labs_explain_themselves_and_declare_sane_defaults() {
        for info in catalogue().filter(|i| i.status == LabStatus::Available) {
            assert!(!info.explanation.is_empty(), "{} has no explanation", info.id);
            // Every default passes its own validation.
            assert!(info.id.validate(&ParamSet::new()).is_ok(), "{} defaults", info.id);
        }
    }
}
