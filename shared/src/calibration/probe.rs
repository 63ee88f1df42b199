//! The primitives a calibration times on its own, outside any lab's experiment (the companion's `probe`
//! module runs them).

use serde::{Deserialize, Serialize};

/// The primitives timed outside any lab, each a loop the companion repeats for a median and its spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// One `read(2)` of an empty non-blocking pipe (it fails with EAGAIN), in ns: the polling server's
    /// wasted call, and what any of the I/O servers' reads costs beyond its bytes.
    EmptyRead,
    /// From a holder's `flock(LOCK_UN)` to the waiter blocked in `flock(LOCK_EX)` holding the lock, in µs.
    FlockWake,
    /// `read(2)` of a cached file into a small buffer: the kernel's copy of the page cache into a program's
    /// buffer, in GB/s.
    Copy,
    /// The labs' checksum over memory that is not in the CPU's caches, as a mapping is read in place, in GB/s.
    Scan,
    /// Copying bytes that are in the CPU's cache into a small buffer, in GB/s.
    CachedCopy,
    /// The labs' checksum over bytes in the CPU's cache (a buffer just filled), in GB/s.
    CachedScan,
    /// The cache one core keeps to itself (its L2), in KiB: read from the kernel's description of the CPU, not
    /// timed.
    CacheSize,
    /// `read(2)` into a small buffer of a cached file that fits the cache the cores share but not a core's own
    /// (a quarter of the shared cache, at most four times the core's), read again and again, in GB/s.
    SharedCacheCopy,
    /// The labs' checksum over bytes of that size, gone over again and again, in GB/s.
    SharedCacheScan,
    /// The cache the cores share (the last level, an L3), in KiB: read from the kernel's description of the CPU;
    /// the core's own where there is no other.
    SharedCacheSize,
    /// How much of a wait the labs' workers spin rather than sleep, in µs: twice the latest wake-up of a few
    /// short sleeps on this machine (at least [`crate::lab::SPIN`]), as each worker measures for itself.
    SleepMargin,
    /// What the disk adds to a sequential read of a file whose pages were dropped from the cache (the same read
    /// warm taken away), as MB/s of the disk's own; unmeasurable where the kernel keeps the pages.
    ColdRead,
    /// One minor page fault of a mapped file in the page cache, in ns (a file of
    /// [`crate::lab::mmap::FAULT_PROBE_BYTES`], written as the mmap lab writes its own).
    Fault,
    /// How many pages one such fault maps (the kernel's fault-around, or a whole large folio).
    FaultPages,
    /// The same two of a file smaller than a huge page ([`crate::lab::mmap::SMALL_FAULT_PROBE_BYTES`]),
    /// which the page cache holds in small folios.
    SmallFault,
    SmallFaultPages,
    /// The labs' checksum of one page at a random place of memory that is in no cache, in ns: a page of a
    /// mapping's random pieces (no page read twice, in no order a prefetcher follows).
    RandomPageScan,
    /// The first write to each page of a fresh MAP_SHARED mapping of a cached file: ns a fault (each makes
    /// pages writable and dirty).
    WriteFault,
    /// How many pages one such write fault maps.
    WriteFaultPages,
    /// The same through a mapping that starts one page into the file, off the boundaries of the page cache's
    /// folios: ns a fault, and the pages each maps (the kernel cannot map a misaligned folio whole).
    OffFolioWriteFault,
    OffFolioWriteFaultPages,
    /// The first write to each page of a fresh MAP_PRIVATE mapping of a cached file: ns a copy-on-write fault
    /// (a page allocated, copied and mapped).
    CowFault,
    /// MB/s of an fsync of a file whose every page was just rewritten (the write-back of dirty pages, its
    /// latency included).
    SyncWrite,
    /// An fsync of a file with one page rewritten, in µs: what making anything durable costs on its own.
    SyncLatency,
    /// pwrite(2) over a cached file's pages in 64 KiB pieces, in GB/s: the copy into the page cache with each
    /// call and each page marked dirty.
    PageCacheWrite,
    /// Copying bytes from memory into memory, neither in any cache, in GB/s: what a write into the page cache
    /// or a mapping costs per byte.
    MemoryCopy,
    /// notify's recursive watch set up on a tree of directories and files, in ns per entry (notify looks at
    /// every entry and watches each directory): the watch lab's inotify watcher getting ready.
    WatchWalk,
    /// One `pread(2)` of a byte of a cached file at a random page, in ns: a read call's cost beyond its bytes.
    ReadCall,
    /// One `pread(2)` of a whole page of a cached file at a random page, and the labs' checksum of it, in ns:
    /// what a piece of the mmap lab's random reads costs.
    PieceRead,
}
