//! `msm-non-sticky`: memcached-session-manager 2.x with `sticky="false"`. memcached holds the
//! primary copy; every dynamic request loads the session and saves it back, so any Tomcat can
//! serve any request.
//!
//! ```text
//!  begin: [add lock:<id> (retry 10 ms ×2 … 500 ms until operation_timeout, then go on
//!          WITHOUT the lock)] ─► get <id> ─► get validity:<id>        (one RTT each, in turn)
//!         primary node unavailable ─► get bak:validity:<id>, get bak:<id> on the next node,
//!          relocate (id gets that node)
//!  end:   [set <id> if changed] ─► set validity:<id> ─► [delete lock:<id>]   on the id's node
//!         > 1 node: [set bak:<id> if changed], set bak:validity:<id> on the next node (async)
//! ```
//!
//! Per dynamic request on a live session, no faults, the store operations are exactly
//! (FIDELITY §4): `get` + `get validity` + `set validity` (+ `set` when it writes); with > 1
//! node + `set bak:validity` (+ `set bak:` when it writes); with a lock + `add lock` +
//! `delete lock` (+ one `add` per retry). A request that creates the session does no load:
//! `set` + `set validity` (+ the two backup sets).
//!
//! Locking modes (msm `lockingMode`): `none` (default); `all`; `auto` (msm
//! `LockingStrategyAuto` skips the lock for request URIs it has seen finishing read-only, per
//! Tomcat: we have no URIs, so a Tomcat's read requests are one URI class and its writes
//! another — reads are locked until the Tomcat has seen one read-only request, writes always);
//! `uri-pattern:<regex>` (msm locks requests whose URI matches: the regex is meant to name the
//! modifying URIs, so it is modelled as "lock the requests that write"; the regex itself is not
//! used). Lock expiration `lock_expiration` (default 5 s) frees the lock of a Tomcat that died.
//!
//! Backups: with `backup_async` (msm `sessionBackupAsync`, default true) the primary sets and
//! the lock release are sent by a background task after serialization and land after one way +
//! one op (a Tomcat crash before that loses them; the lock then expires); with false the request
//! waits for `set <id>` and `set validity` (each at most `backup_timeout`). The `bak:` sets are
//! always asynchronous, one RTT after the primary ones. Concurrent requests of one session that
//! are not serialized by the lock read the same version: the later write overwrites the earlier
//! (`lost_update`); a read of an older version than the latest written is a `stale_read`.
//!
//! Node availability as in `msm-sticky` (detected on use after `operation_timeout`, believed
//! down for 1000 ms per Tomcat). A memcached item evicted (LRU) or expired is a lost session.
//!
//! Simplified: concurrent requests of one session on the same Tomcat each load their own copy
//! (msm shares one in-memory session and backs it up only when the last request ends); msm's
//! asynchronous "ping" of an unchanged session (`add` of the existing key to refresh its
//! expiration) and of its backup are not modelled; the forced backup after maxInactiveInterval
//! without a backup is not modelled; a primary-node failure detected during the load is recovered
//! from the backup in the same request (msm may serve that one request with a new session);
//! keys are per logical session (slot + generation), so relocation reuses the item key.
//!
//! Source: memcached-session-manager 2.3 `MemcachedSessionService` (`findSession`,
//! `loadFromMemcached`, `changeSessionIdOnMemcachedFailover`, `loadBackupSession`,
//! `backupSession`), `LockingStrategy` (`lock`/`acquireLock`: LOCK_RETRY_INTERVAL 10,
//! LOCK_MAX_RETRY_INTERVAL 500, `onAfterLoadFromMemcached`, `onAfterBackupSession`,
//! `OnAfterBackupSessionTask`), `LockingStrategyAll`, `LockingStrategyAuto` /
//! `ReadOnlyRequestsCache`, `LockingStrategyUriPattern`, `BackupSessionTask`.

