//! What the integration tests of `shared` share: a measured run's host, as a companion would describe it.

use shared::trace::HostInfo;

pub fn host() -> HostInfo {
    HostInfo {
        kernel: "Linux 6.18.0".into(),
        n_cpus: 2,
        scratch_fs: "ext4 (/tmp)".into(),
        companion_version: "0.1.0".into(),
        cpu_model: "AMD EPYC 7B13".into(),
        page_size: 4096,
        inotify_max_user_watches: Some(65_536),
        open_files_limit: Some(1_024),
        debug_build: false,
    }
}
