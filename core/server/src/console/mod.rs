//! The debug console's journal: what a console page shows as its live stream — the
//! channel events this node delivers (published here or relayed from another node) and
//! the lifecycle events (connections, occupancy, members, client events). Nothing is
//! recorded unless a console asked within the last [`WATCH_MS`]; the journal keeps the
//! last [`CAPACITY`] entries, with data cut at [`DATA_MAX`] bytes, so its memory is
//! bounded whatever the traffic.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::app::outbox::now_ms;
use crate::lifecycle::{EventKind, LifecycleEvent};
use crate::shards::lock;

/// Entries kept; a console that polls less often than this fills sees `skipped`.
pub(crate) const CAPACITY: usize = 500;
/// Event data beyond this is cut (the console shows it, it does not archive it).
const DATA_MAX: usize = 4096;
/// How long after a console's last poll the journal keeps recording.
const WATCH_MS: u64 = 30_000;

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Entry {
    pub seq: u64,
    /// Wall-clock time, Unix milliseconds (the page shows it in the viewer's zone).
    pub at_ms: u64,
    pub app: Arc<str>,
    /// `event` (a channel event delivered), `client` (a client event relayed),
    /// `refused` (a subscription error or a non-fatal error sent to a connection) or
    /// `lifecycle`.
    pub kind: &'static str,
    /// The event's name, or the lifecycle event's (`member_added`, …).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Arc<str>>,
    /// This node's connections the event was queued for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<usize>,
}

#[derive(Default)]
struct Ring {
    next_seq: u64,
    entries: VecDeque<Entry>,
}

#[derive(Default)]
pub(crate) struct Journal {
    ring: Mutex<Ring>,
    watched_until_ms: AtomicU64,
}

/// What one poll gets.
#[derive(Serialize)]
pub(crate) struct Since {
    pub events: Vec<Entry>,
    /// The `seq` to ask after next time.
    pub last: u64,
    /// Entries after the asked `seq` that are no longer kept.
    pub skipped: u64,
}

/// The fields of a channel event frame the console shows.
#[derive(Deserialize)]
struct Frame {
    event: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

impl Journal {
    fn watching(&self) -> bool {
        now_ms() < self.watched_until_ms.load(Ordering::Relaxed)
    }

