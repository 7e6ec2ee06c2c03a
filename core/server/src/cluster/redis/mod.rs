//! The Redis backend: cluster decisions made in Redis, shared by every node of one
//! deployment, selected when the config has a `cluster` (Reverb's `REVERB_SCALING_ENABLED`).
//!
//! Keys, all under `{prefix}:{app id}:` so that deployments and apps sharing a Redis
//! never meet:
//! - `ch:{channel}:subs` — hash, socket id → node id: who is subscribed, anywhere;
//! - `ch:{channel}:members` — hash, user id → connections of that user in the channel;
//! - `ch:{channel}:info` — hash, user id → `user_info` of the user's first connection
//!   (empty when none);
//! - `channels` — sorted set of occupied channel names (score 0: ordered by name, so
//!   a prefix query is one `ZRANGEBYLEX`);
//! - `node:{node}:subs` — set of `channel\nsocket\nuser` this node added, for removing
//!   a dead node's entries;
//! - `conns` — hash, node id → live connections of that node;
//! - `nodes` — sorted set, node id → end of its lease (Redis's clock, ms): each node
//!   renews its own every third of the lease, and any node removes the entries of a
//!   node whose lease ran out (one script, so each removal is decided once);
//! - `cache:{channel}` — the last event of a cache channel, expiring with its TTL;
//! - `version` — the last [`Version`](crate::cluster::Version) given to a presence
//!   change: every join that lists members and every `member_added`/`member_removed`
//!   takes the next one in its script, so each node can tell which changes a member
//!   list already shows;
//! - `bus` — the pub/sub channel of the app: every node publishes its events there
//!   (one `PUBLISH` per event, whatever the number of subscribers) and delivers what
//!   the other nodes publish to its own subscribers;
//! - `hooks` — pub/sub, for apps with webhooks: the webhook events the scripts decide,
//!   each with the node that sends it (see [`bus::HookReceiver`]).
//!
//! A join or leave is one Lua script, so "first connection of this user", "channel
//! now occupied" and the member limit are decided once, atomically, cluster-wide.
//! Writes that nobody waits for (connection counts, cache stores) go through one
//! queue, in order, so that they are applied in the order this node made them.
//!
//! One file per part: [`scripts`] (the Lua decisions and key names), [`bus`] (events
//! between nodes), [`writer`] (ordered writes), [`lease`] (node leases, removal of
//! vanished nodes, re-registration).

mod bus;
mod lease;
mod ledger;
mod scripts;
mod users;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Script, Value};
use futures_util::future::{BoxFuture, FutureExt};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{
    Backend, BackendError, ClusterChange, JoinError, Joined, Left, Receipt, SharedInbound, Version,
};
use crate::config::{AppConfig, ClusterConfig};
use crate::protocol::frames::event_data;
use crate::protocol::identity::PresenceMember;
use crate::protocol::names::{channel_type, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::views::{CachedEvent, ChannelInfo, DeliveryRecord, Member, OnlineUsers, UserStatus};
use bus::{deliver_bus_message, envelope, logged_envelope, membership_envelope, HookReceiver};
use lease::{remove_nodes, LeaseKeeper};
use ledger::{Entry, Ledger, Unrecorded};
use scripts::{
    join_call, leave_call, Keys, LastSeenBounds, HEARTBEAT, HISTORY_ADD, JOIN, LEAVE, LOG_ADD,
    LOG_COUNT, REAP, USER_OFF, USER_ON,
};
use writer::{write_in_order, Applied, Write, WriterScripts, MAX_QUEUED_WRITES};

/// Other nodes' delivery counts of logged events queued for Redis at most; past it they
/// are dropped and counted (the log then shows fewer deliveries).
const MAX_QUEUED_COUNTS: usize = 65_536;

/// Adds other nodes' delivery counts to the delivery log's records, as many per round
/// trip as have queued.
async fn count_deliveries(
    mut conn: ConnectionManager,
    keys: Arc<Keys>,
    mut counted: mpsc::Receiver<(Arc<str>, usize)>,
) {
    let script = Script::new(LOG_COUNT);
    let mut batch = Vec::with_capacity(256);
    while counted.recv_many(&mut batch, 256).await > 0 {
        let mut pipe = ::redis::pipe();
        pipe.load_script(&script).ignore();
        for (id, n) in batch.drain(..) {
            let mut call = script.prepare_invoke();
            call.key(keys.delivery_counts()).arg(&*id).arg(n);
            pipe.invoke_script(&call).ignore();
        }
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async::<()>(&mut conn)).await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::warn!("Redis backend: delivery counts not recorded (Redis unreachable)");
        }
    }
}

