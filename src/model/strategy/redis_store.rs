//! `redis-store`: sessions kept in one Redis, nothing in the app nodes (FIDELITY §5). Non-sticky
//! by design: every node loads the session from Redis at the start of each request and saves it
//! at the end, so any node can serve any request and an app-node crash loses only the requests
//! in flight.
//!
//! ```text
//!  request ─► GET id ──────────► Redis ──(async, replication_lag)──► replica (optional)
//!  service
//!  end ─────► SET id (if dirty) ► Redis         Redis crash + replica ⇒ Sentinel promotes the
//!        └──► EXPIRE id ───────► Redis         replica after failover_time (requests fail: 500)
//! ```
//!
//! Modelled (whole-session mode, tomcat-redis-session-manager):
//! - a new session: `SETNX id NULL_SESSION`, `SET id <serialized>`, `EXPIRE id timeout`
//!   (`createSession` → `saveInternal(force)`), done when the session is created; their three
//!   round trips and the serialization are waited at the end of that request;
//! - per request that carries an id: one `GET` (`findSession` → `loadSessionDataFromRedis`); a
//!   miss means no state (a loss when the user's session was live); the value read is
//!   deserialized (CPU);
//! - at the end (`afterRequest` → `save`): the session is serialized on every request (to
//!   compare attribute hashes), `SET` if dirty (`save_policy = "on-change"`: the request wrote;
//!   `"always"`: every request, `alwaysSaveAfterRequest`), then always `EXPIRE`;
//! - last write wins on the whole session: a `SET` that reaches Redis when it holds a newer
//!   version than the one the request read is a lost update; a `GET` that returns a version older
//!   than the latest written (a concurrent request wrote and has not saved yet) is a stale read.
//!   Each operation takes effect at Redis when it arrives (one way + `store.op_latency` after it
//!   is sent; `SET` after the serialization), so sub-requests of one page
//!   (`workload.parallel_requests`) race as they do in the real system;
//! - `per_attribute = true` (Redisson / Spring Session): one hash per session; reading it at the
//!   start (one `HGETALL`-like read of the whole hash) and, at the end of a writing request, one
//!   `HSET` of the changed attribute only (`workload.delta_size` bytes), then `PEXPIRE` with
//!   maxInactive + 60 s (Redisson). A write changes one attribute drawn uniformly among
//!   `attributes` (default 10): concurrent writes of different attributes both survive; a write
//!   to an attribute rewritten since the request read the hash is a lost update. With
//!   `save_policy = "always"` every request writes all attributes back (Redisson
//!   `updateMode = AFTER_REQUEST`); a new session is one `HSET` of all attributes + `PEXPIRE`;
//! - failures: with `store.replica = true`, every write also reaches an asynchronous replica
//!   `store.replication_lag` later; when the Redis crashes, Sentinel promotes the replica after
//!   `failover_time` (default 10 s), during which every dynamic request fails (HTTP 500, Jedis
//!   cannot reach a master); writes not yet replicated are lost (sessions created in the lag are
//!   lost, updates revert to older versions ⇒ stale reads). The old master, once repaired,
//!   rejoins as a replica with a full resynchronization. Without a replica the Redis is down until
//!   repaired (requests fail), and comes back empty (`persistence = "volatile"`: every session is
//!   lost) or with what AOF had fsynced (`"aof-everysec"`, [`StoreNode::crash`]);
//! - memory: with `store.cache_size` as `maxmemory`, evicted sessions are lost (`allkeys-lru`).
//!
//! Simplified: a session whose state is gone is freed from the simulator's table when the loss is
//! discovered (a `GET` miss, a crash, a promotion, an eviction); an expired one (idle ≥ timeout) at
//! the request that finds it or at the sweep of the lowest-numbered app node that is up, which
//! also deletes its key (in Redis the key would expire by itself; with `per_attribute` 60 s
//! later) — no traffic is counted for expiry. Only `store:0` can be crashed by faults: a promoted
//! replica never crashes. The replica's own memory limit is not enforced.
//!
//! Sources: jcoleman/tomcat-redis-session-manager `RedisSessionManager.java` (`createSession`,
//! `findSession`, `saveInternal`, `afterRequest`); Redisson `RedissonSessionManager` (readMode,
//! updateMode, `maxInactiveInterval + 60` s expiry); Spring Session `RedisIndexedSessionRepository`
//! (`HMSET` of changed attributes); Redis Sentinel failover.

