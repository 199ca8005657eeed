//! Session-persistence strategies: where a session's state lives, what a request must do to
//! read and save it, and what a crash destroys.
//!
//! A strategy is one file implementing [`Strategy`] plus one line in [`REGISTRY`]. The simulator
//! calls it at fixed points of a dynamic request's life (static requests never touch sessions);
//! the worker thread stays busy through every step, as a Tomcat thread blocked on the network:
//!
//! ```text
//!  worker taken ─► begin(req) ─┬─ Wait(ns) ─► (later) begin(req) again, req.st.stage tells where
//!                              └─ Done: req.st.slot = Some(state found) | None
//!                                   None + live cookie ⇒ session lost; None ⇒ created(req, new)
//!               ─► service demand ─► end(req) ─┬─ Wait(ns) ─► end(req) again
//!                                              └─ Done ⇒ response; worker free
//!  cx.later(ns, payload) ─► on_event(payload)       (asynchronous messages, transfers, …)
//!  app node crash/repair ─► node_down/node_up;  store crash/repair ─► store_down/store_up
//!  every expiry_sweep ─► expire(node)
//! ```
//! The simulator keeps each session's latest version (`Session::version`, bumped before `end`
//! when the request writes); a strategy reports what version a request saw (`req.st.seen`) and
//! counts stale reads and lost updates itself (`Observations::stale_read`, `lost_update`).

pub mod backup_replication;
pub mod client_cookie;
pub mod delta_replication;
pub mod expiry;
pub mod local;
pub mod msm_non_sticky;
pub mod msm_sticky;
pub mod redis_store;

use super::ids::{NodeIdx, SessionId};
use super::observe::Observations;
use super::session::{SessionRef, SessionTable};
use super::store_node::StoreNode;
use crate::kernel::{SimTime, Stream};
use crate::scenario::config::{ExperimentConfig, StrategyConfig};

/// A step of `begin` or `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Finished.
    Done,
    /// Call again after this many nanoseconds (the worker stays busy).
    Wait(u64),
}

/// Per-request state a strategy keeps across its `Wait` steps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReqState {
    /// Progress marker, 0 at the start of `begin` and again at the start of `end`.
    pub stage: u8,
    /// Nanoseconds waited so far in the current phase.
    pub waited_ns: u64,
    /// The session the request is served with (set by `begin`, or by the simulator on creation).
    pub slot: Option<u32>,
    /// The version of the session state the request read.
    pub seen: u32,
    /// The latest version before this request's write (set before `end`).
    pub prev_latest: u32,
    /// Free for the strategy (e.g. whether a lock is held, the backoff so far).
    pub scratch: u64,
}

/// A dynamic request as a strategy sees it.
pub struct Req<'a> {
    /// The app node serving it.
    pub node: NodeIdx,
    /// The session id its cookie carries (id and the table entry it named when sent).
    pub cookie: Option<(SessionId, SessionRef)>,
    /// Whether it changes session attributes.
    pub write: bool,
    /// Strategy state across waits.
    pub st: &'a mut ReqState,
    /// A new cookie value to send back (e.g. an id rewritten after failover).
    pub set_cookie: &'a mut Option<(SessionId, SessionRef)>,
    /// Set to fail the request (HTTP 500), e.g. a cookie-borne session too large to send.
    pub fail: &'a mut bool,
}

/// Latencies a strategy needs \[ns\].
#[derive(Debug, Clone, Copy)]
pub struct Net {
    /// One way, app node ↔ app node.
    pub app_app: u64,
    /// One way, app node ↔ store node.
    pub app_store: u64,
    /// Service time of one store operation.
    pub store_op: u64,
}

