//! `msm-sticky`: memcached-session-manager 2.x in sticky mode (the default). The primary copy
//! lives in the memory of the Tomcat that holds the session; memcached keeps a backup.
//!
//! ```text
//!  request on home node ─► session in memory (no memcached read)
//!      end ─► serialize (hash) ─► changed? ─► set <id> on the id's memcached node
//!                                  (async by default: lands after ser + one way + op)
//!  request on another node (crash, rebalancing) ─► get <id> ─► take over: id gets this
//!      node's jvmRoute (new cookie), delete old key, forced set under the new id at end
//!  memcached node down ─► marked unavailable ─► next request: id gets the next available
//!      node (relocation) and a forced backup
//! ```
//!
//! Modelled (FIDELITY §4): id `<base>-<memcachedNodeId>.<jvmRoute>`; a new session's node is
//! uniform at random among the primary nodes this Tomcat believes available, `failover_nodes`
//! only when none is; `sessionBackupAsync` (default true: the set runs in a background thread,
//! serialization included, and a Tomcat crash before it lands loses the change; false: the
//! request waits for serialization + the set, at most `backup_timeout`); the attribute hash
//! (serialization CPU) is computed every request, so a synchronous backup costs CPU even
//! when nothing changed; takeover after a Tomcat failover (`changeSessionIdOnTomcatFailover`:
//! `get`, rewrite the jvmRoute, synchronous `delete` of the old key, forced backup);
//! relocation after a memcached failure (`changeSessionIdOnMemcachedFailover`, next available
//! node in config order); a memcached item evicted (LRU) or gone with its node is a lost
//! session only when a Tomcat must read it.
//!
//! Node availability (msm `NodeAvailabilityCache`, per Tomcat): a node that is down is
//! detected on use — an operation to it fails after `operation_timeout` — and is then believed
//! unavailable for 1000 ms, after which the next operation tries it again.
//!
//! Simplified: memcached keys are per logical session (slot + generation), so the old and the
//! new id after a takeover share one item (the delete and the re-set are both done and
//! counted); the old node's in-memory copy after a takeover is dropped at once (msm leaves it to
//! expire, unused, under its old id); msm's expiration refresh of a session read-only for longer
//! than maxInactiveInterval is not modelled (items get TTL = the session timeout at each set);
//! a failed asynchronous set marks the node unavailable when it would land rather than
//! `operation_timeout` later.
//!
//! Source: memcached-session-manager 2.3 `MemcachedSessionService` (`findSession`,
//! `changeSessionIdOnTomcatFailover`, `handleSessionTakeOver`,
//! `changeSessionIdOnMemcachedFailover`, `backupSession`), `BackupSessionService` /
//! `BackupSessionTask` (hash check, async backup), `MemcachedNodesManager`,
//! `NodeAvailabilityCache`, `SessionIdFormat`.

use super::local::Local;
use super::{Cx, EventSlab, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::kernel::SimTime;
use crate::model::ids::NodeIdx;
use crate::model::session::SessionRef;
use crate::scenario::config::{ExperimentConfig, StoreKindConfig};
use crate::scenario::units::Duration;
use serde::Deserialize;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "msm-sticky",
    doc: "memcached-session-manager sticky: primary in Tomcat memory, backup set in memcached",
    check: |cfg| {
        let o: Options = super::options(&cfg.strategy)?;
        check_store(cfg, &o.failover_nodes)
    },
    build: |cfg| {
        let o: Options = super::options(&cfg.strategy).expect("checked");
        Box::new(MsmSticky::new(cfg, o))
    },
    node_bound: false,
};

/// Options of `msm-sticky`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// Store indices used only when no other node is available (msm `failoverNodes`;
    /// default none).
    #[serde(default)]
    pub failover_nodes: Vec<u16>,
    /// memcached operation timeout (msm `operationTimeout`; default 1000ms).
    #[serde(default = "d_op_timeout")]
    pub operation_timeout: Duration,
    /// `"java"` (default) or `"kryo"`.
    #[serde(default)]
    pub serializer: Serializer,
    /// Back up asynchronously (msm `sessionBackupAsync`; default true).
    #[serde(default = "d_true")]
    pub backup_async: bool,
    /// Longest wait for a synchronous backup (msm `sessionBackupTimeout`; default 100ms).
    #[serde(default = "d_backup_timeout")]
    pub backup_timeout: Duration,
}

