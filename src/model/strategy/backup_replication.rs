//! `backup-replication`: primary/backup replication (Tomcat `BackupManager`, WebLogic in-memory
//! replication, the thesis's unicast "Loose Cluster").
//!
//! A session has a primary copy (where it was created or last moved) and one backup copy on
//! another node; every other member holds a key-only *proxy* entry naming the primary and backup.
//!
//! ```text
//!  created at P ─► full copy (session_size + 100 B) to backup B  ─┐ publishEntryInfo
//!               └► proxy entry (100 B) to each other member      ─┘ (sync: request waits acks)
//!  request at P ─► dirty? diff (delta_size + 100 B) to B, sync ack; idle > timeout? ACCESS to B
//!  request at B ─► B becomes primary, new backup chosen (full copy), proxies to the others
//!  request at X (proxy) ─► RPC to B for the session (2 × app_app + transfer, 15 s timeout),
//!                          X primary, B stays backup (NOTIFY_MAPMEMBER), proxies to the others
//!  member leaves (after the 3 s membership lag) ─► its backups: primaries re-backup;
//!                                                  its primaries: backups promote themselves
//! ```
//!
//! Behaviour, after Tribes `LazyReplicatedMap` / `AbstractReplicatedMap` (Tomcat 7–11):
//! `publishEntryInfo` picks the backup round robin over the map members except itself
//! (`partner = "round-robin"`, default) and sends `MSG_BACKUP` with the whole value to it and
//! `MSG_PROXY` to the rest; `replicate` at the end of a request sends, only from the primary, a
//! diff if the session is dirty, or `MSG_ACCESS` if `isAccessReplicate` (more than
//! `maxInactiveInterval` since the last replication), else nothing. `get` on a non-primary
//! entry: a backup publishes itself as primary with a new backup; a proxy asks the backup nodes
//! (`MSG_RETRIEVE_BACKUP`, `RpcChannel.FIRST_REPLY`, `rpcTimeout` = 15 s), takes the value,
//! keeps the same backup (`MSG_NOTIFY_MAPMEMBER` to it) and sends `MSG_PROXY` to the other
//! members (the old primary becomes a proxy: a write it is still finishing is never
//! replicated). `memberDisappeared`: an entry whose backup was the departed member is
//! re-published by its primary (new backup and proxies); an entry whose primary departed and
//! whose only backup is this node is promoted and re-published; proxies whose primary and
//! backup are gone are dropped. Expiry (`remove`) sends `MSG_REMOVE` to every member.
//! `BackupManager`'s `mapSendOptions` default is synchronized ack (`send_mode = "sync"`).
//! `partner = "fixed"` makes node i's backup node (i+1) mod N (the next live node after it):
//! the thesis's unicast Loose Cluster and WebLogic's secondary on another machine.
//!
//! Modelled as: per session the primary node and version, the backup node and version; a sync
//! message is on the wire when sent (applied at once) and the request waits 2 × `app_app` per
//! send for the acks; an async one is applied after `app_app` unless the sender crashed
//! meanwhile. Serialization costs CPU (Java serializer) before a diff or a full copy. A crash removes the
//! copies on the node at once (a session with neither copy left is freed: lost); the other
//! members react `member_drop_time` (3 s: Tribes heartbeat 500 ms, member dropped after 3000 ms)
//! later, so two crashes within 3 s lose the sessions the two nodes held together.
//!
//! Simplified:
//! - Every live member other than the primary and backup is taken to hold a proxy entry (a
//!   restarted node gets them through the map's state transfer, counted as one request and one
//!   reply of 100 B + 40 B per session); proxy messages are counted, not tracked per node.
//! - Backups are chosen among nodes that are up (Tribes could pick a crashed member during
//!   the membership lag; the copy would be re-published when the member is dropped).
//! - An RPC to a crashed backup fails after one round trip (connection refused) and the request
//!   finds nothing (a new session: lost); Tribes' `TcpFailureDetector` then drops the member at
//!   once, so the other sessions backed up there are re-published. A request landing on a proxy
//!   in the window between a crash and the member's drop can thus lose its session: with a
//!   sticky balancer (the deployment BackupManager is meant for) requests go to the primary and
//!   this does not happen. An RPC whose backup crashes before it answers waits `rpc_timeout`
//!   and finds nothing.
//! - WebLogic's cookie `id!primary!secondary` and its plug-in's secondary routing are not
//!   modelled: the balancer decides where a request lands.
//!
//! Source: Apache Tomcat 10 `org.apache.catalina.ha.session.BackupManager`,
//! `org.apache.catalina.tribes.tipis.AbstractReplicatedMap` (`replicate`, `get`,
//! `memberDisappeared`, `mapMemberAdded`), `LazyReplicatedMap.publishEntryInfo`; Oracle
//! WebLogic Server "Using Clusters", HTTP session state replication.

