//! The CPU's caches: their sizes as the kernel describes them, and copies and scans over bytes that stay in the
//! core's own cache or in the one the cores share, gone over again and again until they do.

use super::{ProbeError, checksum, filled, gbps, io, probe_file, read_through};
use std::path::Path;
use std::time::Instant;

/// Bytes the cached copy and scan go over again and again: within any core's own cache (and small enough for
/// its L1 and L2 to keep a source and a buffer both).
const CACHED_BYTES: usize = 64 << 10;

/// How many bytes each round of a probe goes over, whatever their size: enough for a round to take milliseconds.
const ROUND_BYTES: usize = 64 << 20;

/// GB/s of `pass` over `bytes`, repeated until the bytes stay where they fit: the best of a few rounds.
fn repeated(bytes: usize, mut pass: impl FnMut() -> Result<(), ProbeError>) -> Result<f64, ProbeError> {
    let passes = ROUND_BYTES.div_ceil(bytes).max(1);
    pass()?;
    let mut best = 0.0f64;
    for _ in 0..8 {
        let start = Instant::now();
        for _ in 0..passes {
            pass()?;
        }
        best = best.max(gbps(bytes * passes, start));
    }
    Ok(best)
}

pub(super) fn cached_copy() -> Result<f64, ProbeError> {
    let (source, mut buffer) = (filled(CACHED_BYTES)?, vec![0u8; CACHED_BYTES]);
    repeated(CACHED_BYTES, || {
        buffer.copy_from_slice(std::hint::black_box(&source));
        std::hint::black_box(&mut buffer);
        Ok(())
    })
}

pub(super) fn cached_scan() -> Result<f64, ProbeError> {
    scan_of(CACHED_BYTES)
}

fn scan_of(bytes: usize) -> Result<f64, ProbeError> {
    let memory = filled(bytes)?;
    repeated(bytes, || {
        std::hint::black_box(checksum(std::hint::black_box(&memory)));
        Ok(())
    })
}

/// Bytes that fit the shared cache and not a core's own: a quarter of the shared cache, at most four times the
/// core's (where the two are the same, a quarter of it).
fn shared_probe_bytes() -> Result<usize, ProbeError> {
    let (core, shared) = (core_cache_kib()? as usize, shared_cache_kib()? as usize);
    Ok((shared / 4).min(4 * core).max(16) << 10)
}

/// read(2) of a file of [`shared_probe_bytes`] through a 64 KiB buffer, again and again, in GB/s.
pub(super) fn shared_cache_copy(dir: &Path) -> Result<f64, ProbeError> {
    let bytes = shared_probe_bytes()?;
    let file = probe_file(dir, "shared-cache", bytes as u64)?;
    let mut buffer = vec![0u8; 64 << 10];
    repeated(bytes, || read_through(&file, &mut buffer).map(drop))
}

pub(super) fn shared_cache_scan() -> Result<f64, ProbeError> {
    scan_of(shared_probe_bytes()?)
}

/// The size of CPU 0's level-2 data cache as the kernel describes it, in KiB: the cache a core keeps a buffer
/// in while it works on it.
pub(super) fn core_cache_kib() -> Result<f64, ProbeError> {
    cache_kib(2)?.ok_or(ProbeError::Unmeasurable("the kernel describes no level-2 cache for CPU 0"))
}

/// The last level of CPU 0's caches, the one the cores share (its L3), in KiB; the core's own without one.
pub(super) fn shared_cache_kib() -> Result<f64, ProbeError> {
    match cache_kib(3)? {
        Some(kib) => Ok(kib),
        None => core_cache_kib(),
    }
}

/// The size of CPU 0's data (or unified) cache of `level`, in KiB, if the kernel describes one.
fn cache_kib(level: u32) -> Result<Option<f64>, ProbeError> {
    let caches = Path::new("/sys/devices/system/cpu/cpu0/cache");
    let entries = std::fs::read_dir(caches).map_err(io("reading /sys/devices/system/cpu/cpu0/cache"))?;
    let read = |dir: &Path, name: &str| std::fs::read_to_string(dir.join(name)).map(|s| s.trim().to_owned());
    for dir in entries.flatten().map(|e| e.path()) {
        let (Ok(kind), Ok(found), Ok(size)) = (read(&dir, "type"), read(&dir, "level"), read(&dir, "size")) else {
            continue;
        };
        if found != level.to_string() || kind == "Instruction" {
            continue;
        }
        // The kernel writes a size as "2048K" (some as "4M").
        let kib = match size.split_at(size.len().saturating_sub(1)) {
            (n, "K") => n.parse::<u64>().ok(),
            (n, "M") => n.parse::<u64>().ok().map(|m| m << 10),
            _ => None,
        };
        return kib.map(|k| Some(k as f64)).ok_or(ProbeError::Unmeasurable("a cache's size is not in KiB or MiB"));
    }
    Ok(None)
}
