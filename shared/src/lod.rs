//! Level of detail for timelines: a lane of spans (a process waiting, holding, working…) summarised so that a
//! chart of any zoom draws at most one mark per pixel column, whether the lane holds ten spans or a million.
//! Built once per trace ([`LodLane::new`], O(n)), asked once per frame ([`LodLane::marks`], O(columns · log n)):
//! per state, the running total of its spans' time, so the time a state covers in any range is two binary
//! searches and a difference. A column shows each state's share of its time (a span shorter than a pixel still
//! shows), and neighbouring columns of the same mix merge into one mark. When
//! the range holds no more spans than columns, the spans themselves are the marks, exactly. A step chart (a
//! queue's length) is outlined the same way ([`step_outline`]), and [`Window`] is the part of the run shown.

use crate::time::Nanos;

/// The most states a lane tells apart.
pub const MAX_STATES: usize = 4;

/// One lane's spans, in time order and not overlapping, with each state's running total of time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LodLane {
    starts: Vec<u64>,
    ends: Vec<u64>,
    states: Vec<u8>,
    /// `totals[i * MAX_STATES + s]`: the time of state `s` in spans `0..i`.
    totals: Vec<u64>,
}

/// What a chart draws for a lane from `start` to `end`: how much of that time each state covers (an exact span:
/// 1 for its state; a summary of many: each state's share, the rest gaps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub start: Nanos,
    pub end: Nanos,
    pub shares: [f64; MAX_STATES],
}

impl Mark {
    fn exact(start: Nanos, end: Nanos, state: u8) -> Mark {
        let mut shares = [0.0; MAX_STATES];
        shares[usize::from(state)] = 1.0;
        Mark { start, end, shares }
    }

    /// The state that covers most of it.
    pub fn state(&self) -> u8 {
        (0..MAX_STATES).max_by(|a, b| self.shares[*a].total_cmp(&self.shares[*b])).unwrap_or(0) as u8
    }

    /// How much of it any state covers.
    pub fn share(&self) -> f64 {
        self.shares.iter().sum()
    }

    /// The states it holds, with their shares, in the states' order.
    pub fn stack(&self) -> impl Iterator<Item = (u8, f64)> + '_ {
        (0..MAX_STATES).filter(|s| self.shares[*s] > 0.0).map(|s| (s as u8, self.shares[s]))
    }
}

/// Shares within this of each other draw the same: neighbouring columns merge.
const SHARE_STEPS: f64 = 16.0;

