//! The write passes: the same new bytes written over the file every way, each pass on the original file (put
//! back and synced between passes, untimed). pwrite(2) from 64 KiB pieces then fsync; a MAP_SHARED mapping then
//! msync; a MAP_PRIVATE mapping (copy-on-write) then msync, which has nothing to write; a window mapped at the
//! page below the asked offset after the kernel refused the offset itself; and a PROT_READ mapping written by a
//! worker process, which the kernel kills with SIGSEGV, then mapped again here, granted the write with mprotect
//! and written. Each pass counts the file's dirty pages before and after its sync (cachestat), then re-reads
//! the file from the disk (O_DIRECT), checking it holds what the pass should have left.

use super::{Pass, checksum, chunk_ranges, content, fenced, prepare_cache};
use crate::clock::monotonic_ns;
use crate::experiment::{ExperimentError, RunContext};
use shared::LabId;
use shared::i18n::Text;
use shared::lab::mmap::{Method, MmapEvent, MmapParams, WRITE_BUFFER_KIB};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The new bytes come from another seed than the file's.
const NEW_CONTENT: u64 = 0x6e65_7720_6279_7465;
/// The worker's argument: `protect:PATH`.
const PROTECT: &str = "protect:";
/// How long the PROT_READ worker may take to be killed.
const WORKER_LIMIT_NS: u64 = 10_000_000_000;

pub(super) fn passes(
    p: &MmapParams,
    file: &File,
    path: &Path,
    seed: u64,
    ctx: &RunContext<'_>,
    notes: &mut Vec<Text>,
) -> Result<(), ExperimentError> {
    let size = p.size as usize;
    let (original, new) = (content(p.size, seed, ctx.cancel)?, content(p.size, seed ^ NEW_CONTENT, ctx.cancel)?);
    let (old, new) = (&original[..size], &new[..size]);
    let window = p.window_map();
    let in_window = window.asked as usize..(window.asked + window.len) as usize;
    // The words of a window at a multiple of 1 KiB add up on their own, so its sum swaps into the file's.
    let (old_sum, new_sum) = (checksum(old), checksum(new));
    let window_sum =
        old_sum.wrapping_sub(checksum(&old[in_window.clone()])).wrapping_add(checksum(&new[in_window.clone()]));
    let t0 = monotonic_ns();
    let mut changed = false;
    let mut uncounted = false;
    for method in Method::writes() {
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        if std::mem::take(&mut changed) {
            restore(file, old)?;
        }
        prepare_cache(file, p, method, notes)?;
        let mut pass = Pass { ctx, t0, method, index: 0, bytes: 0, ns: 0 };
        let io = |what: &str| ExperimentError::io(format!("{}: {what}", method.name()));
        let expected = match method {
            Method::MmapPrivate => old_sum,
            Method::MmapWindow => window_sum,
            _ => new_sum,
        };
        let counts = match method {
            Method::Pwrite => {
                pwrite_pass(&mut pass, file, new)?;
                synced(&pass, file, || file.sync_all()).map_err(io("fsync"))?
            }
            Method::MmapShared | Method::MmapPrivate => {
                let map = write_through(&mut pass, new, 0, 1, || match method {
                    Method::MmapShared => fenced::map_shared(file),
                    _ => fenced::map_private(file),
                })?;
                synced(&pass, file, || map.flush()).map_err(io("msync"))?
            }
            Method::MmapWindow => {
                if !window.aligned()
                    && let Some(errno) = fenced::refusal_at(file, window.asked, window.len as usize)
                {
                    pass.event(MmapEvent::Refused { method, errno });
                }
                let len = window.map_len() as usize;
                let map = write_through(&mut pass, &new[in_window.clone()], window.lead() as usize, 1, || {
                    fenced::map_window(file, window.mapped, len)
                })?;
                synced(&pass, file, || map.flush()).map_err(io("msync"))?
            }
            Method::MmapProtect => {
                let signal = denied_write(path, ctx)?;
                pass.event(MmapEvent::Signalled { method, signal });
                // mmap and mprotect: the same pages, read-only and then granted the write.
                let map = write_through(&mut pass, new, 0, 2, || fenced::map(file)?.make_mut())?;
                synced(&pass, file, || map.flush()).map_err(io("msync"))?
            }
            other => return Err(ExperimentError::Worker(format!("{} is not a write pass", other.key()))),
        };
        uncounted |= counts;
        if ctx.cancel.is_cancelled() {
            return Err(ExperimentError::Cancelled);
        }
        let file_ok = reread(file, path, p.size).map_err(io("re-reading the file"))? == expected;
        pass.event(MmapEvent::Verified { method, file_ok });
        changed = method != Method::MmapPrivate;
    }
    notes.push(Text::new("note.mmap.write_verified"));
    if uncounted {
        notes.push(Text::new("note.mmap.no_cachestat"));
    }
    Ok(())
}

/// pwrite(2) of `new` over the file from offset 0, a 64 KiB piece a call, in the pass's chunks.
fn pwrite_pass(pass: &mut Pass<'_>, file: &File, new: &[u8]) -> Result<(), ExperimentError> {
    let buffer = (WRITE_BUFFER_KIB << 10) as usize;
    for (first, last) in chunk_ranges(new.len().div_ceil(buffer) as u64) {
        pass.chunk(|| {
            let (from, to) = (first as usize * buffer, (last as usize * buffer).min(new.len()));
            for at in (from..to).step_by(buffer) {
                file.write_all_at(&new[at..(at + buffer).min(to)], at as u64)?;
            }
            Ok(((to - from) as u64, last - first))
        })?;
    }
    Ok(())
}

