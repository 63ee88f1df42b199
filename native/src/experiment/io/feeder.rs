//! The feeder process of the I/O lab (`__worker io SPEC`): it holds every pipe's write end and writes the
//! model's seeded schedule on time, each message stamped with its write time.

use super::{FeederSpec, MESSAGE, errno, fifo};
use crate::clock::monotonic_ns;
use crate::experiment::ExperimentError;
use crate::experiment::link::{Reports, await_go};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};
use shared::LabId;
use shared::lab::io::IoParams;

/// What the feeder tells the companion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum FeederReport {
    /// It holds every pipe's write end.
    Ready,
    /// It was told to go and starts the schedule from `t0` (CLOCK_MONOTONIC).
    Started { t0: u64 },
}

/// The `__worker io SPEC` entry: open every pipe's write end, say it is ready, wait for go, say when it starts,
/// then write the schedule from then and exit (closing the pipes: every reader sees its end).
pub(super) fn feeder(spec_json: &str) -> Result<(), ExperimentError> {
    let spec: FeederSpec =
        serde_json::from_str(spec_json).map_err(|e| ExperimentError::Worker(format!("bad feeder spec: {e}")))?;
    crate::experiment::fence_worker(Some(spec.parent_pid))?;
    let waiter = crate::wait::Waiter::for_this_thread().map_err(ExperimentError::io("setting up precise waits"))?;
    let p = IoParams::parse(&spec.params)?;
    let pipes: Vec<OwnedFd> = (0..p.sources)
        .map(|s| rustix::fs::open(fifo(&spec.dir, s), OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()))
        .collect::<Result<_, _>>()
        .map_err(errno("opening the pipes for writing"))?;
    let mut out = Reports::open(std::io::stdout(), LabId::Io).map_err(ExperimentError::io("saying hello"))?;
    let mut say = |report| out.say(&report).and_then(|()| out.flush()).map_err(ExperimentError::io("reporting"));
    say(FeederReport::Ready)?;
    await_go(std::io::stdin().lock())?;
    let t0 = monotonic_ns();
    say(FeederReport::Started { t0 })?;
    for (seq, (at, source)) in p.schedule(spec.seed).into_iter().enumerate() {
        // A write should leave on time: sleep what the kernel can be trusted with, spin the rest.
        waiter.until(t0 + at.0);
        let mut msg = [0u8; MESSAGE];
        msg[..4].copy_from_slice(&(seq as u32).to_le_bytes());
        msg[4..8].copy_from_slice(&source.to_le_bytes());
        msg[8..].copy_from_slice(&monotonic_ns().to_le_bytes());
        // 16 bytes is below PIPE_BUF: the write is atomic and whole.
        rustix::io::write(&pipes[source as usize], &msg).map_err(errno("writing a message"))?;
    }
    Ok(())
}
