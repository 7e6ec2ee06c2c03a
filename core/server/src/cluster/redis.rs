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
//! - `bus` — the pub/sub channel of the app: every node publishes its events there
//!   (one `PUBLISH` per event, whatever the number of subscribers) and delivers what
//!   the other nodes publish to its own subscribers.
//!
//! A join or leave is one Lua script, so "first connection of this user", "channel
//! now occupied" and the member limit are decided once, atomically, cluster-wide.
//! Writes that nobody waits for (connection counts, cache stores) go through one
//! queue, in order, so that they are applied in the order this node made them.

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

use super::{Backend, BackendError, Departure, JoinError, Joined, Left, SharedInbound};
use crate::config::ClusterConfig;
use crate::log;
use crate::protocol::frames::event_data;
use crate::protocol::identity::PresenceMember;
use crate::protocol::names::{channel_type, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::views::{CachedEvent, ChannelInfo, Member};

/// Writes queued for the writer task at most; past it they are dropped and counted.
const MAX_QUEUED_WRITES: usize = 65_536;

/// How long one Redis command may take before the backend reports it unavailable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

const JOIN: &str = r#"
-- KEYS: subs, members, info, channels, node subs
-- ARGV: socket, node, channel, user ('' outside presence), info, limit, presence ('1'/'0')
local new_sub = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
local occupied, added = 0, 0
if new_sub then
  if ARGV[4] ~= '' then
    if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 0 then
      if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[6]) then
        return {-1}
      end
      added = 1
      redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
    end
    redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
  end
  if redis.call('HLEN', KEYS[1]) == 0 then
    occupied = 1
    redis.call('ZADD', KEYS[4], 0, ARGV[3])
  end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[5], ARGV[3] .. '\n' .. ARGV[1] .. '\n' .. ARGV[4])
end
local members = {}
if ARGV[7] == '1' then
  members = redis.call('HGETALL', KEYS[3])
end
return {new_sub and 1 or 0, occupied, added, members}
"#;

const LEAVE: &str = r#"
-- KEYS: subs, members, info, channels, node subs
-- ARGV: socket, channel, user ('' outside presence)
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return {0, 0, 0}
end
redis.call('SREM', KEYS[5], ARGV[2] .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
local removed, vacated = 0, 0
if ARGV[3] ~= '' then
  local n = redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
  if n <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[3])
    redis.call('HDEL', KEYS[3], ARGV[3])
    removed = 1
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  vacated = 1
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('DEL', KEYS[2], KEYS[3])
end
return {1, vacated, removed}
"#;

const HEARTBEAT: &str = r#"
-- KEYS: nodes; ARGV: node, lease (ms). Returns 0 when the node was not registered.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if known then return 1 else return 0 end
"#;

const REAP: &str = r#"
-- KEYS: nodes, channels, conns; ARGV: the app's key base, a node id or ''.
-- Removes the given node (its goodbye), or else every node whose lease ran out, with
-- everything it added; returns (channel, removed user or '', vacated 0/1) for each
-- change others must hear of.
local gone
if ARGV[2] ~= '' then
  gone = {ARGV[2]}
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
end
local out = {}
for _, node in ipairs(gone) do
  local node_subs = ARGV[1] .. ':node:' .. node .. ':subs'
  for _, entry in ipairs(redis.call('SMEMBERS', node_subs)) do
    local ch, socket, user = string.match(entry, '^(.-)\n(.-)\n(.*)$')
    local base = ARGV[1] .. ':ch:' .. ch
    if ch and redis.call('HDEL', base .. ':subs', socket) == 1 then
      local removed, vacated = '', 0
      if user ~= '' then
        if redis.call('HINCRBY', base .. ':members', user, -1) <= 0 then
          redis.call('HDEL', base .. ':members', user)
          redis.call('HDEL', base .. ':info', user)
          removed = user
        end
      end
      if redis.call('HLEN', base .. ':subs') == 0 then
        vacated = 1
        redis.call('ZREM', KEYS[2], ch)
        redis.call('DEL', base .. ':members', base .. ':info')
      end
      if removed ~= '' or vacated == 1 then
        table.insert(out, ch)
        table.insert(out, removed)
        table.insert(out, vacated)
      end
    end
  end
  redis.call('DEL', node_subs)
  redis.call('HDEL', KEYS[3], node)
  redis.call('ZREM', KEYS[1], node)
