//! The Lua scripts that make each cluster decision atomic in Redis, and the key names
//! they work on.

use ::redis::{Script, ScriptInvocation};

use crate::protocol::socket_id::SocketId;

/// The Lua function that gives the next [`Version`](crate::cluster::Version) of the
/// app's presence changes, at the head of every script that makes one.
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
"#
    };
}

pub(super) const JOIN: &str = concat!(
    next_version_lua!(),
    r#"
-- KEYS: subs, members, info, channels, node subs, version, held removal, held vacate
-- ARGV: socket, node, channel, user ('' outside presence), info, limit, presence ('1'/'0'),
--       webhook hold (ms, '0' without webhooks)
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
-- A removal or vacate some node holds for the webhook delay is undone by this join.
local undid_removal, undid_vacate = 0, 0
if ARGV[8] ~= '0' then
  if added == 1 then undid_removal = redis.call('DEL', KEYS[7]) end
  if occupied == 1 then undid_vacate = redis.call('DEL', KEYS[8]) end
end
return {new_sub and 1 or 0, occupied, added, members, version, redis.call('HLEN', KEYS[1]),
  undid_removal, undid_vacate}
"#
);

pub(super) const LEAVE: &str = concat!(
    next_version_lua!(),
    r#"
-- KEYS: subs, members, info, channels, node subs, version, held removal, held vacate
-- ARGV: socket, channel, user ('' outside presence), settle ('1'/'0'), webhook hold (ms,
--       '0' without webhooks): a removal or vacate is marked held for that long, so that
--       a join on any node can undo it (and the holding node then sends nothing)
local function hold(removed, vacated)
  if ARGV[5] ~= '0' then
    if removed == 1 then redis.call('SET', KEYS[7], '1', 'PX', ARGV[5]) end
    if vacated == 1 then redis.call('SET', KEYS[8], '1', 'PX', ARGV[5]) end
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
  hold(removed, vacated)
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
hold(removed, vacated)
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
-- KEYS: nodes, channels, conns; ARGV: the app's key base, a node id or '', the webhook
-- hold (ms, '0' without webhooks; see LEAVE).
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
      if ARGV[3] ~= '0' then
        local held = ARGV[1] .. ':held:' .. ch .. '\n'
        if removed ~= '' then redis.call('SET', held .. removed, '1', 'PX', ARGV[3]) end
        if vacated == 1 then redis.call('SET', held, '1', 'PX', ARGV[3]) end
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
    /// Set while a node holds `user`'s `member_removed` of `channel` (or, with `""`,
    /// its `channel_vacated`) for the webhook delay.
    pub fn held(&self, channel: &str, user: &str) -> String {
        format!("{}:held:{channel}\n{user}", self.base)
    }
}

/// The keys JOIN and LEAVE take, for `channel`, `user` and this node.
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
        .key(keys.held(channel, user))
        .key(keys.held(channel, ""));
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
    hold_ms: u64,
) -> ScriptInvocation<'s> {
    let mut call = membership_call(script, keys, node, channel, user);
    call.arg(socket.to_string())
        .arg(node)
        .arg(channel)
        .arg(user)
        .arg(info)
        .arg(limit)
        .arg(if with_members { "1" } else { "0" })
        .arg(hold_ms);
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
    hold_ms: u64,
) -> ScriptInvocation<'s> {
    let mut call = membership_call(script, keys, node, channel, user);
    call.arg(socket.to_string())
        .arg(channel)
        .arg(user)
        .arg(if settle { "1" } else { "0" })
        .arg(hold_ms);
    call
}