impl LodLane {
    /// The lane of `spans` (start, end, state): spans out of order, overlapping the one before or of a state
    /// beyond [`MAX_STATES`] are left out, so the summary stays exact for the rest.
    pub fn new(spans: impl IntoIterator<Item = (Nanos, Nanos, u8)>) -> LodLane {
        let mut lane = LodLane { totals: vec![0; MAX_STATES], ..LodLane::default() };
        for (start, end, state) in spans {
            let after_last = lane.ends.last().is_none_or(|last| *last <= start.0);
            if start > end || !after_last || usize::from(state) >= MAX_STATES {
                continue;
            }
            let base = lane.totals.len() - MAX_STATES;
            let mut next: [u64; MAX_STATES] = std::array::from_fn(|s| lane.totals[base + s]);
            next[usize::from(state)] += end.0 - start.0;
            lane.totals.extend_from_slice(&next);
            lane.starts.push(start.0);
            lane.ends.push(end.0);
            lane.states.push(state);
        }
        lane
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The spans that meet `[from, to)`: their indices.
    fn meeting(&self, from: u64, to: u64) -> std::ops::Range<usize> {
        let first = self.ends.partition_point(|&end| end <= from);
        let past = self.starts.partition_point(|&start| start < to);
        first..past.max(first)
    }

    /// The time each state covers within `[from, to)`.
    pub fn covered(&self, from: Nanos, to: Nanos) -> [u64; MAX_STATES] {
        let (from, to) = (from.0, to.0);
        let spans = self.meeting(from, to);
        let mut covered: [u64; MAX_STATES] = std::array::from_fn(|s| {
            self.totals[spans.end * MAX_STATES + s] - self.totals[spans.start * MAX_STATES + s]
        });
        // The spans at either end may stick out of the range: take off what does.
        if let Some(first) = spans.clone().next() {
            covered[usize::from(self.states[first])] -= from.saturating_sub(self.starts[first]);
        }
        if let Some(last) = spans.clone().next_back() {
            covered[usize::from(self.states[last])] -= self.ends[last].saturating_sub(to);
        }
        covered
    }

    /// The marks that draw `[from, to)` in `columns` pixel columns: the spans themselves, clipped, when there
    /// are no more of them than columns; otherwise one per run of columns whose states' shares are the same to
    /// a sixteenth (a column none of whose time is covered draws nothing).
    pub fn marks(&self, from: Nanos, to: Nanos, columns: usize) -> Vec<Mark> {
        if to <= from || columns == 0 {
            return Vec::new();
        }
        let spans = self.meeting(from.0, to.0);
        if spans.len() <= columns {
            return spans
                .map(|i| Mark::exact(Nanos(self.starts[i].max(from.0)), Nanos(self.ends[i].min(to.0)), self.states[i]))
                .collect();
        }
        let width = (to.0 - from.0) as f64;
        let edge = |c: usize| Nanos(from.0 + (width * c as f64 / columns as f64).round() as u64);
        let steps = |shares: &[f64; MAX_STATES]| shares.map(|x| (x * SHARE_STEPS).round() as u8);
        let mut marks: Vec<Mark> = Vec::new();
        for c in 0..columns {
            let (start, end) = (edge(c), edge(c + 1));
            if end <= start {
                continue;
            }
            let covered = self.covered(start, end);
            if covered.iter().all(|t| *t == 0) {
                continue;
            }
            let shares = covered.map(|t| t as f64 / (end.0 - start.0) as f64);
            match marks.last_mut() {
                Some(last) if last.end == start && steps(&last.shares) == steps(&shares) => {
                    // A merged mark's shares are its columns', weighted by their time.
                    let (a, b) = ((last.end.0 - last.start.0) as f64, (end.0 - start.0) as f64);
                    for (mine, theirs) in last.shares.iter_mut().zip(shares) {
                        *mine = (*mine * a + theirs * b) / (a + b);
                    }
                    last.end = end;
                }
                _ => marks.push(Mark { start, end, shares }),
            }
        }
        marks
    }
}

/// The outline of a step chart (a queue's length over time, `points` in time order) over `[from, to)` in
/// `columns` pixel columns, as the polyline's vertices: every change, when there are no more than columns;
/// otherwise, per column with changes, its value before, its highest and lowest, and its last, all at the
/// column's left edge, so a burst narrower than a pixel still shows its extent.
pub fn step_outline(points: &[(Nanos, u32)], from: Nanos, to: Nanos, columns: usize) -> Vec<(Nanos, u32)> {
    if to <= from || columns == 0 {
        return Vec::new();
    }
    let first = points.partition_point(|p| p.0 < from);
    let past = points.partition_point(|p| p.0 < to);
    let mut value = first.checked_sub(1).map_or(0, |i| points[i].1);
    let mut out = vec![(from, value)];
    let inside = &points[first..past.max(first)];
    if inside.len() <= columns {
        for &(t, v) in inside {
            out.extend([(t, value), (t, v)]);
            value = v;
        }
    } else {
        let width = (to.0 - from.0) as f64;
        let column = |t: Nanos| (((t.0 - from.0) as f64 / width * columns as f64) as usize).min(columns - 1);
        let edge = |c: usize| Nanos(from.0 + (width * c as f64 / columns as f64).round() as u64);
        let mut rest = inside;
        while let Some(&(t, _)) = rest.first() {
            let c = column(t);
            let n = rest.iter().take_while(|p| column(p.0) == c).count();
            let (here, after) = rest.split_at(n);
            let (low, high) = here.iter().fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
            let last = here[n - 1].1;
            out.extend([(edge(c), value), (edge(c), high), (edge(c), low), (edge(c), last)]);
            value = last;
            rest = after;
        }
    }
    out.push((to, value));
    out
}

/// The part of a run a timeline shows, as fractions of the run (so it holds across a new trace of the same
/// page): zoomed about a point that stays put, panned, never past either end nor narrower than [`Window::MIN`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: f64,
    pub to: f64,
}

impl Default for Window {
    fn default() -> Self {
        Window::WHOLE
    }
}

impl Window {
    pub const WHOLE: Window = Window { from: 0.0, to: 1.0 };
    /// The narrowest window: a millionth of the run (an event or so of a million-event trace).
    pub const MIN: f64 = 1e-6;
    /// How far one step of the keys or buttons zooms.
    pub const STEP: f64 = 2.0;

    pub fn width(self) -> f64 {
        self.to - self.from
    }