/// How long one Redis command may take before the backend reports it unavailable.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Membership changes found by the lease keeper (vanished nodes, settled leaves,
/// re-registrations) queued for the app service at most; past it they are dropped,
/// counted and logged.
const MAX_QUEUED_CHANGES: usize = 65_536;

pub(crate) struct RedisBackend {
    conn: ConnectionManager,
    /// Kept so that the bus subscription lives as long as the backend.
    _bus: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    inbound: SharedInbound,
    join: Script,
    leave: Script,
    writes: mpsc::Sender<(u64, Write)>,
    /// Writes queued so far, and applied so far (by the writer task): a query waits
    /// until this node's own earlier writes are applied.
    queued: AtomicU64,
    queue_order: std::sync::Mutex<()>,
    applied: Arc<Applied>,
    dropped_writes: Arc<AtomicU64>,
    ledger: Arc<Ledger>,
    /// Changes this node must announce (see [`ClusterChange`]), until the service
    /// takes them.
    changes: std::sync::Mutex<Option<mpsc::Receiver<ClusterChange>>>,
    /// The lease keeper: dropping the sender stops it (so does dropping the backend,
    /// without a goodbye, as a crash would).
    lease_keeper: std::sync::Mutex<Option<(tokio::sync::watch::Sender<()>, JoinHandle<()>)>>,
    reap: Script,
    /// The app's webhook events are published by the scripts (it has webhooks, or an
    /// embedder asked for the webhook-grade stream).
    webhooks: bool,
    /// The webhook events of the channels this node owns, until the webhook
    /// dispatcher takes them (see [`bus::HookReceiver`]).
    hook_feed: std::sync::Mutex<Option<mpsc::Receiver<crate::lifecycle::LifecycleEvent>>>,
    /// How long and how many `last_seen` entries are kept.
    last_seen: LastSeenBounds,
    /// The last delivery-log id given (after the node id: unique cluster-wide).
    log_id: AtomicU64,
    /// Other nodes' delivery counts dropped (a full queue), since the start.
    dropped_counts: Arc<AtomicU64>,
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> BackendError {
    BackendError(format!("Redis: {e}"))
}

impl RedisBackend {
    /// Connects to the cluster's Redis as a new node of app `app_id`. Must run inside
    /// a tokio runtime (the writer task is spawned on it).
    pub async fn connect(
        cluster: &ClusterConfig,
        node: Arc<str>,
        app: &AppConfig,
        webhooks: bool,
        inbound: SharedInbound,
    ) -> Result<RedisBackend, BackendError> {
        let app_id = app.id.as_str();
        let cache_ttl = Duration::from_secs(app.cache_ttl);
        let users = &app.user_status;
        let last_seen = LastSeenBounds {
            ttl_ms: users.last_seen_ttl.saturating_mul(1000).max(1),
            max: users.last_seen_max.max(1),
        };
        let client = ::redis::Client::open(cluster.redis_url.as_str()).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(1))
            // Fail fast while Redis is away (the next command tries again), rather
            // than hold every command through seconds of backoff and have publishes
            // look sent meanwhile.
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        let keys = Arc::new(Keys {
            base: format!("{}:{app_id}", cluster.prefix),
        });