use super::delta_replication::{SendMode, MSG_OVERHEAD};
use super::{Cx, EventSlab, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::kernel::SimTime;
use crate::model::ids::NodeIdx;
use crate::scenario::config::ExperimentConfig;
use crate::scenario::units::Duration;
use serde::Deserialize;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "backup-replication",
    doc: "primary/backup: one backup copy per session, proxies elsewhere (Tomcat BackupManager, WebLogic)",
    check,
    build: |cfg| Box::new(BackupReplication::new(cfg)),
    node_bound: false,
};

/// How a node picks the backup of the sessions it is primary for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Partner {
    /// Round robin over the other live members, one counter per node (Tribes default).
    #[default]
    RoundRobin,
    /// Node i → node (i+1) mod N, or the next live node after it.
    Fixed,
}

/// `[strategy]` options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// `"round-robin"` (default) or `"fixed"`.
    #[serde(default)]
    pub partner: Partner,
    /// `"sync"` (default: BackupManager's synchronized ack) or `"async"`.
    #[serde(default = "d_sync")]
    pub send_mode: SendMode,
    /// Timeout of the RPC that fetches a session from its backup (`rpcTimeout`, default 15s).
    #[serde(default = "d_rpc_timeout")]
    pub rpc_timeout: Duration,
    /// Delay before the members react to a crash (Tribes `memberDropTime`, default 3s).
    #[serde(default = "d_member_drop")]
    pub member_drop_time: Duration,
}

fn d_sync() -> SendMode {
    SendMode::Sync
}
fn d_rpc_timeout() -> Duration {
    Duration(15_000_000_000)
}
fn d_member_drop() -> Duration {
    Duration(3_000_000_000)
}

fn check(cfg: &ExperimentConfig) -> Result<(), (String, String)> {
    let _: Options = super::options(&cfg.strategy)?;
    Ok(())
}

const NONE: NodeIdx = NodeIdx::MAX;
/// Bytes per session in the map state a restarting node receives (key and member ids).
const STATE_BYTES_PER_SESSION: u64 = 40;

/// Per-session replica state. Versions are stored +1 (0 = no copy).
#[derive(Debug, Clone, Copy)]
struct Entry {
    gen: u32,
    primary: NodeIdx,
    pver: u32,
    backup: NodeIdx,
    bver: u32,
    last_repl: SimTime,
}

enum Ev {
    /// An asynchronous copy (`full`) or diff of version `version` from `from` to `to`.
    Copy {
        slot: u32,
        gen: u32,
        from: NodeIdx,
        epoch: u32,
        to: NodeIdx,
        version: u32,
        full: bool,
    },
    /// The members drop crashed node `node`.
    MemberGone { node: NodeIdx },
}

/// The strategy's state.
pub struct BackupReplication {
    o: Options,
    n: usize,
    delta_bytes: u64,
    entries: Vec<Entry>,
    rr: Vec<u32>,
    epoch: Vec<u32>,
    events: EventSlab<Ev>,
}

// ReqState.scratch: bits 0..8 pending sync sends from `created`; bits 8..16 the end message.
const END_DIFF: u64 = 1 << 8;
const END_ACCESS: u64 = 2 << 8;

