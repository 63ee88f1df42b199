//! mmap against read(2). A file of S bytes is read whole with read(2) at buffer sizes from 4 KiB to 4 MiB, read
//! in part at random with pread, and mapped and touched sequentially or at random; the same bytes read from memory
//! (the better of a copy through a small buffer and a scan in place) are the ceiling. The model charges system
//! calls, copies and checksums at the memory's bandwidth or, for bytes a cache keeps (a read buffer just filled,
//! a small file), the core's cache's or the shared cache's; page faults (each mapping the kernel's fault-around or a
//! large folio); and, for a cold cache, the disk. The real run measures the same passes; both report chunks of
//! each pass.

mod metrics;
mod params;
mod read;
mod write;

pub use metrics::*;
use params::*;
pub use read::*;
pub use write::*;

use crate::catalogue::{LabId, LabInfo, LabStatus};
use crate::i18n::Text;
use crate::params::{Choice, ParamError, ParamKind, ParamSet, ParamSpec};
use crate::predict::{Answer, Figure, INF, Question};
use crate::time::Nanos;
use crate::trace::{Actor, ActorId, ActorKind, Event, EventKind, Metric, RunInfo, Source, Trace, Unit};
use serde::{Deserialize, Serialize};

pub static INFO: LabInfo = LabInfo {
    id: LabId::Mmap,
    title: "mmap vs read",
    summary: "Memory-mapped files against read(2) at several buffer sizes, sequential and random, against the machine's memory bandwidth; and written through shared, private, windowed and read-only mappings against pwrite.",
    explanation: &[
        "read(2) asks the kernel to copy bytes from the page cache into the program's buffer: one system call per \
         buffer, and every byte copied once. mmap maps the file's pages into the program's memory instead: no copy \
         and no call per chunk, but the first touch of each page faults, and the kernel maps it (and, by \
         fault-around, up to 15 neighbours) then.",
        "Why it matters: for one sequential pass the two are close, and small read buffers lose to system calls. \
         For random access to part of a big file, pread pays a call and a copy per piece and the mapping a \
         fault per untouched region; which wins depends on how the pieces fall, so measure it. A cold cache makes both wait for the disk. The machine's \
         own memory bandwidth, measured in the same run (the better of copying the bytes through a small buffer \
         and reading them in place), is the ceiling every method is set against.",
        "Try: a warm 256 MiB file and watch read climb with its buffer size and flatten; touch 1 % of the file at \
         random and compare pread with the mapping; switch to a cold cache. Every measured method reports the \
         same checksum of the bytes it read, so none can win by not reading.",
        "Writing (choose the write passes): a store into a MAP_SHARED mapping changes the page cache's page \
         itself, so the file has it at once, but only dirty in memory until msync (or the kernel's write-back) puts \
         it on the disk, as fsync does after pwrite. A MAP_PRIVATE mapping copies each page at its first write \
         (copy-on-write): the process sees its bytes, the file keeps its own. A mapping may start only at a \
         multiple of the page, so a window at any other offset is refused (EINVAL) and mapped from the page below. \
         And a mapping has access rights: a write to one made PROT_READ is a SIGSEGV, which kills the process \
         that tries it (here a worker started to take it), until mprotect grants the write. The run counts the \
         file's dirty pages before and after each sync and re-reads the file from the disk to check it.",
    ],
    status: LabStatus::Available,
    params: PARAMS,
    sweep: crate::sweep::DefaultSweep { param: "size_mib", values: "1,4,16,64,256", metric: "mmap_seq_gbps" },
};

lab_entry!(MmapLab, MmapParams);

