//! The pipeline lab's only `unsafe`: POSIX message queues through libc (rustix has none). A queue is a
//! kernel object with a name (`/syslab.PID.N`), not a file of the run's scratch directory: it outlives every
//! process that has it open until it is unlinked, so the companion that creates it unlinks it when the run
//! ends, however it ends ([`Queue`]'s drop), and records its name in the state file for the sweep after a
//! companion killed outright. A message is one item's number, four bytes.
#![allow(unsafe_code)] // mq_open, mq_send, mq_receive and mq_getattr have no safe interface in Rust.

use std::ffi::CString;
use std::io;
use std::time::{Duration, SystemTime};

/// The bytes of a message: an item's number, little-endian.
pub const MESSAGE_BYTES: usize = 4;

/// An open message queue; the one that created it unlinks it when dropped.
#[derive(Debug)]
pub struct Queue {
    mqd: libc::mqd_t,
    name: CString,
    owned: bool,
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a queue name holds a NUL"))
}

/// Retries a call the kernel interrupted for a signal.
fn retrying(mut call: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        let r = call();
        if r != -1 {
            return Ok(r);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// The moment `after` from now on CLOCK_REALTIME, as the timed calls take their deadline.
fn deadline(after: Duration) -> libc::timespec {
    let at = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default() + after;
    libc::timespec { tv_sec: at.as_secs() as libc::time_t, tv_nsec: at.subsec_nanos() as libc::c_long }
}

impl Queue {
    /// Creates the queue `name` (it must not exist) holding at most `capacity` messages, read and written here.
    pub fn create(name: &str, capacity: u32) -> io::Result<Queue> {
        let cname = c_name(name)?;
        // SAFETY: mq_attr is plain integers; all-zero is a valid value, filled in below.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        attr.mq_maxmsg = capacity as libc::c_long;
        attr.mq_msgsize = MESSAGE_BYTES as libc::c_long;
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated name, the mode and a pointer to an attr that lives across the call, as
        // mq_open(3) takes them with O_CREAT.
        let mqd = unsafe { libc::mq_open(cname.as_ptr(), flags, 0o600 as libc::c_uint, &raw mut attr) };
        if mqd == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Queue { mqd, name: cname, owned: true })
    }

    /// Opens the existing queue `name` to read and write (a worker's side).
    pub fn open(name: &str) -> io::Result<Queue> {
        let cname = c_name(name)?;
        // SAFETY: a NUL-terminated name; without O_CREAT mq_open reads no further arguments.
        let mqd = unsafe { libc::mq_open(cname.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if mqd == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Queue { mqd, name: cname, owned: false })
    }

    /// Sends `item`, waiting until `wait` from now at most for room; false if the queue stayed full.
    pub fn send_within(&self, item: u32, wait: Duration) -> io::Result<bool> {
        let message = item.to_le_bytes();
        let until = deadline(wait);
        // SAFETY: the message's bytes and the deadline live across the call.
        let sent =
            retrying(|| unsafe { libc::mq_timedsend(self.mqd, message.as_ptr().cast(), message.len(), 0, &until) });
        timed_out_is_false(sent)
    }

    /// Sends `item` if there is room now; false if the queue is full.
    pub fn try_send(&self, item: u32) -> io::Result<bool> {
        self.send_within(item, Duration::ZERO)
    }

    /// Sends `item`, waiting for room as long as it takes.
    pub fn send(&self, item: u32) -> io::Result<()> {
        let message = item.to_le_bytes();
        // SAFETY: the message's bytes live across the call.
        retrying(|| unsafe { libc::mq_send(self.mqd, message.as_ptr().cast(), message.len(), 0) }).map(drop)
    }

    /// The next message if one is there now.
    pub fn try_receive(&self) -> io::Result<Option<u32>> {
        let mut message = [0u8; MESSAGE_BYTES];
        let now = deadline(Duration::ZERO);
        // SAFETY: the buffer holds the queue's message size (MESSAGE_BYTES, as it was created) and lives across
        // the call; a null priority pointer is allowed.
        let got = retrying(|| unsafe {
            libc::mq_timedreceive(self.mqd, message.as_mut_ptr().cast(), message.len(), std::ptr::null_mut(), &now)
                as libc::c_int
        });
        Ok(timed_out_is_false(got)?.then(|| u32::from_le_bytes(message)))
    }

    /// The next message, waiting for one as long as it takes.
    pub fn receive(&self) -> io::Result<u32> {
        let mut message = [0u8; MESSAGE_BYTES];
        // SAFETY: as for `try_receive`.
        retrying(|| unsafe {
            libc::mq_receive(self.mqd, message.as_mut_ptr().cast(), message.len(), std::ptr::null_mut()) as libc::c_int
        })?;
        Ok(u32::from_le_bytes(message))
    }

    /// How many messages the queue holds now, as the kernel counts them.
    pub fn queued(&self) -> io::Result<u32> {
        // SAFETY: as in `create`.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a pointer to an attr that lives across the call.
        retrying(|| unsafe { libc::mq_getattr(self.mqd, &raw mut attr) })?;
        Ok(u32::try_from(attr.mq_curmsgs).unwrap_or(0))
    }

    pub fn name(&self) -> &str {
        self.name.to_str().unwrap_or("")
    }
}

/// A timed call that ran out of time is a "no", not an error.
fn timed_out_is_false(r: io::Result<libc::c_int>) -> io::Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => Ok(false),
        Err(e) => Err(e),
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the descriptor is this queue's, closed once here.
        unsafe { libc::mq_close(self.mqd) };
        if self.owned {
            let _ = unlink(self.name());
        }
    }
}

/// Removes the queue `name` (its messages go with it once nobody has it open).
pub fn unlink(name: &str) -> io::Result<()> {
    let cname = c_name(name)?;
    // SAFETY: a NUL-terminated name.
    retrying(|| unsafe { libc::mq_unlink(cname.as_ptr()) }).map(drop)
}

/// Whether a queue named `name` exists (the tests' check that none is left behind; there is no /dev/mqueue
/// to list here).
pub fn exists(name: &str) -> bool {
    Queue::open(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_holds_its_capacity_in_order_and_is_gone_once_dropped() {
        let name = format!("/syslab-test.{}.mq", std::process::id());
        let queue = Queue::create(&name, 3).unwrap();
        assert!(Queue::create(&name, 3).is_err(), "created once");
        let other = Queue::open(&name).unwrap();
        for item in [7, 8, 9] {
            assert!(queue.try_send(item).unwrap());
        }
        assert!(!queue.try_send(10).unwrap(), "full at its capacity");
        assert_eq!(other.queued().unwrap(), 3);
        assert_eq!(other.try_receive().unwrap(), Some(7));
        assert_eq!(other.receive().unwrap(), 8);
        assert_eq!(other.try_receive().unwrap(), Some(9));
        assert_eq!(other.try_receive().unwrap(), None);
        assert!(queue.send_within(1, Duration::from_millis(1)).unwrap());
        assert_eq!(other.receive().unwrap(), 1);
        drop(other);
        drop(queue);
        assert!(!exists(&name), "unlinked by its creator");
    }
}
