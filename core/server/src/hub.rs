//! One app's live state on this node: its connections, channels, presence members,
//! signed-in users and cache channels; local delivery of frames to subscribers.
//!
//! All of it sits behind one `RwLock` per app. Delivery takes the read lock and only
//! does non-blocking queue pushes, so publishers run in parallel; membership changes
//! take the write lock, which also makes each subscriber's frames ordered: its
//! `subscription_succeeded` (and cached event) is queued before any event published
//! after it joined. No `.await` ever happens under the lock.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::config::AppConfig;
use crate::events::{EventKind, EventSender, LifecycleEvent};
use crate::names::{channel_type, ChannelKind};
use crate::outbox::Outbox;
use crate::protocol::{self, ErrorCode, PresenceEntry};
use crate::socket_id::SocketId;

/// Cache channels kept per app at most; beyond it, expired entries are purged and new
/// channels are not cached until room frees up. Bounds memory under a publisher that
/// invents channel names.
const MAX_CACHED_CHANNELS: usize = 100_000;

pub struct Hub {
    pub app: Arc<AppConfig>,
    pub app_id: Arc<str>,
    state: RwLock<State>,
    /// Kept outside the lock so the connection quota is checked without contention.
    connection_count: AtomicUsize,
    events: EventSender,
}

#[derive(Default)]
struct State {
    connections: HashMap<SocketId, Outbox>,
    channels: HashMap<Arc<str>, Channel>,
    /// Signed-in user id → its sockets; for the user channel and terminate.
    users: HashMap<Arc<str>, HashSet<SocketId>>,
    cache: HashMap<Arc<str>, CachedEvent>,
}

#[derive(Default)]
struct Channel {
    subscribers: HashMap<SocketId, Outbox>,
    /// Presence channels only: user id → member.
    members: HashMap<Arc<str>, Member>,
}

struct Member {
    /// The first connection's `user_info`, kept until the user fully leaves.
    info: Option<Arc<RawValue>>,
    sockets: Vec<SocketId>,
}

struct CachedEvent {
    frame: Utf8Bytes,
    data: Arc<str>,
    stored: Instant,
}

/// Who a socket is in a presence channel, from its verified `channel_data`.
#[derive(Clone, Debug)]
pub struct PresenceMember {
    pub user_id: Arc<str>,
    pub user_info: Option<Arc<RawValue>>,
}

impl PresenceMember {
    /// Parses presence `channel_data`: `user_id` (a string, or a number as Pusher
    /// allows, kept as a string; 1 to 128 characters) and optional `user_info`. The
    /// error says why, for the client (and for an auth endpoint about to sign it).
    pub fn from_channel_data(channel_data: &str) -> Result<PresenceMember, String> {
        #[derive(Deserialize)]
        struct ChannelData {
            user_id: Value,
            user_info: Option<Box<RawValue>>,
        }
        let parsed: ChannelData = serde_json::from_str(channel_data)
            .map_err(|e| format!("channel_data is not valid JSON with a user_id: {e}"))?;
        let user_id = match parsed.user_id {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return Err("channel_data user_id must be a string or a number".into()),
        };
        if user_id.is_empty() || user_id.len() > 128 {
            return Err("channel_data user_id must be 1 to 128 characters".into());
        }
        Ok(PresenceMember {
            user_id: user_id.into(),
            user_info: parsed.user_info.map(Arc::from),
        })
    }
}

/// A signed-in user, from the verified `user_data` of its sign-in.
#[derive(Clone, Debug)]
pub struct SignedInUser {
    pub id: Arc<str>,
    /// Shared as presence `user_info` when the socket joins a presence channel without
    /// `channel_data`.
    pub info: Option<Arc<RawValue>>,
}

impl SignedInUser {
    /// Parses sign-in `user_data`: a non-empty string `id` (pusher-js rejects a number)
    /// and optional `user_info`.
    pub fn from_user_data(user_data: &str) -> Result<SignedInUser, &'static str> {
        #[derive(Deserialize)]
        struct UserData {
            id: Value,
            user_info: Option<Box<RawValue>>,
        }
        match serde_json::from_str::<UserData>(user_data) {
            Ok(UserData {
                id: Value::String(id),
                user_info,
            }) if !id.is_empty() => Ok(SignedInUser {
                id: id.into(),
                info: user_info.map(Arc::from),
            }),
            _ => Err("user_data must be JSON with a non-empty string id"),
        }
    }
}