/// What the page asks before a live run.
const QUESTIONS: &[Question] = &[
    Question {
        id: "mmap_vs_read",
        prompt: "Reading the whole file in order: will mapping it be faster or slower than read(2) with a 64 KiB \
                 buffer?",
        figure: Figure::Ratio("mmap_seq_gbps", "read_64k_gbps"),
        answers: &[
            Answer { label: "Slower (under 0.8×)", below: 0.8 },
            Answer { label: "About the same (0.8× to 1.25×)", below: 1.25 },
            Answer { label: "Faster (over 1.25×)", below: INF },
        ],
        why: "read(2) copies every byte from the page cache into your buffer, one system call per 64 KiB; the \
              mapping copies nothing but pays a page fault for each group of pages it touches first. Which \
              cost is larger depends on the kernel's fault-around, the page size and the memory bandwidth.",
    },
    Question {
        id: "msync_vs_fsync",
        prompt: "Writing the whole file and making it durable: will a shared mapping with msync be faster or slower \
             than pwrite(2) with fsync?",
        figure: Figure::Ratio("mmap_shared_durable_gbps", "pwrite_durable_gbps"),
        answers: &[
            Answer { label: "Slower (under 0.8×)", below: 0.8 },
            Answer { label: "About the same (0.8× to 1.25×)", below: 1.25 },
            Answer { label: "Faster (over 1.25×)", below: INF },
        ],
        why: "Both copy every byte into the page cache and both wait for the same dirty pages to reach the disk; \
              pwrite pays a system call per 64 KiB and marks pages dirty as it copies, the mapping pays a write \
              fault per folio instead. The write-back is usually most of the time, so the two come close.",
    },
];

/// The page size the lab counts in, and the kernel's classic fault-around (pages mapped per read fault: the
/// model's reference; a kernel whose page cache holds large folios maps more, which calibrating measures).
pub const PAGE: u64 = 4_096;
pub const FAULT_AROUND: u64 = 16;
/// The read(2) buffer sizes every run sweeps.
pub const READ_BUFFERS_KIB: [u32; 6] = [4, 16, 64, 256, 1_024, 4_096];
/// Each pass is reported in this many chunks.
pub const CHUNKS: u64 = 16;

/// How a pass reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// read(2) through the whole file with a buffer of this many KiB.
    Read { buffer_kib: u32 },
    /// pread(2) of 4 KiB pages, random or strided.
    PreadPieces,
    /// The mapping touched front to back.
    MmapSequential,
    /// The mapping touched at 4 KiB pages, random or strided.
    MmapPieces,
    /// The ceiling: the same bytes in memory, the better of a copy through a small buffer and a scan in place
    /// (the key stays `memcpy`, as exported runs and the bench's figures name it).
    Memcpy,
    /// Writing: pwrite(2) of the whole file from a 64 KiB buffer, then fsync.
    Pwrite,
    /// Writing through a MAP_SHARED mapping of the whole file, then msync.
    MmapShared,
    /// Writing through a MAP_PRIVATE mapping: copy-on-write, the file untouched.
    MmapPrivate,
    /// Writing through a MAP_SHARED window of the file mapped at an offset, then msync.
    MmapWindow,
    /// A write to a PROT_READ mapping (the worker takes SIGSEGV), then mprotect and the write through it.
    MmapProtect,
}

impl Method {
    /// The read passes, in the order a run does them.
    pub fn reads() -> Vec<Method> {
        let mut all: Vec<Method> = READ_BUFFERS_KIB.iter().map(|&buffer_kib| Method::Read { buffer_kib }).collect();
        all.extend([Method::PreadPieces, Method::MmapSequential, Method::MmapPieces, Method::Memcpy]);
        all
    }

    /// The write passes, in the order a run does them (those [`Method::is_write`] names).
    pub fn writes() -> Vec<Method> {
        vec![Method::Pwrite, Method::MmapShared, Method::MmapPrivate, Method::MmapWindow, Method::MmapProtect]
    }

    pub fn key(self) -> String {
        match self {
            Method::Read { buffer_kib } => format!("read_{buffer_kib}k"),
            Method::PreadPieces => "pread_pieces".to_owned(),
            Method::MmapSequential => "mmap_seq".to_owned(),
            Method::MmapPieces => "mmap_pieces".to_owned(),
            Method::Memcpy => "memcpy".to_owned(),
            Method::Pwrite => "pwrite".to_owned(),
            Method::MmapShared => "mmap_shared".to_owned(),
            Method::MmapPrivate => "mmap_private".to_owned(),
            Method::MmapWindow => "mmap_window".to_owned(),
            Method::MmapProtect => "mmap_protect".to_owned(),
        }
    }

