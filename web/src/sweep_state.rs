//! A lab page's sweep as one reducer: the parameter, values and figure as the reader chose them, and the latest
//! sweep: its points simulated in the page and, when asked, measured by the companion one after another (the
//! next point is asked for only when the last one has ended, so the companion's queue holds one run of the
//! sweep at a time, and a cancel or a lost connection stops the sweep where it is). Pure: the page's effects
//! send what [`SweepRun::to_ask`] says and report each point's end back.

use crate::lab::TraceRef;
use shared::LabId;
use shared::i18n::Text;
use shared::params::{ParamKind, ParamSet, ParamSpec};
use shared::sweep::{PointFigures, Sweep, SweepError, SweepReport};
use std::rc::Rc;
use yew::Reducible;

/// The most measured events a sweep keeps whole for opening its points (about 40–80 bytes each in the page);
/// past it the oldest points keep their figures only.
pub const KEEP_EVENTS: usize = 2_000_000;

/// Where a sweep stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Simulated only: nothing more is coming.
    Simulated,
    /// Measuring `point`: asked for under `request`, or (`None`) to be asked for now.
    Measuring { point: usize, request: Option<u32> },
    /// Every point measured.
    Done,
    /// Stopped at `at` (cancelled, the run failed, the companion went away): the points before it are measured.
    Stopped { at: usize, why: Text },
}

/// One sweep: every point simulated, and the measured ones as they end.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    pub sweep: Sweep,
    pub simulated: Vec<TraceRef>,
    pub figures: Vec<PointFigures>,
    /// The measured runs kept whole (within [`KEEP_EVENTS`]), to open a point as an ordinary run.
    pub measured: Vec<Option<TraceRef>>,
    pub phase: Phase,
    /// How many measured runs were let go to keep the page's memory in bounds (their figures stay).
    pub released: usize,
    /// A measured point came from a companion built without optimisations: its timings are not the machine's.
    pub debug_build: bool,
    /// Reopened from the history (so it is not kept again).
    pub from_history: bool,
}

impl SweepRun {
    /// Simulates every point of `param = values` over `base` (the form's parameters, the calibration's among
    /// them); a sweep to be measured is checked first (a parameter only the model reads, a total time over the
    /// limit by the model's estimate).
    pub fn simulate(
        lab: LabId,
        (param, values): (&str, &str),
        base: &ParamSet,
        seed: u64,
        measure: bool,
    ) -> Result<SweepRun, SweepError> {
        let sweep = Sweep::new(lab, param, values, base)?;
        if measure {
            sweep.check_measurable()?;
        }
        let simulated = sweep
            .points()
            .iter()
            .map(|point| shared::lab::simulate(lab, point, seed).map(|t| TraceRef(Rc::new(t))))
            .collect::<Result<Vec<_>, _>>()?;
        if measure {
            sweep.estimate(simulated.iter().map(|t| &*t.0))?;
        }
        let figures = sweep.values.iter().zip(&simulated).map(|(v, t)| PointFigures::of(v, &t.0, None)).collect();
        let phase = if measure { Phase::Measuring { point: 0, request: None } } else { Phase::Simulated };
        Ok(SweepRun {
            measured: vec![None; simulated.len()],
            sweep,
            simulated,
            figures,
            phase,
            released: 0,
            debug_build: false,
            from_history: false,
        })
    }

    /// A kept sweep reopened: its points simulated again (so each opens as a run) and its figures as they were
    /// kept, measured ones and their errors included.
    pub fn restore(lab: LabId, base: &ParamSet, seed: u64, report: &SweepReport) -> Result<SweepRun, SweepError> {
        let values: Vec<String> = report.points.iter().map(|p| p.value.to_string()).collect();
        let mut run = SweepRun::simulate(lab, (&report.param, &values.join(",")), base, seed, false)?;
        if run.figures.len() == report.points.len() {
            run.figures = report.points.clone();
        }
        if run.done() > 0 {
            run.phase = Phase::Done;
        }
        run.from_history = true;
        Ok(run)
    }

