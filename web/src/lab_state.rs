//! A lab page's state as one reducer, so that what the page shows follows from one value and every change is
//! one action, testable without a browser: the parameters and seed as typed, the simulated run, where the
//! measured side comes from (a live run asked of the companion, or a run opened from a file: one or the other,
//! never both), which of the two the drawing shows, and the last errors. The player's clock is its own reducer
//! (`player.rs`); the companion's runs live in the connection's (`companion.rs`).

use crate::lab::TraceRef;
use crate::permalink::{Named, RawParams};
use shared::i18n::Text;
use shared::{LabId, Trace};
use std::rc::Rc;
use yew::Reducible;

/// Which run the drawing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Simulated,
    Measured,
}

/// Where the measured side comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    Nothing,
    /// The live run the page asked for, by its request number (the connection knows its progress), and whether
    /// the page kept drawing while it measured (its figures then carry that mark: the page took CPU time).
    Live {
        request: u32,
        watched: bool,
    },
    /// A run opened from a file; it stays until the next live run or file.
    Opened(TraceRef),
    /// A sweep's measured point, opened from its chart.
    Point(TraceRef),
    /// A run kept in the browser's history, reopened from the history page.
    Kept(TraceRef),
}

/// Why a run file was not opened.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenError {
    /// A run of another lab, dropped on this lab's page.
    OtherLab(LabId),
    /// Not a run file (the reader's message).
    Unreadable(Text),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabState {
    pub lab: LabId,
    pub raw: RawParams,
    /// The parameters the permalink named or the reader changed: a calibration leaves them as they are.
    pub fixed: Named,
    /// How many times a calibration changed the parameters (each change simulates again).
    pub calibrations: u32,
    pub seed: u64,
    pub simulated: Option<TraceRef>,
    pub sim_error: Option<String>,
    pub measured: Measured,
    pub shown: Shown,
    pub open_error: Option<OpenError>,
    /// The reader's choice to keep the page drawing while the companion measures (by default it keeps quiet).
    pub watch_live: bool,
    /// Which repeat of a repeated measured run the drawing shows (from 0; its figures are of all of them).
    pub repeat: usize,
}

#[derive(Debug, Clone)]
pub enum LabAction {
    /// One parameter's text changed.
    SetParam {
        key: String,
        value: String,
    },
    SetSeed(u64),
    /// This machine's calibration gave these model parameters: each one not fixed takes its value.
    Calibrate(shared::ParamSet),
    /// Whether the next live runs are watched live.
    SetWatchLive(bool),
    /// A simulation of the current parameters ended: its trace, or why it could not run.
    Simulated(Result<TraceRef, String>),
    /// The companion was asked for a live run under `request`.
    AskedLive {
        request: u32,
    },
    /// A run file was read: its trace, or why it is not one.
    Opened(Result<Rc<Trace>, Text>),
    /// A run kept in the history was reopened.
    Reopened(Rc<Trace>),
    /// A sweep's point was opened: its parameters become the form's (the swept one as chosen), its simulated
    /// run the simulated side and its measured run, where it was measured and kept, the measured side.
    OpenPoint {
        key: String,
        simulated: TraceRef,
        measured: Option<TraceRef>,
    },
    Show(Shown),
    /// The drawing shows this repeat of the measured run.
    ShowRepeat(usize),
}

impl LabState {
    pub fn new(lab: LabId, raw: RawParams, fixed: Named, seed: u64) -> Self {
        LabState {
            lab,
            raw,
            fixed,
            calibrations: 0,
            seed,
            simulated: None,
            sim_error: None,
            measured: Measured::Nothing,
            shown: Shown::Simulated,
            open_error: None,
            watch_live: false,
            repeat: 0,
        }
    }

    /// The live run's request, when the measured side is one.
    pub fn live_request(&self) -> Option<u32> {
        match self.measured {
            Measured::Live { request, .. } => Some(request),
            _ => None,
        }
    }

    /// Whether the live run was asked to be watched live.
    pub fn watched_live(&self) -> bool {
        matches!(self.measured, Measured::Live { watched: true, .. })
    }

    /// The run opened from a file or from a sweep's point, when the measured side is one.
    pub fn opened(&self) -> Option<&TraceRef> {
        match &self.measured {
            Measured::Opened(trace) | Measured::Point(trace) | Measured::Kept(trace) => Some(trace),
            _ => None,
        }
    }

    /// Whether the measured side is a run read from a file.
    pub fn from_file(&self) -> bool {
        matches!(self.measured, Measured::Opened(_))
    }

    /// Whether the measured side is a run reopened from the history.
    pub fn from_history(&self) -> bool {
        matches!(self.measured, Measured::Kept(_))
    }

