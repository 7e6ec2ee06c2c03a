//! The single-node backend: every decision from this process's own state.
//!
//! It keeps what a cluster store would keep for the app: per channel, the subscribed
//! sockets and the presence members (per user, the sockets present as that user and
//! the first one's `user_info`); the connection count; the cache channels' last
//! events. Each channel's entry is changed under its shard's lock, for a map
//! operation only; every future it returns is ready at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{self, BoxFuture, FutureExt};
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::delivery_ring::DeliveryRing;
use super::user_book::UserBook;
use super::{Backend, BackendError, JoinError, Joined, Left, Receipt, SharedInbound, Version};
use crate::app::channel_store::ChannelStore;
use crate::config::AppConfig;
use crate::protocol::frames::event_data;
use crate::protocol::identity::PresenceMember;
use crate::protocol::names::{channel_type, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::shards::{read, write, Sharded};
use crate::views::{CachedEvent, ChannelInfo, DeliveryRecord, Member, OnlineUsers, UserStatus};

pub(crate) struct LocalBackend {
    /// Where terminate requests go: this node is the whole cluster.
    inbound: SharedInbound,
    channels: Sharded<Arc<str>, ChannelState>,
    connections: AtomicUsize,
    store: ChannelStore,
    /// The last [`Version`] given to a presence change.
    version: AtomicU64,
    users: UserBook,
    deliveries: DeliveryRing,
    /// The last delivery-log id given.
    log_id: AtomicU64,
}

#[derive(Default)]
struct ChannelState {
    sockets: HashSet<SocketId>,
    /// Presence channels only: user id → member.
    members: HashMap<Arc<str>, MemberState>,
}

struct MemberState {
    /// The first connection's `user_info`, kept until the user fully leaves.
    info: Option<Arc<RawValue>>,
    sockets: Vec<SocketId>,
}

impl ChannelState {
    /// In the map's order: `subscription_succeeded` needs no order, and sorting a
    /// thousand ids on every join of a busy channel showed in the presence benchmark.
    fn member_list(&self) -> Vec<Member> {
        self.members
            .iter()
            .map(|(id, m)| Member {
                id: id.clone(),
                info: m.info.clone(),
            })
            .collect()
    }
}

impl LocalBackend {
    /// The backend of `app` on this node alone.
    pub fn new(inbound: SharedInbound, app: &AppConfig) -> Self {
        let users = &app.user_status;
        LocalBackend {
            inbound,
            channels: Sharded::default(),
            connections: AtomicUsize::new(0),
            store: ChannelStore::new(Duration::from_secs(app.cache_ttl), app.cache_max_bytes),
            version: AtomicU64::new(0),
            users: UserBook::new(
                Duration::from_secs(users.last_seen_ttl),
                users.last_seen_max,
            ),
            deliveries: DeliveryRing::new(app.delivery_log.size, app.delivery_log.max_bytes),
            log_id: AtomicU64::new(0),
        }
    }

    /// Taken under the channel's shard lock, so versions follow the decisions.
    fn next_version(&self) -> Version {
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }

    fn join_now(
        &self,
        channel: &str,
        socket: SocketId,
        member: Option<&PresenceMember>,
        member_limit: usize,
    ) -> Result<Joined, JoinError> {
        let mut shard = write(self.channels.shard(channel));
        let occupied = !shard.contains_key(channel);
        let state = shard.entry(Arc::from(channel)).or_default();
        let mut joined = Joined {
            new_subscription: !state.sockets.contains(&socket),
            ..Joined::default()
        };
        if joined.new_subscription {
            if let Some(m) = member {
                let full = state.members.len() >= member_limit;
                match state.members.get_mut(&m.user_id) {
                    Some(existing) => existing.sockets.push(socket),
                    None if full => {
                        if occupied {
                            shard.remove(channel);
                        }
                        return Err(JoinError::MemberLimit);
                    }
                    None => {
                        state.members.insert(
                            m.user_id.clone(),
                            MemberState {
                                info: m.user_info.clone(),
                                sockets: vec![socket],
                            },
                        );
                        joined.member_added = true;
                        self.users.member_of(&m.user_id, channel, true);
                    }
                }
            }
            state.sockets.insert(socket);
            joined.channel_occupied = occupied;
        }
        if channel_type(channel).kind == ChannelKind::Presence {
            joined.members = Some(state.member_list());
            joined.version = self.next_version();
        }
        joined.subscriptions = state.sockets.len();
        Ok(joined)
    }

    fn leave_now(&self, channel: &str, socket: SocketId, user: Option<&str>) -> Left {
        let mut shard = write(self.channels.shard(channel));
        let Some(state) = shard.get_mut(channel) else {
            return Left::default();
        };
        if !state.sockets.remove(&socket) {
            return Left::default();
        }
        let mut left = Left {
            was_subscribed: true,
            ..Left::default()
        };
        if let Some(user) = user {
            if let Some(m) = state.members.get_mut(user) {
                m.sockets.retain(|s| *s != socket);
                if m.sockets.is_empty() {
                    if let Some((user, _)) = state.members.remove_entry(user) {
                        self.users.member_of(&user, channel, false);
                    }
                    left.member_removed = true;
                    left.version = self.next_version();
                }
            }
        }
        left.subscriptions = state.sockets.len();
        if state.sockets.is_empty() {
            shard.remove(channel);
            left.channel_vacated = true;
        }
        left
    }

    fn info(&self, name: &str, state: Option<&ChannelState>) -> ChannelInfo {
        let t = channel_type(name);
        let cache = if t.cache {
            self.store.get(name).and_then(|(frame, ttl)| {
                event_data(&frame).map(|data| CachedEvent {
                    data: data.into(),
                    ttl,
                })
            })
        } else {
            None
        };
        ChannelInfo {
            name: name.into(),
            occupied: state.is_some(),
            subscription_count: state.map_or(0, |s| s.sockets.len()),
            user_count: (t.kind == ChannelKind::Presence)
                .then(|| state.map_or(0, |s| s.members.len())),
            cache,
        }
    }
}

impl Backend for LocalBackend {
    fn figures(&self) -> super::BackendFigures {
        let local_members = self
            .channels
            .shards()
            .map(|shard| read(shard).values().map(|c| c.members.len()).sum::<usize>())
            .sum();
        super::BackendFigures {
            local_members,
            cache_bytes: self.store.bytes(),
            ..Default::default()
        }
    }

    fn connection_opened(&self, _socket: SocketId) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    fn connection_closed(&self, _socket: SocketId) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    fn join<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        member: Option<&'a PresenceMember>,
        member_limit: usize,
    ) -> BoxFuture<'a, Result<Joined, JoinError>> {
        future::ready(self.join_now(channel, socket, member, member_limit)).boxed()
    }

    fn leave<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        user: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Left, BackendError>> {
        future::ready(Ok(self.leave_now(channel, socket, user))).boxed()
    }

    fn broadcast(
        &self,
        _channel: &str,
        _frame: &Utf8Bytes,
        _except: Option<SocketId>,
    ) -> Result<Receipt, BackendError> {
        // No other node.
        Ok(Receipt::default())
    }

    fn broadcast_membership(
        &self,
        _channel: &str,
        _frame: &Utf8Bytes,
        _version: Version,
    ) -> Result<Receipt, BackendError> {
        Ok(Receipt::default())
    }

    fn channels<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChannelInfo>, BackendError>> {
        let mut out = Vec::new();
        for shard in self.channels.shards() {
            let shard = read(shard);
            for (name, state) in shard.iter().filter(|(n, _)| n.starts_with(prefix)) {
                out.push(self.info(name, Some(state)));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        future::ready(Ok(out)).boxed()
    }

    fn channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ChannelInfo, BackendError>> {
        let shard = read(self.channels.shard(name));
        let info = self.info(name, shard.get(name));
        future::ready(Ok(info)).boxed()
    }

    fn members<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<Member>, BackendError>> {
        let mut members = read(self.channels.shard(channel))
            .get(channel)
            .map(ChannelState::member_list)
            .unwrap_or_default();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        future::ready(Ok(members)).boxed()
    }

    fn connection_count(&self) -> BoxFuture<'_, Result<usize, BackendError>> {
        future::ready(Ok(self.connections.load(Ordering::Relaxed))).boxed()
    }

    fn terminate_user<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<usize, BackendError>> {
        future::ready(Ok(self.inbound.terminate_user(user_id))).boxed()
    }

    fn store_last(&self, channel: &str, frame: &Utf8Bytes) {
        self.store.store(channel, frame);
    }

    fn last<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<Option<Utf8Bytes>, BackendError>> {
        let kept = self.store.get(channel).map(|(frame, _)| frame);
        future::ready(Ok(kept)).boxed()
    }

    fn user_connected(
        &self,
        user: &str,
        socket: SocketId,
        info: Option<&RawValue>,
    ) -> BoxFuture<'static, Result<bool, BackendError>> {
        future::ready(Ok(self.users.connected(user, socket, info))).boxed()
    }

    fn user_disconnected(
        &self,
        user: &str,
        socket: SocketId,
    ) -> BoxFuture<'static, Result<Option<u64>, BackendError>> {
        future::ready(Ok(self.users.disconnected(user, socket))).boxed()
    }

    fn users_online<'a>(
        &'a self,
        users: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BackendError>> {
        let online = users.iter().map(|u| self.users.is_online(u)).collect();
        future::ready(Ok(online)).boxed()
    }

    fn user_status<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<UserStatus, BackendError>> {
        future::ready(Ok(self.users.status(user))).boxed()
    }

    fn online_users<'a>(
        &'a self,
        after: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<OnlineUsers, BackendError>> {
        future::ready(Ok(self.users.online_users(after, limit))).boxed()
    }

    fn set_location<'a>(
        &'a self,
        user: &'a str,
        location: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        future::ready(Ok(self.users.set_location(user, location))).boxed()
    }

    fn broadcast_status(&self, _user: &str, _online: bool) -> Result<(), BackendError> {
        // No other node.
        Ok(())
    }

    fn next_log_id(&self) -> Arc<str> {
        (self.log_id.fetch_add(1, Ordering::Relaxed) + 1)
            .to_string()
            .into()
    }

    fn log_delivery(&self, record: &DeliveryRecord) {
        self.deliveries.push(record.clone());
    }

    fn delivery_log(
        &self,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, BackendError>> {
        future::ready(Ok(self.deliveries.newest(limit))).boxed()
    }

    fn maintain(&self) {
        self.store.purge();
        self.users.purge();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::conformance;

    #[tokio::test]
    async fn local_backend_passes_the_conformance_suite() {
        conformance::run_all(|inbound| {
            let app = AppConfig {
                cache_ttl: 60,
                cache_max_bytes: 1 << 20,
                ..AppConfig::default()
            };
            Arc::new(LocalBackend::new(inbound, &app))
        })
        .await;
    }
}
