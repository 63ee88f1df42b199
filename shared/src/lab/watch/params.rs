//! The watch lab's parameters as the form, the wire and the command line declare them.

use super::*;

pub(super) const ON_OFF: &[Choice] = &[Choice { value: "on", label: "on" }, Choice { value: "off", label: "off" }];
pub(super) const SWEEP: &[Choice] = &[
    Choice { value: "off", label: "one round with N files" },
    Choice { value: "on", label: "sweep N = 10, 100, … up to N" },
];

pub(super) static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "files",
        label: "Files (N)",
        unit: "",
        help: "How many files the watched tree holds.",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 1_000 },
        simulation_only: false,
    },
    ParamSpec {
        key: "per_dir",
        label: "Files per directory",
        unit: "",
        help: "inotify needs one watch per directory: fewer files per directory, more watches.",
        kind: ParamKind::Int { min: 1, max: 100_000, default: 100 },
        simulation_only: false,
    },
    ParamSpec {
        key: "changes",
        label: "Changes",
        unit: "",
        help: "How many file changes the writer makes in a round.",
        kind: ParamKind::Int { min: 1, max: 2_000, default: 100 },
        simulation_only: false,
    },
    ParamSpec {
        key: "rate",
        label: "Change rate",
        unit: "/s",
        help: "How many changes per second, at random (exponential) moments.",
        kind: ParamKind::Int { min: 1, max: 5_000, default: 50 },
        simulation_only: false,
    },
    ParamSpec {
        key: "burst",
        label: "Burst",
        unit: "files",
        help: "How many files each change moment writes at once.",
        kind: ParamKind::Int { min: 1, max: 64, default: 1 },
        simulation_only: false,
    },
    ParamSpec {
        key: "interval_ms",
        label: "Poll interval (T)",
        unit: "ms",
        help: "How long the poller sleeps between two passes over the files.",
        kind: ParamKind::Int { min: 1, max: 5_000, default: 100 },
        simulation_only: false,
    },
    ParamSpec {
        key: "sweep",
        label: "Sweep",
        unit: "",
        help: "One round with N files, or rounds with 10, 100, 1 000 … files up to N (the cost curve).",
        kind: ParamKind::Choice { choices: SWEEP, default: "off" },
        simulation_only: false,
    },
    ParamSpec {
        key: "stat_ns",
        label: "stat per file",
        unit: "ns",
        help: "Model: the poller's CPU time per stat(2) of a cached file (reference: 1.4 µs; calibrating measures this machine's, from the lab's own poller).",
        kind: ParamKind::Int { min: 10, max: 1_000_000, default: 1_400 },
        simulation_only: true,
    },
    ParamSpec {
        key: "watch_walk_ns",
        label: "Watch set-up per entry",
        unit: "ns",
        help: "Model: setting up notify's recursive watch, per entry of the tree: notify looks at every file and directory under it and adds an inotify watch for each directory (reference: 2.2 µs, a round figure; calibrating measures this machine's on a tree of 64 directories of 16 files).",
        kind: ParamKind::Int { min: 10, max: 1_000_000, default: 2_200 },
        simulation_only: true,
    },
    ParamSpec {
        key: "notify_delay_us",
        label: "Notification delay",
        unit: "µs",
        help: "Model: from the write to the watcher's handler having the event, through notify's thread and channel (reference: 85 µs, measured on another machine; calibrating measures this one's, the lab's own latency at its defaults).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 85 },
        simulation_only: true,
    },
    ParamSpec {
        key: "event_cost_us",
        label: "Cost per event",
        unit: "µs",
        help: "Model: the watcher's CPU time to handle one change once it has it: it delays the changes after it, not this one (reference: 20 µs; calibrating measures this machine's, from the lab's own inotify watcher).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 20 },
        simulation_only: true,
    },
    ParamSpec {
        key: "queue",
        label: "Kernel queue",
        unit: "events",
        help: "Model: fs.inotify.max_queued_events; beyond it events are dropped and IN_Q_OVERFLOW is queued.",
        kind: ParamKind::Int { min: 1, max: 1_000_000, default: 16_384 },
        simulation_only: true,
    },
    ParamSpec {
        key: "coalesce",
        label: "Merge identical events",
        unit: "",
        help: "Model: inotify merges an event with the last unread one when they are identical.",
        kind: ParamKind::Choice { choices: ON_OFF, default: "on" },
        simulation_only: true,
    },
    // A sweep to 100 000 files lasts over a minute a repeat: the progress bar says so, and one repeat may do.
    crate::repeats::spec(3),
];
