//! The mmap lab's parameters as the form, the wire and the command line declare them.

use super::*;

pub(super) const PATTERNS: &[Choice] = &[
    Choice { value: "random", label: "random pages" },
    Choice { value: "strided", label: "every k-th page (strided)" },
];
pub(super) const READAHEAD: &[Choice] =
    &[Choice { value: "on", label: "hint the pattern (madvise)" }, Choice { value: "off", label: "no hint" }];
pub(super) const CACHES: &[Choice] = &[
    Choice { value: "warm", label: "warm (read once first)" },
    Choice { value: "cold", label: "cold (dropped first)" },
];

pub(super) static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "size_mib",
        label: "File size",
        unit: "MiB",
        help: "How big the file is.",
        kind: ParamKind::Int { min: 1, max: 1_024, default: 256 },
        simulation_only: false,
    },
    ParamSpec {
        key: "cache",
        label: "Page cache",
        unit: "",
        help: "Whether the file is in the page cache before each method.",
        kind: ParamKind::Choice { choices: CACHES, default: "warm" },
        simulation_only: false,
    },
    ParamSpec {
        key: "fraction_pct",
        label: "Share read in pieces",
        unit: "%",
        help: "The share of the file's 4 KiB pages that the piecewise methods read.",
        kind: ParamKind::Int { min: 1, max: 100, default: 10 },
        simulation_only: false,
    },
    ParamSpec {
        key: "pattern",
        label: "Pieces",
        unit: "",
        help: "Which pages the piecewise methods (pread, mapped pieces) read.",
        kind: ParamKind::Choice { choices: PATTERNS, default: "random" },
        simulation_only: false,
    },
    ParamSpec {
        key: "readahead",
        label: "Read-ahead hint",
        unit: "",
        help: "Tell the kernel the access pattern of a mapping (MADV_SEQUENTIAL / MADV_RANDOM) or not.",
        kind: ParamKind::Choice { choices: READAHEAD, default: "on" },
        simulation_only: false,
    },
    ParamSpec {
        key: "syscall_ns",
        label: "System call",
        unit: "ns",
        help: "Model: the cost of one read(2) of a cached file beyond its bytes (reference: 170 ns; calibrating measures this machine's, a pread of one byte).",
        kind: ParamKind::Int { min: 10, max: 10_000, default: 170 },
        simulation_only: true,
    },
    ParamSpec {
        key: "copy_gbps",
        label: "Copy bandwidth",
        unit: "GB/s",
        help: "Model: copying memory into a small cached buffer (reference: 19 GB/s, measured on a machine whose memory was 3× faster than some; calibrating measures this one's).",
        kind: ParamKind::Float { min: 0.1, max: 200.0, default: 19.0 },
        simulation_only: true,
    },
    ParamSpec {
        key: "scan_gbps",
        label: "Scan bandwidth",
        unit: "GB/s",
        help: "Model: reading mapped memory (reference: 32 GB/s, measured on another machine; calibrating measures this one's).",
        kind: ParamKind::Float { min: 0.1, max: 200.0, default: 32.0 },
        simulation_only: true,
    },
    ParamSpec {
        key: "fault_ns",
        label: "Page fault",
        unit: "ns",
        help: "Model: one minor fault, mapping the pages below (reference: 1 µs; calibrating measures this machine's).",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 1_000 },
        simulation_only: true,
    },
    ParamSpec {
        key: "fault_pages",
        label: "Pages per fault",
        unit: "",
        help: "Model: how many pages of a cached file one read fault maps — the kernel's fault-around, or a whole large folio (reference: 16; calibrating counts this machine's).",
        kind: ParamKind::Int { min: 1, max: 4_096, default: FAULT_AROUND as i64 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cached_copy_gbps",
        label: "Copy in the cache",
        unit: "GB/s",
        help: "Model: copying bytes that are in the CPU's cache into a small buffer, as reading a file smaller than the cache does (reference: 40 GB/s, measured on another machine; calibrating measures this one's).",
        kind: ParamKind::Float { min: 0.1, max: 500.0, default: 40.0 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cached_scan_gbps",
        label: "Scan in the cache",
        unit: "GB/s",
        help: "Model: the checksum over bytes in the CPU's cache, as over a read(2) buffer just filled (reference: 60 GB/s, measured on another machine; calibrating measures this one's).",
        kind: ParamKind::Float { min: 0.1, max: 500.0, default: 60.0 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cache_kib",
        label: "CPU cache",
        unit: "KiB",
        help: "Model: the cache one core keeps to itself (its L2): a read buffer or a file up to this size stays in it (reference: 2 MiB; calibrating reads this machine's from the kernel).",
        kind: ParamKind::Int { min: 16, max: 1 << 20, default: 2_048 },
        simulation_only: true,
    },
    ParamSpec {
        key: "disk_latency_us",
        label: "Disk latency",
        unit: "µs",
        help: "Model: what one disk request costs beyond its bytes (a cold fault without read-ahead pays it).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 100 },
        simulation_only: true,
    },
    ParamSpec {
        key: "disk_mbps",
        label: "Disk",
        unit: "MB/s",
        help: "Model: how fast a cold file comes from the disk.",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 1_000 },
        simulation_only: true,
    },
    crate::repeats::spec(3),
];
