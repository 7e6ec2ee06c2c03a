//! Who is online, from this process's own state: the single-node backend's answer to
//! the user-status questions of [`super::Backend`].
//!
//! A user is online while at least one connection is known as them (signed in, or a
//! presence member as them). Per user it keeps those connections, the presence
//! channels the user is a member of, the first `user_info` and the app-set location.
//! When the last connection goes, the user moves to `last_seen`, bounded in count
//! (the oldest is forgotten first) and in age (purged by [`UserBook::purge`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::value::RawValue;

use crate::protocol::socket_id::SocketId;
use crate::shards::{lock, read, write, Sharded};
use crate::views::{OnlineUser, OnlineUsers, UserStatus};

pub(crate) struct UserBook {
    users: Sharded<Arc<str>, UserState>,
    /// Ids of the online users, sorted, for paging through them.
    online: Mutex<BTreeSet<Arc<str>>>,
    last_seen: Mutex<LastSeen>,
}

#[derive(Default)]
struct UserState {
    sockets: HashSet<SocketId>,
    channels: BTreeSet<Arc<str>>,
    info: Option<Arc<RawValue>>,
    location: Option<Arc<str>>,
}

/// When each offline user was last seen, with an index by time for evicting the
/// oldest; both hold the same entries.
struct LastSeen {
    by_user: HashMap<Arc<str>, u64>,
    by_time: BTreeSet<(u64, Arc<str>)>,
    ttl_ms: u64,
    max: usize,
}

impl LastSeen {
    fn insert(&mut self, user: &Arc<str>, at: u64) {
        self.remove(user);
        while self.by_user.len() >= self.max {
            let Some((_, oldest)) = self.by_time.pop_first() else {
                break;
            };
            self.by_user.remove(&oldest);
        }
        self.by_user.insert(user.clone(), at);
        self.by_time.insert((at, user.clone()));
    }

    fn remove(&mut self, user: &str) {
        if let Some((user, at)) = self.by_user.remove_entry(user) {
            self.by_time.remove(&(at, user));
        }
    }

    fn get(&self, user: &str, now: u64) -> Option<u64> {
        self.by_user
            .get(user)
            .copied()
            .filter(|at| now.saturating_sub(*at) < self.ttl_ms)
    }