pub(crate) fn d_op_timeout() -> Duration {
    Duration(1_000_000_000)
}
pub(crate) fn d_true() -> bool {
    true
}
pub(crate) fn d_backup_timeout() -> Duration {
    Duration(100_000_000)
}

/// Checks `[store]` for msm: memcached, at least one node, failover nodes in range.
pub(crate) fn check_store(
    cfg: &ExperimentConfig,
    failover: &[u16],
) -> Result<(), (String, String)> {
    if cfg.store.kind != StoreKindConfig::Memcached {
        return Err((
            "/store.kind".into(),
            "msm needs memcached: set [store] kind = \"memcached\"".into(),
        ));
    }
    if cfg.store.nodes < 1 {
        return Err((
            "/store.nodes".into(),
            "msm needs memcached nodes: set [store] nodes ≥ 1".into(),
        ));
    }
    if let Some(&f) = failover.iter().find(|&&f| f as u32 >= cfg.store.nodes) {
        return Err((
            "failover_nodes".into(),
            format!(
                "failover node {f} does not exist (store nodes are 0..{})",
                cfg.store.nodes
            ),
        ));
    }
    if !failover.is_empty() && failover.len() as u32 >= cfg.store.nodes {
        return Err((
            "failover_nodes".into(),
            "at least one memcached node must not be a failover node".into(),
        ));
    }
    Ok(())
}

/// Length of a session id as a memcached key \[bytes\]: 32 hex + `-n1` + `.tomcatN`.
pub(crate) const KEY_BYTES: u64 = 44;
/// Protocol overhead per memcached operation (request + reply headers) \[bytes\].
pub(crate) const OP_OVERHEAD_BYTES: u64 = 50;
/// `SessionValidityInfo` value: max inactive (2) + last accessed (8) + this accessed (8) +
/// version (4) \[bytes\].
pub(crate) const VALIDITY_BYTES: u64 = 22;
/// Lock value `"locked"` \[bytes\].
pub(crate) const LOCK_BYTES: u64 = 6;
/// How long a node that failed stays marked unavailable (NodeAvailabilityCache TTL) \[ns\].
pub(crate) const AVAILABILITY_TTL_NS: u64 = 1_000_000_000;

/// Item kinds, the low 3 bits of a store key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<id>`: the serialized session.
    Session = 0,
    /// `validity:<id>`.
    Validity = 1,
    /// `bak:<id>`.
    BakSession = 2,
    /// `bak:validity:<id>`.
    BakValidity = 3,
    /// `lock:<id>`.
    Lock = 4,
}

impl Kind {
    /// Bytes the key prefix adds to the id.
    pub(crate) fn prefix_bytes(self) -> u64 {
        match self {
            Kind::Session => 0,
            Kind::Validity => 9,
            Kind::BakSession => 4,
            Kind::BakValidity => 13,
            Kind::Lock => 5,
        }
    }
}

/// The store key of item `kind` of the session in `slot` (generation `gen`).
pub(crate) fn key(slot: u32, gen: u32, kind: Kind) -> u64 {
    (gen as u64) << 36 | (slot as u64) << 3 | kind as u64
}

/// Counts one memcached operation on `kind` carrying `value` bytes.
pub(crate) fn count_op(cx: &mut Cx<'_>, kind: Kind, value: u64) {
    let bytes = KEY_BYTES + kind.prefix_bytes() + value + OP_OVERHEAD_BYTES;
    cx.obs.app_store(cx.now, 1, bytes);
}

/// App ↔ memcached round trip \[ns\].
pub(crate) fn rtt(cx: &Cx<'_>) -> u64 {
    2 * cx.net.app_store + cx.net.store_op
}

