//! The real mmap experiment: a file of the requested size, filled with pseudo-random bytes in the run's scratch
//! directory, read whole with read(2) at six buffer sizes, read in part with pread at random 4 KiB pages,
//! mapped (memmap2) and touched sequentially and at random, and set against the same bytes read from memory,
//! the better of a copy through a small buffer and a scan in place (the ceiling). Every method checksums every byte it reads; chunks of each pass
//! stream with their time, system calls and page faults (getrusage for this thread). The write passes
//! (`write.rs`) write the same new bytes every way and check the file afterwards.

use super::{CancelFlag, ExperimentError, RunContext, RunUpdate};
use crate::clock::monotonic_ns;
use shared::i18n::Text;
use shared::lab::mmap::{CHUNKS, Method, MmapEvent, MmapParams, actors};
use shared::params::ParamSet;
use shared::trace::{ActorId, Event, EventKind};
use shared::{LabId, Nanos};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

const DATA_FILE: &str = "data.bin";
/// The ceiling copies through a buffer this big, as a well-sized read(2) would.
const CEILING_BUFFER: usize = 64 << 10;

pub(crate) mod fenced;
mod write;

/// The checksum every method computes: the wrapping sum of the bytes as little-endian u64 words.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut sum = (&mut words)
        .fold(0u64, |s, w| s.wrapping_add(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])));
    for (i, b) in words.remainder().iter().enumerate() {
        sum = sum.wrapping_add(u64::from(*b) << (8 * i));
    }
    sum
}

/// Deterministic pseudo-random content, so a file and an in-memory copy of it can be made alike.
fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// The data file's bytes in memory (as [`write_data`] writes them), asked for in huge pages; a cancel stops
/// the filling between blocks.
fn content(size: u64, seed: u64, cancel: &CancelFlag) -> Result<memmap2::MmapMut, ExperimentError> {
    let mut memory = memmap2::MmapMut::map_anon(size.max(1) as usize)
        .map_err(ExperimentError::io("allocating memory for the file's bytes"))?;
    // Advice only: without transparent huge pages the memory stays in base pages, as a Vec's would.
    let _ = memory.advise(memmap2::Advice::HugePage);
    for (i, block) in memory[..size as usize].chunks_mut(1 << 20).enumerate() {
        if cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        fill(block, seed.wrapping_add(i as u64));
    }
    Ok(memory)
}

/// Streams one method's chunks.
struct Pass<'a> {
    ctx: &'a RunContext<'a>,
    t0: u64,
    method: Method,
    index: u32,
    /// Bytes and nanoseconds of the chunks so far: the method's own throughput, set-up excluded.
    bytes: u64,
    ns: u64,
}

impl Pass<'_> {
    /// Times `f` as the next chunk; `f` returns (bytes read, system calls).
    fn chunk(&mut self, f: impl FnOnce() -> std::io::Result<(u64, u64)>) -> Result<(), ExperimentError> {
        if self.ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let before = crate::usage::usage(crate::usage::Who::Thread);
        let start = monotonic_ns();
        let (bytes, syscalls) = f().map_err(ExperimentError::io(format!("{} pass", self.method.name())))?;
        let ns = monotonic_ns() - start;
        let after = crate::usage::usage(crate::usage::Who::Thread);
        let faults = (
            after.minor_faults.saturating_sub(before.minor_faults),
            after.major_faults.saturating_sub(before.major_faults),
        );
        self.record(bytes, ns, syscalls, faults);
        Ok(())
    }

    /// Reports the next chunk: its bytes, time, system calls and (minor, major) faults.
    fn record(&mut self, bytes: u64, ns: u64, syscalls: u64, (minor_faults, major_faults): (u64, u64)) {
        let ev = MmapEvent::Chunk {
            method: self.method,
            index: self.index,
            bytes,
            ns,
            syscalls,
            minor_faults,
            major_faults,
        };
        self.index += 1;
        self.bytes += bytes;
        self.ns += ns;
        let t = Nanos(monotonic_ns() - self.t0);
        (self.ctx.sink)(RunUpdate::Events(vec![Event { t, actor: ActorId(0), kind: EventKind::Mmap(ev) }]));
    }

    /// Reports the checksum; returns the method's throughput in bytes per nanosecond (GB/s).
    fn done(self, checksum: u64) -> f64 {
        self.event(MmapEvent::Done { method: self.method, checksum });
        self.bytes as f64 / self.ns.max(1) as f64
    }

    /// Reports an event of the pass now.
    fn event(&self, ev: MmapEvent) {
        let t = Nanos(monotonic_ns() - self.t0);
        (self.ctx.sink)(RunUpdate::Events(vec![Event { t, actor: ActorId(0), kind: EventKind::Mmap(ev) }]));
    }
}

