//! Load-balancing algorithms: one file per balancer plus one line in [`REGISTRY`].
//!
//! ```text
//!             ┌────────────── nginx 1.22 family ───────────────┐   Apache 2.4
//!  kind:      round-robin  ip-hash  cookie-hash  cookie-hash-   route
//!                                                consistent
//!  module:    round_robin  ip_hash  cookie_hash  cookie_hash_   route
//!                                                consistent
//!                 └──────────┴──────────┴─────────────┘
//!                  upstream.rs: per-peer nginx state, smooth weighted RR,
//!                  skip rules, passive health (`free`)
//! ```
//!
//! The simulator resolves the experiment's `[balancer]` table into [`BalancerParams`], looks the
//! kind up with [`find`] and calls `build`. For each request it creates `PeerData::default()` and
//! passes the same value to every [`Balancer::pick`] of that request's attempts (at most
//! [`Balancer::tries`]), calling [`Balancer::free`] after each attempt.
//!
//! Determinism: no randomness, no hashing containers, no allocation in `pick`/`free`; every
//! tie-break is documented in the balancer's file.

pub mod cookie_hash;
pub mod cookie_hash_consistent;
pub mod ip_hash;
pub mod round_robin;
pub mod route;
pub mod upstream;

/// Maximum number of servers of one balancer (the width of [`PeerData::tried`]).
pub const MAX_PEERS: usize = 128;

/// What a balancer sees of one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    /// Client IPv4 address (ip-hash keys on its first three octets).
    pub client_addr: [u8; 4],
    /// JSESSIONID value as sent in the cookie (or URL path parameter); empty when the request has none.
    pub session_id: &'a [u8],
}

/// Per-request balancer state that persists across retries of ONE request
/// (nginx's ngx_http_upstream_rr_peer_data_t + hash/ip_hash peer data).
/// The simulator creates `PeerData::default()` per request and hands the same value to every `pick`
/// of that request's retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerData {
    /// Bitmap of peers already tried by this request (nginx rrp->tried); bit i = peer i. Max 128 peers.
    pub tried: u128,
    /// ip_hash: running hash (starts at 89 when `started` is false); hash: accumulated u32 hash; chash: point index.
    pub hash: u32,
    /// hash module: rehash counter.
    pub rehash: u32,
    /// Hash tries counter (the 20-try fallback).
    pub tries: u32,
    /// False until the first pick of this request initialised hash state.
    pub started: bool,
}

/// One load-balancing algorithm, with its peers' health state.
pub trait Balancer: Send {
    /// Chooses a peer for an attempt of the request. `now_s` = simulated time in whole seconds (nginx ngx_time()).
    /// Returns None for "no live upstreams" (nginx NGX_BUSY → 502; Apache: 503).
    /// Must mark the chosen peer in `pd.tried`.
    fn pick(&mut self, req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize>;
    /// The attempt on `peer` ended; `failed` = connect error/timeout/reset (nginx NGX_PEER_FAILED).
    /// Updates passive health (fails, accessed, checked, effective_weight; Apache: worker error state).
    fn free(&mut self, peer: usize, failed: bool, now_s: u64);
    /// Max attempts per request: nginx u->peer.tries = number of non-down servers (single server: 1).
    fn tries(&self) -> u32;
    /// Whether `pick` reads [`RequestKey::session_id`]; when false the simulator may pass an
    /// empty id instead of formatting the cookie's text (a speed hint, no effect on results).
    /// Default: true.
    fn reads_session_id(&self) -> bool {
        true
    }
}

/// Resolved, validated parameters (the simulator parses the TOML and fills this).
///
/// Every vector has one entry per server, in configuration order; server `i` is peer `i`.
#[derive(Debug, Clone)]
pub struct BalancerParams {
    /// nginx `weight=` / Apache `loadfactor=` per server [dimensionless, ≥ 1].
    pub weights: Vec<u32>,
    /// nginx `down` / Apache `status=+D` (disabled) per server.
    pub down: Vec<bool>,
    /// nginx `max_fails=` [failed attempts]; default 1; 0 disables the accounting.
    pub max_fails: u32,
    /// nginx `fail_timeout=` \[s\]; default 10.
    pub fail_timeout_s: u64,
    /// nginx `max_conns=` [concurrent attempts per server]; 0 = unlimited.
    pub max_conns: u32,
    /// Apache `retry=` \[s\] a worker stays in error after a connect failure; default 60.
    pub retry_s: u64,
    /// Apache `stickysession=… nofailover=On`: a request whose route's worker is unusable gets
    /// None (503) instead of being re-balanced.
    pub nofailover: bool,
    /// nginx `server` strings as written, e.g. "127.0.0.1:8080" (the consistent-hash points are
    /// computed from them).
    pub servers: Vec<String>,
    /// Apache worker `route=` values (Tomcat jvmRoutes), e.g. "tomcat1"; empty string = no route.
    pub routes: Vec<String>,
}

impl BalancerParams {
    /// Defaults for `n` servers: weight 1, none down, `max_fails` 1, `fail_timeout` 10 s,
    /// `max_conns` 0, `retry` 60 s, failover allowed, servers `127.0.0.1:8080+i`,
    /// routes `tomcat1`, `tomcat2`, ….
    pub fn with_defaults(n: usize) -> Self {
        BalancerParams {
            weights: vec![1; n],
            down: vec![false; n],
            max_fails: 1,
            fail_timeout_s: 10,
            max_conns: 0,
            retry_s: 60,
            nofailover: false,
            servers: (0..n).map(|i| format!("127.0.0.1:{}", 8080 + i)).collect(),
            routes: (0..n).map(|i| format!("tomcat{}", i + 1)).collect(),
        }
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// True when there is no server (never valid).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Checks the invariants every `build` relies on: 1..=128 servers, every vector of the same
    /// length, every weight ≥ 1.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.weights.len();
        if n == 0 || n > MAX_PEERS {
            return Err(format!("a balancer needs 1..={MAX_PEERS} servers, got {n}"));
        }
        for (what, len) in [
            ("down", self.down.len()),
            ("servers", self.servers.len()),
            ("routes", self.routes.len()),
        ] {
            if len != n {
                return Err(format!("`{what}` has {len} entries, `weights` has {n}"));
            }
        }
        if let Some(i) = self.weights.iter().position(|&w| w == 0) {
            return Err(format!("weight of server {i} is 0 (must be >= 1)"));
        }
        Ok(())
    }

