//! The last event of each cache channel (PROTOCOL.md §2.7), bounded in bytes.
//!
//! Each entry is the event's frame alone (shared with the subscribers it was sent to);
//! the `data` that channel queries report is read back out of it, since queries are
//! rare and stores are not. Expired entries are purged by the server's periodic sweep,
//! never on the publish path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::shards::{read, write, Sharded};

/// Bytes an entry costs beyond its name and frame (map slot, Arc headers, timestamp).
const ENTRY_OVERHEAD: usize = 96;

pub(crate) struct ChannelStore {
    ttl: Duration,
    max_bytes: usize,
    entries: Sharded<Arc<str>, Entry>,
    /// Bytes of every entry, by [`entry_cost`].
    bytes: AtomicUsize,
}

struct Entry {
    frame: Utf8Bytes,
    stored: Instant,
}

fn entry_cost(channel: &str, frame: &Utf8Bytes) -> usize {
    channel.len() + frame.len() + ENTRY_OVERHEAD
}

impl ChannelStore {
    pub fn new(ttl: Duration, max_bytes: usize) -> ChannelStore {
        ChannelStore {
            ttl,
            max_bytes,
            entries: Sharded::default(),
            bytes: AtomicUsize::new(0),
        }
    }

    /// Keeps `frame` as the channel's last event. Returns false when the store is full
    /// (the channel then has no kept event: its subscribers get `pusher:cache_miss`
    /// rather than an older event).
    pub fn store(&self, channel: &str, frame: &Utf8Bytes) -> bool {
        let cost = entry_cost(channel, frame);
        let mut shard = write(self.entries.shard(channel));
        if let Some((name, old)) = shard.remove_entry(channel) {
            self.bytes
                .fetch_sub(entry_cost(&name, &old.frame), Ordering::Relaxed);
        }
        if self.bytes.load(Ordering::Relaxed) + cost > self.max_bytes {
            return false;
        }
        self.bytes.fetch_add(cost, Ordering::Relaxed);
        shard.insert(
            channel.into(),
            Entry {
                frame: frame.clone(),
                stored: Instant::now(),
            },
        );
        true
    }

    /// The channel's last event and the seconds it is kept still, if not expired.
    pub fn get(&self, channel: &str) -> Option<(Utf8Bytes, u64)> {
        let shard = read(self.entries.shard(channel));
        let e = shard.get(channel)?;
        let age = e.stored.elapsed();
        if age >= self.ttl {
            return None;
        }
        // Whole seconds left, at least 1 while the entry is live.
        let left = (self.ttl - age).as_secs().max(1);
        Some((e.frame.clone(), left))
    }

    /// Drops expired entries; returns how many.
    pub fn purge(&self) -> usize {
        let mut purged = 0;
        for shard in self.entries.shards() {
            let mut shard = write(shard);
            shard.retain(|name, e| {
                let keep = e.stored.elapsed() < self.ttl;
                if !keep {
                    self.bytes
                        .fetch_sub(entry_cost(name, &e.frame), Ordering::Relaxed);
                    purged += 1;
                }
                keep
            });
        }
        purged
    }
}

impl ChannelStore {
    /// Bytes kept, as the bound counts them.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
impl ChannelStore {
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Utf8Bytes {
        "x".repeat(n).into()
    }

    #[test]
    fn purged_by_time_in_the_sweep() {
        let store = ChannelStore::new(Duration::from_millis(50), 1 << 20);
        assert!(store.store("cache-a", &frame(10)));
        assert!(store.get("cache-a").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            store.get("cache-a").is_none(),
            "expired entries are not served"
        );
        assert_eq!(store.len(), 1, "but kept until the sweep");
        assert_eq!(store.purge(), 1);
        assert_eq!((store.len(), store.bytes()), (0, 0));
    }

    #[test]
    fn bounded_by_bytes_and_a_replacement_frees_the_old_entry() {
        let cost = entry_cost("cache-0", &frame(100));
        let store = ChannelStore::new(Duration::from_secs(60), cost * 3);
        for i in 0..3 {
            assert!(store.store(&format!("cache-{i}"), &frame(100)));
        }
        assert!(!store.store("cache-9", &frame(100)), "full");
        assert!(store.get("cache-9").is_none());
        // Replacing a kept channel's event reuses its room.
        assert!(store.store("cache-1", &frame(100)));
        assert_eq!(store.bytes(), cost * 3);
        assert!(store.bytes() <= cost * 3);
        // A larger replacement that does not fit drops the old one too: never serve a
        // stale event as the last one.
        assert!(!store.store("cache-2", &frame(500)));
        assert!(store.get("cache-2").is_none());
        assert_eq!(store.len(), 2);
    }
}
