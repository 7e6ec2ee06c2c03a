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

pub(super) const JOIN: &str = concat!(
    next_version_lua!(),
    r#"
-- KEYS: subs, members, info, channels, node subs, version, webhook events channel, nodes
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
-- KEYS: subs, members, info, channels, node subs, version, webhook events channel, nodes
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
    r#"
-- KEYS: nodes, channels, conns; ARGV: the app's key base, a node id or '', webhooks
-- ('1': publish the removals' webhook events, see LEAVE).
-- Removes the given node (its goodbye), or else every node whose lease ran out, with
-- everything it added; returns (channel, removed user or '', vacated 0/1, version of
-- the removal or 0) for each change others must hear of.
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
      local removed, vacated, version = '', 0, 0
      if user ~= '' then
        if redis.call('HINCRBY', base .. ':members', user, -1) <= 0 then
          redis.call('HDEL', base .. ':members', user)
          redis.call('HDEL', base .. ':info', user)
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
return out
"#
);

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
}

/// The keys JOIN and LEAVE take, for `channel` and this node.
fn membership_call<'s>(
    script: &'s Script,
    keys: &Keys,
    node: &str,
    channel: &str,
) -> ScriptInvocation<'s> {
    let mut call = script.prepare_invoke();
    call.key(keys.channel(channel, "subs"))
        .key(keys.channel(channel, "members"))
        .key(keys.channel(channel, "info"))
        .key(keys.channels())
        .key(keys.node_subs(node))
        .key(keys.version())
        .key(keys.hooks())
        .key(keys.nodes());
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
    let mut call = membership_call(script, keys, node, channel);
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
    let mut call = membership_call(script, keys, node, channel);
    call.arg(socket.to_string())
        .arg(channel)
        .arg(user)
        .arg(if settle { "1" } else { "0" })
        .arg(if webhooks { "1" } else { "0" });
    call
}
