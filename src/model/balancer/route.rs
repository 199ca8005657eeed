//! `route`: Apache httpd 2.4 mod_proxy_balancer sticky sessions on the Tomcat jvmRoute, with the
//! `byrequests` method for everything else.
//!
//! Sources: httpd 2.4 `modules/proxy/mod_proxy_balancer.c` (`force_recovery`,
//! `find_session_route`, `find_route_worker`, `proxy_balancer_pre_request`),
//! `modules/proxy/balancers/mod_lbmethod_byrequests.c` (`find_best_byrequests`, `reset`) and
//! `modules/proxy/proxy_util.c` (`ap_proxy_retry_worker`, error marking in
//! `ap_proxy_connect_backend`). Configuration modelled:
//! `BalancerMember … route=<jvmRoute> loadfactor=<weight> retry=<retry_s> [status=+D]`,
//! `ProxySet stickysession=JSESSIONID|jsessionid [nofailover=On]`, no lbset/hot-standby/redirect,
//! `forcerecovery=On` (the default).
//!
//! Per worker: `lbfactor` (= weight), `lbstatus` (starts at 0, `reset`), error flag and
//! `error_time`, disabled (= `down`). *Usable* = not in error and not disabled.
//! *Retry* of a worker in error: if `now > error_time + retry` the error flag is cleared (the
//! strict `>` of `ap_proxy_retry_worker`; with whole seconds, a worker that failed at `t` is
//! retried from `t + retry + 1`).
//!
//! One pick (`proxy_balancer_pre_request`):
//! 1. **force_recovery**: walk workers in order; stop at the first not in error (retrying each
//!    one in error on the way). If every worker is in error, clear every error flag.
//! 2. **route** = the text after the first '.' of the session id (none without a '.').
//!    If non-empty, the first worker whose route equals it is used if usable, else retried and
//!    used if that made it usable. Found ⇒ *sticky accounting*: every usable worker gets
//!    `lbstatus += lbfactor`, the chosen one loses the sum (sticky traffic moves the counters).
//! 3. Not found and `nofailover` and the route names a worker of this balancer ⇒ `None` (503).
//! 4. Otherwise **byrequests**: walk workers in order, retrying each unusable one; every usable
//!    worker gets `lbstatus += lbfactor`; the candidate is the first with the strictly largest
//!    `lbstatus` (tie-break: lowest index); it loses the sum. No usable worker ⇒ `None` (503).
//!
//! `free(failed = true)` puts the worker in error at `now` (Apache does this on a connect
//! failure; read timeouts only with `failontimeout`). Apache keeps no per-request tried set: a
//! failed worker is avoided by the next attempt because it is in error. The cookie is never
//! rewritten: after the routed worker comes back, the session's requests return to it.
//! Attempts per request (`tries`) = number of workers (`maxattempts` defaults to workers − 1
//! retries).

use super::{Balancer, BalancerEntry, BalancerParams, PeerData, RequestKey};

/// Registry line.
pub const ENTRY: BalancerEntry = BalancerEntry {
    name: "route",
    doc: "Apache mod_proxy_balancer jvmRoute stickiness (text after '.'), byrequests otherwise",
    build: |p| Box::new(Route::new(p)),
    pins_sessions: true,
};

/// One `BalancerMember` (`proxy_worker_shared`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// `route=` (the Tomcat jvmRoute) -- configuration.
    pub route: Vec<u8>,
    /// `loadfactor=` [dimensionless, ≥ 1] -- configuration.
    pub lbfactor: i64,
    /// byrequests accumulator \[dimensionless\] -- internal state.
    pub lbstatus: i64,
    /// `status=+D` -- configuration.
    pub disabled: bool,
    /// In error (`PROXY_WORKER_IN_ERROR`) -- internal state.
    pub in_error: bool,
    /// Time the worker was put in error \[s\] -- internal state.
    pub error_time: u64,
}

/// Apache mod_proxy_balancer with `stickysession` on the jvmRoute and `lbmethod=byrequests`.
#[derive(Debug, Clone)]
pub struct Route {
    /// Workers in configuration order -- internal state.
    pub workers: Vec<Worker>,
    /// `retry=` \[s\] -- configuration.
    pub retry_s: u64,
    /// `nofailover=On` -- configuration.
    pub nofailover: bool,
}

/// The route part of a session id: the text after its first '.', or None without a '.'.
pub fn route_of(session_id: &[u8]) -> Option<&[u8]> {
    let dot = session_id.iter().position(|&c| c == b'.')?;
    Some(&session_id[dot + 1..])
}