    /// The sweep's figures as the command line's `--json` has them.
    pub fn report(&self, metric: &str) -> SweepReport {
        SweepReport {
            lab: self.sweep.lab,
            param: self.sweep.param.key.to_owned(),
            metric: metric.to_owned(),
            points: self.figures.clone(),
        }
    }

    /// The point to ask the companion for now, if one is due.
    pub fn to_ask(&self) -> Option<usize> {
        match self.phase {
            Phase::Measuring { point, request: None } => Some(point),
            _ => None,
        }
    }

    /// The run being measured, once asked for.
    pub fn asked(&self) -> Option<(usize, u32)> {
        match self.phase {
            Phase::Measuring { point, request: Some(request) } => Some((point, request)),
            _ => None,
        }
    }

    pub fn measuring(&self) -> bool {
        matches!(self.phase, Phase::Measuring { .. })
    }

    /// How many points are measured.
    pub fn done(&self) -> usize {
        self.figures.iter().filter(|f| f.measured.is_some()).count()
    }

    fn keep(&mut self, point: usize, trace: TraceRef) {
        self.measured[point] = Some(trace);
        let mut kept: usize = self.measured.iter().flatten().map(|t| t.0.events.len()).sum();
        // The oldest go first; the point just measured stays, whatever its size.
        for slot in 0..self.measured.len() {
            if kept <= KEEP_EVENTS {
                break;
            }
            if slot != point
                && let Some(trace) = self.measured[slot].take()
            {
                kept -= trace.0.events.len();
                self.released += 1;
            }
        }
    }
}

/// How a measured point ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PointEnd {
    /// Whole and finished.
    Measured(TraceRef),
    /// Cancelled, failed, or lost with the connection: the sweep stops here.
    Stopped(Text),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepState {
    pub lab: LabId,
    pub param: String,
    pub values: String,
    pub metric: String,
    pub run: Option<Rc<SweepRun>>,
    pub error: Option<Text>,
}

#[derive(Debug, Clone)]
pub enum SweepAction {
    /// Sweep this parameter: its values become the default ones for it.
    Choose(String),
    SetValues(String),
    SetMetric(String),
    /// A sweep was simulated (and is to be measured), or refused.
    Started(Result<SweepRun, Text>),
    /// A kept sweep was reopened, drawn with the figure it was kept with.
    Restore {
        run: SweepRun,
        metric: String,
    },
    /// The companion was asked for `point` under `request`.
    Asked {
        point: usize,
        request: u32,
    },
    /// The run asked for under `request` ended.
    Ended {
        request: u32,
        end: PointEnd,
    },
    /// The reader, or the page when the companion went away, stops the sweep.
    Stop(Text),
}

impl SweepState {
    /// The lab's own sweep.
    pub fn new(lab: LabId) -> SweepState {
        let own = lab.info().sweep;
        SweepState {
            lab,
            param: own.param.to_owned(),
            values: own.values.to_owned(),
            metric: own.metric.to_owned(),
            run: None,
            error: None,
        }
    }

