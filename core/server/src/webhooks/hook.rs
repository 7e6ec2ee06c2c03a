//! One webhook event as Pusher sends it: `{"name": …, "channel": …, …}`.

use crate::lifecycle::{EventKind, LifecycleEvent};

/// A webhook event, serialised once when it is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hook {
    /// The event's JSON object, as it goes into `events`.
    pub json: String,
    /// When it happened (unix ms): a batch is stamped with its oldest event, and
    /// events older than [`MAX_AGE_MS`] are not sent.
    pub created_ms: u64,
    /// The lifecycle event it came from, for the webhook-grade stream.
    pub event: LifecycleEvent,
}

/// The Python SDK rejects webhooks whose `time_ms` is more than 300 s away.
pub(crate) const MAX_AGE_MS: u64 = 300_000;

/// Wall-clock milliseconds since the Unix epoch, as `time_ms` is.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Hook {
    /// The webhook for a lifecycle event; none for the kinds Pusher has no webhook for
    /// (connections).
    pub fn from_event(event: &LifecycleEvent, created_ms: u64) -> Option<Hook> {
        event.kind.channel()?;
        // Flat, with the kind's `name`: Pusher's webhook event object exactly.
        let json = serde_json::to_string(&event.kind).ok()?;
        Some(Hook {
            json,
            created_ms,
            event: event.clone(),
        })
    }

    /// Pusher's name of the event (`member_added`, …).
    pub fn name(&self) -> &'static str {
        self.event.kind.name()
    }

    /// The channel it is about (every webhook event has one).
    pub fn channel(&self) -> &str {
        self.event.kind.channel().unwrap_or_default()
    }

    /// The presence user of a member event, for pairing `member_removed` with a later
    /// `member_added`.
    pub fn member(&self) -> Option<&str> {
        match &self.event.kind {
            EventKind::MemberAdded { user_id, .. } | EventKind::MemberRemoved { user_id, .. } => {
                Some(user_id)
            }
            _ => None,
        }
    }
}

/// A request body: `{"time_ms": …, "events": [ … ]}`, stamped with the oldest event.
pub(crate) fn body(events: &[Hook]) -> String {
    let time_ms = events.iter().map(|h| h.created_ms).min().unwrap_or(0);
    let mut out =
        String::with_capacity(32 + events.iter().map(|h| h.json.len() + 1).sum::<usize>());
    out.push_str("{\"time_ms\":");
    out.push_str(&time_ms.to_string());
    out.push_str(",\"events\":[");
    for (i, h) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&h.json);
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: EventKind) -> LifecycleEvent {
        LifecycleEvent {
            app_id: "a".into(),
            kind,
        }
    }

    #[test]
    fn events_are_pushers_objects_and_the_body_is_stamped_with_the_oldest() {
        let added = Hook::from_event(
            &event(EventKind::MemberAdded {
                channel: "presence-x".into(),
                user_id: "7".into(),
            }),
            2000,
        )
        .unwrap();
        let client = Hook::from_event(
            &event(EventKind::ClientEvent {
                channel: "private-x".into(),
                event: "client-typing".into(),
                data: "{\"a\":1}".into(),
                socket_id: "1.2".into(),
                user_id: None,
            }),
            1000,
        )
        .unwrap();
        let count = Hook::from_event(
            &event(EventKind::SubscriptionCount {
                channel: "x".into(),
                subscription_count: 3,
            }),
            1500,
        )
        .unwrap();
        let got: serde_json::Value = serde_json::from_str(&body(&[added, client, count])).unwrap();
        assert_eq!(
            got,
            json!({"time_ms": 1000, "events": [
                {"name": "member_added", "channel": "presence-x", "user_id": "7"},
                {"name": "client_event", "channel": "private-x", "event": "client-typing",
                 "data": "{\"a\":1}", "socket_id": "1.2"},
                {"name": "subscription_count", "channel": "x", "subscription_count": 3},
            ]})
        );
        let opened = event(EventKind::ConnectionOpened {
            socket_id: "1.2".into(),
        });
        assert!(Hook::from_event(&opened, 0).is_none());
    }
}