        // The bus: a connection of its own (RESP3, so that messages arrive as pushes),
        // subscribed again by the client crate whenever it reconnects; each message is
        // delivered as the connection reads it.
        let (bus_node, bus_inbound) = (node.clone(), inbound.clone());
        let (counts, counted) = mpsc::channel(MAX_QUEUED_COUNTS);
        let dropped_counts = Arc::new(AtomicU64::new(0));
        let dropped = dropped_counts.clone();
        let (hooks_tx, hooks_rx) = mpsc::channel(MAX_QUEUED_CHANGES);
        let hooks = HookReceiver {
            node: node.clone(),
            app_id: app_id.into(),
            channel: keys.hooks(),
            feed: hooks_tx,
            dropped: AtomicU64::new(0),
        };
        let push = move |push: ::redis::PushInfo| {
            if push.kind == ::redis::PushKind::Message {
                if let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (push.data.first(), push.data.get(1))
                {
                    if channel.as_slice() == hooks.channel.as_bytes() {
                        hooks.take(payload);
                    } else {
                        let logged = deliver_bus_message(&bus_node, &*bus_inbound, payload);
                        if let Some((id, n)) = logged.filter(|(_, n)| *n > 0) {
                            if counts.try_send((Arc::<str>::from(id), n)).is_err() {
                                let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
                                if n.is_power_of_two() {
                                    tracing::warn!(
                                        "Redis backend: {n} delivery counts dropped (Redis is behind)"
                                    );
                                }
                            }
                        }
                    }
                }
            }
            Ok::<(), ::redis::aio::SendError>(())
        };
        let info = ::redis::IntoConnectionInfo::into_connection_info(cluster.redis_url.as_str())
            .map_err(unavailable)?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(::redis::ProtocolVersion::RESP3);
        let bus_client =
            ::redis::Client::open(info.set_redis_settings(settings)).map_err(unavailable)?;
        let bus_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(1)
            .set_push_sender(push)
            .set_automatic_resubscription();
        let mut bus = ConnectionManager::new_with_config(bus_client, bus_config)
            .await
            .map_err(unavailable)?;
        bus.subscribe(keys.bus()).await.map_err(unavailable)?;
        if webhooks {
            bus.subscribe(keys.hooks()).await.map_err(unavailable)?;
        }

        let lease = Duration::from_secs_f64(cluster.node_lease.max(0.1));
        let (alive, alive_rx) = tokio::sync::watch::channel(());
        let (changed, changes) = mpsc::channel(MAX_QUEUED_CHANGES);
        let applied = Arc::new(Applied::default());
        let ledger = Arc::new(Ledger::default());
        let lease_keeper = LeaseKeeper {
            bus: bus.clone(),
            ledger: ledger.clone(),
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            conn: conn.clone(),
            keys: keys.clone(),
            node: node.clone(),
            lease,
            changed,
            applied: applied.clone(),
            heartbeat: Script::new(HEARTBEAT),
            reap: Script::new(REAP),
            user_on: Script::new(USER_ON),
            user_off: Script::new(USER_OFF),
            last_seen,
            webhooks,
        };
        lease_keeper.beat().await.map_err(unavailable)?;
        let lease_task = tokio::spawn(lease_keeper.run(alive_rx));