use super::local::Local;
use super::{Cx, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::kernel::SimTime;
use crate::model::ids::{NodeIdx, SessionId};
use crate::model::session::SessionRef;
use crate::model::store_node::{Persistence, StoreKind, StoreNode, ITEM_OVERHEAD_BYTES};
use crate::scenario::config::{ExperimentConfig, PersistenceConfig, StoreKindConfig};
use crate::scenario::units::Duration;
use serde::Deserialize;
use std::collections::VecDeque;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "redis-store",
    doc: "non-sticky sessions in one Redis: GET per request, SET if dirty, EXPIRE (tomcat-redis-session-manager, Redisson)",
    check,
    build: |cfg| Box::new(RedisStore::new(cfg)),
    node_bound: false,
};

/// When the session is written back at the end of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SavePolicy {
    /// Only when the request changed it (default).
    #[default]
    OnChange,
    /// After every request (`alwaysSaveAfterRequest`).
    Always,
}

/// `[strategy]` options of `redis-store`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// `"java"` (default) or `"kryo"`: serialized size and CPU.
    #[serde(default)]
    pub serializer: Serializer,
    /// `"on-change"` (default) or `"always"`.
    #[serde(default)]
    pub save_policy: SavePolicy,
    /// One hash per session with per-attribute writes (Redisson, Spring Session) instead of one
    /// serialized value (default false).
    #[serde(default)]
    pub per_attribute: bool,
    /// Attributes per session; a write changes one of them, uniformly (default 10).
    #[serde(default = "d_attributes")]
    pub attributes: u32,
    /// Sentinel failover: from the master's crash to the replica's promotion (default 10s).
    #[serde(default = "d_failover")]
    pub failover_time: Duration,
}

fn d_attributes() -> u32 {
    10
}
fn d_failover() -> Duration {
    Duration(10_000_000_000)
}

fn check(cfg: &ExperimentConfig) -> Result<(), (String, String)> {
    let o: Options = super::options(&cfg.strategy)?;
    if o.attributes == 0 {
        return Err((
            "attributes".into(),
            "a session has at least one attribute".into(),
        ));
    }
    if cfg.store.kind != StoreKindConfig::Redis {
        return Err((
            "/store.kind".into(),
            "redis-store needs Redis: set [store] kind = \"redis\"".into(),
        ));
    }
    if cfg.store.nodes != 1 {
        return Err((
            "/store.nodes".into(),
            "redis-store uses one Redis node: set [store] nodes = 1 (store.replica = true adds a replica)".into(),
        ));
    }
    Ok(())
}

/// Bytes of an attribute name in an `HSET`.
const FIELD_NAME_BYTES: u64 = 16;
/// `NULL_SESSION` placeholder written by `SETNX`.
const NULL_SESSION_BYTES: u64 = 4;
/// Redisson's expiry margin over maxInactiveInterval \[ns\].
const REDISSON_MARGIN_NS: u64 = 60_000_000_000;

const CREATED: u64 = 1 << 32;
const FOUND: u64 = 1 << 33;
const SAVE: u64 = 1 << 34;

const EV_REPLICATE: u32 = 0;
const EV_PROMOTE: u32 = 1;

/// A write on its way to the replica.
#[derive(Debug, Clone, Copy)]
enum ReplOp {
    Set {
        key: u64,
        size: u64,
        version: u32,
        expires: SimTime,
    },
    Del(u64),
}

/// The Redis key of the session in `slot`, generation `gen` (distinct across generations).
fn key(slot: u32, gen: u32) -> u64 {
    (gen as u64) << 32 | slot as u64
}

