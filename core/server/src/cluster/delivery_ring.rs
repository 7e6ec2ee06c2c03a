//! The single-node delivery log: the most recent published events of an app, bounded
//! in count and in bytes, the oldest dropped first.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::shards::lock;
use crate::views::DeliveryRecord;

pub(crate) struct DeliveryRing {
    inner: Mutex<Ring>,
    max_records: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct Ring {
    records: VecDeque<DeliveryRecord>,
    bytes: usize,
    /// Records dropped to stay within the bounds, since the start.
    evicted: u64,
}

/// What a record costs in memory, roughly: its strings and a fixed overhead.
pub(crate) fn record_bytes(r: &DeliveryRecord) -> usize {
    let text = |s: &Option<std::sync::Arc<str>>| s.as_ref().map_or(0, |s| s.len());
    160 + r.id.len()
        + r.channel.len()
        + r.event.len()
        + text(&r.data)
        + text(&r.digest)
        + text(&r.except)
        + text(&r.user_id)
}

impl DeliveryRing {
    pub fn new(max_records: usize, max_bytes: usize) -> DeliveryRing {
        DeliveryRing {
            inner: Mutex::new(Ring::default()),
            max_records,
            max_bytes,
        }
    }

    pub fn push(&self, record: DeliveryRecord) {
        if self.max_records == 0 {
            return;
        }
        let size = record_bytes(&record);
        let mut ring = lock(&self.inner);
        ring.bytes += size;
        ring.records.push_back(record);
        while ring.records.len() > self.max_records
            || (ring.bytes > self.max_bytes && ring.records.len() > 1)
        {
            if let Some(old) = ring.records.pop_front() {
                ring.bytes -= record_bytes(&old);
                ring.evicted += 1;
            }
        }
    }

    /// The newest records, newest first, at most `limit`.
    pub fn newest(&self, limit: usize) -> Vec<DeliveryRecord> {
        lock(&self.inner)
            .records
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }

    /// Kept records and their bytes, and records evicted so far.
    #[cfg(test)]
    pub fn figures(&self) -> (usize, usize, u64) {
        let ring = lock(&self.inner);
        (ring.records.len(), ring.bytes, ring.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize, data: usize) -> DeliveryRecord {
        DeliveryRecord {
            id: i.to_string().into(),
            time: 0,
            channel: "c".into(),
            event: "e".into(),
            size: data,
            data: Some("x".repeat(data).into()),
            digest: None,
            delivered: 0,
            nodes: 0,
            except: None,
            source: "api".into(),
            user_id: None,
        }
    }

    #[test]
    fn bounded_in_count_and_bytes() {
        let ring = DeliveryRing::new(3, 1 << 20);
        for i in 0..10 {
            ring.push(record(i, 10));
        }
        let ids: Vec<String> = ring.newest(10).iter().map(|r| r.id.to_string()).collect();
        assert_eq!(ids, ["9", "8", "7"]);
        assert_eq!(ring.figures().2, 7);

        let ring = DeliveryRing::new(1000, 10_000);
        for i in 0..100 {
            ring.push(record(i, 1000));
        }
        let (kept, bytes, evicted) = ring.figures();
        assert!(bytes <= 10_000, "{bytes}");
        assert_eq!(kept as u64 + evicted, 100);
        assert_eq!(&*ring.newest(1)[0].id, "99");
    }
}