    /// [`validate`](Self::validate), panicking with the message; used by every `build`.
    pub(crate) fn assert_valid(&self) {
        if let Err(e) = self.validate() {
            panic!("invalid balancer parameters: {e}");
        }
    }
}

/// One registered balancer kind.
pub struct BalancerEntry {
    /// The `kind` name used in experiment files and on the command line.
    pub name: &'static str,
    /// One-line description (for `sessim list balancers`).
    pub doc: &'static str,
    /// Builds a fresh instance (all peer state at its initial value).
    /// Panics if [`BalancerParams::validate`] fails.
    pub build: fn(&BalancerParams) -> Box<dyn Balancer>,
    /// Whether a request that carries a session's cookie goes back to the node holding it while
    /// that node is up (session affinity). The memory estimate counts on it (`src/estimate.rs`).
    pub pins_sessions: bool,
}

/// One line per balancer.
pub static REGISTRY: &[BalancerEntry] = &[
    round_robin::ENTRY,
    ip_hash::ENTRY,
    cookie_hash::ENTRY,
    cookie_hash_consistent::ENTRY,
    route::ENTRY,
];

/// The registry entry named `name`, if any.
pub fn find(name: &str) -> Option<&'static BalancerEntry> {
    REGISTRY.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_findable() {
        let names: Vec<_> = REGISTRY.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "round-robin",
                "ip-hash",
                "cookie-hash",
                "cookie-hash-consistent",
                "route"
            ]
        );
        for e in REGISTRY {
            assert!(std::ptr::eq(find(e.name).unwrap(), e));
            assert!(!e.doc.is_empty());
        }
        assert!(find("least-conn").is_none());
    }

    #[test]
    fn every_balancer_builds_and_picks() {
        let p = BalancerParams::with_defaults(3);
        for e in REGISTRY {
            let mut b = (e.build)(&p);
            assert_eq!(b.tries(), 3, "{}", e.name);
            let key = RequestKey {
                client_addr: [10, 0, 0, 1],
                session_id: b"ABC.tomcat2",
            };
            let mut pd = PeerData::default();
            let peer = b.pick(&key, &mut pd, 0).unwrap();
            assert_eq!(pd.tried, 1 << peer, "{}", e.name);
            b.free(peer, false, 0);
        }
    }

    #[test]
    fn validate_rejects_bad_params() {
        let mut p = BalancerParams::with_defaults(2);
        assert!(p.validate().is_ok());
        p.weights[1] = 0;
        assert!(p.validate().unwrap_err().contains("weight"));
        let mut p = BalancerParams::with_defaults(2);
        p.down.pop();
        assert!(p.validate().unwrap_err().contains("down"));
        assert!(BalancerParams::with_defaults(0).validate().is_err());
        assert!(BalancerParams::with_defaults(129).validate().is_err());
        assert!(BalancerParams::with_defaults(128).validate().is_ok());
    }
}
