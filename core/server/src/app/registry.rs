//! This node's connections of one app and who among them is subscribed to what: the
//! local end of fan-out, and the node's [`Inbound`] for events from other nodes.
//!
//! Locking: connections, channels and users are [`Sharded`] maps; each channel has its
//! own subscriber lock. Delivery takes a channel's read lock and only does
//! non-blocking queue pushes, so publishers of one channel run in parallel and
//! publishers of different channels never meet. A subscribe takes that one channel's
//! write lock for an insert and one queue push (its `subscription_succeeded`), which
//! is what orders a subscriber's frames: everything delivered after the insert comes
//! after its `subscription_succeeded`. No lock here is held across an `.await`; the
//! per-channel [`LocalChannel::membership`] lock (async) is taken by the app service
//! around a join or leave and its backend decision, never by publishers.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures_util::lock::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::outbox::Outbox;
use crate::cluster::{Inbound, Version};
use crate::protocol::socket_id::SocketId;
use crate::protocol::ErrorCode;
use crate::shards::{lock, read, write, Sharded};

#[derive(Default)]
pub(crate) struct Registry {
    connections: Sharded<SocketId, Outbox>,
    channels: Sharded<Arc<str>, Arc<LocalChannel>>,
    /// User id → this node's sockets known as that user, each with how many reasons
    /// (a sign-in, and each presence channel it is a member of); for terminate.
    users: Sharded<Arc<str>, HashMap<SocketId, u32>>,
    /// Watched user id → this node's connections watching them (a sign-in's
    /// watchlist), each with the status it was last told.
    watchers: Sharded<Arc<str>, HashMap<SocketId, Watcher>>,
    /// Kept beside the map so the connection quota is checked without a lock.
    connection_count: AtomicUsize,
    /// The debug console's journal and this app's id, when the console is enabled.
    console: std::sync::OnceLock<(Arc<crate::console::Journal>, Arc<str>)>,
}

/// A connection watching a user, and what it was last told of them (none yet: it has
/// not had its initial status). A status is sent only when it differs from this, which
/// also keeps an online told twice (by this node and another) from reaching it twice.
struct Watcher {
    outbox: Outbox,
    told: Option<bool>,
}

/// A channel's kind as a metrics label.
pub(crate) fn channel_label(name: &str) -> &'static str {
    use crate::protocol::names::{channel_type, ChannelKind};
    let t = channel_type(name);
    match (t.kind, t.cache) {
        (ChannelKind::Public, false) => "public",
        (ChannelKind::Public, true) => "cache",
        (ChannelKind::Private, false) => "private",
        (ChannelKind::Private, true) => "private-cache",
        (ChannelKind::Presence, false) => "presence",
        (ChannelKind::Presence, true) => "presence-cache",
        (ChannelKind::EncryptedPrivate, false) => "private-encrypted",
        (ChannelKind::EncryptedPrivate, true) => "private-encrypted-cache",
        (ChannelKind::User, _) => "user",
    }
}

/// One channel's subscribers on this node.
pub(crate) struct LocalChannel {
    pub name: Arc<str>,
    /// Serialises the joins and leaves of this channel on this node, with their
    /// backend decisions and the frames and lifecycle events they cause, so that
    /// those are seen in decision order. Async: held across the backend's answer.
    /// Not fair, on purpose: a fair lock hands itself to the longest waiter, which must
    /// first be scheduled behind every task the last join woke (its `member_added`
    /// went to all members), so a join storm ran one join per scheduler round and
    /// wrote a frame per write. A running joiner may take a free lock at once.
    membership: Arc<AsyncMutex<()>>,
    subscribers: RwLock<HashMap<SocketId, Subscriber>>,
    /// Other nodes' `member_added` / `member_removed` that arrived while a join or
    /// leave held the membership lock: delivered when it is released, so that a
    /// subscriber whose member list is still on its way from Redis gets the changes
    /// decided after that list.
    remote: Mutex<RemoteChanges>,
    /// Frames delivered so far: tells a cache subscriber whether an event newer than
    /// the kept one reached it already.
    delivered: AtomicU64,
    /// Taken out of the registry (it emptied): whoever waited for its membership lock
    /// must look the channel up again.
    removed: AtomicBool,
    /// Joins and leaves waiting for or holding the membership lock.
    in_flight: AtomicUsize,
    /// Connections owed a wake-up for `member_added`/`member_removed` frames queued
    /// while other joins or leaves were waiting (see [`LocalChannel::deliver_membership`]).
    deferred_wakes: Mutex<DeferredWakes>,
}

