//! A description of this machine for measured runs, the provenance the page shows beside every measured figure
//! and the exports carry: kernel, CPU model and count, page size, the scratch directory's file system, and the
//! limits that bound the labs (inotify watches, open files).

use shared::trace::HostInfo;
use std::path::Path;

pub fn describe(scratch: &Path) -> HostInfo {
    let uname = rustix::system::uname();
    let kernel = format!("{} {}", uname.sysname().to_string_lossy(), uname.release().to_string_lossy());
    let n_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let fs = match rustix::fs::statfs(scratch) {
        Ok(stat) => fs_name(stat.f_type),
        Err(_) => "unknown".to_owned(),
    };
    HostInfo {
        kernel,
        n_cpus,
        scratch_fs: format!("{fs} ({})", scratch.display()),
        companion_version: env!("CARGO_PKG_VERSION").to_owned(),
        debug_build: cfg!(debug_assertions),
        cpu_model: cpu_model().unwrap_or_default(),
        page_size: rustix::param::page_size() as u64,
        inotify_max_user_watches: std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
            .ok()
            .and_then(|s| s.trim().parse().ok()),
        open_files_limit: rustix::process::getrlimit(rustix::process::Resource::Nofile).current,
    }
}

/// The first model name /proc/cpuinfo gives (x86: "model name"; some ARM kernels: "Model" or "Hardware").
fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        matches!(key.trim(), "model name" | "Model" | "Hardware" | "cpu model").then(|| value.trim().to_owned())
    })
}

/// Names the common Linux file systems by their statfs magic number.
fn fs_name(magic: i64) -> String {
    match magic {
        0xEF53 => "ext4".to_owned(),
        0x0102_1994 => "tmpfs".to_owned(),
        0x5846_5342 => "xfs".to_owned(),
        0x9123_683E => "btrfs".to_owned(),
        0x794C_7630 => "overlayfs".to_owned(),
        0x6969 => "nfs".to_owned(),
        0x2FC1_2FC1 => "zfs".to_owned(),
        other => format!("fs magic {other:#x}"),
    }
}
