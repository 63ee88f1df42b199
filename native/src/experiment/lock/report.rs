//! How a lock worker reports to the companion: [`Record`]s kept in memory and written out in batches as the
//! workers' protocol's JSON lines ([`crate::experiment::link`]), so that recording adds no system call to the
//! loop it measures (a record is a few stores, its timestamp a vDSO clock read). The worker writes them out
//! only between two turns at the lock ([`Reporter::maybe_flush`]), never while holding it, and before it may
//! wait for long.

use crate::experiment::link::Reports;
use serde::{Deserialize, Serialize};
use shared::LabId;
use shared::lab::lock::LockEvent;
use shared::waits::WaitKind;
use std::io::{self, Write};

/// How many records a worker keeps before it writes them out at its next chance.
const BATCH_RECORDS: usize = 2048;

/// Records are written out at least this often (in run time), so the companion sees a run as it goes.
const FLUSH_EVERY_NS: u64 = 5_000_000;

/// What a worker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    Event(LockEvent),
    /// A wait it made: what for, how long it asked and how long it took.
    Waited {
        wait: WaitKind,
        asked: u64,
        achieved: u64,
    },
    /// The worker's last report: what writing its reports out cost it, in nanoseconds.
    Reporting {
        ns: u64,
    },
}

/// One report and when it happened (CLOCK_MONOTONIC ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub t: u64,
    pub report: Report,
}

/// Keeps a worker's records in memory and writes them out in batches. Failed non-blocking attempts are folded
/// into one `WouldBlock { attempts }` per run of failures, so a fast retry loop does not flood the pipe.
#[derive(Debug)]
pub struct Reporter<W: Write> {
    out: Reports<W>,
    buf: Vec<Record>,
    last_flush: u64,
    failed: u32,
    last_failed_at: u64,
}

impl<W: Write> Reporter<W> {
    /// Says hello on `out`.
    pub fn new(out: W) -> io::Result<Self> {
        let out = Reports::open(out, LabId::Lock)?;
        Ok(Reporter { out, buf: Vec::with_capacity(2 * BATCH_RECORDS), last_flush: 0, failed: 0, last_failed_at: 0 })
    }

    pub fn emit(&mut self, t: u64, ev: LockEvent) {
        self.push_failed();
        self.push(Record { t, report: Report::Event(ev) });
    }

    /// A wait that ended at `t`.
    pub fn waited(&mut self, t: u64, wait: WaitKind, asked: u64, achieved: u64) {
        self.push(Record { t, report: Report::Waited { wait, asked, achieved } });
    }

    /// Counts one failed attempt; reported with the next event or flush.
    pub fn failed_attempt(&mut self, t: u64) {
        self.failed += 1;
        self.last_failed_at = t;
    }

    /// Writes the records out if enough have gathered or enough time has passed: call it only where a write
    /// costs the measurement nothing (not while holding the lock). True if it wrote (so `now` has passed).
    pub fn maybe_flush(&mut self, now: u64) -> io::Result<bool> {
        let due = self.buf.len() >= BATCH_RECORDS || now.saturating_sub(self.last_flush) >= FLUSH_EVERY_NS;
        if due {
            self.flush(now)?;
        }
        Ok(due)
    }

    pub fn flush(&mut self, now: u64) -> io::Result<()> {
        self.push_failed();
        self.last_flush = now;
        for record in self.buf.drain(..) {
            self.out.say(&record)?;
        }
        self.out.flush()
    }

    /// Writes out what is left, then what the reporting cost.
    pub fn finish(&mut self, now: u64) -> io::Result<()> {
        self.flush(now)?;
        let ns = self.out.spent_ns();
        self.out.say(&Record { t: now, report: Report::Reporting { ns } })?;
        self.out.flush()
    }

    fn push_failed(&mut self) {
        if self.failed > 0 {
            let attempts = std::mem::take(&mut self.failed);
            self.push(Record { t: self.last_failed_at, report: Report::Event(LockEvent::WouldBlock { attempts }) });
        }
    }

    fn push(&mut self, record: Record) {
        self.buf.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::link::Listener;
    use shared::lab::lock::LockKind;

    #[test]
    fn records_wait_in_memory_until_a_flush_and_failures_fold_into_one() {
        let mut buf = Vec::new();
        {
            let mut r = Reporter::new(&mut buf).unwrap();
            r.emit(1, LockEvent::Requested { kind: LockKind::Exclusive });
            for t in 2..=4 {
                r.failed_attempt(t);
            }
            r.emit(9, LockEvent::Acquired { kind: LockKind::Exclusive });
            r.waited(20, WaitKind::Hold, 10_000, 10_200);
            // Not yet: neither a batch's worth nor 5 ms.
            assert!(!r.maybe_flush(1_000).unwrap());
            assert_eq!(r.buf.len(), 4, "the records are still in memory");
            r.flush(30).unwrap();
        }
        let mut listener = Listener::new(LabId::Lock, "lock worker 0".into());
        let got: Vec<Record> = listener.read(&mut std::io::BufReader::new(&buf[..])).unwrap().unwrap();
        let want = vec![
            Record { t: 1, report: Report::Event(LockEvent::Requested { kind: LockKind::Exclusive }) },
            Record { t: 4, report: Report::Event(LockEvent::WouldBlock { attempts: 3 }) },
            Record { t: 9, report: Report::Event(LockEvent::Acquired { kind: LockKind::Exclusive }) },
            Record { t: 20, report: Report::Waited { wait: WaitKind::Hold, asked: 10_000, achieved: 10_200 } },
        ];
        assert_eq!(got, want);
    }
}
