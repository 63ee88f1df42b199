//! Predict, then measure: one question per lab, asked before a live run, answered by a figure of the run (a
//! metric, or the ratio of two) falling into one of the offered ranges. The page records the reader's choice,
//! and once a measured run is there shows the prediction beside what the machine did, with why. Pure, so the
//! questions are checked against every lab's real metric keys.

use crate::LabId;
use crate::trace::Metric;

/// The figure a question is about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Metric(&'static str),
    /// The first metric divided by the second.
    Ratio(&'static str, &'static str),
}

/// One offered answer: the figure is below `below` (and not below the previous answer's bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub label: &'static str,
    pub below: f64,
}

#[derive(Debug)]
pub struct Question {
    pub id: &'static str,
    pub prompt: &'static str,
    pub figure: Figure,
    /// In increasing order of their bounds; the last one's bound is infinity.
    pub answers: &'static [Answer],
    /// Why the answer comes out as it does, said after the run.
    pub why: &'static str,
}

impl Question {
    /// The figure in a run's metrics, if the run has it.
    pub fn value(&self, metrics: &[Metric]) -> Option<f64> {
        let get = |key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
        match self.figure {
            Figure::Metric(key) => get(key),
            Figure::Ratio(top, bottom) => match (get(top), get(bottom)) {
                (Some(top), Some(bottom)) if bottom > 0.0 => Some(top / bottom),
                _ => None,
            },
        }
    }

    /// Which answer a value is.
    pub fn answer_for(&self, value: f64) -> usize {
        self.answers.iter().position(|a| value < a.below).unwrap_or(self.answers.len().saturating_sub(1))
    }
}

/// The open bound of a last answer.
pub const INF: f64 = f64::INFINITY;

/// The questions of a lab.
pub fn questions(lab: LabId) -> &'static [Question] {
    lab.lab().questions()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSet;

    #[test]
    fn every_question_is_answered_by_its_labs_own_metrics() {
        // The defaults answer a lab's questions, but for those of a mode of the lab's own (the mmap lab writing).
        let write: ParamSet = [("mode".to_owned(), crate::params::ParamValue::Text("write".into()))].into();
        for lab in LabId::ALL {
            assert!(!questions(lab).is_empty(), "{lab:?} has no question");
            let figures = |given: &ParamSet| {
                crate::lab::metrics(&crate::lab::simulate(lab, given, 1).unwrap_or_else(|e| panic!("{e}")))
            };
            let (defaults, writing) = (figures(&ParamSet::new()), (lab == LabId::Mmap).then(|| figures(&write)));
            for q in questions(lab) {
                let value = q
                    .value(&defaults)
                    .or_else(|| writing.as_ref().and_then(|m| q.value(m)))
                    .unwrap_or_else(|| panic!("{lab:?}/{}: no figure", q.id));
                assert!(q.answer_for(value) < q.answers.len());
                assert!(q.answers.windows(2).all(|w| w[0].below < w[1].below), "{}: bounds in order", q.id);
                assert_eq!(q.answers.last().map(|a| a.below), Some(INF), "{}: the last answer is open", q.id);
            }
        }
    }

    #[test]
    fn values_fall_into_the_answer_whose_range_holds_them() {
        let q = &questions(LabId::Amdahl)[0];
        assert_eq!(q.answer_for(1.0), 0);
        assert_eq!(q.answer_for(1.3), 1);
        assert_eq!(q.answer_for(1.94), 2);
        assert_eq!(q.answer_for(2.0), 3);
    }
}
