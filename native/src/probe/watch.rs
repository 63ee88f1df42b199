//! The watch lab's set-up probe: notify's recursive watch of a tree, as the lab's inotify watcher makes it, timed
//! per entry (notify looks at every file and directory under the root and watches each directory; the lab's
//! 10 000 files in 100 directories took 26–36 ms here, 3 µs an entry).

use super::{ProbeError, io};
use notify::Watcher as _;
use std::path::Path;
use std::time::Instant;

/// The probe's tree: this many directories under its root, each holding [`FILES_PER_DIR`] files.
const DIRS: usize = 64;
const FILES_PER_DIR: usize = 16;

/// Nanoseconds per entry (the root, the directories and the files) of `watch(root, Recursive)` on the probe's
/// tree in `dir`.
pub(super) fn watch_walk(dir: &Path) -> Result<f64, ProbeError> {
    let root = dir.join("tree");
    if !root.exists() {
        for d in 0..DIRS {
            let sub = root.join(format!("d{d:02}"));
            std::fs::create_dir_all(&sub).map_err(io("creating the watch probe's tree"))?;
            for f in 0..FILES_PER_DIR {
                std::fs::write(sub.join(format!("f{f:02}")), b"x").map_err(io("creating the watch probe's files"))?;
            }
        }
    }
    let unavailable = |_| ProbeError::Unmeasurable("inotify is not available here (no instance or watch left)");
    let mut watcher = notify::recommended_watcher(|_: notify::Result<notify::Event>| {}).map_err(unavailable)?;
    let start = Instant::now();
    watcher.watch(&root, notify::RecursiveMode::Recursive).map_err(unavailable)?;
    let ns = start.elapsed().as_nanos() as f64;
    Ok(ns / (1 + DIRS * (1 + FILES_PER_DIR)) as f64)
}
