//! The io lab's parameters as the form, the wire and the command line declare them.

use super::*;

pub(super) static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "sources",
        label: "Sources (K)",
        unit: "",
        help: "How many pipes the servers read.",
        kind: ParamKind::Int { min: 1, max: 1_000, default: 16 },
        simulation_only: false,
    },
    ParamSpec {
        key: "requests",
        label: "Messages",
        unit: "",
        help: "How many messages the feeder writes, each to a random source.",
        kind: ParamKind::Int { min: 1, max: 2_000, default: 200 },
        simulation_only: false,
    },
    ParamSpec {
        key: "rate",
        label: "Message rate",
        unit: "/s",
        help: "Messages per second over all sources, at random (exponential) moments.",
        kind: ParamKind::Int { min: 100, max: 100_000, default: 5_000 },
        simulation_only: false,
    },
    ParamSpec {
        key: "work_us",
        label: "Work per message",
        unit: "µs",
        help: "CPU work a server does for each message it reads.",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 20 },
        simulation_only: false,
    },
    ParamSpec {
        key: "poll_sleep_us",
        label: "Poller's sleep",
        unit: "µs",
        help: "How long the polling server sleeps after a round that found nothing (0: it spins).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 0 },
        simulation_only: false,
    },
    ParamSpec {
        key: "syscall_ns",
        label: "Read call",
        unit: "ns",
        help: "Model: one read(2) of a pipe, or an EAGAIN (reference: 0.3 µs, measured on another machine; calibrating measures this one's).",
        kind: ParamKind::Int { min: 10, max: 100_000, default: 300 },
        simulation_only: true,
    },
    ParamSpec {
        key: "wake_us",
        label: "Wake-up",
        unit: "µs",
        help: "Model: from data arriving to a blocked thread running again (reference: 12 µs, a cross-CPU wake-up on another machine; calibrating measures this one's from the lab's own epoll server with one source and no work).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 12 },
        simulation_only: true,
    },
    ParamSpec {
        key: "spawn_us",
        label: "Thread start",
        unit: "µs",
        help: "Model: starting one of the thread-per-source server's threads, one after another, while the messages \
               already flow (reference: ~50 µs; the methods lab measures it).",
        kind: ParamKind::Int { min: 0, max: 10_000, default: 50 },
        simulation_only: true,
    },
    crate::repeats::spec(5),
];