/// How many membership changes may queue frames without waking their receivers while
/// more are waiting. In a join storm on a channel of N members each join queues a
/// `member_added` for every member; woken for each, every member's connection wrote
/// one frame per write (N writes per join). Deferred, it writes up to this many frames
/// at once. It also bounds how long a frame may wait for its wake-up: this many joins.
const MAX_DEFERRED_CHANGES: usize = 32;

/// A subscriber, with the [`Version`] its presence member list showed (0 outside
/// presence): only changes decided after it are sent to it.
struct Subscriber {
    outbox: Outbox,
    since: Version,
    /// History channels: the last serial it was given when it joined (a rewind or a
    /// resume); a live event up to it is not sent again.
    seen: u64,
    /// While its replay is read from a shared store: the history events that arrived
    /// meanwhile, sent after the replay (those it holds already skipped).
    /// A mutex so that delivery keeps the channel's read lock (the release takes the
    /// write lock: no delivery runs then).
    hold: Option<Mutex<Vec<Held>>>,
}

/// A history event held for a subscriber whose replay is on its way.
struct Held {
    serial: u64,
    serial_frame: Utf8Bytes,
    frame: Utf8Bytes,
}

/// History events held for one subscriber at most while its replay is read; past it
/// the connection is closed (4100, it reconnects and resumes again).
const MAX_HELD: usize = 10_000;

/// A history channel's event as [`LocalChannel::deliver_serial`] delivers it.
pub(crate) struct Serial<'a> {
    pub serial: u64,
    /// `pushbus:serial`, sent before the event to the clients that enabled recovery.
    pub frame: &'a Utf8Bytes,
}

/// Remote presence changes queued at most while a join or leave is decided (one Redis
/// round trip); past it they are dropped, counted and logged.
const MAX_QUEUED_REMOTE_CHANGES: usize = 65_536;

#[derive(Default)]
struct RemoteChanges {
    /// A join or leave holds the membership lock.
    held: bool,
    queued: VecDeque<(Utf8Bytes, Version)>,
    dropped: u64,
}

#[derive(Default)]
struct DeferredWakes {
    outboxes: Vec<Outbox>,
    changes: usize,
}

/// A channel's membership lock, held while a join or leave is decided and applied.
pub(crate) struct MembershipGuard {
    pub channel: Arc<LocalChannel>,
    _guard: OwnedMutexGuard<()>,
    _in_flight: InFlight,
}

impl Drop for MembershipGuard {
    /// Before the lock is free: the remote changes that waited for this join or leave.
    fn drop(&mut self) {
        let mut remote = lock(&self.channel.remote);
        while let Some((frame, version)) = remote.queued.pop_front() {
            self.channel.deliver_membership(&frame, None, version);
        }
        remote.held = false;
    }
}

/// Counts one join or leave in [`LocalChannel::in_flight`] while it waits for or holds
/// the membership lock; the last one out (also a cancelled wait) sends the deferred
/// wake-ups.
struct InFlight(Arc<LocalChannel>);

impl InFlight {
    fn new(channel: &Arc<LocalChannel>) -> InFlight {
        channel.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(channel.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.wake_deferred();
        }
    }
}

impl LocalChannel {
    fn new(name: Arc<str>) -> LocalChannel {
        LocalChannel {
            name,
            membership: Arc::new(AsyncMutex::new(())),
            subscribers: RwLock::new(HashMap::new()),
            remote: Mutex::new(RemoteChanges::default()),
            delivered: AtomicU64::new(0),
            removed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            deferred_wakes: Mutex::new(DeferredWakes::default()),
        }
    }

    /// Adds `outbox` and queues `first` for it in the same step, so that it comes
    /// before anything delivered to the channel afterwards; presence changes are sent
    /// to it from `since` on (the version of the member list in `first`). Returns how
    /// many frames the channel had delivered until then (see
    /// [`LocalChannel::delivered`]).
    #[cfg(test)]
    pub fn add(&self, outbox: &Outbox, first: Utf8Bytes, since: Version) -> u64 {
        self.add_with(outbox, first, since, || (Vec::new(), 0))
    }