impl Route {
    /// Builds the balancer (panics on invalid parameters).
    pub fn new(p: &BalancerParams) -> Self {
        p.assert_valid();
        let workers = (0..p.len())
            .map(|i| Worker {
                route: p.routes[i].as_bytes().to_vec(),
                lbfactor: i64::from(p.weights[i]),
                lbstatus: 0,
                disabled: p.down[i],
                in_error: false,
                error_time: 0,
            })
            .collect();
        Route {
            workers,
            retry_s: p.retry_s,
            nofailover: p.nofailover,
        }
    }

    /// True when worker `i` can take a request now (not in error, not disabled).
    #[inline]
    pub fn usable(&self, i: usize) -> bool {
        !self.workers[i].in_error && !self.workers[i].disabled
    }

    /// `ap_proxy_retry_worker`: clears the error flag once `now > error_time + retry`.
    #[inline]
    fn retry(&mut self, i: usize, now_s: u64) {
        let w = &mut self.workers[i];
        if w.in_error && now_s > w.error_time.saturating_add(self.retry_s) {
            w.in_error = false;
        }
    }

    fn force_recovery(&mut self, now_s: u64) {
        for i in 0..self.workers.len() {
            if !self.workers[i].in_error {
                return;
            }
            self.retry(i, now_s);
            if !self.workers[i].in_error {
                return;
            }
        }
        for w in &mut self.workers {
            w.in_error = false;
        }
    }

    fn find_route_worker(&mut self, route: &[u8], now_s: u64) -> Option<usize> {
        for i in 0..self.workers.len() {
            if self.workers[i].route.is_empty() || self.workers[i].route != route {
                continue;
            }
            if self.usable(i) {
                return Some(i);
            }
            self.retry(i, now_s);
            if self.usable(i) {
                return Some(i);
            }
        }
        None
    }

    fn find_best_byrequests(&mut self, now_s: u64) -> Option<usize> {
        let mut total = 0;
        let mut best: Option<(usize, i64)> = None;
        for i in 0..self.workers.len() {
            if !self.usable(i) {
                self.retry(i, now_s);
            }
            if self.usable(i) {
                let w = &mut self.workers[i];
                w.lbstatus += w.lbfactor;
                total += w.lbfactor;
                if best.is_none_or(|(_, st)| w.lbstatus > st) {
                    best = Some((i, w.lbstatus));
                }
            }
        }
        let (b, _) = best?;
        self.workers[b].lbstatus -= total;
        Some(b)
    }
}

impl Balancer for Route {
    fn pick(&mut self, req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        self.force_recovery(now_s);
        let route = route_of(req.session_id);
        let mut chosen = None;
        if let Some(r) = route.filter(|r| !r.is_empty()) {
            if let Some(i) = self.find_route_worker(r, now_s) {
                let mut total = 0;
                for j in 0..self.workers.len() {
                    if self.usable(j) {
                        self.workers[j].lbstatus += self.workers[j].lbfactor;
                        total += self.workers[j].lbfactor;
                    }
                }
                self.workers[i].lbstatus -= total;
                chosen = Some(i);
            }
        }
        if chosen.is_none() {
            if let (Some(r), true) = (route, self.nofailover) {
                if self
                    .workers
                    .iter()
                    .any(|w| !w.route.is_empty() && w.route == r)
                {
                    return None;
                }
            }
            chosen = self.find_best_byrequests(now_s);
        }
        let i = chosen?;
        pd.tried |= 1u128 << i;
        Some(i)
    }

    fn free(&mut self, peer: usize, failed: bool, now_s: u64) {
        if failed {
            self.workers[peer].in_error = true;
            self.workers[peer].error_time = now_s;
        }
    }