        let (writes, queue) = mpsc::channel(MAX_QUEUED_WRITES);
        let dropped_writes = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_in_order(
            conn.clone(),
            keys.clone(),
            node.clone(),
            cache_ttl,
            queue,
            applied.clone(),
            ledger.clone(),
            WriterScripts {
                on: Script::new(USER_ON),
                off: Script::new(USER_OFF),
                last_seen,
                log_add: Script::new(LOG_ADD),
                history_add: Script::new(HISTORY_ADD),
                history_max_bytes: app.history_max_bytes,
                log_size: app.delivery_log.size,
            },
        ));
        tokio::spawn(count_deliveries(conn.clone(), keys.clone(), counted));
        Ok(RedisBackend {
            conn,
            _bus: bus,
            keys,
            node,
            inbound,
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            writes,
            queued: AtomicU64::new(0),
            queue_order: std::sync::Mutex::new(()),
            applied,
            dropped_writes,
            ledger,
            changes: std::sync::Mutex::new(Some(changes)),
            lease_keeper: std::sync::Mutex::new(Some((alive, lease_task))),
            reap: Script::new(REAP),
            webhooks,
            hook_feed: std::sync::Mutex::new(Some(hooks_rx)),
            last_seen,
            log_id: AtomicU64::new(0),
            dropped_counts,
        })
    }

    #[cfg(test)]
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// A new node id: random, so that a restarted node is a new node.
    pub fn new_node_id() -> Arc<str> {
        format!("{:016x}", rand::random::<u64>()).into()
    }

    /// Queues `write` for the writer; returns its number, or `None` when the queue is
    /// full (the write is dropped, counted and logged).
    fn queue(&self, write: Write) -> Option<u64> {
        // Numbers follow queue order: both change together, under one short lock.
        let _order = crate::shards::lock(&self.queue_order);
        let n = self.queued.load(Ordering::Acquire) + 1;
        if self.writes.try_send((n, write)).is_ok() {
            self.queued.store(n, Ordering::Release);
            Some(n)
        } else {
            let n = self.dropped_writes.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!("Redis backend: write queue full or closed, {n} writes dropped so far");
            None
        }
    }

    /// Waits until write `n` is applied; an error when it failed or took too long.
    async fn applied(&self, n: u64) -> Result<(), BackendError> {
        tokio::time::timeout(COMMAND_TIMEOUT * 2, async {
            loop {
                let notified = self.applied.notify.notified();
                if self.applied.count.load(Ordering::Acquire) >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .map_err(|_| unavailable("queued writes not applied in time"))?;
        if self.applied.failed(n) {
            return Err(unavailable("the write did not reach Redis"));
        }
        Ok(())
    }

    /// Waits until every write this node queued before now is applied (whether it
    /// succeeded or not: queries want this node's own writes first).
    async fn flushed(&self) -> Result<(), BackendError> {
        let n = self.queued.load(Ordering::Acquire);
        match self.applied(n).await {
            Err(e) if !self.applied.failed(n) => Err(e),
            _ => Ok(()),
        }
    }

    async fn info(&self, name: &str) -> Result<ChannelInfo, BackendError> {
        let t = channel_type(name);
        let mut conn = self.conn.clone();
        let mut pipe = ::redis::pipe();
        pipe.hlen(self.keys.channel(name, "subs"))
            .hlen(self.keys.channel(name, "members"))
            .get(self.keys.cache(name))
            .pttl(self.keys.cache(name));
        let (subs, members, kept, pttl): (usize, usize, Option<String>, i64) =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let cache = if t.cache {
            kept.and_then(|frame| {
                event_data(&frame).map(|data| CachedEvent {
                    data: data.into(),
                    ttl: (pttl.max(0) as u64).div_ceil(1000),
                })
            })
        } else {
            None
        };
        Ok(ChannelInfo {
            name: name.into(),
            occupied: subs > 0,
            subscription_count: subs,
            user_count: (t.kind == ChannelKind::Presence).then_some(members),
            cache,
        })
    }
}

/// Members from `HGETALL` of an info hash (user id, info, user id, info …).
fn members_from(flat: &[Value]) -> Vec<Member> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    flat.chunks(2)
        .filter_map(|pair| {
            let id = text(pair.first()?)?;
            let info = text(pair.get(1)?)?;
            let info = (!info.is_empty())
                .then(|| RawValue::from_string(info).ok().map(Arc::from))
                .flatten();
            Some(Member {
                id: id.into(),
                info,
            })
        })
        .collect()
}

pub(super) fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

impl Backend for RedisBackend {
    fn connection_opened(&self, _socket: SocketId) {
        self.ledger.connection_opened();
        self.queue(Write::Connections);
    }

    fn connection_closed(&self, _socket: SocketId) {
        self.ledger.connection_closed();
        self.queue(Write::Connections);
    }

    fn join<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        member: Option<&'a PresenceMember>,
        member_limit: usize,
    ) -> BoxFuture<'a, Result<Joined, JoinError>> {
        async move {
            let presence = channel_type(channel).kind == ChannelKind::Presence;
            let (user, info) = match member {
                Some(m) => (&*m.user_id, m.user_info.as_deref().map_or("", |i| i.get())),
                None => ("", ""),
            };
            let _gate = self.ledger.gate.read().await;
            let mut conn = self.conn.clone();
            let reply: Vec<Value> = join_call(
                &self.join,
                &self.keys,
                &self.node,
                channel,
                socket,
                user,
                info,
                member_limit,
                presence,
                self.webhooks,
            )
            .invoke_async(&mut conn)
            .await
            .map_err(|e| JoinError::Unavailable(unavailable(e)))?;
            if int(reply.first()) == -1 {
                return Err(JoinError::MemberLimit);
            }
            let members = match reply.get(3) {
                Some(Value::Array(flat)) if presence => Some(members_from(flat)),
                _ if presence => Some(Vec::new()),
                _ => None,
            };
            self.ledger.joined(
                channel,
                socket,
                Entry {
                    user: user.into(),
                    info: info.into(),
                },
            );
            Ok(Joined {
                new_subscription: int(reply.first()) == 1,
                channel_occupied: int(reply.get(1)) == 1,
                member_added: int(reply.get(2)) == 1,
                members,
                version: int(reply.get(4)).max(0) as u64,
                subscriptions: int(reply.get(5)).max(0) as usize,
            })
        }
        .boxed()
    }

    fn leave<'a>(
        &'a self,
        channel: &'a str,
        socket: SocketId,
        user: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Left, BackendError>> {
        async move {
            let _gate = self.ledger.gate.read().await;
            self.ledger.left(channel, socket);
            let user = user.unwrap_or("");
            let mut conn = self.conn.clone();
            let reply: Vec<i64> = match leave_call(
                &self.leave,
                &self.keys,
                &self.node,
                channel,
                socket,
                user,
                false,
                self.webhooks,
            )
            .invoke_async(&mut conn)
            .await
            {
                Ok(reply) => reply,
                Err(e) => {
                    // Settled by the lease keeper once Redis answers again.
                    self.ledger.unrecorded(Unrecorded {
                        channel: channel.into(),
                        socket,
                        user: user.into(),
                    });
                    return Err(unavailable(e));
                }
            };
            Ok(Left {
                was_subscribed: reply.first() == Some(&1),
                channel_vacated: reply.get(1) == Some(&1),
                member_removed: reply.get(2) == Some(&1),
                version: reply.get(3).map_or(0, |&v| v.max(0) as u64),
                subscriptions: reply.get(4).map_or(0, |&v| v.max(0) as usize),
            })
        }
        .boxed()
    }

    fn broadcast(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
    ) -> Result<Receipt, BackendError> {
        if !self.applied.reachable.load(Ordering::Acquire) {
            return Err(unavailable(
                "unreachable since the last write; the other nodes did not get this event",
            ));
        }
        // Through the ordered writer, so the other nodes get this node's events in
        // the order it published them.
        self.queue(Write::Publish(envelope(
            &self.node, 'D', channel, except, frame,
        )))
        .map(Receipt)
        .ok_or_else(|| {
            unavailable("too many writes queued; the other nodes did not get this event")
        })
    }

    fn broadcast_membership(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        version: Version,
    ) -> Result<Receipt, BackendError> {
        if !self.applied.reachable.load(Ordering::Acquire) {
            return Err(unavailable("unreachable since the last write"));
        }
        self.queue(Write::Publish(membership_envelope(
            &self.node, channel, version, frame,
        )))
        .map(Receipt)
        .ok_or_else(|| unavailable("too many writes queued"))
    }

    fn confirm(&self, receipt: Receipt) -> BoxFuture<'_, Result<(), BackendError>> {
        self.applied(receipt.0).boxed()
    }

    fn channels<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ChannelInfo>, BackendError>> {
        async move {
            let mut conn = self.conn.clone();
            let (min, max) = if prefix.is_empty() {
                ("-".to_string(), "+".to_string())
            } else {
                (format!("[{prefix}"), format!("[{prefix}\u{10FFFF}"))
            };
            let names: Vec<String> = ::redis::cmd("ZRANGEBYLEX")
                .arg(self.keys.channels())
                .arg(min)
                .arg(max)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let mut out = Vec::with_capacity(names.len());
            for name in names.iter().filter(|n| n.starts_with(prefix)) {
                out.push(self.info(name).await?);
            }
            Ok(out)
        }
        .boxed()
    }

    fn channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ChannelInfo, BackendError>> {
        self.info(name).boxed()
    }

    fn members<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<Member>, BackendError>> {
        async move {
            let mut conn = self.conn.clone();
            let reply: Value = ::redis::cmd("HGETALL")
                .arg(self.keys.channel(channel, "info"))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let flat = match reply {
                // RESP3 answers a hash as a map, RESP2 as a flat array.
                Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                Value::Array(flat) => flat,
                _ => Vec::new(),
            };
            let mut members = members_from(&flat);
            members.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(members)
        }
        .boxed()
    }

    fn connection_count(&self) -> BoxFuture<'_, Result<usize, BackendError>> {
        async move {
            let mut conn = self.conn.clone();
            // This node's own opens and closes first.
            self.flushed().await?;
            let counts: Vec<i64> = ::redis::cmd("HVALS")
                .arg(self.keys.conns())
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(counts.iter().map(|&n| n.max(0) as usize).sum())
        }
        .boxed()
    }

    fn spans_nodes(&self) -> bool {
        true
    }

    fn reachable(&self) -> bool {
        self.applied.reachable.load(Ordering::Acquire)
    }

    fn figures(&self) -> super::BackendFigures {
        let mut members = std::collections::HashSet::new();
        for (channel, _socket, entry) in self.ledger.subscriptions() {
            if !entry.user.is_empty() {
                members.insert((channel, entry.user));
            }
        }
        let rtt = self.applied.rtt_us.load(Ordering::Relaxed);
        let queued = self.queued.load(Ordering::Acquire);
        let applied = self.applied.count.load(Ordering::Acquire);
        super::BackendFigures {
            local_members: members.len(),
            cache_bytes: 0,
            redis_rtt: (rtt != 0).then(|| Duration::from_micros(rtt)),
            queued_writes: queued.saturating_sub(applied),
            // Other nodes' delivery counts are writes to Redis too.
            dropped_writes: self.dropped_writes.load(Ordering::Relaxed)
                + self.dropped_counts.load(Ordering::Relaxed),
        }
    }

    fn take_webhook_feed(&self) -> Option<mpsc::Receiver<crate::lifecycle::LifecycleEvent>> {
        crate::shards::lock(&self.hook_feed).take()
    }

    fn other_nodes_connections(&self) -> BoxFuture<'_, Result<usize, BackendError>> {
        async move {
            let mut conn = self.conn.clone();
            let counts: HashMap<String, i64> = ::redis::cmd("HGETALL")
                .arg(self.keys.conns())
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(counts
                .iter()
                .filter(|(node, _)| node.as_str() != &*self.node)
                .map(|(_, &n)| n.max(0) as usize)
                .sum())
        }
        .boxed()
    }

    fn terminate_user<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<usize, BackendError>> {
        async move {
            self.queue(Write::Publish(envelope(&self.node, 'T', user_id, None, "")));
            Ok(self.inbound.terminate_user(user_id))
        }
        .boxed()
    }

    fn store_last(&self, channel: &str, frame: &Utf8Bytes) {
        self.queue(Write::StoreLast {
            channel: channel.into(),
            frame: frame.clone(),
        });
    }

    fn last<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<Option<Utf8Bytes>, BackendError>> {
        async move {
            let mut conn = self.conn.clone();
            self.flushed().await?;
            let kept: Option<String> = ::redis::cmd("GET")
                .arg(self.keys.cache(channel))
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(kept.map(Utf8Bytes::from))
        }
        .boxed()
    }

    fn user_connected(
        &self,
        user: &str,
        socket: SocketId,
        info: Option<&RawValue>,
    ) -> BoxFuture<'static, Result<bool, BackendError>> {
        self.user_connected_now(user, socket, info)
    }

    fn user_disconnected(
        &self,
        user: &str,
        socket: SocketId,
    ) -> BoxFuture<'static, Result<Option<u64>, BackendError>> {
        self.user_disconnected_now(user, socket)
    }

    fn users_online<'a>(
        &'a self,
        users: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<bool>, BackendError>> {
        self.users_online_now(users).boxed()
    }

    fn user_status<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<UserStatus, BackendError>> {
        self.user_status_now(user).boxed()
    }

    fn online_users<'a>(
        &'a self,
        after: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<OnlineUsers, BackendError>> {
        self.online_users_now(after, limit).boxed()
    }

    fn set_location<'a>(
        &'a self,
        user: &'a str,
        location: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        self.set_location_now(user, location).boxed()
    }

    fn broadcast_featured(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        feature: u32,
    ) -> Result<(), BackendError> {
        // The feature's bits where other kinds carry the excluded socket.
        let payload = format!("{}\nF\n{channel}\n{feature}\n{frame}", self.node);
        self.queue(Write::Publish(payload))
            .map(|_| ())
            .ok_or_else(|| unavailable("too many writes queued"))
    }

    fn broadcast_status(&self, user: &str, online: bool) -> Result<(), BackendError> {
        self.broadcast_status_now(user, online)
    }

    fn shares_history(&self) -> bool {
        true
    }

    fn publish_history(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        log_id: Option<&str>,
        events: usize,
        ttl_ms: u64,
    ) -> Result<Receipt, BackendError> {
        if !self.applied.reachable.load(Ordering::Acquire) {
            return Err(unavailable(
                "unreachable since the last write; nobody got this event",
            ));
        }
        self.queue(Write::History {
            channel: channel.into(),
            frame: frame.clone(),
            events,
            ttl_ms,
            log_id: log_id.map(Arc::from),
            except,
        })
        .map(Receipt)
        .ok_or_else(|| unavailable("too many writes queued; nobody got this event"))
    }

    fn history_read<'a>(
        &'a self,
        channel: &'a str,
        ttl_ms: u64,
    ) -> BoxFuture<'a, Result<crate::cluster::HistoryRead, BackendError>> {
        self.history_read_now(channel, ttl_ms).boxed()
    }

    fn next_log_id(&self) -> Arc<str> {
        let n = self.log_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}-{n}", self.node).into()
    }

    fn log_delivery(&self, record: &DeliveryRecord) {
        if let Ok(json) = serde_json::to_string(record) {
            self.queue(Write::Log {
                id: record.id.clone(),
                record: json,
                delivered: record.delivered,
            });
        }
    }

    fn broadcast_logged(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
        log_id: &str,
    ) -> Result<Receipt, BackendError> {
        if !self.applied.reachable.load(Ordering::Acquire) {
            return Err(unavailable(
                "unreachable since the last write; the other nodes did not get this event",
            ));
        }
        self.queue(Write::Publish(logged_envelope(
            &self.node, channel, except, log_id, frame,
        )))
        .map(Receipt)
        .ok_or_else(|| {
            unavailable("too many writes queued; the other nodes did not get this event")
        })
    }

    fn delivery_log(
        &self,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, BackendError>> {
        self.delivery_log_now(limit).boxed()
    }

    fn maintain(&self) {
        // Node leases and removing dead nodes' entries come with the lease keeper.
    }

    fn changes(&self) -> Option<mpsc::Receiver<ClusterChange>> {
        crate::shards::lock(&self.changes).take()
    }

    fn goodbye(&self) -> BoxFuture<'_, Vec<ClusterChange>> {
        async move {
            // Stop renewing first, so that no renewal lands after the removal.
            let keeper = crate::shards::lock(&self.lease_keeper).take();
            if let Some((alive, task)) = keeper {
                drop(alive);
                let _ = tokio::time::timeout(COMMAND_TIMEOUT, task).await;
            }
            if let Err(e) = self.flushed().await {
                tracing::warn!("Redis backend: leaving with writes not applied: {}", e.0);
            }
            match tokio::time::timeout(
                COMMAND_TIMEOUT,
                remove_nodes(
                    &self.conn,
                    &self.keys,
                    &self.reap,
                    &self.node,
                    self.webhooks,
                    self.last_seen,
                ),
            )
            .await
            {
                Ok(Ok(changes)) => changes,
                Ok(Err(e)) => {
                    tracing::warn!(
                        "Redis backend: goodbye not recorded ({e}); the lease will expire"
                    );
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!("Redis backend: goodbye timed out; the lease will expire");
                    Vec::new()
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests;
