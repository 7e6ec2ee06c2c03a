//! What every face of pushbus reports about channels and members, defined once: the
//! Rust API returns these, and the C, Node and PHP bindings serialise them as they are
//! (serde), so their shapes cannot drift apart.

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

/// One channel as the HTTP API and the embedding APIs report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    pub name: Arc<str>,
    pub occupied: bool,
    /// Subscribed connections.
    pub subscription_count: usize,
    /// Distinct users; presence channels only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_count: Option<usize>,
    /// Cache channels with a kept event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CachedEvent>,
}

/// The last event a cache channel keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CachedEvent {
    /// The event's `data` string.
    pub data: Arc<str>,
    /// Seconds it is kept still.
    pub ttl: u64,
}

/// A presence member: its user id and the `user_info` its first connection joined
/// with. Serialised as `{"id": "7", "info": {...}}` (`info` is `null` when absent).
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub id: Arc<str>,
    pub info: Option<Arc<RawValue>>,
}