/// Which memcached nodes each Tomcat believes available, and node choice (msm
/// `MemcachedNodesManager` + `NodeAvailabilityCache`, one per Tomcat).
pub(crate) struct Nodes {
    n: u16,
    failover: Vec<bool>,
    /// `[app * n + store]`: believed unavailable until then.
    down_until: Vec<SimTime>,
    /// Operation timeout \[ns\].
    pub(crate) op_timeout_ns: u64,
}

impl Nodes {
    pub(crate) fn new(apps: usize, n: u16, failover: &[u16], op_timeout_ns: u64) -> Self {
        let mut f = vec![false; n as usize];
        for &i in failover {
            f[i as usize] = true;
        }
        Nodes {
            n,
            failover: f,
            down_until: vec![SimTime::ZERO; apps * n as usize],
            op_timeout_ns,
        }
    }

    /// Number of memcached nodes.
    pub(crate) fn count(&self) -> u16 {
        self.n
    }

    /// Whether Tomcat `app` believes `store` available.
    pub(crate) fn believed_up(&self, app: NodeIdx, store: u16, now: SimTime) -> bool {
        now >= self.down_until[app as usize * self.n as usize + store as usize]
    }

    /// An operation of `app` to `store` failed: unavailable for the cache TTL.
    pub(crate) fn mark_down(&mut self, app: NodeIdx, store: u16, now: SimTime) {
        self.down_until[app as usize * self.n as usize + store as usize] =
            now.plus_ns(AVAILABILITY_TTL_NS);
    }

    /// The node for a new session: uniform among available primaries, else among available
    /// failover nodes, else uniform among all.
    pub(crate) fn pick_new(&self, cx: &mut Cx<'_>, app: NodeIdx) -> u16 {
        let now = cx.now;
        for want_failover in [false, true] {
            let avail: Vec<u16> = (0..self.n)
                .filter(|&s| self.failover[s as usize] == want_failover)
                .filter(|&s| self.believed_up(app, s, now))
                .collect();
            if !avail.is_empty() {
                return avail[cx.rng.below(avail.len() as u64) as usize];
            }
        }
        cx.rng.below(self.n as u64) as u16
    }

    /// The next node after `from` in config order that `app` believes available (msm
    /// `getNextAvailableNodeId`), never `from` itself.
    pub(crate) fn next_available(&self, app: NodeIdx, from: u16, now: SimTime) -> Option<u16> {
        (1..self.n)
            .map(|k| (from + k) % self.n)
            .find(|&s| self.believed_up(app, s, now))
    }
}

/// One asynchronous memcached operation in flight (a `set` or a `delete`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) slot: u32,
    pub(crate) gen: u32,
    /// The Tomcat that sent it and its crash epoch then: a crash before it lands drops it.
    pub(crate) app: NodeIdx,
    pub(crate) epoch: u32,
    pub(crate) store: u16,
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    pub(crate) version: u32,
    pub(crate) ttl_ns: u64,
    pub(crate) delete: bool,
}

/// Asynchronous operations: a slab keyed by the `cx.later` payload. Operations sent together
/// with [`Async::send_batch`] land in one event and are applied in the order given, exactly as
/// separate events at the same instant with consecutive sequence numbers would be.
#[derive(Default)]
pub(crate) struct Async {
    /// Each op and the next op of its batch (`NIL` = last).
    ops: EventSlab<(Pending, u32)>,
    /// Crash epoch per Tomcat.
    pub(crate) epoch: Vec<u32>,
}

impl Async {
    pub(crate) fn new(apps: usize) -> Self {
        Async {
            ops: EventSlab::default(),
            epoch: vec![0; apps],
        }
    }

    /// Sends `op` (already counted as traffic); it lands after `delay_ns`.
    pub(crate) fn send(&mut self, cx: &mut Cx<'_>, delay_ns: u64, op: Pending) {
        self.send_batch(cx, delay_ns, &[op]);
    }

