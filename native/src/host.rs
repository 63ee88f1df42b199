//! A description of this machine for measured runs: kernel, CPU count and the scratch directory's file system.

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
    }
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