    /// Whether a sweep is being measured (the page then keeps quiet, as for any measured run).
    pub fn measuring(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.measuring())
    }

    pub fn next(&self, action: SweepAction) -> SweepState {
        let mut s = self.clone();
        match action {
            SweepAction::Choose(param) => {
                if let Some(spec) = s.lab.info().params.iter().find(|p| p.key == param) {
                    s.values = default_values(s.lab, spec);
                }
                s.param = param;
                s.error = None;
            }
            SweepAction::SetValues(values) => {
                s.values = values;
                s.error = None;
            }
            SweepAction::SetMetric(metric) => s.metric = metric,
            SweepAction::Started(Ok(run)) => {
                s.run = Some(Rc::new(run));
                s.error = None;
            }
            SweepAction::Started(Err(err)) => s.error = Some(err),
            SweepAction::Restore { run, metric } => {
                s.param = run.sweep.param.key.to_owned();
                s.values = run.sweep.values.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                s.metric = metric;
                s.run = Some(Rc::new(run));
                s.error = None;
            }
            SweepAction::Asked { point, request } => s.update_run(|run| {
                if run.to_ask() == Some(point) {
                    run.phase = Phase::Measuring { point, request: Some(request) };
                }
            }),
            SweepAction::Ended { request, end } => s.update_run(|run| {
                let Some((point, asked)) = run.asked() else { return };
                if asked != request {
                    return;
                }
                match end {
                    PointEnd::Measured(trace) => {
                        let (value, sim) = (&run.sweep.values[point], &run.simulated[point].0);
                        run.figures[point] = PointFigures::of(value, sim, Some(&trace.0));
                        run.debug_build |=
                            matches!(&trace.0.run.source, shared::Source::Measured { host, .. } if host.debug_build);
                        run.keep(point, trace);
                        run.phase = match point + 1 < run.figures.len() {
                            true => Phase::Measuring { point: point + 1, request: None },
                            false => Phase::Done,
                        };
                    }
                    PointEnd::Stopped(why) => run.phase = Phase::Stopped { at: point, why },
                }
            }),
            SweepAction::Stop(why) => s.update_run(|run| {
                if let Phase::Measuring { point, .. } = run.phase {
                    run.phase = Phase::Stopped { at: point, why };
                }
            }),
        }
        s
    }

    fn update_run(&mut self, change: impl FnOnce(&mut SweepRun)) {
        if let Some(run) = &self.run {
            let mut run = (**run).clone();
            change(&mut run);
            if Some(&run) != self.run.as_deref() {
                self.run = Some(Rc::new(run));
            }
        }
    }
}

impl Reducible for SweepState {
    type Action = SweepAction;

    fn reduce(self: Rc<Self>, action: SweepAction) -> Rc<Self> {
        let next = self.next(action);
        if next == *self { self } else { Rc::new(next) }
    }
}

