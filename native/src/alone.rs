//! Samples the machine's CPU time and the run's own around every run, so that each measured run says whether it
//! ran alone (the pure half, the verdict and the figures, is `shared::alone`).

use shared::alone::{CpuSample, MachineLoad, MachineTicks};

/// A reading now: `/proc/stat`'s first line and this process's CPU time with its reaped children's (the
/// workers of a run are reaped before it ends). None when `/proc/stat` cannot be read or parsed.
pub fn sample() -> Option<CpuSample> {
    let machine = match std::fs::read_to_string("/proc/stat").map(|s| MachineTicks::parse(&s)) {
        Ok(Ok(ticks)) => ticks,
        Ok(Err(err)) => {
            tracing::warn!(%err, "cannot tell whether runs run alone");
            return None;
        }
        Err(err) => {
            tracing::warn!(%err, "cannot read /proc/stat: cannot tell whether runs run alone");
            return None;
        }
    };
    let (own, children) =
        (crate::usage::usage(crate::usage::Who::Process), crate::usage::usage(crate::usage::Who::Children));
    Some(CpuSample {
        machine,
        own_cpu_ns: own.cpu_ns + children.cpu_ns,
        own_involuntary_switches: own.involuntary_switches + children.involuntary_switches,
    })
}

/// The load between a sample taken before a run and now.
pub fn since(before: CpuSample, cpus: u32) -> Option<MachineLoad> {
    let after = sample()?;
    let ticks_per_second = rustix::param::clock_ticks_per_second().max(1);
    Some(MachineLoad::between(before, after, 1_000_000_000 / ticks_per_second, cpus))
}

/// What recording one event costs on this machine, in picoseconds: a clock read and a store of a record into a
/// buffer with room, as every lab's recording does on its measured path (writing the records out happens off
/// it). Timed once per companion, the best of a few rounds.
pub fn record_cost_ps() -> u64 {
    static COST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *COST.get_or_init(|| {
        const N: usize = 20_000;
        let mut records: Vec<(u64, u64)> = Vec::with_capacity(N);
        let mut best = u64::MAX;
        for _ in 0..5 {
            records.clear();
            let start = crate::clock::monotonic_ns();
            for i in 0..N as u64 {
                records.push((crate::clock::monotonic_ns(), i));
            }
            std::hint::black_box(&records);
            best = best.min((crate::clock::monotonic_ns() - start) * 1_000 / N as u64);
        }
        best
    })
}