/// A subscription the hub refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeRefusal {
    MemberLimit,
}

/// What the HTTP API and the embedding API report about a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    pub name: Arc<str>,
    pub occupied: bool,
    pub subscription_count: usize,
    /// Distinct users; presence channels only.
    pub user_count: Option<usize>,
    /// Cache channels: the cached `data` and seconds it has left.
    pub cache: Option<(Arc<str>, u64)>,
}

/// A presence member as reported by queries.
#[derive(Clone, Debug)]
pub struct MemberInfo {
    pub user_id: Arc<str>,
    pub user_info: Option<Arc<RawValue>>,
}

impl Hub {
    pub fn new(app: AppConfig, events: EventSender) -> Hub {
        Hub {
            app_id: app.id.as_str().into(),
            app: Arc::new(app),
            state: RwLock::new(State::default()),
            connection_count: AtomicUsize::new(0),
            events,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic elsewhere must not take every connection of the app down with it.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, kind: EventKind) {
        // No receiver is not an error: nobody asked for events.
        let _ = self.events.send(LifecycleEvent {
            app_id: self.app_id.clone(),
            kind,
        });
    }

    pub fn connection_count(&self) -> usize {
        self.connection_count.load(Ordering::Relaxed)
    }

    /// Adds a connection, or refuses it when the app is at its quota.
    pub fn connect(&self, outbox: &Outbox) -> Result<(), ErrorCode> {
        let previous = self.connection_count.fetch_add(1, Ordering::AcqRel);
        if let Some(max) = self.app.max_connections {
            if previous >= max {
                self.connection_count.fetch_sub(1, Ordering::AcqRel);
                return Err(ErrorCode::OverConnectionQuota);
            }
        }
        self.write()
            .connections
            .insert(outbox.socket_id(), outbox.clone());
        self.emit(EventKind::ConnectionOpened {
            socket_id: outbox.socket_id().to_string(),
        });
        Ok(())
    }

    /// Removes a closed connection from everything it joined.
    pub fn disconnect(
        &self,
        socket_id: SocketId,
        subscriptions: impl IntoIterator<Item = (Arc<str>, Option<Arc<str>>)>,
        signed_in_as: Option<&str>,
    ) {
        {
            let mut state = self.write();
            for (channel, presence_user) in subscriptions {
                self.unsubscribe_locked(&mut state, socket_id, &channel, presence_user.as_deref());
            }
            if let Some(user) = signed_in_as {
                if let Some(sockets) = state.users.get_mut(user) {
                    sockets.remove(&socket_id);
                    if sockets.is_empty() {
                        state.users.remove(user);
                    }
                }
            }
            state.connections.remove(&socket_id);
        }
        self.connection_count.fetch_sub(1, Ordering::AcqRel);
        self.emit(EventKind::ConnectionClosed {
            socket_id: socket_id.to_string(),
        });
    }

    /// Joins `outbox` to `channel` and queues its `subscription_succeeded` (then, for
    /// cache channels, the cached event or `pusher:cache_miss`). Subscribing again is
    /// answered again without duplicating membership. Returns whether it was new.
    pub fn subscribe(
        &self,
        outbox: &Outbox,
        channel: &str,
        member: Option<&PresenceMember>,
    ) -> Result<bool, SubscribeRefusal> {
        let socket_id = outbox.socket_id();
        let kind = channel_type(channel);
        let mut guard = self.write();
        let state = &mut *guard;
        let name: Arc<str> = match state.channels.get_key_value(channel) {
            Some((k, _)) => k.clone(),
            None => channel.into(),
        };
        let created = !state.channels.contains_key(channel);
        let ch = state.channels.entry(name.clone()).or_default();

        let already = ch.subscribers.contains_key(&socket_id);
        let mut member_added = None;
        if !already {
            if let Some(m) = member {
                if !ch.members.contains_key(&m.user_id)
                    && ch.members.len() >= self.app.max_presence_members
                {
                    if created {
                        state.channels.remove(channel);
                    }
                    return Err(SubscribeRefusal::MemberLimit);
                }
                let entry = ch.members.entry(m.user_id.clone()).or_insert_with(|| {
                    member_added = Some(m.clone());
                    Member {
                        info: m.user_info.clone(),
                        sockets: Vec::new(),
                    }
                });
                entry.sockets.push(socket_id);
            }
            ch.subscribers.insert(socket_id, outbox.clone());
        }

        if kind.kind == ChannelKind::Presence {
            outbox.send(protocol::presence_subscription_succeeded(
                channel,
                ch.members.iter().map(|(id, m)| PresenceEntry {
                    user_id: id,
                    user_info: m.info.as_deref(),
                }),
            ));
        } else {
            outbox.send(protocol::subscription_succeeded(channel));
        }
        if let Some(m) = &member_added {
            let frame = protocol::member_added(channel, &m.user_id, m.user_info.as_deref());
            for (id, other) in &ch.subscribers {
                if *id != socket_id {
                    other.send(frame.clone());
                }
            }
        }
        if kind.cache {
            let ttl = Duration::from_secs(self.app.cache_ttl);
            match state.cache.get(channel) {
                Some(c) if c.stored.elapsed() < ttl => outbox.send(c.frame.clone()),
                _ => outbox.send(protocol::cache_miss(channel)),
            }
        }
        drop(guard);

        if created {
            self.emit(EventKind::ChannelOccupied {
                channel: name.clone(),
            });
        }
        if let Some(m) = member_added {
            self.emit(EventKind::MemberAdded {
                channel: name,
                user_id: m.user_id,
            });
        }
        Ok(!already)
    }

    pub fn unsubscribe(&self, socket_id: SocketId, channel: &str, presence_user: Option<&str>) {
        let mut state = self.write();
        self.unsubscribe_locked(&mut state, socket_id, channel, presence_user);
    }

    fn unsubscribe_locked(
        &self,
        state: &mut State,
        socket_id: SocketId,
        channel: &str,
        presence_user: Option<&str>,
    ) {
        let Some(name) = state
            .channels
            .get_key_value(channel)
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        let Some(ch) = state.channels.get_mut(channel) else {
            return;
        };
        if ch.subscribers.remove(&socket_id).is_none() {
            return;
        }
        if let Some(user) = presence_user {
            if let Some(member) = ch.members.get_mut(user) {
                member.sockets.retain(|s| *s != socket_id);
                if member.sockets.is_empty() {
                    let (user_id, _) = ch.members.remove_entry(user).expect("member present");
                    let frame = protocol::member_removed(channel, user);
                    for other in ch.subscribers.values() {
                        other.send(frame.clone());
                    }
                    self.emit(EventKind::MemberRemoved {
                        channel: name.clone(),
                        user_id,
                    });
                }
            }
        }
        if ch.subscribers.is_empty() {
            state.channels.remove(channel);
            self.emit(EventKind::ChannelVacated { channel: name });
        }
    }

    /// Records a signed-in socket for the user channel and terminate.
    pub fn sign_in(&self, socket_id: SocketId, user_id: &Arc<str>) {
        self.write()
            .users
            .entry(user_id.clone())
            .or_default()
            .insert(socket_id);
    }

    /// Queues `frame` for every local subscriber of `channel` but `except`. This is the
    /// local end of fan-out; the frame's bytes are shared, never copied.
    pub fn deliver(&self, channel: &str, frame: &Utf8Bytes, except: Option<SocketId>) -> usize {
        let state = self.read();
        let Some(ch) = state.channels.get(channel) else {
            return 0;
        };
        let mut delivered = 0;
        for (id, outbox) in &ch.subscribers {
            if Some(*id) != except {
                outbox.send(frame.clone());
                delivered += 1;
            }
        }
        delivered
    }

    /// Remembers the last event of a cache channel (PROTOCOL.md §2.7).
    pub fn store_cache(&self, channel: &str, frame: &Utf8Bytes, data: &str) {
        let ttl = Duration::from_secs(self.app.cache_ttl);
        let mut state = self.write();
        if !state.cache.contains_key(channel) && state.cache.len() >= MAX_CACHED_CHANNELS {
            state.cache.retain(|_, c| c.stored.elapsed() < ttl);
            if state.cache.len() >= MAX_CACHED_CHANNELS {
                return;
            }
        }
        state.cache.insert(
            channel.into(),
            CachedEvent {
                frame: frame.clone(),
                data: data.into(),
                stored: Instant::now(),
            },
        );
    }

    /// Whether `socket_id` is currently subscribed to `channel`.
    pub fn is_subscribed(&self, socket_id: SocketId, channel: &str) -> bool {
        self.read()
            .channels
            .get(channel)
            .is_some_and(|c| c.subscribers.contains_key(&socket_id))
    }

    /// Occupied channels whose name starts with `prefix`.
    pub fn channels(&self, prefix: &str) -> Vec<ChannelInfo> {
        let state = self.read();
        let mut out: Vec<ChannelInfo> = state
            .channels
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, ch)| Self::info(&state, name, Some(ch), self.app.cache_ttl))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn channel(&self, name: &str) -> ChannelInfo {
        let state = self.read();
        let ch = state.channels.get(name);
        Self::info(&state, &Arc::from(name), ch, self.app.cache_ttl)
    }

