//! Node leases: each node renews its own; any node removes the nodes whose lease ran
//! out, with all they added, and hands what that changed to its app service.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{Script, Value};
use tokio::sync::mpsc;

use super::int;
use super::ledger::Ledger;
use super::scripts::{join_call, leave_call, user_off_call, user_on_call, Keys, LastSeenBounds};
use super::writer::Applied;
use crate::cluster::{AddedMember, ClusterChange};

/// Re-registered subscriptions sent to Redis per round trip.
const REREGISTER_BATCH: usize = 256;

/// A member limit that re-registration never reaches: the members it restores were
/// admitted already.
const NO_LIMIT: usize = 1 << 40;

/// Renews this node's lease, removes nodes whose lease ran out, restores this node's
/// subscriptions when Redis forgot them, and settles leaves Redis missed.
pub(super) struct LeaseKeeper {
    pub(super) conn: ConnectionManager,
    /// The bus connection, pinged with each renewal: a command is what makes the
    /// client crate reconnect (and subscribe again) after Redis went away.
    pub(super) bus: ConnectionManager,
    pub(super) keys: Arc<Keys>,
    pub(super) node: Arc<str>,
    pub(super) lease: Duration,
    pub(super) changed: mpsc::Sender<ClusterChange>,
    /// Told when Redis answers again, so that broadcasts resume.
    pub(super) applied: Arc<Applied>,
    pub(super) ledger: Arc<Ledger>,
    pub(super) heartbeat: Script,
    pub(super) reap: Script,
    pub(super) join: Script,
    pub(super) leave: Script,
    pub(super) user_on: Script,
    pub(super) user_off: Script,
    pub(super) last_seen: LastSeenBounds,
    /// See [`super::RedisBackend`]'s `webhooks`.
    pub(super) webhooks: bool,
}

