//! The Lua scripts that make each cluster decision atomic in Redis, and the key names
//! they work on.

use ::redis::{Script, ScriptInvocation};

use crate::protocol::socket_id::SocketId;

/// The Lua functions at the head of every script that decides presence changes: the
/// next [`Version`](crate::cluster::Version), and the webhook event of a decision.
macro_rules! next_version_lua {
    () => {
        r#"
-- Redis's clock in microseconds, or one more than the last version when the clock is
-- not ahead of it: versions only grow, also across a Redis restart that lost the key.
local function next_version(key)
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', key) or '0')
  if v <= last then v = last + 1 end
  redis.call('SET', key, string.format('%.0f', v))
  return v
end
-- A webhook event, published from inside the script so that the nodes get the app's
-- webhook events in the order Redis decided them: `name\nchannel\nuser\ntime_ms\nowner`.
-- The owner, which sends the channel's webhooks, is the live node with the highest
-- sha1(node \n channel) (rendezvous hashing): chosen here, once, for every node alike.
local function hook(hooks_key, nodes_key, name, channel, user)
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local owner, best = '', ''
  for _, node in ipairs(redis.call('ZRANGEBYSCORE', nodes_key, ms, '+inf')) do
    local h = redis.sha1hex(node .. '\n' .. channel)
    if h > best then best, owner = h, node end
  end
  redis.call('PUBLISH', hooks_key, name .. '\n' .. channel .. '\n' .. user .. '\n'
    .. string.format('%.0f', ms) .. '\n' .. owner)
end
"#
    };
}