end
return out
"#;

/// The key names of one app under one prefix.
struct Keys {
    base: String,
}

impl Keys {
    fn channel(&self, channel: &str, what: &str) -> String {
        format!("{}:ch:{channel}:{what}", self.base)
    }
    fn channels(&self) -> String {
        format!("{}:channels", self.base)
    }
    fn node_subs(&self, node: &str) -> String {
        format!("{}:node:{node}:subs", self.base)
    }
    fn conns(&self) -> String {
        format!("{}:conns", self.base)
    }
    fn cache(&self, channel: &str) -> String {
        format!("{}:cache:{channel}", self.base)
    }
    fn bus(&self) -> String {
        format!("{}:bus", self.base)
    }
    fn nodes(&self) -> String {
        format!("{}:nodes", self.base)
    }
}

/// A write nobody waits for, applied in order by the writer task.
enum Write {
    Connections(i64),
    StoreLast { channel: String, frame: Utf8Bytes },
    Publish(String),
}

/// Messages on the bus queued for delivery to this node at most; past it they are
/// dropped and counted (the node is too slow to keep up with its cluster).
const MAX_QUEUED_INBOUND: usize = 65_536;

/// What one node tells the others: `{node}\n{kind}\n{channel or user}\n{except}\n{frame}`.
/// The frame is the rest, whatever it holds.
fn envelope(
    node: &str,
    kind: char,
    subject: &str,
    except: Option<SocketId>,
    frame: &str,
) -> String {
    let except = except.map(|s| s.to_string()).unwrap_or_default();
    format!("{node}\n{kind}\n{subject}\n{except}\n{frame}")
}

/// Delivers what the other nodes publish on the bus, in the order Redis sent it.
async fn receive_bus(node: Arc<str>, inbound: SharedInbound, mut bus: mpsc::Receiver<Vec<u8>>) {
    while let Some(payload) = bus.recv().await {
        let Ok(text) = std::str::from_utf8(&payload) else {
            continue;
        };
        let mut parts = text.splitn(5, '\n');
        let (Some(from), Some(kind), Some(subject), Some(except), Some(frame)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            log::warn!("Redis backend: a bus message that is not ours was ignored");
            continue;
        };
        if from == &*node {
            continue;
        }
        match kind {
            "D" => {
                inbound.deliver(subject, &Utf8Bytes::from(frame), SocketId::parse(except));
            }
            "T" => {
                inbound.terminate_user(subject);
            }
            _ => {}
        }
    }
}

pub(crate) struct RedisBackend {
    conn: ConnectionManager,
    /// Kept so that the bus subscription lives as long as the backend.
    _bus: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    inbound: SharedInbound,
    join: Script,
    leave: Script,
    writes: mpsc::Sender<Write>,
    /// Writes queued so far, and applied so far (by the writer task): a query waits
    /// until this node's own earlier writes are applied.
    queued: AtomicU64,
    applied: Arc<Applied>,
    dropped_writes: Arc<AtomicU64>,
    /// Removals of vanished nodes decided by this node, until the service takes them.
    departures: std::sync::Mutex<Option<mpsc::Receiver<Departure>>>,
    /// The lease keeper: dropping the sender stops it (so does dropping the backend,
    /// without a goodbye, as a crash would).
    lease_keeper: std::sync::Mutex<Option<(tokio::sync::watch::Sender<()>, JoinHandle<()>)>>,
    reap: Script,
}