    /// [`LocalChannel::add`], then the frames `replay` gives (a history channel's
    /// rewind or resumed events), read under the same lock: an event is either in
    /// them or delivered live after them, never lost between; `replay` also says the
    /// last serial they hold, which live delivery does not send again.
    pub fn add_with(
        &self,
        outbox: &Outbox,
        first: Utf8Bytes,
        since: Version,
        replay: impl FnOnce() -> (Vec<Utf8Bytes>, u64),
    ) -> u64 {
        let mut subs = write(&self.subscribers);
        outbox.send(first);
        let (frames, seen) = replay();
        for f in frames {
            outbox.send(f);
        }
        subs.insert(
            outbox.socket_id(),
            Subscriber {
                outbox: outbox.clone(),
                since,
                seen,
                hold: None,
            },
        );
        self.delivered()
    }

    /// [`LocalChannel::add`] for a subscriber whose replay comes from a shared store:
    /// its history events are held until [`LocalChannel::release`].
    pub fn add_held(&self, outbox: &Outbox, first: Utf8Bytes, since: Version) -> u64 {
        let mut subs = write(&self.subscribers);
        outbox.send(first);
        subs.insert(
            outbox.socket_id(),
            Subscriber {
                outbox: outbox.clone(),
                since,
                seen: 0,
                hold: Some(Mutex::new(Vec::new())),
            },
        );
        self.delivered()
    }

    /// Sends a held subscriber its replay (`frames`, up to serial `seen`), then the
    /// history events held meanwhile that come after it, and lets the live ones
    /// through.
    pub fn release(&self, socket: SocketId, frames: Vec<Utf8Bytes>, seen: u64) {
        let mut subs = write(&self.subscribers);
        let Some(s) = subs.get_mut(&socket) else {
            return;
        };
        for f in frames {
            s.outbox.send(f);
        }
        let recovery = s.outbox.has(crate::protocol::features::RECOVERY);
        let mut last = seen;
        let held = s
            .hold
            .take()
            .map(|h| h.into_inner().unwrap_or_else(|p| p.into_inner()))
            .unwrap_or_default();
        for h in held {
            if h.serial > last {
                if recovery {
                    s.outbox.send(h.serial_frame);
                }
                s.outbox.send(h.frame);
                last = h.serial;
            }
        }
        s.seen = last;
    }