    /// Sends `ops` (already counted as traffic, all from one Tomcat); they land together after
    /// `delay_ns`, in order. Nothing is sent for an empty slice.
    pub(crate) fn send_batch(&mut self, cx: &mut Cx<'_>, delay_ns: u64, ops: &[Pending]) {
        let mut next = NIL;
        for op in ops.iter().rev() {
            cx.stores[op.store as usize].prefetch(key(op.slot, op.gen, op.kind));
            let op = (
                Pending {
                    epoch: self.epoch[op.app as usize],
                    ..*op
                },
                next,
            );
            next = self.ops.insert(op);
        }
        if next != NIL {
            cx.later(delay_ns, next);
        }
    }

    /// The batch starting at `payload` landed: applies each op unless its Tomcat crashed
    /// meanwhile, its session is gone or its node is down (then `nodes` learns it).
    pub(crate) fn land(&mut self, cx: &mut Cx<'_>, nodes: &mut Nodes, payload: u32) {
        let mut i = payload;
        while i != NIL {
            let (op, next) = self.ops.take(i);
            i = next;
            if self.epoch[op.app as usize] != op.epoch {
                continue;
            }
            let sref = SessionRef {
                slot: op.slot,
                gen: op.gen,
            };
            if cx.sessions.get(sref).is_none() && !op.delete {
                continue;
            }
            if !cx.stores[op.store as usize].up {
                nodes.mark_down(op.app, op.store, cx.now);
                continue;
            }
            store_write(cx, &op);
        }
    }
}

/// End of a batch in [`Async`].
const NIL: u32 = u32::MAX;

/// Applies a set or delete to its store now.
pub(crate) fn store_write(cx: &mut Cx<'_>, op: &Pending) {
    let k = key(op.slot, op.gen, op.kind);
    let st = &mut cx.stores[op.store as usize];
    if op.delete {
        st.delete(k);
    } else {
        let evicted = st.set(k, op.size, op.version, op.ttl_ns, cx.now).len();
        if evicted > 0 {
            cx.obs.evicted(cx.now, evicted as u64);
        }
    }
}

/// Per-slot state.
#[derive(Debug, Clone, Copy, Default)]
struct SlotState {
    /// In the memory of its `home` node.
    in_mem: bool,
    /// The next backup is forced (new session, id changed).
    force: bool,
}

/// The strategy.
pub struct MsmSticky {
    local: Local,
    nodes: Nodes,
    asyncs: Async,
    ser: Serializer,
    backup_async: bool,
    backup_timeout_ns: u64,
    st: Vec<SlotState>,
    /// Sessions held by no Tomcat, only in memcached (slot, generation): freed when idle.
    detached: Vec<(u32, u32)>,
}

/// Stages of `begin`.
const LOADED: u8 = 1;
const FAILED_OP: u8 = 2;
const DELETED: u8 = 3;

impl MsmSticky {
    fn new(cfg: &ExperimentConfig, o: Options) -> Self {
        let apps = cfg.app.nodes as usize;
        MsmSticky {
            local: Local::new(apps),
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
            st: Vec::new(),
            detached: Vec::new(),
        }
    }

    fn state(&mut self, slot: u32) -> &mut SlotState {
        if self.st.len() <= slot as usize {
            self.st.resize(slot as usize + 1, SlotState::default());
        }
        &mut self.st[slot as usize]
    }

    /// Frees `r` unless some Tomcat still holds it in memory.
    fn free_if_orphan(&mut self, cx: &mut Cx<'_>, r: SessionRef) {
        if cx.sessions.get(r).is_some() && !self.state(r.slot).in_mem {
            cx.sessions.free(r.slot);
        }
    }
}

