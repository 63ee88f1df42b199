//! Scratch directories: every run gets its own, removed when the run ends however it ends. A directory's name
//! holds the companion's pid, so a companion that was killed outright has its leftovers removed by the next one.

use std::io;
use std::path::{Path, PathBuf};

/// A run's scratch directory; dropping it removes the directory and everything in it.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn create(base: &Path, run: u64) -> io::Result<Scratch> {
        std::fs::create_dir_all(base)?;
        let dir = base.join(format!("run-{}-{run}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), %err, "could not remove a scratch directory");
        }
    }
}

/// Where scratch directories live: `$SYSLAB_SCRATCH`, or `syslab` in the system's temporary directory.
pub fn default_base() -> PathBuf {
    std::env::var_os("SYSLAB_SCRATCH").map_or_else(|| std::env::temp_dir().join("syslab"), PathBuf::from)
}

/// Removes scratch directories left by companions that are no longer running. Returns how many it removed.
pub fn remove_leftovers(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else { continue };
        if pid != std::process::id() && !process_alive(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
            tracing::info!(dir = %entry.path().display(), "removed the leftovers of a companion that died");
            removed += 1;
        }
    }
    removed
}

fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix("run-")?.split('-').next()?.parse().ok()
}

pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    // EPERM means it exists but is someone else's; only ESRCH means gone.
    !matches!(rustix::process::test_kill_process(pid), Err(e) if e == rustix::io::Errno::SRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_is_removed_on_drop_and_leftovers_of_dead_owners_are_swept() {
        let base = std::env::temp_dir().join(format!("syslab-scratch-test-{}", std::process::id()));
        let scratch = Scratch::create(&base, 1).unwrap();
        std::fs::write(scratch.path().join("f"), b"x").unwrap();
        let dir = scratch.path().to_owned();
        drop(scratch);
        assert!(!dir.exists());

        // A directory whose owner pid cannot exist (above pid_max) is a leftover; our own is not.
        let dead = base.join("run-4194305-7");
        std::fs::create_dir_all(&dead).unwrap();
        let ours = Scratch::create(&base, 2).unwrap();
        assert_eq!(remove_leftovers(&base), 1);
        assert!(!dead.exists());
        assert!(ours.path().exists());
        drop(ours);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