    pub fn remove(&self, socket: SocketId) -> bool {
        write(&self.subscribers).remove(&socket).is_some()
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Queues `frame` for every subscriber but `except`, stamped with the time the
    /// fan-out began (the publish-to-write histogram).
    pub fn deliver(&self, frame: &Utf8Bytes, except: Option<SocketId>) -> usize {
        let since = super::outbox::now_us();
        let subs = read(&self.subscribers);
        let mut n = 0;
        for (id, s) in subs.iter() {
            if Some(*id) != except {
                s.outbox.send_published(frame.clone(), since);
                n += 1;
            }
        }
        self.delivered.fetch_add(1, Ordering::AcqRel);
        n
    }

    /// [`LocalChannel::deliver`] of a history channel's event: subscribers that got it
    /// already when they joined are skipped, and those that enabled recovery get its
    /// serial frame first.
    pub fn deliver_serial(
        &self,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        serial: &Serial<'_>,
    ) -> usize {
        let since = super::outbox::now_us();
        let subs = read(&self.subscribers);
        let mut n = 0;
        for (id, s) in subs.iter() {
            if Some(*id) == except || s.seen >= serial.serial {
                continue;
            }
            if let Some(held) = &s.hold {
                let mut held = lock(held);
                if held.len() < MAX_HELD {
                    held.push(Held {
                        serial: serial.serial,
                        serial_frame: serial.frame.clone(),
                        frame: frame.clone(),
                    });
                } else {
                    s.outbox
                        .close(ErrorCode::OverCapacity, "Too many events while resuming");
                }
                continue;
            }
            if s.outbox.has(crate::protocol::features::RECOVERY) {
                s.outbox.send(serial.frame.clone());
            }
            s.outbox.send_published(frame.clone(), since);
            n += 1;
        }
        self.delivered.fetch_add(1, Ordering::AcqRel);
        n
    }

    /// Queues `frame` for the subscribers that enabled `feature` (pushbus's own
    /// frames, which unmodified clients never get). Returns how many.
    pub fn deliver_featured(&self, frame: &Utf8Bytes, feature: u32) -> usize {
        let subs = read(&self.subscribers);
        let mut n = 0;
        for s in subs.values().filter(|s| s.outbox.has(feature)) {
            s.outbox.send(frame.clone());
            n += 1;
        }
        n
    }

    /// Another node's presence change: delivered now, or after the join or leave that
    /// holds the membership lock (see [`LocalChannel::remote`]).
    pub fn deliver_remote_membership(&self, frame: &Utf8Bytes, version: Version) {
        let mut remote = lock(&self.remote);
        if !remote.held {
            self.deliver_membership(frame, None, version);
        } else if remote.queued.len() < MAX_QUEUED_REMOTE_CHANGES {
            remote.queued.push_back((frame.clone(), version));
        } else {
            remote.dropped += 1;
            if remote.dropped.is_power_of_two() {
                tracing::warn!(
                    "{:?}: {} presence changes from other nodes dropped (a join or leave \
                     waited on Redis while too many arrived)",
                    self.name,
                    remote.dropped
                );
            }
        }
    }

    /// Delivers a membership change's frame (`member_added`, `member_removed`); called
    /// with the membership lock held. While other joins or leaves wait for the lock,
    /// the receivers' wake-ups are deferred until the last of them is done (or
    /// [`MAX_DEFERRED_CHANGES`] changes have queued), so a storm's frames are written
    /// many at a time; frames are queued at once either way, so order is unchanged.
    /// Subscribers whose member list showed `version` already are skipped.
    pub fn deliver_membership(
        &self,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        version: Version,
    ) {
        let wake_now = self.in_flight.load(Ordering::Acquire) <= 1;
        let mut owed = Vec::new();
        {
            let subs = read(&self.subscribers);
            for (id, s) in subs.iter() {
                // A member list at `since` already shows this change.
                if Some(*id) == except || s.since >= version {
                    continue;
                }
                if wake_now {
                    s.outbox.send(frame.clone());
                } else if s.outbox.send_quiet(frame.clone()) {
                    owed.push(s.outbox.clone());
                }
            }
        }
        if wake_now {
            self.delivered.fetch_add(1, Ordering::AcqRel);
            return;
        }
        self.delivered.fetch_add(1, Ordering::AcqRel);
        let full = {
            let mut deferred = self
                .deferred_wakes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            deferred.outboxes.append(&mut owed);
            deferred.changes += 1;
            deferred.changes >= MAX_DEFERRED_CHANGES
        };
        if full {
            self.wake_deferred();
        }
    }

    /// Sends the wake-ups deferred by [`LocalChannel::deliver_membership`].
    fn wake_deferred(&self) {
        let outboxes = {
            let mut deferred = self
                .deferred_wakes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            deferred.changes = 0;
            std::mem::take(&mut deferred.outboxes)
        };
        for outbox in outboxes {
            outbox.wake();
        }
    }
}

impl Registry {
    /// Lets the debug console see what this registry delivers.
    pub fn show_console(&self, journal: Arc<crate::console::Journal>, app_id: Arc<str>) {
        let _ = self.console.set((journal, app_id));
    }

    /// The console's journal, when the console is enabled.
    pub fn console(&self) -> Option<&Arc<crate::console::Journal>> {
        self.console.get().map(|(journal, _)| journal)
    }

    pub fn connection_count(&self) -> usize {
        self.connection_count.load(Ordering::Relaxed)
    }

    /// Adds a connection, or refuses it when the app has `max` already.
    pub fn connect(&self, outbox: &Outbox, max: Option<usize>) -> Result<(), ErrorCode> {
        let previous = self.connection_count.fetch_add(1, Ordering::AcqRel);
        if max.is_some_and(|max| previous >= max) {
            self.connection_count.fetch_sub(1, Ordering::AcqRel);
            return Err(ErrorCode::OverConnectionQuota);
        }
        write(self.connections.shard(&outbox.socket_id()))
            .insert(outbox.socket_id(), outbox.clone());
        Ok(())
    }

    /// Removes a connection (after it left its channels). Returns whether it was
    /// here: removing twice does nothing.
    pub fn disconnect(&self, socket: SocketId) -> bool {
        let removed = write(self.connections.shard(&socket))
            .remove(&socket)
            .is_some();
        if removed {
            self.connection_count.fetch_sub(1, Ordering::AcqRel);
        }
        removed
    }

    pub fn outbox(&self, socket: SocketId) -> Option<Outbox> {
        read(self.connections.shard(&socket)).get(&socket).cloned()
    }