    /// The next state after `action` (the same value where the action changes nothing).
    pub fn next(&self, action: LabAction) -> LabState {
        let mut s = self.clone();
        match action {
            LabAction::SetParam { key, value } => {
                s.raw.insert(key.clone(), value);
                s.fixed.insert(key);
            }
            LabAction::Calibrate(params) => {
                let before = s.raw.clone();
                for (key, value) in params.into_iter().filter(|(key, _)| !s.fixed.contains(key)) {
                    s.raw.insert(key, value.to_string());
                }
                if s.raw != before {
                    s.calibrations += 1;
                }
            }
            LabAction::SetSeed(seed) => s.seed = seed,
            LabAction::SetWatchLive(watch) => s.watch_live = watch,
            LabAction::Simulated(Ok(trace)) => {
                s.simulated = Some(trace);
                s.sim_error = None;
                s.shown = Shown::Simulated;
            }
            // A failed simulation keeps the last good one on show, and says why.
            LabAction::Simulated(Err(err)) => s.sim_error = Some(err),
            LabAction::AskedLive { request } => {
                s.measured = Measured::Live { request, watched: s.watch_live };
                s.shown = Shown::Measured;
                s.repeat = 0;
            }
            LabAction::Opened(Ok(trace)) if trace.run.lab != s.lab => {
                s.open_error = Some(OpenError::OtherLab(trace.run.lab));
            }
            LabAction::Opened(Ok(trace)) => {
                s.measured = Measured::Opened(TraceRef(trace));
                s.open_error = None;
                s.shown = Shown::Measured;
                s.repeat = 0;
            }
            LabAction::Opened(Err(err)) => s.open_error = Some(OpenError::Unreadable(err)),
            LabAction::Reopened(trace) if trace.run.lab == s.lab => {
                s.measured = Measured::Kept(TraceRef(trace));
                s.shown = Shown::Measured;
                s.repeat = 0;
            }
            LabAction::Reopened(trace) => s.open_error = Some(OpenError::OtherLab(trace.run.lab)),
            LabAction::OpenPoint { key, simulated, measured } => {
                s.raw = simulated.0.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
                s.fixed.insert(key);
                s.simulated = Some(simulated);
                s.sim_error = None;
                s.repeat = 0;
                (s.measured, s.shown) = match measured {
                    Some(trace) => (Measured::Point(trace), Shown::Measured),
                    // A point not measured pairs with nothing: an earlier run had other parameters.
                    None => (Measured::Nothing, Shown::Simulated),
                };
            }
            // Nothing measured, nothing to show on that side.
            LabAction::Show(Shown::Measured) if s.measured == Measured::Nothing => {}
            LabAction::Show(which) => s.shown = which,
            LabAction::ShowRepeat(repeat) => s.repeat = repeat,
        }
        s
    }
}

impl Reducible for LabState {
    type Action = LabAction;

