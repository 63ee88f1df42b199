//! A companion as its own process (`syslab serve` on a free port), for the harnesses that must measure or
//! signal the real thing: the load run reads its memory and descriptors from /proc, the fault loops send it
//! SIGTERM. It reads the port and the token from the link the companion prints.

use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// A running `syslab serve`; dropping it kills the process.
#[derive(Debug)]
pub struct SpawnedCompanion {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub port: u16,
    pub token: String,
}

impl SpawnedCompanion {
    /// Starts `exe serve` for pages from `origin`, with its scratch directories under `scratch_base`.
    pub async fn start(exe: &Path, scratch_base: &Path, origin: &str) -> anyhow::Result<SpawnedCompanion> {
        let mut child = tokio::process::Command::new(exe)
            .args(["serve", "--port", "0", "--page-origin", origin])
            .env("SYSLAB_SCRATCH", scratch_base)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or_else(|| anyhow::anyhow!("the companion exited at once"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let fragment = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await??;
            let line = line.ok_or_else(|| anyhow::anyhow!("the companion ended before printing its link"))?;
            if let Some((_, fragment)) = line.split_once("#companion=") {
                break fragment.to_owned();
            }
        };
        let (port, token) = fragment.split_once("&token=").ok_or_else(|| anyhow::anyhow!("an odd link: {fragment}"))?;
        Ok(SpawnedCompanion { child, pid, port: port.parse()?, token: token.to_owned() })
    }

    /// Its resident memory in KiB and its open file descriptors, from /proc.
    pub fn usage(&self) -> (u64, usize) {
        let rss = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
            })
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map(|d| d.count()).unwrap_or(0);
        (rss, fds)
    }

    /// Asks it to stop (SIGTERM, as a service manager would) and waits for its exit.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = i32::try_from(self.pid).ok().and_then(rustix::process::Pid::from_raw);
        let pid = pid.ok_or_else(|| anyhow::anyhow!("pid {} out of range", self.pid))?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        Ok(tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await??)
    }
}