/// The values a sweep of `spec` starts from: the lab's own where it is the lab's parameter, every choice of a
/// choice, and otherwise five steps around the default (geometric where the range spans a factor of 8).
pub fn default_values(lab: LabId, spec: &ParamSpec) -> String {
    let own = lab.info().sweep;
    if own.param == spec.key {
        return own.values.to_owned();
    }
    match spec.kind {
        ParamKind::Choice { .. } => "*".to_owned(),
        ParamKind::Int { min, max, default } => {
            let (lo, hi) = match default {
                0 => (min, max.min(100)),
                d => ((d / 4).max(min).max(1.min(max)), d.saturating_mul(4).min(max)),
            };
            let log = lo > 0 && hi >= lo * 8;
            format!("{lo}..{hi}:5{}", if log { ":log" } else { "" })
        }
        ParamKind::Float { min, max, .. } => format!("{min}..{max}:5"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ParamValue;

    fn lock_run(values: &str, measure: bool) -> SweepRun {
        let base = ParamSet::from([("duration_ms".to_owned(), ParamValue::Int(100))]);
        SweepRun::simulate(LabId::Lock, ("procs", values), &base, 1, measure).unwrap()
    }

    fn started(values: &str, measure: bool) -> SweepState {
        SweepState::new(LabId::Lock).next(SweepAction::Started(Ok(lock_run(values, measure))))
    }

    fn measured_trace(procs: i64) -> TraceRef {
        let params = ParamSet::from([("procs".to_owned(), ParamValue::Int(procs))]);
        TraceRef(Rc::new(shared::lab::simulate(LabId::Lock, &params, 9).unwrap()))
    }

    #[test]
    fn a_measured_sweep_asks_one_point_at_a_time_and_ends_done() {
        let mut s = started("1,2,3", true);
        for (point, procs) in [(0usize, 1i64), (1, 2), (2, 3)] {
            assert_eq!(s.run.as_ref().unwrap().to_ask(), Some(point));
            s = s.next(SweepAction::Asked { point, request: 10 + point as u32 });
            assert_eq!(s.run.as_ref().unwrap().to_ask(), None, "asked once");
            // Another request's end is not this point's.
            let other = s.next(SweepAction::Ended { request: 99, end: PointEnd::Measured(measured_trace(procs)) });
            assert_eq!(other, s);
            s = s.next(SweepAction::Ended {
                request: 10 + point as u32,
                end: PointEnd::Measured(measured_trace(procs)),
            });
        }
        let run = s.run.as_ref().unwrap();
        assert_eq!((run.phase.clone(), run.done()), (Phase::Done, 3));
        assert!(run.figures.iter().all(|f| f.error.contains_key("throughput")));
        assert!(!s.measuring());
    }

    #[test]
    fn a_stopped_point_stops_the_sweep_and_keeps_what_was_measured() {
        let s = started("1,2,3", true).next(SweepAction::Asked { point: 0, request: 1 });
        let s = s.next(SweepAction::Ended { request: 1, end: PointEnd::Measured(measured_trace(1)) });
        let s = s.next(SweepAction::Asked { point: 1, request: 2 });
        let stopped =
            s.next(SweepAction::Ended { request: 2, end: PointEnd::Stopped(Text::new("ui.status.cancelled")) });
        let run = stopped.run.as_ref().unwrap();
        assert_eq!(run.phase, Phase::Stopped { at: 1, why: Text::new("ui.status.cancelled") });
        assert_eq!(run.done(), 1);
        assert_eq!(run.to_ask(), None);
        let by_reader = s.next(SweepAction::Stop(Text::new("ui.sweep.cancelled")));
        assert!(matches!(by_reader.run.as_ref().unwrap().phase, Phase::Stopped { at: 1, .. }));
    }

    #[test]
    fn a_simulated_sweep_asks_for_nothing_and_a_refused_one_says_why() {
        let s = started("1,2", false);
        assert_eq!(s.run.as_ref().unwrap().to_ask(), None);
        assert_eq!(s.run.as_ref().unwrap().phase, Phase::Simulated);
        let err = SweepRun::simulate(LabId::Lock, ("wake_us", "1,2"), &ParamSet::new(), 1, true).unwrap_err();
        let refused = s.next(SweepAction::Started(Err(err.text())));
        assert!(refused.error.is_some() && refused.run.is_some(), "the last sweep stays on show");
    }

    #[test]
    fn the_measured_traces_kept_are_bounded_and_the_figures_stay() {
        let mut run = lock_run("1,2,3", true);
        let big = |n: usize| {
            let mut trace = (*measured_trace(1).0).clone();
            let last = trace.events.last().unwrap().clone();
            trace.events.resize(n, last);
            TraceRef(Rc::new(trace))
        };
        run.keep(0, big(KEEP_EVENTS / 2 + 1));
        run.keep(1, big(KEEP_EVENTS / 2 + 1));
        assert_eq!((run.measured[0].is_none(), run.measured[1].is_some(), run.released), (true, true, 1));
        run.keep(2, big(10));
        assert_eq!(run.released, 1);
    }

    #[test]
    fn a_kept_sweep_reopens_with_its_figures_as_kept() {
        let mut s = started("1,2", true).next(SweepAction::Asked { point: 0, request: 1 });
        s = s.next(SweepAction::Ended { request: 1, end: PointEnd::Measured(measured_trace(1)) });
        s = s.next(SweepAction::Asked { point: 1, request: 2 });
        s = s.next(SweepAction::Ended { request: 2, end: PointEnd::Measured(measured_trace(2)) });
        let report = s.run.as_ref().unwrap().report("fairness");
        let json = serde_json::to_string(&report).unwrap();
        let back: SweepReport = serde_json::from_str(&json).unwrap();
        let base = ParamSet::from([("duration_ms".to_owned(), ParamValue::Int(100))]);
        let run = SweepRun::restore(LabId::Lock, &base, 1, &back).unwrap();
        assert_eq!((run.figures.clone(), run.phase.clone(), run.from_history), (report.points, Phase::Done, true));
        let reopened = SweepState::new(LabId::Lock).next(SweepAction::Restore { run, metric: "fairness".into() });
        assert_eq!((reopened.values.as_str(), reopened.metric.as_str()), ("1,2", "fairness"));
    }

    #[test]
    fn default_values_make_a_valid_sweep_for_every_parameter() {
        for lab in LabId::ALL {
            for spec in lab.info().params {
                let values = default_values(lab, spec);
                Sweep::new(lab, spec.key, &values, &ParamSet::new())
                    .unwrap_or_else(|e| panic!("{lab} {}: {values}: {e}", spec.key));
            }
        }
    }
}
