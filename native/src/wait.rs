//! Waiting as long as an experiment asked, from 0 up. `std::thread::sleep` of a few microseconds lasts tens of
//! them on Linux (timer slack, then the wake-up), so a lab that slept its "hold 10 µs" measured another workload
//! than the one its parameters and its simulation describe. A [`Waiter`] sleeps only for the part of a wait it can
//! trust the kernel with, with the thread's timer slack at 1 ns, and spins on the monotonic clock for the rest
//! (yielding the CPU to others until the last few microseconds):
//! its waits end within a few hundred nanoseconds of the deadline unless the thread is preempted, and then the
//! run's wait report says so. The plan (how much to sleep, whether to spin) is a pure function, tested alone.

use crate::clock::monotonic_ns;
use std::cell::Cell;
use std::time::Duration;

/// The next step of a wait with `remaining` nanoseconds to go, when a sleep may wake up to `margin` late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The deadline has come.
    Done,
    /// Sleep this long: the wake-up lands before the deadline even when it is `margin` late.
    Sleep(u64),
    /// Too close to the deadline to trust a sleep, not close enough to keep the CPU from others: give it up to
    /// whatever else may run, and look at the clock again.
    Yield,
    /// Close to the deadline: look at the clock again.
    Spin,
}

/// The last stretch of a wait is spun without yielding: a yield may keep a thread off the CPU for a wake-up
/// (tens of µs) when others run. Waits this short are spun whole, as a C loop would, so a busy retry stays busy.
pub const SPIN_ALONE_NS: u64 = shared::lab::SPIN.0;

/// What to do with `remaining` nanoseconds left before the deadline.
pub fn plan(remaining: u64, margin: u64) -> Step {
    match remaining {
        0 => Step::Done,
        r if r > margin => Step::Sleep(r - margin),
        r if r > SPIN_ALONE_NS => Step::Yield,
        _ => Step::Spin,
    }
}

/// The least and the most a waiter keeps for spinning: below the least a wake-up is never that precise here;
/// above the most, a machine is too busy for precise waits anyway and spinning longer would only burn a CPU.
const MARGIN_RANGE: (u64, u64) = (20_000, 300_000);

/// How late a sleep's wake-up may be, as measured on this thread: twice the latest of a few short sleeps.
pub(crate) fn measure_margin() -> u64 {
    let mut latest = 0;
    for _ in 0..8 {
        let asked = 50_000;
        let start = monotonic_ns();
        std::thread::sleep(Duration::from_nanos(asked));
        latest = latest.max((monotonic_ns() - start).saturating_sub(asked));
    }
    (2 * latest).clamp(MARGIN_RANGE.0, MARGIN_RANGE.1)
}

/// Set (to anything) in a companion's environment, its experiments wait the way they used to: a plain
/// `std::thread::sleep` at the default timer slack. The tests use it to see a run marked for its waits; a user
/// may use it to see what a plain sleep does to a workload.
pub const COARSE_WAITS_ENV: &str = "SYSLAB_COARSE_WAITS";

/// The margin after a sleep woke `late`: twice that when it passed the margin (up to the most kept).
pub fn grown_margin(margin: u64, late: u64) -> u64 {
    if late > margin { late.saturating_mul(2).min(MARGIN_RANGE.1).max(margin) } else { margin }
}

/// Waits for one thread: made on the thread that waits (the timer slack is the thread's own). Its margin grows
/// when a sleep wakes later than it: the next waits spin longer rather than overshoot again.
#[derive(Debug, Clone)]
pub struct Waiter {
    margin: Cell<u64>,
    /// Plain sleeps, for [`COARSE_WAITS_ENV`].
    coarse: bool,
}

fn coarse() -> bool {
    std::env::var_os(COARSE_WAITS_ENV).is_some()
}

