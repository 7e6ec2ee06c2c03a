//! Writes nobody waits for (connection counts, cache stores, bus publishes), applied
//! by one task in the order this node made them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::scripts::Keys;
use crate::log;

/// Writes queued for the writer task at most; past it they are dropped and counted.
pub(super) const MAX_QUEUED_WRITES: usize = 65_536;

/// A write nobody waits for, applied in order by the writer task.
pub(super) enum Write {
    Connections(i64),
    StoreLast { channel: String, frame: Utf8Bytes },
    Publish(String),
}

pub(super) struct Applied {
    pub count: AtomicU64,
    pub notify: tokio::sync::Notify,
    /// Whether the last write (or lease renewal) reached Redis: while it did not,
    /// broadcasts are refused at once rather than queued and claimed sent.
    pub reachable: AtomicBool,
}

impl Default for Applied {
    fn default() -> Self {
        Applied {
            count: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            reachable: AtomicBool::new(true),
        }
    }
}

/// Applies queued writes in order; a failed one is logged, and the rest go on.
pub(super) async fn write_in_order(
    mut conn: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    cache_ttl: Duration,
    mut queue: mpsc::Receiver<Write>,
    applied: Arc<Applied>,
) {
    let ttl_ms = cache_ttl.as_millis().max(1) as u64;
    while let Some(write) = queue.recv().await {
        let result: ::redis::RedisResult<()> = match write {
            Write::Connections(delta) => ::redis::cmd("HINCRBY")
                .arg(keys.conns())
                .arg(&*node)
                .arg(delta)
                .query_async(&mut conn)
                .await
                .map(|_: i64| ()),
            Write::Publish(payload) => ::redis::cmd("PUBLISH")
                .arg(keys.bus())
                .arg(payload)
                .query_async(&mut conn)
                .await
                .map(|_: i64| ()),
            Write::StoreLast { channel, frame } => {
                ::redis::cmd("SET")
                    .arg(keys.cache(&channel))
                    .arg(frame.as_str())
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn)
                    .await
            }
        };
        if let Err(e) = &result {
            log::warn!("Redis backend: a write was not applied: {e}");
        }
        applied.reachable.store(result.is_ok(), Ordering::Release);
        applied.count.fetch_add(1, Ordering::AcqRel);
        applied.notify.notify_waiters();
    }
}