/// The chunk boundaries of `n` items.
fn chunk_ranges(n: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..CHUNKS).map(move |i| (n * i / CHUNKS, n * (i + 1) / CHUNKS))
}

experiment_entry!(MmapExperiment, Mmap, worker = write::worker);

/// Writes the lab's data file: `size` bytes of seeded content in 1 MiB blocks, synced. How a file enters the
/// page cache decides the folios it is held in, and so how many pages a fault maps: the calibration's file is
/// written the same way.
pub(crate) fn write_data(path: &Path, size: u64, seed: u64, cancel: &CancelFlag) -> Result<(), ExperimentError> {
    let io = |what: &str| ExperimentError::io(what.to_owned());
    let mut file = File::create(path).map_err(io("creating the data file"))?;
    let mut block = vec![0u8; 1 << 20];
    let mut written = 0u64;
    while written < size {
        if cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let n = (size - written).min(block.len() as u64) as usize;
        fill(&mut block[..n], seed.wrapping_add(written / (1 << 20)));
        file.write_all(&block[..n]).map_err(io("writing the data file"))?;
        written += n as u64;
    }
    file.sync_all().map_err(io("syncing the data file"))
}

fn run(params: &ParamSet, seed: u64, ctx: &RunContext<'_>) -> Result<Vec<Text>, ExperimentError> {
    // The passes read whole pages of this machine, whatever the model assumes.
    let p = MmapParams::parse(params)?.with_page(ctx.host.page_size);
    let path = ctx.scratch.join(DATA_FILE);
    let io = |what: &str| ExperimentError::io(what.to_owned());
    let mut notes = Vec::new();
    write_data(&path, p.size, seed, ctx.cancel)?;
    let file =
        std::fs::OpenOptions::new().read(true).write(p.write).open(&path).map_err(io("opening the data file"))?;
    ctx.started(LabId::Mmap, params, seed, actors(Some(std::process::id())));
    if let Some(huge) = file_huge_pages() {
        notes.push(Text::new("note.mmap.huge_pages").with("kb", huge));
    }
    if p.write {
        write::passes(&p, &file, &path, seed, ctx, &mut notes)?;
        return Ok(notes);
    }
    let pieces = p.piece_pages(seed);
    let t0 = monotonic_ns();
    let mut rates: Vec<(Method, f64)> = Vec::new();
    for method in Method::reads() {
        if method != Method::Memcpy {
            prepare_cache(&file, &p, method, &mut notes)?;
        }
        let mut pass = Pass { ctx, t0, method, index: 0, bytes: 0, ns: 0 };
        let sum = match method {
            Method::Read { buffer_kib } => read_pass(&mut pass, &file, p.size, (buffer_kib as usize) << 10)?,
            Method::PreadPieces => pread_pass(&mut pass, &file, &pieces, p.page)?,
            Method::MmapSequential => mmap_pass(&mut pass, &file, p.size, None, p.readahead, p.page)?,
            Method::MmapPieces => mmap_pass(&mut pass, &file, p.size, Some(&pieces), p.readahead, p.page)?,
            Method::Memcpy => ceiling_pass(&mut pass, p.size, seed)?,
            write => return Err(ExperimentError::Worker(format!("{} is not a read pass", write.key()))),
        };
        rates.push((method, pass.done(sum)));
    }
    let ceiling = rates.iter().find(|(m, _)| *m == Method::Memcpy).map(|(_, r)| *r).unwrap_or(f64::MAX);
    if let Some((fastest, _)) =
        rates.iter().filter(|(m, r)| *m != Method::Memcpy && *r > ceiling).max_by(|a, b| a.1.total_cmp(&b.1))
    {
        notes.push(Text::new("note.mmap.beat_ceiling").with_text("method", fastest.name()));
    }
    if p.cold {
        notes.push(Text::new("note.mmap.cold"));
    }
    Ok(notes)
}