use super::expiry::ExpiryChecks;
use super::msm_sticky::{
    check_store, count_op, d_backup_timeout, d_op_timeout, d_true, key, rtt, store_write, Async,
    Kind, Nodes, Pending, LOCK_BYTES, VALIDITY_BYTES,
};
use super::{Cx, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::model::ids::{NodeIdx, SessionId};
use crate::model::session::{SessionRef, SessionTable};
use crate::model::store_node::StoreNode;
use crate::scenario::config::ExperimentConfig;
use crate::scenario::units::Duration;
use serde::Deserialize;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "msm-non-sticky",
    doc: "memcached-session-manager non-sticky: load and save every request, optional locks, bak: copy",
    check: |cfg| {
        let o: Options = super::options(&cfg.strategy)?;
        LockMode::parse(&o.locking_mode).map_err(|m| ("locking_mode".to_string(), m))?;
        check_store(cfg, &o.failover_nodes)
    },
    build: |cfg| {
        let o: Options = super::options(&cfg.strategy).expect("checked");
        Box::new(MsmNonSticky::new(cfg, o))
    },
    node_bound: false,
};

/// Options of `msm-non-sticky`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// Store indices used only when no other node is available (default none).
    #[serde(default)]
    pub failover_nodes: Vec<u16>,
    /// memcached operation timeout, also the longest lock wait (default 1000ms).
    #[serde(default = "d_op_timeout")]
    pub operation_timeout: Duration,
    /// `"java"` (default) or `"kryo"`.
    #[serde(default)]
    pub serializer: Serializer,
    /// Back up asynchronously (msm `sessionBackupAsync`; default true).
    #[serde(default = "d_true")]
    pub backup_async: bool,
    /// Longest wait per synchronous backup operation (default 100ms).
    #[serde(default = "d_backup_timeout")]
    pub backup_timeout: Duration,
    /// `"none"` (default), `"all"`, `"auto"` or `"uri-pattern:<regex>"`.
    #[serde(default = "d_locking")]
    pub locking_mode: String,
    /// Expiration of `lock:<id>` (msm: 5 s; default 5s).
    #[serde(default = "d_lock_exp")]
    pub lock_expiration: Duration,
}

fn d_locking() -> String {
    "none".into()
}
fn d_lock_exp() -> Duration {
    Duration(5_000_000_000)
}

/// Locking mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Never lock.
    None,
    /// Lock every request.
    All,
    /// Lock unless the request's URI is known read-only.
    Auto,
    /// Lock the requests matching the pattern (modelled: the requests that write).
    UriPattern,
}

impl LockMode {
    /// Parses msm's `lockingMode` value.
    ///
    /// # Errors
    /// A message listing the accepted values.
    pub fn parse(s: &str) -> Result<LockMode, String> {
        match s {
            "none" => Ok(LockMode::None),
            "all" => Ok(LockMode::All),
            "auto" => Ok(LockMode::Auto),
            _ => match s.strip_prefix("uri-pattern:") {
                Some(re) if !re.is_empty() => Ok(LockMode::UriPattern),
                _ => Err(format!(
                    "expected \"none\", \"all\", \"auto\" or \"uri-pattern:<regex>\", got \"{s}\""
                )),
            },
        }
    }
}

/// Bits of `ReqState::scratch`: lock held, forced backup (new or relocated), lock backoff
/// \[ms\] in bits 8..24, version read + 1 in bits 32..64.
const HELD: u64 = 1;
const FORCE: u64 = 2;
const BACKOFF_SHIFT: u32 = 8;
const VERSION_SHIFT: u32 = 32;
/// msm LOCK_RETRY_INTERVAL and LOCK_MAX_RETRY_INTERVAL \[ms\].
const LOCK_RETRY_MS: u64 = 10;
const LOCK_MAX_RETRY_MS: u64 = 500;

/// Stages of `begin`.
const LOCK: u8 = 1;
const GET: u8 = 2;
const GOT: u8 = 3;
const VALIDITY: u8 = 4;
const BACKUP: u8 = 10;
const BAK_VALIDITY: u8 = 11;
const BAK_GOT: u8 = 12;

/// The strategy.
pub struct MsmNonSticky {
    nodes: Nodes,
    asyncs: Async,
    ser: Serializer,
    backup_async: bool,
    backup_timeout_ns: u64,
    mode: LockMode,
    lock_exp_ns: u64,
    /// Per Tomcat: a read-only request has finished there (auto mode).
    read_only_seen: Vec<bool>,
    /// Expiry checks of every live session.
    expiry: ExpiryChecks,
}

