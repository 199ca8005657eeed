//! `client-cookie`: cookie persistence (FIDELITY §7). The whole session state travels in a
//! cookie, both ways, on every dynamic request: the request carries the state the browser holds
//! (none on a session's first request) and every response sends it back with `Set-Cookie`.
//! Nothing is kept on the server, so an app-node crash loses nothing but the requests in flight,
//! and any node can serve any request.
//!
//! ```text
//!   browser ── Cookie: STATE=<base64> ──► any app node ── Set-Cookie: STATE=<base64> ──► browser
//! ```
//!
//! Modelled:
//! - state bytes = base64 of the serialized session: `ceil(serialized / 3) × 4`, where
//!   `serialized = serializer.bytes(session_size)`; `bytes_cookie` grows by that once for the
//!   request cookie (when the client sent one) and once for the response's `Set-Cookie`, so on a
//!   run without losses `bytes_cookie = state × (2 × dynamic requests − sessions created)`;
//! - the size limit: browsers only guarantee 4096 bytes per cookie (RFC 6265 §6.1). Every session
//!   has the size `workload.session_size`, so a session whose state would exceed
//!   `cookie_limit_bytes` can never be stored: **every** dynamic request of it fails (HTTP 500)
//!   in `begin`, before a session is created, and no state is sent;
//! - serialization CPU: the node deserializes the cookie it receives and serializes the one it
//!   sends (`Serializer::cpu_ns`), as waits of the worker;
//! - parallel sub-requests (AJAX) all carry the same cookie; the browser keeps the `Set-Cookie`
//!   of the last response: a response based on an older state than the cookie the browser
//!   already holds overwrites it (counted as a lost update, also for a read-only request, since
//!   its response reverts the other's write), and a request carrying an older state than the
//!   latest written is a stale read;
//! - expiry: the state carries its last-access time; a request whose state is idle for at least
//!   the timeout starts a new session (Tomcat `isValid`). The simulator's table entry (the
//!   logical session) is kept alive through node crashes and freed on expiry only: by the
//!   request that finds it expired, or by the sweep of the lowest-numbered app node that is up
//!   (any node can sweep, since no node owns the session).
//!
//! Simplified: the state is sent as one cookie (real implementations may split it), cookie
//! attributes and the cookie name are not counted, and the browser's cookie is updated when the
//! node sends the response rather than when it arrives. Signing/encryption (HMAC) CPU is not
//! modelled.
//!
//! Source: Oracle WebLogic Server "Using Cookie-Based Session Persistence"
//! (`PersistentStoreType=cookie`, string attributes only); RFC 6265 §6.1 (4096 bytes per cookie).

use super::local::Local;
use super::{Cx, Req, Serializer, Step, Strategy, StrategyEntry};
use crate::model::ids::NodeIdx;
use crate::model::session::SessionRef;
use crate::scenario::config::ExperimentConfig;
use serde::Deserialize;

/// Registry line.
pub const ENTRY: StrategyEntry = StrategyEntry {
    name: "client-cookie",
    doc: "cookie persistence: the whole state in a cookie both ways on every request (WebLogic)",
    check,
    build: |cfg| Box::new(ClientCookie::new(cfg)),
    node_bound: false,
};

/// `[strategy]` options of `client-cookie`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Options {
    /// Largest cookie value a browser keeps \[bytes\] (default 4096, RFC 6265 §6.1).
    #[serde(default = "d_limit")]
    pub cookie_limit_bytes: u64,
    /// `"java"` (default) or `"kryo"`: the serialized size the base64 encodes.
    #[serde(default)]
    pub serializer: Serializer,
}

fn d_limit() -> u64 {
    4096
}

fn check(cfg: &ExperimentConfig) -> Result<(), (String, String)> {
    let o: Options = super::options(&cfg.strategy)?;
    if o.cookie_limit_bytes == 0 {
        return Err((
            "cookie_limit_bytes".into(),
            "the cookie limit must be at least 1 byte".into(),
        ));
    }
    Ok(())
}

/// Bytes of the base64 text of `serialized` bytes (padded: `ceil(n / 3) × 4`).
pub fn base64_len(serialized: u64) -> u64 {
    serialized.div_ceil(3) * 4
}

const FOUND: u64 = 1 << 32;

/// The strategy.
pub struct ClientCookie {
    opts: Options,
    /// Every live session by creating node, for the expiry sweep.
    live: Local,
    /// Per slot: the version of the state the browser's cookie holds.
    cookie_version: Vec<u32>,
    /// `workload.session_size` \[bytes\] (Java-serialized).
    session_bytes: u64,
}

