//! Store nodes: memcached (volatile, memory limit with LRU eviction) and Redis (volatile, or
//! AOF with `appendfsync everysec`). Items are keyed by a `u64` the strategy builds (session slot
//! and item kind: session, validity, backup, lock…), hold a size and a session version, and are
//! looked up by hash. The LRU order is a unique stamp per item, so where the table is iterated
//! (to start the eviction log, to keep an AOF's contents at a crash) the order is the stamps',
//! never the table's.
//!
//! Sources: memcached 1.6 `items.c` (LRU: a `set` puts the item at the head, a `get` moves it
//! there only if it was not moved in the last `ITEM_UPDATE_INTERVAL` = 60 s, "so that we don't
//! churn on frequently-accessed items"; a `set` that does not fit evicts from the tail; item
//! footprint = key + value + ~50 bytes header);
//! Redis 7 `aof.c` (`appendfsync everysec`: the AOF is fsynced once a second, so a crash loses at
//! most the last second of writes). memcached's slab classes are not modelled: memory is one pool.

use super::item_table::ItemTable;
use crate::kernel::SimTime;
use std::collections::VecDeque;

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

/// One stored item, as [`StoreNode::get`] returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Value size \[bytes\] (see [`Item::size`]).
    size: u32,
    /// Session version the value holds.
    pub version: u32,
    /// Expiry time (memcached exptime / Redis EXPIRE); `SimTime::MAX` = none.
    pub expires: SimTime,
}

impl Item {
    /// Value size \[bytes\].
    pub fn size(&self) -> u64 {
        self.size.into()
    }
}

/// An item as the hash table keeps it: 16 bytes, so 24 per entry with its key (a 32-byte entry
/// made the full-feature benchmark's four memcached tables 2/3 of its memory). The time of its
/// last move to the LRU head is not kept: its stamp tells it (see [`Lru::moved_before`]); its
/// size is a class (see [`SizeClasses`]).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Expiry time \[ns\] in the high 56 bits ([`NEVER`] = none), size class in the low 8.
    expires_class: u64,
    /// Session version the value holds.
    version: u32,
    /// Rank of the last move to the LRU head (see [`Lru`]).
    stamp: u32,
}

const _: () = assert!(std::mem::size_of::<(u64, Slot)>() == 24);

/// The latest expiry time a node keeps exactly \[ns\] (~834 days): a later one is kept as
/// none, which is the same within a horizon no later than this (the config check holds
/// horizons to it).
pub const EXPIRY_LIMIT_NS: u64 = NEVER - 1;

/// The stored expiry that means none.
const NEVER: u64 = (1 << 56) - 1;

impl Slot {
    fn new(expires: SimTime, class: u8, version: u32, stamp: u32) -> Self {
        let expires = expires.as_ns().min(NEVER);
        Slot {
            expires_class: expires << 8 | u64::from(class),
            version,
            stamp,
        }
    }

    #[inline]
    fn expires(&self) -> SimTime {
        match self.expires_class >> 8 {
            NEVER => SimTime::MAX,
            ns => SimTime::from_ns(ns),
        }
    }

    #[inline]
    fn class(&self) -> u8 {
        self.expires_class as u8
    }
}

/// The class of an item whose size is kept in [`SizeClasses::overflow`].
const OVERFLOW: u8 = u8::MAX;

/// The distinct item sizes a node has seen, so that an item keeps an 8-bit class, not its size.
/// A run's items come in a handful of sizes (a serialized session, a validity record, a lock);
/// the first 255 distinct sizes get a class each, and an item of any other size is of class
/// [`OVERFLOW`], its size kept in a table by key.
struct SizeClasses {
    sizes: Vec<u32>,
    /// Classes handed out at most (255; small in the property tests).
    limit: usize,
    overflow: ItemTable<u32>,
}

impl SizeClasses {
    fn new() -> Self {
        SizeClasses {
            sizes: Vec::new(),
            limit: OVERFLOW as usize,
            overflow: ItemTable::default(),
        }
    }

    /// The class of `size` (a new one if there is room, else [`OVERFLOW`]).
    #[inline]
    fn class(&mut self, size: u32) -> u8 {
        // a linear scan: a run's items come in a handful of sizes, the most frequent first
        if let Some(c) = self.sizes.iter().position(|&s| s == size) {
            return c as u8;
        }
        if self.sizes.len() < self.limit {
            self.sizes.push(size);
            (self.sizes.len() - 1) as u8
        } else {
            OVERFLOW
        }
    }

