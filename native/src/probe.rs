//! The bare primitives a calibration times outside any lab (`shared::calibration::Probe`): each a short loop of
//! the very operation a model charges for, timed on this machine and divided by what it did. One call of
//! [`sample`] is one sample; the calibration repeats it for a median and its spread.

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
        Probe::Syscall => Ok(per_call(100_000, || {
            // rustix makes the system call itself (no libc cache), so this is one kernel entry a call.
            std::hint::black_box(rustix::process::getppid());
        })),
        Probe::FlockWake => flock_wake(dir),
        Probe::WakeOtherCpu => wake_other_cpu(),
        Probe::Copy => {
            let memory = filled(MEMORY_BYTES)?;
            let mut buffer = vec![0u8; 64 << 10];
            let start = Instant::now();
            for piece in memory.chunks(buffer.len()) {
                buffer[..piece.len()].copy_from_slice(piece);
                std::hint::black_box(&mut buffer);
            }
            Ok(gbps(MEMORY_BYTES, start))
        }
        Probe::Scan => {
            let memory = filled(MEMORY_BYTES)?;
            let start = Instant::now();
            std::hint::black_box(checksum(std::hint::black_box(&memory)));
            Ok(gbps(MEMORY_BYTES, start))
        }
        Probe::Fault => fault(dir).map(|f| f.ns),
        Probe::FaultPages => fault(dir).map(|f| f.pages),
        Probe::ReadCall => read_call(dir),
        Probe::Page => random_page(dir),
    }
}

/// µs per hand-off between two threads pinned to two CPUs, each blocked reading its pipe until the other
/// writes a byte: half of each round trip.
fn wake_other_cpu() -> Result<f64, ProbeError> {
    use rustix::thread::{CpuSet, sched_setaffinity};
    const ROUND_TRIPS: u32 = 2_000;
    let here = rustix::thread::sched_getaffinity(None)
        .map_err(|e| ProbeError::Io { what: "sched_getaffinity", source: e.into() })?;
    let cpus: Vec<usize> = (0..CpuSet::MAX_CPU).filter(|c| here.is_set(*c)).take(2).collect();
    let &[mine, theirs] = cpus.as_slice() else {
        return Err(ProbeError::Unmeasurable("one CPU only: no wake-up from another CPU to time"));
    };
    let pin = |cpu: usize| {
        let mut set = CpuSet::new();
        set.set(cpu);
        sched_setaffinity(None, &set).map_err(|e| ProbeError::Io { what: "sched_setaffinity", source: e.into() })
    };
    use std::io::{Read, Write};
    let (mut ping_r, mut ping_w) = std::io::pipe().map_err(io("creating a pipe"))?;
    let (mut pong_r, mut pong_w) = std::io::pipe().map_err(io("creating a pipe"))?;
    let echo = std::thread::spawn(move || -> Result<(), ProbeError> {
        pin(theirs)?;
        let mut byte = [0u8; 1];
        // Ends when the other side closes its end.
        while ping_r.read(&mut byte).is_ok_and(|n| n == 1) {
            pong_w.write_all(&byte).map_err(io("writing the pipe"))?;
        }
        Ok(())
    });
    let mut timed = || -> Result<f64, ProbeError> {
        pin(mine)?;
        let mut byte = [0u8; 1];
        let start = Instant::now();
        for _ in 0..ROUND_TRIPS {
            ping_w.write_all(&byte).map_err(io("writing the pipe"))?;
            pong_r.read_exact(&mut byte).map_err(io("reading the pipe"))?;
        }
        Ok(start.elapsed().as_nanos() as f64 / f64::from(2 * ROUND_TRIPS) / 1e3)
    };
    let timed = timed();
    drop(ping_w);
    let echoed = echo.join().map_err(|_| ProbeError::Unmeasurable("the echo thread panicked"))?;
    // This thread goes back to every CPU it had.
    sched_setaffinity(None, &here).map_err(|e| ProbeError::Io { what: "sched_setaffinity", source: e.into() })?;
    echoed?;
    timed
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
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
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

/// What reading a fresh mapping of a cached file cost: nanoseconds a minor fault, and pages mapped a fault.
struct Faults {
    ns: f64,
    pages: f64,
}

/// A file in the page cache mapped afresh and one byte of each page read, the faults counted by the kernel
/// (`getrusage`): how long each took, and how many pages each mapped (fault-around, or a large folio).
fn fault(dir: &Path) -> Result<Faults, ProbeError> {
    let file = cached_file(dir)?;
    let map = crate::experiment::mmap::fenced::map(&file).map_err(io("mapping the probe's file"))?;
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

/// The probes' file, written once (so it is in the page cache) and opened.
fn cached_file(dir: &Path) -> Result<File, ProbeError> {
    const BYTES: usize = 32 << 20;
    let path = dir.join("cached");
    if !path.exists() {
        std::fs::write(&path, &filled(BYTES)?[..]).map_err(io("creating the probe's file"))?;
    }
    File::open(&path).map_err(io("opening the probe's file"))
}

/// Page offsets of a `len`-byte file in an order no prefetcher can follow (xorshift), `n` of them.
fn random_pages(len: usize, n: usize) -> Vec<usize> {
    let (page, pages) = (rustix::param::page_size(), (len / rustix::param::page_size()).max(1));
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % pages as u64) as usize * page
        })
        .collect()
}

/// Nanoseconds per `pread` of one byte at a random page of a cached file: a read call without its copy.
fn read_call(dir: &Path) -> Result<f64, ProbeError> {
    use std::os::unix::fs::FileExt;
    let file = cached_file(dir)?;
    let len = file.metadata().map_err(io("reading the probe's file size"))?.len() as usize;
    let offsets = random_pages(len, 20_000);
    let mut byte = [0u8; 1];
    let start = Instant::now();
    for offset in &offsets {
        file.read_at(&mut byte, *offset as u64).map_err(io("reading the probe's file"))?;
    }
    std::hint::black_box(byte);
    Ok(start.elapsed().as_nanos() as f64 / offsets.len() as f64)
}

/// Nanoseconds per page checksummed at a random place of a mapping whose pages are all mapped already.
fn random_page(dir: &Path) -> Result<f64, ProbeError> {
    let file = cached_file(dir)?;
    let map = crate::experiment::mmap::fenced::map(&file).map_err(io("mapping the probe's file"))?;
    let page = rustix::param::page_size();
    // Every page mapped first: what is timed is the reads, not the faults.
    let mut sum = (0..map.len()).step_by(page).fold(0u64, |s, o| s.wrapping_add(u64::from(map[o])));
    let offsets = random_pages(map.len(), 20_000);
    let start = Instant::now();
    for offset in &offsets {
        sum = sum.wrapping_add(checksum(&map[*offset..(*offset + page).min(map.len())]));
    }
    let ns = start.elapsed().as_nanos() as f64;
    std::hint::black_box(sum);
    Ok(ns / offsets.len() as f64)
}

fn minor_faults() -> u64 {
    crate::usage::usage(crate::usage::Who::Thread).minor_faults
}
