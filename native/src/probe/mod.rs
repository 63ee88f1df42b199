//! The bare primitives a calibration times outside any lab (`shared::calibration::Probe`): each a short loop of
//! the very operation a model charges for, timed on this machine and divided by what it did. One call of
//! [`sample`] is one sample; the calibration repeats it for a median and its spread.

mod cache;
mod fault;
mod watch;

use crate::experiment::mmap::checksum;
use shared::calibration::Probe;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

/// Why a probe could not be timed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
    #[error("{0}")]
    Unmeasurable(&'static str),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> ProbeError {
    move |source| ProbeError::Io { what, source }
}

/// Memory the copy and the scan read: well beyond any CPU cache here, so they measure memory, not a cache.
const MEMORY_BYTES: usize = 64 << 20;
/// One sample of `probe`, in its unit, with its files in `dir` (removed with it).
pub fn sample(probe: Probe, dir: &Path) -> Result<f64, ProbeError> {
    match probe {
        Probe::EmptyRead => empty_read(),
        Probe::FlockWake => flock_wake(dir),
        Probe::Copy => page_cache_copy(dir),
        Probe::Scan => {
            let memory = filled(MEMORY_BYTES)?;
            let start = Instant::now();
            std::hint::black_box(checksum(std::hint::black_box(&memory)));
            Ok(gbps(MEMORY_BYTES, start))
        }
        Probe::CachedCopy => cache::cached_copy(),
        Probe::CachedScan => cache::cached_scan(),
        Probe::CacheSize => cache::core_cache_kib(),
        Probe::SharedCacheCopy => cache::shared_cache_copy(dir),
        Probe::SharedCacheScan => cache::shared_cache_scan(),
        Probe::SharedCacheSize => cache::shared_cache_kib(),
        Probe::ColdRead => cold_read(dir),
        Probe::WatchWalk => watch::watch_walk(dir),
        Probe::SleepMargin => Ok(crate::wait::measure_margin() as f64 / 1e3),
        Probe::Fault => fault::read_faults(&cached_file(dir)?).map(|f| f.ns),
        Probe::FaultPages => fault::read_faults(&cached_file(dir)?).map(|f| f.pages),
        Probe::SmallFault => fault::read_faults(&small_file(dir)?).map(|f| f.ns),
        Probe::SmallFaultPages => fault::read_faults(&small_file(dir)?).map(|f| f.pages),
        Probe::RandomPageScan => fault::random_page_scan(filled(MEMORY_BYTES)?),
        Probe::ReadCall => read_call(dir),
        Probe::PieceRead => piece_read(dir),
        Probe::WriteFault => write_faults(dir, WriteMapping::Shared).map(|f| f.ns),
        Probe::WriteFaultPages => write_faults(dir, WriteMapping::Shared).map(|f| f.pages),
        Probe::OffFolioWriteFault => write_faults(dir, WriteMapping::SharedOffFolio).map(|f| f.ns),
        Probe::OffFolioWriteFaultPages => write_faults(dir, WriteMapping::SharedOffFolio).map(|f| f.pages),
        Probe::CowFault => write_faults(dir, WriteMapping::Private).map(|f| f.ns),
        Probe::SyncWrite => sync_write(dir).map(|s| s.mbps),
        Probe::SyncLatency => sync_write(dir).map(|s| s.latency_us),
        Probe::PageCacheWrite => page_cache_write(dir),
        Probe::MemoryCopy => {
            // The target in base pages, as the page cache's pages are mapped to a program.
            let (source, mut target) = (filled(MEMORY_BYTES)?, vec![1u8; MEMORY_BYTES]);
            let start = Instant::now();
            target.copy_from_slice(std::hint::black_box(&source));
            let rate = gbps(MEMORY_BYTES, start);
            std::hint::black_box(&mut target[..]);
            Ok(rate)
        }
    }
}

/// ns per `read(2)` of an empty non-blocking pipe whose write end is open: each call fails with EAGAIN.
fn empty_read() -> Result<f64, ProbeError> {
    let (reader, _writer) = std::io::pipe().map_err(io("creating a pipe"))?;
    rustix::fs::fcntl_setfl(&reader, rustix::fs::OFlags::NONBLOCK)
        .map_err(|e| ProbeError::Io { what: "making a pipe non-blocking", source: e.into() })?;
    let mut byte = [0u8; 16];
    let mut refused = 0u32;
    let ns = per_call(100_000, || {
        if rustix::io::read(&reader, &mut byte) == Err(rustix::io::Errno::AGAIN) {
            refused += 1;
        }
    });
    match refused {
        100_000 => Ok(ns),
        _ => Err(ProbeError::Unmeasurable("a read of an empty pipe did not fail with EAGAIN")),
    }
}

