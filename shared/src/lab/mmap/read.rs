//! The mmap lab's read passes as the model costs them: system calls, copies and checksums at the memory's
//! bandwidth or, for bytes a cache keeps, that cache's (the core's own or the shared one); page faults, each mapping the kernel's fault-around
//! or a large folio; and, for a cold cache, the disk.

use super::*;

/// The calibration's read-fault probes' files: one smaller than a huge page, which the page cache holds in
/// small folios (each fault maps the kernel's fault-around), and one of many, which it may hold in large
/// folios that one fault maps whole (here 16 and 174 pages a fault).
pub const SMALL_FAULT_PROBE_BYTES: u64 = 1 << 20;
pub const FAULT_PROBE_BYTES: u64 = 32 << 20;

/// What one read fault of the pass's file costs and how many pages it maps: the small probe's figures at its
/// size and below, the large one's at its size and above, and between them each figure moved geometrically
/// with the size (a file's share of large folios grows with it; the kernel says no more than that).
fn read_fault(p: &MmapParams) -> (f64, f64) {
    let (small, large) = (SMALL_FAULT_PROBE_BYTES as f64, FAULT_PROBE_BYTES as f64);
    let w = (libm::log(p.size.max(1) as f64 / small) / libm::log(large / small)).clamp(0.0, 1.0);
    let between =
        |at_small: f64, at_large: f64| at_small.max(1.0) * libm::pow(at_large.max(1.0) / at_small.max(1.0), w);
    (between(p.small_fault_ns, p.fault_ns), between(p.small_fault_pages as f64, p.fault_pages as f64))
}

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
            let (fault_ns, fault_pages) = read_fault(p);
            let faults = libm::ceil(p.pages() as f64 / fault_pages) as u64;
            let (minor, major) = if p.cold { (0, faults) } else { (faults, 0) };
            // Without the hint a cold mapping waits for the disk at every fault instead of reading ahead.
            let latency = if p.cold && !p.readahead { faults as f64 * p.disk_latency_ns } else { 0.0 };
            let ns = faults as f64 * fault_ns + at(p.size, scan) + disk(p.size) + latency;
            (p.size, ns, if p.readahead { 2 } else { 1 }, minor, major)
        }
        Method::MmapPieces => {
            let pages = p.random_pages();
            let bytes = pages * p.page;
            let (fault_ns, fault_pages) = read_fault(p);
            if p.cold {
                // Nothing to map yet and no read-ahead for pieces: every piece faults and waits for its page
                // from the disk, as a pread of it would.
                let ns = pages as f64 * (fault_ns + p.disk_latency_ns) + at(bytes, scan) + disk(bytes);
                return (bytes, ns, 2, 0, pages);
            }
            // Random pages rarely share a fault-around window unless most of the file is touched.
            let windows = libm::ceil(p.pages() as f64 / fault_pages) as u64;
            let faults = windows
                .min(pages)
                .max(libm::ceil(windows as f64 * (1.0 - libm::pow(1.0 - p.fraction, fault_pages))) as u64)
                .min(pages);
            // Pages of a file no cache holds, read where no prefetcher follows: each costs what a random page
            // of memory does (a TLB miss, and its lines from memory, not streamed: a third of a sequential
            // scan's rate here); a file a cache holds is read at that cache's rate in any order.
            let read = if p.size > p.shared_cache / 2 { pages as f64 * p.random_page_ns } else { at(bytes, scan) };
            (bytes, faults as f64 * fault_ns + read, 2, faults, 0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue::{Int, Text};

    fn params(pairs: &[(&str, crate::params::ParamValue)]) -> MmapParams {
        MmapParams::parse(&pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()).unwrap()
    }

    /// A machine whose large files fault 256 pages at 4 µs and whose small ones 16 at 1 µs.
    fn sized(mib: i64) -> MmapParams {
        params(&[
            ("size_mib", Int(mib)),
            ("fault_ns", Int(4_000)),
            ("fault_pages", Int(256)),
            ("small_fault_ns", Int(1_000)),
            ("small_fault_pages", Int(16)),
        ])
    }

    #[test]
    fn a_file_faults_as_the_probe_of_its_size_and_in_between_moves_with_its_size() {
        assert_eq!(read_fault(&sized(1)), (1_000.0, 16.0));
        assert_eq!(read_fault(&sized(32)), (4_000.0, 256.0));
        assert_eq!(read_fault(&sized(1_024)), (4_000.0, 256.0));
        // 2^(5 × 2/5) MiB: two fifths of the way on a log scale, so 16 × 16^(2/5) pages and 1 µs × 4^(2/5).
        let (ns, pages) = read_fault(&sized(4));
        assert!((pages - 16.0 * libm::pow(16.0, 0.4)).abs() < 1e-9 && (ns - 1e3 * libm::pow(4.0, 0.4)).abs() < 1e-6);
        // The sequential pass faults once per window of the file's own figure.
        assert_eq!(model_pass(&sized(1), Method::MmapSequential).3, 256 / 16);
        assert_eq!(model_pass(&sized(64), Method::MmapSequential).3, 64 * 256 / 256);
    }

    #[test]
    fn random_pieces_of_a_file_no_cache_holds_cost_a_random_page_each_and_of_a_cached_one_its_bytes() {
        let of = |mib: i64, random_page_ns: i64| {
            let p = params(&[
                ("size_mib", Int(mib)),
                ("fraction_pct", Int(100)),
                ("random_page_ns", Int(random_page_ns)),
                ("shared_cache_kib", Int(8 << 10)),
                ("pattern", Text("random".into())),
            ]);
            model_pass(&p, Method::MmapPieces).1
        };
        // Beyond the shared cache the pages' time is theirs: 1 µs more for each of 16 384 pages.
        assert!((of(64, 1_500) - of(64, 500) - 16_384.0 * 1_000.0).abs() < 1e-3);
        // Within it the cost of a random page does not come in.
        assert_eq!(of(2, 1_500), of(2, 500));
    }
}
