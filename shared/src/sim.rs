//! The discrete-event engine. Like quinn-proto, a model never reads a clock: the driver asks when it next wants
//! to run (`poll_timeout`), advances it to that moment (`handle_timeout(now)`) and drains what it emitted
//! (`poll_event`). A run is therefore a pure function of the model's inputs, on any target.

use crate::time::Nanos;
use crate::trace::Event;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A simulated system driven by simulated time.
pub trait Model {
    /// The next moment the model wants to be advanced to, if any.
    fn poll_timeout(&self) -> Option<Nanos>;
    /// Advances the model to `now` (never earlier than the previous call).
    fn handle_timeout(&mut self, now: Nanos);
    /// The next event the model emitted, in order.
    fn poll_event(&mut self) -> Option<Event>;
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The model had nothing more to do.
    Quiet,
    /// The event budget was reached at this moment.
    Budget(Nanos),
}

/// Drives `model` until it goes quiet or `max_events` were emitted.
pub fn run(model: &mut impl Model, max_events: usize) -> (Vec<Event>, Stop) {
    let mut events = Vec::new();
    while let Some(now) = model.poll_timeout() {
        model.handle_timeout(now);
        while let Some(event) = model.poll_event() {
            events.push(event);
            if events.len() >= max_events {
                return (events, Stop::Budget(now));
            }
        }
    }
    (events, Stop::Quiet)
}

/// Pending wake-ups, earliest first; wake-ups due at the same moment fire in the order they were set, which is
/// what keeps the engine deterministic.
#[derive(Debug, Clone)]
pub struct Timers<K> {
    heap: BinaryHeap<Due<K>>,
    next_seq: u64,
}

/// A wake-up: when, and its place in the order they were set, packed into one number the heap compares (the
/// engine's hottest comparison; the key itself is never compared).
#[derive(Debug, Clone, Copy)]
struct Due<K> {
    order: u128,
    key: K,
}

impl<K> Due<K> {
    fn at(&self) -> Nanos {
        Nanos((self.order >> 64) as u64)
    }
}

impl<K> PartialEq for Due<K> {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl<K> Eq for Due<K> {}

impl<K> PartialOrd for Due<K> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The earliest is the greatest: `BinaryHeap` pops its greatest.
impl<K> Ord for Due<K> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.order.cmp(&self.order)
    }
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Timers { heap: BinaryHeap::new(), next_seq: 0 }
    }
}

impl<K: Copy> Timers<K> {
    pub fn set(&mut self, at: Nanos, key: K) {
        self.heap.push(Due { order: (u128::from(at.0) << 64) | u128::from(self.next_seq), key });
        self.next_seq += 1;
    }

    pub fn next_due(&self) -> Option<Nanos> {
        self.heap.peek().map(Due::at)
    }

    /// Removes and returns the earliest wake-up if it is due at or before `now`.
    pub fn pop_due(&mut self, now: Nanos) -> Option<K> {
        match self.heap.peek() {
            Some(due) if due.at() <= now => self.heap.pop().map(|due| due.key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_time_then_insertion_order() {
        let mut timers = Timers::default();
        timers.set(Nanos(20), 'c');
        timers.set(Nanos(10), 'a');
        timers.set(Nanos(10), 'b');
        assert_eq!(timers.next_due(), Some(Nanos(10)));
        assert_eq!(timers.pop_due(Nanos(5)), None);
        assert_eq!(timers.pop_due(Nanos(10)), Some('a'));
        assert_eq!(timers.pop_due(Nanos(10)), Some('b'));
        assert_eq!(timers.pop_due(Nanos(10)), None);
        assert_eq!(timers.pop_due(Nanos(99)), Some('c'));
    }
}
