//! `delta-replication`: all-to-all session replication (Tomcat `DeltaManager`).
//!
//! Every app node holds a copy of every session. The node that served a session's last request
//! holds the *primary* copy (`Session::home`); the others hold copies with the version of the
//! last message they applied.
//!
//! ```text
//!  request at X ─► begin: X's copy (stale read if older than the latest)
//!               ─► end:   changed?  ─► DELTA  (delta_size + 100 B) ─┐
//!                         X not primary? ─► ACCESSED (100 B)         ├─► every other live member
//!                         idle since last message > timeout ─► ACCESSED ┘  async: after app_app,
//!  created at X ─► CREATED (session_size + 100 B) to every other member       lost if X dies first
//!  primary expiry ─► EXPIRED (100 B) to every other member;  copies expire after 2 × timeout
//!  node (re)starts ─► GET_ALL to the first live member; blocks of 1000 sessions, 2 s apart
//! ```
//!
//! Behaviour, after `DeltaManager.requestCompleted` / `createMessage` (Tomcat 7–11): at the end
//! of a request, if the session's delta request is not empty, one `EVT_SESSION_DELTA` goes to
//! every other member. Otherwise, if the session was not primary on this node,
//! `EVT_SESSION_ACCESSED` (the "accessChangePrimary" case: the request moved the session here);
//! otherwise, if more than `maxInactiveInterval` passed since the session was last replicated,
//! `EVT_SESSION_ACCESSED`. The node then marks its copy primary; receivers mark theirs
//! non-primary. A new session sends `EVT_SESSION_CREATED`; the primary's expiry sends
//! `EVT_SESSION_EXPIRED`. `DeltaSession.isValid` expires a non-primary copy only after
//! 2 × `maxInactiveInterval` idle, without a message. `channelSendOptions = 8` (asynchronous,
//! default) queues the message and returns; `send_mode = "sync"` (options 4|2, synchronized
//! ack) blocks the request thread until every member acked (2 × `app_app`). A starting node
//! (`getAllClusterSessions`) asks the first live member for all sessions, which sends them in
//! blocks of `sendAllSessionsSize` = 1000 every `sendAllSessionsWaitTime` = 2 s; the receiver
//! gives up after `stateTransferTimeout` = 60 s; messages stamped before the transfer started are
//! dropped (they are in the transferred state).
//!
//! Modelled as: copies as versions per (slot, node); an asynchronous message is delivered after
//! `app_app` to every node up at that time, unless its sender crashed meanwhile (a node epoch
//! changes at each crash); a synchronous one is on the wire when sent (applied at once) and the
//! request waits 2 × `app_app` for the acks (a creation message's ack is waited for at the end
//! of the request).
//! Delta serialization costs CPU (Java serializer, `delta_size` bytes) before the send.
//!
//! Simplified:
//! - `EVT_SESSION_CREATED` carries only the id in Tomcat and the first request's attributes
//!   follow in its delta; here the creation message carries the whole session
//!   (`session_size` + 100 B), so that each copy's bytes are counted once.
//! - Membership (heartbeat 500 ms, member dropped after 3000 ms) is not modelled: a node is a
//!   member exactly while it is up. The lag would only add failed sends to a dead member (not
//!   counted as traffic) and could make a starting node pick a just-crashed donor; no session
//!   state depends on it because DeltaManager never reassigns ownership on a member's departure.
//! - The copies' last access (for the 2 × timeout rule and for the accessed message) is one
//!   per-session time: that of the last message sent about it.
//! - State transfer: a block carries the donor's copy as it is when the block arrives (Tomcat
//!   serializes it when sent and then applies the queued messages stamped after the transfer
//!   began: the same result). Messages reaching the starting node before its block are applied
//!   only to sessions it already has (a delta for an unknown session is dropped, as in
//!   `handleSESSION_DELTA`). Blocks after the 60 s timeout are sent (counted) but not applied.
//!   Real Tomcat does not open its connectors before the transfer ends; sessim's node serves
//!   requests at once, so requests there miss not-yet-transferred sessions.
//! - Deltas are applied as versions (a copy takes the newer of its version and the message's).
//!
//! Source: Apache Tomcat 10 `org.apache.catalina.ha.session.DeltaManager` (`requestCompleted`,
//! `createMessage`, `sendCreateSession`, `getAllClusterSessions`, `handleGET_ALL_SESSIONS`),
//! `DeltaSession` (`isValid`, `isAccessReplicate`), `ClusterSessionListener`.

