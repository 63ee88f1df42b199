//! `syslab bench`: comparisons measured in one run and printed as ratios, never as pass/fail.
//! - the simulation's speed natively (events per second; the page measures the same case in wasm);
//! - the lock worker's instrumented flock loop against the same loop without instrumentation;
//! - the lock lab's real run against the same workload as a plain C program (`native/bench/flock_loop.c`,
//!   built here with the system's `cc`), blocking and LOCK_NB, and the achieved hold at 1, 10 and 100 µs;
//! - the mmap lab's memory ceiling against the same reads as a plain C program (`native/bench/memory_ceiling.c`);
//! - the methods lab's start costs as ratios (process/thread, thread/pooled task);
//! - the Amdahl lab's fitted parallel fraction of the calibrated workload against the one it was built with;
//! - the watch lab: the poller's CPU against inotify's at N = 1 000 and 100 000, the detection latency of the
//!   companion's inotify watcher against `inotifywait -m` for the same writes, and the headless run's figures
//!   that `cargo xtask bench` sets against the same run streamed to the page;
//! - the I/O models at K = 10 and 1 000 sources: each server's CPU time per message and latency p99 against
//!   epoll's;
//! - the pipeline lab: its simulation's speed (the page measures the same case in wasm) and the instrumented
//!   send and receive of the real run against a bare crossbeam-channel loop, 1 producer and 1 consumer;
//! - the load harness at full scale: 200 clients for 60 seconds, 10 of them stalled.

use crate::clock::monotonic_ns;
use crate::experiment::lock::report::Reporter;
use anyhow::Context;
use rustix::fs::{FlockOperation, flock};
use shared::LabId;
use shared::figures::BenchFigures;
use shared::lab::lock::{LockEvent, LockKind};
use std::io::Read;

/// The parts of the benchmark, in the order they run (`syslab bench --only PART`).
const PARTS: [&str; 7] = ["simulation", "lock", "labs", "watch", "io", "pipeline", "load"];

