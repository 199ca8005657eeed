//! `local`: session binding only (Tomcat `StandardManager`). A session lives in the memory of
//! the node that created it and nowhere else; a request that lands on another node finds
//! nothing, and a crash loses every session of the crashed node. No network traffic.
//!
//! Source: Apache Tomcat 10 `org.apache.catalina.session.StandardManager` / `ManagerBase`
//! (`findSession` → `StandardSession.isValid()`, which expires an idle session on access;
//! `processExpires` every `backgroundProcessorDelay` × `processExpiresFrequency` = 60 s).

use super::{Cx, Req, Step, Strategy, StrategyEntry};
use crate::model::ids::NodeIdx;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "local",
    doc: "session binding only: state in the creating node's memory (Tomcat StandardManager)",
    check: super::no_options,
    build: |cfg| Box::new(Local::new(cfg.app.nodes as usize)),
};

/// Per-node lists of the session slots each node holds in memory (`Session::pos` is the
/// position in the home node's list). Reused by strategies that keep a primary in app memory.
pub struct Local {
    by_node: Vec<Vec<u32>>,
}

impl Local {
    /// No sessions on `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Local {
            by_node: vec![Vec::new(); nodes],
        }
    }

    /// Adds `slot` to `node`'s memory.
    pub fn insert(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32) {
        let list = &mut self.by_node[node as usize];
        cx.sessions.slot_mut(slot).pos = list.len() as u32;
        list.push(slot);
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
        std::mem::take(&mut self.by_node[node as usize])
    }

    /// Slots in `node`'s memory idle for at least `idle_ns`.
    pub fn idle(&self, cx: &Cx<'_>, node: NodeIdx, idle_ns: u64) -> Vec<u32> {
        self.by_node[node as usize]
            .iter()
            .copied()
            .filter(|&s| cx.now.since(cx.sessions.slot(s).last_access) >= idle_ns)
            .collect()
    }
}

impl Strategy for Local {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((_, cookie)) = req.cookie else {
            return Step::Done;
        };
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

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        self.insert(cx, req.node, slot);
    }

    fn end(&mut self, _cx: &mut Cx<'_>, _req: &mut Req<'_>) -> Step {
        Step::Done
    }

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.take_node(node) {
            cx.sessions.free(slot);
        }
    }

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.idle(cx, node, cx.timeout_ns) {
            self.remove(cx, slot);
            cx.sessions.free(slot);
        }
    }
}