    pub fn name(self) -> Text {
        match self {
            Method::Read { buffer_kib } if buffer_kib >= 1_024 => {
                Text::new("term.mmap.read_mib").with("n", buffer_kib / 1_024)
            }
            Method::Read { buffer_kib } => Text::new("term.mmap.read_kib").with("n", buffer_kib),
            other => Text::new(&format!("term.mmap.{}", other.key())),
        }
    }

    /// Whether the method reads only the chosen share of the pages.
    pub fn is_partial(self) -> bool {
        matches!(self, Method::PreadPieces | Method::MmapPieces)
    }

    /// Whether the method is a write pass.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Method::Pwrite | Method::MmapShared | Method::MmapPrivate | Method::MmapWindow | Method::MmapProtect
        )
    }
}

/// What happened in the mmap lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum MmapEvent {
    /// One chunk of a method's pass, ending at the event's time: `index` of [`CHUNKS`], the bytes it read, how
    /// long it took, and what it cost.
    Chunk { method: Method, index: u32, bytes: u64, ns: u64, syscalls: u64, minor_faults: u64, major_faults: u64 },
    /// A method's pass finished; all methods must report the same checksum of the bytes they read.
    Done { method: Method, checksum: u64 },
    /// A write pass's fsync or msync took `ns`; the file's dirty pages in the page cache before and after
    /// (cachestat; `None` where the kernel cannot say).
    Synced { method: Method, ns: u64, dirty_before: Option<u64>, dirty_after: Option<u64> },
    /// The file re-read from the disk after a write pass holds what the method should have left: the new bytes
    /// (pwrite, MAP_SHARED, the window in its place), the old ones (MAP_PRIVATE).
    Verified { method: Method, file_ok: bool },
    /// The kernel refused a mapping, with this errno (EINVAL: an offset that is not a multiple of the page).
    Refused { method: Method, errno: i32 },
    /// The worker process that wrote to a PROT_READ mapping was killed by this signal (SIGSEGV).
    Signalled { method: Method, signal: i32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmapParams {
    pub size: u64,
    pub cold: bool,
    pub fraction: f64,
    pub strided: bool,
    pub readahead: bool,
    pub disk_latency_ns: f64,
    pub syscall_ns: f64,
    /// One random piece read with pread and checksummed, measured whole.
    pub piece_ns: f64,
    pub copy_gbps: f64,
    pub scan_gbps: f64,
    /// One read fault, and the pages it maps, of the probe's file of [`FAULT_PROBE_BYTES`]; the same of
    /// one smaller than a huge page ([`SMALL_FAULT_PROBE_BYTES`]); one page read at a random place of
    /// memory.
    pub fault_ns: f64,
    pub fault_pages: u64,
    pub small_fault_ns: f64,
    pub small_fault_pages: u64,
    pub random_page_ns: f64,
    /// Copying and scanning bytes that are in the CPU's cache.
    pub cached_copy_gbps: f64,
    pub cached_scan_gbps: f64,
    /// The core's own cache, in bytes.
    pub cache: u64,
    /// The cache the cores share, in bytes, and copying and scanning bytes that are in it.
    pub shared_cache: u64,
    pub shared_copy_gbps: f64,
    pub shared_scan_gbps: f64,
    pub disk_mbps: f64,
    /// Whether the run writes (the write passes) or reads (the read passes).
    pub write: bool,
    /// Where the window starts in the file, in bytes (any multiple of 1 KiB: the mapping starts at the page below).
    pub offset: u64,
    /// How much of the file the window maps from `offset`, in bytes, cut at the file's end.
    pub window: u64,
    /// Model: one write fault of a shared mapping, the pages it makes writable and dirty, one copy-on-write
    /// fault of a private mapping, and the write-back of dirty pages.
    pub write_fault_ns: f64,
    pub write_fault_pages: u64,
    pub cow_fault_ns: f64,
    /// Model: a write fault of a shared mapping that starts off a folio's boundary, and the pages it maps.
    pub off_folio_fault_ns: f64,
    pub off_folio_fault_pages: u64,
    pub sync_mbps: f64,
    /// Model: copying into memory that is in no cache, and the fixed cost of a sync.
    pub write_gbps: f64,
    /// Model: pwrite(2) in 64 KiB pieces into cached pages, calls and dirtying included.
    pub pwrite_gbps: f64,
    pub sync_latency_ns: f64,
    /// The page the passes work in: the modelled machine's [`PAGE`], or the host's for a real run
    /// ([`MmapParams::with_page`]).
    pub page: u64,
}

impl MmapParams {
    /// Validates `set` and reads it typed.
    pub fn parse(set: &ParamSet) -> Result<Self, ParamError> {
        crate::params::read("mmap", PARAMS, set, |r| {
            Ok(MmapParams {
                size: r.uint("size_mib") << 20,
                cold: r.either("cache", "cold", "warm")?,
                fraction: r.uint("fraction_pct") as f64 / 100.0,
                strided: r.either("pattern", "strided", "random")?,
                readahead: r.either("readahead", "on", "off")?,
                disk_latency_ns: r.uint("disk_latency_us") as f64 * 1e3,
                syscall_ns: r.uint("syscall_ns") as f64,
                piece_ns: r.uint("piece_ns") as f64,
                copy_gbps: r.float("copy_gbps"),
                scan_gbps: r.float("scan_gbps"),
                fault_ns: r.uint("fault_ns") as f64,
                fault_pages: r.uint("fault_pages"),
                small_fault_ns: r.uint("small_fault_ns") as f64,
                small_fault_pages: r.uint("small_fault_pages"),
                random_page_ns: r.uint("random_page_ns") as f64,
                cached_copy_gbps: r.float("cached_copy_gbps"),
                cached_scan_gbps: r.float("cached_scan_gbps"),
                cache: r.uint("cache_kib") << 10,
                shared_cache: r.uint("shared_cache_kib") << 10,
                shared_copy_gbps: r.float("shared_copy_gbps"),
                shared_scan_gbps: r.float("shared_scan_gbps"),
                disk_mbps: r.uint("disk_mbps") as f64,
                write: r.either("mode", "write", "read")?,
                offset: window_offset(r)?,
                window: r.uint("window_mib") << 20,
                write_fault_ns: r.uint("write_fault_ns") as f64,
                write_fault_pages: r.uint("write_fault_pages"),
                cow_fault_ns: r.uint("cow_fault_ns") as f64,
                off_folio_fault_ns: r.uint("off_folio_fault_ns") as f64,
                off_folio_fault_pages: r.uint("off_folio_fault_pages"),
                sync_mbps: r.uint("sync_mbps") as f64,
                write_gbps: r.float("write_gbps"),
                pwrite_gbps: r.float("pwrite_gbps"),
                sync_latency_ns: r.uint("sync_latency_us") as f64 * 1e3,
                page: PAGE,
            })
        })
    }

    /// The passes this run does: the read passes or the write passes.
    pub fn methods(&self) -> Vec<Method> {
        if self.write { Method::writes() } else { Method::reads() }
    }

    /// The same passes in pages of `page` bytes (the host's real page size; zero, unknown, keeps the model's).
    pub fn with_page(self, page: u64) -> Self {
        if page == 0 { self } else { MmapParams { page, ..self } }
    }

    pub fn pages(&self) -> u64 {
        self.size.div_ceil(self.page)
    }

    /// How many pages the piecewise methods read.
    pub fn random_pages(&self) -> u64 {
        (libm::ceil(self.pages() as f64 * self.fraction) as u64).clamp(1, self.pages())
    }

    /// The distance between two strided pieces, in pages.
    pub fn stride(&self) -> u64 {
        (self.pages() / self.random_pages()).max(1)
    }

    /// The pieces' pages in the order they are read: every stride-th page, or a seeded random choice.
    pub fn piece_pages(&self, seed: u64) -> Vec<u64> {
        let (pages, count) = (self.pages(), self.random_pages());
        if self.strided {
            return (0..count).map(|i| i * self.stride()).collect();
        }
        let mut all: Vec<u64> = (0..pages).collect();
        let mut rng = crate::rng::SimRng::new(seed, 1);
        for i in 0..count as usize {
            let j = i + rng.below(pages - i as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count as usize);
        all
    }
}

pub fn actors(pid: Option<u32>) -> Vec<Actor> {
    vec![Actor { id: ActorId(0), kind: ActorKind::Process, label: Text::new("term.actor.reader"), pid }]
}

/// The model's passes, each split into [`CHUNKS`] equal chunks. The seed does not change the model (it is
/// deterministic arithmetic); it is kept for the random page order the real run draws from it.
pub fn simulate(params: &ParamSet, seed: u64) -> Result<Trace, ParamError> {
    Ok(simulate_typed(MmapParams::parse(params)?, params, seed))
}

fn simulate_typed(p: MmapParams, params: &ParamSet, seed: u64) -> Trace {
    let mut events = Vec::new();
    let split = |total: u64, i: u64| total / CHUNKS + u64::from(i < total % CHUNKS);
    for method in p.methods() {
        events.extend(refusal(&p, method));
        let (bytes, ns, syscalls, minor, major) = model_pass(&p, method);
        let ns = libm::round(ns) as u64;
        events.extend((0..CHUNKS).map(|i| MmapEvent::Chunk {
            method,
            index: i as u32,
            bytes: split(bytes, i),
            ns: split(ns, i),
            syscalls: split(syscalls, i),
            minor_faults: split(minor, i),
            major_faults: split(major, i),
        }));
        if method.is_write() {
            let (ns, before, after) = model_sync(&p, method);
            events.push(MmapEvent::Synced { method, ns, dirty_before: Some(before), dirty_after: Some(after) });
        } else {
            // The model reads no bytes: its checksums are all zero, and agree by construction.
            events.push(MmapEvent::Done { method, checksum: 0 });
        }
    }
    let mut at = 0u64;
    let events = events
        .into_iter()
        .map(|ev| {
            if let MmapEvent::Chunk { ns, .. } | MmapEvent::Synced { ns, .. } = ev {
                at += ns;
            }
            Event { t: Nanos(at), actor: ActorId(0), kind: EventKind::Mmap(ev) }
        })
        .collect();
    Trace {
        run: RunInfo { lab: LabId::Mmap, params: params.clone(), seed, source: Source::Simulated },
        actors: actors(None),
        events,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn params(pairs: &[(&str, ParamValue)]) -> MmapParams {
        let given = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        MmapParams::parse(&given).unwrap()
    }

    #[test]
    fn a_sequential_mapping_faults_once_per_fault_around_window_and_read_calls_once_per_buffer() {
        let p = params(&[("size_mib", ParamValue::Int(3))]);
        assert_eq!(p.pages(), 768);
        let (_, _, calls, minor, major) = model_pass(&p, Method::MmapSequential);
        assert_eq!((minor, major), (768 / p.fault_pages, 0));
        assert_eq!(calls, 2, "mmap and madvise");
        for kib in READ_BUFFERS_KIB {
            let (_, _, calls, ..) = model_pass(&p, Method::Read { buffer_kib: kib });
            assert_eq!(calls, (3u64 << 20).div_ceil(u64::from(kib) << 10), "{kib} KiB");
        }
        let cold = params(&[("size_mib", ParamValue::Int(3)), ("cache", ParamValue::Text("cold".into()))]);
        let (_, _, _, minor, major) = model_pass(&cold, Method::MmapSequential);
        assert_eq!((minor, major), (0, 768 / cold.fault_pages));
    }

    #[test]
    fn small_buffers_lose_to_calls_and_random_methods_pay_per_piece() {
        let p = params(&[("fraction_pct", ParamValue::Int(1))]);
        assert!(model_gbps(&p, Method::Read { buffer_kib: 4 }) < model_gbps(&p, Method::Read { buffer_kib: 256 }));
        let pages = p.random_pages();
        let (_, _, calls, ..) = model_pass(&p, Method::PreadPieces);
        assert_eq!(calls, pages, "one pread per page");
        let (_, _, _, minor, _) = model_pass(&p, Method::MmapPieces);
        assert!(minor <= pages && minor >= pages.div_ceil(p.fault_pages), "{minor} faults for {pages} pages");
        // Touching every page at random faults as often as a sequential pass.
        let all = params(&[("fraction_pct", ParamValue::Int(100))]);
        assert_eq!(model_pass(&all, Method::MmapPieces).3, model_pass(&all, Method::MmapSequential).3);
        // Strided pieces 16 or more pages apart fault once each; the order is every stride-th page.
        let strided = params(&[("fraction_pct", ParamValue::Int(5)), ("pattern", ParamValue::Text("strided".into()))]);
        assert_eq!(strided.stride(), 19, "65 536 pages / 3 277 pieces");
        assert_eq!(model_pass(&strided, Method::MmapPieces).3, strided.random_pages());
        assert_eq!(&strided.piece_pages(1)[..3], &[0, 19, 38]);
        assert!(strided.piece_pages(1).iter().all(|p| *p < strided.pages()));
    }

    #[test]
    fn bytes_in_the_cpu_cache_read_at_the_cache_speed() {
        let sized = |mib: i64| {
            let int = ParamValue::Int;
            params(&[("size_mib", int(mib)), ("cache_kib", int(4_096)), ("shared_cache_kib", int(32_768))])
        };
        // Within half the core's cache, within half the shared one, beyond both.
        let (small, middle, large) = (sized(1), sized(8), sized(64));
        for method in [Method::Read { buffer_kib: 64 }, Method::MmapSequential, Method::Memcpy] {
            let rates = [&small, &middle, &large].map(|p| model_gbps(p, method));
            assert!(rates[0] > rates[1] && rates[1] > rates[2], "{method:?}: {rates:?}");
        }
        assert!((model_gbps(&middle, Method::Memcpy) - middle.shared_scan_gbps).abs() < 1e-9);
        // A 4 MiB buffer, copied into and read back, leaves the core's 4 MiB cache; 1 MiB does not.
        let rate = |kib| model_gbps(&large, Method::Read { buffer_kib: kib });
        assert!(rate(4_096) < rate(1_024));
        // The ceiling is the scan at memory's speed: no method that pays more than it reads faster.
        let scan = model_gbps(&large, Method::Memcpy);
        assert!((scan - large.scan_gbps).abs() < 1e-9);
        assert!(Method::reads().iter().all(|m| model_gbps(&large, *m) <= scan + 1e-9));
    }

    #[test]
    fn without_the_hint_a_cold_sequential_mapping_waits_at_every_fault() {
        let text = |v: &str| ParamValue::Text(v.into());
        let hinted = params(&[("cache", text("cold"))]);
        let unhinted = params(&[("cache", text("cold")), ("readahead", text("off"))]);
        assert!(model_pass(&unhinted, Method::MmapSequential).1 > model_pass(&hinted, Method::MmapSequential).1);
        let warm = params(&[("readahead", text("off"))]);
        assert_eq!(model_pass(&warm, Method::MmapSequential).3, warm.pages().div_ceil(warm.fault_pages));
    }

    #[test]
    fn the_simulation_reports_every_method_in_chunks_and_is_deterministic() {
        let given = ParamSet::new();
        let set = LabId::Mmap.validate(&given).unwrap();
        let trace = simulate(&set, 1).unwrap();
        assert_eq!(totals(&trace).len(), Method::reads().len());
        assert_eq!(trace.events.len(), Method::reads().len() * (CHUNKS as usize + 1));
        assert!(trace.events.windows(2).all(|w| w[0].t <= w[1].t));
        assert_eq!(simulate(&set, 1).unwrap(), trace);
        let p = MmapParams::parse(&set).unwrap();
        let (_, _, _, minor, _) = totals(&trace)
            .into_iter()
            .find(|r| r.0 == Method::MmapSequential)
            .map(|r| (r.1, r.2, r.3, r.4, r.5))
            .unwrap();
        assert_eq!(minor, p.pages().div_ceil(p.fault_pages));
    }
}
