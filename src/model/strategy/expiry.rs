//! Lazy expiry checks for sessions held in memory: which sessions have been idle for at least
//! the timeout, without scanning every session at every sweep.
//!
//! Tomcat's `ManagerBase.processExpires` looks at every session every 60 s; done literally that
//! is O(sessions) per sweep and per node (30% of a 3000 s closed-loop-rr run). Here each tracked
//! session has one pending check, filed under the time it would expire if never accessed again,
//! in buckets of 2^30 ns ≈ 1.07 s (a ring, one slot per bucket). The filed time is never late, because an access only moves
//! the expiry later. At a sweep the due checks run: a session idle for at least the timeout is
//! returned, one accessed since is refiled under its new expiry, one no longer tracked is
//! dropped. A session is looked at about once per timeout instead of once per sweep, and the
//! set returned is exactly the set a full scan would find (unit-tested against one in
//! `local.rs`).

use super::Cx;
use crate::model::session::Session;
use std::collections::VecDeque;

/// Checks are filed in buckets of 2^30 ns ≈ 1.07 s (a ring, one slot per bucket).
const BUCKET_SHIFT: u32 = 30;

/// A pending check: (slot, session generation, owner's tag).
type Check = (u32, u32, u32);

/// Pending expiry checks of one set of sessions (a node's memory, or all sessions): a ring of
/// buckets, `buckets[k]` holding the checks filed under bucket `base + k`.
#[derive(Debug, Clone, Default)]
pub struct ExpiryChecks {
    base: u64,
    buckets: VecDeque<Vec<Check>>,
}

impl ExpiryChecks {
    /// Starts tracking the session in `slot` (generation `gen`), which expires at the earliest
    /// `last_access_ns + timeout_ns`; `tag` is handed back to the owner's test at check time
    /// (e.g. an insert stamp, so a re-inserted session's older check is recognised as stale).
    #[inline]
    pub fn track(&mut self, slot: u32, gen: u32, tag: u32, last_access_ns: u64, timeout_ns: u64) {
        let due = last_access_ns.saturating_add(timeout_ns);
        self.file(due >> BUCKET_SHIFT, (slot, gen, tag));
    }

    fn file(&mut self, bucket: u64, check: Check) {
        // a bucket already passed is checked at the next sweep, which is still on time
        let k = bucket.saturating_sub(self.base) as usize;
        if k >= self.buckets.len() {
            self.buckets.resize_with(k + 1, Vec::new);
        }
        self.buckets[k].push(check);
    }

    /// Forgets every check (the tracked set was emptied at once, e.g. a node's memory lost).
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    /// The tracked sessions idle for at least `cx.timeout_ns` at `cx.now`, in a deterministic
    /// order (by filed expiry bucket, then filing order); each at most once. The caller must
    /// remove them. `tracked(slot, tag, session)` says whether a live session of the right
    /// generation is still in the set.
    pub fn due(&mut self, cx: &Cx<'_>, tracked: impl Fn(u32, u32, &Session) -> bool) -> Vec<u32> {
        let now = cx.now.as_ns();
        let cur = now >> BUCKET_SHIFT;
        let mut out = Vec::new();
        let mut refile = Vec::new();
        // every bucket before the current one, then the current one (which stays the ring's
        // front: checks due later in it are filed back there)
        while self.base <= cur && !self.buckets.is_empty() {
            let last = self.base == cur;
            let list = if !last {
                self.base += 1;
                self.buckets.pop_front().unwrap_or_default()
            } else {
                std::mem::take(&mut self.buckets[0])
            };
            for (slot, gen, tag) in list {
                let s = cx.sessions.slot(slot);
                if !(s.live && s.gen == gen && tracked(slot, tag, s)) {
                    continue;
                }
                let due = s.last_access.as_ns().saturating_add(cx.timeout_ns);
                if due <= now {
                    out.push(slot);
                } else {
                    refile.push((due >> BUCKET_SHIFT, (slot, gen, tag)));
                }
            }
            if last {
                break;
            }
        }
        self.base = self.base.max(cur);
        for (bucket, check) in refile {
            self.file(bucket, check);
        }
        out
    }
}