    fn info(state: &State, name: &Arc<str>, ch: Option<&Channel>, cache_ttl: u64) -> ChannelInfo {
        let t = channel_type(name);
        let cache = if t.cache {
            state.cache.get(&**name).and_then(|c| {
                let left = cache_ttl.saturating_sub(c.stored.elapsed().as_secs());
                (left > 0).then(|| (c.data.clone(), left))
            })
        } else {
            None
        };
        ChannelInfo {
            name: name.clone(),
            occupied: ch.is_some(),
            subscription_count: ch.map_or(0, |c| c.subscribers.len()),
            user_count: (t.kind == ChannelKind::Presence)
                .then(|| ch.map_or(0, |c| c.members.len())),
            cache,
        }
    }

    /// Presence members of `channel` (empty when unoccupied), sorted by id.
    pub fn members(&self, channel: &str) -> Vec<MemberInfo> {
        let state = self.read();
        let mut out: Vec<MemberInfo> = state
            .channels
            .get(channel)
            .map(|c| {
                c.members
                    .iter()
                    .map(|(id, m)| MemberInfo {
                        user_id: id.clone(),
                        user_info: m.info.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        out
    }

    /// Closes (4009) every connection signed in as `user_id` or present under that id
    /// in a presence channel; returns how many.
    pub fn terminate_user(&self, user_id: &str) -> usize {
        let state = self.read();
        let mut sockets: HashSet<SocketId> = state.users.get(user_id).cloned().unwrap_or_default();
        for ch in state.channels.values() {
            if let Some(m) = ch.members.get(user_id) {
                sockets.extend(m.sockets.iter().copied());
            }
        }
        let mut closed = 0;
        for id in sockets {
            if let Some(outbox) = state.connections.get(&id) {
                outbox.close(
                    ErrorCode::Unauthorized,
                    "Connection terminated by the server",
                );
                closed += 1;
            }
        }
        closed
    }

    /// One liveness pass over every connection of the app (see
    /// [`Outbox::check_liveness`]); the server runs it a few times a second.
    pub fn sweep(&self, now_ms: u64, write_timeout_ms: u64) {
        let ping = self.app.ping_interval().as_millis() as u64;
        let pong = self.app.pong_timeout().as_millis() as u64;
        for outbox in self.read().connections.values() {
            outbox.check_liveness(now_ms, ping, pong, write_timeout_ms);
        }
    }

    /// Closes every connection of the app with `code` (used at shutdown).
    pub fn close_all(&self, code: ErrorCode, message: &'static str) {
        for outbox in self.read().connections.values() {
            outbox.close(code, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(max_members: usize) -> (Hub, crate::events::EventReceiver) {
        let (tx, rx) = tokio::sync::broadcast::channel(64);
        let app = AppConfig {
            id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            max_presence_members: max_members,
            ..AppConfig::default()
        };
        (Hub::new(app, tx), rx)
    }

    fn conn(hub: &Hub) -> (Outbox, Outbox) {
        let o = Outbox::new(SocketId::generate(), 16);
        hub.connect(&o).unwrap();
        (o.clone(), o)
    }

    fn drain(o: &mut Outbox) -> Vec<String> {
        o.take_all()
            .into_iter()
            .map(|f| f.as_str().to_string())
            .collect()
    }

    fn member(id: &str) -> PresenceMember {
        PresenceMember {
            user_id: id.into(),
            user_info: Some(
                RawValue::from_string(format!("{{\"name\":\"u{id}\"}}"))
                    .unwrap()
                    .into(),
            ),
        }
    }

    #[test]
    fn presence_is_per_user_not_per_socket() {
        let (hub, mut events) = hub(100);
        let (a1, mut ra1) = conn(&hub);
        let (a2, mut ra2) = conn(&hub);
        let (b, mut rb) = conn(&hub);
        let ch = "presence-room";
        hub.subscribe(&b, ch, Some(&member("b"))).unwrap();
        hub.subscribe(&a1, ch, Some(&member("a"))).unwrap();
        hub.subscribe(&a2, ch, Some(&member("a"))).unwrap();
        let seen = drain(&mut rb);
        assert_eq!(
            seen.iter().filter(|f| f.contains("member_added")).count(),
            1,
            "{seen:?}"
        );
        assert!(drain(&mut ra1).iter().all(|f| !f.contains("member_added")));
        let ok = drain(&mut ra2);
        assert!(ok[0].contains("\\\"count\\\":2"), "{ok:?}");

        hub.unsubscribe(a1.socket_id(), ch, Some("a"));
        assert!(
            drain(&mut rb).is_empty(),
            "first of two sockets leaving is silent"
        );
        hub.disconnect(
            a2.socket_id(),
            [(Arc::from(ch), Some(Arc::from("a")))],
            None,
        );
        let seen = drain(&mut rb);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("member_removed"));
        assert_eq!(hub.members(ch).len(), 1);

        let mut kinds = Vec::new();
        while let Ok(e) = events.try_recv() {
            kinds.push(e.kind.name());
        }
        assert_eq!(kinds.iter().filter(|k| **k == "member_added").count(), 2);
        assert_eq!(kinds.iter().filter(|k| **k == "member_removed").count(), 1);
        assert_eq!(
            kinds.iter().filter(|k| **k == "channel_occupied").count(),
            1
        );
    }

    #[test]
    fn member_limit_and_resubscribe() {
        let (hub, _e) = hub(1);
        let (a, mut ra) = conn(&hub);
        let (b, _rb) = conn(&hub);
        hub.subscribe(&a, "presence-x", Some(&member("a"))).unwrap();
        assert_eq!(
            hub.subscribe(&b, "presence-x", Some(&member("b"))),
            Err(SubscribeRefusal::MemberLimit)
        );
        assert_eq!(
            hub.subscribe(&a, "presence-x", Some(&member("a"))),
            Ok(false)
        );
        assert_eq!(drain(&mut ra).len(), 2);
        assert_eq!(hub.channel("presence-x").user_count, Some(1));
        assert_eq!(hub.channel("presence-x").subscription_count, 1);
    }

    #[test]
    fn deliver_skips_excluded_socket_and_cache_replays() {
        let (hub, _e) = hub(100);
        let (a, mut ra) = conn(&hub);
        let (b, mut rb) = conn(&hub);
        hub.subscribe(&a, "cache-x", None).unwrap();
        hub.subscribe(&b, "cache-x", None).unwrap();
        assert!(drain(&mut ra)[1].contains("cache_miss"));
        drain(&mut rb);
        let frame = protocol::channel_event("e", "cache-x", "d", None);
        hub.store_cache("cache-x", &frame, "d");
        assert_eq!(hub.deliver("cache-x", &frame, Some(a.socket_id())), 1);
        assert!(drain(&mut ra).is_empty());
        assert_eq!(drain(&mut rb), vec![frame.as_str().to_string()]);
        let (c, mut rc) = conn(&hub);
        hub.subscribe(&c, "cache-x", None).unwrap();
        assert_eq!(drain(&mut rc)[1], frame.as_str());
        assert_eq!(hub.channel("cache-x").cache.unwrap().0.as_ref(), "d");
    }

    #[test]
    fn vacated_channels_are_removed() {
        let (hub, _e) = hub(100);
        let (a, _ra) = conn(&hub);
        hub.subscribe(&a, "orders", None).unwrap();
        assert_eq!(hub.channels("").len(), 1);
        hub.unsubscribe(a.socket_id(), "orders", None);
        assert!(hub.channels("").is_empty());
        assert!(!hub.channel("orders").occupied);
    }
}
