//! A measured run repeated: the workload run several times, end to end in one trace, each repeat opened by an
//! [`EventKind::Repeat`] mark; every figure is the median of the repeats' own figures, with half their range as
//! its spread. One run cannot say how far its figure would move on the next; three can. The simulation is the
//! model's one run, so only measured runs repeat (the Amdahl lab repeats inside its own run instead).

use crate::i18n::Text;
use crate::params::{ParamKind, ParamSpec};
use crate::trace::{EventKind, Metric, Trace, Unit};
use crate::{Nanos, ParamSet, ParamValue};

/// The parameter every repeating lab has.
pub const KEY: &str = "repeats";
/// The most repeats one run may ask for.
pub const MAX: i64 = 10;

/// The `repeats` parameter, with a lab's own default.
pub const fn spec(default: i64) -> ParamSpec {
    ParamSpec {
        key: KEY,
        label: "Repeats",
        unit: "",
        help: "A measured run repeats the whole workload this many times, one after the other; each figure is the \
               median of the repeats, ± half their range. The simulation runs once.",
        kind: ParamKind::Int { min: 1, max: MAX, default },
        simulation_only: false,
    }
}

/// How many repeats `params` ask for (1 when they do not say).
pub fn asked(params: &ParamSet) -> u32 {
    match params.get(KEY) {
        Some(ParamValue::Int(n)) => u32::try_from((*n).clamp(1, MAX)).unwrap_or(1),
        _ => 1,
    }
}

/// How many repeats a trace holds: its marks, or one for a trace without them.
pub fn count(trace: &Trace) -> usize {
    trace.events.iter().filter(|e| matches!(e.kind, EventKind::Repeat(_))).count().max(1)
}

/// The repeats of a trace, each a trace of its own with its times from its own mark (a trace without marks is
/// its one repeat). A repeat holds the events from its mark up to the next repeat's, the marks themselves left
/// out; whatever follows the last mark (the run's load) goes with the last repeat.
pub fn split(trace: &Trace) -> Vec<Trace> {
    let starts: Vec<Nanos> =
        trace.events.iter().filter(|e| matches!(e.kind, EventKind::Repeat(_))).map(|e| e.t).collect();
    if starts.is_empty() {
        return vec![trace.clone()];
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            // Events are in time order: each repeat is one slice of them.
            let from = trace.events.partition_point(|e| e.t < start);
            let to = starts.get(i + 1).map_or(trace.events.len(), |&end| trace.events.partition_point(|e| e.t < end));
            let events = trace.events[from..to]
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Repeat(_)))
                .map(|e| crate::Event { t: Nanos(e.t.0 - start.0), ..e.clone() })
                .collect();
            Trace { run: trace.run.clone(), actors: trace.actors.clone(), events, notes: trace.notes.clone() }
        })
        .collect()
}

/// The repeats' figures as one: each figure (in the first repeat's order) the median of the repeats that have
/// it, with half their range as its spread; a yes-or-no the worst of them, since one failed check fails the run.
/// One repeat's figures come back as they are.
pub fn combine(mut runs: Vec<Vec<Metric>>) -> Vec<Metric> {
    if runs.len() < 2 {
        return runs.pop().unwrap_or_default();
    }
    let mut combined = runs[0].clone();
    for metric in &mut combined {
        let mut values: Vec<f64> =
            runs.iter().filter_map(|run| run.iter().find(|m| m.key == metric.key)?.value).collect();
        values.sort_by(f64::total_cmp);
        let (Some(&low), Some(&high)) = (values.first(), values.last()) else { continue };
        if metric.unit == Unit::Verdict {
            metric.value = Some(low);
            continue;
        }
        metric.value = median(&values);
        metric.spread = Some((high - low) / 2.0);
    }
    combined
}

/// The figure saying how many repeats the others are medians of, for a run of more than one.
pub fn metric(trace: &Trace) -> Option<Metric> {
    let n = count(trace);
    (n > 1).then(|| Metric::new("repeats", Text::new("metric.repeats"), Unit::Count, Some(n as f64)))
}

/// The notes of a run's repeats, each said once: a note every repeat said alike stays as it is; one said by some
/// repeats only, or with figures of their own ("stopped at 140 ms" in each), is the first repeat's words with how
/// many repeats said so.
pub fn merge_notes(per_repeat: &[Vec<Text>]) -> Vec<Text> {
    let of = per_repeat.len();
    let kind = |note: &Text| match note {
        Text::Keyed { key, .. } => key.clone(),
        Text::Literal(words) => words.clone(),
    };
    let mut merged: Vec<(String, &Text, usize, bool)> = Vec::new();
    for notes in per_repeat {
        let mut seen = Vec::new();
        for note in notes {
            let key = kind(note);
            if seen.contains(&key) {
                continue;
            }
            match merged.iter_mut().find(|(k, ..)| *k == key) {
                Some((_, first, n, alike)) => {
                    *n += 1;
                    *alike &= *first == note;
                }
                None => merged.push((key.clone(), note, 1, true)),
            }
            seen.push(key);
        }
    }
    merged
        .into_iter()
        .map(|(_, note, n, alike)| match n == of && alike {
            true => note.clone(),
            false => Text::new("note.repeats.several").with_text("note", note.clone()).with("n", n).with("of", of),
        })
        .collect()
}