/// Maps with `map` (timed as the first chunk, with `calls` system calls) and copies `bytes` into the mapping
/// from `at`, in the pass's chunks; returns the mapping for its sync.
fn write_through(
    pass: &mut Pass<'_>,
    bytes: &[u8],
    at: usize,
    calls: u64,
    map: impl FnOnce() -> std::io::Result<memmap2::MmapMut>,
) -> Result<memmap2::MmapMut, ExperimentError> {
    let mut mapping = None;
    let mut map = Some(map);
    for (from, to) in chunk_ranges(bytes.len() as u64) {
        let (from, to) = (from as usize, to as usize);
        pass.chunk(|| {
            let first = mapping.is_none();
            if let Some(map) = map.take() {
                mapping = Some(map()?);
            }
            let target = mapping.as_mut().ok_or_else(|| std::io::Error::other("no mapping"))?;
            target[at + from..at + to].copy_from_slice(&bytes[from..to]);
            Ok(((to - from) as u64, if first { calls } else { 0 }))
        })?;
    }
    mapping.ok_or_else(|| ExperimentError::Worker(format!("{}: nothing was written", pass.method.name())))
}

/// Times `sync` with the file's dirty pages counted before and after it, and reports it; returns whether the
/// kernel could not count them.
fn synced(pass: &Pass<'_>, file: &File, sync: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<bool> {
    let dirty_before = fenced::dirty_pages(file);
    let start = monotonic_ns();
    sync()?;
    let ns = monotonic_ns() - start;
    let dirty_after = fenced::dirty_pages(file);
    pass.event(MmapEvent::Synced { method: pass.method, ns, dirty_before, dirty_after });
    Ok(dirty_before.is_none())
}

/// The file's checksum as the disk holds it: read with O_DIRECT, past the page cache, which keeps its pages
/// (and the folios they are in) for the next pass; where the file system has no O_DIRECT, its clean pages are
/// dropped from the page cache and the file read back.
fn reread(file: &File, path: &Path, size: u64) -> std::io::Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_DIRECT reads whole, aligned blocks: a page-aligned buffer of 1 MiB, at offsets of 1 MiB.
    let mut buf = memmap2::MmapMut::map_anon(1 << 20)?;
    let reader = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECT).open(path) {
        Ok(direct) => direct,
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
            rustix::fs::fadvise(file, 0, std::num::NonZeroU64::new(size), rustix::fs::Advice::DontNeed)?;
            file.try_clone()?
        }
        Err(err) => return Err(err),
    };
    let (mut sum, mut offset) = (0u64, 0u64);
    while offset < size {
        let n = reader.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(checksum(&buf[..n]));
        offset += n as u64;
    }
    Ok(sum)
}

/// Puts the original bytes back and syncs them, between passes: in 1 MiB writes, as [`super::write_data`]
/// first wrote them, so that the page cache holds the file in the same folios for every pass.
fn restore(file: &File, old: &[u8]) -> Result<(), ExperimentError> {
    old.chunks(1 << 20)
        .enumerate()
        .try_for_each(|(i, block)| file.write_all_at(block, (i as u64) << 20))
        .and_then(|()| file.sync_all())
        .map_err(ExperimentError::io("putting the file's bytes back".to_owned()))
}

/// Starts the worker that writes to a PROT_READ mapping of the file and waits for the kernel to kill it;
/// returns the signal it died of.
fn denied_write(path: &Path, ctx: &RunContext<'_>) -> Result<i32, ExperimentError> {
    use std::os::unix::process::ExitStatusExt;
    let path = path.to_str().ok_or_else(|| ExperimentError::Worker("the scratch path is not UTF-8".into()))?;
    let mut child = crate::experiment::worker_command(ctx.worker_exe, LabId::Mmap, &format!("{PROTECT}{path}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .inspect(|child| crate::state::record(child.id()))
        .map_err(ExperimentError::io("starting the PROT_READ worker".to_owned()))?;
    let start = monotonic_ns();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if ctx.cancel.is_cancelled() => {
                crate::experiment::kill_worker(&mut child);
                return Err(ExperimentError::Cancelled);
            }
            Ok(None) if monotonic_ns() - start > WORKER_LIMIT_NS => {
                crate::experiment::kill_worker(&mut child);
                return Err(ExperimentError::Worker("the PROT_READ worker was not stopped by the kernel".into()));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(err) => {
                crate::experiment::kill_worker(&mut child);
                return Err(ExperimentError::io("waiting for the PROT_READ worker".to_owned())(err));
            }
        }
    };
    status.signal().ok_or_else(|| {
        ExperimentError::Worker(format!("the PROT_READ worker was meant to take SIGSEGV but ended with {status}"))
    })
}

/// `__worker mmap protect:PATH`: maps the file PROT_READ and writes to it, which the kernel answers with
/// SIGSEGV. The worker makes itself undumpable first, so the lesson leaves no core file behind.
pub(super) fn worker(arg: &str) -> Result<(), ExperimentError> {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};
    let path =
        arg.strip_prefix(PROTECT).ok_or_else(|| ExperimentError::Worker(format!("unknown mmap worker `{arg}`")))?;
    crate::experiment::fence_worker(None)?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .and_then(|()| setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) }))
        .map_err(|e| ExperimentError::io("turning off core dumps".to_owned())(e.into()))?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(ExperimentError::io("opening the file".to_owned()))?;
    let map = fenced::map(&file).map_err(ExperimentError::io("mapping the file read-only".to_owned()))?;
    fenced::write_to_read_only(&map);
    Err(ExperimentError::Worker("the kernel let a PROT_READ mapping be written".into()))
}