/// Physical Redis `i`: 0 is `store:0`, 1 the replica.
fn phys<'a>(
    stores: &'a mut [StoreNode],
    replica: &'a mut Option<StoreNode>,
    i: usize,
) -> &'a mut StoreNode {
    if i == 0 {
        &mut stores[0]
    } else {
        replica.as_mut().expect("a replica")
    }
}

/// The strategy.
pub struct RedisStore {
    o: Options,
    /// Every live session by creating node.
    live: Local,
    /// Per slot × attribute: the session version that last wrote the attribute (per_attribute).
    fields: Vec<u32>,
    routes: Vec<String>,
    delta_bytes: u64,
    replica: Option<StoreNode>,
    lag_ns: u64,
    /// Which physical Redis is the master.
    master: usize,
    failover_pending: bool,
    /// Bumped when in-flight replication is dropped (master crash, promotion).
    epoch: u32,
    queue: VecDeque<(u32, ReplOp)>,
}

impl RedisStore {
    /// Builds it for a validated config.
    pub fn new(cfg: &ExperimentConfig) -> Self {
        let persistence = match cfg.store.persistence {
            PersistenceConfig::Volatile => Persistence::Volatile,
            PersistenceConfig::AofEverysec => Persistence::AofEverysec,
        };
        RedisStore {
            o: super::options(&cfg.strategy).expect("checked"),
            live: Local::new(cfg.app.nodes as usize),
            fields: Vec::new(),
            routes: cfg.app.jvm_routes.clone().unwrap_or_else(|| {
                (0..cfg.app.nodes)
                    .map(|i| format!("tomcat{}", i + 1))
                    .collect()
            }),
            delta_bytes: cfg.workload.delta_size.bytes(),
            replica: cfg.store.replica.then(|| {
                StoreNode::new(StoreKind::Redis, persistence, cfg.store.cache_size.bytes())
            }),
            lag_ns: cfg.store.replication_lag.ns(),
            master: 0,
            failover_pending: false,
            epoch: 0,
            queue: VecDeque::new(),
        }
    }

    fn attrs(&self) -> usize {
        self.o.attributes as usize
    }

    fn ttl_ns(&self, cx: &Cx<'_>) -> u64 {
        if self.o.per_attribute {
            cx.timeout_ns + REDISSON_MARGIN_NS
        } else {
            cx.timeout_ns
        }
    }

    fn key_bytes(&self, id: &SessionId) -> u64 {
        id.text_len(&self.routes, &[]) as u64
    }

    fn up(&self, cx: &Cx<'_>, i: usize) -> bool {
        if i == 0 {
            cx.stores[0].up
        } else {
            self.replica.as_ref().is_some_and(|r| r.up)
        }
    }

    /// Whether a master answers (not during a failover).
    fn available(&self, cx: &Cx<'_>) -> bool {
        !self.failover_pending && self.up(cx, self.master)
    }

