//! Where cluster decisions are made: the [`Backend`] seam.
//!
//! A node's protocol code never decides from local state what a cluster must decide.
//! It asks its app's backend: whether a join occupies the channel or adds a presence
//! member (and who the members are), whether a leave vacates it or removes the member,
//! what the channel and user queries answer, what a cache channel keeps. Events are
//! delivered locally by the app service and *also* handed to [`Backend::broadcast`] for
//! the other nodes, whose backends feed them to their node's [`Inbound`].
//!
//! [`local::LocalBackend`] is the single-node backend; [`redis::RedisBackend`] makes the
//! nodes of one deployment a single server. Both pass the same conformance suite
//! (`conformance`).
//!
//! Methods that a remote store needs a round trip for return futures; the rest
//! (broadcast, connection counts, cache stores) are fire-and-forget so that publishing
//! never waits on the network.

pub(crate) mod delivery_ring;
pub(crate) mod local;
pub(crate) mod redis;
pub(crate) mod user_book;

#[cfg(test)]
pub(crate) mod conformance;

use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::identity::PresenceMember;
use crate::protocol::socket_id::SocketId;
use crate::views::{ChannelInfo, DeliveryRecord, Member, OnlineUsers, UserStatus};

/// The backend could not decide or answer (unreachable, timed out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BackendError(pub String);

/// Which broadcast [`Backend::confirm`] waits for (`Receipt::default()`: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Receipt(pub u64);

/// What a join decided.
#[derive(Clone, Debug, Default)]
pub(crate) struct Joined {
    /// False when the socket was already subscribed (a repeated subscribe is answered
    /// again, membership unchanged).
    pub new_subscription: bool,
    /// The channel had no subscriber anywhere before.
    pub channel_occupied: bool,
    /// Presence: this is the user's first connection in the channel anywhere.
    pub member_added: bool,
    /// Presence: every member, this one included, for `subscription_succeeded`, in no
    /// particular order.
    pub members: Option<Vec<Member>>,
    /// Presence: the [`Version`] of the app's memberships that `members` shows, and of
    /// this join's `member_added`.
    pub version: Version,
    /// The channel's subscriptions anywhere, after this join.
    pub subscriptions: usize,
}

/// Orders an app's presence changes (joins that take a member list, `member_added`,
/// `member_removed`) cluster-wide, in the order they were decided. A subscriber whose
/// member list showed version v is sent only the changes decided after v: a change
/// that reaches a node late, after a member list that already includes it, is not
/// told twice. Zero outside presence.
pub(crate) type Version = u64;

/// Why a join was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// The presence channel has `max_presence_members` distinct users already.
    MemberLimit,
    // Only backends that can fail (a remote store) construct it.
    #[allow(dead_code)]
    Unavailable(BackendError),
}

/// What a leave decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Left {
    /// The socket was subscribed (a leave of a channel never joined decides nothing).
    pub was_subscribed: bool,
    /// The channel has no subscriber anywhere now.
    pub channel_vacated: bool,
    /// Presence: that was the user's last connection in the channel anywhere.
    pub member_removed: bool,
    /// Presence: the [`Version`] of this leave's `member_removed`.
    pub version: Version,
    /// The channel's subscriptions anywhere, after this leave.
    pub subscriptions: usize,
}

/// A membership change that no join or leave of this node's sessions made, for the
/// app service to announce to this node's subscribers, the other nodes and the
/// lifecycle stream: the removal of a vanished node's entries (found by its lease
/// running out) or of this node's leftovers at its goodbye; a leave that Redis could
/// not be told of, settled when it answers again; this node's subscriptions restored
/// after the cluster had removed them. Each is handed to exactly one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClusterChange {
    pub channel: String,
    pub member_added: Option<AddedMember>,
    pub member_removed: Option<String>,
    pub channel_occupied: bool,
    pub channel_vacated: bool,
    /// The [`Version`] of its `member_added` or `member_removed`.
    pub version: Version,
    /// Not a channel's change but a user's: came online (true; their connections were
    /// restored) or went offline (their last connections were on a vanished node).
    pub status: Option<(String, bool)>,
}

/// A presence member a [`ClusterChange`] adds back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddedMember {
    pub user_id: String,
    /// The `user_info` JSON, empty when there is none.
    pub user_info: String,
}

/// What one node does with what the cluster sends it. Implemented by the app's local
/// registry; must not block (it only queues frames and close requests).
pub(crate) trait Inbound: Send + Sync + 'static {
    /// Queues `frame` for this node's subscribers of `channel`, except `except`.
    fn deliver(&self, channel: &str, frame: &Utf8Bytes, except: Option<SocketId>) -> usize;
    /// Queues another node's `member_added` / `member_removed` for this node's
    /// subscribers of `channel` whose member list predates `version`.
    fn deliver_membership(&self, channel: &str, frame: &Utf8Bytes, version: Version);
    /// Closes (4009) this node's connections signed in as, or present as, `user_id`.
    fn terminate_user(&self, user_id: &str) -> usize;
    /// Tells this node's watchers of `user_id` that the user came online or went
    /// offline (each is told a status only when it differs from the last one told).
    fn deliver_status(&self, user_id: &str, online: bool);
    /// Queues `frame` for this node's subscribers of `channel` that enabled the
    /// pushbus feature `feature`.
    fn deliver_featured(&self, channel: &str, frame: &Utf8Bytes, feature: u32) -> usize;
    /// Queues a history channel's event, serial `serial` of `epoch` (given by the
    /// cluster), for this node's subscribers of `channel` except `except`.
    fn deliver_history(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        serial: u64,
        epoch: &str,
    ) -> usize;
}