    fn tries(&self) -> u32 {
        self.workers.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &[u8]) -> RequestKey<'_> {
        RequestKey {
            client_addr: [0; 4],
            session_id: id,
        }
    }

    fn pick(b: &mut Route, id: &[u8], now: u64) -> Option<usize> {
        let p = b.pick(&key(id), &mut PeerData::default(), now);
        if let Some(p) = p {
            b.free(p, false, now);
        }
        p
    }

    #[test]
    fn route_is_text_after_first_dot() {
        assert_eq!(route_of(b"ABC.tomcat2"), Some(&b"tomcat2"[..]));
        assert_eq!(route_of(b"ABC.tomcat2.x"), Some(&b"tomcat2.x"[..]));
        assert_eq!(route_of(b"ABC."), Some(&b""[..]));
        assert_eq!(route_of(b"ABC"), None);
        assert_eq!(route_of(b""), None);
    }

    #[test]
    fn sticky_to_the_routed_worker() {
        let mut b = Route::new(&BalancerParams::with_defaults(3));
        for _ in 0..5 {
            assert_eq!(pick(&mut b, b"0123.tomcat3", 0), Some(2));
        }
        assert_eq!(pick(&mut b, b"0123.tomcat2", 0), Some(1));
    }

    #[test]
    fn byrequests_weights_and_ties() {
        let mut p = BalancerParams::with_defaults(4);
        p.weights = vec![1, 1, 1, 2];
        let mut b = Route::new(&p);
        let seq: Vec<_> = (0..10).map(|_| pick(&mut b, b"", 0).unwrap()).collect();
        // lbstatus after each pick decides; ties go to the lowest index.
        assert_eq!(seq, [3, 0, 1, 2, 3, 3, 0, 1, 2, 3]);
    }

    #[test]
    fn unknown_or_missing_route_is_balanced() {
        let mut b = Route::new(&BalancerParams::with_defaults(2));
        assert_eq!(pick(&mut b, b"NOROUTE", 0), Some(0));
        assert_eq!(pick(&mut b, b"X.tomcat9", 0), Some(1));
        assert_eq!(pick(&mut b, b"X.", 0), Some(0));
    }

    #[test]
    fn sticky_traffic_moves_the_counters() {
        let mut b = Route::new(&BalancerParams::with_defaults(2));
        assert_eq!(pick(&mut b, b"S.tomcat1", 0), Some(0));
        assert_eq!(
            b.workers.iter().map(|w| w.lbstatus).collect::<Vec<_>>(),
            [-1, 1]
        );
        assert_eq!(pick(&mut b, b"", 0), Some(1)); // new session goes to the other node
    }

    #[test]
    fn failover_and_flip_back_after_retry() {
        let mut b = Route::new(&BalancerParams::with_defaults(3)); // retry 60 s
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"S.tomcat1"), &mut pd, 100), Some(0));
        b.free(0, true, 100);
        // second attempt of the same request: worker 0 is in error ⇒ byrequests
        let other = b.pick(&key(b"S.tomcat1"), &mut pd, 100).unwrap();
        assert_ne!(other, 0);
        b.free(other, false, 100);
        for t in [101, 130, 160] {
            assert_ne!(pick(&mut b, b"S.tomcat1", t), Some(0), "t={t}");
        }
        // now > error_time + retry (strict): back at 161, the cookie still says tomcat1
        assert_eq!(pick(&mut b, b"S.tomcat1", 161), Some(0));
        assert!(!b.workers[0].in_error);
    }

    #[test]
    fn nofailover_returns_none_for_member_routes_only() {
        let mut p = BalancerParams::with_defaults(2);
        p.nofailover = true;
        let mut b = Route::new(&p);
        b.free(0, true, 0);
        assert_eq!(pick(&mut b, b"S.tomcat1", 10), None);
        assert_eq!(pick(&mut b, b"S.tomcat7", 10), Some(1));
        assert_eq!(pick(&mut b, b"S", 10), Some(1));
        assert_eq!(pick(&mut b, b"S.tomcat1", 61), Some(0));
    }

    #[test]
    fn disabled_worker_is_never_used_nor_recovered() {
        let mut p = BalancerParams::with_defaults(2);
        p.down[0] = true;
        let mut b = Route::new(&p);
        assert_eq!(pick(&mut b, b"S.tomcat1", 0), Some(1));
        b.free(1, true, 0);
        // worker 1 in error, worker 0 disabled but not in error ⇒ no forced recovery
        assert_eq!(pick(&mut b, b"", 1), None);
        assert_eq!(pick(&mut b, b"", 61), Some(1));
    }

    #[test]
    fn force_recovery_when_every_worker_is_in_error() {
        let mut b = Route::new(&BalancerParams::with_defaults(2));
        b.free(0, true, 0);
        b.free(1, true, 0);
        assert_eq!(pick(&mut b, b"S.tomcat2", 1), Some(1));
        assert!(b.workers.iter().all(|w| !w.in_error));
    }

    #[test]
    fn tries_counts_every_worker() {
        let mut p = BalancerParams::with_defaults(3);
        p.down[1] = true;
        assert_eq!(Route::new(&p).tries(), 3);
    }
}
