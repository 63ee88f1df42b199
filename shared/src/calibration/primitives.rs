//! Where each calibrated model parameter comes from: a figure of a lab's own experiment at parameters of the
//! calibration's, the host's CPU count, or a probe the companion times on its own.

use super::Probe;
use crate::catalogue::LabId;

/// Where a model parameter's value comes from on a host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin {
    /// The median figure `metric` of a calibration run of lab `source` at `query`'s parameters (a permalink's
    /// `key=value&…`; the rest default), turned into the parameter's value by `derive`.
    Figure { source: Source, metric: &'static str, derive: Derive },
    /// How many CPUs the host has: a modelled machine's cores are the real one's.
    HostCpus,
    /// A bare primitive the companion times on its own (no lab's experiment has it as a figure).
    Probe(Probe),
}

/// A lab's experiment a calibration runs, at parameters of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub lab: LabId,
    pub query: &'static str,
}

/// How a figure becomes a model parameter's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Derive {
    /// The figure times this (e.g. nanoseconds to the parameter's microseconds).
    Scale(f64),
    /// A rate's period less what the run itself asked for, in ns: a loop's own cost per turn (`1e9 / rate − ns`).
    PeriodLess(f64),
}

impl Derive {
    pub(super) fn apply(self, figure: f64) -> f64 {
        match self {
            Derive::Scale(scale) => figure * scale,
            Derive::PeriodLess(ns) if figure > 0.0 => 1e9 / figure - ns,
            // No turns at all: no cost can be read from it (and `read` refuses what is not finite).
            Derive::PeriodLess(_) => f64::INFINITY,
        }
    }

    /// The spread of the derived value, to first order.
    pub(super) fn spread(self, figure: f64, spread: f64) -> f64 {
        match self {
            Derive::Scale(scale) => spread * scale.abs(),
            Derive::PeriodLess(_) => 1e9 * spread / (figure * figure).max(f64::MIN_POSITIVE),
        }
    }
}

/// A model parameter of `lab` that a calibration gives a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Primitive {
    pub lab: LabId,
    pub param: &'static str,
    pub from: Origin,
}

/// The methods lab at its defaults, which measures starts and hand-offs, over seven repeats: on a shared
/// machine these differ several times over from one run to the next.
pub(super) const METHODS: Source = Source { lab: LabId::Methods, query: "repeats=7" };
/// The watch lab at its defaults.
const WATCH: Source = Source { lab: LabId::Watch, query: "" };
/// Two lock workers with no think time and a constant hold of 10 µs: a contended turn's own cost (with the
/// wake-up of the waiter each release makes), and how long the one that comes straight back keeps the lock
/// (the other's p99 wait).
pub(super) const LOCK_PAIR: Source =
    Source { lab: LabId::Lock, query: "procs=2&think_us=0&hold_us=10&dist=constant&repeats=5" };

/// The I/O lab's servers with one source and no work per message, over five repeats: each message finds its
/// server blocked.
const IO_IDLE: Source = Source { lab: LabId::Io, query: "sources=1&work_us=0&repeats=5" };

/// The pipeline across processes at its defaults (consumer 0 killed half-way), over five repeats.
const PIPELINE_PROCESSES: Source = Source { lab: LabId::Pipeline, query: "pattern=processes&repeats=5" };

const fn figure(lab: LabId, param: &'static str, source: Source, metric: &'static str, derive: Derive) -> Primitive {
    Primitive { lab, param, from: Origin::Figure { source, metric, derive } }
}

