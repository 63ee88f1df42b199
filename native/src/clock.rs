//! CLOCK_MONOTONIC in nanoseconds: one clock shared by the companion and every worker process it starts, so
//! timestamps taken in different processes can be compared directly.

use rustix::time::{ClockId, clock_gettime};

pub fn monotonic_ns() -> u64 {
    let ts = clock_gettime(ClockId::Monotonic);
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}
