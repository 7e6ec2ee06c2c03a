//! Lifecycle events: what happened in an app (connections, occupancy, presence, client
//! events), emitted by the app service alone, once per decision.
//!
//! They travel two ways ([`stream::Lifecycle`]): a bounded broadcast for embedders that
//! drops the oldest events of a receiver that falls behind (and tells it how many), and
//! an ordered path for in-process consumers that must see every event in order (webhooks),
//! which counts and reports every event it cannot take.

pub(crate) mod stream;

use std::sync::Arc;

use serde::Serialize;

/// Something that happened in one app. Serialised flat, with the kind's `name`:
/// `{"app_id":"portal","name":"member_added","channel":"presence-x","user_id":"7"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    pub app_id: Arc<str>,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum EventKind {
    ConnectionOpened {
        socket_id: String,
    },
    ConnectionClosed {
        socket_id: String,
    },
    /// First subscriber of a channel (any type).
    ChannelOccupied {
        channel: Arc<str>,
    },
    /// Last subscriber left.
    ChannelVacated {
        channel: Arc<str>,
    },
    /// A user's first connection joined a presence channel.
    MemberAdded {
        channel: Arc<str>,
        user_id: Arc<str>,
    },
    /// A user's last connection left a presence channel.
    MemberRemoved {
        channel: Arc<str>,
        user_id: Arc<str>,
    },
    /// A client event was accepted and relayed.
    ClientEvent {
        channel: Arc<str>,
        event: String,
        data: String,
        socket_id: String,
        /// The sender's presence user id, on presence channels.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<Arc<str>>,
    },
    /// A subscriber of a cache channel found nothing kept (it got `pusher:cache_miss`).
    CacheMiss {
        channel: Arc<str>,
    },
    /// The subscriptions of a non-presence channel changed; emitted only for apps with
    /// a webhook target that asks for it (as Pusher's opt-in).
    SubscriptionCount {
        channel: Arc<str>,
        subscription_count: usize,
    },
    /// A user came online: their first connection signed in, or joined a presence
    /// channel as them, anywhere.
    UserOnline {
        user_id: Arc<str>,
    },
    /// A user went offline: their last connection ended, and they stayed away for the
    /// app's `user_status.offline_delay`.
    UserOffline {
        user_id: Arc<str>,
    },
    /// An event was published and recorded in the delivery log (with
    /// `delivery_log.events`): the record, with this node's deliveries.
    EventLogged(crate::views::DeliveryRecord),
}

impl EventKind {
    /// The name used by Pusher webhooks and by the bindings.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ConnectionOpened { .. } => "connection_opened",
            EventKind::ConnectionClosed { .. } => "connection_closed",
            EventKind::ChannelOccupied { .. } => "channel_occupied",
            EventKind::ChannelVacated { .. } => "channel_vacated",
            EventKind::MemberAdded { .. } => "member_added",
            EventKind::MemberRemoved { .. } => "member_removed",
            EventKind::ClientEvent { .. } => "client_event",
            EventKind::CacheMiss { .. } => "cache_miss",
            EventKind::SubscriptionCount { .. } => "subscription_count",
            EventKind::UserOnline { .. } => "user_online",
            EventKind::UserOffline { .. } => "user_offline",
            EventKind::EventLogged(_) => "event_logged",
        }
    }

    /// The channel the event is about, if any (the ordered path keeps order per channel).
    pub fn channel(&self) -> Option<&str> {
        match self {
            EventKind::ConnectionOpened { .. }
            | EventKind::ConnectionClosed { .. }
            | EventKind::UserOnline { .. }
            | EventKind::UserOffline { .. } => None,
            EventKind::EventLogged(record) => Some(&record.channel),
            EventKind::ChannelOccupied { channel }
            | EventKind::ChannelVacated { channel }
            | EventKind::MemberAdded { channel, .. }
            | EventKind::MemberRemoved { channel, .. }
            | EventKind::ClientEvent { channel, .. }
            | EventKind::CacheMiss { channel }
            | EventKind::SubscriptionCount { channel, .. } => Some(channel),
        }
    }

    /// The user: member events, and client events on presence channels.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            EventKind::MemberAdded { user_id, .. } | EventKind::MemberRemoved { user_id, .. } => {
                Some(user_id)
            }
            EventKind::ClientEvent { user_id, .. } => user_id.as_deref(),
            EventKind::UserOnline { user_id } | EventKind::UserOffline { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// The connection: connection events and client events (the sender).
    pub fn socket_id(&self) -> Option<&str> {
        match self {
            EventKind::ConnectionOpened { socket_id }
            | EventKind::ConnectionClosed { socket_id }
            | EventKind::ClientEvent { socket_id, .. } => Some(socket_id),
            _ => None,
        }
    }

    /// A subscription-count event's count.
    pub fn subscription_count(&self) -> Option<usize> {
        match self {
            EventKind::SubscriptionCount {
                subscription_count, ..
            } => Some(*subscription_count),
            _ => None,
        }
    }

    /// An `event_logged` event's record.
    pub fn record(&self) -> Option<&crate::views::DeliveryRecord> {
        match self {
            EventKind::EventLogged(record) => Some(record),
            _ => None,
        }
    }

    /// A client event's name and data string.
    pub fn client_event(&self) -> Option<(&str, &str)> {
        match self {
            EventKind::ClientEvent { event, data, .. } => Some((event, data)),
            _ => None,
        }
    }
}

/// A receiver of the embedders' stream ([`crate::Server::events`]).
pub type EventReceiver = tokio::sync::broadcast::Receiver<LifecycleEvent>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_flat_with_the_kind_name() {
        let e = LifecycleEvent {
            app_id: "portal".into(),
            kind: EventKind::MemberAdded {
                channel: "presence-x".into(),
                user_id: "7".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"app_id":"portal","name":"member_added","channel":"presence-x","user_id":"7"})
        );
        assert_eq!(e.kind.name(), "member_added");
        assert_eq!(
            (e.kind.channel(), e.kind.user_id(), e.kind.socket_id()),
            (Some("presence-x"), Some("7"), None)
        );
        assert_eq!(e.kind.client_event(), None);
    }
}
