//! What the kernel counts for this process (getrusage): CPU time, page faults and involuntary context switches,
//! for the calling thread, the whole process (every thread, live or gone) or its reaped children. The mmap lab
//! counts a pass's faults with it, and every run its own CPU time (`crate::alone`).

/// Whose usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Thread,
    Process,
    /// Every child this process has waited for.
    Children,
}

/// A getrusage reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// User and system CPU time.
    pub cpu_ns: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    pub involuntary_switches: u64,
}

/// The usage of `who` so far; zeros if the kernel refuses (it does not for these arguments).
pub fn usage(who: Who) -> Usage {
    fenced::getrusage(match who {
        Who::Thread => libc::RUSAGE_THREAD,
        Who::Process => libc::RUSAGE_SELF,
        Who::Children => libc::RUSAGE_CHILDREN,
    })
    .map_or_else(Usage::default, |u| {
        let ns = |t: libc::timeval| t.tv_sec.max(0) as u64 * 1_000_000_000 + t.tv_usec.max(0) as u64 * 1_000;
        let count = |n: libc::c_long| n.max(0) as u64;
        Usage {
            cpu_ns: ns(u.ru_utime) + ns(u.ru_stime),
            minor_faults: count(u.ru_minflt),
            major_faults: count(u.ru_majflt),
            involuntary_switches: count(u.ru_nivcsw),
        }
    })
}

/// The crate's only getrusage call.
mod fenced {
    #![allow(unsafe_code)] // getrusage has no safe interface in rustix; the call is fenced here.

    pub fn getrusage(who: libc::c_int) -> Option<libc::rusage> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a whole rusage into the pointer it is given, which points at a zeroed,
        // properly aligned rusage owned by this frame; `who` is one of RUSAGE_THREAD, RUSAGE_SELF and
        // RUSAGE_CHILDREN, all valid on Linux.
        let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
        // SAFETY: getrusage returned 0, so it filled the struct (and it was zeroed before in any case).
        (rc == 0).then(|| unsafe { usage.assume_init() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_counts_its_cpu_time_and_the_process_holds_it() {
        let before = (usage(Who::Thread), usage(Who::Process));
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let after = (usage(Who::Thread), usage(Who::Process));
        assert!(after.0.cpu_ns >= before.0.cpu_ns + 20_000_000, "{before:?} {after:?}");
        assert!(after.1.cpu_ns >= after.0.cpu_ns, "the process holds its threads' time");
    }
}
