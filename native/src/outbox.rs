//! A client's outgoing messages, bounded. At most [`OUTBOX_LIMIT`] bytes of serialized messages may wait for a
//! client that reads slowly; beyond that, the live stream skips ahead: messages are left out and counted, and
//! once the client has caught up it is told `lagged { missed, runs }`. Nothing of a run is lost by that: the
//! connection's [`RunLog`] keeps every message, and the client asks for what it lacks; those resends go out
//! when the live queue is empty, pulled from the log one at a time. Whatever a client does, the companion's
//! memory for it stays bounded (this queue's cap plus the log's).

use crate::runlog::RunLog;
use shared::protocol::ServerMsg;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// The most bytes of messages that may wait for one client.
pub const OUTBOX_LIMIT: usize = 1 << 20;

/// The sending side, shared by the connection and its runs.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<String>,
    queued: Arc<AtomicUsize>,
    missed: Arc<AtomicU64>,
    limit: usize,
}

/// The receiving side, read by the connection's writer.
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<String>,
    queued: Arc<AtomicUsize>,
    missed: Arc<AtomicU64>,
    log: Arc<RunLog>,
}

/// A new outbox that holds at most `limit` bytes of waiting messages; resends come from `log`.
pub fn outbox(limit: usize, log: Arc<RunLog>) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (queued, missed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicU64::new(0)));
    (Outbox { tx, queued: queued.clone(), missed: missed.clone(), limit }, OutboxReceiver { rx, queued, missed, log })
}

/// What became of a message handed to the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// Left out of the live stream: the client is too far behind.
    Skipped,
    /// The client has gone.
    Closed,
}

impl Outbox {
    /// Queues a message, or leaves it out and counts it if the client is too far behind.
    pub fn send(&self, msg: &ServerMsg) -> Sent {
        self.send_text(msg.to_json())
    }

    /// The client has gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The same for a message already serialised.
    pub fn send_text(&self, text: String) -> Sent {
        let size = text.len();
        if self.tx.is_closed() {
            return Sent::Closed;
        }
        if self.queued.load(Ordering::SeqCst) + size > self.limit {
            self.missed.fetch_add(1, Ordering::SeqCst);
            return Sent::Skipped;
        }
        self.queued.fetch_add(size, Ordering::SeqCst);
        if self.tx.send(text).is_ok() { Sent::Queued } else { Sent::Closed }
    }
}

impl OutboxReceiver {
    /// The next text to send: a queued message; once the queue is empty after skips, the `lagged` notice; then
    /// the messages the client asked for again, one at a time.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            if let Ok(text) = self.rx.try_recv() {
                self.queued.fetch_sub(text.len(), Ordering::SeqCst);
                return Some(text);
            }
            let missed = self.missed.swap(0, Ordering::SeqCst);
            if missed > 0 {
                return Some(ServerMsg::Lagged { missed, runs: self.log.heads() }.to_json());
            }
            if let Some(text) = self.log.next_resend() {
                return Some(text);
            }
            tokio::select! {
                text = self.rx.recv() => {
                    let text = text?;
                    self.queued.fetch_sub(text.len(), Ordering::SeqCst);
                    return Some(text);
                }
                () = self.log.resend_wanted.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::{RunId, ServerMsg};

    #[tokio::test]
    async fn a_slow_reader_gets_what_fits_then_where_its_runs_are_then_what_it_asks_for() {
        let log = Arc::new(RunLog::new(crate::runlog::RUN_LOG_CAP));
        let (tx, mut rx) = outbox(200, log.clone());
        let run = RunId(1);
        let msg = |seq| ServerMsg::Cancelled { run, seq };
        let size = msg(0).to_json().len();
        let fits = 200 / size;
        for _ in 0..10 {
            log.append(run, |seq, _| msg(seq), |text| tx.send_text(text) == Sent::Queued).expect("not events");
        }
        for seq in 0..fits as u64 {
            assert_eq!(rx.next().await, Some(msg(seq).to_json()));
        }
        let heads = vec![shared::protocol::RunHead { run, next_seq: 10 }];
        assert_eq!(rx.next().await, Some(ServerMsg::Lagged { missed: 10 - fits as u64, runs: heads }.to_json()));
        // Caught up: new messages flow again, and what was skipped comes when asked for.
        log.resend(run, fits as u64, 10).expect("a range the run has");
        assert_eq!(tx.send(&ServerMsg::Evicted { run: RunId(7) }), Sent::Queued);
        assert_eq!(rx.next().await, Some(ServerMsg::Evicted { run: RunId(7) }.to_json()));
        for seq in fits as u64..10 {
            assert_eq!(rx.next().await, Some(msg(seq).to_json()));
        }
        drop(tx);
        assert_eq!(rx.next().await, None);
    }
}
