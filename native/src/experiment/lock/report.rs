//! How a lock worker reports to the companion: fixed 32-byte binary records on its stdout, kept in memory and
//! written in batches, so that recording adds no system call to the loop it measures (a record is a few stores,
//! its timestamp a vDSO clock read). The worker writes them out only between two turns at the lock
//! ([`Reporter::maybe_flush`]), never while holding it, and before it may wait for long.
//!
//! Layout, little-endian: `t` (u64, CLOCK_MONOTONIC ns), tag (u8), a small field (u8: a lock kind, a flag or a
//! wait kind), six zero bytes, then two u64 arguments.

use shared::lab::lock::{LockEvent, LockKind};
use shared::waits::WaitKind;
use std::io::{self, Write};

pub const RECORD_BYTES: usize = 32;

/// How many bytes of records a worker keeps before it writes them out at its next chance.
const BATCH_BYTES: usize = 64 * 1024;

/// Records are written out at least this often (in run time), so the companion sees a run as it goes.
const FLUSH_EVERY_NS: u64 = 5_000_000;

/// What a worker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Event(LockEvent),
    /// A wait it made: what for, how long it asked and how long it took.
    Waited {
        wait: WaitKind,
        asked: u64,
        achieved: u64,
    },
}

/// One report and when it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub t: u64,
    pub report: Report,
}

/// Why bytes from a worker are not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The tag names no report.
    #[error("a record with the unknown tag {0}")]
    UnknownTag(u8),
    /// The small field is out of range for its tag.
    #[error("a record (tag {tag}) with the unknown value {value}")]
    BadValue { tag: u8, value: u8 },
}

const KINDS: [LockKind; 2] = [LockKind::Shared, LockKind::Exclusive];
const WAITS: [WaitKind; 4] = [WaitKind::Think, WaitKind::Hold, WaitKind::Retry, WaitKind::Work];

impl Record {
    pub fn encode(&self) -> [u8; RECORD_BYTES] {
        let kind = |k: LockKind| u8::from(k == LockKind::Exclusive);
        let (tag, small, a, b) = match self.report {
            Report::Event(ev) => match ev {
                LockEvent::Requested { kind: k } => (1, kind(k), 0, 0),
                LockEvent::WouldBlock { attempts } => (2, 0, u64::from(attempts), 0),
                LockEvent::Acquired { kind: k } => (3, kind(k), 0, 0),
                LockEvent::Released => (4, 0, 0, 0),
                LockEvent::CounterWrite { value, locked } => (5, u8::from(locked), value, 0),
                LockEvent::Killed => (6, 0, 0, 0),
                LockEvent::GaveUp => (7, 0, 0, 0),
                LockEvent::StaleLockRemoved => (8, 0, 0, 0),
                LockEvent::CounterFinal { value } => (9, 0, value, 0),
            },
            Report::Waited { wait, asked, achieved } => {
                (10, WAITS.iter().position(|w| *w == wait).unwrap_or(0) as u8, asked, achieved)
            }
        };
        let mut out = [0u8; RECORD_BYTES];
        out[..8].copy_from_slice(&self.t.to_le_bytes());
        out[8] = tag;
        out[9] = small;
        out[16..24].copy_from_slice(&a.to_le_bytes());
        out[24..].copy_from_slice(&b.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8; RECORD_BYTES]) -> Result<Record, RecordError> {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let (t, tag, small, a, b) = (word(0), bytes[8], bytes[9], word(16), word(24));
        let bad = RecordError::BadValue { tag, value: small };
        let kind = || KINDS.get(usize::from(small)).copied().ok_or(bad.clone());
        let flag = || match small {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad.clone()),
        };
        let ev = |ev: LockEvent| Report::Event(ev);
        let report = match tag {
            1 => ev(LockEvent::Requested { kind: kind()? }),
            2 => ev(LockEvent::WouldBlock { attempts: u32::try_from(a).unwrap_or(u32::MAX) }),
            3 => ev(LockEvent::Acquired { kind: kind()? }),
            4 => ev(LockEvent::Released),
            5 => ev(LockEvent::CounterWrite { value: a, locked: flag()? }),
            6 => ev(LockEvent::Killed),
            7 => ev(LockEvent::GaveUp),
            8 => ev(LockEvent::StaleLockRemoved),
            9 => ev(LockEvent::CounterFinal { value: a }),
            10 => {
                let wait = WAITS.get(usize::from(small)).copied().ok_or(bad.clone())?;
                Report::Waited { wait, asked: a, achieved: b }
            }
            other => return Err(RecordError::UnknownTag(other)),
        };
        Ok(Record { t, report })
    }
}