impl ClientCookie {
    /// Builds it for a validated config.
    pub fn new(cfg: &ExperimentConfig) -> Self {
        ClientCookie {
            opts: super::options(&cfg.strategy).expect("checked"),
            live: Local::new(cfg.app.nodes as usize),
            cookie_version: Vec::new(),
            session_bytes: cfg.workload.session_size.bytes(),
        }
    }

    /// Cookie bytes of a session whose Java-serialized size is `java_bytes`.
    fn state_bytes(&self, java_bytes: u64) -> u64 {
        base64_len(self.opts.serializer.bytes(java_bytes))
    }

    fn drop_session(&mut self, cx: &mut Cx<'_>, slot: u32) {
        self.live.remove(cx, slot);
        cx.sessions.free(slot);
    }
}

impl Strategy for ClientCookie {
    fn begin(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        if req.st.stage == 1 {
            // after deserializing: the entry may have expired meanwhile (sweep)
            if let Some((_, cookie)) = req.cookie {
                if req.st.scratch & FOUND != 0 && cx.sessions.get(cookie).is_some() {
                    req.st.slot = Some(cookie.slot);
                }
            }
            return Step::Done;
        }
        if self.state_bytes(self.session_bytes) > self.opts.cookie_limit_bytes {
            *req.fail = true;
            return Step::Done;
        }
        let Some((_, cookie)) = req.cookie else {
            return Step::Done;
        };
        let Some(s) = cx.sessions.get(cookie) else {
            return Step::Done;
        };
        let (size, version, idle) = (s.size_bytes as u64, s.version, cx.now.since(s.last_access));
        if idle >= cx.timeout_ns {
            self.drop_session(cx, cookie.slot);
            return Step::Done;
        }
        let seen = self.cookie_version[cookie.slot as usize];
        if seen < version {
            cx.obs.stale_read(cx.now);
        }
        req.st.seen = seen;
        req.st.scratch = FOUND | cookie.gen as u64;
        req.st.stage = 1;
        let ser = self.opts.serializer.bytes(size);
        Step::Wait(self.opts.serializer.cpu_ns(ser).max(1))
    }

    fn created(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>, slot: u32) {
        self.live.insert(cx, req.node, slot);
        if self.cookie_version.len() <= slot as usize {
            self.cookie_version.resize(slot as usize + 1, 0);
        }
        self.cookie_version[slot as usize] = 0;
        req.st.scratch = cx.sessions.slot(slot).gen as u64;
    }

    fn end(&mut self, cx: &mut Cx<'_>, req: &mut Req<'_>) -> Step {
        if req.st.stage == 1 {
            return Step::Done;
        }
        let slot = req.st.slot.expect("a dynamic request has a session");
        let gen = req.st.scratch as u32;
        let s = cx.sessions.slot(slot);
        let (size, latest) = (s.size_bytes as u64, s.version);
        let live = cx.sessions.get(SessionRef { slot, gen }).is_some();
        let state = self.state_bytes(size);
        let carried = if req.cookie.is_some() { state } else { 0 };
        cx.obs.cookie(cx.now, carried + state);
        if live {
            let held = &mut self.cookie_version[slot as usize];
            if *held > req.st.seen {
                cx.obs.lost_update(cx.now);
            }
            *held = latest;
        }
        req.st.stage = 1;
        let ser = self.opts.serializer.bytes(size);
        Step::Wait(self.opts.serializer.cpu_ns(ser).max(1))
    }

    fn node_down(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn node_up(&mut self, _cx: &mut Cx<'_>, _node: NodeIdx) {}

    fn expire(&mut self, cx: &mut Cx<'_>, node: NodeIdx) {
        for slot in self.live.expired_everywhere(cx, node) {
            self.drop_session(cx, slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_to_four_byte_groups() {
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
        assert_eq!(base64_len(3072), 4096);
        assert_eq!(base64_len(3073), 4100);
    }

    #[test]
    fn options_parse_and_reject_unknown_keys() {
        let cfg: ExperimentConfig = crate::scenario::load_str(
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
            [strategy]
            kind = "client-cookie"
            cookie_limit_bytes = 8192
            serializer = "kryo"
            "#,
            "t.toml",
            None,
            "t",
        )
        .expect("valid")
        .points[0]
            .config
            .clone();
        let s = ClientCookie::new(&cfg);
        assert_eq!(s.opts.cookie_limit_bytes, 8192);
        assert_eq!(s.state_bytes(16_856), base64_len(14_721));
        let mut bad = cfg.clone();
        bad.strategy
            .options
            .insert("limit".into(), toml::Value::Integer(1));
        assert_eq!(check(&bad).unwrap_err().0, "limit");
    }
}