/// GB/s of `read(2)` of a cached 64 MiB file (written as the mmap lab writes its own) into a 256 KiB buffer
/// (calls so few that their own cost is about 1 %), after one pass to warm it: the kernel's copy of the page
/// cache into a buffer in the CPU's cache. A copy of
/// memory by the program itself (into the same buffer, from huge pages) ran 30–50 % faster here than the
/// kernel's page by page.
fn page_cache_copy(dir: &Path) -> Result<f64, ProbeError> {
    let file = probe_file(dir, "copied", MEMORY_BYTES as u64)?;
    let mut buffer = vec![0u8; 256 << 10];
    read_through(&file, &mut buffer)?;
    let (bytes, ns) = read_through(&file, &mut buffer)?;
    Ok(bytes as f64 / ns.max(1) as f64)
}

/// A probe's file in `dir`, written once as the mmap lab writes its own (so it is in the page cache, in the
/// same folios), and opened.
fn probe_file(dir: &Path, name: &str, bytes: u64) -> Result<File, ProbeError> {
    let path = dir.join(name);
    if !path.exists() {
        crate::experiment::mmap::write_data(&path, bytes, bytes, &crate::experiment::CancelFlag::default())
            .map_err(|e| ProbeError::Io { what: "creating a probe's file", source: std::io::Error::other(e) })?;
    }
    File::open(&path).map_err(io("opening a probe's file"))
}

/// Reads `file` from its start to its end through `buffer`: the bytes read and the nanoseconds it took.
fn read_through(file: &File, buffer: &mut [u8]) -> Result<(u64, u128), ProbeError> {
    use std::os::unix::fs::FileExt;
    let (start, mut offset) = (Instant::now(), 0u64);
    loop {
        match file.read_at(buffer, offset).map_err(io("reading a probe's file"))? {
            0 => return Ok((offset, start.elapsed().as_nanos())),
            n => offset += n as u64,
        }
        std::hint::black_box(&mut *buffer);
    }
}