struct Applied {
    count: AtomicU64,
    notify: tokio::sync::Notify,
    /// Whether the last write (or lease renewal) reached Redis: while it did not,
    /// broadcasts are refused at once rather than queued and claimed sent.
    reachable: std::sync::atomic::AtomicBool,
}

impl Default for Applied {
    fn default() -> Self {
        Applied {
            count: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            reachable: std::sync::atomic::AtomicBool::new(true),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> BackendError {
    BackendError(format!("Redis: {e}"))
}

impl RedisBackend {
    /// Connects to the cluster's Redis as a new node of app `app_id`. Must run inside
    /// a tokio runtime (the writer task is spawned on it).
    pub async fn connect(
        cluster: &ClusterConfig,
        node: Arc<str>,
        app_id: &str,
        cache_ttl: Duration,
        inbound: SharedInbound,
    ) -> Result<RedisBackend, BackendError> {
        let client = ::redis::Client::open(cluster.redis_url.as_str()).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        let keys = Arc::new(Keys {
            base: format!("{}:{app_id}", cluster.prefix),
        });

        // The bus: a connection of its own (RESP3, so that messages arrive as pushes),
        // subscribed again by the client crate whenever it reconnects.
        let (bus_tx, bus_rx) = mpsc::channel::<Vec<u8>>(MAX_QUEUED_INBOUND);
        // Counted here and logged with the count: each one is a frame some
        // subscriber of this node did not get.
        let dropped = Arc::new(AtomicU64::new(0));
        let push = move |push: ::redis::PushInfo| {
            if push.kind == ::redis::PushKind::Message {
                if let Some(Value::BulkString(payload)) = push.data.get(1) {
                    if bus_tx.try_send(payload.clone()).is_err() {
                        let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        log::warn!("Redis backend: {n} bus messages dropped (this node is behind)");
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
            .set_push_sender(push)
            .set_automatic_resubscription();
        let mut bus = ConnectionManager::new_with_config(bus_client, bus_config)
            .await
            .map_err(unavailable)?;
        bus.subscribe(keys.bus()).await.map_err(unavailable)?;
        tokio::spawn(receive_bus(node.clone(), inbound.clone(), bus_rx));

        let lease = Duration::from_secs_f64(cluster.node_lease.max(0.1));
        let (alive, alive_rx) = tokio::sync::watch::channel(());
        let (departed, departures) = mpsc::channel(MAX_QUEUED_INBOUND);
        let applied = Arc::new(Applied::default());
        let lease_keeper = LeaseKeeper {
            conn: conn.clone(),
            keys: keys.clone(),
            node: node.clone(),
            lease,
            departed,
            applied: applied.clone(),
            heartbeat: Script::new(HEARTBEAT),
            reap: Script::new(REAP),
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
        ));
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
            applied,
            dropped_writes,
            departures: std::sync::Mutex::new(Some(departures)),
            lease_keeper: std::sync::Mutex::new(Some((alive, lease_task))),
            reap: Script::new(REAP),
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

    fn queue(&self, write: Write) {
        if self.writes.try_send(write).is_ok() {
            self.queued.fetch_add(1, Ordering::AcqRel);
        } else {
            let n = self.dropped_writes.fetch_add(1, Ordering::Relaxed) + 1;
            log::warn!("Redis backend: write queue full or closed, {n} writes dropped so far");
        }
    }

    /// A JOIN or LEAVE call on `channel`, with the keys both scripts take.
    fn membership_call<'s>(
        &self,
        script: &'s Script,
        channel: &str,
    ) -> ::redis::ScriptInvocation<'s> {
        let mut call = script.prepare_invoke();
        call.key(self.keys.channel(channel, "subs"))
            .key(self.keys.channel(channel, "members"))
            .key(self.keys.channel(channel, "info"))
            .key(self.keys.channels())
            .key(self.keys.node_subs(&self.node));
        call
    }

    /// Waits until every write this node queued before now is applied.
    async fn flushed(&self) -> Result<(), BackendError> {
        let target = self.queued.load(Ordering::Acquire);
        tokio::time::timeout(COMMAND_TIMEOUT, async {
            loop {
                let notified = self.applied.notify.notified();
                if self.applied.count.load(Ordering::Acquire) >= target {
                    return;
                }
                notified.await;
            }
        })
        .await
        .map_err(|_| unavailable("queued writes not applied in time"))
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

/// Applies queued writes in order; a failed one is logged, and the rest go on.
async fn write_in_order(
    mut conn: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    cache_ttl: Duration,
    mut queue: mpsc::Receiver<Write>,
    applied: Arc<Applied>,
) {
    let ttl_ms = cache_ttl.as_millis().max(1) as u64;
    while let Some(write) = queue.recv().await {
        let result: ::redis::RedisResult<()> = match write {
            Write::Connections(delta) => ::redis::cmd("HINCRBY")
                .arg(keys.conns())
                .arg(&*node)
                .arg(delta)
                .query_async(&mut conn)
                .await
                .map(|_: i64| ()),
            Write::Publish(payload) => ::redis::cmd("PUBLISH")
                .arg(keys.bus())
                .arg(payload)
                .query_async(&mut conn)
                .await
                .map(|_: i64| ()),
            Write::StoreLast { channel, frame } => {
                ::redis::cmd("SET")
                    .arg(keys.cache(&channel))
                    .arg(frame.as_str())
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn)
                    .await
            }
        };
        if let Err(e) = &result {
            log::warn!("Redis backend: a write was not applied: {e}");
        }
        applied.reachable.store(result.is_ok(), Ordering::Release);
        applied.count.fetch_add(1, Ordering::AcqRel);
        applied.notify.notify_waiters();
    }
}

/// Renews this node's lease and removes nodes whose lease ran out.
struct LeaseKeeper {
    conn: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    lease: Duration,
    departed: mpsc::Sender<Departure>,
    /// Told when Redis answers again, so that broadcasts resume.
    applied: Arc<Applied>,
    heartbeat: Script,
    reap: Script,
}

impl LeaseKeeper {
    /// Renews the lease; false when the node had been removed meanwhile (a pause
    /// longer than its lease).
    async fn beat(&self) -> ::redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let known: i64 = self
            .heartbeat
            .key(self.keys.nodes())
            .arg(&*self.node)
            .arg(self.lease.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(known == 1)
    }

    async fn reap(&self) -> ::redis::RedisResult<()> {
        for departure in remove_nodes(&self.conn, &self.keys, &self.reap, "").await? {
            if self.departed.try_send(departure).is_err() {
                log::warn!("Redis backend: a departure was not announced (queue full)");
            }
        }
        Ok(())
    }

    async fn run(self, mut alive: tokio::sync::watch::Receiver<()>) {
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // The backend is gone: stop renewing, as a crashed node would.
                Err(_) = alive.changed() => return,
                _ = tick.tick() => {}
            }
            let beat = self.beat().await;
            self.applied
                .reachable
                .store(beat.is_ok(), Ordering::Release);
            match beat {
                Ok(true) => {}
                Ok(false) => log::warn!(
                    "Redis backend: node {} was removed by the cluster (paused longer than its lease)",
                    self.node
                ),
                Err(e) => log::warn!("Redis backend: lease not renewed: {e}"),
            }
            if let Err(e) = self.reap().await {
                log::warn!("Redis backend: vanished nodes not checked: {e}");
            }
        }
    }
}

/// Removes node `only` (its goodbye), or with `""` every node whose lease ran out,
/// with everything it added; returns what that changed.
async fn remove_nodes(
    conn: &ConnectionManager,
    keys: &Keys,
    reap: &Script,
    only: &str,
) -> ::redis::RedisResult<Vec<Departure>> {
    let mut conn = conn.clone();
    let changes: Vec<Value> = reap
        .key(keys.nodes())
        .key(keys.channels())
        .key(keys.conns())
        .arg(&keys.base)
        .arg(only)
        .invoke_async(&mut conn)
        .await?;
    let text = |v: Option<&Value>| match v {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    Ok(changes
        .chunks(3)
        .map(|change| Departure {
            channel: text(change.first()),
            member_removed: Some(text(change.get(1))).filter(|u| !u.is_empty()),
            channel_vacated: int(change.get(2)) == 1,
        })
        .collect())
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

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

impl Backend for RedisBackend {
    fn connection_opened(&self, _socket: SocketId) {
        self.queue(Write::Connections(1));
    }

    fn connection_closed(&self, _socket: SocketId) {
        self.queue(Write::Connections(-1));
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
            let mut conn = self.conn.clone();
            let reply: Vec<Value> = self
                .membership_call(&self.join, channel)
                .arg(socket.to_string())
                .arg(&*self.node)
                .arg(channel)
                .arg(user)
                .arg(info)
                .arg(member_limit)
                .arg(if presence { "1" } else { "0" })
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
            Ok(Joined {
                new_subscription: int(reply.first()) == 1,
                channel_occupied: int(reply.get(1)) == 1,
                member_added: int(reply.get(2)) == 1,
                members,
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
            let mut conn = self.conn.clone();
            let reply: Vec<i64> = self
                .membership_call(&self.leave, channel)
                .arg(socket.to_string())
                .arg(channel)
                .arg(user.unwrap_or(""))
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(Left {
                was_subscribed: reply.first() == Some(&1),
                channel_vacated: reply.get(1) == Some(&1),
                member_removed: reply.get(2) == Some(&1),
            })
        }
        .boxed()
    }

    fn broadcast(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
    ) -> Result<(), BackendError> {
        if !self.applied.reachable.load(Ordering::Acquire) {
            return Err(unavailable(
                "unreachable since the last write; the other nodes did not get this event",
            ));
        }
        // Through the ordered writer, so the other nodes get this node's events in
        // the order it published them.
        self.queue(Write::Publish(envelope(
            &self.node, 'D', channel, except, frame,
        )));
        Ok(())
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

    fn maintain(&self) {
        // Node leases and removing dead nodes' entries come with the lease keeper.
    }

    fn departures(&self) -> Option<mpsc::Receiver<Departure>> {
        crate::shards::lock(&self.departures).take()
    }

    fn goodbye(&self) -> BoxFuture<'_, Vec<Departure>> {
        async move {
            // Stop renewing first, so that no renewal lands after the removal.
            let keeper = crate::shards::lock(&self.lease_keeper).take();
            if let Some((alive, task)) = keeper {
                drop(alive);
                let _ = tokio::time::timeout(COMMAND_TIMEOUT, task).await;
            }
            if let Err(e) = self.flushed().await {
                log::warn!("Redis backend: leaving with writes not applied: {}", e.0);
            }
            match tokio::time::timeout(
                COMMAND_TIMEOUT,
                remove_nodes(&self.conn, &self.keys, &self.reap, &self.node),
            )
            .await
            {
                Ok(Ok(departures)) => departures,
                Ok(Err(e)) => {
                    log::warn!("Redis backend: goodbye not recorded ({e}); the lease will expire");
                    Vec::new()
                }
                Err(_) => {
                    log::warn!("Redis backend: goodbye timed out; the lease will expire");
                    Vec::new()
                }
            }
        }
        .boxed()
    }
}

/// The integration tests' `redis-server` helper.
#[cfg(test)]
#[path = "../../tests/common/redis.rs"]
mod redis_server;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::conformance;

    async fn node(
        redis: &super::redis_server::RedisServer,
        app: &str,
    ) -> (RedisBackend, Arc<conformance::RecordingInbound>) {
        node_with_lease(redis, app, 15.0).await
    }

    async fn node_with_lease(
        redis: &super::redis_server::RedisServer,
        app: &str,
        node_lease: f64,
    ) -> (RedisBackend, Arc<conformance::RecordingInbound>) {
        let inbound = Arc::new(conformance::RecordingInbound::default());
        let cluster = ClusterConfig {
            redis_url: format!("redis://127.0.0.1:{}", redis.port),
            node_lease,
            ..ClusterConfig::default()
        };
        let backend = RedisBackend::connect(
            &cluster,
            RedisBackend::new_node_id(),
            app,
            Duration::from_secs(60),
            inbound.clone(),
        )
        .await
        .unwrap();
        (backend, inbound)
    }

    /// Waits until `inbound` has recorded `n` deliveries; returns them.
    async fn delivered(inbound: &conformance::RecordingInbound, n: usize) -> Vec<(String, String)> {
        tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                let got = crate::shards::lock(&inbound.delivered).clone();
                if got.len() >= n {
                    return got;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("delivered in time")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_reach_the_other_nodes_in_order_and_only_them() {
        let redis = super::redis_server::RedisServer::start();
        let (a, a_in) = node(&redis, "app").await;
        let (_b, b_in) = node(&redis, "app").await;
        let (_c, c_in) = node(&redis, "other-app").await;
        for i in 0..100 {
            let frame = crate::protocol::channel_event("e", "orders", &i.to_string(), None);
            a.broadcast("orders", &frame, None).unwrap();
        }
        let got = delivered(&b_in, 100).await;
        let data: Vec<String> = got
            .iter()
            .map(|(ch, f)| {
                assert_eq!(ch, "orders");
                event_data(f).unwrap()
            })
            .collect();
        let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(data, want, "in the order node a published them");
        a.terminate_user("42").await.unwrap();
        tokio::time::timeout(Duration::from_secs(15), async {
            while crate::shards::lock(&b_in.terminated).is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("terminate reached node b");
        // The publishing node delivered locally already; another app never hears.
        assert!(crate::shards::lock(&a_in.delivered).is_empty());
        assert!(crate::shards::lock(&c_in.delivered).is_empty());
        assert!(crate::shards::lock(&c_in.terminated).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bus_comes_back_after_a_redis_restart() {
        let mut redis = super::redis_server::RedisServer::start();
        let (a, _) = node_with_lease(&redis, "app", 3.0).await;
        let (_b, b_in) = node_with_lease(&redis, "app", 3.0).await;
        let frame = crate::protocol::channel_event("e", "orders", "before", None);
        a.broadcast("orders", &frame, None).unwrap();
        delivered(&b_in, 1).await;
        redis.restart();
        // Publishes while Redis is coming back are refused or lost (and reported); one
        // after it is back must arrive without restarting either node.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let frame = crate::protocol::channel_event("e", "orders", "after", None);
            let _ = a.broadcast("orders", &frame, None);
            let got = crate::shards::lock(&b_in.delivered).clone();
            if got.iter().any(|(_, f)| f.contains("after")) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the bus did not come back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn broadcasts_are_refused_while_redis_is_down_and_resume_after() {
        let mut redis = super::redis_server::RedisServer::start();
        let (a, _) = node_with_lease(&redis, "app", 3.0).await;
        let (_b, b_in) = node_with_lease(&redis, "app", 3.0).await;
        let frame = |text: &str| crate::protocol::channel_event("e", "orders", text, None);
        redis.stop();
        // The first publish after Redis went away is queued and fails in the writer;
        // from then on publishes are refused at once, never claimed sent.
        let started = std::time::Instant::now();
        while a.broadcast("orders", &frame("down"), None).is_ok() {
            assert!(started.elapsed() < Duration::from_secs(15), "never refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        redis.restart();
        // The lease renewal (every second here) finds Redis again.
        let started = std::time::Instant::now();
        loop {
            if a.broadcast("orders", &frame("back"), None).is_ok() {
                let got = crate::shards::lock(&b_in.delivered).clone();
                if got.iter().any(|(_, f)| f.contains("back")) {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "broadcasts did not resume"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_vanished_node_is_removed_once_within_its_lease() {
        let redis = super::redis_server::RedisServer::start();
        let (a, _) = node_with_lease(&redis, "app", 1.0).await;
        let (b, _) = node_with_lease(&redis, "app", 1.0).await;
        let (c, _) = node_with_lease(&redis, "app", 1.0).await;
        let (s1, s2, s3, s4) = (
            SocketId::generate(),
            SocketId::generate(),
            SocketId::generate(),
            SocketId::generate(),
        );
        let (ua, ub) = (conformance::member("a"), conformance::member("b"));
        for s in [s1, s2, s4] {
            a.connection_opened(s);
        }
        b.connection_opened(s3);
        a.join("presence-room", s1, Some(&ua), 100).await.unwrap();
        a.join("presence-room", s2, Some(&ub), 100).await.unwrap();
        b.join("presence-room", s3, Some(&ub), 100).await.unwrap();
        a.join("orders", s4, None, 100).await.unwrap();
        assert_eq!(b.connection_count().await.unwrap(), 4);

        // Node a vanishes without a goodbye: no leave, no count update.
        let a_id = a.node_id().to_string();
        drop(a);
        let mut departures = [b.departures().unwrap(), c.departures().unwrap()];
        let mut seen = Vec::new();
        let started = std::time::Instant::now();
        while seen.len() < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "removed in time: {seen:?}"
            );
            for d in &mut departures {
                while let Ok(departure) = d.try_recv() {
                    seen.push(departure);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen.sort_by(|x, y| x.channel.cmp(&y.channel));
        assert_eq!(
            seen,
            [
                Departure {
                    channel: "orders".into(),
                    member_removed: None,
                    channel_vacated: true
                },
                Departure {
                    channel: "presence-room".into(),
                    member_removed: Some("a".into()),
                    channel_vacated: false
                },
            ],
            "b is still present through node b; each change announced by one node only"
        );
        let room = b.channel("presence-room").await.unwrap();
        assert_eq!((room.subscription_count, room.user_count), (1, Some(1)));
        assert_eq!(
            b.members("presence-room").await.unwrap()[0].id.as_ref(),
            "b"
        );
        assert!(!b.channel("orders").await.unwrap().occupied);
        assert_eq!(b.connection_count().await.unwrap(), 1);
        // Nothing of node a is left to be removed (or announced) again.
        let mut conn = b.conn.clone();
        let lease: Option<f64> = ::redis::cmd("ZSCORE")
            .arg(b.keys.nodes())
            .arg(&a_id)
            .query_async(&mut conn)
            .await
            .unwrap();
        let entries: usize = ::redis::cmd("SCARD")
            .arg(b.keys.node_subs(&a_id))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!((lease, entries), (None, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_backend_passes_the_conformance_suite() {
        let redis = super::redis_server::RedisServer::start();
        let url = redis.url();
        // A fresh app id per check, so that checks do not see each other's state.
        let n = AtomicU64::new(0);
        let handle = tokio::runtime::Handle::current();
        conformance::run_all(|inbound| {
            let cluster = ClusterConfig {
                redis_url: url.clone(),
                ..ClusterConfig::default()
            };
            let app = format!("app{}", n.fetch_add(1, Ordering::Relaxed));
            let backend = std::thread::scope(|s| {
                s.spawn(|| {
                    handle.block_on(RedisBackend::connect(
                        &cluster,
                        RedisBackend::new_node_id(),
                        &app,
                        Duration::from_secs(60),
                        inbound,
                    ))
                })
                .join()
                .unwrap()
            })
            .unwrap();
            Arc::new(backend)
        })
        .await;
    }
}