/// Warm: one sequential read of the whole file. Cold: fsync, then ask the kernel to drop its pages, and check
/// with mincore how much really left the cache (the drop is only advice).
fn prepare_cache(file: &File, p: &MmapParams, method: Method, notes: &mut Vec<Text>) -> Result<(), ExperimentError> {
    if p.cold {
        file.sync_all().map_err(ExperimentError::io("syncing before dropping the cache"))?;
        rustix::fs::fadvise(file, 0, std::num::NonZeroU64::new(p.size), rustix::fs::Advice::DontNeed)
            .map_err(|e| ExperimentError::io("posix_fadvise(DONTNEED)")(e.into()))?;
        let map = fenced::map(file).map_err(ExperimentError::io("mapping the data file to check the cache"))?;
        if let Some(resident) = fenced::resident_fraction(&map)
            && resident > 0.05
        {
            notes.push(
                Text::new("note.mmap.still_cached")
                    .with_text("method", method.name())
                    .with("percent", format!("{:.0}", resident * 100.0)),
            );
        }
        Ok(())
    } else {
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        while offset < p.size {
            let n = file.read_at(&mut buf, offset).map_err(ExperimentError::io("warming the cache"))?;
            if n == 0 {
                break;
            }
            offset += n as u64;
        }
        Ok(())
    }
}

fn read_pass(pass: &mut Pass<'_>, file: &File, size: u64, buffer: usize) -> Result<u64, ExperimentError> {
    let mut reader = file.try_clone().map_err(ExperimentError::io("reopening the data file"))?;
    std::io::Seek::rewind(&mut reader).map_err(ExperimentError::io("rewinding the data file"))?;
    // Written through before the pass (not zeroed pages the allocator maps untouched), so the pass's time is
    // the reads' and not the first touch of each page of the buffer: a 4 MiB buffer over a 1 MiB file was
    // 1–5 GB/s instead of 22 from those faults alone.
    let mut buf = vec![1u8; buffer];
    let mut sum = 0u64;
    // Chunks are whole numbers of buffers, so reporting in chunks adds no system call.
    let buffers = size.div_ceil(buffer as u64);
    for (first, last) in chunk_ranges(buffers) {
        let (from, to) = (first * buffer as u64, (last * buffer as u64).min(size));
        pass.chunk(|| {
            let (mut done, mut calls) = (from, 0u64);
            while done < to {
                let want = ((to - done) as usize).min(buffer);
                let n = reader.read(&mut buf[..want])?;
                calls += 1;
                if n == 0 {
                    break;
                }
                sum = sum.wrapping_add(checksum(&buf[..n]));
                done += n as u64;
            }
            Ok((done - from, calls))
        })?;
    }
    Ok(sum)
}

fn pread_pass(pass: &mut Pass<'_>, file: &File, pages: &[u64], page_size: u64) -> Result<u64, ExperimentError> {
    let mut buf = vec![0u8; page_size as usize];
    let mut sum = 0u64;
    for (from, to) in chunk_ranges(pages.len() as u64) {
        pass.chunk(|| {
            for &page in &pages[from as usize..to as usize] {
                file.read_exact_at(&mut buf, page * page_size)?;
                sum = sum.wrapping_add(checksum(&buf));
            }
            Ok(((to - from) * page_size, to - from))
        })?;
    }
    Ok(sum)
}