use super::{Cx, EventSlab, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::kernel::SimTime;
use crate::model::ids::NodeIdx;
use crate::scenario::config::ExperimentConfig;
use crate::scenario::units::Duration;
use serde::Deserialize;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "delta-replication",
    doc:
        "all-to-all replication: every change as a delta to every other node (Tomcat DeltaManager)",
    check,
    build: |cfg| Box::new(DeltaReplication::new(cfg)),
    node_bound: false,
};

/// Bytes of a cluster message besides its payload (Tribes header, session id, manager name).
pub const MSG_OVERHEAD: u64 = 100;

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    /// `channelSendOptions = 8`: queued, the request does not wait (default).
    #[default]
    Async,
    /// Synchronized ack: the request waits for every member's ack.
    Sync,
}

/// `[strategy]` options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// `"async"` (default, Tomcat's `channelSendOptions = 8`) or `"sync"`.
    #[serde(default)]
    pub send_mode: SendMode,
    /// Sessions per state-transfer block (`sendAllSessionsSize`, default 1000).
    #[serde(default = "d_block")]
    pub send_all_sessions_size: u32,
    /// Pause between state-transfer blocks (`sendAllSessionsWaitTime`, default 2s).
    #[serde(default = "d_block_wait")]
    pub send_all_sessions_wait_time: Duration,
    /// The starting node gives up waiting for the state after this (`stateTransferTimeout`,
    /// default 60s).
    #[serde(default = "d_transfer_timeout")]
    pub state_transfer_timeout: Duration,
}

fn d_block() -> u32 {
    1000
}
fn d_block_wait() -> Duration {
    Duration(2_000_000_000)
}
fn d_transfer_timeout() -> Duration {
    Duration(60_000_000_000)
}

