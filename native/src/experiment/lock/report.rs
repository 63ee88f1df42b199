//! How a worker process reports its events to the companion: one JSON line per event on its stdout, buffered
//! so that reporting costs little next to what is measured, and flushed before the worker may block.

use serde::{Deserialize, Serialize};
use shared::lab::lock::LockEvent;
use std::io::{self, BufWriter, Write};

/// One line of a worker's report: the event and when it happened on CLOCK_MONOTONIC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    pub t: u64,
    pub ev: LockEvent,
}

/// Buffers events and flushes them at least every `FLUSH_EVERY_NS`, before blocking calls, and at the end.
/// Failed non-blocking attempts are folded into one `WouldBlock { attempts }` per flush, so a fast retry loop
/// cannot flood the pipe.
#[derive(Debug)]
pub struct Reporter<W: Write> {
    out: BufWriter<W>,
    last_flush: u64,
    failed: u32,
    last_failed_at: u64,
}

const FLUSH_EVERY_NS: u64 = 5_000_000;

impl<W: Write> Reporter<W> {
    pub fn new(out: W) -> Self {
        Reporter { out: BufWriter::with_capacity(16 * 1024, out), last_flush: 0, failed: 0, last_failed_at: 0 }
    }

    pub fn emit(&mut self, t: u64, ev: LockEvent) -> io::Result<()> {
        self.write_failed()?;
        self.write_line(t, ev)?;
        if t.saturating_sub(self.last_flush) >= FLUSH_EVERY_NS { self.flush(t) } else { Ok(()) }
    }

    /// Counts one failed attempt; reported with the next event or flush.
    pub fn failed_attempt(&mut self, t: u64) -> io::Result<()> {
        self.failed += 1;
        self.last_failed_at = t;
        if t.saturating_sub(self.last_flush) >= FLUSH_EVERY_NS { self.flush(t) } else { Ok(()) }
    }

    pub fn flush(&mut self, now: u64) -> io::Result<()> {
        self.write_failed()?;
        self.last_flush = now;
        self.out.flush()
    }

    fn write_failed(&mut self) -> io::Result<()> {
        if self.failed == 0 {
            return Ok(());
        }
        let attempts = std::mem::take(&mut self.failed);
        self.write_line(self.last_failed_at, LockEvent::WouldBlock { attempts })
    }

    fn write_line(&mut self, t: u64, ev: LockEvent) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &ReportLine { t, ev })?;
        self.out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::lab::lock::LockKind;

    #[test]
    fn failed_attempts_are_folded_into_one_line_before_the_next_event() {
        let mut buf = Vec::new();
        {
            let mut r = Reporter::new(&mut buf);
            r.emit(1, LockEvent::Requested { kind: LockKind::Exclusive }).unwrap();
            for t in 2..=4 {
                r.failed_attempt(t).unwrap();
            }
            r.emit(9, LockEvent::Acquired { kind: LockKind::Exclusive }).unwrap();
            r.flush(10).unwrap();
        }
        let lines: Vec<ReportLine> =
            String::from_utf8(buf).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines,
            vec![
                ReportLine { t: 1, ev: LockEvent::Requested { kind: LockKind::Exclusive } },
                ReportLine { t: 4, ev: LockEvent::WouldBlock { attempts: 3 } },
                ReportLine { t: 9, ev: LockEvent::Acquired { kind: LockKind::Exclusive } },
            ]
        );
    }
}