/// The Lua function that takes a user offline: out of the online users, their info
/// and location forgotten, `last_seen` recorded (bounded in age and count).
macro_rules! user_offline_lua {
    () => {
        r#"
-- Returns the last_seen recorded (Redis's clock, ms).
local function user_offline(base, user, ttl_ms, max)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZREM', base .. ':online', user)
  redis.call('HDEL', base .. ':uinfo', user)
  redis.call('HDEL', base .. ':uloc', user)
  local seen = base .. ':lastseen'
  redis.call('ZADD', seen, now, user)
  redis.call('ZREMRANGEBYSCORE', seen, '-inf', now - ttl_ms)
  local n = redis.call('ZCARD', seen)
  if n > max then redis.call('ZREMRANGEBYRANK', seen, 0, n - max - 1) end
  return now
end
"#
    };
}

pub(super) const JOIN: &str = concat!(
    next_version_lua!(),
    r#"
-- KEYS: subs, members, info, channels, node subs, version, webhook events channel, nodes,
--       the user's presence channels
-- ARGV: socket, node, channel, user ('' outside presence), info, limit, presence ('1'/'0'),
--       webhooks ('1': publish the decisions' webhook events)
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
      redis.call('SADD', KEYS[9], ARGV[3])
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
local members, version = {}, 0
if ARGV[7] == '1' then
  members = redis.call('HGETALL', KEYS[3])
end
if ARGV[7] == '1' or added == 1 then
  version = next_version(KEYS[6])
end
if ARGV[8] == '1' then
  if occupied == 1 then hook(KEYS[7], KEYS[8], 'channel_occupied', ARGV[3], '') end
  if added == 1 then hook(KEYS[7], KEYS[8], 'member_added', ARGV[3], ARGV[4]) end
end
return {new_sub and 1 or 0, occupied, added, members, version, redis.call('HLEN', KEYS[1])}
"#
);

pub(super) const LEAVE: &str = concat!(
    next_version_lua!(),
    r#"
-- KEYS: subs, members, info, channels, node subs, version, webhook events channel, nodes,
--       the user's presence channels
-- ARGV: socket, channel, user ('' outside presence), settle ('1'/'0'), webhooks ('1':
--       publish the decisions' webhook events)
local function hooks(removed, vacated)
  if ARGV[5] == '1' then
    if removed == 1 then hook(KEYS[7], KEYS[8], 'member_removed', ARGV[2], ARGV[3]) end
    if vacated == 1 then hook(KEYS[7], KEYS[8], 'channel_vacated', ARGV[2], '') end
  end
end
-- Settling a leave Redis was not told of earlier (it may have lost everything since,
-- in a restart): when the socket is not there, it still reports the user gone and
-- the channel empty if they are, for the node that owes that announcement.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  if ARGV[4] ~= '1' then
    return {0, 0, 0}
  end
  local removed, vacated, version = 0, 0, 0
  if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then
    removed = 1
    version = next_version(KEYS[6])
    redis.call('SREM', KEYS[9], ARGV[2])
  end
  local left = redis.call('HLEN', KEYS[1])
  if left == 0 then
    vacated = 1
  end
  hooks(removed, vacated)
  return {0, vacated, removed, version, left}
end
redis.call('SREM', KEYS[5], ARGV[2] .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
local removed, vacated, version = 0, 0, 0
if ARGV[3] ~= '' then
  local n = redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
  if n <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[3])
    redis.call('HDEL', KEYS[3], ARGV[3])
    redis.call('SREM', KEYS[9], ARGV[2])
    removed = 1
    version = next_version(KEYS[6])
  end
end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then
  vacated = 1
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('DEL', KEYS[2], KEYS[3])
end
hooks(removed, vacated)
return {1, vacated, removed, version, left}
"#
);

pub(super) const HEARTBEAT: &str = r#"
-- KEYS: nodes, conns; ARGV: node, lease (ms), live connections of the node.
-- Returns 0 when the node was not registered (removed by another node, or Redis
-- lost its data): the caller then registers its subscriptions again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if known then return 1 else return 0 end
"#;

pub(super) const REAP: &str = concat!(
    next_version_lua!(),
    user_offline_lua!(),
    r#"
-- KEYS: nodes, channels, conns; ARGV: the app's key base, a node id or '', webhooks
-- ('1': publish the removals' webhook events, see LEAVE), last_seen ttl (ms), last_seen
-- max.
-- Removes the given node (its goodbye), or else every node whose lease ran out, with
-- everything it added; returns {changes, users}: (channel, removed user or '', vacated
-- 0/1, version of the removal or 0) for each change others must hear of, and the
-- users that went offline with it.
local gone
if ARGV[2] ~= '' then
  gone = {ARGV[2]}
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
end
local out, offline = {}, {}
for _, node in ipairs(gone) do
  local node_users = ARGV[1] .. ':node:' .. node .. ':users'
  for _, entry in ipairs(redis.call('SMEMBERS', node_users)) do
    local user, socket = string.match(entry, '^(.*)\n(.-)$')
    local key = ARGV[1] .. ':user:' .. user
    if user and redis.call('HDEL', key, socket) == 1 and redis.call('HLEN', key) == 0 then
      user_offline(ARGV[1], user, tonumber(ARGV[4]), tonumber(ARGV[5]))
      table.insert(offline, user)
    end
  end
  redis.call('DEL', node_users)
  local node_subs = ARGV[1] .. ':node:' .. node .. ':subs'
  for _, entry in ipairs(redis.call('SMEMBERS', node_subs)) do
    local ch, socket, user = string.match(entry, '^(.-)\n(.-)\n(.*)$')
    local base = ARGV[1] .. ':ch:' .. ch
    if ch and redis.call('HDEL', base .. ':subs', socket) == 1 then
      local removed, vacated, version = '', 0, 0
      if user ~= '' then
        if redis.call('HINCRBY', base .. ':members', user, -1) <= 0 then
          redis.call('HDEL', base .. ':members', user)
          redis.call('HDEL', base .. ':info', user)
          redis.call('SREM', ARGV[1] .. ':uch:' .. user, ch)
          removed = user
          version = next_version(ARGV[1] .. ':version')
        end
      end
      if redis.call('HLEN', base .. ':subs') == 0 then
        vacated = 1
        redis.call('ZREM', KEYS[2], ch)
        redis.call('DEL', base .. ':members', base .. ':info')
      end
      if ARGV[3] == '1' then
        if removed ~= '' then hook(ARGV[1] .. ':hooks', KEYS[1], 'member_removed', ch, removed) end
        if vacated == 1 then hook(ARGV[1] .. ':hooks', KEYS[1], 'channel_vacated', ch, '') end
      end
      if removed ~= '' or vacated == 1 then
        table.insert(out, ch)
        table.insert(out, removed)
        table.insert(out, vacated)
        table.insert(out, version)
      end
    end
  end
  redis.call('DEL', node_subs)
  if ARGV[2] == '' then
    -- Tells the node, should it come back, that its members were announced gone.
    redis.call('SET', ARGV[1] .. ':node:' .. node .. ':gone', '1', 'PX', 86400000)
  end
  redis.call('HDEL', KEYS[3], node)
  redis.call('ZREM', KEYS[1], node)
end
return {out, offline}
"#
);

pub(super) const USER_ON: &str = r#"
-- KEYS: the user's connections, online users, user infos, last_seen, node users
-- ARGV: socket, node, user, info ('' for none)
-- Returns 1 when the user came online (their first connection anywhere).
local before = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3] .. '\n' .. ARGV[1])
if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4]) end
if before == 0 then
  redis.call('ZADD', KEYS[2], 0, ARGV[3])
  redis.call('ZREM', KEYS[4], ARGV[3])
  return 1