    pub fn is_whole(self) -> bool {
        self.from <= 0.0 && self.to >= 1.0
    }

    /// `factor` times narrower (below 1: wider), keeping the moment at `at` (0 the left edge, 1 the right) where
    /// it is.
    pub fn zoom(self, factor: f64, at: f64) -> Window {
        if !factor.is_finite() || factor <= 0.0 {
            return self;
        }
        let at = at.clamp(0.0, 1.0);
        let pivot = self.from + self.width() * at;
        let width = (self.width() / factor).clamp(Window::MIN, 1.0);
        Window { from: pivot - width * at, to: pivot - width * at + width }.within()
    }

    /// Moved by `by` of its own width (negative: earlier).
    pub fn pan(self, by: f64) -> Window {
        if !by.is_finite() {
            return self;
        }
        let shift = self.width() * by;
        Window { from: self.from + shift, to: self.to + shift }.within()
    }

    /// This window, or, when the moment `t` (a fraction of the run) is outside it, the same width moved so that
    /// `t` is a tenth in from the edge it crossed: a playhead running off a zoomed chart takes the chart along.
    pub fn following(self, t: f64) -> Window {
        let w = self.width();
        if t > self.to {
            Window { from: t - w * 0.1, to: t + w * 0.9 }.within()
        } else if t < self.from {
            Window { from: t - w * 0.9, to: t + w * 0.1 }.within()
        } else {
            self
        }
    }

    /// The moment at `x` across the window (0 its left edge, 1 its right), as a fraction of the run.
    pub fn at(self, x: f64) -> f64 {
        self.from + self.width() * x
    }