fn check(cfg: &ExperimentConfig) -> Result<(), (String, String)> {
    let o: Options = super::options(&cfg.strategy)?;
    if o.send_all_sessions_size == 0 {
        return Err((
            "send_all_sessions_size".into(),
            "must be at least 1 session per block".into(),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    Delta,
    Accessed,
}

enum Ev {
    /// An asynchronous message of `from` (sent in its epoch `epoch`) about (slot, gen).
    Msg {
        kind: Kind,
        slot: u32,
        gen: u32,
        from: NodeIdx,
        epoch: u32,
        version: u32,
    },
    /// One block of a state transfer from `donor` to `to`.
    Block {
        to: NodeIdx,
        to_epoch: u32,
        donor: NodeIdx,
        donor_epoch: u32,
        started: SimTime,
        slots: Vec<(u32, u32)>,
    },
}

/// The strategy's state.
pub struct DeltaReplication {
    o: Options,
    n: usize,
    delta_bytes: u64,
    /// `slot * n + node` → version + 1 of that node's copy, 0 = no copy.
    copies: Vec<u32>,
    /// Per slot: the generation the row belongs to.
    gens: Vec<u32>,
    /// Per slot: time of the last message about it (lastTimeReplicated; copies' last access).
    last_repl: Vec<SimTime>,
    /// Per node: incremented at each crash.
    epoch: Vec<u32>,
    events: EventSlab<Ev>,
}

const CREATE_PENDING: u64 = 1;
const SEND_SHIFT: u32 = 8;

impl DeltaReplication {
    /// A cluster of `cfg.app.nodes` nodes with no sessions.
    pub fn new(cfg: &ExperimentConfig) -> Self {
        let o: Options = super::options(&cfg.strategy).expect("validated options");
        let n = cfg.app.nodes as usize;
        DeltaReplication {
            o,
            n,
            delta_bytes: cfg.workload.delta_size.bytes(),
            copies: Vec::new(),
            gens: Vec::new(),
            last_repl: Vec::new(),
            epoch: vec![0; n],
            events: EventSlab::default(),
        }
    }

    fn copy(&self, slot: u32, node: NodeIdx) -> u32 {
        self.copies[slot as usize * self.n + node as usize]
    }

    fn set_copy(&mut self, slot: u32, node: NodeIdx, v: u32) {
        self.copies[slot as usize * self.n + node as usize] = v;
    }

    /// Whether `slot` is live with the generation our row belongs to.
    fn valid(&self, cx: &Cx<'_>, slot: u32, gen: u32) -> bool {
        let s = cx.sessions.slot(slot);
        s.live
            && s.gen == gen
            && (slot as usize) < self.gens.len()
            && self.gens[slot as usize] == gen
    }

    fn tracked_slots(&self) -> u32 {
        self.gens.len() as u32
    }

    fn row_valid(&self, cx: &Cx<'_>, slot: u32) -> bool {
        let s = cx.sessions.slot(slot);
        s.live && s.gen == self.gens[slot as usize]
    }

    fn others_up(cx: &Cx<'_>, from: NodeIdx) -> u64 {
        cx.nodes_up
            .iter()
            .enumerate()
            .filter(|&(i, &up)| up && i != from as usize)
            .count() as u64
    }

    fn push(&mut self, cx: &mut Cx<'_>, delay: u64, ev: Ev) {
        let i = self.events.insert(ev);
        cx.later(delay, i);
    }

    /// Sends a message about `slot` from `from` to every other live member: counts it, then
    /// applies it at once (sync) or after `app_app` (async).
    fn send(&mut self, cx: &mut Cx<'_>, kind: Kind, slot: u32, from: NodeIdx, sync: bool) {
        let s = cx.sessions.slot(slot);
        let (gen, version, size) = (s.gen, s.version, s.size_bytes as u64);
        let payload = match kind {
            Kind::Created => size,
            Kind::Delta => self.delta_bytes,
            Kind::Accessed => 0,
        };
        let peers = Self::others_up(cx, from);
        cx.obs
            .app_app(cx.now, peers, peers * (payload + MSG_OVERHEAD));
        self.last_repl[slot as usize] = cx.now;
        if sync {
            self.apply(cx, kind, slot, from, version);
        } else {
            let epoch = self.epoch[from as usize];
            let ev = Ev::Msg {
                kind,
                slot,
                gen,
                from,
                epoch,
                version,
            };
            self.push(cx, cx.net.app_app, ev);
        }
    }

    /// Applies a message of `from` at every other live node.
    fn apply(&mut self, cx: &Cx<'_>, kind: Kind, slot: u32, from: NodeIdx, version: u32) {
        for y in 0..self.n {
            if y == from as usize || !cx.nodes_up[y] {
                continue;
            }
            let cur = self.copy(slot, y as NodeIdx);
            match kind {
                Kind::Created => self.set_copy(slot, y as NodeIdx, cur.max(version + 1)),
                Kind::Delta if cur != 0 => self.set_copy(slot, y as NodeIdx, cur.max(version + 1)),
                _ => {}
            }
        }
    }

    /// The primary `at` expires `slot`: EXPIRED to every other member, every copy removed.
    fn expire_primary(&mut self, cx: &mut Cx<'_>, slot: u32, at: NodeIdx) {
        let peers = Self::others_up(cx, at);
        cx.obs.app_app(cx.now, peers, peers * MSG_OVERHEAD);
        self.drop_all(cx, slot);
    }

    /// Removes every copy of `slot` and frees it.
    fn drop_all(&mut self, cx: &mut Cx<'_>, slot: u32) {
        let base = slot as usize * self.n;
        self.copies[base..base + self.n].fill(0);
        cx.sessions.free(slot);
    }

    fn any_copy(&self, slot: u32) -> bool {
        let base = slot as usize * self.n;
        self.copies[base..base + self.n].iter().any(|&v| v != 0)
    }
}

impl Strategy for DeltaReplication {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((_, cookie)) = req.cookie else {
            return Step::Done;
        };
        let Some(s) = cx.sessions.get(cookie) else {
            return Step::Done;
        };
        let (home, version, idle) = (s.home, s.version, cx.now.since(s.last_access));
        let x = req.node;
        let v = self.copy(cookie.slot, x);
        if v == 0 {
            return Step::Done;
        }
        if idle >= cx.timeout_ns {
            if home == x {
                self.expire_primary(cx, cookie.slot, x);
            } else {
                self.drop_all(cx, cookie.slot);
            }
            return Step::Done;
        }
        req.st.slot = Some(cookie.slot);
        req.st.seen = v - 1;
        if v - 1 < version {
            cx.obs.stale_read(cx.now);
        }
        Step::Done
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        let need = (slot as usize + 1) * self.n;
        if self.copies.len() < need {
            self.copies.resize(need, 0);
            self.gens.resize(slot as usize + 1, 0);
            self.last_repl.resize(slot as usize + 1, SimTime::ZERO);
        }
        let base = slot as usize * self.n;
        self.copies[base..base + self.n].fill(0);
        self.gens[slot as usize] = cx.sessions.slot(slot).gen;
        self.set_copy(slot, req.node, 1);
        let sync = self.o.send_mode == SendMode::Sync;
        self.send(cx, Kind::Created, slot, req.node, sync);
        if sync {
            req.st.scratch |= CREATE_PENDING;
        }
    }

    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some(slot) = req.st.slot else {
            return Step::Done;
        };
        let x = req.node;
        let sync = self.o.send_mode == SendMode::Sync;
        match req.st.stage {
            0 => {
                let s = cx.sessions.slot(slot);
                if !self.row_valid(cx, slot) || self.copy(slot, x) == 0 {
                    return Step::Done;
                }
                let (home, version) = (s.home, s.version);
                let kind = if req.write {
                    if req.st.seen < req.st.prev_latest {
                        cx.obs.lost_update(cx.now);
                    }
                    self.set_copy(slot, x, version + 1);
                    Some(Kind::Delta)
                } else if home != x || cx.now.since(self.last_repl[slot as usize]) > cx.timeout_ns {
                    Some(Kind::Accessed)
                } else {
                    None
                };
                cx.sessions.slot_mut(slot).home = x;
                req.st.scratch |= (kind.map_or(0, |k| k as u64 + 1)) << SEND_SHIFT;
                req.st.stage = 1;
                // DeltaManager.serializeDeltaRequest before the send
                if kind == Some(Kind::Delta) {
                    return Step::Wait(Serializer::Java.cpu_ns(self.delta_bytes).max(1));
                }
                self.end(cx, req)
            }
            1 => {
                // the message leaves; sync: the request waits for the acks
                req.st.stage = 2;
                let kind = match (req.st.scratch >> SEND_SHIFT) & 0xff {
                    1 => Some(Kind::Created),
                    2 => Some(Kind::Delta),
                    3 => Some(Kind::Accessed),
                    _ => None,
                };
                let mut wait = 0;
                if let Some(k) = kind {
                    if self.row_valid(cx, slot) {
                        self.send(cx, k, slot, x, sync);
                        if sync {
                            wait += 2 * cx.net.app_app;
                        }
                    }
                }
                if req.st.scratch & CREATE_PENDING != 0 {
                    wait += 2 * cx.net.app_app;
                }
                if wait > 0 {
                    Step::Wait(wait)
                } else {
                    Step::Done
                }
            }
            _ => Step::Done,
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, payload: u32) {
        let ev = self.events.take(payload);
        match ev {
            Ev::Msg {
                kind,
                slot,
                gen,
                from,
                epoch,
                version,
            } => {
                if self.epoch[from as usize] != epoch || !self.valid(cx, slot, gen) {
                    return; // the sender died before sending, or the session is gone
                }
                self.apply(cx, kind, slot, from, version);
            }
            Ev::Block {
                to,
                to_epoch,
                donor,
                donor_epoch,
                started,
                slots,
            } => {
                if self.epoch[donor as usize] != donor_epoch || !cx.nodes_up[donor as usize] {
                    return;
                }
                let bytes: u64 = slots
                    .iter()
                    .filter(|&&(s, g)| self.valid(cx, s, g))
                    .map(|&(s, _)| cx.sessions.slot(s).size_bytes as u64)
                    .sum();
                cx.obs.app_app(cx.now, 1, bytes + MSG_OVERHEAD);
                if self.epoch[to as usize] != to_epoch
                    || cx.now.since(started) > self.o.state_transfer_timeout.ns()
                {
                    return;
                }
                for (s, g) in slots {
                    if self.valid(cx, s, g) {
                        let v = self.copy(s, donor).max(self.copy(s, to));
                        self.set_copy(s, to, v);
                    }
                }
            }
        }
    }

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        self.epoch[node as usize] += 1;
        for slot in 0..self.tracked_slots() {
            if !self.row_valid(cx, slot) {
                continue;
            }
            self.set_copy(slot, node, 0);
            if !self.any_copy(slot) {
                cx.sessions.free(slot);
            }
        }
    }

    fn node_up(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        let Some(donor) = (0..self.n).find(|&i| i != node as usize && cx.nodes_up[i]) else {
            return;
        };
        let donor = donor as NodeIdx;
        // EVT_GET_ALL_SESSIONS
        cx.obs.app_app(cx.now, 1, MSG_OVERHEAD);
        let snapshot: Vec<(u32, u32)> = (0..self.tracked_slots())
            .filter(|&s| self.row_valid(cx, s) && self.copy(s, donor) != 0)
            .map(|s| (s, self.gens[s as usize]))
            .collect();
        let per = self.o.send_all_sessions_size as usize;
        let blocks = snapshot.len().div_ceil(per).max(1);
        for k in 0..blocks {
            let part = snapshot[(k * per).min(snapshot.len())..((k + 1) * per).min(snapshot.len())]
                .to_vec();
            let delay = 2 * cx.net.app_app + k as u64 * self.o.send_all_sessions_wait_time.ns();
            let ev = Ev::Block {
                to: node,
                to_epoch: self.epoch[node as usize],
                donor,
                donor_epoch: self.epoch[donor as usize],
                started: cx.now,
                slots: part,
            };
            self.push(cx, delay, ev);
        }
    }

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in 0..self.tracked_slots() {
            if !self.row_valid(cx, slot) || self.copy(slot, node) == 0 {
                continue;
            }
            let s = cx.sessions.slot(slot);
            if s.home == node {
                if cx.now.since(s.last_access) >= cx.timeout_ns {
                    self.expire_primary(cx, slot, node);
                }
            } else if cx.now.since(self.last_repl[slot as usize]) >= 2 * cx.timeout_ns {
                self.set_copy(slot, node, 0);
                if !self.any_copy(slot) {
                    cx.sessions.free(slot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_str;

    fn cfg(strategy: &str) -> Result<(), String> {
        let toml = format!(
            "seed = 1\nhorizon = \"1m\"\n[workload]\nkind = \"open\"\nsession_rate = 1.0\n\
             [balancer]\nkind = \"round-robin\"\n[strategy]\nkind = \"delta-replication\"\n{strategy}\n"
        );
        load_str(&toml, "t.toml", None, "t")
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn options_have_tomcat_defaults_and_reject_unknown_keys() {
        assert!(cfg("").is_ok());
        assert!(cfg("send_mode = \"sync\"\nsend_all_sessions_wait_time = \"1s\"").is_ok());
        let e = cfg("send_mode = \"sometimes\"").unwrap_err();
        assert!(e.contains("send_mode"), "{e}");
        let e = cfg("partner = \"fixed\"").unwrap_err();
        assert!(e.contains("partner"), "{e}");
        let e = cfg("send_all_sessions_size = 0").unwrap_err();
        assert!(e.contains("send_all_sessions_size"), "{e}");
    }

    #[test]
    fn a_restarted_node_gets_the_sessions_back_by_state_transfer() {
        // one node crashes and comes back: the state transfer brings the sessions back, so the
        // sessions created before the crash survive on the other nodes and nothing is lost
        let toml = "seed = 3\nreplications = 1\nhorizon = \"3m\"\n[workload]\nkind = \"open\"\n\
             session_rate = 5.0\n[app]\nnodes = 3\n[balancer]\nkind = \"round-robin\"\n\
             [strategy]\nkind = \"delta-replication\"\nsend_mode = \"sync\"\n\
             [[faults]]\ntarget = \"app:0\"\nat = \"1m\"\nrepair_after = \"10s\"\n";
        let exp = load_str(toml, "t.toml", None, "t").unwrap();
        let out = crate::model::simulate(&exp.points[0], 0);
        assert!(out.metrics.requests > 1000.0);
        assert_eq!(out.metrics.sessions_lost, 0.0);
    }
}