    /// The size of `key`'s item `s` \[bytes\].
    #[inline]
    fn size(&self, key: u64, s: &Slot) -> u32 {
        match s.class() {
            OVERFLOW => *self
                .overflow
                .get(key)
                .expect("an overflow item has its size"),
            c => self.sizes[c as usize],
        }
    }

    /// The size of `key`'s item `s`, which has been removed \[bytes\] (its overflow entry goes
    /// with it).
    fn release(&mut self, key: u64, s: &Slot) -> u32 {
        match s.class() {
            OVERFLOW => (self.overflow.remove(key)).expect("an overflow item has its size"),
            c => self.sizes[c as usize],
        }
    }

    /// `key`'s item is now of `class` and `size` \[bytes\], in place of `old` (whose size has
    /// been read): an overflow size goes in the table, and an old overflow entry leaves it
    /// unless the new item overflows too (then its size replaces the old one).
    fn replaced(&mut self, key: u64, class: u8, size: u32, old: Option<&Slot>) {
        if class == OVERFLOW {
            self.overflow.insert(key, size);
        } else if old.is_some_and(|o| o.class() == OVERFLOW) {
            self.overflow.remove(key);
        }
    }

    /// `key`'s item `s` as [`StoreNode::get`] returns it.
    #[inline]
    fn item(&self, key: u64, s: &Slot) -> Item {
        Item {
            size: self.size(key, s),
            version: s.version,
            expires: s.expires(),
        }
    }
}

const NIL: u32 = u32::MAX;

/// Stale LRU log entries tolerated beyond the number of items (small in tests, so that they
/// compact often).
const LRU_LOG_SLACK: usize = if cfg!(test) { 4 } else { 1024 };

/// The stamp at which a node renumbers its items' stamps `0..len` in LRU order, so that a `u32`
/// never wraps (the property tests set a small one on their nodes, so that they renumber often).
const STAMP_LIMIT: u32 = u32::MAX;

/// What an AOF node keeps of an item beyond the item itself.
#[derive(Debug, Clone, Copy)]
struct Aof {
    /// Last write \[whole s\] (what the fsync rule needs).
    written_s: u32,
    /// Version durable on disk and its size; size `NIL` = nothing durable yet.
    durable: (u32, u32),
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            written_s: 0,
            durable: (0, NIL),
        }
    }
}

/// memcached `ITEM_UPDATE_INTERVAL` \[s\]: a hit moves an item to the LRU head at most this
/// often.
pub const ITEM_UPDATE_INTERVAL_S: u32 = 60;

/// The LRU order of a node's items is their stamps (the rank of their last move to the head).
/// Once the node first needs to evict, it also keeps `log`, a log of those moves: `(key, stamp)`
/// in stamp order, oldest first, whose first current entry (the key's item still has that stamp)
/// is the LRU tail. Neither touches other items on a move (a linked list rewrites both
/// neighbours of a moved item, two cache misses per `set`), and a node that never fills keeps no
/// log at all. Stale entries are dropped at the front by eviction and by a compaction once they
/// outnumber the items. Stamps are `u32` (the entry stays 24 bytes): before the next one would
/// reach its limit ([`STAMP_LIMIT`]), the node renumbers them `0..len` in the same order and
/// rewrites the log and `seconds` (see [`StoreNode::renumber_lru`]).
///
/// memcached's rule that a hit moves an item only if its last move was at least
/// [`ITEM_UPDATE_INTERVAL_S`] ago needs the second of that move. Stamps grow with time, so
/// `seconds` keeps, for each of the last [`ITEM_UPDATE_INTERVAL_S`] seconds in which a stamp
/// was handed out, its first stamp: an item moved before that window iff its stamp is below the
/// window's first stamp (see [`Lru::moved_before`]). Redis moves on every hit and keeps none.
struct Lru {
    log: VecDeque<(u64, u32)>,
    /// Whether `log` is kept (the node has needed to evict).
    kept: bool,
    /// Stamp of the next move to the LRU head.
    next_stamp: u32,
    /// The stamp that is never handed out: renumber first.
    limit: u32,
    /// Whether `seconds` is kept (memcached).
    timed: bool,
    /// `(second, its first stamp)`, oldest first, for the seconds of the last
    /// [`ITEM_UPDATE_INTERVAL_S`] in which stamps were handed out.
    seconds: VecDeque<(u32, u32)>,
    /// The second of the last stamp (what `stamp` compares with, one load).
    last_s: u32,
    /// The second for which `window_first` holds ([`NO_SECOND`]: recompute).
    window_s: u32,
    /// The first stamp handed out in the window that ends at `window_s`: an item stamped
    /// below it moved before the window.
    window_first: u32,
}