    fn reduce(self: Rc<Self>, action: LabAction) -> Rc<Self> {
        let next = self.next(action);
        if next == *self { self } else { Rc::new(next) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::params::ParamSet;

    fn run_of(lab: LabId) -> Rc<Trace> {
        let params = lab.validate(&ParamSet::default()).unwrap();
        Rc::new(shared::lab::simulate(lab, &params, 1).unwrap())
    }

    fn fresh() -> LabState {
        LabState::new(LabId::Lock, RawParams::new(), Named::new(), 7)
    }

    #[test]
    fn the_measured_side_is_a_live_run_or_a_file_never_both() {
        let file = run_of(LabId::Lock);
        let s = fresh().next(LabAction::Opened(Ok(file.clone())));
        assert_eq!(s.opened(), Some(&TraceRef(file.clone())));
        assert_eq!((s.shown, s.live_request()), (Shown::Measured, None));
        let s = s.next(LabAction::AskedLive { request: 3 });
        assert_eq!((s.live_request(), s.opened()), (Some(3), None), "a live run replaces the file");
        let s = s.next(LabAction::Opened(Ok(file)));
        assert_eq!(s.live_request(), None, "and a file replaces the live run");
    }

    #[test]
    fn a_run_of_another_lab_or_a_bad_file_is_refused_and_changes_nothing_else() {
        let s = fresh().next(LabAction::AskedLive { request: 2 });
        let refused = s.next(LabAction::Opened(Ok(run_of(LabId::Amdahl))));
        assert_eq!(refused.open_error, Some(OpenError::OtherLab(LabId::Amdahl)));
        assert_eq!(refused.measured, s.measured);
        let bad = refused.next(LabAction::Opened(Err(Text::new("error.import.not_json"))));
        assert!(matches!(bad.open_error, Some(OpenError::Unreadable(_))));
        let good = bad.next(LabAction::Opened(Ok(run_of(LabId::Lock))));
        assert_eq!(good.open_error, None, "a good file clears the error");
    }

    #[test]
    fn a_failed_simulation_keeps_the_last_good_run_and_a_good_one_shows_itself() {
        let trace = TraceRef(run_of(LabId::Lock));
        let s = fresh().next(LabAction::AskedLive { request: 1 });
        let s = s.next(LabAction::Simulated(Ok(trace.clone())));
        assert_eq!((s.shown, s.simulated.as_ref()), (Shown::Simulated, Some(&trace)));
        let s = s.next(LabAction::Simulated(Err("bad".into())));
        assert_eq!((s.simulated.as_ref(), s.sim_error.as_deref()), (Some(&trace), Some("bad")));
        assert_eq!(s.live_request(), Some(1), "simulating does not forget the measured run");
    }

    #[test]
    fn the_measured_tab_opens_only_with_something_measured() {
        let s = fresh().next(LabAction::Show(Shown::Measured));
        assert_eq!(s.shown, Shown::Simulated);
        let s = s.next(LabAction::AskedLive { request: 1 }).next(LabAction::Show(Shown::Simulated));
        assert_eq!(s.next(LabAction::Show(Shown::Measured)).shown, Shown::Measured);
    }

    #[test]
    fn a_live_run_is_watched_live_only_when_the_reader_chose_so_before_asking() {
        let s = fresh().next(LabAction::AskedLive { request: 1 });
        assert!(!s.watched_live(), "by default the page keeps quiet");
        let s = s.next(LabAction::SetWatchLive(true));
        assert!(!s.watched_live(), "a run already asked keeps how it was asked");
        let s = s.next(LabAction::AskedLive { request: 2 });
        assert!(s.watched_live());
        let s = s.next(LabAction::SetWatchLive(false)).next(LabAction::AskedLive { request: 3 });
        assert_eq!((s.live_request(), s.watched_live()), (Some(3), false));
    }

    #[test]
    fn a_new_measured_run_is_drawn_from_its_first_repeat() {
        let s = fresh().next(LabAction::AskedLive { request: 1 }).next(LabAction::ShowRepeat(2));
        assert_eq!(s.repeat, 2);
        assert_eq!(s.next(LabAction::AskedLive { request: 2 }).repeat, 0);
        assert_eq!(s.next(LabAction::Opened(Ok(run_of(LabId::Lock)))).repeat, 0);
    }

    #[test]
    fn a_calibration_sets_only_the_parameters_nobody_chose() {
        let methods = |named: &[&str]| {
            let raw =
                RawParams::from([("process_start_us".into(), "1000".into()), ("thread_start_us".into(), "50".into())]);
            LabState::new(LabId::Methods, raw, named.iter().map(|k| (*k).to_owned()).collect(), 7)
        };
        let calibration = ParamSet::from([
            ("process_start_us".to_owned(), shared::ParamValue::Int(1105)),
            ("thread_start_us".to_owned(), shared::ParamValue::Int(35)),
        ]);
        let s = methods(&["thread_start_us"]).next(LabAction::Calibrate(calibration.clone()));
        assert_eq!((s.raw["process_start_us"].as_str(), s.raw["thread_start_us"].as_str()), ("1105", "50"));
        assert_eq!(s.calibrations, 1);
        assert_eq!(s.next(LabAction::Calibrate(calibration.clone())).calibrations, 1, "the same again changes nothing");
        let typed = s.next(LabAction::SetParam { key: "process_start_us".into(), value: "900".into() });
        let again = typed.next(LabAction::Calibrate(calibration));
        assert_eq!((again.raw["process_start_us"].as_str(), again.calibrations), ("900", 1), "the reader's value wins");
    }

    #[test]
    fn an_opened_point_brings_its_parameters_and_pairs_only_with_its_own_measured_run() {
        let params = ParamSet::from([("procs".to_owned(), shared::ParamValue::Int(8))]);
        let point = TraceRef(Rc::new(shared::lab::simulate(LabId::Lock, &params, 1).unwrap()));
        let s = fresh().next(LabAction::AskedLive { request: 4 });
        let measured = TraceRef(run_of(LabId::Lock));
        let opened = s.next(LabAction::OpenPoint {
            key: "procs".into(),
            simulated: point.clone(),
            measured: Some(measured.clone()),
        });
        assert_eq!((opened.raw["procs"].as_str(), opened.fixed.contains("procs")), ("8", true));
        assert_eq!((opened.opened(), opened.from_file(), opened.shown), (Some(&measured), false, Shown::Measured));
        let alone = s.next(LabAction::OpenPoint { key: "procs".into(), simulated: point.clone(), measured: None });
        assert_eq!(
            (alone.measured.clone(), alone.shown, alone.simulated),
            (Measured::Nothing, Shown::Simulated, Some(point))
        );
    }

    #[test]
    fn a_kept_run_reopens_as_measured_and_one_of_another_lab_is_refused() {
        let s = fresh().next(LabAction::Reopened(run_of(LabId::Lock)));
        assert!(s.from_history() && !s.from_file() && s.opened().is_some());
        assert_eq!(s.shown, Shown::Measured);
        let refused = fresh().next(LabAction::Reopened(run_of(LabId::Amdahl)));
        assert_eq!(
            (refused.open_error, refused.measured),
            (Some(OpenError::OtherLab(LabId::Amdahl)), Measured::Nothing)
        );
    }

    #[test]
    fn parameters_and_seed_are_kept_as_typed() {
        let s = fresh()
            .next(LabAction::SetParam { key: "n_procs".into(), value: "abc".into() })
            .next(LabAction::SetSeed(42));
        assert_eq!((s.raw.get("n_procs").map(String::as_str), s.seed), (Some("abc"), 42));
    }
}