    fn master_node<'a>(&'a mut self, cx: &'a mut Cx<'_>) -> &'a mut StoreNode {
        phys(cx.stores, &mut self.replica, self.master)
    }

    fn replicate(&mut self, cx: &mut Cx<'_>, op: ReplOp) {
        if self.replica.is_some() && self.up(cx, 1 - self.master) {
            self.queue.push_back((self.epoch, op));
            cx.later(self.lag_ns, EV_REPLICATE);
        }
    }

    /// Writes `key` on the master (and, later, on the replica).
    fn write(&mut self, cx: &mut Cx<'_>, key: u64, size: u64, version: u32, ttl_ns: u64) {
        let now = cx.now;
        let evicted = self
            .master_node(cx)
            .set(key, size, version, ttl_ns, now)
            .to_vec();
        self.replicate(
            cx,
            ReplOp::Set {
                key,
                size,
                version,
                expires: if ttl_ns == 0 {
                    SimTime::MAX
                } else {
                    now.plus_ns(ttl_ns)
                },
            },
        );
        if !evicted.is_empty() {
            cx.obs.evicted(now, evicted.len() as u64);
            for k in evicted {
                let r = SessionRef {
                    slot: k as u32,
                    gen: (k >> 32) as u32,
                };
                if cx.sessions.get(r).is_some() {
                    self.drop_session(cx, r.slot);
                }
            }
        }
    }

    /// Every copy of the session in `slot` is gone (or it expired): forget it.
    fn drop_session(&mut self, cx: &mut Cx<'_>, slot: u32) {
        let k = key(slot, cx.sessions.slot(slot).gen);
        self.master_node(cx).delete(k);
        self.replicate(cx, ReplOp::Del(k));
        self.live.remove(cx, slot);
        cx.sessions.free(slot);
    }

    fn tracked(&self, cx: &Cx<'_>) -> Vec<u32> {
        (0..cx.nodes_up.len())
            .flat_map(|n| self.live.on_node(n as NodeIdx).iter().copied())
            .collect()
    }

    /// After the master's contents changed (crash, promotion): drop the sessions it no longer
    /// holds; clamp attribute versions to the version it holds.
    fn reconcile(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        let a = self.attrs();
        for slot in self.tracked(cx) {
            let k = key(slot, cx.sessions.slot(slot).gen);
            match self.master_node(cx).get(k, now) {
                None => self.drop_session(cx, slot),
                Some(it) => {
                    let base = slot as usize * a;
                    if let Some(f) = self.fields.get_mut(base..base + a) {
                        f.iter_mut().for_each(|v| *v = (*v).min(it.version));
                    }
                }
            }
        }
    }

    /// `store:0` rejoins as the replica of the promoted master: full resynchronization.
    fn resync_store0(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        cx.stores[0].crash(now);
        cx.stores[0].up = true;
        for slot in self.tracked(cx) {
            let k = key(slot, cx.sessions.slot(slot).gen);
            let master = self.replica.as_mut().expect("promoted replica");
            if let Some(it) = master.get(k, now) {
                let ttl = if it.expires == SimTime::MAX {
                    0
                } else {
                    it.expires.since(now).max(1)
                };
                cx.stores[0].set(k, it.size(), it.version, ttl, now);
            }
        }
    }

    fn rtt(cx: &Cx<'_>) -> u64 {
        2 * cx.net.app_store + cx.net.store_op
    }
}

