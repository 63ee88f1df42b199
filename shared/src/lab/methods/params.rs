//! The methods lab's parameters as the form, the wire and the command line declare them.

use super::*;

pub(super) static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        key: "tasks",
        label: "Tasks",
        unit: "",
        help: "How many tasks each way has to finish.",
        kind: ParamKind::Int { min: 1, max: 64, default: 12 },
        simulation_only: true,
    },
    ParamSpec {
        key: "compute_us",
        label: "Compute per task",
        unit: "µs",
        help: "CPU time each task needs.",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 2_000 },
        simulation_only: true,
    },
    ParamSpec {
        key: "wait_us",
        label: "I/O wait per task",
        unit: "µs",
        help: "How long each task then waits for I/O.",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 6_000 },
        simulation_only: true,
    },
    ParamSpec {
        key: "workers",
        label: "Processes / threads",
        unit: "",
        help: "How many processes or threads those two ways start.",
        kind: ParamKind::Int { min: 1, max: 32, default: 4 },
        simulation_only: true,
    },
    ParamSpec {
        key: "cores",
        label: "Cores",
        unit: "",
        help: "How many cores the modelled machine has.",
        kind: ParamKind::Int { min: 1, max: 64, default: 2 },
        simulation_only: true,
    },
    ParamSpec {
        key: "process_start_us",
        label: "Process start",
        unit: "µs",
        help: "The model's cost to start a process (the real run measures it).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 1_000 },
        simulation_only: true,
    },
    ParamSpec {
        key: "thread_start_us",
        label: "Thread start",
        unit: "µs",
        help: "The model's cost to start a thread (the real run measures it).",
        kind: ParamKind::Int { min: 0, max: 100_000, default: 50 },
        simulation_only: true,
    },
    ParamSpec {
        key: "samples",
        label: "Samples",
        unit: "",
        help: "Real run: how many times each cost is measured.",
        kind: ParamKind::Int { min: 10, max: 2_000, default: 200 },
        simulation_only: false,
    },
    crate::repeats::spec(3),
];