    /// Delivers a history channel's event to this node's subscribers (see
    /// [`LocalChannel::deliver_serial`]); also shown to the console.
    pub fn deliver_serial(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        serial: &Serial<'_>,
    ) -> usize {
        let delivered = self
            .channel(channel)
            .map_or(0, |c| c.deliver_serial(frame, except, serial));
        self.shown(channel, frame, delivered)
    }

    /// Shows the console (when enabled) an event this node delivered to `delivered`
    /// connections; returns that count.
    fn shown(&self, channel: &str, frame: &Utf8Bytes, delivered: usize) -> usize {
        if let Some((journal, app_id)) = self.console.get() {
            journal.record_delivery(app_id, channel, frame.as_str(), delivered);
        }
        delivered
    }

    fn channel(&self, name: &str) -> Option<Arc<LocalChannel>> {
        read(self.channels.shard(name)).get(name).cloned()
    }

    /// Takes `name`'s membership lock, creating the channel here if needed.
    pub async fn lock_membership(&self, name: &str) -> MembershipGuard {
        loop {
            let channel = {
                let existing = self.channel(name);
                match existing {
                    Some(c) => c,
                    None => {
                        let mut shard = write(self.channels.shard(name));
                        shard
                            .entry(Arc::from(name))
                            .or_insert_with_key(|k| Arc::new(LocalChannel::new(k.clone())))
                            .clone()
                    }
                }
            };
            let in_flight = InFlight::new(&channel);
            let guard = channel.membership.clone().lock_owned().await;
            if !channel.removed.load(Ordering::Acquire) {
                lock(&channel.remote).held = true;
                return MembershipGuard {
                    channel,
                    _guard: guard,
                    _in_flight: in_flight,
                };
            }
        }
    }

    /// Takes the channel out of the registry if nobody here is subscribed any more.
    /// Called with its membership lock held, so no join is under way.
    pub fn release_if_empty(&self, guard: &MembershipGuard) {
        let ch = &guard.channel;
        if !read(&ch.subscribers).is_empty() {
            return;
        }
        let mut shard = write(self.channels.shard(&*ch.name));
        if shard.get(&ch.name).is_some_and(|c| Arc::ptr_eq(c, ch)) {
            shard.remove(&ch.name);
            ch.removed.store(true, Ordering::Release);
        }
    }

