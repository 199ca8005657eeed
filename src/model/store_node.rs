//! Store nodes: memcached (volatile, memory limit with LRU eviction) and Redis (volatile, or
//! AOF with `appendfsync everysec`). Items are keyed by a `u64` the strategy builds (session slot
//! and item kind: session, validity, backup, lock…), hold a size and a session version, and are
//! looked up by hash (never iterated in a way that affects results: eviction follows the LRU list).
//!
//! Sources: memcached 1.6 `items.c` (LRU: a `set` puts the item at the head, a `get` moves it
//! there only if it was not moved in the last `ITEM_UPDATE_INTERVAL` = 60 s, "so that we don't
//! churn on frequently-accessed items"; a `set` that does not fit evicts from the tail; item
//! footprint = key + value + ~50 bytes header);
//! Redis 7 `aof.c` (`appendfsync everysec`: the AOF is fsynced once a second, so a crash loses at
//! most the last second of writes). memcached's slab classes are not modelled: memory is one pool.

use crate::kernel::SimTime;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Bytes of per-item overhead (memcached item header, rounded).
pub const ITEM_OVERHEAD_BYTES: u64 = 50;

/// Store flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// memcached.
    Memcached,
    /// Redis.
    Redis,
}

/// Redis persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing survives a crash.
    Volatile,
    /// AOF, fsync every second: a crash loses the writes of the last (partial) second.
    AofEverysec,
}

/// One stored item.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Value size \[bytes\].
    pub size: u64,
    /// Expiry time (memcached exptime / Redis EXPIRE); `SimTime::MAX` = none.
    pub expires: SimTime,
    /// Last write.
    pub written: SimTime,
    key: u64,
    /// Session version the value holds.
    pub version: u32,
    prev: u32,
    next: u32,
    /// Last move to the head of the LRU list \[whole s\] (memcached keeps seconds too).
    bumped_s: u32,
    /// Version durable on disk (AOF) and its size; size `NIL` = nothing durable yet.
    durable: (u32, u32),
}

const NIL: u32 = u32::MAX;

/// memcached `ITEM_UPDATE_INTERVAL` \[s\]: a hit moves an item to the LRU head at most this
/// often.
pub const ITEM_UPDATE_INTERVAL_S: u32 = 60;

/// The hash of a store key: the keys of one session's items differ only in their low 3 bits
/// (the item kind, see `msm_sticky::key`), so those bits are added after mixing the rest: a
/// session's items land in neighbouring buckets of the table, and the second and later
/// operations of a request on its session find their bucket already in cache. (The keys are
/// the strategies' own integers, never input, so no DoS-resistant hash is needed.)
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("store keys are u64")
    }
    #[inline]
    fn write_u64(&mut self, key: u64) {
        // Fibonacci hashing of the session part; hashbrown takes the bucket from the low bits
        // and a 7-bit tag from the top bits
        let h = (key >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h.rotate_left(26).wrapping_add(key & 7);
    }
}

/// One store node.
pub struct StoreNode {
    /// Flavour.
    pub kind: StoreKind,
    /// Persistence (Redis).
    pub persistence: Persistence,
    /// Up?
    pub up: bool,
    /// Memory limit for item footprints \[bytes\] (0 = unlimited).
    pub capacity_bytes: u64,
    used_bytes: u64,
    /// Key → item index.
    index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    items: Vec<Item>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    /// Items evicted to make room (LRU).
    pub evictions: u64,
}

impl StoreNode {
    /// An empty node.
    pub fn new(kind: StoreKind, persistence: Persistence, capacity_bytes: u64) -> Self {
        StoreNode {
            kind,
            persistence,
            up: true,
            capacity_bytes,
            used_bytes: 0,
            index: HashMap::default(),
            items: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            evictions: 0,
        }
    }

