//! The mmap lab's read passes as the model costs them: system calls, copies and checksums at the memory's
//! bandwidth or, for bytes a cache keeps, that cache's (the core's own or the shared one); page faults, each mapping the kernel's fault-around
//! or a large folio; and, for a cold cache, the disk.

use super::*;

/// The modelled cost of one whole pass: (bytes read, ns, syscalls, minor faults, major faults). Every method
/// also pays for scanning the bytes it reads (the checksum), as the real run does.
pub fn model_pass(p: &MmapParams, method: Method) -> (u64, f64, u64, u64, u64) {
    let disk = |bytes: u64| if p.cold { bytes as f64 / (p.disk_mbps * 1e6) * 1e9 } else { 0.0 };
    // ns for `bytes` at `gbps` GB/s.
    let at = |bytes: u64, gbps: f64| bytes as f64 / gbps;
    // The file's bytes come from a cache when the pass's bytes fit there (a pass finds what the last one left).
    let file = |with: u64| if p.cold { (p.copy_gbps, p.scan_gbps) } else { held_in(p, p.size + with) };
    let (_, scan) = file(0);
    match method {
        Method::Read { buffer_kib } => {
            let buffer = u64::from(buffer_kib) << 10;
            let calls = p.size.div_ceil(buffer);
            let (copy, _) = file(buffer.min(p.size));
            // The checksum reads the buffer the copy just filled, from the cache that held it and its source.
            let (_, buffer_scan) = held_in(p, 2 * buffer.min(p.size));
            let ns = calls as f64 * p.syscall_ns + at(p.size, copy) + at(p.size, buffer_scan) + disk(p.size);
            (p.size, ns, calls, 0, 0)
        }
        Method::PreadPieces => {
            let pages = p.random_pages();
            let bytes = pages * p.page;
            // Each piece read from a cold file pays a disk access of its own.
            let latency = if p.cold { pages as f64 * p.disk_latency_ns } else { 0.0 };
            // A call, the copy of a page from a random place into the buffer, its checksum there: measured as one
            // (a random page costs more than its bytes at a sequential copy's bandwidth).
            let ns = latency + pages as f64 * p.piece_ns + disk(bytes);
            (bytes, ns, pages, 0, 0)
        }
        Method::MmapSequential => {
            let faults = p.pages().div_ceil(p.fault_pages);
            let (minor, major) = if p.cold { (0, faults) } else { (faults, 0) };
            // Without the hint a cold mapping waits for the disk at every fault instead of reading ahead.
            let latency = if p.cold && !p.readahead { faults as f64 * p.disk_latency_ns } else { 0.0 };
            let ns = faults as f64 * p.fault_ns + at(p.size, scan) + disk(p.size) + latency;
            (p.size, ns, if p.readahead { 2 } else { 1 }, minor, major)
        }
        Method::MmapPieces => {
            let pages = p.random_pages();
            let bytes = pages * p.page;
            if p.cold {
                // Nothing to map yet and no read-ahead for pieces: every piece faults and waits for its page
                // from the disk, as a pread of it would.
                let ns = pages as f64 * (p.fault_ns + p.disk_latency_ns) + at(bytes, scan) + disk(bytes);
                return (bytes, ns, 2, 0, pages);
            }
            // Random pages rarely share a fault-around window unless most of the file is touched.
            let windows = p.pages().div_ceil(p.fault_pages);
            let faults = windows
                .min(pages)
                .max(libm::ceil(windows as f64 * (1.0 - libm::pow(1.0 - p.fraction, p.fault_pages as f64))) as u64)
                .min(pages);
            (bytes, faults as f64 * p.fault_ns + at(bytes, scan), 2, faults, 0)
        }
        // The same bytes from memory, the better of a copy through a small buffer with its checksum (read(2)
        // without calls or page cache) and a checksum in place (a mapping without faults): the scan.
        Method::Memcpy => (p.size, at(p.size, scan), 0, 0, 0),
        Method::Pwrite | Method::MmapShared | Method::MmapPrivate | Method::MmapWindow | Method::MmapProtect => {
            write::model_write(p, method)
        }
    }
}

/// The (copy, scan) bandwidths of the cache that holds `bytes` gone over again and again: the core's own, the
/// shared one, or none (memory). A cache keeps them while they fill at most half of it: the rest holds the
/// program, the kernel's data and whatever else ran (a 1 MiB file read again through a 1 MiB L2 comes from the
/// L3, here).
fn held_in(p: &MmapParams, bytes: u64) -> (f64, f64) {
    if bytes <= p.cache / 2 {
        (p.cached_copy_gbps, p.cached_scan_gbps)
    } else if bytes <= p.shared_cache / 2 {
        (p.shared_copy_gbps, p.shared_scan_gbps)
    } else {
        (p.copy_gbps, p.scan_gbps)
    }
}

/// Throughput in GB/s of a modelled pass.
pub fn model_gbps(p: &MmapParams, method: Method) -> f64 {
    let (bytes, ns, ..) = model_pass(p, method);
    bytes as f64 / ns.max(1.0)
}