/// The primitives a calibration measures, each from the median figure of a lab's own experiment, the host, or
/// a probe of its own.
pub const PRIMITIVES: &[Primitive] = &[
    figure(LabId::Methods, "process_start_us", METHODS, "process_start_p50", Derive::Scale(1e-3)),
    figure(LabId::Methods, "thread_start_us", METHODS, "thread_start_p50", Derive::Scale(1e-3)),
    figure(LabId::Pipeline, "spawn_us", METHODS, "thread_start_p50", Derive::Scale(1e-3)),
    // A consumer process started again after a kill, as the pipeline across processes measures it: from the kill
    // to its successor's first report (the kill and reaping, the start, the queue opened). The methods lab's bare
    // process start is about half of it here.
    figure(LabId::Pipeline, "restart_us", PIPELINE_PROCESSES, "restart", Derive::Scale(1e-3)),
    figure(LabId::Io, "spawn_us", METHODS, "thread_start_p50", Derive::Scale(1e-3)),
    // A blocked receiver of a channel woken by another thread's send.
    figure(LabId::Pipeline, "wake_us", METHODS, "channel_handoff_p50", Derive::Scale(1e-3)),
    Primitive { lab: LabId::Methods, param: "cores", from: Origin::HostCpus },
    Primitive { lab: LabId::Amdahl, param: "cores", from: Origin::HostCpus },
    Primitive { lab: LabId::Lock, param: "cpus", from: Origin::HostCpus },
    Primitive { lab: LabId::Pipeline, param: "cpus", from: Origin::HostCpus },
    probe(LabId::Pipeline, "spin_us", Probe::SleepMargin),
    probe(LabId::Io, "syscall_ns", Probe::EmptyRead),
    // A blocked server woken by the feeder's write, as the I/O lab's own epoll server is with no work to do: its
    // latency is the wake-up and one read. A reader pinned to the other CPU, timed on its own (a probe of earlier
    // versions), took 27 µs here: the worst case; the scheduler mostly runs the woken server sooner (5–7 µs).
    figure(LabId::Io, "wake_us", IO_IDLE, "epoll_p50", Derive::Scale(1e-3)),
    probe(LabId::Mmap, "syscall_ns", Probe::ReadCall),
    probe(LabId::Mmap, "piece_ns", Probe::PieceRead),
    probe(LabId::Mmap, "cached_copy_gbps", Probe::CachedCopy),
    probe(LabId::Mmap, "cached_scan_gbps", Probe::CachedScan),
    probe(LabId::Mmap, "cache_kib", Probe::CacheSize),
    probe(LabId::Mmap, "shared_cache_kib", Probe::SharedCacheSize),
    probe(LabId::Mmap, "shared_copy_gbps", Probe::SharedCacheCopy),
    probe(LabId::Mmap, "shared_scan_gbps", Probe::SharedCacheScan),
    probe(LabId::Mmap, "copy_gbps", Probe::Copy),
    probe(LabId::Mmap, "scan_gbps", Probe::Scan),
    probe(LabId::Mmap, "fault_ns", Probe::Fault),
    probe(LabId::Mmap, "fault_pages", Probe::FaultPages),
    probe(LabId::Mmap, "small_fault_ns", Probe::SmallFault),
    probe(LabId::Mmap, "small_fault_pages", Probe::SmallFaultPages),
    probe(LabId::Mmap, "random_page_ns", Probe::RandomPageScan),
    probe(LabId::Mmap, "disk_mbps", Probe::ColdRead),
    probe(LabId::Mmap, "write_fault_ns", Probe::WriteFault),
    probe(LabId::Mmap, "write_fault_pages", Probe::WriteFaultPages),
    probe(LabId::Mmap, "cow_fault_ns", Probe::CowFault),
    probe(LabId::Mmap, "off_folio_fault_ns", Probe::OffFolioWriteFault),
    probe(LabId::Mmap, "off_folio_fault_pages", Probe::OffFolioWriteFaultPages),
    probe(LabId::Mmap, "sync_mbps", Probe::SyncWrite),
    probe(LabId::Mmap, "sync_latency_us", Probe::SyncLatency),
    probe(LabId::Mmap, "write_gbps", Probe::MemoryCopy),
    probe(LabId::Mmap, "pwrite_gbps", Probe::PageCacheWrite),
    figure(LabId::Lock, "turn_ns", LOCK_PAIR, "throughput", Derive::PeriodLess(10_000.0)),
    figure(LabId::Lock, "slice_us", LOCK_PAIR, "wait_p99", Derive::Scale(1e-3)),
    probe(LabId::Lock, "wake_us", Probe::FlockWake),
    // The watch lab's own watchers at its defaults: the poller's CPU per stat, the notified one's per change.
    figure(LabId::Watch, "stat_ns", WATCH, "poll_cpu_per_stat", Derive::Scale(1.0)),
    figure(LabId::Watch, "event_cost_us", WATCH, "inotify_cpu_per_change", Derive::Scale(1e-3)),
    probe(LabId::Watch, "watch_walk_ns", Probe::WatchWalk),
    // Each change of the defaults reaches an idle watcher: its latency is the notification's own.
    figure(LabId::Watch, "notify_delay_us", WATCH, "inotify_p50", Derive::Scale(1e-3)),
];

const fn probe(lab: LabId, param: &'static str, probe: Probe) -> Primitive {
    Primitive { lab, param, from: Origin::Probe(probe) }
}

/// The lab runs a calibration makes for its figures: of every lab's primitives, or of `lab`'s only (a source
/// may be another lab's experiment: the I/O model's thread start comes from the methods lab's).
pub fn sources(lab: Option<LabId>) -> std::collections::BTreeSet<Source> {
    of(lab)
        .filter_map(|p| match p.from {
            Origin::Figure { source, .. } => Some(source),
            _ => None,
        })
        .collect()
}

/// The probes a calibration times: for every lab's primitives, or for `lab`'s only.
pub fn probes(lab: Option<LabId>) -> std::collections::BTreeSet<Probe> {
    of(lab)
        .filter_map(|p| match p.from {
            Origin::Probe(probe) => Some(probe),
            _ => None,
        })
        .collect()
}

fn of(lab: Option<LabId>) -> impl Iterator<Item = &'static Primitive> {
    PRIMITIVES.iter().filter(move |p| lab.is_none_or(|lab| p.lab == lab))
}

impl Primitive {
    /// Its key in a calibration's values: `lab.param`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.lab, self.param)
    }
}
