//! The index from 4-tuple to the newest connection on it. A SYN flood makes a million entries, so
//! each is kept small: keyed by a 64-bit hash of the tuple (16 bytes a slot instead of 68), the
//! tuple itself checked against the connection found. The rare tuple whose hash another held tuple
//! already has goes to a second, exact map.

use std::hash::{BuildHasher, Hash};
use std::net::SocketAddr;

use rustc_hash::{FxBuildHasher, FxHashMap};

/// A 4-tuple with its endpoints in a canonical order, so both directions map to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b {
            Self(a, b)
        } else {
            Self(b, a)
        }
    }
}

/// Connection ids by 4-tuple.
#[derive(Debug, Clone)]
pub struct FlowIndex {
    by_hash: FxHashMap<u64, u32>,
    collided: FxHashMap<FlowKey, u32>,
    hash: fn(&FlowKey) -> u64,
}

impl Default for FlowIndex {
    fn default() -> Self {
        Self::with_hash(|key| FxBuildHasher.hash_one(key))
    }
}

impl FlowIndex {
    /// An index hashing with `hash` (tests use a poor one to force collisions).
    fn with_hash(hash: fn(&FlowKey) -> u64) -> Self {
        Self { by_hash: FxHashMap::default(), collided: FxHashMap::default(), hash }
    }

    /// The connection on `key`; `key_of` gives the tuple of a held connection by id.
    pub fn get(&self, key: &FlowKey, key_of: impl Fn(u32) -> Option<FlowKey>) -> Option<u32> {
        if let Some(&id) = self.by_hash.get(&(self.hash)(key)) {
            if key_of(id).as_ref() == Some(key) {
                return Some(id);
            }
        }
        self.collided.get(key).copied()
    }

    /// Makes `id` the connection on `key`.
    pub fn insert(&mut self, key: FlowKey, id: u32, key_of: impl Fn(u32) -> Option<FlowKey>) {
        let hash = (self.hash)(&key);
        match self.by_hash.get(&hash) {
            // Another tuple still held owns this hash.
            Some(&other) if key_of(other).is_some_and(|held| held != key) => {
                self.collided.insert(key, id);
            }
            _ => {
                self.by_hash.insert(hash, id);
                self.collided.remove(&key);
            }
        }
    }

    /// Forgets `key` if `id` is still its connection.
    pub fn remove(&mut self, key: &FlowKey, id: u32) {
        let hash = (self.hash)(key);
        if self.by_hash.get(&hash) == Some(&id) {
            self.by_hash.remove(&hash);
        }
        if self.collided.get(key) == Some(&id) {
            self.collided.remove(key);
        }
    }

    /// Bytes of the tables (their slots and control bytes).
    pub fn bytes(&self) -> usize {
        self.by_hash.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.collided.capacity() * (std::mem::size_of::<(FlowKey, u32)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> FlowKey {
        FlowKey::new(SocketAddr::from(([10, 0, 0, 1], port)), SocketAddr::from(([10, 0, 0, 2], 80)))
    }

    /// Every tuple hashes alike: all but the first go to the exact map, and all are found.
    #[test]
    fn colliding_tuples_are_told_apart_by_the_connection_they_find() {
        let mut index = FlowIndex::with_hash(|_| 7);
        let held: Vec<FlowKey> = (0..5).map(key).collect();
        let key_of = |id: u32| held.get(id as usize).copied();
        for (id, k) in held.iter().enumerate() {
            assert_eq!(index.get(k, key_of), None);
            index.insert(*k, id as u32, key_of);
        }
        for (id, k) in held.iter().enumerate() {
            assert_eq!(index.get(k, key_of), Some(id as u32));
        }
        assert_eq!(index.collided.len(), 4);
        // The hash's owner goes: the others are still found, and a newcomer takes the hash.
        index.remove(&held[0], 0);
        let key_of_after = |id: u32| held.get(id as usize).copied().filter(|_| id != 0);
        assert_eq!(index.get(&held[0], key_of_after), None);
        assert_eq!(index.get(&held[3], key_of_after), Some(3));
        assert_eq!(index.get(&key(9), key_of_after), None);
    }

    /// A connection evicted without being removed (its id finds nothing) does not shadow a new one.
    #[test]
    fn a_stale_slot_is_taken_over() {
        let mut index = FlowIndex::default();
        index.insert(key(1), 0, |_| None);
        assert_eq!(index.get(&key(1), |_| None), None, "its connection is gone");
        index.insert(key(1), 5, |id| (id == 5).then(|| key(1)));
        assert_eq!(index.get(&key(1), |id| (id == 5).then(|| key(1))), Some(5));
        assert!(index.bytes() > 0);
    }
}