/// Runs every comparison (or the one part `only` names), printing it; the figures `cargo xtask bench` sets
/// against others go to `figures_out` as JSON ([`BenchFigures`]) when given.
pub fn run(figures_out: Option<&std::path::Path>, only: Option<&str>) -> anyhow::Result<()> {
    if let Some(part) = only {
        anyhow::ensure!(PARTS.contains(&part), "no benchmark part `{part}`: the parts are {}", PARTS.join(", "));
    }
    let want = |part: &str| only.is_none_or(|only| only == part);
    let mut figures = BenchFigures::default();
    if want("simulation") {
        let (events, secs) = simulation_speed()?;
        println!("simulation, native: {:.2} M events/s ({events} events per run)", events as f64 / secs / 1e6);
        figures.record("sim_events_per_sec", events as f64 / secs);
    }
    if want("lock") {
        for hold_us in [0, 10] {
            let (plain, instrumented) = flock_loop_overhead(hold_us * 1_000)?;
            println!(
                "flock lock, hold {hold_us} µs, unlock: plain {plain:.0} ns, recorded {instrumented:.0} ns per \
                 iteration: {:.3}× ({:+.1}%)",
                instrumented / plain,
                (instrumented / plain - 1.0) * 100.0
            );
        }
        lock_figures()?;
    }
    if want("labs") {
        lab_figures(&mut figures)?;
    }
    if want("watch") {
        watch_figures(&mut figures)?;
    }
    if want("io") {
        io_figures()?;
    }
    if want("pipeline") {
        pipeline_figures(&mut figures)?;
    }
    if let Some(path) = figures_out {
        std::fs::write(path, figures.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    if want("load") { crate::load::benchmark() } else { Ok(()) }
}

/// Runs a lab's real experiment headless through the same code as `syslab run` and returns its metrics.
fn measure(lab: LabId, pairs: &[(&str, shared::ParamValue)]) -> anyhow::Result<Vec<shared::Metric>> {
    Ok(shared::lab::metrics(&measure_trace(lab, pairs)?))
}

/// Parameters as a permalink's query (`a=1&b=2`), for a run the page repeats.
fn query(pairs: &[(&str, shared::ParamValue)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The same, returning the whole trace.
fn measure_trace(lab: LabId, pairs: &[(&str, shared::ParamValue)]) -> anyhow::Result<shared::Trace> {
    let given: shared::ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let params = lab.validate(&given)?;
    let exe = crate::experiment::current_exe()?;
    let cancel = crate::experiment::CancelFlag::default();
    let base = crate::scratch::default_base();
    let run = crate::experiment::run_headless(lab, &params, 1, &base, &exe, &cancel, &|_, _| {})?;
    run.outcome?;
    run.trace.ok_or_else(|| anyhow::anyhow!("the {lab} run reported nothing"))
}

/// The C references' sources: the lock lab's workload and the mmap lab's ceiling, with no recording at all.
const FLOCK_LOOP_C: (&str, &str) = ("flock_loop", include_str!("../bench/flock_loop.c"));
const MEMORY_CEILING_C: (&str, &str) = ("memory_ceiling", include_str!("../bench/memory_ceiling.c"));

/// What the C loop printed.
#[derive(Debug, serde::Deserialize)]
struct LoopResult {
    acquisitions: u64,
    seconds: f64,
}

/// Builds a C reference `(name, source)` with the system's `cc -O2` into `dir`; `None`, said, when there is no
/// compiler.
fn build_c(dir: &std::path::Path, (name, code): (&str, &str)) -> anyhow::Result<Option<std::path::PathBuf>> {
    let (source, exe) = (dir.join(format!("{name}.c")), dir.join(name));
    std::fs::write(&source, code)?;
    match std::process::Command::new("cc").arg("-O2").arg("-o").arg(&exe).arg(&source).status() {
        Ok(status) if status.success() => Ok(Some(exe)),
        Ok(status) => anyhow::bail!("cc could not build the C {name} ({status})"),
        Err(err) => {
            println!("{name} against C: not measured: no C compiler (`cc`: {err})");
            Ok(None)
        }
    }
}

/// The mmap lab's memory ceiling (from a run of `size_mib`) against the same reads as a plain C program.
fn memory_ceiling_against_c(lab_gbps: f64, size_mib: i64) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Ceiling {
        copy_gbps: f64,
        scan_gbps: f64,
    }
    let dir = std::env::temp_dir().join(format!("syslab-bench-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let Some(exe) = build_c(&dir, MEMORY_CEILING_C)? else { return Ok(()) };
    let out = std::process::Command::new(&exe).arg(size_mib.to_string()).output()?;
    std::fs::remove_dir_all(&dir)?;
    let c: Ceiling = serde_json::from_slice(&out.stdout).context("reading the C memory ceiling's line")?;
    let best = c.copy_gbps.max(c.scan_gbps);
    println!(
        "mmap lab's memory ceiling: {lab_gbps:.2} GB/s; C over the same {size_mib} MiB: copy {:.2}, scan {:.2} GB/s \
         → {:.2}× the better",
        c.copy_gbps,
        c.scan_gbps,
        lab_gbps / best
    );
    Ok(())
}

/// The lock lab's real run against the plain C loop, 16 processes, think 0, a constant hold of 10 µs, blocking
/// and LOCK_NB retried every 10 µs, 3 s each; then how precisely one process held for 1, 10 and 100 µs.
fn lock_figures() -> anyhow::Result<()> {
    use shared::ParamValue::{Int, Text};
    let value = |metrics: &[shared::Metric], key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
    let dir = std::env::temp_dir().join(format!("syslab-bench-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let reference = build_c(&dir, FLOCK_LOOP_C)?;
    let mut ratios = Vec::new();
    for (mode, nonblocking) in [("blocking", "0"), ("nonblocking", "1")] {
        let lab = measure(
            LabId::Lock,
            &[
                ("procs", Int(16)),
                ("think_us", Int(0)),
                ("hold_us", Int(10)),
                ("dist", Text("constant".into())),
                ("mode", Text(mode.into())),
                ("retry_us", Int(10)),
                ("duration_ms", Int(3_000)),
            ],
        )?;
        let lab_rate = value(&lab, "throughput").unwrap_or(0.0);
        let Some(exe) = &reference else { continue };
        let out = std::process::Command::new(exe)
            .args(["16", "10000", nonblocking, "10000", "3000"])
            .arg(dir.join("counter"))
            .output()?;
        anyhow::ensure!(out.status.success(), "the C flock loop failed: {}", String::from_utf8_lossy(&out.stderr));
        let c: LoopResult = serde_json::from_slice(&out.stdout)?;
        let c_rate = c.acquisitions as f64 / c.seconds.max(1e-9);
        println!(
            "lock lab, 16 processes, think 0, hold 10 µs, {mode}: C loop {:.1} k/s, the lab's real run {:.1} k/s: \
             {:.2}× of the C loop",
            c_rate / 1e3,
            lab_rate / 1e3,
            lab_rate / c_rate.max(1e-9)
        );
        ratios.push((c_rate, lab_rate));
    }
    if let [(c_block, lab_block), (c_nb, lab_nb)] = ratios[..] {
        let (c, lab) = (c_nb / c_block.max(1e-9), lab_nb / lab_block.max(1e-9));
        println!(
            "lock lab, LOCK_NB/blocking throughput: C loop {c:.3}, the lab {lab:.3}: the lab's is {:+.0} % of the \
             loop's (target within 15 %)",
            (lab / c.max(1e-9) - 1.0) * 100.0
        );
    }
    for hold_us in [1, 10, 100] {
        let trace = measure_trace(
            LabId::Lock,
            &[
                ("procs", Int(1)),
                ("think_us", Int(0)),
                ("hold_us", Int(hold_us)),
                ("dist", Text("constant".into())),
                ("duration_ms", Int(1_000)),
                // One wait report a case: its own 10 000s of waits are the sample.
                ("repeats", Int(1)),
            ],
        )?;
        for w in shared::waits::accuracies(&trace) {
            let us = |ns: u32| f64::from(ns) / 1e3;
            println!(
                "lock lab, one process, {} asked {hold_us} µs: achieved median {:.3} µs, p99 {:.3} µs; off by {:.3} µs \
                 at p99 (bound {:.3} µs): {} of {} waits beyond it, {}",
                w.wait.key(),
                us(w.achieved_p50_ns),
                us(w.achieved_p99_ns),
                us(w.off_p99_ns),
                shared::waits::bound(hold_us as u64 * 1_000) as f64 / 1e3,
                w.beyond_bound,
                w.n,
                if w.as_asked() { "as asked" } else { "NOT as asked" }
            );
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn lab_figures(figures: &mut BenchFigures) -> anyhow::Result<()> {
    use shared::ParamValue::{Float, Int};
    let value = |metrics: &[shared::Metric], key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
    let methods = measure(LabId::Methods, &[("samples", Int(300))])?;
    if let (Some(pt), Some(tp)) = (value(&methods, "process_per_thread"), value(&methods, "thread_per_pooled")) {
        println!("starting work: a process costs {pt:.1}× a thread; a thread costs {tp:.1}× a pooled task");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as i64);
    // The run the page repeats from headless Chromium (browser-bench), with the page open: its fit without one.
    let case = [("parallel", Float(0.9)), ("max_threads", Int(cores.clamp(2, 32))), ("work_ms", Int(200))];
    figures.cases.insert("amdahl".to_owned(), format!("{}&seed=1", query(&case)));
    let amdahl = measure(LabId::Amdahl, &case)?;
    match (value(&amdahl, "fitted_parallel"), value(&amdahl, "fit_spread")) {
        (Some(fitted), Some(spread)) => {
            println!("Amdahl workload built with p = 0.900: fitted p = {fitted:.3} ± {spread:.3} on {cores} CPUs");
            figures.record("amdahl_fitted", fitted);
        }
        _ => println!("Amdahl workload built with p = 0.900: too noisy to fit on {cores} CPUs"),
    }
    // mmap: 256 MiB, warm, random methods on 10 % of the pages; every method as a fraction of the ceiling, and
    // the figures `cargo xtask bench` sets against fio.
    let mmap = measure(LabId::Mmap, &[("size_mib", Int(256)), ("fraction_pct", Int(10))])?;
    for method in shared::lab::mmap::Method::reads() {
        let key = method.key();
        if let Some(gbps) = value(&mmap, &format!("{key}_gbps")) {
            let of = value(&mmap, &format!("{key}_of_ceiling"))
                .map(|f| format!(" = {:.2} of the memory ceiling", f))
                .unwrap_or_default();
            println!("mmap lab, {}: {gbps:.2} GB/s{of}", method.name());
            figures.record(format!("mmap_{key}_gbps"), gbps);
        }
    }
    if let Some(ceiling) = value(&mmap, "memcpy_gbps") {
        memory_ceiling_against_c(ceiling, 256)?;
    }
    Ok(())
}

/// Runs the reference simulation for about a second; returns events per run and seconds per run.
pub fn simulation_speed() -> anyhow::Result<(usize, f64)> {
    let params = shared::lab::lock::benchmark_params();
    let start = monotonic_ns();
    let (mut runs, mut events) = (0u32, 0usize);
    while monotonic_ns() - start < 1_000_000_000 || runs < 3 {
        events += shared::lab::simulate(LabId::Lock, &params, u64::from(runs))?.events.len();
        runs += 1;
    }
    // Events and seconds per run, averaged over the runs.
    let per_run = events / runs as usize;
    Ok((per_run, (monotonic_ns() - start) as f64 / 1e9 / f64::from(runs)))
}

/// ns per lock, hold (a spin of `hold_ns`), unlock without and with the worker's reporting (through a real pipe,
/// drained by a thread).
pub fn flock_loop_overhead(hold_ns: u64) -> anyhow::Result<(f64, f64)> {
    let n: u64 = if hold_ns == 0 { 200_000 } else { 100_000_000 / hold_ns.max(1) };
    let hold = || {
        let until = monotonic_ns() + hold_ns;
        while hold_ns > 0 && monotonic_ns() < until {}
    };
    let dir = std::env::temp_dir().join(format!("syslab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("lock");
    let file = std::fs::File::create(&path)?;
    let (mut reader, writer) = std::io::pipe()?;
    let drain = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
    });
    let mut best = (f64::MAX, f64::MAX);
    let mut reporter = Reporter::new(writer)?;
    // Alternate the two loops a few times and keep each one's best, so drift hits both alike.
    for _ in 0..3 {
        let t = monotonic_ns();
        for _ in 0..n {
            flock(&file, FlockOperation::LockExclusive)?;
            hold();
            flock(&file, FlockOperation::Unlock)?;
        }
        best.0 = best.0.min((monotonic_ns() - t) as f64 / n as f64);
        let t = monotonic_ns();
        for _ in 0..n {
            // As the worker does: records written out between two turns at the lock, one clock read per event.
            let mut requested = monotonic_ns();
            if reporter.maybe_flush(requested)? {
                requested = monotonic_ns();
            }
            reporter.emit(requested, LockEvent::Requested { kind: LockKind::Exclusive });
            flock(&file, FlockOperation::LockExclusive)?;
            reporter.emit(monotonic_ns(), LockEvent::Acquired { kind: LockKind::Exclusive });
            hold();
            flock(&file, FlockOperation::Unlock)?;
            reporter.emit(monotonic_ns(), LockEvent::Released);
        }
        best.1 = best.1.min((monotonic_ns() - t) as f64 / n as f64);
    }
    reporter.flush(monotonic_ns())?;
    drop(reporter);
    let _ = drain.join();
    std::fs::remove_dir_all(&dir)?;
    Ok(best)
}

/// The watch lab's figures: a sweep to 100 000 files for the cost of each watcher, the default-sized run whose
/// figures the page's run is compared with, and inotify against inotifywait.
fn watch_figures(figures: &mut BenchFigures) -> anyhow::Result<()> {
    use shared::ParamValue::{Int, Text};
    let value = |metrics: &[shared::Metric], key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
    let sweep = measure(
        LabId::Watch,
        &[
            ("files", Int(100_000)),
            ("sweep", Text("on".into())),
            ("changes", Int(50)),
            ("rate", Int(100)),
            // Over a minute a repeat: the cost against N is the figure, one sweep gives it.
            ("repeats", Int(1)),
        ],
    )?;
    for n in [1_000, 100_000] {
        let (poll, notified) = (value(&sweep, &format!("poll_cpu_n{n}")), value(&sweep, &format!("inotify_cpu_n{n}")));
        if let (Some(poll), Some(notified)) = (poll, notified) {
            println!(
                "watching {n} files, CPU per second: poller {:.2} ms, inotify {:.3} ms: {:.0}×",
                poll / 1e6,
                notified / 1e6,
                poll / notified.max(1.0)
            );
        }
    }
    // The run the page repeats with a client (browser-bench): its figures without one.
    let case = streaming_case();
    // The page's run takes its seed from the link: the same seed gives both runs the same plan of writes.
    figures.cases.insert("watch".to_owned(), format!("{}&seed=1", query(&case)));
    let alone = measure(LabId::Watch, &case)?;
    for key in ["inotify_p50", "inotify_p99", "poll_p50"] {
        if let Some(v) = value(&alone, key) {
            figures.record(format!("watch_{key}_ns"), v);
        }
    }
    match crate::experiment::watch::against_inotifywait(500) {
        Ok((ours, theirs)) => {
            let pct = |v: &[u64], p: f64| shared::stats::percentile(v, p).unwrap_or(0) as f64;
            for (p, name) in [(50.0, "p50"), (99.0, "p99")] {
                println!(
                    "inotify detection {name}: companion's watcher (notify) {:.1} µs, inotifywait -m {:.1} µs: {:.2}×",
                    pct(&ours, p) / 1e3,
                    pct(&theirs, p) / 1e3,
                    pct(&ours, p) / pct(&theirs, p).max(1.0)
                );
            }
        }
        Err(err) => println!("inotify against inotifywait: skipped ({err:#})"),
    }
    Ok(())
}

/// The watch run measured alone here and streamed to the page by browser-bench.
fn streaming_case() -> Vec<(&'static str, shared::ParamValue)> {
    use shared::ParamValue::Int;
    vec![("files", Int(1_000)), ("changes", Int(300)), ("rate", Int(200)), ("interval_ms", Int(50))]
}

/// The I/O models at 10 and 1 000 sources: CPU per message and p99 latency of each server as ratios to epoll.
fn io_figures() -> anyhow::Result<()> {
    use shared::ParamValue::Int;
    use shared::lab::io::Server;
    let value = |metrics: &[shared::Metric], key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
    for sources in [10, 1_000] {
        let m = measure(LabId::Io, &[("sources", Int(sources)), ("requests", Int(2_000)), ("rate", Int(10_000))])?;
        let of = |server: Server, what: &str| value(&m, &format!("{}_{what}", server.key()));
        let (Some(cpu_ref), Some(p99_ref)) = (of(Server::Epoll, "cpu_per_msg"), of(Server::Epoll, "p99")) else {
            continue;
        };
        for server in Server::ALL {
            let (Some(cpu), Some(p99)) = (of(server, "cpu_per_msg"), of(server, "p99")) else {
                println!("I/O, K = {sources}, {}: not measured (see the run's notes)", server.name());
                continue;
            };
            println!(
                "I/O, K = {sources}, {}: CPU {:.1} µs per message ({:.2}× epoll), p99 {:.1} µs ({:.2}× epoll)",
                server.name(),
                cpu / 1e3,
                cpu / cpu_ref.max(1.0),
                p99 / 1e3,
                p99 / p99_ref.max(1.0)
            );
        }
    }
    Ok(())
}

/// The pipeline lab's simulation speed, and its instrumented channel against a bare one.
fn pipeline_figures(figures: &mut BenchFigures) -> anyhow::Result<()> {
    let params = LabId::Pipeline.validate(&shared::lab::pipeline::benchmark_params())?;
    let start = monotonic_ns();
    let (mut runs, mut events) = (0u32, 0usize);
    while monotonic_ns() - start < 1_000_000_000 || runs < 3 {
        events += shared::lab::simulate(LabId::Pipeline, &params, u64::from(runs))?.events.len();
        runs += 1;
    }
    let rate = events as f64 / ((monotonic_ns() - start) as f64 / 1e9);
    println!("pipeline simulation, native: {:.2} M events/s", rate / 1e6);
    figures.record("pipeline_events_per_sec", rate);
    for (capacity, work_ns) in [(1, 0), (1_024, 0), (1_024, 1_000)] {
        let (bare, recorded) = channel_throughput(capacity, work_ns);
        let target = if work_ns == 0 { "target ≤ 3×" } else { "target ≤ 1.10×" };
        println!(
            "channel 1→1, capacity {capacity}, {} ns of work per item: bare crossbeam {:.2} M items/s, the lab's recorded send/receive {:.2} M items/s: {:.2}× (instrumentation; {target})",
            work_ns,
            bare / 1e6,
            recorded / 1e6,
            bare / recorded.max(1.0)
        );
    }
    Ok(())
}

/// Items per second through a crossbeam channel, one producer thread and one consumer thread which spins
/// `work_ns` on each item: a bare loop, then the same through the lab's recording send and receive (events
/// batched to a draining thread). Each is run three times and its best kept.
fn channel_throughput(capacity: usize, work_ns: u64) -> (f64, f64) {
    use crate::experiment::pipeline::{Recorder, recv_recorded, send_recorded};
    const N: u32 = 500_000;
    let items = if work_ns == 0 { N } else { N / 5 };
    // No clock is read for no work: the bare loop must be bare.
    let work = || {
        if work_ns > 0 {
            crate::wait::spin(work_ns);
        }
    };
    let run = |recorded: bool| -> f64 {
        let (tx, rx) = crossbeam_channel::bounded::<u32>(capacity);
        let (events_tx, events_rx) = std::sync::mpsc::channel();
        let drain = std::thread::spawn(move || for _ in events_rx {});
        let start = monotonic_ns();
        std::thread::scope(|scope| {
            let events = events_tx.clone();
            scope.spawn(move || {
                // No wait but a spin here: the waiter's margin does not matter.
                let mut rec = Recorder::new(start, 0, 0, events);
                for i in 0..items {
                    if recorded {
                        send_recorded(&tx, i, 0, 0, &mut rec);
                    } else if tx.send(i).is_err() {
                        break;
                    }
                }
            });
            let mut rec = Recorder::new(start, 1, 0, events_tx.clone());
            if recorded {
                while recv_recorded(&rx, 0, 0, &mut rec).is_some() {
                    work();
                }
            } else {
                while rx.recv().is_ok() {
                    work();
                }
            }
        });
        let secs = (monotonic_ns() - start) as f64 / 1e9;
        drop(events_tx);
        let _ = drain.join();
        f64::from(items) / secs
    };
    let best = |recorded: bool| (0..3).map(|_| run(recorded)).fold(0.0, f64::max);
    (best(false), best(true))
}