/// Nanoseconds per call of `f`, over `calls` calls.
fn per_call(calls: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn gbps(bytes: usize, start: Instant) -> f64 {
    bytes as f64 / start.elapsed().as_nanos().max(1) as f64
}

/// Memory with every page touched (so neither probe pays its first faults) and content no compiler can know,
/// asked for in huge pages as the mmap lab's ceiling does (the page cache may hold a file in large folios; in
/// base pages the TLB's misses would make this memory slower than the file's).
fn filled(bytes: usize) -> Result<memmap2::MmapMut, ProbeError> {
    let mut memory = memmap2::MmapMut::map_anon(bytes).map_err(io("allocating the probe's memory"))?;
    // Advice only: without transparent huge pages the memory stays in base pages.
    let _ = memory.advise(memmap2::Advice::HugePage);
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(std::process::id());
    for word in memory.chunks_exact_mut(8) {
        word.copy_from_slice(&xorshift(&mut x).to_le_bytes());
    }
    Ok(memory)
}

/// The median over rounds of: a waiter blocks in `flock(LOCK_EX)` on its own open file of a file another
/// thread holds; the holder notes the time and unlocks; the waiter notes when it holds. In µs.
fn flock_wake(dir: &Path) -> Result<f64, ProbeError> {
    use rustix::fs::{FlockOperation, flock};
    const ROUNDS: usize = 60;
    let path = dir.join("flock-wake");
    let holder = File::create(&path).map_err(io("creating the probe's file"))?;
    let waiter = File::open(&path).map_err(io("opening the probe's file"))?;
    let origin = Instant::now();
    let (ask, asked) = std::sync::mpsc::channel::<()>();
    let (tell, told) = std::sync::mpsc::channel::<Result<u64, std::io::Error>>();
    let waiting = std::thread::spawn(move || {
        for () in asked {
            let got = flock(&waiter, FlockOperation::LockExclusive)
                .map(|()| origin.elapsed().as_nanos() as u64)
                .and_then(|t| flock(&waiter, FlockOperation::Unlock).map(|()| t));
            if tell.send(got.map_err(std::io::Error::from)).is_err() {
                break;
            }
        }
    });
    let mut latencies = Vec::with_capacity(ROUNDS);
    let mut result = Ok(());
    for _ in 0..ROUNDS {
        if let Err(err) = flock(&holder, FlockOperation::LockExclusive) {
            result = Err(ProbeError::Io { what: "flock", source: err.into() });
            break;
        }
        if ask.send(()).is_err() {
            break;
        }
        // Long enough for the waiter to be asleep in the kernel's wait queue, not on its way there.
        std::thread::sleep(std::time::Duration::from_micros(300));
        let unlocked = origin.elapsed().as_nanos() as u64;
        if let Err(err) = flock(&holder, FlockOperation::Unlock) {
            result = Err(ProbeError::Io { what: "flock", source: err.into() });
            break;
        }
        match told.recv() {
            Ok(Ok(held)) => latencies.push(held.saturating_sub(unlocked) as f64 / 1e3),
            Ok(Err(source)) => {
                result = Err(ProbeError::Io { what: "flock", source });
                break;
            }
            Err(_) => break,
        }
    }
    drop(ask);
    let _ = waiting.join();
    result?;
    latencies.sort_by(f64::total_cmp);
    shared::repeats::median(&latencies).ok_or(ProbeError::Unmeasurable("the waiter never held the lock"))
}

/// What a fresh mapping of a cached file cost: nanoseconds a minor fault, and pages mapped a fault.
struct Faults {
    ns: f64,
    pages: f64,
}

/// Where the off-folio probe's mapping starts, in pages: inside a folio of any size from 2 to 256 pages.
const OFF_FOLIO_PAGES: usize = 101;

/// How a write probe maps its cached file: shared from its start, private, or shared from page 101 (off the
/// boundaries of the folios the page cache holds it in).
#[derive(Debug, Clone, Copy, PartialEq)]
enum WriteMapping {
    Shared,
    Private,
    SharedOffFolio,
}

/// A cached file mapped afresh and one byte of each page written: how long each write fault took and how many
/// pages each mapped (a private mapping copies one page a fault).
fn write_faults(dir: &Path, how: WriteMapping) -> Result<Faults, ProbeError> {
    use crate::experiment::mmap::fenced;
    let file = writable_file(dir)?;
    let page = rustix::param::page_size();
    let mut map = match how {
        WriteMapping::Shared => fenced::map_shared(&file),
        WriteMapping::Private => fenced::map_private(&file),
        WriteMapping::SharedOffFolio => {
            fenced::map_window(&file, (OFF_FOLIO_PAGES * page) as u64, WRITTEN_BYTES as usize - OFF_FOLIO_PAGES * page)
        }
    }
    .map_err(io("mapping the write probe's file"))?;
    let before = minor_faults();
    let start = Instant::now();
    for offset in (0..map.len()).step_by(page) {
        map[offset] = map[offset].wrapping_add(1);
    }
    let ns = start.elapsed().as_nanos() as f64;
    std::hint::black_box(&mut map[..]);
    let faults = minor_faults().saturating_sub(before);
    if faults == 0 {
        return Err(ProbeError::Unmeasurable("writing a fresh mapping took no page faults"));
    }
    Ok(Faults { ns: ns / faults as f64, pages: map.len().div_ceil(page) as f64 / faults as f64 })
}

/// GB/s of rewriting the write probe's cached file with pwrite in 64 KiB pieces (synced after, untimed).
fn page_cache_write(dir: &Path) -> Result<f64, ProbeError> {
    use std::os::unix::fs::FileExt;
    let file = writable_file(dir)?;
    let source = filled(WRITTEN_BYTES as usize)?;
    let start = Instant::now();
    for (i, piece) in source.chunks(64 << 10).enumerate() {
        file.write_all_at(piece, (i as u64) << 16).map_err(io("rewriting the write probe's file"))?;
    }
    let rate = gbps(source.len(), start);
    file.sync_all().map_err(io("syncing the write probe's file"))?;
    Ok(rate)
}

/// What an fsync of rewritten pages took: µs for one page, and MB/s for every page.
struct Sync {
    latency_us: f64,
    mbps: f64,
}

/// fsync after one page of the write probe's file was rewritten with pwrite, then after every page was.
fn sync_write(dir: &Path) -> Result<Sync, ProbeError> {
    use std::os::unix::fs::FileExt;
    let file = writable_file(dir)?;
    let mut bytes = vec![0u8; WRITTEN_BYTES as usize];
    file.read_exact_at(&mut bytes, 0).map_err(io("reading the write probe's file"))?;
    bytes.iter_mut().step_by(4_096).for_each(|b| *b = b.wrapping_add(1));
    let synced = |len: usize| -> Result<f64, ProbeError> {
        file.write_all_at(&bytes[..len], 0).map_err(io("rewriting the write probe's file"))?;
        let start = Instant::now();
        file.sync_all().map_err(io("syncing the write probe's file"))?;
        Ok(start.elapsed().as_secs_f64())
    };
    let one = synced(4_096)?;
    let all = synced(bytes.len())?;
    // The whole sync's rate, its latency included: a difference of the two could be noise, or negative.
    Ok(Sync { latency_us: one * 1e6, mbps: WRITTEN_BYTES as f64 / all.max(1e-9) / 1e6 })
}

/// The write probes' file, synced, in the page cache, open for writing.
const WRITTEN_BYTES: u64 = 32 << 20;
fn writable_file(dir: &Path) -> Result<File, ProbeError> {
    drop(probe_file(dir, "written", WRITTEN_BYTES)?);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("written"))
        .map_err(io("opening the write probe's file"))?;
    file.sync_all().map_err(io("syncing the write probe's file"))?;
    let mut buffer = vec![0u8; 1 << 20];
    read_through(&file, &mut buffer)?;
    Ok(file)
}

