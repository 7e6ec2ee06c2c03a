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
/// with. Serialised as `{"id": "7", "info": {...}}` (`info` left out when absent), the
/// shape pusher-js gives a member.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    pub id: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Arc<RawValue>>,
}

/// One user's status, cluster-wide: online while at least one connection is signed in
/// as the user or is a member of a presence channel as them.
#[derive(Clone, Debug, Serialize)]
pub struct UserStatus {
    pub id: Arc<str>,
    pub online: bool,
    /// Connections signed in or present as the user.
    pub connections: usize,
    /// Presence channels the user is a member of, sorted by name.
    pub channels: Vec<Arc<str>>,
    /// While offline: when the user's last connection closed, in milliseconds since the
    /// Unix epoch, if that is still kept (`user_status.last_seen_ttl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
    /// What the app set for the user (`set_user_location`), while online.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Arc<str>>,
    /// The `user_info` the user first connected with (a sign-in's or a presence
    /// membership's), while online.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Arc<RawValue>>,
}

/// One online user in a listing of the app's online users.
#[derive(Clone, Debug, Serialize)]
pub struct OnlineUser {
    pub id: Arc<str>,
    pub connections: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Arc<RawValue>>,
}

/// A page of the app's online users, sorted by id; `next` is the `after` cursor of the
/// next page, absent on the last one.
#[derive(Clone, Debug, Serialize)]
pub struct OnlineUsers {
    pub users: Vec<OnlineUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Arc<str>>,
}

/// A history channel's kept events (`GET /channels/{name}/events`).
#[derive(Clone, Debug, Serialize)]
pub struct ChannelHistory {
    pub channel: Arc<str>,
    /// Changes whenever the channel's history started over; absent when it has none
    /// yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<Arc<str>>,
    /// The channel's last serial (0: none yet).
    pub serial: u64,
    /// Kept events after the `since` asked, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// One kept event of a history channel.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryEvent {
    pub serial: u64,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: u64,
    pub event: Arc<str>,
    /// The data string, as published.
    pub data: Arc<str>,
}

/// One published event in the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeliveryRecord {
    /// Unique within the app (on a cluster: the publishing node's id, a dash, its
    /// count).
    pub id: Arc<str>,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: u64,
    pub channel: Arc<str>,
    pub event: Arc<str>,
    /// Bytes of its data.
    pub size: usize,
    /// The data, when the log keeps payloads.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<Arc<str>>,
    /// The data's SHA-256 (hex), when the log keeps digests.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub digest: Option<Arc<str>>,
    /// Connections it was delivered to, cluster-wide.
    pub delivered: usize,
    /// Nodes that delivered it to at least one connection.
    pub nodes: usize,
    /// The socket the publisher excluded (`socket_id`), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub except: Option<Arc<str>>,
    /// `api` (the HTTP API or an embedder) or `client` (a client event).
    pub source: Arc<str>,
    /// A client event's sender, on presence channels.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<Arc<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_every_face_shows() {
        let info = RawValue::from_string(r#"{"name":"Ann"}"#.into()).unwrap();
        let members = [
            Member {
                id: "5".into(),
                info: Some(info.into()),
            },
            Member {
                id: "6".into(),
                info: None,
            },
        ];
        assert_eq!(
            serde_json::to_string(&members).unwrap(),
            r#"[{"id":"5","info":{"name":"Ann"}},{"id":"6"}]"#
        );
        let channel = ChannelInfo {
            name: "cache-prices".into(),
            occupied: true,
            subscription_count: 2,
            user_count: None,
            cache: Some(CachedEvent {
                data: "{}".into(),
                ttl: 30,
            }),
        };
        assert_eq!(
            serde_json::to_string(&channel).unwrap(),
            r#"{"name":"cache-prices","occupied":true,"subscription_count":2,"cache":{"data":"{}","ttl":30}}"#
        );
    }
}