end
return 0
"#;

pub(super) const USER_OFF: &str = concat!(
    user_offline_lua!(),
    r#"
-- KEYS: the user's connections, node users
-- ARGV: socket, user, base, last_seen ttl (ms), last_seen max
-- Returns the last_seen recorded when the user went offline (their last connection
-- anywhere), else 0.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2] .. '\n' .. ARGV[1])
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
return user_offline(ARGV[3], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5]))
"#
);

pub(super) const LOG_ADD: &str = r#"
-- KEYS: the delivery log, its counts; ARGV: id, record (JSON), delivered on this node,
-- records kept at most.
-- Newest first; counts are `id` → connections and `id:n` → nodes that delivered.
redis.call('LPUSH', KEYS[1], ARGV[1] .. '\n' .. ARGV[2])
local here = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], here, ARGV[1] .. ':n', here > 0 and 1 or 0)
local size = tonumber(ARGV[4])
while redis.call('LLEN', KEYS[1]) > size do
  local old = redis.call('RPOP', KEYS[1])
  local id = string.match(old, '^(.-)\n')
  if id then redis.call('HDEL', KEYS[2], id, id .. ':n') end
end
return 0
"#;

pub(super) const LOG_COUNT: &str = r#"
-- KEYS: the delivery log's counts; ARGV: id, delivered on a node.
-- A record already dropped from the log is not counted (nor its entry recreated).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':n', 1)
end
return 0
"#;

pub(super) const HISTORY_ADD: &str = r#"
-- KEYS: the channel's kept events, its history (epoch, last serial), the bus, the
--       app's kept bytes, the app's kept events oldest first
-- ARGV: node, channel, frame, events kept, ttl (ms), log id ('' none), except ('' none),
--       the app's bytes at most, the app's key base
-- Gives the event the channel's next serial (an epoch is made when the history has
-- none: new, or lost with a Redis restart), keeps it within the channel's and the
-- app's bounds (the app's oldest event goes first), and publishes it to every node,
-- this one included: all deliver history events in serial order.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = string.sub(redis.sha1hex(ARGV[1] .. ':' .. t[1] .. ':' .. t[2] .. ':' .. ARGV[2]), 1, 16)
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
local serial = redis.call('HINCRBY', KEYS[2], 'last', 1)
-- What an event costs: its frame and the bookkeeping around it.
local function cost(frame_len) return frame_len + 64 end
local function order_entry(channel, s, c) return channel .. '\n' .. s .. '\n' .. c end
redis.call('RPUSH', KEYS[1], serial .. ' ' .. now .. '\n' .. ARGV[3])
local c = cost(string.len(ARGV[3]))
redis.call('INCRBY', KEYS[4], c)
redis.call('ZADD', KEYS[5], now, order_entry(ARGV[2], serial, c))
while redis.call('LLEN', KEYS[1]) > tonumber(ARGV[4]) do
  local old = redis.call('LPOP', KEYS[1])
  local nl = string.find(old, '\n', 1, true)
  local s = string.match(old, '^(%d+) ')
  if nl and s then
    local oc = cost(string.len(old) - nl)
    if redis.call('ZREM', KEYS[5], order_entry(ARGV[2], s, oc)) == 1 then
      redis.call('DECRBY', KEYS[4], oc)
    end
  end
