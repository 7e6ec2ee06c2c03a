//! What this node has joined, as its own sessions see it: the truth that the lease
//! keeper restores in Redis when Redis lost it (a restart without persistence) or
//! another node removed it (this node paused longer than its lease), and the leaves
//! Redis could not be told of, settled once it answers again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::protocol::socket_id::SocketId;
use crate::shards::lock;

/// Leaves kept for settling at most (a long outage with much churn); past it they are
/// dropped, counted and logged: their members then stay listed until their channel
/// empties or the node restarts.
const MAX_UNRECORDED_LEAVES: usize = 100_000;

/// One subscription of this node: the presence user and `user_info` (both empty
/// outside presence channels).
#[derive(Clone, Debug, Default)]
pub(super) struct Entry {
    pub user: String,
    pub info: String,
}

/// A leave that Redis did not record (unreachable, or no answer in time).
#[derive(Clone, Debug)]
pub(super) struct Unrecorded {
    pub channel: String,
    pub socket: SocketId,
    pub user: String,
}

#[derive(Default)]
pub(super) struct Ledger {
    subscriptions: Mutex<HashMap<(String, SocketId), Entry>>,
    /// This node's connections known as a user, with their `user_info` (empty for
    /// none): restored in Redis with the subscriptions.
    users: Mutex<HashMap<(Arc<str>, SocketId), String>>,
    /// Users' connections whose end Redis did not record, settled with the leaves.
    unrecorded_users: Mutex<Vec<(Arc<str>, SocketId)>>,
    connections: AtomicI64,
    unrecorded: Mutex<Vec<Unrecorded>>,
    dropped_leaves: AtomicU64,
    /// Joins and leaves hold it shared while Redis decides them; re-registering and
    /// settling hold it alone, so that no join or leave of this node runs between
    /// their snapshot and their writes.
    pub gate: tokio::sync::RwLock<()>,
}

impl Ledger {
    pub fn joined(&self, channel: &str, socket: SocketId, entry: Entry) {
        lock(&self.subscriptions).insert((channel.to_string(), socket), entry);
    }

    /// The socket left `channel` here, whatever Redis answers.
    pub fn left(&self, channel: &str, socket: SocketId) {
        lock(&self.subscriptions).remove(&(channel.to_string(), socket));
    }

    pub fn subscriptions(&self) -> Vec<(String, SocketId, Entry)> {
        lock(&self.subscriptions)
            .iter()
            .map(|((c, s), e)| (c.clone(), *s, e.clone()))
            .collect()
    }

    pub fn user_on(&self, user: &Arc<str>, socket: SocketId, info: &str) {
        lock(&self.users).insert((user.clone(), socket), info.to_string());
    }

    pub fn user_off(&self, user: &Arc<str>, socket: SocketId) {
        lock(&self.users).remove(&(user.clone(), socket));
    }

    pub fn users(&self) -> Vec<(Arc<str>, SocketId, String)> {
        lock(&self.users)
            .iter()
            .map(|((u, s), i)| (u.clone(), *s, i.clone()))
            .collect()
    }

    pub fn unrecorded_user(&self, user: Arc<str>, socket: SocketId) {
        let mut pending = lock(&self.unrecorded_users);
        if pending.len() < MAX_UNRECORDED_LEAVES {
            pending.push((user, socket));
            return;
        }
        let n = self.dropped_leaves.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!("Redis backend: {n} unrecorded leaves dropped (too many kept for settling)");
    }

    pub fn take_unrecorded_users(&self) -> Vec<(Arc<str>, SocketId)> {
        std::mem::take(&mut *lock(&self.unrecorded_users))
    }

    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn connections(&self) -> i64 {
        self.connections.load(Ordering::Acquire).max(0)
    }

    pub fn unrecorded(&self, leave: Unrecorded) {
        let mut pending = lock(&self.unrecorded);
        if pending.len() < MAX_UNRECORDED_LEAVES {
            pending.push(leave);
            return;
        }
        let n = self.dropped_leaves.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!("Redis backend: {n} unrecorded leaves dropped (too many kept for settling)");
    }

    pub fn take_unrecorded(&self) -> Vec<Unrecorded> {
        std::mem::take(&mut *lock(&self.unrecorded))
    }

    /// Puts back what could not be settled yet, ahead of newer leaves.
    pub fn put_back(&self, mut leaves: Vec<Unrecorded>) {
        let mut pending = lock(&self.unrecorded);
        leaves.append(&mut pending);
        *pending = leaves;
    }
}