impl Strategy for MsmSticky {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((_, r)) = req.cookie else {
            return Step::Done;
        };
        let Some(s) = cx.sessions.get(r).copied() else {
            return Step::Done;
        };
        let store = s.id.store;
        let k = key(r.slot, r.gen, Kind::Session);
        match req.st.stage {
            0 => {
                let in_mem = self.state(r.slot).in_mem;
                let idle = cx.now.since(s.last_access) >= cx.timeout_ns;
                if in_mem && s.home == req.node {
                    if idle {
                        // Tomcat expires it on access; msm deletes it from memcached
                        self.local.remove(cx, r.slot);
                        self.state(r.slot).in_mem = false;
                        cx.sessions.free(r.slot);
                        if cx.stores[store as usize].up {
                            cx.stores[store as usize].delete(k);
                        }
                        count_op(cx, Kind::Session, 0);
                        return Step::Done;
                    }
                    if !self.nodes.believed_up(req.node, store, cx.now) {
                        // memcached failover: relocate to the next available node
                        let to = self
                            .nodes
                            .next_available(req.node, store, cx.now)
                            .unwrap_or(store);
                        if to != store {
                            let sess = cx.sessions.slot_mut(r.slot);
                            sess.id.store = to;
                            *req.set_cookie = Some((sess.id, r));
                            self.state(r.slot).force = true;
                        }
                    }
                    req.st.slot = Some(r.slot);
                    req.st.seen = s.version;
                    return Step::Done;
                }
                if idle {
                    self.free_if_orphan(cx, r);
                    return Step::Done;
                }
                // not in this Tomcat's memory: load from memcached
                if !self.nodes.believed_up(req.node, store, cx.now) {
                    self.free_if_orphan(cx, r);
                    return Step::Done;
                }
                if !cx.stores[store as usize].up {
                    self.nodes.mark_down(req.node, store, cx.now);
                    req.st.stage = FAILED_OP;
                    return Step::Wait(self.nodes.op_timeout_ns);
                }
                let item = cx.stores[store as usize].get(k, cx.now);
                let size = item.map_or(0, |i| i.size());
                count_op(cx, Kind::Session, size);
                req.st.scratch = item.map_or(0, |i| i.version as u64 + 1);
                req.st.stage = LOADED;
                Step::Wait(rtt(cx) + self.ser.cpu_ns(size))
            }
            LOADED => {
                if req.st.scratch == 0 {
                    self.free_if_orphan(cx, r);
                    return Step::Done;
                }
                let v = (req.st.scratch - 1) as u32;
                if v < s.version {
                    cx.obs.stale_read(cx.now);
                }
                // take over: into this Tomcat's memory
                if self.state(r.slot).in_mem {
                    self.local.remove(cx, r.slot);
                }
                cx.sessions.slot_mut(r.slot).home = req.node;
                self.local.insert(cx, req.node, r.slot);
                self.state(r.slot).in_mem = true;
                req.st.slot = Some(r.slot);
                req.st.seen = v;
                if s.id.route == req.node {
                    return Step::Done;
                }
                // Tomcat failover: new id with this jvmRoute, delete the old key (synchronous)
                let sess = cx.sessions.slot_mut(r.slot);
                sess.id.route = req.node;
                *req.set_cookie = Some((sess.id, r));
                self.state(r.slot).force = true;
                if cx.stores[store as usize].up {
                    cx.stores[store as usize].delete(k);
                }
                count_op(cx, Kind::Session, 0);
                req.st.stage = DELETED;
                Step::Wait(rtt(cx))
            }
            DELETED => Step::Done,
            _ => {
                // FAILED_OP: the get timed out
                self.free_if_orphan(cx, r);
                Step::Done
            }
        }
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        let store = self.nodes.pick_new(cx, req.node);
        cx.sessions.slot_mut(slot).id.store = store;
        self.local.insert(cx, req.node, slot);
        *self.state(slot) = SlotState {
            in_mem: true,
            force: true,
        };
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
        if !s.live {
            return Step::Done;
        }
        let changed = req.write || std::mem::take(&mut self.state(slot).force);
        let size = self.ser.bytes(s.size_bytes as u64);
        let cpu = self.ser.cpu_ns(size);
        if !changed {
            // the attribute hash is computed in the backup task
            return if self.backup_async {
                Step::Done
            } else {
                Step::Wait(cpu.min(self.backup_timeout_ns))
            };
        }
        let store = s.id.store;
        let op = Pending {
            slot,
            gen: s.gen,
            app: req.node,
            epoch: 0,
            store,
            kind: Kind::Session,
            size,
            version: s.version,
            ttl_ns: cx.timeout_ns,
            delete: false,
        };
        count_op(cx, Kind::Session, size);
        if self.backup_async {
            self.asyncs
                .send(cx, cpu + cx.net.app_store + cx.net.store_op, op);
            return Step::Done;
        }
        if cx.stores[store as usize].up {
            store_write(cx, &op);
            Step::Wait((cpu + rtt(cx)).min(self.backup_timeout_ns))
        } else {
            self.nodes.mark_down(req.node, store, cx.now);
            Step::Wait(self.backup_timeout_ns.min(cpu + self.nodes.op_timeout_ns))
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, payload: u32) {
        self.asyncs.land(cx, &mut self.nodes, payload);
    }

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        self.asyncs.epoch[node as usize] += 1;
        for slot in self.local.take_node(node) {
            self.state(slot).in_mem = false;
            let s = *cx.sessions.slot(slot);
            let st = &cx.stores[s.id.store as usize];
            if st.up && st.contains(key(slot, s.gen, Kind::Session)) {
                self.detached.push((slot, s.gen));
            } else {
                cx.sessions.free(slot);
            }
        }
    }

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.local.expired(cx, node) {
            self.local.remove(cx, slot);
            self.state(slot).in_mem = false;
            let s = *cx.sessions.slot(slot);
            cx.sessions.free(slot);
            let st = &mut cx.stores[s.id.store as usize];
            if st.up {
                st.delete(key(slot, s.gen, Kind::Session));
            }
            count_op(cx, Kind::Session, 0);
        }
        let mut detached = std::mem::take(&mut self.detached);
        detached.retain(|&(slot, gen)| {
            let r = SessionRef { slot, gen };
            let Some(s) = cx.sessions.get(r) else {
                return false;
            };
            if self.st[slot as usize].in_mem {
                return false;
            }
            if cx.now.since(s.last_access) >= cx.timeout_ns {
                cx.sessions.free(slot);
                return false;
            }
            true
        });
        self.detached = detached;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    fn cfg(extra: &str) -> Result<(), String> {
        let toml = format!(
            r#"
            seed = 1
            horizon = "10s"
            [workload]
            kind = "open"
            session_rate = 1.0
            [balancer]
            kind = "round-robin"
            {extra}
            "#
        );
        load_str(&toml, "t.toml", None, "t")
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn check_wants_memcached_nodes_and_known_options() {
        let e = cfg("[strategy]\nkind = \"msm-sticky\"").unwrap_err();
        assert!(e.contains("store.nodes"), "{e}");
        cfg("[strategy]\nkind = \"msm-sticky\"\n[store]\nnodes = 2").unwrap();
        let e =
            cfg("[strategy]\nkind = \"msm-sticky\"\nbogus = 1\n[store]\nnodes = 2").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = cfg("[strategy]\nkind = \"msm-sticky\"\nfailover_nodes = [2]\n[store]\nnodes = 2")
            .unwrap_err();
        assert!(e.contains("failover"), "{e}");
        let e = cfg("[strategy]\nkind = \"msm-sticky\"\n[store]\nnodes = 1\nkind = \"redis\"")
            .unwrap_err();
        assert!(e.contains("store.kind"), "{e}");
        cfg("[strategy]\nkind = \"msm-sticky\"\nbackup_async = false\nbackup_timeout = \"50ms\"\noperation_timeout = \"500ms\"\nserializer = \"kryo\"\nfailover_nodes = [1]\n[store]\nnodes = 2").unwrap();
    }

    #[test]
    fn keys_do_not_collide_across_kinds_slots_and_generations() {
        let a = key(5, 1, Kind::Session);
        assert_ne!(a, key(5, 1, Kind::Validity));
        assert_ne!(a, key(5, 2, Kind::Session));
        assert_ne!(a, key(6, 1, Kind::Session));
        assert_eq!(key(0, 0, Kind::Lock), 4);
    }
}
