//! Lifecycle events: what happened on the server, for embedders (and later webhooks).
//!
//! They travel on a bounded broadcast channel: a consumer that falls behind loses the
//! oldest events and is told how many, so a stalled consumer never grows memory.

use std::sync::Arc;

/// Something that happened in one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleEvent {
    pub app_id: Arc<str>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
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
        user_id: Option<Arc<str>>,
    },
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
        }
    }
}

pub type EventSender = tokio::sync::broadcast::Sender<LifecycleEvent>;
pub type EventReceiver = tokio::sync::broadcast::Receiver<LifecycleEvent>;