    /// Channels with subscribers on this node and their subscriptions, by the label of
    /// their kind ([`channel_label`]), for the metrics.
    pub fn census(&self) -> Vec<(&'static str, usize, usize)> {
        let mut by_kind: Vec<(&'static str, usize, usize)> = Vec::new();
        for shard in self.channels.shards() {
            for (name, channel) in read(shard).iter() {
                let label = channel_label(name);
                let subscribers = read(&channel.subscribers).len();
                match by_kind.iter_mut().find(|(l, _, _)| *l == label) {
                    Some(entry) => {
                        entry.1 += 1;
                        entry.2 += subscribers;
                    }
                    None => by_kind.push((label, 1, subscribers)),
                }
            }
        }
        by_kind
    }

    /// Channels with subscribers on this node.
    #[cfg(test)]
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Records that `socket` is known as `user` (a sign-in or a presence membership).
    /// Returns true when it was not known as them before (the first reason).
    pub fn add_user(&self, user: &Arc<str>, socket: SocketId) -> bool {
        let mut shard = write(self.users.shard(&**user));
        let reasons = shard
            .entry(user.clone())
            .or_default()
            .entry(socket)
            .or_insert(0);
        *reasons += 1;
        *reasons == 1
    }

    /// Undoes one [`Registry::add_user`]. Returns true when `socket` is no longer
    /// known as `user` (that was its last reason).
    pub fn remove_user(&self, user: &str, socket: SocketId) -> bool {
        let mut shard = write(self.users.shard(user));
        let Some(sockets) = shard.get_mut(user) else {
            return false;
        };
        let mut gone = false;
        if let Some(n) = sockets.get_mut(&socket) {
            *n -= 1;
            if *n == 0 {
                sockets.remove(&socket);
                gone = true;
            }
        }
        if sockets.is_empty() {
            shard.remove(user);
        }
        gone
    }

    /// Makes `outbox` a watcher of `users` (its sign-in's watchlist), not told anything
    /// yet.
    pub fn watch(&self, outbox: &Outbox, users: &[Arc<str>]) {
        for user in users {
            write(self.watchers.shard(&**user))
                .entry(user.clone())
                .or_default()
                .insert(
                    outbox.socket_id(),
                    Watcher {
                        outbox: outbox.clone(),
                        told: None,
                    },
                );
        }
    }

    /// Undoes [`Registry::watch`] (the connection closed).
    pub fn unwatch(&self, socket: SocketId, users: &[Arc<str>]) {
        for user in users {
            let mut shard = write(self.watchers.shard(&**user));
            if let Some(watchers) = shard.get_mut(&**user) {
                watchers.remove(&socket);
                if watchers.is_empty() {
                    shard.remove(&**user);
                }
            }
        }
    }

    /// Sends `socket` its initial watchlist status, in one frame: of `users`, each
    /// with whether it is online, those it has not been told of since it began to
    /// watch (a change that came meanwhile is newer than this answer).
    pub fn tell_initial(&self, socket: SocketId, users: &[(Arc<str>, bool)]) {
        let (mut online, mut offline) = (Vec::new(), Vec::new());
        let mut outbox = None;
        for (user, is_online) in users {
            let mut shard = write(self.watchers.shard(&**user));
            let Some(w) = shard.get_mut(&**user).and_then(|w| w.get_mut(&socket)) else {
                continue;
            };
            if w.told.is_none() {
                w.told = Some(*is_online);
                if *is_online {
                    online.push(user.clone());
                } else {
                    offline.push(user.clone());
                }
                outbox.get_or_insert_with(|| w.outbox.clone());
            }
        }
        if let Some(outbox) = outbox {
            outbox.send(crate::protocol::watchlist_events(&online, &offline));
        }
    }

    /// Tells this node's watchers of `user` that it is now online or offline, each
    /// only if that is not what it was last told. Returns how many were told.
    pub fn tell_status(&self, user: &str, online: bool) -> usize {
        let mut to_tell = Vec::new();
        {
            let mut shard = write(self.watchers.shard(user));
            let Some(watchers) = shard.get_mut(user) else {
                return 0;
            };
            for w in watchers.values_mut() {
                if w.told != Some(online) {
                    w.told = Some(online);
                    to_tell.push(w.outbox.clone());
                }
            }
        }
        if to_tell.is_empty() {
            return 0;
        }
        let ids = [user];
        let frame = if online {
            crate::protocol::watchlist_events(&ids, &[])
        } else {
            crate::protocol::watchlist_events(&[], &ids)
        };
        for outbox in &to_tell {
            outbox.send(frame.clone());
        }
        to_tell.len()
    }

    /// One liveness pass over every connection (see [`Outbox::check_liveness`]).
    pub fn sweep(&self, now_ms: u64, ping_ms: u64, pong_ms: u64, write_timeout_ms: u64) {
        for shard in self.connections.shards() {
            for outbox in read(shard).values() {
                outbox.check_liveness(now_ms, ping_ms, pong_ms, write_timeout_ms);
            }
        }
    }

    /// Asks every connection to close with `code` (used at shutdown).
    pub fn close_all(&self, code: ErrorCode, message: &'static str) {
        for shard in self.connections.shards() {
            for outbox in read(shard).values() {
                outbox.close(code, message);
            }
        }
    }
}

impl Inbound for Registry {
    fn deliver(&self, channel: &str, frame: &Utf8Bytes, except: Option<SocketId>) -> usize {
        let delivered = self
            .channel(channel)
            .map_or(0, |c| c.deliver(frame, except));
        self.shown(channel, frame, delivered)
    }

    fn deliver_membership(&self, channel: &str, frame: &Utf8Bytes, version: Version) {
        if let Some(c) = self.channel(channel) {
            c.deliver_remote_membership(frame, version);
        }
    }

    fn deliver_status(&self, user_id: &str, online: bool) {
        self.tell_status(user_id, online);
    }

    fn deliver_history(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        serial: u64,
        epoch: &str,
    ) -> usize {
        let serial_frame = crate::protocol::serial(channel, epoch, serial);
        let s = Serial {
            serial,
            frame: &serial_frame,
        };
        self.deliver_serial(channel, frame, except, &s)
    }

    fn deliver_featured(&self, channel: &str, frame: &Utf8Bytes, feature: u32) -> usize {
        self.channel(channel)
            .map_or(0, |c| c.deliver_featured(frame, feature))
    }