/// A history channel's kept events as a shared store answers (see
/// [`Backend::history_read`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct HistoryRead {
    /// Empty when the channel has no history (yet, or any more).
    pub epoch: String,
    pub last: u64,
    /// (serial, time ms, frame), oldest first.
    pub events: Vec<(u64, u64, Utf8Bytes)>,
}

/// The cluster decisions of one app. Every method may be called from any thread and
/// concurrently; joins and leaves of one channel arrive from this node one at a time
/// (the app service serialises them per channel), in the order it decided them.
pub(crate) trait Backend: Send + Sync + 'static {
    /// A connection opened on this node (for cluster-wide connection counts).
    fn connection_opened(&self, socket: SocketId);
    /// A connection of this node closed, after it left all its channels.
    fn connection_closed(&self, socket: SocketId);

    /// Joins `socket` to `channel`, as `member` on presence channels, refusing a new
    /// user beyond `member_limit`.
    fn join<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        member: Option<&'a PresenceMember>,
        member_limit: usize,
    ) -> BoxFuture<'a, Result<Joined, JoinError>>;

    /// Removes `socket` from `channel` (as presence user `user`).
    fn leave<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        user: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Left, BackendError>>;

    /// Sends `frame` to the subscribers of `channel` on the *other* nodes (this node's
    /// were served by the caller). Never blocks; an error means the other nodes will
    /// not get it, and the caller reports that. The receipt tells [`Backend::confirm`]
    /// which send to wait for.
    fn broadcast(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
    ) -> Result<Receipt, BackendError>;

    /// Sends a `member_added` / `member_removed` of `channel` decided at `version` to
    /// the other nodes, like [`Backend::broadcast`].
    fn broadcast_membership(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        version: Version,
    ) -> Result<Receipt, BackendError>;

    /// Waits until the broadcast of `receipt` (and every one before it) has reached
    /// the cluster, or fails saying it did not: for callers that can wait and must not
    /// claim a delivery that did not happen (the HTTP API).
    fn confirm(&self, _receipt: Receipt) -> BoxFuture<'_, Result<(), BackendError>> {
        futures_util::future::ready(Ok(())).boxed()
    }

    /// Occupied channels whose name starts with `prefix`, sorted by name.
    fn channels<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChannelInfo>, BackendError>>;
    /// One channel, occupied or not.
    fn channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ChannelInfo, BackendError>>;
    /// Presence members of `channel`, sorted by user id (empty when unoccupied).
    fn members<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<Member>, BackendError>>;
    /// Live connections of the app, cluster-wide.
    fn connection_count(&self) -> BoxFuture<'_, Result<usize, BackendError>>;
    /// Whether other nodes share this backend.
    fn spans_nodes(&self) -> bool {
        false
    }
    /// Whether the backend can reach what it shares with the other nodes (a single
    /// node always can).
    fn reachable(&self) -> bool {
        true
    }
    /// Figures for the metrics: the shared store's state and this node's part.
    fn figures(&self) -> BackendFigures;
    /// With several nodes: the webhook events (occupied, vacated, member added and
    /// removed) of the channels this node sends the webhooks of, whichever node decided
    /// them, in the cluster's decision order; taken once. `None` for a single node,
    /// whose own lifecycle events are all of them.
    fn take_webhook_feed(&self) -> Option<mpsc::Receiver<crate::lifecycle::LifecycleEvent>> {
        None
    }
    /// Live connections of the app on the other nodes, for a cluster-wide connection
    /// quota; none for a single node.
    fn other_nodes_connections(&self) -> BoxFuture<'_, Result<usize, BackendError>> {
        futures_util::future::ready(Ok(0)).boxed()
    }
    /// Closes the user's connections on every node; returns how many on this one.
    fn terminate_user<'a>(&'a self, user_id: &'a str)
        -> BoxFuture<'a, Result<usize, BackendError>>;

    /// Keeps `frame` as the last event of cache channel `channel`.
    fn store_last(&self, channel: &str, frame: &Utf8Bytes);
    /// The last event of cache channel `channel`, if still kept.
    fn last<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<Option<Utf8Bytes>, BackendError>>;

    /// `socket` (of this node) is now known as `user`: signed in as them, or a member
    /// of a presence channel as them, and it was neither before. `info` is its
    /// `user_info`. Resolves to whether that made the user online cluster-wide. Taken
    /// in when called, not when polled (the future borrows nothing), so one node's
    /// changes of a user apply in the order it made them.
    fn user_connected(
        &self,
        user: &str,
        socket: SocketId,
        info: Option<&RawValue>,
    ) -> BoxFuture<'static, Result<bool, BackendError>>;
    /// `socket` is no longer known as `user` (its last sign-in or membership as them
    /// ended). Resolves, when that made the user offline cluster-wide, to the
    /// `last_seen` it recorded (which a later offline of the same user replaces).
    /// Taken in when called, like [`Backend::user_connected`].
    fn user_disconnected(
        &self,
        user: &str,
        socket: SocketId,
    ) -> BoxFuture<'static, Result<Option<u64>, BackendError>>;
    /// Whether each of `users` is online, in their order.
    fn users_online<'a>(
        &'a self,
        users: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BackendError>>;
    /// One user's status.
    fn user_status<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<UserStatus, BackendError>>;
    /// Online users with an id after `after`, sorted by id, at most `limit`.
    fn online_users<'a>(
        &'a self,
        after: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<OnlineUsers, BackendError>>;
    /// Sets (or, with `None`, clears) the location of an online user; it is forgotten
    /// when they go offline. Returns whether the user was online.
    fn set_location<'a>(
        &'a self,
        user: &'a str,
        location: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;
    /// Sends `frame` to the subscribers of `channel` on the other nodes that enabled
    /// `feature`, like [`Backend::broadcast`].
    fn broadcast_featured(
        &self,
        _channel: &str,
        _frame: &Utf8Bytes,
        _feature: u32,
    ) -> Result<(), BackendError> {
        Ok(())
    }
    /// Tells the other nodes' watchers that `user` came online or went offline, like
    /// [`Backend::broadcast`].
    fn broadcast_status(&self, user: &str, online: bool) -> Result<(), BackendError>;

    /// Whether channel histories live in the backend, shared by the nodes (then
    /// history events go through [`Backend::publish_history`], and every node delivers
    /// them as the backend orders them).
    fn shares_history(&self) -> bool {
        false
    }
    /// Gives a history channel's event its serial, keeps it (at most `events`, for
    /// `ttl_ms`) and has every node deliver it, this one included, without waiting.
    fn publish_history(
        &self,
        _channel: &str,
        _frame: &Utf8Bytes,
        _except: Option<SocketId>,
        _log_id: Option<&str>,
        _events: usize,
        _ttl_ms: u64,
    ) -> Result<Receipt, BackendError> {
        Err(BackendError("this backend keeps no channel history".into()))
    }
    /// A shared history's kept events younger than `ttl_ms`, after this node's
    /// earlier writes.
    fn history_read<'a>(
        &'a self,
        _channel: &'a str,
        _ttl_ms: u64,
    ) -> BoxFuture<'a, Result<HistoryRead, BackendError>> {
        futures_util::future::ready(Err(BackendError(
            "this backend keeps no channel history".into(),
        )))
        .boxed()
    }

    /// A new id for a delivery-log record, unique within the app.
    fn next_log_id(&self) -> Arc<str>;
    /// Keeps `record` (this node's deliveries counted in it) in the delivery log,
    /// without waiting.
    fn log_delivery(&self, record: &DeliveryRecord);
    /// [`Backend::broadcast`] of an event logged as record `log_id`: the other nodes
    /// count their deliveries of it into the record.
    fn broadcast_logged(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        _log_id: &str,
    ) -> Result<Receipt, BackendError> {
        self.broadcast(channel, frame, except)
    }
    /// The newest records of the delivery log, newest first, at most `limit`.
    fn delivery_log(
        &self,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, BackendError>>;

    /// Periodic upkeep (purging expired entries, leases), run by the server's sweep.
    fn maintain(&self);

    /// Removals of vanished nodes that this node decided, for the app service to
    /// announce (taken once; a single node has none).
    fn changes(&self) -> Option<mpsc::Receiver<ClusterChange>> {
        None
    }

    /// Leaves the cluster at shutdown, after this node's connections closed: removes
    /// what is left of its entries at once (rather than when its lease runs out) and
    /// returns what that changed, for the caller to announce.
    fn goodbye(&self) -> BoxFuture<'_, Vec<ClusterChange>> {
        futures_util::future::ready(Vec::new()).boxed()
    }
}

/// What [`Backend::figures`] reports, read at each metrics scrape.
#[derive(Clone, Debug, Default)]
pub(crate) struct BackendFigures {
    /// Presence members with a connection on this node (a user connected to a channel
    /// on two nodes counts on both).
    pub local_members: usize,
    /// Bytes the cache channels keep on this node (0 when kept in Redis).
    pub cache_bytes: usize,
    /// Redis only: the last round trip of the lease renewal's PING, if one answered.
    pub redis_rtt: Option<std::time::Duration>,
    /// Redis only: writes waiting for the ordered writer, and writes dropped since the
    /// start (a full queue).
    pub queued_writes: u64,
    pub dropped_writes: u64,
}

/// How a backend reaches its node; given at construction.
pub(crate) type SharedInbound = Arc<dyn Inbound>;