/// The median of sorted values: the middle one, or the mean of the middle two.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActorId, Event, LabId, RunInfo, Source};

    fn trace(events: Vec<(u64, EventKind)>) -> Trace {
        Trace {
            run: RunInfo { lab: LabId::Lock, params: ParamSet::new(), seed: 1, source: Source::Simulated },
            actors: Vec::new(),
            events: events.into_iter().map(|(t, kind)| Event { t: Nanos(t), actor: ActorId(0), kind }).collect(),
            notes: Vec::new(),
        }
    }

    fn lock(t: u64) -> (u64, EventKind) {
        (t, EventKind::Lock(crate::lab::lock::LockEvent::Released))
    }

    fn figure(key: &str, unit: Unit, value: Option<f64>) -> Metric {
        Metric::new(key, Text::Literal(key.into()), unit, value)
    }

    #[test]
    fn a_trace_splits_at_its_marks_with_times_from_each_mark() {
        let t = trace(vec![
            (0, EventKind::Repeat(0)),
            lock(5),
            lock(9),
            (1_010, EventKind::Repeat(1)),
            lock(1_010),
            lock(1_500),
        ]);
        let runs = split(&t);
        assert_eq!(count(&t), 2);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].events.iter().map(|e| e.t.0).collect::<Vec<_>>(), vec![5, 9]);
        assert_eq!(runs[1].events.iter().map(|e| e.t.0).collect::<Vec<_>>(), vec![0, 490]);
    }

    #[test]
    fn a_trace_without_marks_is_one_repeat() {
        let t = trace(vec![lock(1), lock(2)]);
        assert_eq!(count(&t), 1);
        assert_eq!(split(&t), vec![t.clone()]);
        assert_eq!(metric(&t), None);
    }

    #[test]
    fn figures_combine_as_median_and_half_range() {
        let run = |rate: f64, ok: f64| {
            vec![figure("rate", Unit::PerSecond, Some(rate)), figure("ok", Unit::Verdict, Some(ok))]
        };
        let combined = combine(vec![run(100.0, 1.0), run(130.0, 0.0), run(110.0, 1.0)]);
        assert_eq!(combined[0].value, Some(110.0));
        assert_eq!(combined[0].spread, Some(15.0));
        assert_eq!(combined[1].value, Some(0.0), "one failed check fails the run");
        assert_eq!(combined[1].spread, None);
        let even = combine(vec![run(100.0, 1.0), run(120.0, 1.0)]);
        assert_eq!((even[0].value, even[0].spread), (Some(110.0), Some(10.0)));
    }

    #[test]
    fn a_figure_missing_from_some_repeats_is_the_median_of_the_others() {
        let combined = combine(vec![
            vec![figure("p99", Unit::Nanos, None)],
            vec![figure("p99", Unit::Nanos, Some(10.0))],
            vec![figure("p99", Unit::Nanos, Some(30.0))],
        ]);
        assert_eq!((combined[0].value, combined[0].spread), (Some(20.0), Some(10.0)));
        let none = combine(vec![vec![figure("p99", Unit::Nanos, None)], vec![figure("p99", Unit::Nanos, None)]]);
        assert_eq!((none[0].value, none[0].spread), (None, None));
    }

    #[test]
    fn one_repeat_is_left_as_it_is() {
        let one = vec![figure("rate", Unit::PerSecond, Some(3.0))];
        assert_eq!(combine(vec![one.clone()]), one);
        assert_eq!(combine(Vec::new()), Vec::new());
    }

    #[test]
    fn notes_are_said_once_with_how_many_repeats_said_them() {
        let stopped = |ms: u32| Text::new("note.run_budget").with("at", ms).with("events", 100);
        let alike = Text::new("note.mmap.cold");
        let merged =
            merge_notes(&[vec![stopped(140), alike.clone()], vec![stopped(142), alike.clone()], vec![alike.clone()]]);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0],
            Text::new("note.repeats.several").with_text("note", stopped(140)).with("n", 2).with("of", 3)
        );
        assert_eq!(merged[1], alike, "said alike by every repeat: said as it is");
        assert_eq!(merge_notes(&[vec![alike.clone()]]), vec![alike]);
    }

    #[test]
    fn the_parameter_is_read_within_its_bounds() {
        assert_eq!(asked(&ParamSet::new()), 1);
        assert_eq!(asked(&ParamSet::from([(KEY.to_owned(), ParamValue::Int(4))])), 4);
        assert_eq!(asked(&ParamSet::from([(KEY.to_owned(), ParamValue::Int(99))])), MAX as u32);
    }
}