    /// Shifted back inside the run, whole if it was wider.
    fn within(self) -> Window {
        let width = self.width().clamp(Window::MIN, 1.0);
        let from = self.from.clamp(0.0, 1.0 - width);
        Window { from, to: from + width }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(spans: &[(u64, u64, u8)]) -> LodLane {
        LodLane::new(spans.iter().map(|&(a, b, s)| (Nanos(a), Nanos(b), s)))
    }

    #[test]
    fn covered_time_is_clipped_to_the_range() {
        let l = lane(&[(0, 10, 0), (20, 30, 1), (30, 50, 0)]);
        assert_eq!(l.covered(Nanos(0), Nanos(100)), [30, 10, 0, 0]);
        assert_eq!(l.covered(Nanos(5), Nanos(25)), [5, 5, 0, 0]);
        assert_eq!(l.covered(Nanos(22), Nanos(24)), [0, 2, 0, 0], "inside one span");
        assert_eq!(l.covered(Nanos(10), Nanos(20)), [0; MAX_STATES], "in the gap");
        assert_eq!(l.covered(Nanos(60), Nanos(70)), [0; MAX_STATES], "after the last");
    }

    #[test]
    fn few_spans_are_drawn_exactly() {
        let l = lane(&[(0, 10, 0), (20, 30, 1)]);
        let marks = l.marks(Nanos(5), Nanos(100), 10);
        assert_eq!(marks.len(), 2);
        assert_eq!((marks[0].start, marks[0].end, marks[0].state()), (Nanos(5), Nanos(10), 0));
        assert_eq!((marks[1].start, marks[1].end, marks[1].state(), marks[1].share()), (Nanos(20), Nanos(30), 1, 1.0));
    }

    #[test]
    fn a_column_shows_each_states_share_and_a_short_span_still_shows() {
        // 900 spans over 0..9 000: state 1 for 9 of every 10 ns in the first half, state 0 after; a single 1 ns
        // span of state 2 alone in the last column.
        let mut spans: Vec<(u64, u64, u8)> = (0..500).map(|i| (i * 10, i * 10 + 9, 1)).collect();
        spans.extend((500..900).map(|i| (i * 10, i * 10 + 9, 0)));
        spans.push((9_995, 9_996, 2));
        let l = lane(&spans);
        let marks = l.marks(Nanos(0), Nanos(10_000), 10);
        let states: Vec<u8> = marks.iter().map(Mark::state).collect();
        assert_eq!(states, vec![1, 0, 2], "{marks:?}");
        assert_eq!((marks[0].start, marks[0].end), (Nanos(0), Nanos(5_000)), "five columns merged");
        assert!((marks[0].share() - 0.9).abs() < 1e-9, "{:?}", marks[0]);
        assert_eq!((marks[2].start, marks[2].end), (Nanos(9_000), Nanos(10_000)));
        assert!((marks[2].share() - 0.001).abs() < 1e-9, "a column barely covered says so");
        // Two states mixed in every column: both shares, in one merged mark.
        let mixed = lane(&(0..1_000u64).map(|i| (i * 10, i * 10 + 10, (i % 4 == 0) as u8)).collect::<Vec<_>>());
        let marks = mixed.marks(Nanos(0), Nanos(10_000), 10);
        assert_eq!(marks.len(), 1, "{marks:?}");
        assert!((marks[0].shares[1] - 0.25).abs() < 1e-9 && (marks[0].shares[0] - 0.75).abs() < 1e-9, "{marks:?}");
        assert_eq!(marks[0].stack().map(|(s, _)| s).collect::<Vec<_>>(), vec![0, 1]);
        assert!(marks.len() <= 10, "never more marks than columns");
    }

    #[test]
    fn a_million_spans_draw_in_at_most_a_mark_per_column() {
        let l = LodLane::new((0..1_000_000u64).map(|i| (Nanos(i * 3), Nanos(i * 3 + 2), (i % 2) as u8)));
        let marks = l.marks(Nanos(0), Nanos(3_000_000), 700);
        assert!(!marks.is_empty() && marks.len() <= 700);
        // Zoomed in on 30 ns: ten spans, drawn as they are.
        let near = l.marks(Nanos(300), Nanos(330), 700);
        assert_eq!(near.len(), 10);
        assert!(near.iter().all(|m| m.share() == 1.0 && m.end.0 - m.start.0 == 2));
    }

    #[test]
    fn a_window_zooms_about_its_pivot_and_stays_inside_the_run() {
        let w = Window::WHOLE.zoom(4.0, 0.5);
        assert!((w.from - 0.375).abs() < 1e-12 && (w.to - 0.625).abs() < 1e-12, "{w:?}");
        // The moment under the pointer stays under it.
        let z = w.zoom(2.0, 0.25);
        assert!((w.at(0.25) - z.at(0.25)).abs() < 1e-12);
        assert!(Window::WHOLE.zoom(0.5, 0.3).is_whole(), "never wider than the run");
        assert!((Window::WHOLE.zoom(1e12, 0.5).width() - Window::MIN).abs() < 1e-15, "nor narrower than MIN");
        let right = w.pan(10.0);
        assert!((right.to - 1.0).abs() < 1e-12 && (right.width() - 0.25).abs() < 1e-12, "{right:?}");
        assert_eq!(w.pan(f64::NAN), w);
        assert_eq!(w.zoom(0.0, 0.5), w);
    }

    #[test]
    fn a_window_follows_a_playhead_that_leaves_it() {
        let w = Window { from: 0.0, to: 0.2 };
        assert_eq!(w.following(0.1), w);
        let moved = w.following(0.5);
        assert!((moved.from - 0.48).abs() < 1e-12 && (moved.width() - 0.2).abs() < 1e-12, "{moved:?}");
        assert!(moved.following(0.3).from < 0.3 && moved.following(0.3).to > 0.3);
        assert!((w.following(1.0).to - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_step_outline_keeps_every_change_when_few_and_each_columns_extent_when_many() {
        let points = [(Nanos(10), 3), (Nanos(20), 1), (Nanos(40), 0)];
        let exact = step_outline(&points, Nanos(15), Nanos(50), 10);
        assert_eq!(
            exact,
            vec![(Nanos(15), 3), (Nanos(20), 3), (Nanos(20), 1), (Nanos(40), 1), (Nanos(40), 0), (Nanos(50), 0)]
        );
        // A burst up to 9 and back inside one column of ten.
        let mut many: Vec<(Nanos, u32)> = (0..10u32).map(|i| (Nanos(100 + u64::from(i)), i)).collect();
        many.extend((0..10u32).map(|i| (Nanos(110 + u64::from(i)), 9 - i)));
        let outline = step_outline(&many, Nanos(0), Nanos(1_000), 10);
        assert!(outline.len() <= 2 + 4 * 10, "{outline:?}");
        assert!(outline.contains(&(Nanos(100), 9)), "the burst's top shows: {outline:?}");
        assert_eq!(outline.last(), Some(&(Nanos(1_000), 0)));
    }

    #[test]
    fn spans_that_break_the_order_are_left_out() {
        let l = lane(&[(0, 10, 0), (5, 8, 1), (10, 20, 9), (30, 20, 0), (40, 50, 3)]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.covered(Nanos(0), Nanos(100)), [10, 0, 0, 10]);
    }
}