impl MsmNonSticky {
    fn new(cfg: &ExperimentConfig, o: Options) -> Self {
        let apps = cfg.app.nodes as usize;
        MsmNonSticky {
            nodes: Nodes::new(
                apps,
                cfg.store.nodes as u16,
                &o.failover_nodes,
                o.operation_timeout.ns(),
            ),
            asyncs: Async::new(apps),
            ser: o.serializer,
            backup_async: o.backup_async,
            backup_timeout_ns: o.backup_timeout.ns(),
            mode: LockMode::parse(&o.locking_mode).expect("checked"),
            lock_exp_ns: o.lock_expiration.ns(),
            read_only_seen: vec![false; apps],
            expiry: ExpiryChecks::default(),
        }
    }

    /// Destroys session `r` if it is still live (its every copy is gone, or it expired).
    fn free(&mut self, cx: &mut Cx<'_>, r: SessionRef) {
        if cx.sessions.get(r).is_none() {
            return;
        }
        cx.sessions.free(r.slot);
    }

    fn needs_lock(&self, req: &Req<'_>) -> bool {
        match self.mode {
            LockMode::None => false,
            LockMode::All => true,
            LockMode::Auto => req.write || !self.read_only_seen[req.node as usize],
            LockMode::UriPattern => req.write,
        }
    }

    /// Releases the lock (asynchronous `delete`, not waited for) if the request holds it.
    fn release_now(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, r: SessionRef, store: u16) {
        if req.st.scratch & HELD == 0 {
            return;
        }
        req.st.scratch &= !HELD;
        count_op(cx, Kind::Lock, 0);
        self.asyncs.send(
            cx,
            cx.net.app_store + cx.net.store_op,
            Pending {
                slot: r.slot,
                gen: r.gen,
                app: req.node,
                epoch: 0,
                store,
                kind: Kind::Lock,
                size: 0,
                version: 0,
                ttl_ns: 0,
                delete: true,
            },
        );
    }

    /// The session cannot be found: release the lock, free it.
    fn lost(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, r: SessionRef, store: u16) -> Step {
        self.release_now(cx, req, r, store);
        self.free(cx, r);
        Step::Done
    }
}

