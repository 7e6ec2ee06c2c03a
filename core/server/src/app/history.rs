//! Channel histories on this node: for the channels an app's `history` rules name, the
//! last events with a serial that only grows within the channel, and an epoch that
//! changes whenever the channel's history had to start over (so a client can tell
//! "you missed nothing" from "you missed what I no longer have").
//!
//! Bounded per channel (the rule's `events` and `ttl`) and per app in bytes
//! (`history_max_bytes`): when the app is full, its oldest kept event goes first,
//! whichever channel it belongs to. Appends run on the publish path under one shard's
//! lock; expiry runs in the server's sweep.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::config::HistoryRule;
use crate::shards::{lock, read, write, Sharded};

/// Bytes a kept event costs beyond its frame.
const EVENT_OVERHEAD: usize = 64;

pub(crate) struct History {
    rules: Vec<HistoryRule>,
    channels: Sharded<Arc<str>, ChannelHistory>,
    /// Every kept event, oldest first, for evicting the app's oldest when full.
    order: Mutex<VecDeque<(Arc<str>, u64)>>,
    bytes: AtomicUsize,
    max_bytes: usize,
}

/// One kept event.
#[derive(Clone)]
pub(crate) struct Kept {
    pub serial: u64,
    /// Milliseconds since the Unix epoch.
    pub time: u64,
    pub frame: Utf8Bytes,
    at: Instant,
}

struct ChannelHistory {
    rule: usize,
    epoch: Arc<str>,
    last: u64,
    events: VecDeque<Kept>,
    /// Last append, or a subscriber asking for the position: an entry with no event
    /// left is forgotten a ttl after it.
    touched: Instant,
}

/// What a subscriber asking to resume from (`epoch`, `serial`) gets.
pub(crate) enum Resume {
    /// The events after `serial`, in order (none: it missed nothing).
    Events(Vec<Kept>),
    /// Continuity is lost (another epoch, or events evicted past `serial`): the
    /// channel's current epoch and last serial.
    Gap { epoch: Arc<str>, last: u64 },
}

/// A channel's history as the HTTP API and the bindings report it.
pub(crate) struct Snapshot {
    pub epoch: Arc<str>,
    pub last: u64,
    pub events: Vec<Kept>,
}

impl ChannelHistory {
    fn new(rule: usize) -> ChannelHistory {
        ChannelHistory {
            rule,
            epoch: new_epoch(),
            last: 0,
            events: VecDeque::new(),
            touched: Instant::now(),
        }
    }
}

/// Whether a client that has everything up to `serial` of `asked_epoch` can be given
/// what it missed from a history at `epoch` whose last serial is `last` and whose
/// oldest kept one is `first` (none kept: `None`): the same epoch, not ahead of it, and
/// the next event it needs still kept (or not published yet). Shared by this node's
/// histories and a cluster's, read from Redis.
pub(crate) fn continues(
    epoch: &str,
    last: u64,
    first: Option<u64>,
    asked_epoch: &str,
    serial: u64,
) -> bool {
    !epoch.is_empty()
        && epoch == asked_epoch
        && serial <= last
        && serial + 1 >= first.unwrap_or(last + 1)
}

/// The channel's history in `shard`, started (with a new epoch) if it had none; the
/// name is allocated only then.
fn entry<'a>(
    shard: &'a mut std::collections::HashMap<Arc<str>, ChannelHistory>,
    channel: &str,
    rule: usize,
) -> &'a mut ChannelHistory {
    if !shard.contains_key(channel) {
        shard.insert(channel.into(), ChannelHistory::new(rule));
    }
    shard.get_mut(channel).expect("inserted above")
}

fn new_epoch() -> Arc<str> {
    format!("{:016x}", rand::random::<u64>()).into()
}

fn cost(k: &Kept) -> usize {
    k.frame.len() + EVENT_OVERHEAD
}

impl History {
    pub fn new(rules: Vec<HistoryRule>, max_bytes: usize) -> History {
        History {
            rules,
            channels: Sharded::default(),
            order: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            max_bytes,
        }
    }

