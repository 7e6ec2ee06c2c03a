//! The two paths of lifecycle events out of the app services.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use super::{EventKind, EventReceiver, LifecycleEvent};
use crate::shards::lock;

/// How often, at most, a run of drops on the ordered path is logged (each drop is
/// counted regardless).
const DROP_LOG_EVERY_MS: u64 = 1000;

/// Shared by every app service of a server.
pub(crate) struct Lifecycle {
    /// Embedders: bounded, a lagging receiver loses the oldest events and is told.
    broadcast: broadcast::Sender<LifecycleEvent>,
    /// Embedders that want the events as webhooks see them (delayed, undone pairs
    /// dropped); fed by the webhook dispatcher, bounded the same way.
    delayed: broadcast::Sender<LifecycleEvent>,
    /// In-process consumers that need every event in order; absent until one asks.
    ordered: Mutex<Option<mpsc::Sender<LifecycleEvent>>>,
    /// Events the ordered path could not take (full, or its consumer gone).
    dropped: AtomicU64,
    /// When a drop was last logged, for rate-limiting the log line.
    last_drop_log_ms: AtomicU64,
}

impl Lifecycle {
    pub fn new(broadcast_capacity: usize) -> Arc<Lifecycle> {
        let (broadcast, _) = broadcast::channel(broadcast_capacity.max(1));
        let (delayed, _) = broadcast::channel(broadcast_capacity.max(1));
        Arc::new(Lifecycle {
            broadcast,
            delayed,
            ordered: Mutex::new(None),
            dropped: AtomicU64::new(0),
            last_drop_log_ms: AtomicU64::new(0),
        })
    }

    pub fn subscribe(&self) -> EventReceiver {
        self.broadcast.subscribe()
    }

    /// A receiver of the webhook-grade stream (see [`crate::Server::webhook_events`]).
    pub fn subscribe_delayed(&self) -> EventReceiver {
        self.delayed.subscribe()
    }

    /// Whether anyone asked for the webhook-grade stream.
    pub fn delayed_wanted(&self) -> bool {
        self.delayed.receiver_count() > 0
    }

    /// An event as webhooks send it (the webhook dispatcher calls this).
    pub fn emit_delayed(&self, event: LifecycleEvent) {
        let _ = self.delayed.send(event);
    }

    /// Opens the ordered path with room for `capacity` events; a second call replaces
    /// the first consumer. Events are in emission order, which is decision order for
    /// each channel: the app service emits a channel's events while it holds that
    /// channel's membership lock.
    pub fn ordered(&self, capacity: usize) -> mpsc::Receiver<LifecycleEvent> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        *lock(&self.ordered) = Some(tx);
        rx
    }

    /// Events the ordered path has dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn emit(&self, app_id: &Arc<str>, kind: EventKind) {
        let event = LifecycleEvent {
            app_id: app_id.clone(),
            kind,
        };
        if let Some(tx) = lock(&self.ordered).as_ref() {
            if tx.try_send(event.clone()).is_err() {
                self.count_drop(&event);
            }
        }
        // No receiver is not an error: nobody asked for events.
        let _ = self.broadcast.send(event);
    }

    fn count_drop(&self, event: &LifecycleEvent) {
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = crate::app::outbox::now_ms();
        let last = self.last_drop_log_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= DROP_LOG_EVERY_MS)
            && self
                .last_drop_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "lifecycle events: ordered consumer is behind or gone; dropped {} ({} of app {:?}), {total} in all",
                event.kind.name(),
                event.kind.channel().unwrap_or("-"),
                &*event.app_id
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_path_keeps_order_and_counts_every_drop() {
        let l = Lifecycle::new(4);
        let mut rx = l.ordered(3);
        let app: Arc<str> = "a".into();
        for i in 0..10 {
            l.emit(
                &app,
                EventKind::ConnectionOpened {
                    socket_id: i.to_string(),
                },
            );
        }
        assert_eq!(l.dropped(), 7);
        let mut seen = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let EventKind::ConnectionOpened { socket_id } = e.kind {
                seen.push(socket_id);
            }
        }
        assert_eq!(seen, ["0", "1", "2"]);
        drop(rx);
        l.emit(
            &app,
            EventKind::ConnectionOpened {
                socket_id: "x".into(),
            },
        );
        assert_eq!(l.dropped(), 8, "a consumer that went away counts as drops");
    }
}
