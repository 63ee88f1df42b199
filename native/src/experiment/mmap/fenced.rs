//! The only `unsafe` of the lab (and of the calibration's fault probe): mapping the file (shared, private, a
//! window, read-only), asking the kernel which pages are resident (mincore) and which are dirty (cachestat), a
//! mapping at an offset the kernel must refuse, and the write to a read-only mapping that the kernel answers
//! with SIGSEGV.
//!
//! Every mapping here is of a file in the run's private scratch directory, created and sized by the run. A
//! mapping turns a file truncated under it into SIGBUS, and bytes changed under a Rust slice are undefined
//! behaviour: the run never truncates the file, and never writes it by any other path (pwrite, another mapping)
//! while a mapping of it is alive; each mapping is dropped before the next pass and before the run removes it.
#![allow(unsafe_code)] // Mapping a file, mincore, cachestat and the faulting write have no safe interface.

use std::fs::File;
use std::os::fd::AsRawFd;

/// Maps `file` read-only (PROT_READ, MAP_SHARED).
pub fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: see the module's doc: the run's own file, not changed by any other path while mapped.
    unsafe { memmap2::Mmap::map(file) }
}

/// Maps `file` writable and shared: what is written reaches the file (MAP_SHARED).
pub fn map_shared(file: &File) -> std::io::Result<memmap2::MmapMut> {
    // SAFETY: as for `map`; the file is open for writing.
    unsafe { memmap2::MmapMut::map_mut(file) }
}

/// Maps `file` writable and private: the first write to each page copies it (MAP_PRIVATE).
pub fn map_private(file: &File) -> std::io::Result<memmap2::MmapMut> {
    // SAFETY: as for `map`; the process's writes go to its own copies, never to the file.
    unsafe { memmap2::MmapOptions::new().map_copy(file) }
}

/// Maps `len` bytes of `file` from `offset`, which must be a multiple of the page, writable and shared.
pub fn map_window(file: &File, offset: u64, len: usize) -> std::io::Result<memmap2::MmapMut> {
    // SAFETY: as for `map_shared`.
    unsafe { memmap2::MmapOptions::new().offset(offset).len(len).map_mut(file) }
}

/// Asks the kernel itself (not memmap2, which rounds the offset down for its caller) for a shared mapping of
/// `len` bytes at `offset`: the errno it refuses with, or `None` if it maps (the mapping is undone at once).
pub fn refusal_at(file: &File, offset: u64, len: usize) -> Option<i32> {
    let offset = libc::off_t::try_from(offset).ok()?;
    // SAFETY: a fresh mapping chosen by the kernel (null hint), of a file descriptor that is open for the call;
    // nothing reads or writes it, and it is unmapped at once with the address and length it was made with.
    unsafe {
        let at = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), offset);
        if at == libc::MAP_FAILED {
            return std::io::Error::last_os_error().raw_os_error();
        }
        libc::munmap(at, len);
    }
    None
}

/// The share of a mapping's pages that are in the page cache (mincore), if the kernel says.
pub fn resident_fraction(map: &memmap2::Mmap) -> Option<f64> {
    let pages = map.len().div_ceil(rustix::param::page_size());
    let mut residency = vec![0u8; pages];
    // SAFETY: the mapping is live for the whole call and page-aligned (mmap returns page-aligned memory);
    // `residency` has one byte per page of its length, which is what mincore writes.
    let rc = unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, map.len(), residency.as_mut_ptr()) };
    (rc == 0 && pages > 0).then(|| residency.iter().filter(|b| **b & 1 == 1).count() as f64 / pages as f64)
}

/// cachestat(2)'s number (451 on every architecture since the tables were unified; libc does not name it for
/// every target yet).
const SYS_CACHESTAT: libc::c_long = 451;

#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// The file's pages in the page cache that are dirty or being written back (cachestat, Linux 6.5), or `None`
/// where the kernel has no such call.
pub fn dirty_pages(file: &File) -> Option<u64> {
    let range = CachestatRange { off: 0, len: 0 }; // a length of 0 means to the end of the file
    let mut stat = Cachestat::default();
    // SAFETY: both pointers are to live, properly laid out (repr(C), the kernel's struct cachestat_range and
    // struct cachestat) values for the whole call; the kernel writes only `stat`.
    let rc = unsafe {
        libc::syscall(SYS_CACHESTAT, file.as_raw_fd(), &range as *const CachestatRange, &mut stat as *mut Cachestat, 0)
    };
    (rc == 0).then_some(stat.nr_dirty + stat.nr_writeback)
}

/// Writes one byte to a read-only mapping. The kernel answers with SIGSEGV and the process dies before this
/// returns: the lesson of the PROT_READ pass, done only in a worker process started for it.
pub fn write_to_read_only(map: &memmap2::Mmap) {
    // SAFETY: not sound as Rust sees it, and never reached in a way that matters: the store is to a page the
    // kernel mapped without PROT_WRITE, so it faults, and the default SIGSEGV action (std's handler passes any
    // fault outside a stack guard on to it) ends this worker process before the store completes. Nothing of
    // this process observes the byte. Volatile, so the compiler cannot drop or move the store.
    unsafe { std::ptr::write_volatile(map.as_ptr().cast_mut(), 1) }
}
