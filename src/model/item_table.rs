//! The hash table of a store node's items: open addressing with linear probing over one array of
//! `(key, item)` entries, so that a lookup is usually one or two cache lines and its place can be
//! prefetched ([`ItemTable::prefetch`]) before the lookup, which `std`'s table does not allow.
//!
//! Keys are the strategies' store keys (`u64`, never [`EMPTY`]): a session's items differ only in
//! their low 3 bits (the item kind), so the home slot is a Fibonacci hash of the rest plus the
//! kind, and one session's items sit side by side. Deletion shifts the following entries back
//! (no tombstones), and the table doubles at 7/8 load, reinserting in slot order: the layout is a
//! function of the operations, and nothing iterates it in a way that affects results.

/// The key no item has: marks an empty slot.
pub const EMPTY: u64 = u64::MAX;

/// Items keyed by `u64`, in one array, linear probing.
#[derive(Debug, Clone)]
pub struct ItemTable<T> {
    slots: Vec<(u64, T)>,
    len: usize,
    /// `log2(slots.len())`.
    bits: u32,
}

impl<T: Copy + Default> Default for ItemTable<T> {
    fn default() -> Self {
        Self::with_bits(4)
    }
}

impl<T: Copy + Default> ItemTable<T> {
    fn with_bits(bits: u32) -> Self {
        ItemTable {
            slots: vec![(EMPTY, T::default()); 1 << bits],
            len: 0,
            bits,
        }
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot where `key`'s probe starts.
    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        let h = (key >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits);
        (h as usize + (key & 7) as usize) & self.mask()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The probe for `key`: `Ok(slot)` holding it, or `Err(slot)`, the empty slot where it
    /// would go.
    #[inline]
    fn probe(&self, key: u64) -> Result<usize, usize> {
        debug_assert_ne!(key, EMPTY);
        let mut i = self.home(key);
        loop {
            let k = self.slots[i].0;
            if k == key {
                return Ok(i);
            }
            if k == EMPTY {
                return Err(i);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// The slot holding `key`, if any.
    #[inline]
    fn find(&self, key: u64) -> Option<usize> {
        self.probe(key).ok()
    }

    /// Starts loading the entries where `key`'s lookup begins: its home slot and the two after
    /// it, 72 bytes for 24-byte entries, so two or three cache lines (no effect on results). A
    /// probe often goes past its home slot (one session's items sit side by side), and with
    /// entries that straddle lines the home line alone left the next compare waiting.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        let home = self.home(key);
        crate::kernel::prefetch(&self.slots[home]);
        crate::kernel::prefetch(&self.slots[(home + 2) & self.mask()]);
    }

    /// The item under `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<&T> {
        self.find(key).map(|i| &self.slots[i].1)
    }

    /// The item under `key`, mutable.
    #[inline]
    pub fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        self.find(key).map(|i| &mut self.slots[i].1)
    }

    /// Stores `item` under `key`; returns the item it replaced.
    ///
    /// # Panics
    /// If `key` is [`EMPTY`].
    pub fn insert(&mut self, key: u64, item: T) -> Option<T> {
        assert_ne!(key, EMPTY, "the empty-slot key cannot be stored");
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        match self.probe(key) {
            Ok(i) => Some(std::mem::replace(&mut self.slots[i].1, item)),
            Err(i) => {
                self.slots[i] = (key, item);
                self.len += 1;
                None
            }
        }
    }

    /// Removes and returns the item under `key`.
    pub fn remove(&mut self, key: u64) -> Option<T> {
        let mut hole = self.find(key)?;
        let item = self.slots[hole].1;
        self.len -= 1;
        // backward-shift deletion: move back every later entry of the run whose probe passed
        // the hole
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let k = self.slots[j].0;
            if k == EMPTY {
                break;
            }
            let home = self.home(k);
            // the entry at j may fill the hole iff its home is not cyclically in (hole, j]
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole].0 = EMPTY;
        Some(item)
    }

    /// Every `(key, item)`, in slot order (callers that need a meaningful order sort).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        (self.slots.iter())
            .filter(|e| e.0 != EMPTY)
            .map(|(k, it)| (*k, it))
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_bits(self.bits + 1));
        self.len = old.len;
        // the keys are distinct and the new table has room: each goes to the empty slot that
        // ends its probe, without insert's checks
        for (k, it) in old.slots {
            if k != EMPTY {
                let Err(i) = self.probe(k) else {
                    unreachable!("the old table's keys are distinct")
                };
                self.slots[i] = (k, it);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Inserts, replacements, lookups and removals agree with an ordered map, through
        /// growth and through long runs of neighbouring keys (the low 3 bits vary).
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((0u8..3, 0u64..200, any::<u32>()), 1..2000)) {
            let mut t: ItemTable<u32> = ItemTable::default();
            let mut m: BTreeMap<u64, u32> = BTreeMap::new();
            for (op, k, v) in ops {
                let key = (k >> 2) << 36 | (k % 37) << 3 | (k & 3);
                match op {
                    0 => prop_assert_eq!(t.insert(key, v), m.insert(key, v)),
                    1 => prop_assert_eq!(t.remove(key), m.remove(&key)),
                    _ => prop_assert_eq!(t.get(key), m.get(&key)),
                }
                prop_assert_eq!(t.len(), m.len());
            }
            let mut all: Vec<(u64, u32)> = t.iter().map(|(k, &v)| (k, v)).collect();
            all.sort_unstable();
            prop_assert_eq!(all, m.into_iter().collect::<Vec<_>>());
        }
    }
}
