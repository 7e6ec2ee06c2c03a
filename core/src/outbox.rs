//! The sending side of one connection: a bounded queue of shared, already serialised
//! frames, and a way to ask the connection to close.
//!
//! Fan-out never waits on a client. A frame is handed over with `try_send`; when the
//! queue is full the client is too slow to keep up and is closed with 4100 (pusher-js
//! then reconnects with back-off), so one slow reader can never grow server memory.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::ErrorCode;
use crate::socket_id::SocketId;

/// Why the server is closing a connection; becomes a `pusher:error` and the close code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kill {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

/// Cheap to clone; every channel a connection joins holds one.
#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    socket_id: SocketId,
    tx: mpsc::Sender<Utf8Bytes>,
    /// The first close request wins; later ones are ignored.
    kill: Mutex<Option<Kill>>,
    /// Wakes the connection task. `notify_one` keeps a permit, so a close requested
    /// before the task waits is not lost.
    wake: Notify,
}

impl Outbox {
    pub fn new(socket_id: SocketId, capacity: usize) -> (Outbox, mpsc::Receiver<Utf8Bytes>) {
        let (tx, rx) = mpsc::channel(capacity);
        let inner = Inner {
            socket_id,
            tx,
            kill: Mutex::new(None),
            wake: Notify::new(),
        };
        (Outbox(Arc::new(inner)), rx)
    }

    pub fn socket_id(&self) -> SocketId {
        self.0.socket_id
    }

    /// Queues a frame. A full queue closes the connection with 4100; a connection that
    /// is already gone is ignored (its task cleans up its subscriptions).
    pub fn send(&self, frame: Utf8Bytes) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.0.tx.try_send(frame) {
            self.close(
                ErrorCode::OverCapacity,
                "Connection too slow: outbound queue is full",
            );
        }
    }

    /// Asks the connection to send `pusher:error` and close with `code`.
    pub fn close(&self, code: ErrorCode, message: impl Into<Cow<'static, str>>) {
        let mut kill = self.0.kill.lock().unwrap_or_else(|p| p.into_inner());
        if kill.is_none() {
            *kill = Some(Kill {
                code,
                message: message.into(),
            });
            self.0.wake.notify_one();
        }
    }

    /// Resolves once `close` has been called.
    pub async fn closed(&self) -> Kill {
        loop {
            if let Some(k) = self
                .0
                .kill
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return k;
            }
            self.0.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overflow_closes_with_4100() {
        let (outbox, mut rx) = Outbox::new(SocketId::generate(), 2);
        outbox.send("a".into());
        outbox.send("b".into());
        outbox.send("c".into());
        let kill = outbox.closed().await;
        assert_eq!(kill.code, ErrorCode::OverCapacity);
        assert_eq!(rx.recv().await.unwrap().as_str(), "a");
        assert_eq!(rx.recv().await.unwrap().as_str(), "b");
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn first_close_wins() {
        let (outbox, _rx) = Outbox::new(SocketId::generate(), 2);
        outbox.close(ErrorCode::Unauthorized, "terminated");
        outbox.close(ErrorCode::Reconnect, "shutdown");
        assert_eq!(outbox.closed().await.code, ErrorCode::Unauthorized);
    }
}
