//! `local`: session binding only (Tomcat `StandardManager`). A session lives in the memory of
//! the node that created it and nowhere else; a request that lands on another node finds
//! nothing, and a crash loses every session of the crashed node. No network traffic.
//!
//! Source: Apache Tomcat 10 `org.apache.catalina.session.StandardManager` / `ManagerBase`
//! (`findSession` → `StandardSession.isValid()`, which expires an idle session on access;
//! `processExpires` every `backgroundProcessorDelay` × `processExpiresFrequency` = 60 s).

use super::expiry::ExpiryChecks;
use super::{Cx, Req, Step, Strategy, StrategyEntry};
use crate::model::ids::{NodeIdx, SessionId};
use crate::model::session::{SessionRef, SessionTable};
use crate::model::store_node::StoreNode;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "local",
    doc: "session binding only: state in the creating node's memory (Tomcat StandardManager)",
    check: super::no_options,
    build: |cfg| Box::new(Local::new(cfg.app.nodes as usize)),
    node_bound: true,
};

/// Per-node lists of the session slots each node holds in memory (`Session::pos` is the
/// position in the home node's list), with their lazy expiry checks ([`ExpiryChecks`]). Reused
/// by strategies that keep a primary in app memory.
pub struct Local {
    by_node: Vec<Vec<u32>>,
    checks: Vec<ExpiryChecks>,
    /// Per slot: incremented by every `insert`, so only the latest insert's check is valid.
    stamp: Vec<u32>,
}

impl Local {
    /// No sessions on `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Local {
            by_node: vec![Vec::new(); nodes],
            checks: vec![ExpiryChecks::default(); nodes],
            stamp: Vec::new(),
        }
    }

    /// Adds `slot` to `node`'s memory.
    pub fn insert(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32) {
        let list = &mut self.by_node[node as usize];
        let s = cx.sessions.slot_mut(slot);
        s.pos = list.len() as u32;
        list.push(slot);
        if self.stamp.len() <= slot as usize {
            // a new slot is the table's next one: one push, not a general resize
            if self.stamp.len() == slot as usize {
                self.stamp.push(0);
            } else {
                self.stamp.resize(slot as usize + 1, 0);
            }
        }
        let stamp = &mut self.stamp[slot as usize];
        *stamp = stamp.wrapping_add(1);
        self.checks[node as usize].track(slot, s.gen, *stamp, s.last_access.as_ns(), cx.timeout_ns);
    }

    /// Removes `slot` from its home node's memory (without freeing the table entry).
    pub fn remove(&mut self, cx: &mut Cx<'_>, slot: u32) {
        let node = cx.sessions.slot(slot).home;
        let list = &mut self.by_node[node as usize];
        let pos = cx.sessions.slot(slot).pos as usize;
        list.swap_remove(pos);
        if let Some(&moved) = list.get(pos) {
            cx.sessions.slot_mut(moved).pos = pos as u32;
        }
    }

    /// The sessions in `node`'s memory, taken out of it.
    pub fn take_node(&mut self, node: NodeIdx) -> Vec<u32> {
        self.checks[node as usize].clear();
        std::mem::take(&mut self.by_node[node as usize])
    }

    /// The sessions in `node`'s memory.
    pub fn on_node(&self, node: NodeIdx) -> &[u32] {
        &self.by_node[node as usize]
    }

    /// Slots in `node`'s memory idle for at least `cx.timeout_ns` (still in memory: the caller
    /// removes them), in a deterministic order.
    pub fn expired(&mut self, cx: &Cx<'_>, node: NodeIdx) -> Vec<u32> {
        let (list, stamp) = (&self.by_node[node as usize], &self.stamp);
        self.checks[node as usize].due(cx, |slot, tag, s| {
            stamp[slot as usize] == tag && s.home == node && list.get(s.pos as usize) == Some(&slot)
        })
    }

    /// For strategies whose state outlives the app node (a store, a cookie): every session idle
    /// for at least `cx.timeout_ns`, on any node, when `sweeping` is the first node up (so the
    /// nodes' simultaneous sweeps expire each session once); otherwise none. In node order.
    pub fn expired_everywhere(&mut self, cx: &Cx<'_>, sweeping: NodeIdx) -> Vec<u32> {
        if cx.nodes_up.iter().position(|&u| u) != Some(sweeping as usize) {
            return Vec::new();
        }
        (0..cx.nodes_up.len())
            .flat_map(|n| self.expired(cx, n as NodeIdx))
            .collect()
    }
}