impl BackupReplication {
    /// A cluster of `cfg.app.nodes` nodes with no sessions.
    pub fn new(cfg: &ExperimentConfig) -> Self {
        let o: Options = super::options(&cfg.strategy).expect("validated options");
        let n = cfg.app.nodes as usize;
        BackupReplication {
            o,
            n,
            delta_bytes: cfg.workload.delta_size.bytes(),
            entries: Vec::new(),
            rr: vec![0; n],
            epoch: vec![0; n],
            events: EventSlab::default(),
        }
    }

    fn sync(&self) -> bool {
        self.o.send_mode == SendMode::Sync
    }

    fn valid(&self, cx: &Cx<'_>, slot: u32) -> bool {
        let s = cx.sessions.slot(slot);
        s.live && (slot as usize) < self.entries.len() && self.entries[slot as usize].gen == s.gen
    }

    fn e(&mut self, slot: u32) -> &mut Entry {
        &mut self.entries[slot as usize]
    }

    /// The backup node `p` picks now, if any other member is up.
    fn choose_backup(&mut self, cx: &Cx<'_>, p: NodeIdx) -> NodeIdx {
        let n = self.n;
        match self.o.partner {
            Partner::Fixed => (1..n)
                .map(|k| ((p as usize + k) % n) as NodeIdx)
                .find(|&y| cx.nodes_up[y as usize])
                .unwrap_or(NONE),
            Partner::RoundRobin => {
                let others: Vec<NodeIdx> = (0..n as NodeIdx)
                    .filter(|&y| y != p && cx.nodes_up[y as usize])
                    .collect();
                if others.is_empty() {
                    return NONE;
                }
                let i = self.rr[p as usize] as usize % others.len();
                self.rr[p as usize] = self.rr[p as usize].wrapping_add(1);
                others[i]
            }
        }
    }

    fn up_except(cx: &Cx<'_>, a: NodeIdx, b: NodeIdx) -> u64 {
        cx.nodes_up
            .iter()
            .enumerate()
            .filter(|&(i, &up)| up && i != a as usize && i != b as usize)
            .count() as u64
    }

    fn push(&mut self, cx: &mut Cx<'_>, delay: u64, ev: Ev) {
        let i = self.events.insert(ev);
        cx.later(delay, i);
    }

    /// `publishEntryInfo` from the primary `p` of `slot`: a new backup gets the whole session,
    /// the other members a proxy. `deferred`: an async send (applied after `app_app` if `p` is
    /// still up). Returns the number of synchronous sends made (0–2).
    fn publish(&mut self, cx: &mut Cx<'_>, slot: u32, p: NodeIdx, deferred: bool) -> u64 {
        let b = self.choose_backup(cx, p);
        let size = cx.sessions.slot(slot).size_bytes as u64;
        let proxies = Self::up_except(cx, p, b);
        let mut sends = 0;
        if b != NONE {
            cx.obs.app_app(cx.now, 1, size + MSG_OVERHEAD);
            sends += 1;
        }
        if proxies > 0 {
            cx.obs.app_app(cx.now, proxies, proxies * MSG_OVERHEAD);
            sends += 1;
        }
        let gen = cx.sessions.slot(slot).gen;
        let now = cx.now;
        let e = self.e(slot);
        let pver = e.pver;
        e.backup = b;
        e.bver = 0;
        e.last_repl = now;
        if b != NONE {
            if deferred {
                let ev = Ev::Copy {
                    slot,
                    gen,
                    from: p,
                    epoch: self.epoch[p as usize],
                    to: b,
                    version: pver,
                    full: true,
                };
                self.push(cx, cx.net.app_app, ev);
            } else {
                self.e(slot).bver = pver;
            }
        }
        sends
    }

    /// `slot` expires at its primary `at`: MSG_REMOVE to every other member, then freed.
    fn remove(&mut self, cx: &mut Cx<'_>, slot: u32, at: NodeIdx) {
        let peers = Self::up_except(cx, at, NONE);
        cx.obs.app_app(cx.now, peers, peers * MSG_OVERHEAD);
        cx.sessions.free(slot);
    }

