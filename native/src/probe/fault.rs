//! The probes of reading a mapping: the faults of a fresh mapping of a cached file (how long each, how many
//! pages each maps, which depends on the folios the page cache holds the file in and so on its size), and a
//! page read at a random place of memory, as a mapping's random pieces are.

use super::{Faults, ProbeError, SHUFFLE_SEED, io, minor_faults, xorshift};
use crate::experiment::mmap::checksum;
use std::fs::File;
use std::time::Instant;

/// `file` (in the page cache) mapped afresh and one byte of each page read, the faults counted by the kernel
/// (`getrusage`): how long each took, and how many pages each mapped (fault-around, or a large folio).
pub(super) fn read_faults(file: &File) -> Result<Faults, ProbeError> {
    let map = crate::experiment::mmap::fenced::map(file).map_err(io("mapping the probe's file"))?;
    let page = rustix::param::page_size();
    let before = minor_faults();
    let start = Instant::now();
    let mut sum = 0u64;
    for offset in (0..map.len()).step_by(page) {
        sum = sum.wrapping_add(u64::from(map[offset]));
    }
    let ns = start.elapsed().as_nanos() as f64;
    std::hint::black_box(sum);
    let faults = minor_faults().saturating_sub(before);
    if faults == 0 {
        return Err(ProbeError::Unmeasurable("reading a fresh mapping took no page faults"));
    }
    Ok(Faults { ns: ns / faults as f64, pages: map.len().div_ceil(page) as f64 / faults as f64 })
}

/// Nanoseconds per page of the labs' checksum over pages of `memory` (touched, in no cache: larger than them)
/// in a shuffled order, each read once: what a page of a mapping's random pieces costs beyond its fault.
pub(super) fn random_page_scan(memory: memmap2::MmapMut) -> Result<f64, ProbeError> {
    let page = rustix::param::page_size();
    let order = shuffled(memory.len() / page);
    let pages = &order[..order.len().min(8_192)];
    if pages.is_empty() {
        return Err(ProbeError::Unmeasurable("the probe's memory holds no page"));
    }
    let start = Instant::now();
    let mut sum = 0u64;
    for index in pages {
        sum = sum.wrapping_add(checksum(&memory[index * page..(index + 1) * page]));
    }
    let ns = start.elapsed().as_nanos() as f64;
    std::hint::black_box(sum);
    Ok(ns / pages.len() as f64)
}

/// 0..n in an order no prefetcher can follow (Fisher–Yates driven by xorshift).
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x = SHUFFLE_SEED;
    for i in (1..n).rev() {
        order.swap(i, (xorshift(&mut x) % (i as u64 + 1)) as usize);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shuffle_visits_every_page_once() {
        let mut order = shuffled(1_000);
        assert_ne!(order[..10], (0..10).collect::<Vec<_>>()[..]);
        order.sort_unstable();
        assert_eq!(order, (0..1_000).collect::<Vec<_>>());
    }
}