    /// A channel event frame queued for `delivered` of this node's connections.
    pub fn record_delivery(&self, app: &Arc<str>, channel: &str, frame: &str, delivered: usize) {
        if !self.watching() {
            return;
        }
        let Ok(frame) = serde_json::from_str::<Frame>(frame) else {
            return;
        };
        if frame.event.starts_with("client-") {
            // The lifecycle's client_event shows it, with its sender.
            return;
        }
        let data = frame.data.map(|d| match d {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        self.push(Entry {
            seq: 0,
            at_ms: 0,
            app: app.clone(),
            kind: "event",
            name: frame.event,
            channel: Some(channel.into()),
            data,
            socket_id: None,
            user_id: None,
            delivered: Some(delivered),
        });
    }

    pub fn record_lifecycle(&self, event: &LifecycleEvent) {
        if !self.watching() || matches!(event.kind, EventKind::SubscriptionCount { .. }) {
            return;
        }
        let (kind, name, data) = match &event.kind {
            EventKind::ClientEvent { event, data, .. } => {
                ("client", event.clone(), Some(data.clone()))
            }
            other => ("lifecycle", other.name().to_string(), None),
        };
        self.push(Entry {
            seq: 0,
            at_ms: 0,
            app: event.app_id.clone(),
            kind,
            name,
            channel: event.kind.channel().map(Arc::from),
            data,
            socket_id: event.kind.socket_id().map(str::to_string),
            user_id: event.kind.user_id().map(Arc::from),
            delivered: None,
        });
    }

    /// A frame refusing something to a connection (`pusher:subscription_error`, a
    /// non-fatal `pusher:error`), with its message.
    pub fn record_refusal(
        &self,
        app: &Arc<str>,
        channel: Option<&str>,
        socket_id: &str,
        name: &str,
        message: &str,
    ) {
        if !self.watching() {
            return;
        }
        self.push(Entry {
            seq: 0,
            at_ms: 0,
            app: app.clone(),
            kind: "refused",
            name: name.to_string(),
            channel: channel.map(Arc::from),
            data: Some(message.to_string()),
            socket_id: Some(socket_id.to_string()),
            user_id: None,
            delivered: None,
        });
    }

    fn push(&self, mut entry: Entry) {
        if let Some(data) = &mut entry.data {
            if data.len() > DATA_MAX {
                let mut end = DATA_MAX;
                while !data.is_char_boundary(end) {
                    end -= 1;
                }
                data.truncate(end);
                data.push('…');
            }
        }
        entry.at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut ring = lock(&self.ring);
        ring.next_seq += 1;
        entry.seq = ring.next_seq;
        if ring.entries.len() == CAPACITY {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    /// `n` entries that were never recorded: their `seq`s are used up, so that a
    /// console polling across them reports them as skipped.
    pub fn lost(&self, n: u64) {
        if self.watching() {
            lock(&self.ring).next_seq += n;
        }
    }

    /// The entries after `after` (0: the first poll, which starts the recording and
    /// gets what is kept). Each call keeps the recording on for [`WATCH_MS`].
    pub fn since(&self, after: u64) -> Since {
        self.watched_until_ms
            .store(now_ms() + WATCH_MS, Ordering::Relaxed);
        let ring = lock(&self.ring);
        let first = ring.entries.front().map_or(ring.next_seq + 1, |e| e.seq);
        let skipped = if after == 0 {
            0
        } else {
            first.saturating_sub(after + 1)
        };
        let events = ring
            .entries
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect();
        Since {
            events,
            last: ring.next_seq,
            skipped,
        }
    }
}

/// Records the lifecycle events into the journal until the server shuts down.
pub(crate) async fn follow(
    mut events: crate::lifecycle::EventReceiver,
    journal: Arc<Journal>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            event = events.recv() => match event {
                Ok(event) => journal.record_lifecycle(&event),
                // Fell behind the broadcast: the console is told they were skipped.
                Err(RecvError::Lagged(n)) => journal.lost(n),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_while_watched_and_keeps_the_last_entries() {
        let journal = Journal::default();
        let app: Arc<str> = "a".into();
        let frame = r#"{"event":"e","channel":"c","data":"{\"n\":1}"}"#;
        journal.record_delivery(&app, "c", frame, 1);
        let first = journal.since(0);
        assert!(first.events.is_empty(), "nothing before a console asked");
        journal.record_delivery(&app, "c", frame, 1);
        let first = journal.since(first.last);
        assert_eq!((first.events.len(), first.last, first.skipped), (1, 1, 0));
        for _ in 0..CAPACITY + 10 {
            journal.record_delivery(&app, "c", frame, 2);
        }
        journal.record_delivery(&app, "c", r#"{"event":"client-typing","channel":"c"}"#, 1);
        let later = journal.since(first.last);
        assert_eq!(later.events.len(), CAPACITY);
        assert_eq!(later.skipped, 10);
        assert_eq!(later.last, (CAPACITY + 11) as u64);
        let e = &later.events[0];
        assert_eq!(
            (e.kind, e.name.as_str(), e.data.as_deref(), e.delivered),
            ("event", "e", Some(r#"{"n":1}"#), Some(2))
        );
        assert!(journal.since(later.last).events.is_empty());
    }

    #[test]
    fn long_data_is_cut_on_a_character_boundary() {
        let journal = Journal::default();
        journal.since(0);
        let data = "é".repeat(DATA_MAX);
        let frame = serde_json::json!({"event": "e", "channel": "c", "data": data}).to_string();
        journal.record_delivery(&"a".into(), "c", &frame, 0);
        let kept = journal.since(0).events[0].data.clone().unwrap();
        assert!(kept.len() <= DATA_MAX + "…".len() && kept.ends_with('…'));
    }
}
