//! A client's outgoing messages, bounded. At most [`OUTBOX_LIMIT`] bytes of serialized messages may wait for a
//! client that reads slowly; beyond that, messages are dropped and counted, and once the client has caught up
//! it is told `lagged { missed }` (its runs show the gaps in their sequence numbers). Whatever a client does,
//! the companion's memory for it stays bounded.

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
}

/// A new outbox that holds at most `limit` bytes of waiting messages.
pub fn outbox(limit: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (queued, missed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicU64::new(0)));
    (Outbox { tx, queued: queued.clone(), missed: missed.clone(), limit }, OutboxReceiver { rx, queued, missed })
}

impl Outbox {
    /// Queues a message, or drops and counts it if the client is too far behind. False once the client is gone.
    pub fn send(&self, msg: &ServerMsg) -> bool {
        let text = msg.to_json();
        let size = text.len();
        if self.queued.load(Ordering::SeqCst) + size > self.limit {
            self.missed.fetch_add(1, Ordering::SeqCst);
            return !self.tx.is_closed();
        }
        self.queued.fetch_add(size, Ordering::SeqCst);
        self.tx.send(text).is_ok()
    }
}

impl OutboxReceiver {
    /// The next text to send: a queued message, or, once the queue is empty after drops, the `lagged` notice.
    pub async fn next(&mut self) -> Option<String> {
        if self.rx.is_empty() {
            let missed = self.missed.swap(0, Ordering::SeqCst);
            if missed > 0 {
                return Some(ServerMsg::Lagged { missed }.to_json());
            }
        }
        let text = self.rx.recv().await?;
        self.queued.fetch_sub(text.len(), Ordering::SeqCst);
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::{RunId, ServerMsg};

    #[tokio::test]
    async fn a_slow_reader_gets_what_fits_and_then_a_count_of_the_rest() {
        let (tx, mut rx) = outbox(200);
        let msg = |seq| ServerMsg::Cancelled { run: RunId(1), seq };
        let size = msg(0).to_json().len();
        let fits = 200 / size;
        for seq in 0..10 {
            assert!(tx.send(&msg(seq)));
        }
        for seq in 0..fits as u64 {
            assert_eq!(rx.next().await, Some(msg(seq).to_json()));
        }
        assert_eq!(rx.next().await, Some(ServerMsg::Lagged { missed: 10 - fits as u64 }.to_json()));
        // Caught up: new messages flow again.
        assert!(tx.send(&msg(10)));
        assert_eq!(rx.next().await, Some(msg(10).to_json()));
    }
}