impl Waiter {
    /// Sets this thread's timer slack to 1 ns and measures how late its sleeps wake (about half a millisecond).
    pub fn for_this_thread() -> std::io::Result<Waiter> {
        if coarse() {
            return Ok(Waiter { margin: Cell::new(0), coarse: true });
        }
        set_fine_timer_slack()?;
        Ok(Waiter { margin: Cell::new(measure_margin()), coarse: false })
    }

    /// The same, trusting a margin measured already (by [`Waiter::margin`] of another thread's waiter): for
    /// many threads that start at once. A timer slack the kernel refuses leaves the sleeps coarser; the spin
    /// still ends each wait on time unless the sleep overshoots the margin, and the run's wait report shows it.
    pub fn with_margin(margin: u64) -> Waiter {
        if coarse() {
            return Waiter { margin: Cell::new(0), coarse: true };
        }
        let _ = set_fine_timer_slack();
        Waiter { margin: Cell::new(margin.clamp(MARGIN_RANGE.0, MARGIN_RANGE.1)), coarse: false }
    }

    pub fn margin(&self) -> u64 {
        self.margin.get()
    }

    /// Waits until `deadline` on CLOCK_MONOTONIC.
    pub fn until(&self, deadline: u64) {
        if self.coarse {
            std::thread::sleep(Duration::from_nanos(deadline.saturating_sub(monotonic_ns())));
            return;
        }
        loop {
            let now = monotonic_ns();
            match plan(deadline.saturating_sub(now), self.margin.get()) {
                Step::Done => return,
                Step::Sleep(ns) => {
                    std::thread::sleep(Duration::from_nanos(ns));
                    let late = monotonic_ns().saturating_sub(now + ns);
                    self.margin.set(grown_margin(self.margin.get(), late));
                }
                Step::Yield => std::thread::yield_now(),
                Step::Spin => std::hint::spin_loop(),
            }
        }
    }

    /// Waits `ns` from now; returns how long the wait really took.
    pub fn wait(&self, ns: u64) -> u64 {
        let start = monotonic_ns();
        if ns > 0 {
            self.until(start + ns);
        }
        monotonic_ns() - start
    }
}

/// CPU work: busy for `ns` of the clock. Returns what it took: more when the thread was preempted at its end.
pub fn spin(ns: u64) -> u64 {
    let start = monotonic_ns();
    while monotonic_ns() - start < ns {
        std::hint::spin_loop();
    }
    monotonic_ns() - start
}

fn set_fine_timer_slack() -> std::io::Result<()> {
    rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1)).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_sleeps_what_it_can_trust_and_spins_the_rest() {
        let check = |remaining, margin, want| assert_eq!(plan(remaining, margin), want, "{remaining} {margin}");
        check(0, 50_000, Step::Done);
        check(1, 50_000, Step::Spin);
        check(10_000, 50_000, Step::Spin);
        check(SPIN_ALONE_NS, 50_000, Step::Spin);
        check(SPIN_ALONE_NS + 1, 50_000, Step::Yield);
        check(50_000, 50_000, Step::Yield);
        check(50_001, 50_000, Step::Sleep(1));
        check(1_000_000, 50_000, Step::Sleep(950_000));
        check(u64::MAX, 50_000, Step::Sleep(u64::MAX - 50_000));
    }

    #[test]
    fn a_late_wake_up_grows_the_margin_within_the_range() {
        assert_eq!(grown_margin(50_000, 10_000), 50_000);
        assert_eq!(grown_margin(50_000, 50_000), 50_000);
        assert_eq!(grown_margin(50_000, 80_000), 160_000);
        assert_eq!(grown_margin(50_000, u64::MAX), MARGIN_RANGE.1);
    }

    #[test]
    fn a_given_margin_is_kept_within_the_range() {
        assert_eq!(Waiter::with_margin(0).margin(), MARGIN_RANGE.0);
        assert_eq!(Waiter::with_margin(u64::MAX).margin(), MARGIN_RANGE.1);
    }
}