    /// The first rule naming `channel`.
    pub fn rule(&self, channel: &str) -> Option<(usize, &HistoryRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(channel))
    }

    /// Keeps a published event's frame (which carries no serial: the serial frame goes
    /// apart, to the clients that asked); returns its (epoch, serial), or `None` for a
    /// channel no rule names.
    pub fn append(&self, channel: &str, frame: &Utf8Bytes) -> Option<(Arc<str>, u64)> {
        let (rule_index, rule) = self.rule(channel)?;
        let kept = {
            let mut shard = write(self.channels.shard(channel));
            let h = entry(&mut shard, channel, rule_index);
            h.last += 1;
            h.touched = Instant::now();
            let k = Kept {
                serial: h.last,
                time: crate::cluster::user_book::now_ms(),
                frame: frame.clone(),
                at: Instant::now(),
            };
            self.bytes.fetch_add(cost(&k), Ordering::AcqRel);
            h.events.push_back(k);
            while h.events.len() > rule.events {
                if let Some(old) = h.events.pop_front() {
                    self.bytes.fetch_sub(cost(&old), Ordering::AcqRel);
                }
            }
            (h.epoch.clone(), h.last)
        };
        lock(&self.order).push_back((channel.into(), kept.1));
        self.evict_while_full();
        Some(kept)
    }

    /// Drops the app's oldest events until it is within its byte bound.
    fn evict_while_full(&self) {
        while self.bytes.load(Ordering::Acquire) > self.max_bytes {
            let Some((channel, serial)) = lock(&self.order).pop_front() else {
                return;
            };
            let mut shard = write(self.channels.shard(&*channel));
            if let Some(h) = shard.get_mut(&*channel) {
                // Already gone (trimmed by count or age) when older than the first.
                if h.events.front().is_some_and(|k| k.serial == serial) {
                    if let Some(old) = h.events.pop_front() {
                        self.bytes.fetch_sub(cost(&old), Ordering::AcqRel);
                    }
                }
            }
        }
    }

    /// The events of `channel` after (`epoch`, `serial`), or the gap.
    pub fn resume(&self, channel: &str, epoch: &str, serial: u64) -> Resume {
        let shard = read(self.channels.shard(channel));
        let Some(h) = shard.get(channel) else {
            // Nothing kept, ever or any more: only "nothing since" is no gap, and a
            // client cannot know that without an epoch of ours.
            return Resume::Gap {
                epoch: "".into(),
                last: 0,
            };
        };
        let first = h.events.front().map(|k| k.serial);
        if !continues(&h.epoch, h.last, first, epoch, serial) {
            return Resume::Gap {
                epoch: h.epoch.clone(),
                last: h.last,
            };
        }
        Resume::Events(
            h.events
                .iter()
                .filter(|k| k.serial > serial)
                .cloned()
                .collect(),
        )
    }

    /// The channel's current (epoch, last serial), started now if it had none: where a
    /// new subscriber that wants recovery begins. `None` for a channel no rule names.
    pub fn position(&self, channel: &str) -> Option<(Arc<str>, u64)> {
        let (rule_index, _) = self.rule(channel)?;
        let mut shard = write(self.channels.shard(channel));
        let h = entry(&mut shard, channel, rule_index);
        h.touched = Instant::now();
        Some((h.epoch.clone(), h.last))
    }

    /// The last `n` events of `channel` (rewind), with its epoch.
    pub fn last(&self, channel: &str, n: usize) -> Option<(Arc<str>, Vec<Kept>)> {
        let shard = read(self.channels.shard(channel));
        let h = shard.get(channel)?;
        let skip = h.events.len().saturating_sub(n);
        Some((
            h.epoch.clone(),
            h.events.iter().skip(skip).cloned().collect(),
        ))
    }

    /// The channel's kept events after `since`, at most `limit`.
    pub fn snapshot(&self, channel: &str, since: u64, limit: usize) -> Option<Snapshot> {
        let shard = read(self.channels.shard(channel));
        let h = shard.get(channel)?;
        Some(Snapshot {
            epoch: h.epoch.clone(),
            last: h.last,
            events: h
                .events
                .iter()
                .filter(|k| k.serial > since)
                .take(limit)
                .cloned()
                .collect(),
        })
    }

    /// Drops expired events; forgets channels with nothing left.
    pub fn purge(&self) {
        for shard in self.channels.shards() {
            let mut shard = write(shard);
            shard.retain(|_, h| {
                let ttl = Duration::from_secs(self.rules[h.rule].ttl);
                while h.events.front().is_some_and(|k| k.at.elapsed() >= ttl) {
                    if let Some(old) = h.events.pop_front() {
                        self.bytes.fetch_sub(cost(&old), Ordering::AcqRel);
                    }
                }
                !h.events.is_empty() || h.touched.elapsed() < ttl
            });
        }
        // The eviction order keeps entries of events gone meanwhile: bounded by what
        // was appended, trimmed here to what can still be kept.
        let mut order = lock(&self.order);
        let kept: usize = self
            .channels
            .shards()
            .map(|s| read(s).values().map(|h| h.events.len()).sum::<usize>())
            .sum();
        while order.len() > kept * 2 + 1024 {
            order.pop_front();
        }
    }

    /// Bytes kept (for the bound's test).
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<HistoryRule> {
        vec![HistoryRule {
            channels: "feed.*".into(),
            events: 3,
            ttl: 60,
            rewind: 2,
        }]
    }

    #[test]
    fn serials_grow_and_resume_tells_a_gap_from_nothing_missed() {
        let h = History::new(rules(), 1 << 20);
        assert!(h.append("other", &"x".into()).is_none());
        let (epoch, s1) = h.append("feed.1", &"a".into()).unwrap();
        let (_, s2) = h.append("feed.1", &"b".into()).unwrap();
        assert_eq!((s1, s2), (1, 2));
        match h.resume("feed.1", &epoch, 1) {
            Resume::Events(e) => assert_eq!(e.iter().map(|k| k.serial).collect::<Vec<_>>(), [2]),
            Resume::Gap { .. } => panic!("no gap"),
        }
        assert!(matches!(h.resume("feed.1", &epoch, 2), Resume::Events(e) if e.is_empty()));
        assert!(matches!(
            h.resume("feed.1", "another", 1),
            Resume::Gap { .. }
        ));
        for d in ["c", "d", "e"] {
            h.append("feed.1", &d.into());
        }
        // Kept 3..5: resuming after 1 needs 2, gone.
        assert!(matches!(
            h.resume("feed.1", &epoch, 1),
            Resume::Gap { last: 5, .. }
        ));
        assert!(matches!(h.resume("feed.1", &epoch, 2), Resume::Events(e) if e.len() == 3));
        let (_, last) = h.last("feed.1", 2).unwrap();
        assert_eq!(last.iter().map(|k| k.serial).collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn the_app_bound_evicts_its_oldest_events_first() {
        let big = "x".repeat(1000);
        let h = History::new(
            vec![HistoryRule {
                channels: "*".into(),
                events: 1000,
                ttl: 60,
                rewind: 0,
            }],
            10_000,
        );
        for i in 0..100 {
            h.append(&format!("c{}", i % 3), &big.as_str().into());
        }
        assert!(h.bytes() <= 10_000, "{}", h.bytes());
        let (_, kept) = h.last("c0", 1000).unwrap();
        assert!(!kept.is_empty() && kept.len() < 34);
    }
}
