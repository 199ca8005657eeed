//! The table of server-side sessions: a slab indexed by slot, with a generation per slot so
//! that a stale reference (a cookie naming a session that has since been destroyed) never
//! aliases a newer session in the same slot. No hashing on the hot path.

use super::ids::{NodeIdx, SessionId};
use crate::kernel::SimTime;

/// A reference to a server-side session, as a client's cookie resolves to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef {
    /// Slot in the table.
    pub slot: u32,
    /// Generation of the slot when the session was created.
    pub gen: u32,
}

/// One server-side session's metadata.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// Its JSESSIONID.
    pub id: SessionId,
    /// Generation of this slot.
    pub gen: u32,
    /// App node holding the primary copy.
    pub home: NodeIdx,
    /// Position in the home node's list (kept by the strategy).
    pub pos: u32,
    /// Last request that used it (Tomcat thisAccessedTime).
    pub last_access: SimTime,
    /// Number of writes applied (the latest version).
    pub version: u32,
    /// Serialized size \[bytes\].
    pub size_bytes: u32,
    /// Live (not freed).
    pub live: bool,
}

/// All server-side sessions of a run.
#[derive(Default)]
pub struct SessionTable {
    slots: Vec<Session>,
    free: Vec<u32>,
    live: u64,
    peak: u64,
}

impl SessionTable {
    /// Creates a session; returns its reference.
    pub fn create(
        &mut self,
        id: SessionId,
        home: NodeIdx,
        now: SimTime,
        size_bytes: u32,
    ) -> SessionRef {
        self.live += 1;
        self.peak = self.peak.max(self.live);
        let fresh = |gen| Session {
            id,
            gen,
            home,
            pos: 0,
            last_access: now,
            version: 0,
            size_bytes,
            live: true,
        };
        if let Some(slot) = self.free.pop() {
            let s = &mut self.slots[slot as usize];
            let gen = s.gen.wrapping_add(1);
            *s = fresh(gen);
            SessionRef { slot, gen }
        } else {
            let slot = self.slots.len() as u32;
            self.slots.push(fresh(0));
            SessionRef { slot, gen: 0 }
        }
    }

    /// The session `r` names, if it still exists.
    #[inline]
    pub fn get(&self, r: SessionRef) -> Option<&Session> {
        self.slots
            .get(r.slot as usize)
            .filter(|s| s.live && s.gen == r.gen)
    }

    /// Mutable access to the session `r` names, if it still exists.
    #[inline]
    pub fn get_mut(&mut self, r: SessionRef) -> Option<&mut Session> {
        self.slots
            .get_mut(r.slot as usize)
            .filter(|s| s.live && s.gen == r.gen)
    }

    /// The session in `slot` (live or not).
    #[inline]
    pub fn slot(&self, slot: u32) -> &Session {
        &self.slots[slot as usize]
    }

    /// Starts loading the session in `slot` into cache (no effect on results).
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        if let Some(s) = self.slots.get(slot as usize) {
            crate::kernel::prefetch(s);
        }
    }

    /// Mutable access to the session in `slot`.
    #[inline]
    pub fn slot_mut(&mut self, slot: u32) -> &mut Session {
        &mut self.slots[slot as usize]
    }

    /// Destroys the session in `slot` (expiry, invalidation or loss).
    pub fn free(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        debug_assert!(s.live);
        s.live = false;
        self.live -= 1;
        self.free.push(slot);
    }

    /// Number of live sessions.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Largest number of live sessions so far.
    pub fn peak(&self) -> u64 {
        self.peak
    }
}