    fn purge(&mut self, now: u64) {
        while let Some((at, _)) = self.by_time.first() {
            if now.saturating_sub(*at) < self.ttl_ms {
                break;
            }
            if let Some((_, user)) = self.by_time.pop_first() {
                self.by_user.remove(&user);
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl UserBook {
    pub fn new(last_seen_ttl: Duration, last_seen_max: usize) -> UserBook {
        UserBook {
            users: Sharded::default(),
            online: Mutex::new(BTreeSet::new()),
            last_seen: Mutex::new(LastSeen {
                by_user: HashMap::new(),
                by_time: BTreeSet::new(),
                ttl_ms: last_seen_ttl.as_millis().max(1) as u64,
                max: last_seen_max.max(1),
            }),
        }
    }

    /// See [`super::Backend::user_connected`]; true when the user came online.
    pub fn connected(&self, user: &str, socket: SocketId, info: Option<&RawValue>) -> bool {
        let came_online = {
            let mut shard = write(self.users.shard(user));
            let state = match shard.get_mut(user) {
                Some(state) => state,
                None => shard.entry(Arc::from(user)).or_default(),
            };
            let was_online = !state.sockets.is_empty();
            state.sockets.insert(socket);
            if state.info.is_none() {
                state.info = info.map(|i| Arc::from(i.to_owned()));
            }
            !was_online && !state.sockets.is_empty()
        };
        if came_online {
            let user: Arc<str> = user.into();
            lock(&self.last_seen).remove(&user);
            lock(&self.online).insert(user);
        }
        came_online
    }

    /// See [`super::Backend::user_disconnected`]: the `last_seen` recorded when the
    /// user went offline.
    pub fn disconnected(&self, user: &str, socket: SocketId) -> Option<u64> {
        let went_offline = {
            let mut shard = write(self.users.shard(user));
            let state = shard.get_mut(user)?;
            if !state.sockets.remove(&socket) || !state.sockets.is_empty() {
                false
            } else {
                // What describes a live user goes with them; presence channels are
                // removed by their own leaves.
                state.info = None;
                state.location = None;
                if state.channels.is_empty() {
                    shard.remove(user);
                }
                true
            }
        };
        if !went_offline {
            return None;
        }
        let user: Arc<str> = user.into();
        let now = now_ms();
        lock(&self.online).remove(&user);
        lock(&self.last_seen).insert(&user, now);
        Some(now)
    }

    /// The user became (`true`) or stopped being a member of presence `channel`.
    /// Called under the channel's lock, so a channel's changes come in order.
    pub fn member_of(&self, user: &Arc<str>, channel: &str, member: bool) {
        let mut shard = write(self.users.shard(&**user));
        if member {
            shard
                .entry(user.clone())
                .or_default()
                .channels
                .insert(channel.into());
        } else if let Some(state) = shard.get_mut(&**user) {
            state.channels.remove(channel);
            if state.channels.is_empty() && state.sockets.is_empty() {
                shard.remove(&**user);
            }
        }
    }

    pub fn is_online(&self, user: &str) -> bool {
        read(self.users.shard(user))
            .get(user)
            .is_some_and(|s| !s.sockets.is_empty())
    }

    pub fn status(&self, user: &str) -> UserStatus {
        let mut status = UserStatus {
            id: user.into(),
            online: false,
            connections: 0,
            channels: Vec::new(),
            last_seen: None,
            location: None,
            info: None,
        };
        if let Some(state) = read(self.users.shard(user)).get(user) {
            status.online = !state.sockets.is_empty();
            status.connections = state.sockets.len();
            status.channels = state.channels.iter().cloned().collect();
            status.location = state.location.clone();
            status.info = state.info.clone();
        }
        if !status.online {
            status.last_seen = lock(&self.last_seen).get(user, now_ms());
        }
        status
    }

    pub fn online_users(&self, after: &str, limit: usize) -> OnlineUsers {
        use std::ops::Bound;
        let ids: Vec<Arc<str>> = lock(&self.online)
            .range::<str, _>((Bound::Excluded(after), Bound::Unbounded))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let more = ids.len() > limit;
        let mut users = Vec::with_capacity(ids.len().min(limit));
        for id in ids.into_iter().take(limit) {
            let shard = read(self.users.shard(&*id));
            // Gone offline since the list was read: left out.
            if let Some(state) = shard.get(&*id).filter(|s| !s.sockets.is_empty()) {
                users.push(OnlineUser {
                    id: id.clone(),
                    connections: state.sockets.len(),
                    location: state.location.clone(),
                    info: state.info.clone(),
                });
            }
        }
        let next = if more {
            users.last().map(|u| u.id.clone())
        } else {
            None
        };
        OnlineUsers { users, next }
    }

    /// See [`super::Backend::set_location`].
    pub fn set_location(&self, user: &str, location: Option<&str>) -> bool {
        let mut shard = write(self.users.shard(user));
        match shard.get_mut(user).filter(|s| !s.sockets.is_empty()) {
            Some(state) => {
                state.location = location.map(Arc::from);
                true
            }
            None => false,
        }
    }

    /// Forgets `last_seen` entries older than their time to live.
    pub fn purge(&self) {
        lock(&self.last_seen).purge(now_ms());
    }

    /// Users whose `last_seen` is kept (for the bound's test).
    #[cfg(test)]
    pub fn last_seen_len(&self) -> usize {
        lock(&self.last_seen).by_user.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_bounded_in_count_and_age() {
        let book = UserBook::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            let user = format!("u{i}");
            let socket = SocketId::generate();
            assert!(book.connected(&user, socket, None));
            assert!(book.disconnected(&user, socket).is_some());
        }
        assert_eq!(book.last_seen_len(), 3);
        assert!(book.status("u9").last_seen.is_some());
        assert!(
            book.status("u0").last_seen.is_none(),
            "the oldest went first"
        );
        let mut seen = lock(&book.last_seen);
        let now = now_ms();
        seen.purge(now + 61_000);
        assert!(seen.by_user.is_empty() && seen.by_time.is_empty());
    }

    #[test]
    fn online_users_page_by_id() {
        let book = UserBook::new(Duration::from_secs(60), 10);
        for id in ["c", "a", "b", "d"] {
            book.connected(id, SocketId::generate(), None);
        }
        let page = book.online_users("", 3);
        let ids: Vec<&str> = page.users.iter().map(|u| &*u.id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(page.next.as_deref(), Some("c"));
        let page = book.online_users("c", 3);
        assert_eq!(page.users.len(), 1);
        assert!(page.next.is_none());
    }
}