impl Strategy for MsmNonSticky {
    /// `begin` takes the lock (unless `lockingMode` none) and reads the session from the node
    /// its id names: both items sit side by side there.
    fn prefetch(
        &self,
        sessions: &SessionTable,
        stores: &[StoreNode],
        (id, r): &(SessionId, SessionRef),
        _node: NodeIdx,
    ) {
        sessions.prefetch(r.slot);
        if let Some(st) = stores.get(id.store as usize) {
            st.prefetch(key(r.slot, r.gen, Kind::Session));
            if self.mode != LockMode::None {
                st.prefetch(key(r.slot, r.gen, Kind::Lock));
            }
        }
    }

    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((_, r)) = req.cookie else {
            return Step::Done;
        };
        let Some(s) = cx.sessions.get(r).copied() else {
            return Step::Done;
        };
        let store = s.id.store;
        let stage = req.st.stage;
        if stage == 0 {
            if cx.now.since(s.last_access) >= cx.timeout_ns {
                // validity info says expired (the items expire by TTL)
                self.free(cx, r);
                return Step::Done;
            }
            if !self.nodes.believed_up(req.node, store, cx.now) {
                req.st.stage = BACKUP;
                return self.begin(cx, req);
            }
            req.st.stage = if self.needs_lock(req) {
                req.st.scratch |= LOCK_RETRY_MS << BACKOFF_SHIFT;
                LOCK
            } else {
                GET
            };
            return self.begin(cx, req);
        }
        if (stage == LOCK || stage == GET) && !cx.stores[store as usize].up {
            // the operation times out; the node is marked unavailable; try the backup
            self.nodes.mark_down(req.node, store, cx.now);
            req.st.stage = BACKUP;
            return Step::Wait(self.nodes.op_timeout_ns);
        }
        match stage {
            LOCK => {
                let ok = cx.stores[store as usize].add(
                    key(r.slot, r.gen, Kind::Lock),
                    LOCK_BYTES,
                    self.lock_exp_ns,
                    cx.now,
                );
                count_op(cx, Kind::Lock, LOCK_BYTES);
                let rtt = rtt(cx);
                if ok {
                    req.st.scratch |= HELD;
                    req.st.stage = GET;
                    return Step::Wait(rtt);
                }
                let elapsed = req.st.waited_ns + rtt;
                if elapsed >= self.nodes.op_timeout_ns {
                    // msm: "Will use this session without this lock."
                    req.st.stage = GET;
                    return Step::Wait(rtt);
                }
                let backoff = (req.st.scratch >> BACKOFF_SHIFT) & 0xFFFF;
                let sleep = backoff.min(LOCK_MAX_RETRY_MS);
                req.st.scratch = (req.st.scratch & !(0xFFFF << BACKOFF_SHIFT))
                    | ((backoff * 2).min(0xFFFF) << BACKOFF_SHIFT);
                Step::Wait(rtt + sleep * 1_000_000)
            }
            GET => {
                let item = cx.stores[store as usize].get(key(r.slot, r.gen, Kind::Session), cx.now);
                let size = item.map_or(0, |i| i.size());
                count_op(cx, Kind::Session, size);
                if let Some(i) = item {
                    if i.version < s.version {
                        cx.obs.stale_read(cx.now);
                    }
                    req.st.scratch |= (i.version as u64 + 1) << VERSION_SHIFT;
                }
                req.st.stage = GOT;
                Step::Wait(rtt(cx) + self.ser.cpu_ns(size))
            }
            GOT => {
                if req.st.scratch >> VERSION_SHIFT == 0 {
                    return self.lost(cx, req, r, store);
                }
                if cx.stores[store as usize].up {
                    let it =
                        cx.stores[store as usize].get(key(r.slot, r.gen, Kind::Validity), cx.now);
                    count_op(cx, Kind::Validity, it.map_or(0, |i| i.size()));
                }
                req.st.stage = VALIDITY;
                Step::Wait(rtt(cx))
            }
            VALIDITY => {
                req.st.slot = Some(r.slot);
                req.st.seen = ((req.st.scratch >> VERSION_SHIFT) - 1) as u32;
                Step::Done
            }
            BACKUP => {
                // changeSessionIdOnMemcachedFailover → loadBackupSession on the next node
                let Some(bak) = self.nodes.next_available(req.node, store, cx.now) else {
                    return self.lost(cx, req, r, store);
                };
                if !cx.stores[bak as usize].up {
                    self.nodes.mark_down(req.node, bak, cx.now);
                    self.release_now(cx, req, r, store);
                    self.free(cx, r);
                    req.st.stage = 0xFF;
                    return Step::Wait(self.nodes.op_timeout_ns);
                }
                let it = cx.stores[bak as usize].get(key(r.slot, r.gen, Kind::BakValidity), cx.now);
                count_op(cx, Kind::BakValidity, it.map_or(0, |i| i.size()));
                req.st.scratch = (req.st.scratch & 0xFFFF_FFFF) | (bak as u64) << VERSION_SHIFT;
                req.st.stage = if it.is_some() { BAK_VALIDITY } else { 0xFF };
                Step::Wait(rtt(cx))
            }
            BAK_VALIDITY => {
                let bak = (req.st.scratch >> VERSION_SHIFT) as u16;
                let item = if cx.stores[bak as usize].up {
                    cx.stores[bak as usize].get(key(r.slot, r.gen, Kind::BakSession), cx.now)
                } else {
                    None
                };
                let size = item.map_or(0, |i| i.size());
                count_op(cx, Kind::BakSession, size);
                let Some(i) = item else {
                    req.st.stage = 0xFF;
                    return Step::Wait(rtt(cx));
                };
                if i.version < s.version {
                    cx.obs.stale_read(cx.now);
                }
                // relocate: the id gets the backup node
                let sess = cx.sessions.slot_mut(r.slot);
                sess.id.store = bak;
                *req.set_cookie = Some((sess.id, r));
                req.st.scratch = (req.st.scratch & 0xFFFF_FFFF & !HELD) | FORCE;
                req.st.seen = i.version;
                req.st.stage = BAK_GOT;
                Step::Wait(rtt(cx) + self.ser.cpu_ns(size))
            }
            BAK_GOT => {
                req.st.slot = Some(r.slot);
                Step::Done
            }
            _ => {
                // no backup either
                self.free(cx, r);
                Step::Done
            }
        }
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        let store = self.nodes.pick_new(cx, req.node);
        let s = cx.sessions.slot_mut(slot);
        s.id.store = store;
        let (gen, last_access) = (s.gen, s.last_access.as_ns());
        self.expiry.track(slot, gen, 0, last_access, cx.timeout_ns);
        req.st.scratch |= FORCE;
    }

    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        if req.st.stage != 0 {
            return Step::Done;
        }
        req.st.stage = 1;
        let Some(slot) = req.st.slot else {
            return Step::Done;
        };
        let s = *cx.sessions.slot(slot);
        let r = SessionRef { slot, gen: s.gen };
        let store = s.id.store;
        if !s.live {
            self.release_now(cx, req, r, store);
            return Step::Done;
        }
        if req.write && req.st.seen < req.st.prev_latest {
            cx.obs.lost_update(cx.now);
        }
        if !req.write {
            self.read_only_seen[req.node as usize] = true;
        }
        let changed = req.write || req.st.scratch & FORCE != 0;
        let size = self.ser.bytes(s.size_bytes as u64);
        let cpu = self.ser.cpu_ns(size);
        let op = |kind: Kind, store: u16, size: u64, ttl_ns: u64, delete: bool| Pending {
            slot,
            gen: s.gen,
            app: req.node,
            epoch: 0,
            store,
            kind,
            size,
            version: s.version,
            ttl_ns,
            delete,
        };
        let ttl = cx.timeout_ns;
        // the primary operations, in msm's order (no allocation: at most three)
        let validity = op(Kind::Validity, store, VALIDITY_BYTES, ttl, false);
        let mut buf = [validity; 3];
        let mut n = 0;
        if changed {
            buf[n] = op(Kind::Session, store, size, ttl, false);
            n += 1;
        }
        buf[n] = validity;
        n += 1;
        if req.st.scratch & HELD != 0 {
            req.st.scratch &= !HELD;
            buf[n] = op(Kind::Lock, store, 0, 0, true);
            n += 1;
        }
        let primary = &buf[..n];
        for p in primary {
            count_op(cx, p.kind, if p.delete { 0 } else { p.size });
        }
        let one_way = cx.net.app_store + cx.net.store_op;
        let rtt = rtt(cx);
        let store_up = cx.stores[store as usize].up;
        let wait = if self.backup_async {
            self.asyncs.send_batch(cx, cpu + one_way, primary);
            0
        } else if store_up {
            for p in primary {
                store_write(cx, p);
            }
            let set = if changed {
                (cpu + rtt).min(self.backup_timeout_ns)
            } else {
                cpu.min(self.backup_timeout_ns)
            };
            set + rtt.min(self.backup_timeout_ns)
        } else {
            self.nodes.mark_down(req.node, store, cx.now);
            cpu.min(self.backup_timeout_ns) + self.backup_timeout_ns
        };
        if self.nodes.count() > 1 {
            if let Some(bak) = self.nodes.next_available(req.node, store, cx.now) {
                let bak_validity = op(Kind::BakValidity, bak, VALIDITY_BYTES, ttl, false);
                let both = [op(Kind::BakSession, bak, size, ttl, false), bak_validity];
                let ops = if changed { &both[..] } else { &both[1..] };
                for p in ops {
                    count_op(cx, p.kind, p.size);
                }
                self.asyncs.send_batch(cx, cpu + rtt + one_way, ops);
            }
        }
        if wait == 0 {
            Step::Done
        } else {
            Step::Wait(wait)
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, payload: u32) {
        self.asyncs.land(cx, &mut self.nodes, payload);
    }

    fn node_down(&mut self, _cx: &mut Cx<'_>, node: NodeIdx) {
        self.asyncs.epoch[node as usize] += 1;
    }

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, _node: NodeIdx) {
        // every node's sweep runs the due checks; the first at an instant finds them all
        for slot in self.expiry.due(cx, |_, _, _| true) {
            let gen = cx.sessions.slot(slot).gen;
            self.free(cx, SessionRef { slot, gen });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locking_modes() {
        assert_eq!(LockMode::parse("none"), Ok(LockMode::None));
        assert_eq!(LockMode::parse("all"), Ok(LockMode::All));
        assert_eq!(LockMode::parse("auto"), Ok(LockMode::Auto));
        assert_eq!(
            LockMode::parse("uri-pattern:.*/cart.*"),
            Ok(LockMode::UriPattern)
        );
        assert!(LockMode::parse("uri-pattern:").is_err());
        assert!(LockMode::parse("sometimes").is_err());
    }
}