/// No second yet (`Lru::last_s`, `Lru::window_s`).
const NO_SECOND: u32 = u32::MAX;

impl Lru {
    fn new(timed: bool) -> Self {
        Lru {
            log: VecDeque::new(),
            kept: false,
            next_stamp: 0,
            limit: STAMP_LIMIT,
            timed,
            seconds: VecDeque::new(),
            last_s: NO_SECOND,
            window_s: NO_SECOND,
            window_first: 0,
        }
    }

    /// A new stamp for a move of `key` to the LRU head at second `now_s` (logged if the log is
    /// kept). `now_s` never decreases from one call to the next on a timed node.
    #[inline(always)]
    fn stamp(&mut self, key: u64, now_s: u32) -> u32 {
        let stamp = self.next_stamp;
        // one predictable comparison; it catches a missed renumbering in the property tests,
        // whose limit is small
        assert!(stamp < self.limit, "stamps renumbered before the limit");
        self.next_stamp += 1;
        if now_s != self.last_s {
            self.first_of_second(now_s, stamp);
        }
        if self.kept {
            self.log.push_back((key, stamp));
        }
        stamp
    }

    /// `stamp` is the first of second `now_s`: a timed node files it.
    #[cold]
    fn first_of_second(&mut self, now_s: u32, stamp: u32) {
        self.last_s = now_s;
        if self.timed {
            debug_assert!(self.seconds.back().is_none_or(|&(s, _)| s < now_s));
            self.forget_before(now_s);
            self.seconds.push_back((now_s, stamp));
        }
    }

    /// Drops the seconds that are out of the window at `now_s`, and so at any later second.
    #[inline]
    fn forget_before(&mut self, now_s: u32) {
        while let Some(&(s, _)) = self.seconds.front() {
            if s + ITEM_UPDATE_INTERVAL_S > now_s {
                break;
            }
            self.seconds.pop_front();
        }
    }

    /// Whether the item stamped `stamp` was last moved at least [`ITEM_UPDATE_INTERVAL_S`]
    /// whole seconds before `now_s` (memcached's `it->time <= current_time -
    /// ITEM_UPDATE_INTERVAL`). Only for a timed node.
    #[inline(always)]
    fn moved_before(&mut self, stamp: u32, now_s: u32) -> bool {
        debug_assert!(self.timed);
        if now_s != self.window_s {
            self.slide_window(now_s);
        }
        stamp < self.window_first
    }