/// The fault and read-call probes' 32 MiB file.
fn cached_file(dir: &Path) -> Result<File, ProbeError> {
    probe_file(dir, "cached", shared::lab::mmap::FAULT_PROBE_BYTES)
}

/// The small-file fault probe's file, smaller than a huge page.
fn small_file(dir: &Path) -> Result<File, ProbeError> {
    probe_file(dir, "small", shared::lab::mmap::SMALL_FAULT_PROBE_BYTES)
}

/// MB/s of the disk's own in a sequential read of a 32 MiB file after its pages were dropped (the kernel's
/// `posix_fadvise(DONTNEED)` after the write-back, checked with `mincore`), the same read warm taken away.
fn cold_read(dir: &Path) -> Result<f64, ProbeError> {
    const BYTES: u64 = 32 << 20;
    let file = probe_file(dir, "cold", BYTES)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut read_all = || read_through(&file, &mut buffer).map(|(_, ns)| ns);
    read_all()?;
    let warm = read_all()?;
    let dropped = rustix::fs::fadvise(&file, 0, std::num::NonZeroU64::new(BYTES), rustix::fs::Advice::DontNeed);
    dropped.map_err(|e| ProbeError::Io { what: "posix_fadvise(DONTNEED)", source: e.into() })?;
    let map = crate::experiment::mmap::fenced::map(&file).map_err(io("mapping the cold probe's file"))?;
    if crate::experiment::mmap::fenced::resident_fraction(&map).is_none_or(|resident| resident > 0.05) {
        return Err(ProbeError::Unmeasurable("the kernel kept the file's pages in its cache"));
    }
    drop(map);
    let cold = read_all()?;
    match cold.saturating_sub(warm) {
        0 => Err(ProbeError::Unmeasurable("a cold read was no slower than a warm one")),
        disk => Ok(BYTES as f64 / disk as f64 * 1e3),
    }
}

/// Page offsets of a `len`-byte file in an order no prefetcher can follow (xorshift), `n` of them.
fn random_pages(len: usize, n: usize) -> Vec<usize> {
    let (page, pages) = (rustix::param::page_size(), (len / rustix::param::page_size()).max(1));
    let mut x = SHUFFLE_SEED;
    (0..n).map(|_| (xorshift(&mut x) % pages as u64) as usize * page).collect()
}

/// The seed of the probes' orders of pages.
const SHUFFLE_SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// The next of Marsaglia's xorshift64 numbers from `x`: content and orders no compiler or prefetcher can know.
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Nanoseconds per `pread` of one byte at a random page of a cached file: a read call without its copy.
fn read_call(dir: &Path) -> Result<f64, ProbeError> {
    random_preads(&cached_file(dir)?, 1)
}

/// Nanoseconds per `pread` of a page at a random place of a cached file larger than the CPU's caches (as the
/// mmap lab's is), and its checksum: a piece of its random reads.
fn piece_read(dir: &Path) -> Result<f64, ProbeError> {
    random_preads(&probe_file(dir, "copied", MEMORY_BYTES as u64)?, rustix::param::page_size())
}

/// Nanoseconds per `pread` of `bytes` at a random page of a cached `file`, and the labs' checksum of them.
fn random_preads(file: &File, bytes: usize) -> Result<f64, ProbeError> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().map_err(io("reading the probe's file size"))?.len() as usize;
    let offsets = random_pages(len, 20_000);
    let (mut buffer, mut sum) = (vec![0u8; bytes], 0u64);
    let start = Instant::now();
    for offset in &offsets {
        file.read_at(&mut buffer, *offset as u64).map_err(io("reading the probe's file"))?;
        sum = sum.wrapping_add(checksum(&buffer));
    }
    std::hint::black_box(sum);
    Ok(start.elapsed().as_nanos() as f64 / offsets.len() as f64)
}

fn minor_faults() -> u64 {
    crate::usage::usage(crate::usage::Who::Thread).minor_faults
}