/// Keeps a worker's records in memory and writes them out in batches. Failed non-blocking attempts are folded
/// into one `WouldBlock { attempts }` per run of failures, so a fast retry loop does not flood the pipe.
#[derive(Debug)]
pub struct Reporter<W: Write> {
    out: W,
    buf: Vec<u8>,
    last_flush: u64,
    failed: u32,
    last_failed_at: u64,
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W) -> Self {
        Reporter { out, buf: Vec::with_capacity(2 * BATCH_BYTES), last_flush: 0, failed: 0, last_failed_at: 0 }
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
    /// costs the measurement nothing (not while holding the lock).
    pub fn maybe_flush(&mut self, now: u64) -> io::Result<()> {
        if self.buf.len() >= BATCH_BYTES || now.saturating_sub(self.last_flush) >= FLUSH_EVERY_NS {
            self.flush(now)
        } else {
            Ok(())
        }
    }

    pub fn flush(&mut self, now: u64) -> io::Result<()> {
        self.push_failed();
        self.last_flush = now;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    fn push_failed(&mut self) {
        if self.failed > 0 {
            let attempts = std::mem::take(&mut self.failed);
            self.push(Record { t: self.last_failed_at, report: Report::Event(LockEvent::WouldBlock { attempts }) });
        }
    }

    fn push(&mut self, record: Record) {
        self.buf.extend_from_slice(&record.encode());
    }
}

/// Splits bytes read from a worker into records, keeping a partial one for the next read.
#[derive(Debug, Default)]
pub struct RecordReader {
    partial: Vec<u8>,
}

impl RecordReader {
    /// The whole records in `partial` + `bytes`.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Record>, RecordError> {
        self.partial.extend_from_slice(bytes);
        let whole = self.partial.len() / RECORD_BYTES * RECORD_BYTES;
        let records = self.partial[..whole]
            .chunks_exact(RECORD_BYTES)
            .map(|chunk| {
                let mut record = [0u8; RECORD_BYTES];
                record.copy_from_slice(chunk);
                Record::decode(&record)
            })
            .collect();
        self.partial.drain(..whole);
        records
    }

    /// Bytes left over that make no whole record (a worker killed mid-write leaves some).
    pub fn leftover(&self) -> usize {
        self.partial.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_report() -> Vec<Report> {
        let mut out: Vec<Report> = [
            LockEvent::Requested { kind: LockKind::Exclusive },
            LockEvent::Requested { kind: LockKind::Shared },
            LockEvent::WouldBlock { attempts: 7 },
            LockEvent::Acquired { kind: LockKind::Shared },
            LockEvent::Released,
            LockEvent::CounterWrite { value: u64::MAX, locked: true },
            LockEvent::CounterWrite { value: 3, locked: false },
            LockEvent::Killed,
            LockEvent::GaveUp,
            LockEvent::StaleLockRemoved,
            LockEvent::CounterFinal { value: 42 },
        ]
        .into_iter()
        .map(Report::Event)
        .collect();
        out.extend(WAITS.iter().map(|&wait| Report::Waited { wait, asked: 10_000, achieved: u64::MAX }));
        out
    }

    #[test]
    fn every_report_survives_its_encoding_and_bad_bytes_are_typed_errors() {
        for (i, report) in every_report().into_iter().enumerate() {
            let record = Record { t: i as u64 * 1_000_003, report };
            assert_eq!(Record::decode(&record.encode()), Ok(record));
        }
        let mut bytes = Record { t: 1, report: Report::Event(LockEvent::Released) }.encode();
        bytes[8] = 99;
        assert_eq!(Record::decode(&bytes), Err(RecordError::UnknownTag(99)));
        bytes[8] = 1;
        bytes[9] = 2;
        assert_eq!(Record::decode(&bytes), Err(RecordError::BadValue { tag: 1, value: 2 }));
    }

    #[test]
    fn records_wait_in_memory_until_a_flush_and_failures_fold_into_one() {
        let mut buf = Vec::new();
        {
            let mut r = Reporter::new(&mut buf);
            r.emit(1, LockEvent::Requested { kind: LockKind::Exclusive });
            for t in 2..=4 {
                r.failed_attempt(t);
            }
            r.emit(9, LockEvent::Acquired { kind: LockKind::Exclusive });
            r.waited(20, WaitKind::Hold, 10_000, 10_200);
            // Not yet: neither a batch's worth nor 5 ms.
            r.maybe_flush(1_000).unwrap();
            r.flush(30).unwrap();
        }
        let mut reader = RecordReader::default();
        // Fed in odd pieces, as reads from a pipe come.
        let (a, b) = buf.split_at(45);
        let mut got = reader.feed(a).unwrap();
        got.extend(reader.feed(b).unwrap());
        assert_eq!(reader.leftover(), 0);
        let want = vec![
            Record { t: 1, report: Report::Event(LockEvent::Requested { kind: LockKind::Exclusive }) },
            Record { t: 4, report: Report::Event(LockEvent::WouldBlock { attempts: 3 }) },
            Record { t: 9, report: Report::Event(LockEvent::Acquired { kind: LockKind::Exclusive }) },
            Record { t: 20, report: Report::Waited { wait: WaitKind::Hold, asked: 10_000, achieved: 10_200 } },
        ];
        assert_eq!(got, want);
    }
}
