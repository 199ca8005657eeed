//! Session-persistence strategies: where a session's state lives, what a request must do to
//! read and save it, and what a crash destroys.
//!
//! A strategy is one file implementing [`Strategy`] plus one line in [`REGISTRY`]. The simulator
//! calls it at fixed points of a dynamic request's life (static requests never touch sessions):
//!
//! ```text
//!  request at node ──► find(cookie) ──► Some(session) ─┐
//!                          │                           ├─► service ──► finished(session, wrote)
//!                          └─► None ──► created(new) ──┘
//!  node crash ──► node_down        node repair ──► node_up        every expiry_sweep ──► expire
//! ```

pub mod local;

use super::ids::NodeIdx;
use super::observe::Observations;
use super::session::{SessionRef, SessionTable};
use crate::kernel::SimTime;
use crate::scenario::config::StrategyConfig;

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
    /// Session timeout (maxInactiveInterval) [ns].
    pub timeout_ns: u64,
}

/// One session-persistence strategy.
pub trait Strategy: Send {
    /// A dynamic request carrying a cookie that names `cookie` is served at `node`. Returns the
    /// slot of the session it is served with, or `None` when the node has no state for it (the
    /// simulator then creates a new session and, if the user's session was still live, counts a
    /// loss). Must treat a session idle for at least the timeout as expired (Tomcat `isValid`).
    fn find(&mut self, cx: &mut Cx<'_>, node: NodeIdx, cookie: SessionRef) -> Option<u32>;
    /// A new session was created in `slot` at `node` (already in the table, `home = node`).
    fn created(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32);
    /// The request on session `slot` finished at `node`; `wrote` says whether it changed
    /// attributes (the simulator has already bumped the version and the access time).
    fn finished(&mut self, cx: &mut Cx<'_>, node: NodeIdx, slot: u32, wrote: bool);
    /// `node` crashed: its memory is gone.
    fn node_down(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
    /// `node` was repaired and starts empty.
    fn node_up(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
    /// The periodic expiry sweep of `node` (Tomcat `ManagerBase.processExpires`).
    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx);
}

/// A registry entry.
pub struct StrategyEntry {
    /// Name used in `strategy.kind`.
    pub name: &'static str,
    /// One-line description for `sessim list`.
    pub doc: &'static str,
    /// Checks the strategy's options; `Err((key, message))` names the offending option.
    pub check: fn(&StrategyConfig) -> Result<(), (String, String)>,
    /// Builds the strategy for `nodes` app nodes.
    pub build: fn(&StrategyConfig, usize) -> Box<dyn Strategy>,
    /// Number of store nodes the strategy's options declare.
    pub store_nodes: fn(&StrategyConfig) -> u32,
}

/// All strategies, one line each.
pub static REGISTRY: &[StrategyEntry] = &[local::ENTRY];

/// The registry entry named `name`.
pub fn find(name: &str) -> Option<&'static StrategyEntry> {
    REGISTRY.iter().find(|e| e.name == name)
}

/// Number of store nodes of `cfg`'s strategy (0 for unknown strategies).
pub fn store_nodes(cfg: &StrategyConfig) -> u32 {
    find(&cfg.kind).map(|e| (e.store_nodes)(cfg)).unwrap_or(0)
}

/// For strategies without options: rejects any option key.
pub fn no_options(cfg: &StrategyConfig) -> Result<(), (String, String)> {
    match cfg.options.keys().next() {
        None => Ok(()),
        Some(k) => Err((
            k.clone(),
            format!("strategy \"{}\" has no option \"{k}\"", cfg.kind),
        )),
    }
}

/// For strategies without store nodes.
pub fn no_store_nodes(_: &StrategyConfig) -> u32 {
    0
}