    /// `memberDisappeared(node)`: sessions whose primary copy was on `node` are promoted at
    /// their backup, sessions whose backup copy was on it get a new backup.
    fn member_gone(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in 0..self.entries.len() as u32 {
            if !self.valid(cx, slot) {
                continue;
            }
            let e = self.entries[slot as usize];
            if e.primary == node && e.pver == 0 {
                if e.bver != 0 && cx.nodes_up[e.backup as usize] {
                    let en = self.e(slot);
                    en.primary = e.backup;
                    en.pver = e.bver;
                    self.publish(cx, slot, e.backup, false);
                }
            } else if e.backup == node
                && e.bver == 0
                && e.pver != 0
                && cx.nodes_up[e.primary as usize]
            {
                self.publish(cx, slot, e.primary, false);
            }
        }
    }

    fn found(cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32, ver: u32) {
        req.st.slot = Some(slot);
        req.st.seen = ver - 1;
        if ver - 1 < cx.sessions.slot(slot).version {
            cx.obs.stale_read(cx.now);
        }
    }
}

impl Strategy for BackupReplication {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some((_, cookie)) = req.cookie else {
            return Step::Done;
        };
        let slot = cookie.slot;
        if cx.sessions.get(cookie).is_none() || !self.valid(cx, slot) {
            return Step::Done;
        }
        let x = req.node;
        let rtt = 2 * cx.net.app_app;
        let size = cx.sessions.slot(slot).size_bytes as u64;
        let e = self.entries[slot as usize];
        match req.st.stage {
            0 => {
                if cx.now.since(cx.sessions.slot(slot).last_access) >= cx.timeout_ns {
                    if e.primary == x && e.pver != 0 {
                        self.remove(cx, slot, x);
                    } else {
                        cx.sessions.free(slot);
                    }
                    return Step::Done;
                }
                if e.primary == x && e.pver != 0 {
                    Self::found(cx, req, slot, e.pver);
                    return Step::Done;
                }
                if e.backup == x && e.bver != 0 {
                    // the backup becomes primary and publishes itself with a new backup
                    let ver = e.bver;
                    let en = self.e(slot);
                    en.primary = x;
                    en.pver = ver;
                    let sends = self.publish(cx, slot, x, !self.sync());
                    Self::found(cx, req, slot, ver);
                    req.st.stage = 9;
                    let wait = if self.sync() { sends * rtt } else { 0 };
                    return Step::Wait(Serializer::Java.cpu_ns(size) + wait);
                }
                if e.backup == NONE {
                    return Step::Done; // a proxy without a backup to ask
                }
                // MSG_RETRIEVE_BACKUP to the backup
                cx.obs.app_app(cx.now, 1, MSG_OVERHEAD);
                req.st.stage = 1;
                req.st.scratch = (req.st.scratch & !0xffff_0000) | ((e.backup as u64) << 16);
                if !cx.nodes_up[e.backup as usize] {
                    // connection refused: TcpFailureDetector drops the member at once, but this
                    // request finds nothing
                    self.member_gone(cx, e.backup);
                    req.st.stage = 8;
                    return Step::Wait(rtt);
                }
                Step::Wait(rtt + Serializer::Java.cpu_ns(size))
            }
            1 => {
                let asked = ((req.st.scratch >> 16) & 0xffff) as NodeIdx;
                // any member holding the value answers MSG_RETRIEVE_BACKUP (Tribes
                // `messageReceived`), e.g. a backup promoted to primary meanwhile
                let held = if e.backup == asked {
                    e.bver
                } else if e.primary == asked {
                    e.pver
                } else {
                    0
                };
                if held == 0 || !cx.nodes_up[asked as usize] {
                    // the backup died or dropped the value before it answered: RPC timeout
                    req.st.stage = 8;
                    return Step::Wait(
                        self.o
                            .rpc_timeout
                            .ns()
                            .saturating_sub(req.st.waited_ns)
                            .max(1),
                    );
                }
                cx.obs.app_app(cx.now, 1, size + MSG_OVERHEAD);
                let ver = held;
                let en = self.e(slot);
                en.primary = x;
                en.pver = ver;
                // the member that answered is the backup from now on
                en.backup = asked;
                en.bver = held;
                // NOTIFY_MAPMEMBER to the backup; MSG_PROXY to everyone else
                cx.obs.app_app(cx.now, 1, MSG_OVERHEAD);
                let proxies = Self::up_except(cx, x, asked);
                let mut sends = 1;
                if proxies > 0 {
                    cx.obs.app_app(cx.now, proxies, proxies * MSG_OVERHEAD);
                    sends += 1;
                }
                Self::found(cx, req, slot, ver);
                req.st.stage = 9;
                if self.sync() {
                    Step::Wait(sends * rtt)
                } else {
                    Step::Done
                }
            }
            _ => Step::Done,
        }
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        let gen = cx.sessions.slot(slot).gen;
        if self.entries.len() <= slot as usize {
            self.entries.resize(
                slot as usize + 1,
                Entry {
                    gen: u32::MAX,
                    primary: NONE,
                    pver: 0,
                    backup: NONE,
                    bver: 0,
                    last_repl: SimTime::ZERO,
                },
            );
        }
        self.entries[slot as usize] = Entry {
            gen,
            primary: req.node,
            pver: 1,
            backup: NONE,
            bver: 0,
            last_repl: cx.now,
        };
        let sends = self.publish(cx, slot, req.node, !self.sync());
        if self.sync() {
            req.st.scratch |= sends;
        }
    }

    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let Some(slot) = req.st.slot else {
            return Step::Done;
        };
        if !self.valid(cx, slot) {
            return Step::Done;
        }
        let x = req.node;
        let e = self.entries[slot as usize];
        let version = cx.sessions.slot(slot).version;
        let rtt = 2 * cx.net.app_app;
        match req.st.stage {
            0 => {
                if e.primary != x || e.pver == 0 {
                    // another node took the session over: this node's change is never sent
                    if req.write {
                        cx.obs.lost_update(cx.now);
                    }
                    return Step::Done;
                }
                if req.write {
                    if req.st.seen < req.st.prev_latest {
                        cx.obs.lost_update(cx.now);
                    }
                    self.e(slot).pver = version + 1;
                }
                let mut wait = 0;
                if e.backup != NONE {
                    if req.write {
                        req.st.scratch |= END_DIFF;
                        wait += Serializer::Java.cpu_ns(self.delta_bytes).max(1);
                    } else if cx.now.since(e.last_repl) > cx.timeout_ns {
                        req.st.scratch |= END_ACCESS;
                    }
                }
                req.st.stage = 1;
                if wait > 0 {
                    return Step::Wait(wait);
                }
                self.end(cx, req)
            }
            1 => {
                // the message leaves; sync: the request waits for the ack (and for the acks of
                // the creation's copy and proxies)
                req.st.stage = 2;
                let mut sends = req.st.scratch & 0xff;
                if e.primary == x && e.pver != 0 && e.backup != NONE {
                    if req.st.scratch & END_DIFF != 0 {
                        cx.obs.app_app(cx.now, 1, self.delta_bytes + MSG_OVERHEAD);
                        sends += 1;
                        if self.sync() {
                            if e.bver != 0 {
                                self.e(slot).bver = e.pver;
                            }
                        } else {
                            let ev = Ev::Copy {
                                slot,
                                gen: e.gen,
                                from: x,
                                epoch: self.epoch[x as usize],
                                to: e.backup,
                                version: e.pver,
                                full: false,
                            };
                            self.push(cx, cx.net.app_app, ev);
                        }
                        self.e(slot).last_repl = cx.now;
                    } else if req.st.scratch & END_ACCESS != 0 {
                        cx.obs.app_app(cx.now, 1, MSG_OVERHEAD);
                        sends += 1;
                        self.e(slot).last_repl = cx.now;
                    }
                }
                if self.sync() && sends > 0 && rtt > 0 {
                    Step::Wait(sends * rtt)
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
            Ev::Copy {
                slot,
                gen,
                from,
                epoch,
                to,
                version,
                full,
            } => {
                if self.epoch[from as usize] != epoch
                    || !self.valid(cx, slot)
                    || self.entries[slot as usize].gen != gen
                    || !cx.nodes_up[to as usize]
                {
                    return;
                }
                let e = self.e(slot);
                if e.backup == to && (full || e.bver != 0) {
                    e.bver = e.bver.max(version);
                }
            }
            Ev::MemberGone { node } => self.member_gone(cx, node),
        }
    }

    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        self.epoch[node as usize] += 1;
        for slot in 0..self.entries.len() as u32 {
            if !self.valid(cx, slot) {
                continue;
            }
            let e = self.e(slot);
            if e.primary == node {
                e.pver = 0;
            }
            if e.backup == node {
                e.bver = 0;
            }
            if e.pver == 0 && e.bver == 0 {
                cx.sessions.free(slot);
            }
        }
        let delay = self.o.member_drop_time.ns();
        self.push(cx, delay, Ev::MemberGone { node });
    }

    fn node_up(&mut self, cx: &mut Cx<'_>, _node: NodeIdx) {
        let live: Vec<u32> = (0..self.entries.len() as u32)
            .filter(|&s| self.valid(cx, s))
            .collect();
        if cx.nodes_up.iter().filter(|&&u| u).count() > 1 {
            // the map's state transfer: proxies for every session
            cx.obs.app_app(
                cx.now,
                2,
                2 * MSG_OVERHEAD + STATE_BYTES_PER_SESSION * live.len() as u64,
            );
        }
        // mapMemberAdded: primaries without a backup publish again
        for slot in live {
            let e = self.entries[slot as usize];
            if e.pver != 0 && e.bver == 0 && cx.nodes_up[e.primary as usize] {
                self.publish(cx, slot, e.primary, false);
            }
        }
    }

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in 0..self.entries.len() as u32 {
            if !self.valid(cx, slot) {
                continue;
            }
            let e = self.entries[slot as usize];
            if e.primary == node
                && e.pver != 0
                && cx.now.since(cx.sessions.slot(slot).last_access) >= cx.timeout_ns
            {
                self.remove(cx, slot, node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_str;

    fn run(strategy: &str, faults: &str) -> crate::model::observe::RunMetrics {
        let toml = format!(
            "seed = 3\nreplications = 1\nhorizon = \"3m\"\n[workload]\nkind = \"open\"\n\
             session_rate = 5.0\n[app]\nnodes = 2\n[balancer]\nkind = \"route\"\n\
             [strategy]\nkind = \"backup-replication\"\n{strategy}\n{faults}"
        );
        let exp = load_str(&toml, "t.toml", None, "t").unwrap_or_else(|e| panic!("{e}"));
        crate::model::simulate(&exp.points[0], 0).metrics
    }

    #[test]
    fn unknown_options_are_rejected() {
        let toml = "seed = 1\nhorizon = \"1m\"\n[workload]\nkind = \"open\"\nsession_rate = 1.0\n\
             [balancer]\nkind = \"round-robin\"\n[strategy]\nkind = \"backup-replication\"\n\
             partner = \"nearest\"\n";
        let e = load_str(toml, "t.toml", None, "t")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("partner"), "{e}");
    }

    #[test]
    fn two_nodes_survive_a_crash_and_rebackup_after_the_repair() {
        // N = 2: after app:0 crashes, app:1 holds sessions without a backup; when app:0 comes
        // back, mapMemberAdded publishes them to it, so the second crash (of app:1) loses nothing
        let m = run(
            "partner = \"fixed\"",
            "[[faults]]\ntarget = \"app:0\"\nat = \"40s\"\nrepair_after = \"10s\"\n\
             [[faults]]\ntarget = \"app:1\"\nat = \"90s\"\n",
        );
        assert!(m.requests > 1000.0);
        assert_eq!(m.sessions_lost, 0.0);
        // no faults, N = 2: one message per change plus one copy per creation (no proxies)
        let m = run("", "");
        assert!(m.messages_app_app > 0.0);
    }
}