    /// Finds the window's first stamp at second `now_s` (if no stamp was handed out in the
    /// window, every item moved before it, and so does any item stamped later this second).
    #[cold]
    fn slide_window(&mut self, now_s: u32) {
        self.forget_before(now_s);
        self.window_s = now_s;
        self.window_first = self
            .seconds
            .front()
            .map_or(self.next_stamp, |&(_, first)| first);
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
    /// Key → item.
    index: ItemTable<Slot>,
    /// The items' sizes.
    classes: SizeClasses,
    /// Key → its AOF record, for every item of an AOF node (empty otherwise).
    aof: ItemTable<Aof>,
    /// The LRU order (see [`Lru`]).
    lru: Lru,
    /// Items evicted to make room (LRU).
    pub evictions: u64,
    /// The keys the last `set` evicted (its return value).
    evicted: Vec<u64>,
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
            index: ItemTable::default(),
            classes: SizeClasses::new(),
            aof: ItemTable::default(),
            lru: Lru::new(kind == StoreKind::Memcached),
            evictions: 0,
            evicted: Vec::new(),
        }
    }

    fn footprint(size: u64) -> u64 {
        size + 8 + ITEM_OVERHEAD_BYTES
    }

    /// Whether the LRU log entry `(key, stamp)` is current.
    fn current(&self, (key, stamp): (u64, u32)) -> bool {
        self.index.get(key).is_some_and(|it| it.stamp == stamp)
    }

    /// Drops the stale LRU log entries once they outnumber the items (amortised O(1) per
    /// move). Call only when every moved item holds its new stamp.
    #[inline]
    fn compact_lru(&mut self) {
        if self.lru.log.len() > 2 * self.index.len() + LRU_LOG_SLACK {
            self.compact_lru_now();
        }
    }

    #[cold]
    fn compact_lru_now(&mut self) {
        let mut log = std::mem::take(&mut self.lru.log);
        log.retain(|&e| self.current(e));
        self.lru.log = log;
    }

    /// Every item with its key, the least recently used first. Iterates the hash table, but
    /// the stamps are unique, so the order does not depend on it.
    fn lru_order(&self) -> Vec<(u64, Slot)> {
        let mut v: Vec<(u64, Slot)> = self.index.iter().map(|(k, it)| (k, *it)).collect();
        v.sort_unstable_by_key(|(_, it)| it.stamp);
        v
    }

    /// Renumbers the stamps `0..len` in LRU order and rewrites the log to match (it keeps only
    /// current entries), once the next stamp has reached the limit. Call before an operation
    /// that stamps: each stamps at most once.
    #[inline]
    fn renumber_lru(&mut self) {
        if self.lru.next_stamp >= self.lru.limit {
            self.renumber_lru_now();
        }
    }

    #[cold]
    fn renumber_lru_now(&mut self) {
        let order = self.lru_order();
        for (rank, &(key, _)) in order.iter().enumerate() {
            self.index.get_mut(key).expect("listed item").stamp = rank as u32;
        }
        self.lru.next_stamp = u32::try_from(order.len()).expect("fewer items than stamps");
        // a second's first stamp becomes the rank of the first item stamped in it
        for (_, first) in self.lru.seconds.iter_mut() {
            *first = order.partition_point(|(_, it)| it.stamp < *first) as u32;
        }
        self.lru.window_s = NO_SECOND;
        if self.lru.kept {
            self.lru.log = (order.iter().enumerate())
                .map(|(rank, &(key, _))| (key, rank as u32))
                .collect();
        }
    }

    fn remove(&mut self, key: u64) -> Option<Slot> {
        let it = self.index.remove(key)?;
        self.aof.remove(key);
        self.used_bytes -= Self::footprint(self.classes.release(key, &it).into());
        Some(it)
    }

    /// `get key`: the item if present and not expired (an expired item is removed). A hit
    /// moves it to the head of the LRU list (memcached: only if it was last moved at least
    /// [`ITEM_UPDATE_INTERVAL_S`] ago; Redis: always).
    pub fn get(&mut self, key: u64, now: SimTime) -> Option<Item> {
        self.renumber_lru();
        let item = self.index.get_mut(key)?;
        let it = *item;
        if it.expires() <= now {
            self.remove(key);
            return None;
        }
        let now_s = now.whole_s() as u32;
        if !self.lru.timed || self.lru.moved_before(it.stamp, now_s) {
            item.stamp = self.lru.stamp(key, now_s);
            self.compact_lru();
        }
        Some(self.classes.item(key, &it))
    }

    /// Starts loading where `key` would be found (no effect on results): a strategy that knows
    /// which item its next step reads or writes calls this when it schedules the step.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        self.index.prefetch(key);
    }

    /// Whether `key` is present (no LRU effect, no expiry check): for assertions and recovery.
    pub fn contains(&self, key: u64) -> bool {
        self.index.get(key).is_some()
    }

    /// `set key` (memcached `set`, Redis `SET`): stores or replaces, evicting from the LRU tail
    /// while the footprint exceeds the capacity. Returns the keys evicted, oldest first, valid
    /// until the next `set` (a slice comes back in two registers; a `Vec` came back through
    /// memory, and reading it stalled the caller).
    pub fn set(&mut self, key: u64, size: u64, version: u32, ttl_ns: u64, now: SimTime) -> &[u64] {
        let expires = if ttl_ns == 0 {
            SimTime::MAX
        } else {
            now.plus_ns(ttl_ns)
        };
        self.renumber_lru();
        let size32 = u32::try_from(size).expect("item size below 4 GiB");
        let class = self.classes.class(size32);
        let item = Slot::new(
            expires,
            class,
            version,
            self.lru.stamp(key, now.whole_s() as u32),
        );
        // one probe: a new key's probe runs to an empty slot, the longest kind
        let old_slot = self.index.insert(key, item);
        let old = old_slot.map(|old| self.classes.item(key, &old));
        if let Some(old) = &old {
            self.used_bytes -= Self::footprint(old.size());
        }
        self.classes.replaced(key, class, size32, old_slot.as_ref());
        if self.persistence == Persistence::AofEverysec {
            let durable = match (old, self.aof.get(key)) {
                (Some(old), Some(rec)) => Self::durable_after(&old, rec, now),
                _ => (0, NIL),
            };
            let written_s = now.whole_s() as u32;
            self.aof.insert(key, Aof { written_s, durable });
        }
        self.used_bytes += Self::footprint(size);
        self.evicted.clear();
        if self.over_capacity() && !self.lru.kept {
            self.lru.log = (self.lru_order().into_iter())
                .map(|(key, it)| (key, it.stamp))
                .collect();
            self.lru.kept = true;
        }
        while self.over_capacity() {
            // the LRU tail, unless it is the item just stored
            let Some(&(tail, stamp)) = self.lru.log.front() else {
                break;
            };
            if !self.current((tail, stamp)) {
                self.lru.log.pop_front();
                continue;
            }
            if tail == key {
                break;
            }
            self.lru.log.pop_front();
            self.evicted.push(tail);
            self.remove(tail);
            self.evictions += 1;
        }
        self.compact_lru();
        &self.evicted
    }

    /// Whether the items' footprints exceed a set memory limit (`-m` / `maxmemory`).
    #[inline]
    fn over_capacity(&self) -> bool {
        self.capacity_bytes > 0 && self.used_bytes > self.capacity_bytes
    }

    /// What is durable (AOF everysec) of item `old`, written at `rec.written_s`, seen from
    /// `now`: `(version, size)`. A write is durable once a whole-second fsync boundary has
    /// passed after it.
    fn durable_after(old: &Item, rec: &Aof, now: SimTime) -> (u32, u32) {
        if now.whole_s() > u64::from(rec.written_s) {
            (old.version, old.size)
        } else {
            rec.durable
        }
    }

    /// `delete key`. Returns whether it was present.
    pub fn delete(&mut self, key: u64) -> bool {
        self.remove(key).is_some()
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
        // AOF: what was fsynced, oldest LRU move first
        let keep: Vec<(u64, Item, u32)> = if self.persistence == Persistence::AofEverysec {
            let mut v = Vec::new();
            for (key, it) in self.lru_order() {
                let rec = self
                    .aof
                    .get(key)
                    .expect("an AOF node's item has its record");
                let (version, size) = Self::durable_after(&self.classes.item(key, &it), rec, now);
                if size != NIL {
                    v.push((
                        key,
                        Item {
                            version,
                            size,
                            expires: it.expires(),
                        },
                        rec.written_s,
                    ));
                }
            }
            v
        } else {
            Vec::new()
        };
        let (kind, persistence, cap, ev, limit) = (
            self.kind,
            self.persistence,
            self.capacity_bytes,
            self.evictions,
            self.lru.limit,
        );
        *self = StoreNode::new(kind, persistence, cap);
        self.evictions = ev;
        self.lru.limit = limit;
        self.up = false;
        // reinsert in LRU order, the oldest first, so the newest ends at the head
        for (key, it, written_s) in keep {
            let written = SimTime::from_s(written_s.into());
            self.set(key, it.size.into(), it.version, 0, written);
            if let Some(item) = self.index.get_mut(key) {
                *item = Slot::new(it.expires, item.class(), item.version, item.stamp);
            }
            if let Some(rec) = self.aof.get_mut(key) {
                rec.durable = (it.version, it.size);
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
    use std::collections::BTreeMap;
    const T: SimTime = SimTime::ZERO;
    /// A node whose stamps are renumbered at 40 (above the property tests' 24 keys), so that
    /// the tests go through many renumberings, and with 3 size classes, so that most of their
    /// sizes (1 to 400 bytes) overflow.
    fn small_node(kind: StoreKind, persistence: Persistence, cap: u64) -> StoreNode {
        let mut n = StoreNode::new(kind, persistence, cap);
        n.lru.limit = 40;
        n.classes.limit = 3;
        n
    }

    impl StoreNode {
        /// Keys from the LRU head to the tail.
        fn clone_lru(&self) -> Vec<u64> {
            self.lru_order().iter().rev().map(|&(k, _)| k).collect()
        }

        /// Exactly the items of class [`OVERFLOW`] have a size in the overflow table.
        fn assert_overflow_sizes_match(&self) {
            let overflowing = self.index.iter().filter(|(_, s)| s.class() == OVERFLOW);
            assert_eq!(overflowing.count(), self.classes.overflow.len());
            for (k, s) in self.index.iter() {
                assert_eq!(
                    s.class() == OVERFLOW,
                    self.classes.overflow.get(k).is_some()
                );
            }
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
    fn expiry_times_and_sizes_round_trip() {
        let mut m = StoreNode::new(StoreKind::Memcached, Persistence::Volatile, 0);
        let now = SimTime::from_s(7);
        let exact = EXPIRY_LIMIT_NS - now.as_ns();
        m.set(1, 10, 3, exact, now);
        m.set(2, 20, 4, exact + 1000, now); // later than the limit: kept as none
        m.set(3, u64::from(u32::MAX), 5, 0, now);
        let get = |m: &mut StoreNode, k| m.get(k, now).map(|i| (i.size(), i.version, i.expires));
        let limit = SimTime::from_ns(EXPIRY_LIMIT_NS);
        assert_eq!(get(&mut m, 1), Some((10, 3, limit)));
        assert_eq!(get(&mut m, 2), Some((20, 4, SimTime::MAX)));
        assert_eq!(get(&mut m, 3), Some((u64::from(u32::MAX), 5, SimTime::MAX)));
        assert!(m.get(1, limit).is_none() && m.get(2, limit).is_some());
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

    /// The LRU as a plain list (most recent first), as memcached keeps it: the reference the
    /// stamped store must match operation for operation.
    struct RefLru {
        list: Vec<(u64, u64, SimTime, u32)>, // key, size, expires, last move [s]
        used: u64,
        cap: u64,
    }

    impl RefLru {
        fn get(&mut self, key: u64, now: SimTime) -> Option<u64> {
            let p = self.list.iter().position(|e| e.0 == key)?;
            if self.list[p].2 <= now {
                let e = self.list.remove(p);
                self.used -= StoreNode::footprint(e.1);
                return None;
            }
            let now_s = now.whole_s() as u32;
            let size = self.list[p].1;
            if now_s.saturating_sub(self.list[p].3) >= ITEM_UPDATE_INTERVAL_S {
                let mut e = self.list.remove(p);
                e.3 = now_s;
                self.list.insert(0, e);
            }
            Some(size)
        }
        fn set(&mut self, key: u64, size: u64, ttl: u64, now: SimTime) -> Vec<u64> {
            if let Some(p) = self.list.iter().position(|e| e.0 == key) {
                let e = self.list.remove(p);
                self.used -= StoreNode::footprint(e.1);
            }
            let exp = if ttl == 0 {
                SimTime::MAX
            } else {
                now.plus_ns(ttl)
            };
            self.list.insert(0, (key, size, exp, now.whole_s() as u32));
            self.used += StoreNode::footprint(size);
            let mut ev = Vec::new();
            while self.cap > 0 && self.used > self.cap && self.list.len() > 1 {
                let e = self.list.pop().expect("non-empty");
                self.used -= StoreNode::footprint(e.1);
                ev.push(e.0);
            }
            ev
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Gets, sets, deletes and adds on a memcached node with room for a few items evict
        /// the same keys, in the same order, as a plain LRU list, and leave the same LRU order.
        #[test]
        fn stamped_lru_matches_a_plain_lru_list(
            ops in proptest::collection::vec((0u8..4, 0u64..24, 1u64..400, 0u64..80), 1..400)
        ) {
            let cap = 6 * StoreNode::footprint(200);
            let mut m = small_node(StoreKind::Memcached, Persistence::Volatile, cap);
            let mut r = RefLru { list: Vec::new(), used: 0, cap };
            let mut t_s = 0;
            for (op, key, size, dt_s) in ops {
                // half the operations in the same second as the one before, the others up to
                // 40 s later: windows of ITEM_UPDATE_INTERVAL_S with many moves in each second
                t_s += dt_s.saturating_sub(40);
                let now = SimTime::from_s(t_s);
                let ttl = if key % 5 == 0 { 90_000_000_000 } else { 0 };
                match op {
                    0 => proptest::prop_assert_eq!(m.get(key, now).map(|i| i.size()), r.get(key, now)),
                    1 => proptest::prop_assert_eq!(m.set(key, size, 1, ttl, now), r.set(key, size, ttl, now)),
                    2 => {
                        let was = r.list.iter().position(|e| e.0 == key).map(|p| r.list.remove(p));
                        if let Some(e) = was {
                            r.used -= StoreNode::footprint(e.1);
                        }
                        proptest::prop_assert_eq!(m.delete(key), was.is_some());
                    }
                    _ => {
                        let stored = r.get(key, now).is_none();
                        if stored {
                            r.set(key, size, ttl, now);
                        }
                        proptest::prop_assert_eq!(m.add(key, size, ttl, now), stored);
                    }
                }
                proptest::prop_assert_eq!(m.clone_lru(), r.list.iter().map(|e| e.0).collect::<Vec<_>>());
                proptest::prop_assert_eq!(m.used_bytes(), r.used);
                m.assert_overflow_sizes_match();
            }
        }

        /// On an AOF Redis node with room for a few items, through sets, gets, deletes, adds,
        /// evictions, expiries, stamp renumberings and crashes: every item keeps its AOF record
        /// and no record outlives its item, and after a crash each item holds the version the
        /// fsync rule made durable (a reference keeps, per key, its last write second, version
        /// and durable version, and applies the rule of `durable_after`).
        #[test]
        fn aof_records_follow_the_items(
            ops in proptest::collection::vec((0u8..5, 0u64..24, 1u64..400, 0u64..1500), 1..300)
        ) {
            let cap = 6 * StoreNode::footprint(200);
            let mut r = small_node(StoreKind::Redis, Persistence::AofEverysec, cap);
            // key -> (last write [whole s], version, durable version)
            let mut reference: BTreeMap<u64, (u64, u32, Option<u32>)> = BTreeMap::new();
            let durable = |&(written_s, version, durable): &(u64, u32, Option<u32>), now: SimTime| {
                if now.whole_s() > written_s { Some(version) } else { durable }
            };
            let mut t_ms = 0;
            for (i, (op, key, size, dt_ms)) in ops.into_iter().enumerate() {
                t_ms += dt_ms;
                let now = SimTime::from_ns(t_ms * 1_000_000);
                let ttl = if key % 5 == 0 { 9_000_000_000 } else { 0 };
                let version = i as u32 + 1;
                match op {
                    0 => {
                        r.get(key, now);
                    }
                    1 => {
                        let before = reference.get(&key).filter(|_| r.contains(key)).copied();
                        r.set(key, size, version, ttl, now);
                        let kept = before.and_then(|b| durable(&b, now));
                        reference.insert(key, (now.whole_s(), version, kept));
                    }
                    2 => {
                        r.delete(key);
                    }
                    3 => {
                        if r.add(key, size, ttl, now) {
                            reference.insert(key, (now.whole_s(), 0, None));
                        }
                    }
                    _ => {
                        let evictions = r.evictions;
                        r.crash(now);
                        r.up = true;
                        for (k, it) in r.index.iter() {
                            let expected = reference.get(&k).and_then(|b| durable(b, now));
                            proptest::prop_assert_eq!(Some(it.version), expected, "key {}", k);
                        }
                        if r.evictions == evictions {
                            // nothing made room while reloading: every durable item is back
                            for (&k, rec) in &reference {
                                proptest::prop_assert_eq!(durable(rec, now).is_some(), r.contains(k));
                            }
                        }
                        for (_, rec) in reference.iter_mut() {
                            let kept = durable(rec, now);
                            *rec = (rec.0, kept.unwrap_or(0), kept);
                        }
                    }
                }
                reference.retain(|&k, _| r.contains(k));
                proptest::prop_assert_eq!(r.aof.len(), r.index.len());
                proptest::prop_assert_eq!(reference.len(), r.index.len());
                for (k, _) in r.index.iter() {
                    proptest::prop_assert!(r.aof.get(k).is_some(), "item {} has no AOF record", k);
                }
                r.assert_overflow_sizes_match();
            }
        }
    }
}