    fn footprint(size: u64) -> u64 {
        size + 8 + ITEM_OVERHEAD_BYTES
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.items[i as usize].prev, self.items[i as usize].next);
        if p != NIL {
            self.items[p as usize].next = n
        } else {
            self.head = n
        }
        if n != NIL {
            self.items[n as usize].prev = p
        } else {
            self.tail = p
        }
    }

    fn push_front(&mut self, i: u32) {
        self.items[i as usize].prev = NIL;
        self.items[i as usize].next = self.head;
        if self.head != NIL {
            self.items[self.head as usize].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn remove_index(&mut self, i: u32) {
        self.unlink(i);
        self.used_bytes -= Self::footprint(self.items[i as usize].size);
        self.index.remove(&self.items[i as usize].key);
        self.free.push(i);
    }

    /// `get key`: the item if present and not expired (an expired item is removed). A hit
    /// moves it to the head of the LRU list (memcached: only if it was last moved at least
    /// [`ITEM_UPDATE_INTERVAL_NS`] ago; Redis: always).
    pub fn get(&mut self, key: u64, now: SimTime) -> Option<Item> {
        let &i = self.index.get(&key)?;
        let it = self.items[i as usize];
        if it.expires <= now {
            self.remove_index(i);
            return None;
        }
        let now_s = now.whole_s() as u32;
        if self.kind == StoreKind::Redis
            || now_s.saturating_sub(it.bumped_s) >= ITEM_UPDATE_INTERVAL_S
        {
            self.unlink(i);
            self.push_front(i);
            self.items[i as usize].bumped_s = now_s;
        }
        Some(it)
    }

    /// Whether `key` is present (no LRU effect, no expiry check): for assertions and recovery.
    pub fn contains(&self, key: u64) -> bool {
        self.index.contains_key(&key)
    }

    /// `set key` (memcached `set`, Redis `SET`): stores or replaces, evicting from the LRU tail
    /// while the footprint exceeds the capacity. Returns the keys evicted.
    pub fn set(
        &mut self,
        key: u64,
        size: u64,
        version: u32,
        ttl_ns: u64,
        now: SimTime,
    ) -> Vec<u64> {
        let expires = if ttl_ns == 0 {
            SimTime::MAX
        } else {
            now.plus_ns(ttl_ns)
        };
        let old = self.index.get(&key).copied();
        let durable = match old {
            Some(i) => self.durable_after(&self.items[i as usize], now),
            None => (0, NIL),
        };
        let item = Item {
            size,
            expires,
            written: now,
            key,
            version,
            prev: NIL,
            next: NIL,
            bumped_s: now.whole_s() as u32,
            durable,
        };
        let i = match old {
            // replaced in place: same index entry, moved to the head
            Some(i) => {
                self.unlink(i);
                self.used_bytes -= Self::footprint(self.items[i as usize].size);
                self.items[i as usize] = item;
                i
            }
            None => {
                let i = match self.free.pop() {
                    Some(i) => {
                        self.items[i as usize] = item;
                        i
                    }
                    None => {
                        self.items.push(item);
                        (self.items.len() - 1) as u32
                    }
                };
                self.index.insert(key, i);
                i
            }
        };
        self.push_front(i);
        self.used_bytes += Self::footprint(size);
        let mut evicted = Vec::new();
        while self.capacity_bytes > 0 && self.used_bytes > self.capacity_bytes && self.tail != i {
            let t = self.tail;
            evicted.push(self.items[t as usize].key);
            self.remove_index(t);
            self.evictions += 1;
        }
        evicted
    }

    /// What is durable of an item written at `old.written`, seen from `now`: with AOF
    /// everysec, a write is durable once a whole-second fsync boundary has passed after it.
    fn durable_after(&self, old: &Item, now: SimTime) -> (u32, u32) {
        if self.persistence != Persistence::AofEverysec {
            return (0, NIL);
        }
        if now.whole_s() > old.written.whole_s() {
            (old.version, old.size as u32)
        } else {
            old.durable
        }
    }

    /// `delete key`. Returns whether it was present.
    pub fn delete(&mut self, key: u64) -> bool {
        match self.index.get(&key) {
            Some(&i) => {
                self.remove_index(i);
                true
            }
            None => false,
        }
    }

    /// `add key` (memcached; Redis `SETNX`): stores only if absent; returns whether it stored.
    pub fn add(&mut self, key: u64, size: u64, ttl_ns: u64, now: SimTime) -> bool {
        if self.get(key, now).is_some() {
            return false;
        }
        self.set(key, size, 0, ttl_ns, now);
        true
    }

    /// The node crashes: memcached and volatile Redis lose everything; AOF Redis keeps, per
    /// item, the last version fsynced before `now` (an item written within the current second
    /// reverts to its previous durable version, or disappears if it had none).
    pub fn crash(&mut self, now: SimTime) {
        self.up = false;
        let keep: Vec<(u64, Item)> = if self.persistence == Persistence::AofEverysec {
            let mut v: Vec<(u64, Item)> = Vec::new();
            let mut i = self.head;
            while i != NIL {
                let it = self.items[i as usize];
                let (version, size) = if now.whole_s() > it.written.whole_s() {
                    (it.version, it.size as u32)
                } else {
                    it.durable
                };
                if size != NIL {
                    v.push((
                        it.key,
                        Item {
                            version,
                            size: size as u64,
                            durable: (version, size),
                            ..it
                        },
                    ));
                }
                i = it.next;
            }
            v
        } else {
            Vec::new()
        };
        let (kind, persistence, cap, ev) = (
            self.kind,
            self.persistence,
            self.capacity_bytes,
            self.evictions,
        );
        *self = StoreNode::new(kind, persistence, cap);
        self.evictions = ev;
        self.up = false;
        // reinsert in LRU order (head first → insert from the tail end)
        for (key, it) in keep.into_iter().rev() {
            self.set(key, it.size, it.version, 0, it.written);
            if let Some(&i) = self.index.get(&key) {
                self.items[i as usize].expires = it.expires;
                self.items[i as usize].durable = it.durable;
            }
        }
    }

    /// Bytes of item footprints in use.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const T: SimTime = SimTime::ZERO;

    impl StoreNode {
        /// Keys from the LRU head to the tail.
        fn clone_lru(&self) -> Vec<u64> {
            let mut v = Vec::new();
            let mut i = self.head;
            while i != NIL {
                v.push(self.items[i as usize].key);
                i = self.items[i as usize].next;
            }
            v
        }
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let fp = StoreNode::footprint(100);
        let mut m = StoreNode::new(StoreKind::Memcached, Persistence::Volatile, 3 * fp);
        for k in 1..=3 {
            m.set(k, 100, 1, 0, T);
        }
        let minute = SimTime::from_s(ITEM_UPDATE_INTERVAL_S as u64);
        // a hit within ITEM_UPDATE_INTERVAL of the last move does not move the item
        assert!(m.get(1, SimTime::from_s(59)).is_some());
        assert_eq!(m.clone_lru(), vec![3, 2, 1]);
        assert!(m.get(1, minute).is_some()); // 1 is now most recent; 2 is the LRU
        assert_eq!(m.clone_lru(), vec![1, 3, 2]);
        assert_eq!(m.set(4, 100, 1, 0, minute), vec![2]);
        assert_eq!(m.evictions, 1);
        assert!(m.contains(1) && m.contains(3) && m.contains(4) && !m.contains(2));
        assert_eq!(m.used_bytes(), 3 * fp);
        assert!(!m.add(1, 100, 0, T));
        assert!(m.delete(3) && !m.delete(3));
    }

    #[test]
    fn expiry_and_crash() {
        let mut m = StoreNode::new(StoreKind::Memcached, Persistence::Volatile, 0);
        m.set(1, 10, 1, 5, T);
        assert!(m.get(1, SimTime::from_ns(4)).is_some());
        assert!(m.get(1, SimTime::from_ns(5)).is_none());
        m.set(2, 10, 1, 0, T);
        m.crash(SimTime::from_s(9));
        assert!(m.is_empty() && !m.up);
    }

    #[test]
    fn aof_everysec_keeps_what_was_fsynced() {
        let mut r = StoreNode::new(StoreKind::Redis, Persistence::AofEverysec, 0);
        let at = |ms: u64| SimTime::from_ns(ms * 1_000_000);
        r.set(1, 10, 1, 0, at(100)); // fsynced at the 1 s boundary
        r.set(1, 10, 2, 0, at(1500)); // v2 written in second 1
        r.set(1, 10, 3, 0, at(1700)); // v3 too
        r.set(2, 10, 1, 0, at(1800)); // new key, never fsynced
        r.crash(at(1900));
        assert_eq!(r.get(1, at(2000)).map(|i| i.version), Some(1));
        assert!(r.get(2, at(2000)).is_none());
        let mut r = StoreNode::new(StoreKind::Redis, Persistence::AofEverysec, 0);
        r.set(1, 10, 1, 0, at(100));
        r.crash(at(2100));
        assert_eq!(r.get(1, at(2200)).map(|i| i.version), Some(1));
    }
}