fn mmap_pass(
    pass: &mut Pass<'_>,
    file: &File,
    size: u64,
    pages: Option<&[u64]>,
    hint: bool,
    page_size: u64,
) -> Result<u64, ExperimentError> {
    let map = fenced::map(file).map_err(ExperimentError::io("mapping the data file"))?;
    // The hint matches the pattern: read ahead for a sequential pass, not for pieces. One more call.
    if hint {
        let advice = if pages.is_some() { memmap2::Advice::Random } else { memmap2::Advice::Sequential };
        map.advise(advice).map_err(ExperimentError::io("madvise"))?;
    }
    let setup_calls = if hint { 2 } else { 1 };
    let mut sum = 0u64;
    let mut first = true;
    match pages {
        None => {
            for (from, to) in chunk_ranges(size) {
                let calls = if std::mem::take(&mut first) { setup_calls } else { 0 };
                pass.chunk(|| {
                    sum = sum.wrapping_add(checksum(&map[from as usize..to as usize]));
                    Ok((to - from, calls))
                })?;
            }
        }
        Some(pages) => {
            for (from, to) in chunk_ranges(pages.len() as u64) {
                let calls = if std::mem::take(&mut first) { setup_calls } else { 0 };
                pass.chunk(|| {
                    for &page in &pages[from as usize..to as usize] {
                        let at = (page * page_size) as usize;
                        sum = sum.wrapping_add(checksum(&map[at..at + page_size as usize]));
                    }
                    Ok(((to - from) * page_size, calls))
                })?;
            }
        }
    }
    Ok(sum)
}

/// The ceiling: the same bytes, resident in memory, read the two ways the methods read them: copied through a
/// small cached buffer and checksummed (what read(2) does without the kernel) and checksummed in place (what a
/// mapping does without faults). The memory is asked for in huge pages, as the page cache may hold the file in
/// large folios, so that the ceiling's TLB is no worse than the methods'. Each chunk is timed both ways, half a
/// pass apart so that neither finds the other's bytes in the CPU's caches, and counts the faster: every method
/// does at least what one of the two does, so the best of them bounds it.
fn ceiling_pass(pass: &mut Pass<'_>, size: u64, seed: u64) -> Result<u64, ExperimentError> {
    let source = content(size, seed, pass.ctx.cancel)?;
    let source = &source[..size as usize];
    let mut buf = vec![0u8; CEILING_BUFFER];
    let ranges: Vec<(u64, u64)> = chunk_ranges(size).collect();
    let (mut copied, mut scanned) = (vec![(0u64, 0u64); ranges.len()], vec![(0u64, 0u64); ranges.len()]);
    for step in 0..ranges.len() {
        if pass.ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let (from, to) = ranges[step];
        let start = monotonic_ns();
        let mut sum = 0u64;
        for piece in source[from as usize..to as usize].chunks(CEILING_BUFFER) {
            buf[..piece.len()].copy_from_slice(piece);
            sum = sum.wrapping_add(checksum(&buf[..piece.len()]));
        }
        copied[step] = (monotonic_ns() - start, sum);
        let other = (step + ranges.len() / 2) % ranges.len();
        let (from, to) = ranges[other];
        let start = monotonic_ns();
        let sum = checksum(&source[from as usize..to as usize]);
        scanned[other] = (monotonic_ns() - start, sum);
    }
    let mut total = 0u64;
    for (i, (from, to)) in ranges.into_iter().enumerate() {
        let ((copy_ns, copy_sum), (scan_ns, scan_sum)) = (copied[i], scanned[i]);
        if copy_sum != scan_sum {
            return Err(ExperimentError::Worker(format!("the ceiling's two reads of chunk {i} disagree")));
        }
        total = total.wrapping_add(copy_sum);
        pass.record(to - from, copy_ns.min(scan_ns), 0, (0, 0));
    }
    Ok(total)
}

fn file_huge_pages() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("FileHugePages:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_and_fill_are_stable() {
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 4096];
        fill(&mut a, 5);
        fill(&mut b, 5);
        assert_eq!(checksum(&a), checksum(&b));
        assert_eq!(checksum(&[1, 0, 0, 0, 0, 0, 0, 0, 2]), 3);
    }
}