impl Strategy for Local {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((id, cookie)) = req.cookie else {
            return Step::Done;
        };
        // a local session's id carries its home node's jvmRoute: a request elsewhere finds
        // nothing without reading the table
        if id.route != req.node {
            return Step::Done;
        }
        let Some(s) = cx.sessions.get(cookie) else {
            return Step::Done;
        };
        if s.home != req.node {
            return Step::Done;
        }
        if cx.now.since(s.last_access) >= cx.timeout_ns {
            self.remove(cx, cookie.slot);
            cx.sessions.free(cookie.slot);
            return Step::Done;
        }
        req.st.slot = Some(cookie.slot);
        req.st.seen = s.version;
        Step::Done
    }

    /// Only a request on the session's home node reads it (see `begin`).
    #[inline]
    fn prefetch(
        &self,
        sessions: &SessionTable,
        _stores: &[StoreNode],
        (id, r): &(SessionId, SessionRef),
        node: NodeIdx,
    ) {
        if id.route == node {
            sessions.prefetch(r.slot);
        }
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        self.insert(cx, req.node, slot);
    }

    fn end(&mut self, _cx: &mut Cx<'_>, _req: &mut Req<'_>) -> Step {
        Step::Done
    }

    fn saves(&self) -> bool {
        false
    }

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.take_node(node) {
            cx.sessions.free(slot);
        }
    }

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.expired(cx, node) {
            self.remove(cx, slot);
            cx.sessions.free(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{SimTime, Stream, StreamKey};
    use crate::model::ids::SessionId;
    use crate::model::observe::Observations;
    use crate::model::session::SessionTable;
    use crate::model::strategy::Net;

    /// The lazy expiry checks return, at every sweep, exactly the sessions a full scan finds
    /// idle for at least the timeout, through creations, accesses, removals and moves.
    #[test]
    fn expiry_checks_match_a_full_scan() {
        let key = |p| StreamKey {
            master: 3,
            point: 0,
            replication: 0,
            purpose: p,
            entity: 0,
        };
        let mut ops: Stream = Stream::new(&key("test.ops"));
        let mut rng: Stream = Stream::new(&key("test.unused"));
        let mut sessions = SessionTable::default();
        let mut obs = Observations::new(3, 1_000_000_000, SimTime::from_s(10_000), SimTime::ZERO);
        let mut later = Vec::new();
        let nodes_up = [true; 3];
        let timeout_ns = 300_000_000_000; // 5 min
        let mut local = Local::new(3);
        // a context at `now` over the test's tables
        macro_rules! cx {
            ($now:expr) => {
                Cx {
                    now: $now,
                    sessions: &mut sessions,
                    obs: &mut obs,
                    nodes_up: &nodes_up,
                    stores: &mut [],
                    timeout_ns,
                    net: &Net {
                        app_app: 0,
                        app_store: 0,
                        store_op: 0,
                    },
                    rng: &mut rng,
                    later: &mut later,
                }
            };
        }
        let mut expired_total = 0;
        let mut t = 0u64;
        for sweep in 1..=120u64 {
            let sweep_at = sweep * 60_000_000_000;
            while t < sweep_at {
                let mut cx = cx!(SimTime::from_ns(t));
                let node = ops.below(3) as NodeIdx;
                let on_node = local.on_node(node).to_vec();
                match ops.below(10) {
                    0..=3 => {
                        let id = SessionId {
                            base: t as u128,
                            route: node,
                            store: SessionId::NONE,
                        };
                        let r = cx.sessions.create(id, node, cx.now, 100);
                        local.insert(&mut cx, node, r.slot);
                    }
                    4..=7 if !on_node.is_empty() => {
                        let slot = on_node[ops.below(on_node.len() as u64) as usize];
                        cx.sessions.slot_mut(slot).last_access = cx.now;
                    }
                    8 if !on_node.is_empty() => {
                        let slot = on_node[ops.below(on_node.len() as u64) as usize];
                        local.remove(&mut cx, slot);
                        cx.sessions.free(slot);
                    }
                    9 if !on_node.is_empty() => {
                        // a move (msm-sticky relocation), sometimes back to the same node
                        let slot = on_node[ops.below(on_node.len() as u64) as usize];
                        local.remove(&mut cx, slot);
                        let to = ops.below(3) as NodeIdx;
                        cx.sessions.slot_mut(slot).home = to;
                        local.insert(&mut cx, to, slot);
                    }
                    _ => {}
                }
                t += ops.below(2_000_000_000);
            }
            for node in 0..3 {
                let mut cx = cx!(SimTime::from_ns(sweep_at));
                let mut scan: Vec<u32> = local
                    .on_node(node)
                    .iter()
                    .copied()
                    .filter(|&s| cx.now.since(cx.sessions.slot(s).last_access) >= timeout_ns)
                    .collect();
                let mut got = local.expired(&cx, node);
                let n = got.len();
                got.sort_unstable();
                got.dedup();
                assert_eq!(got.len(), n, "a session returned twice");
                scan.sort_unstable();
                assert_eq!(got, scan, "sweep {sweep} node {node}");
                for slot in got {
                    local.remove(&mut cx, slot);
                    cx.sessions.free(slot);
                    expired_total += 1;
                }
            }
        }
        assert!(
            expired_total > 500,
            "the test must expire sessions: {expired_total}"
        );
    }
}
