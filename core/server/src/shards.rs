//! Maps split into independently locked shards, and lock helpers that survive a panic.
//!
//! An app's channels, connections and users each live in a [`Sharded`] map, so a storm
//! of subscribes, connects or sign-ins touches a few shards at a time and never stalls
//! the rest of the app behind one write lock. Every lock here is held for a map
//! operation only: never across an `.await`, never while writing to sockets.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A panic elsewhere must not take every connection of the app down with it: a
/// poisoned lock is used as it is (each critical section leaves its map consistent
/// between statements).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Enough shards that two busy keys rarely share one on a machine with a few cores.
const SHARDS: usize = 32;

pub(crate) struct Sharded<K, V> {
    shards: Box<[RwLock<HashMap<K, V>>]>,
    hasher: RandomState,
}

impl<K: Hash + Eq, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    pub fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &RwLock<HashMap<K, V>> {
        let h = self.hasher.hash_one(key) as usize;
        &self.shards[h % self.shards.len()]
    }

    pub fn shards(&self) -> impl Iterator<Item = &RwLock<HashMap<K, V>>> {
        self.shards.iter()
    }

    /// Entries over all shards (each shard counted under its own read lock).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }
}
