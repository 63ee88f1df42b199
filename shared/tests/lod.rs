//! Level of detail, against the spans themselves: the covered time of every state in any range is what a walk
//! over the spans finds, and the marks for any range and width are in order, within the range, no more than
//! the columns, and show every state that covers time in the range somewhere.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use shared::Nanos;
use shared::lod::{LodLane, MAX_STATES};

/// Spans in order with gaps: (gap before, length, state).
fn spans() -> impl Strategy<Value = Vec<(Nanos, Nanos, u8)>> {
    prop::collection::vec((0u64..50, 0u64..50, 0u8..MAX_STATES as u8), 0..200).prop_map(|parts| {
        let mut t = 0;
        parts
            .into_iter()
            .map(|(gap, len, state)| {
                let start = t + gap;
                t = start + len;
                (Nanos(start), Nanos(t), state)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn covered_time_is_the_walks(spans in spans(), a in 0u64..10_000, len in 0u64..10_000) {
        let lane = LodLane::new(spans.clone());
        let (from, to) = (a, a + len);
        let mut walked = [0u64; MAX_STATES];
        for (start, end, state) in &spans {
            let (s, e) = (start.0.max(from), end.0.min(to));
            if e > s {
                walked[usize::from(*state)] += e - s;
            }
        }
        prop_assert_eq!(lane.covered(Nanos(from), Nanos(to)), walked);
    }

    #[test]
    fn marks_are_ordered_within_the_range_and_no_more_than_the_columns(
        spans in spans(), a in 0u64..5_000, len in 1u64..10_000, columns in 1usize..300,
    ) {
        let lane = LodLane::new(spans.clone());
        let (from, to) = (Nanos(a), Nanos(a + len));
        let marks = lane.marks(from, to, columns);
        prop_assert!(marks.len() <= columns.max(spans.len().min(columns)));
        for m in &marks {
            prop_assert!(from <= m.start && m.start <= m.end && m.end <= to, "{:?}", m);
            prop_assert!(m.share() > 0.0 && m.share() <= 1.0 + 1e-9, "{:?}", m);
        }
        for pair in marks.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?}", pair);
        }
        // Every state that covers time in the range shows in some mark, at any zoom.
        let covered = lane.covered(from, to);
        for (state, time) in covered.iter().enumerate() {
            if *time > 0 {
                prop_assert!(marks.iter().any(|m| m.shares[state] > 0.0), "state {} is not drawn", state);
            }
        }
    }
}
