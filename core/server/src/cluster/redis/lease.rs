//! Node leases: each node renews its own; any node removes the nodes whose lease ran
//! out, with all they added, and hands what that changed to its app service.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{Script, Value};
use tokio::sync::mpsc;

use super::int;
use super::scripts::Keys;
use super::writer::Applied;
use crate::cluster::Departure;
use crate::log;

/// Renews this node's lease and removes nodes whose lease ran out.
pub(super) struct LeaseKeeper {
    pub(super) conn: ConnectionManager,
    pub(super) keys: Arc<Keys>,
    pub(super) node: Arc<str>,
    pub(super) lease: Duration,
    pub(super) departed: mpsc::Sender<Departure>,
    /// Told when Redis answers again, so that broadcasts resume.
    pub(super) applied: Arc<Applied>,
    pub(super) heartbeat: Script,
    pub(super) reap: Script,
}

impl LeaseKeeper {
    /// Renews the lease; false when the node had been removed meanwhile (a pause
    /// longer than its lease).
    pub(super) async fn beat(&self) -> ::redis::RedisResult<bool> {
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

    pub(super) async fn run(self, mut alive: tokio::sync::watch::Receiver<()>) {
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
pub(super) async fn remove_nodes(
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