end
-- The app's bound: its oldest events go, whichever channel (entries of channels whose
-- list expired meanwhile are only taken off the count).
while tonumber(redis.call('GET', KEYS[4]) or '0') > tonumber(ARGV[8]) do
  local popped = redis.call('ZPOPMIN', KEYS[5])
  if #popped == 0 then
    redis.call('SET', KEYS[4], 0)
    break
  end
  local ch, s, oc = string.match(popped[1], '^(.*)\n(%d+)\n(%d+)$')
  if ch then
    redis.call('DECRBY', KEYS[4], oc)
    local list = ARGV[9] .. ':hist:' .. ch
    local head = redis.call('LINDEX', list, 0)
    if head and string.match(head, '^(%d+) ') == s then
      redis.call('LPOP', list)
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) * 2)
redis.call('PUBLISH', KEYS[3], ARGV[1] .. '\nH\n' .. ARGV[2] .. '\n' .. serial .. ' ' .. epoch .. ' '
  .. ARGV[6] .. ' ' .. ARGV[7] .. '\n' .. ARGV[3])
return serial
"#;

pub(super) const SET_LOCATION: &str = r#"
-- KEYS: the user's connections, locations; ARGV: user, location, set ('1') or clear
-- Returns 1 when the user is online (only then is a location kept).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"#;

/// The key names of one app under one prefix.
pub(super) struct Keys {
    pub base: String,
}

impl Keys {
    pub fn channel(&self, channel: &str, what: &str) -> String {
        format!("{}:ch:{channel}:{what}", self.base)
    }
    pub fn channels(&self) -> String {
        format!("{}:channels", self.base)
    }
    pub fn node_subs(&self, node: &str) -> String {
        format!("{}:node:{node}:subs", self.base)
    }
    /// Set when other nodes removed `node` after its lease ran out.
    pub fn node_gone(&self, node: &str) -> String {
        format!("{}:node:{node}:gone", self.base)
    }
    pub fn conns(&self) -> String {
        format!("{}:conns", self.base)
    }
    pub fn cache(&self, channel: &str) -> String {
        format!("{}:cache:{channel}", self.base)
    }
    pub fn bus(&self) -> String {
        format!("{}:bus", self.base)
    }
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.base)
    }
    /// The last version given to a presence change (see `next_version_lua`).
    pub fn version(&self) -> String {
        format!("{}:version", self.base)
    }
    /// The pub/sub channel of the webhook events the scripts decide.
    pub fn hooks(&self) -> String {
        format!("{}:hooks", self.base)
    }
    /// Hash, socket → node: the connections known as `user` (signed in or present).
    pub fn user(&self, user: &str) -> String {
        format!("{}:user:{user}", self.base)
    }
    /// Set of the presence channels `user` is a member of.
    pub fn user_channels(&self, user: &str) -> String {
        format!("{}:uch:{user}", self.base)
    }
    /// Sorted set (score 0, by id) of the online users.
    pub fn online(&self) -> String {
        format!("{}:online", self.base)
    }
    /// Hash, user → the `user_info` of their first connection.
    pub fn user_infos(&self) -> String {
        format!("{}:uinfo", self.base)
    }
    /// Hash, user → the location the app set.
    pub fn locations(&self) -> String {
        format!("{}:uloc", self.base)
    }
    /// Sorted set, user → when their last connection closed (ms).
    pub fn last_seen(&self) -> String {
        format!("{}:lastseen", self.base)
    }
    /// List of `serial time\nframe`: a history channel's kept events, oldest first.
    pub fn history_events(&self, channel: &str) -> String {
        format!("{}:hist:{channel}", self.base)
    }
    /// The bytes all the app's history channels keep (see HISTORY_ADD).
    pub fn history_bytes(&self) -> String {
        format!("{}:histbytes", self.base)
    }
    /// Sorted set by time of `channel\nserial\ncost`: the app's kept history events,
    /// oldest first, for its byte bound.
    pub fn history_order(&self) -> String {
        format!("{}:historder", self.base)
    }
    /// Hash (epoch, last): a history channel's epoch and last serial.
    pub fn history_meta(&self, channel: &str) -> String {
        format!("{}:histmeta:{channel}", self.base)
    }
    /// List of `id\nrecord` of the delivery log, newest first.
    pub fn delivery_log(&self) -> String {
        format!("{}:dlog", self.base)
    }
    /// Hash of the delivery log's counts (see LOG_ADD).
    pub fn delivery_counts(&self) -> String {
        format!("{}:dlog:counts", self.base)
    }
    /// Set of `user\nsocket` this node added, for removing a dead node's users.
    pub fn node_users(&self, node: &str) -> String {
        format!("{}:node:{node}:users", self.base)
    }
}

