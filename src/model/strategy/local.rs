//! `local`: session binding only (Tomcat `StandardManager`). A session lives in the memory of
//! the node that created it and nowhere else; a request that lands on another node finds
//! nothing, and a crash loses every session of the crashed node.
//!
//! Source: Apache Tomcat 10 `org.apache.catalina.session.StandardManager` / `ManagerBase`
//! (`findSession` → `StandardSession.isValid()`, which expires an idle session on access;
//! `processExpires` every `backgroundProcessorDelay` × `processExpiresFrequency` = 60 s).
//! No network traffic.

use super::{Cx, Strategy, StrategyEntry};
use crate::model::ids::NodeIdx;
use crate::model::session::SessionRef;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "local",
    doc: "session binding only: state in the creating node's memory (Tomcat StandardManager)",
    check: super::no_options,
    build: |_, nodes| {
        Box::new(Local {
            by_node: vec![Vec::new(); nodes],
        })
    },
    store_nodes: super::no_store_nodes,
};

/// Per-node lists of the session slots each node holds.
pub struct Local {
    by_node: Vec<Vec<u32>>,
}

impl Local {
    fn remove(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32) {
        let list = &mut self.by_node[node as usize];
        let pos = cx.sessions.slot(slot).pos as usize;
        list.swap_remove(pos);
        if let Some(&moved) = list.get(pos) {
            cx.sessions.slot_mut(moved).pos = pos as u32;
        }
        cx.sessions.free(slot);
    }
}

impl Strategy for Local {
    fn find(&mut self, cx: &mut Cx<'_>, node: NodeIdx, cookie: SessionRef) -> Option<u32> {
        let s = cx.sessions.get(cookie)?;
        if s.home != node {
            return None;
        }
        if cx.now.since(s.last_access) >= cx.timeout_ns {
            self.remove(cx, node, cookie.slot);
            return None;
        }
        Some(cookie.slot)
    }

    fn created(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32) {
        let list = &mut self.by_node[node as usize];
        cx.sessions.slot_mut(slot).pos = list.len() as u32;
        list.push(slot);
    }

    fn finished(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx, _slot: u32, _wrote: bool) {}

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in std::mem::take(&mut self.by_node[node as usize]) {
            cx.sessions.free(slot);
        }
    }

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        let mut i = 0;
        while i < self.by_node[node as usize].len() {
            let slot = self.by_node[node as usize][i];
            if cx.now.since(cx.sessions.slot(slot).last_access) >= cx.timeout_ns {
                self.remove(cx, node, slot); // swaps the last entry into i
            } else {
                i += 1;
            }
        }
    }
}