impl Strategy for RedisStore {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let (ow, op) = (cx.net.app_store, cx.net.store_op);
        if !self.available(cx) {
            *req.fail = true;
            return Step::Done;
        }
        let Some((id, cookie)) = req.cookie else {
            return Step::Done;
        };
        match req.st.stage {
            0 => {
                req.st.stage = 1;
                Step::Wait(ow + op)
            }
            1 => {
                // the GET reaches Redis
                let now = cx.now;
                let k = key(cookie.slot, cookie.gen);
                let hit = self.master_node(cx).get(k, now);
                let kb = self.key_bytes(&id);
                cx.obs.app_store(
                    now,
                    1,
                    kb + hit.map_or(0, |i| i.size()) + ITEM_OVERHEAD_BYTES,
                );
                req.st.stage = 2;
                let session = cx
                    .sessions
                    .get(cookie)
                    .map(|s| (s.version, now.since(s.last_access)));
                match (hit, session) {
                    (Some(it), Some((latest, idle))) if idle < cx.timeout_ns => {
                        if it.version < latest {
                            cx.obs.stale_read(now);
                        }
                        req.st.seen = it.version;
                        req.st.scratch = FOUND | cookie.gen as u64;
                        Step::Wait(ow + self.o.serializer.cpu_ns(it.size()))
                    }
                    (_, Some(_)) => {
                        // a miss, or found but expired (Tomcat isValid): the state is gone
                        self.drop_session(cx, cookie.slot);
                        Step::Wait(ow)
                    }
                    (_, None) => Step::Wait(ow),
                }
            }
            _ => {
                if req.st.scratch & FOUND != 0 && cx.sessions.get(cookie).is_some() {
                    req.st.slot = Some(cookie.slot);
                }
                Step::Done
            }
        }
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        let now = cx.now;
        let s = *cx.sessions.slot(slot);
        self.live.insert(cx, req.node, slot);
        let a = self.attrs();
        let need = (slot as usize + 1) * a;
        if self.fields.len() < need {
            self.fields.resize(need, 0);
        }
        self.fields[slot as usize * a..need].fill(0);
        let kb = self.key_bytes(&s.id);
        let ser = self.o.serializer.bytes(s.size_bytes as u64);
        let ttl = self.ttl_ns(cx);
        self.write(cx, key(slot, s.gen), ser, 0, ttl);
        if self.o.per_attribute {
            // HSET of every attribute, PEXPIRE
            cx.obs.app_store(
                now,
                2,
                kb + ser + ITEM_OVERHEAD_BYTES + kb + ITEM_OVERHEAD_BYTES,
            );
        } else {
            // SETNX id NULL_SESSION, SET, EXPIRE
            cx.obs.app_store(
                now,
                3,
                (kb + NULL_SESSION_BYTES + ITEM_OVERHEAD_BYTES)
                    + (kb + ser + ITEM_OVERHEAD_BYTES)
                    + (kb + ITEM_OVERHEAD_BYTES),
            );
        }
        req.st.scratch = CREATED | s.gen as u64;
    }

    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        let (ow, op) = (cx.net.app_store, cx.net.store_op);
        if req.st.stage >= 2 {
            return Step::Done;
        }
        if !self.available(cx) {
            *req.fail = true;
            return Step::Done;
        }
        let slot = req.st.slot.expect("a dynamic request has a session");
        let gen = req.st.scratch as u32;
        let Some(s) = cx.sessions.get(SessionRef { slot, gen }).copied() else {
            return Step::Done; // destroyed during the request: nothing to save
        };
        let ser = self.o.serializer.bytes(s.size_bytes as u64);
        let save = req.write || self.o.save_policy == SavePolicy::Always;
        if req.st.stage == 0 {
            let mut wait = 0;
            if req.st.scratch & CREATED != 0 {
                let ops = if self.o.per_attribute { 2 } else { 3 };
                wait += ops * Self::rtt(cx) + self.o.serializer.cpu_ns(ser);
            }
            // tomcat-redis serializes every request to compare attribute hashes
            wait += match (self.o.per_attribute, save, self.o.save_policy) {
                (false, _, _) => self.o.serializer.cpu_ns(ser),
                (true, false, _) => 0,
                (true, true, SavePolicy::OnChange) => self.o.serializer.cpu_ns(self.delta_bytes),
                (true, true, SavePolicy::Always) => self.o.serializer.cpu_ns(ser),
            };
            if save {
                req.st.scratch |= SAVE;
            }
            req.st.stage = 1;
            return Step::Wait(wait + ow + op);
        }
        // stage 1: the SET (if any), then the EXPIRE, reach Redis
        let now = cx.now;
        let k = key(slot, gen);
        let kb = self.key_bytes(&s.id);
        let ttl = self.ttl_ns(cx);
        let cur = self.master_node(cx).get(k, now);
        req.st.stage = 2;
        if !save {
            if let Some(it) = cur {
                self.write(cx, k, it.size(), it.version, ttl);
            }
            cx.obs.app_store(now, 1, kb + ITEM_OVERHEAD_BYTES);
            return Step::Wait(ow);
        }
        let seen = req.st.seen;
        let (lost, bytes) = if self.o.per_attribute {
            let a = self.attrs();
            let base = slot as usize * a;
            match self.o.save_policy {
                SavePolicy::OnChange => {
                    let f = base + cx.rng.below(a as u64) as usize;
                    let lost = self.fields[f] > seen;
                    self.fields[f] = s.version;
                    (lost, kb + FIELD_NAME_BYTES + self.delta_bytes)
                }
                SavePolicy::Always => {
                    let fs = &mut self.fields[base..base + a];
                    let lost = fs.iter().any(|&v| v > seen);
                    fs.fill(s.version);
                    (lost, kb + ser)
                }
            }
        } else {
            (cur.is_some_and(|it| it.version > seen), kb + ser)
        };
        if lost {
            cx.obs.lost_update(now);
        }
        self.write(cx, k, ser, s.version, ttl);
        cx.obs.app_store(
            now,
            2,
            bytes + ITEM_OVERHEAD_BYTES + kb + ITEM_OVERHEAD_BYTES,
        );
        Step::Wait(ow + Self::rtt(cx))
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, payload: u32) {
        match payload {
            EV_REPLICATE => {
                let (epoch, op) = self.queue.pop_front().expect("queued write");
                let other = 1 - self.master;
                if epoch != self.epoch || !self.up(cx, other) {
                    return;
                }
                let now = cx.now;
                let node = phys(cx.stores, &mut self.replica, other);
                match op {
                    ReplOp::Set {
                        key,
                        size,
                        version,
                        expires,
                    } => {
                        if expires == SimTime::MAX {
                            node.set(key, size, version, 0, now);
                        } else if expires > now {
                            node.set(key, size, version, expires.since(now), now);
                        }
                    }
                    ReplOp::Del(key) => {
                        node.delete(key);
                    }
                }
            }
            EV_PROMOTE => {
                self.failover_pending = false;
                self.master = 1;
                self.epoch += 1;
                self.reconcile(cx);
                if cx.stores[0].up {
                    self.resync_store0(cx);
                }
            }
            _ => unreachable!("unknown redis-store event {payload}"),
        }
    }

    fn node_down(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn store_down(&mut self, cx: &mut Cx<'_>, store: u16) {
        if store != 0 || self.master != 0 {
            return; // the replica crashed: writes to it are dropped until it returns
        }
        self.epoch += 1;
        if self.up(cx, 1) {
            self.failover_pending = true;
            cx.later(self.o.failover_time.ns(), EV_PROMOTE);
        } else {
            self.reconcile(cx);
        }
    }

    fn store_up(&mut self, cx: &mut Cx<'_>, store: u16) {
        if store == 0 && self.master == 1 && !self.failover_pending {
            self.resync_store0(cx);
        }
    }

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.live.expired_everywhere(cx, node) {
            self.drop_session(cx, slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Result<ExperimentConfig, String> {
        crate::scenario::load_str(
            &format!(
                r#"
                seed = 1
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 1.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                {extra}
                "#
            ),
            "t.toml",
            None,
            "t",
        )
        .map(|e| e.points[0].config.clone())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn keys_differ_across_generations_and_slots() {
        assert_ne!(key(3, 0), key(3, 1));
        assert_ne!(key(3, 0), key(4, 0));
        assert_eq!(key(7, 9) as u32, 7);
        assert_eq!((key(7, 9) >> 32) as u32, 9);
    }

    #[test]
    fn check_wants_one_redis_and_known_options() {
        let ok = cfg("[strategy]\nkind = \"redis-store\"\nper_attribute = true\nsave_policy = \"always\"\nfailover_time = \"3s\"\n[store]\nkind = \"redis\"\nnodes = 1").unwrap();
        let s = RedisStore::new(&ok);
        assert!(s.o.per_attribute && s.o.save_policy == SavePolicy::Always);
        assert_eq!(s.o.failover_time.ns(), 3_000_000_000);
        assert_eq!(s.o.attributes, 10);
        let mut bad = ok.clone();
        bad.store.kind = StoreKindConfig::Memcached;
        assert_eq!(check(&bad).unwrap_err().0, "/store.kind");
        let mut bad = ok.clone();
        bad.store.nodes = 2;
        assert_eq!(check(&bad).unwrap_err().0, "/store.nodes");
        let mut bad = ok;
        bad.strategy
            .options
            .insert("lock".into(), toml::Value::Boolean(true));
        assert_eq!(check(&bad).unwrap_err().0, "lock");
        let e = cfg("[strategy]\nkind = \"redis-store\"").unwrap_err();
        assert!(e.contains("store"), "{e}");
    }
}