/// The keys JOIN and LEAVE take, for `channel`, presence `user` and this node.
fn membership_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    channel: &str,
    user: &str,
) -> ScriptInvocation<'s> {
    let mut call = script.prepare_invoke();
    call.key(keys.channel(channel, "subs"))
        .key(keys.channel(channel, "members"))
        .key(keys.channel(channel, "info"))
        .key(keys.channels())
        .key(keys.node_subs(node))
        .key(keys.version())
        .key(keys.hooks())
        .key(keys.nodes())
        .key(keys.user_channels(user));
    call
}

/// A JOIN of `socket` to `channel`, as presence `user` (empty outside presence) with
/// `info`; `with_members` asks for the member list back.
#[allow(clippy::too_many_arguments)]
pub(super) fn join_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    channel: &str,
    socket: SocketId,
    user: &str,
    info: &str,
    limit: usize,
    with_members: bool,
    webhooks: bool,
) -> ScriptInvocation<'s> {
    let mut call = membership_call(script, keys, node, channel, user);
    call.arg(socket.to_string())
        .arg(node)
        .arg(channel)
        .arg(user)
        .arg(info)
        .arg(limit)
        .arg(if with_members { "1" } else { "0" })
        .arg(if webhooks { "1" } else { "0" });
    call
}

/// A USER_ON: `socket` of `node` is known as `user`.
pub(super) fn user_on_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    user: &str,
    socket: SocketId,
    info: &str,
) -> ScriptInvocation<'s> {
    let mut call = script.prepare_invoke();
    call.key(keys.user(user))
        .key(keys.online())
        .key(keys.user_infos())
        .key(keys.last_seen())
        .key(keys.node_users(node))
        .arg(socket.to_string())
        .arg(node)
        .arg(user)
        .arg(info);
    call
}

/// A USER_OFF: `socket` of `node` is no longer known as `user`.
pub(super) fn user_off_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    user: &str,
    socket: SocketId,
    last_seen: &LastSeenBounds,
) -> ScriptInvocation<'s> {
    let mut call = script.prepare_invoke();
    call.key(keys.user(user))
        .key(keys.node_users(node))
        .arg(socket.to_string())
        .arg(user)
        .arg(&keys.base)
        .arg(last_seen.ttl_ms)
        .arg(last_seen.max);
    call
}

/// How long and how many `last_seen` entries are kept.
#[derive(Clone, Copy, Debug)]
pub(super) struct LastSeenBounds {
    pub ttl_ms: u64,
    pub max: usize,
}

/// A LEAVE of `socket` from `channel`; `settle` for a leave Redis missed earlier.
#[allow(clippy::too_many_arguments)]
pub(super) fn leave_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    channel: &str,
    socket: SocketId,
    user: &str,
    settle: bool,
    webhooks: bool,
) -> ScriptInvocation<'s> {
    let mut call = membership_call(script, keys, node, channel, user);
    call.arg(socket.to_string())
        .arg(channel)
        .arg(user)
        .arg(if settle { "1" } else { "0" })
        .arg(if webhooks { "1" } else { "0" });
    call
}