    fn terminate_user(&self, user_id: &str) -> usize {
        let sockets: Vec<SocketId> = read(self.users.shard(user_id))
            .get(user_id)
            .map(|s| s.keys().copied().collect())
            .unwrap_or_default();
        let mut closed = 0;
        for socket in sockets {
            if let Some(outbox) = self.outbox(socket) {
                outbox.close(
                    ErrorCode::Unauthorized,
                    "Connection terminated by the server",
                );
                closed += 1;
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::time::Duration;

    use futures_util::FutureExt;

    use super::*;

    /// A task waiting on `outbox` (its queue empty); resolves with the frames it was
    /// woken for.
    async fn waiting_reader(outbox: &Outbox) -> tokio::task::JoinHandle<usize> {
        let outbox = outbox.clone();
        let reader = tokio::spawn(async move {
            let mut batch = VecDeque::new();
            assert!(outbox.next(&mut batch, &mut 0).await.is_none());
            batch.len()
        });
        // The test runtime has one thread: this runs the reader until it waits.
        tokio::task::yield_now().await;
        reader
    }

    /// `member` subscribed to `presence-a` with its reader waiting, a change holding
    /// the channel's membership lock and another one waiting for it.
    async fn storm<'a>(
        registry: &'a Registry,
        member: &Outbox,
    ) -> (
        MembershipGuard,
        tokio::task::JoinHandle<usize>,
        Pin<Box<impl Future<Output = MembershipGuard> + 'a>>,
    ) {
        let holder = registry.lock_membership("presence-a").await;
        holder.channel.add(member, "succeeded".into(), 0);
        member.take_all();
        let reader = waiting_reader(member).await;
        let mut waiter = Box::pin(registry.lock_membership("presence-a"));
        assert!((&mut waiter).now_or_never().is_none());
        (holder, reader, waiter)
    }

    #[tokio::test]
    async fn remote_changes_wait_for_a_join_and_skip_what_its_member_list_shows() {
        let registry = Registry::default();
        let old = Outbox::new(SocketId::generate(), 64);
        {
            let guard = registry.lock_membership("presence-a").await;
            guard.channel.add(&old, "succeeded old".into(), 10);
        }
        old.take_all();
        // A join is being decided (its member list is at version 20): other nodes'
        // changes 15 and 25 arrive meanwhile.
        let guard = registry.lock_membership("presence-a").await;
        registry.deliver_membership("presence-a", &"change 15".into(), 15);
        registry.deliver_membership("presence-a", &"change 25".into(), 25);
        assert!(
            old.take_all().is_empty(),
            "held back until the join is applied"
        );
        let new = Outbox::new(SocketId::generate(), 64);
        guard.channel.add(&new, "succeeded new".into(), 20);
        drop(guard);
        let texts = |o: &Outbox| {
            o.take_all()
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&old), ["change 15", "change 25"]);
        assert_eq!(texts(&new), ["succeeded new", "change 25"]);
        // With no join under way, a change is delivered at once; a stale one (at or
        // before a subscriber's list) is not.
        registry.deliver_membership("presence-a", &"change 20".into(), 20);
        assert_eq!(texts(&old), ["change 20"]);
        assert!(texts(&new).is_empty());
    }

    #[tokio::test]
    async fn deferred_wakes_are_sent_when_the_last_waiting_change_is_done() {
        let registry = Registry::default();
        let member = Outbox::new(SocketId::generate(), 64);
        // A second change waits for the lock: the first one's frame is queued but
        // its wake-up deferred. That waiter is then cancelled, which must not lose it.
        let (holder, reader, waiter) = storm(&registry, &member).await;
        holder
            .channel
            .deliver_membership(&"member_added".into(), None, 1);
        drop(holder);
        drop(waiter);

        let got = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(got, 1);
    }

    #[tokio::test]
    async fn a_long_storm_wakes_every_max_deferred_changes() {
        let registry = Registry::default();
        let member = Outbox::new(SocketId::generate(), 4 * MAX_DEFERRED_CHANGES);
        let (holder, reader, waiter) = storm(&registry, &member).await;
        for _ in 0..MAX_DEFERRED_CHANGES {
            holder
                .channel
                .deliver_membership(&"member_added".into(), None, 1);
        }
        // Still held and still waited for: only the bound sent the wake-up.
        let got = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("woken at the bound")
            .unwrap();
        assert!(got >= 1);
        drop((holder, waiter));
    }
}