/// What a strategy may see and change during a call.
pub struct Cx<'a> {
    /// Current simulated time.
    pub now: SimTime,
    /// All server-side sessions.
    pub sessions: &'a mut SessionTable,
    /// Observations (traffic counters, stale reads…).
    pub obs: &'a mut Observations,
    /// Which app nodes are up.
    pub nodes_up: &'a [bool],
    /// Store nodes.
    pub stores: &'a mut [StoreNode],
    /// Session timeout (maxInactiveInterval) \[ns\].
    pub timeout_ns: u64,
    /// Latencies (a reference: the context is built for every strategy call, and the
    /// latencies never change during a run).
    pub net: &'a Net,
    /// The strategy's random stream (e.g. msm's choice of memcached node).
    pub rng: &'a mut Stream,
    /// Events to deliver to `on_event` later: (delay \[ns\], payload).
    pub later: &'a mut Vec<(u64, u32)>,
}

impl Cx<'_> {
    /// Asks for `on_event(payload)` after `delay_ns`.
    pub fn later(&mut self, delay_ns: u64, payload: u32) {
        self.later.push((delay_ns, payload));
    }
}

/// Payloads of a strategy's own events: [`EventSlab::insert`] returns the `u32` to pass to
/// [`Cx::later`], [`EventSlab::take`] gets it back in `on_event`. Freed indices are reused last
/// in, first out, so payload numbers (and thus runs) are deterministic.
#[derive(Debug, Clone)]
pub struct EventSlab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for EventSlab<T> {
    fn default() -> Self {
        EventSlab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> EventSlab<T> {
    /// Stores `item`; returns its payload index.
    #[inline]
    pub fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = Some(item);
                i
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Removes and returns the item at payload index `i`.
    ///
    /// # Panics
    /// If `i` holds nothing (taken twice, or never inserted): a model bug.
    #[inline]
    pub fn take(&mut self, i: u32) -> T {
        let item = self.items[i as usize].take().expect("pending event");
        self.free.push(i);
        item
    }
}

/// One session-persistence strategy.
pub trait Strategy: Send {
    /// Finds the state for `req` (its cookie may be absent): set `req.st.slot` and
    /// `req.st.seen`, or leave `slot` None when there is no state for it. Must treat a session
    /// idle for at least the timeout as expired (Tomcat `isValid`).
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step;
    /// A new session was created in `slot` at `req.node` for this request (in the table,
    /// `home = node`, version 0). The strategy may change its id (`cx.sessions.slot_mut`), e.g.
    /// to add a memcached node id, before it goes back to the client.
    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32);
    /// The request finished its work on `req.st.slot` (already touched, version bumped if it
    /// wrote): save the state.
    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step;
    /// Whether `end` can do anything. A strategy whose `end` always returns [`Step::Done`] and
    /// changes nothing (its state lives only in app memory) returns false, and the simulator
    /// skips the call. Default: true.
    fn saves(&self) -> bool {
        true
    }
    /// An event asked for with `cx.later`.
    fn on_event(&mut self, _cx: &mut Cx<'_>, _payload: u32) {}
    /// `node` crashed: its memory is gone.
    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
    /// `node` was repaired and starts empty.
    fn node_up(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
    /// Store node `store` crashed (its contents are already gone, or reverted for AOF Redis).
    fn store_down(&mut self, _cx: &mut Cx<'_>, _store: u16) {}
    /// Store node `store` was repaired.
    fn store_up(&mut self, _cx: &mut Cx<'_>, _store: u16) {}
    /// The periodic expiry sweep of `node` (Tomcat `ManagerBase.processExpires`).
    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
    /// A hint, when a request carrying `cookie` has been sent to app node `node`: the strategy
    /// may start loading what its `begin` will read there (see [`SessionTable::prefetch`],
    /// [`StoreNode::prefetch`]). Must not change any state. Default: the session's metadata.
    #[inline]
    fn prefetch(
        &self,
        sessions: &SessionTable,
        _stores: &[StoreNode],
        (_, r): &(SessionId, SessionRef),
        _node: NodeIdx,
    ) {
        sessions.prefetch(r.slot);
    }
}

/// A registry entry.
pub struct StrategyEntry {
    /// Name used in `strategy.kind`.
    pub name: &'static str,
    /// One-line description for `sessim list`.
    pub doc: &'static str,
    /// Checks the strategy's options against the whole config; `Err((key, message))` names the
    /// offending key (relative to `strategy.` unless it starts with `/`, then absolute).
    pub check: fn(&ExperimentConfig) -> Result<(), (String, String)>,
    /// Builds the strategy for a validated config.
    pub build: fn(&ExperimentConfig) -> Box<dyn Strategy>,
    /// Whether a session lives only in the memory of the node that created it, so that a
    /// request served by another node starts a new one. The memory estimate counts on it
    /// (`src/estimate.rs`).
    pub node_bound: bool,
}

/// All strategies, one line each.
pub static REGISTRY: &[StrategyEntry] = &[
    local::ENTRY,
    delta_replication::ENTRY,
    backup_replication::ENTRY,
    msm_sticky::ENTRY,
    msm_non_sticky::ENTRY,
    redis_store::ENTRY,
    client_cookie::ENTRY,
];

/// The registry entry named `name`.
pub fn find(name: &str) -> Option<&'static StrategyEntry> {
    REGISTRY.iter().find(|e| e.name == name)
}

/// For strategies without options: rejects any option key.
pub fn no_options(cfg: &ExperimentConfig) -> Result<(), (String, String)> {
    match cfg.strategy.options.keys().next() {
        None => Ok(()),
        Some(k) => Err((
            k.clone(),
            format!("strategy \"{}\" has no option \"{k}\"", cfg.strategy.kind),
        )),
    }
}

/// Deserializes a strategy's options (everything in `[strategy]` but `kind`) into `T`
/// (which should `deny_unknown_fields`), naming the offending option on error.
///
/// # Errors
/// `(key, message)` as [`StrategyEntry::check`] wants.
pub fn options<T: serde::de::DeserializeOwned>(
    cfg: &StrategyConfig,
) -> Result<T, (String, String)> {
    let table: toml::Table = cfg.options.clone().into_iter().collect();
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().message().to_string();
        let key = if path == "." { String::new() } else { path };
        let key = match msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            Some(f) if !key.ends_with(f) => {
                if key.is_empty() {
                    f.to_string()
                } else {
                    format!("{key}.{f}")
                }
            }
            _ => key,
        };
        (key, msg)
    })
}

/// Java or Kryo serialization: bytes and CPU per serialized session, scaled from the
/// memcached-session-manager benchmark (FIDELITY §4: a small session is 16,856 B with Java and
/// 14,721 B with Kryo; serializing it takes 571 ms vs 317 ms per 500 operations).
/// `workload.session_size` is read as the Java-serialized size; Kryo's is 0.873× it; CPU is
/// linear in the serialized size: 67.7 ns/B (Java), 43.1 ns/B (Kryo). The large-session figures
/// (Kryo larger than Java) are not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Serializer {
    /// Java serialization (the default).
    #[default]
    Java,
    /// Kryo.
    Kryo,
}

impl Serializer {
    /// Serialized size \[bytes\] of a session whose Java-serialized size is `java_bytes`.
    pub fn bytes(self, java_bytes: u64) -> u64 {
        match self {
            Serializer::Java => java_bytes,
            Serializer::Kryo => java_bytes * 14_721 / 16_856,
        }
    }
    /// CPU time \[ns\] to serialize (or deserialize) `bytes` serialized bytes.
    pub fn cpu_ns(self, bytes: u64) -> u64 {
        match self {
            Serializer::Java => bytes * 1_142_000 / 16_856,
            Serializer::Kryo => bytes * 634_000 / 14_721,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn serializer_figures_reproduce_the_msm_benchmark() {
        assert_eq!(Serializer::Kryo.bytes(16_856), 14_721);
        assert_eq!(Serializer::Java.cpu_ns(16_856), 571_000_000 / 500);
        assert_eq!(Serializer::Kryo.cpu_ns(14_721), 317_000_000 / 500);
    }
}