impl LeaseKeeper {
    /// Renews the lease (and this node's connection count); false when the node was
    /// not registered: removed by another node meanwhile (a pause longer than its
    /// lease), or forgotten by a Redis that restarted.
    pub(super) async fn beat(&self) -> ::redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let known: i64 = self
            .heartbeat
            .key(self.keys.nodes())
            .key(self.keys.conns())
            .arg(&*self.node)
            .arg(self.lease.as_millis() as u64)
            .arg(self.ledger.connections())
            .invoke_async(&mut conn)
            .await?;
        Ok(known == 1)
    }

    fn announce(&self, change: ClusterChange) {
        if self.changed.try_send(change).is_err() {
            tracing::warn!("Redis backend: a membership change was not announced (queue full)");
        }
    }

    async fn reap(&self) -> ::redis::RedisResult<()> {
        let removed = remove_nodes(
            &self.conn,
            &self.keys,
            &self.reap,
            "",
            self.webhooks,
            self.last_seen,
        )
        .await?;
        for change in removed {
            self.announce(change);
        }
        Ok(())
    }

    /// Registers this node's subscriptions again. If other nodes removed them (and
    /// announced `member_removed`), what comes back is announced as new; if Redis lost
    /// them in a restart, nobody was told anything and it comes back silently.
    async fn reregister(&self) -> ::redis::RedisResult<()> {
        let _gate = self.ledger.gate.write().await;
        let mut conn = self.conn.clone();
        let removed: i64 = ::redis::cmd("DEL")
            .arg(self.keys.node_gone(&self.node))
            .query_async(&mut conn)
            .await?;
        let announce = removed == 1;
        let subscriptions = self.ledger.subscriptions();
        for batch in subscriptions.chunks(REREGISTER_BATCH) {
            let mut pipe = ::redis::pipe();
            pipe.load_script(&self.join).ignore();
            for (channel, socket, entry) in batch {
                pipe.invoke_script(&join_call(
                    &self.join,
                    &self.keys,
                    &self.node,
                    channel,
                    *socket,
                    &entry.user,
                    &entry.info,
                    NO_LIMIT,
                    false,
                    self.webhooks,
                ));
            }
            let replies: Vec<Vec<Value>> = pipe.query_async(&mut conn).await?;
            if !announce {
                continue;
            }
            for ((channel, _, entry), reply) in batch.iter().zip(replies) {
                let change = ClusterChange {
                    channel: channel.clone(),
                    channel_occupied: int(reply.get(1)) == 1,
                    member_added: (int(reply.get(2)) == 1).then(|| AddedMember {
                        user_id: entry.user.clone(),
                        user_info: entry.info.clone(),
                    }),
                    version: int(reply.get(4)).max(0) as u64,
                    ..ClusterChange::default()
                };
                if change.channel_occupied || change.member_added.is_some() {
                    self.announce(change);
                }
            }
        }
        let users = self.ledger.users();
        for batch in users.chunks(REREGISTER_BATCH) {
            let mut pipe = ::redis::pipe();
            pipe.load_script(&self.user_on).ignore();
            for (user, socket, info) in batch {
                pipe.invoke_script(&user_on_call(
                    &self.user_on,
                    &self.keys,
                    &self.node,
                    user,
                    *socket,
                    info,
                ));
            }
            let replies: Vec<i64> = pipe.query_async(&mut conn).await?;
            for ((user, _, _), came_online) in batch.iter().zip(replies) {
                // Told offline when the cluster removed them: online again now.
                if announce && came_online == 1 {
                    self.announce(ClusterChange {
                        status: Some((user.to_string(), true)),
                        ..ClusterChange::default()
                    });
                }
            }
        }
        tracing::warn!(
            "Redis backend: node {} registered its {} subscriptions again ({}), and its {} users",
            self.node,
            subscriptions.len(),
            if announce {
                "the cluster had removed them"
            } else {
                "Redis had lost them"
            },
            users.len()
        );
        Ok(())
    }

    /// Tells Redis of the leaves it missed; announces the members and channels they
    /// emptied, once per channel and user.
    async fn settle(&self) -> ::redis::RedisResult<()> {
        let _gate = self.ledger.gate.write().await;
        let mut pending = self.ledger.take_unrecorded();
        let mut announced = HashSet::new();
        let mut conn = self.conn.clone();
        while let Some(leave) = pending.pop() {
            let reply: ::redis::RedisResult<Vec<i64>> = leave_call(
                &self.leave,
                &self.keys,
                &self.node,
                &leave.channel,
                leave.socket,
                &leave.user,
                true,
                self.webhooks,
            )
            .invoke_async(&mut conn)
            .await;
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    pending.push(leave);
                    self.ledger.put_back(pending);
                    return Err(e);
                }
            };
            let removed = (reply.get(2) == Some(&1))
                .then(|| leave.user.clone())
                .filter(|u| announced.insert((leave.channel.clone(), u.clone())));
            let vacated = reply.get(1) == Some(&1)
                && announced.insert((leave.channel.clone(), String::new()));
            if removed.is_some() || vacated {
                self.announce(ClusterChange {
                    channel: leave.channel,
                    member_removed: removed,
                    channel_vacated: vacated,
                    version: reply.get(3).map_or(0, |&v| v.max(0) as u64),
                    ..ClusterChange::default()
                });
            }
        }
        let mut users = self.ledger.take_unrecorded_users();
        while let Some((user, socket)) = users.pop() {
            let reply: ::redis::RedisResult<i64> = user_off_call(
                &self.user_off,
                &self.keys,
                &self.node,
                &user,
                socket,
                &self.last_seen,
            )
            .invoke_async(&mut conn)
            .await;
            match reply {
                Ok(went_offline) if went_offline > 0 => self.announce(ClusterChange {
                    status: Some((user.to_string(), false)),
                    ..ClusterChange::default()
                }),
                Ok(_) => {}
                Err(e) => {
                    users.push((user, socket));
                    for (user, socket) in users {
                        self.ledger.unrecorded_user(user, socket);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub(super) async fn run(self, mut alive: tokio::sync::watch::Receiver<()>) {
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Whether the previous renewal reached Redis: leaves are settled one renewal
        // after Redis is back, when every live node has registered again.
        let mut steady = true;
        loop {
            tokio::select! {
                // The backend is gone: stop renewing, as a crashed node would.
                Err(_) = alive.changed() => return,
                _ = tick.tick() => {}
            }
            let beat = self.beat().await;
            let reached = beat.is_ok();
            let mut bus = self.bus.clone();
            let sent = std::time::Instant::now();
            let rtt = match ::redis::cmd("PING").query_async::<()>(&mut bus).await {
                Ok(()) => sent.elapsed().as_micros().max(1) as u64,
                Err(e) => {
                    tracing::warn!("Redis backend: the bus connection is down: {e}");
                    0
                }
            };
            self.applied.rtt_us.store(rtt, Ordering::Relaxed);
            match beat {
                Ok(true) => {}
                Ok(false) => {
                    if let Err(e) = self.reregister().await {
                        tracing::warn!("Redis backend: subscriptions not registered again: {e}");
                    }
                }
                Err(e) => tracing::warn!("Redis backend: lease not renewed: {e}"),
            }
            self.applied.reachable.store(reached, Ordering::Release);
            if reached && steady {
                if let Err(e) = self.settle().await {
                    tracing::warn!("Redis backend: missed leaves not settled yet: {e}");
                }
            }
            steady = reached;
            if let Err(e) = self.reap().await {
                tracing::warn!("Redis backend: vanished nodes not checked: {e}");
            }
        }
    }
}

/// Removes node `only` (its goodbye), or with `""` every node whose lease ran out,
/// with everything it added; returns what that changed.
pub(super) async fn remove_nodes(
    conn: &ConnectionManager,
    keys: &Keys,
    reap: &Script,
    only: &str,
    webhooks: bool,
    last_seen: LastSeenBounds,
) -> ::redis::RedisResult<Vec<ClusterChange>> {
    let mut conn = conn.clone();
    let (changes, offline): (Vec<Value>, Vec<String>) = reap
        .key(keys.nodes())
        .key(keys.channels())
        .key(keys.conns())
        .arg(&keys.base)
        .arg(only)
        .arg(if webhooks { "1" } else { "0" })
        .arg(last_seen.ttl_ms)
        .arg(last_seen.max)
        .invoke_async(&mut conn)
        .await?;
    let text = |v: Option<&Value>| match v {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let mut out: Vec<ClusterChange> = changes
        .chunks(4)
        .map(|change| ClusterChange {
            channel: text(change.first()),
            member_removed: Some(text(change.get(1))).filter(|u| !u.is_empty()),
            channel_vacated: int(change.get(2)) == 1,
            version: int(change.get(3)).max(0) as u64,
            ..ClusterChange::default()
        })
        .collect();
    out.extend(offline.into_iter().map(|user| ClusterChange {
        status: Some((user, false)),
        ..ClusterChange::default()
    }));
    Ok(out)
}
