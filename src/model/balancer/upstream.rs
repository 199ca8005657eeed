//! nginx upstream peer state, shared by every nginx balancer (round robin, ip_hash, hash,
//! hash consistent).
//!
//! Source: nginx 1.22 `src/http/ngx_http_upstream_round_robin.c`
//! (`ngx_http_upstream_init_round_robin`, `ngx_http_upstream_get_peer`,
//! `ngx_http_upstream_get_round_robin_peer`, `ngx_http_upstream_free_round_robin_peer`).
//!
//! **Configuration** (`init_round_robin`): `total_weight` = sum of all weights, *down servers
//! included* (the hash balancers take their modulus from it); `tries` = number of non-down
//! servers (nginx `peers->tries`, the attempts per request); `single` = exactly one server.
//! Every peer starts with `effective_weight = weight`, `current_weight = 0`, `fails = 0`,
//! `accessed = checked = 0`, `conns = 0`.
//!
//! **Usable** (the skip rules every nginx balancer applies, besides the request's `tried` set):
//! not `down`; not (`max_fails > 0 && fails >= max_fails && now - checked <= fail_timeout`) —
//! note the `<=`: a peer that failed at `t` is skipped up to and including `t + fail_timeout` and
//! comes back at `t + fail_timeout + 1`; not (`max_conns > 0 && conns >= max_conns`).
//!
//! **Smooth weighted round robin** ([`Upstream::get_rr_peer`]):
//! * `single` ⇒ peer 0 unless it is down or at `max_conns` (max_fails, `tried` and `checked` are
//!   ignored: one server is never marked failed).
//! * otherwise walk the peers in configuration order, skipping tried and unusable ones; for each
//!   remaining peer `current_weight += effective_weight; total += effective_weight;
//!   if effective_weight < weight { effective_weight += 1 }`; best = the **first** peer with the
//!   strictly largest `current_weight` (ties go to the lower index). Then
//!   `best.current_weight -= total`, mark tried, and `if now - checked > fail_timeout
//!   { checked = now }`. No candidate ⇒ `None` (nginx: backup servers, else "no live upstreams").
//! * the chosen peer's `conns` is incremented (decremented again by `free`).
//!
//! **Passive health** ([`Upstream::free`]): `single` ⇒ only `conns -= 1`. Failure ⇒
//! `fails += 1; accessed = checked = now; if max_fails > 0 { effective_weight -= weight /
//! max_fails }` (integer division), clamped at 0. Success ⇒ `if accessed < checked { fails = 0 }`
//! (a success only clears the failures once the peer was re-checked after its window).

use super::{BalancerParams, PeerData};

/// One upstream server's nginx state (`ngx_http_upstream_rr_peer_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Configured `weight=` [dimensionless, ≥ 1] -- configuration.
    pub weight: i64,
    /// Weight used by smooth RR; lowered by failures, +1 per RR pass back up to `weight`
    /// \[dimensionless\] -- internal state.
    pub effective_weight: i64,
    /// Smooth RR accumulator \[dimensionless\] -- internal state.
    pub current_weight: i64,
    /// Failed attempts counted since the last reset \[attempts\] -- internal state.
    pub fails: u32,
    /// Time of the last failure \[s\] -- internal state.
    pub accessed: u64,
    /// Start of the current failure window \[s\] -- internal state.
    pub checked: u64,
    /// Attempts in flight (picked, not yet freed) \[attempts\] -- internal state.
    pub conns: u32,
    /// `max_fails=` [failed attempts]; 0 = no accounting -- configuration.
    pub max_fails: u32,
    /// `fail_timeout=` \[s\] -- configuration.
    pub fail_timeout: u64,
    /// `down` flag -- configuration.
    pub down: bool,
    /// `max_conns=` \[attempts\]; 0 = unlimited -- configuration.
    pub max_conns: u32,
}

/// The peers of one upstream block (`ngx_http_upstream_rr_peers_t`), in configuration order.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Peer `i` = server `i`.
    pub peers: Vec<Peer>,
    /// Sum of all weights, down servers included \[dimensionless\].
    pub total_weight: u64,
    /// Number of non-down servers [attempts per request] (nginx `peers->tries`).
    pub tries: u32,
    /// Exactly one server (nginx `peers->single`).
    pub single: bool,
    /// Every peer is usable whatever the time and at full weight: not down, no `max_conns`,
    /// fewer than `max_fails` failures (or no accounting) and `effective_weight == weight`.
    /// A smooth RR pick with nothing tried then reduces to adding each weight and taking the
    /// first largest `current_weight` ([`Upstream::get_rr_peer`]'s fast path). It is recomputed
    /// only where a peer's state can change it: by [`Upstream::free`] on a failure (which can end
    /// it) and when a success clears a peer's failures, and by [`Upstream::smooth_step`] when its
    /// pass brings an `effective_weight` back to its `weight` (both can restore it), never at
    /// every pick: a configuration that rules it out (a down server, `max_conns`) costs nothing
    /// per request. The peers must change only through these methods -- internal state.
    steady: bool,
}

/// True when peer `i` is in the request's tried set.
#[inline]
pub fn is_tried(pd: &PeerData, i: usize) -> bool {
    pd.tried & (1u128 << i) != 0
}

impl Upstream {
    /// Builds the peer table from validated parameters (panics otherwise).
    pub fn new(p: &BalancerParams) -> Self {
        p.assert_valid();
        let peers: Vec<Peer> = (0..p.len())
            .map(|i| Peer {
                weight: i64::from(p.weights[i]),
                effective_weight: i64::from(p.weights[i]),
                current_weight: 0,
                fails: 0,
                accessed: 0,
                checked: 0,
                conns: 0,
                max_fails: p.max_fails,
                fail_timeout: p.fail_timeout_s,
                down: p.down[i],
                max_conns: p.max_conns,
            })
            .collect();
        let mut up = Upstream {
            total_weight: p.weights.iter().map(|&w| u64::from(w)).sum(),
            tries: p.down.iter().filter(|&&d| !d).count() as u32,
            single: peers.len() == 1,
            peers,
            steady: false,
        };
        up.steady = up.is_steady();
        up
    }

    /// Whether every peer is usable at any time and at full weight (see `steady`).
    fn is_steady(&self) -> bool {
        self.peers.iter().all(|p| {
            !p.down
                && p.max_conns == 0
                && (p.max_fails == 0 || p.fails < p.max_fails)
                && p.effective_weight == p.weight
        })
    }

    /// nginx's per-peer skip rules (not the tried set): down, inside a failure window
    /// (`now - checked <= fail_timeout`, inclusive), or at `max_conns`.
    #[inline]
    pub fn usable(&self, i: usize, now_s: u64) -> bool {
        let p = &self.peers[i];
        !(p.down
            || (p.max_fails != 0
                && p.fails >= p.max_fails
                && now_s.saturating_sub(p.checked) <= p.fail_timeout)
            || (p.max_conns != 0 && p.conns >= p.max_conns))
    }

    /// The peer a weight offset `w < total_weight` falls on: walk the peers in order with
    /// `while w >= weight[p] { w -= weight[p]; p += 1 }` (down peers keep their share).
    #[inline]
    pub fn peer_for_weight(&self, mut w: u64) -> usize {
        let mut p = 0;
        while w >= self.peers[p].weight as u64 {
            w -= self.peers[p].weight as u64;
            p += 1;
        }
        p
    }

    /// Records the choice of peer `i` by a hash balancer: `conns += 1`, start a new check
    /// window if the previous one is over (`now - checked > fail_timeout`), mark `i` tried.
    #[inline]
    pub fn take(&mut self, i: usize, pd: &mut PeerData, now_s: u64) {
        let p = &mut self.peers[i];
        p.conns += 1;
        if now_s.saturating_sub(p.checked) > p.fail_timeout {
            p.checked = now_s;
        }
        pd.tried |= 1u128 << i;
    }

    /// One smooth-weighted-RR step over the peers for which `candidate(i)` holds (besides not
    /// tried and usable): adds effective weights, recovers `effective_weight` by 1, subtracts
    /// the total from the winner. Returns the winner (first strictly largest `current_weight`).
    /// Does not touch `checked`, `conns` or `tried`.
    #[inline]
    pub fn smooth_step(
        &mut self,
        pd: &PeerData,
        now_s: u64,
        candidate: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let mut best: Option<(usize, i64)> = None;
        let mut total: i64 = 0;
        let mut recovered = false;
        for i in 0..self.peers.len() {
            if is_tried(pd, i) || !self.usable(i, now_s) || !candidate(i) {
                continue;
            }
            let p = &mut self.peers[i];
            p.current_weight += p.effective_weight;
            total += p.effective_weight;
            if p.effective_weight < p.weight {
                p.effective_weight += 1;
                recovered |= p.effective_weight == p.weight;
            }
            if best.is_none_or(|(_, cw)| p.current_weight > cw) {
                best = Some((i, p.current_weight));
            }
        }
        if recovered {
            // possibly the last peer below its weight
            self.steady = self.is_steady();
        }
        let (b, _) = best?;
        self.peers[b].current_weight -= total;
        Some(b)
    }

    /// `ngx_http_upstream_get_round_robin_peer` (without backup servers): see the module doc.
    pub fn get_rr_peer(&mut self, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        if self.single {
            let p = &self.peers[0];
            if p.down || (p.max_conns != 0 && p.conns >= p.max_conns) {
                return None;
            }
            self.peers[0].conns += 1;
            // nginx does not consult or set `tried` on this path; setting it is harmless and
            // keeps the trait's contract.
            pd.tried |= 1;
            return Some(0);
        }
        let b = if self.steady && pd.tried == 0 {
            // every peer is a candidate with its full weight: the pass of `smooth_step`
            // without its tests (same arithmetic, same first-largest tie-break)
            let mut best = (0, i64::MIN);
            for (i, p) in self.peers.iter_mut().enumerate() {
                p.current_weight += p.weight;
                if p.current_weight > best.1 {
                    best = (i, p.current_weight);
                }
            }
            // steady: no peer is down, so the effective weights sum to `total_weight`
            self.peers[best.0].current_weight -= self.total_weight as i64;
            best.0
        } else {
            self.smooth_step(pd, now_s, |_| true)?
        };
        self.take(b, pd, now_s);
        Some(b)
    }

    /// `ngx_http_upstream_free_round_robin_peer`: see the module doc.
    pub fn free(&mut self, peer: usize, failed: bool, now_s: u64) {
        let single = self.single;
        let p = &mut self.peers[peer];
        // a failure, or a success that clears failures: either can change `steady`
        let mut recheck = false;
        if !single {
            recheck = failed || (p.accessed < p.checked && p.fails != 0);
            if failed {
                p.fails += 1;
                p.accessed = now_s;
                p.checked = now_s;
                if p.max_fails != 0 {
                    p.effective_weight -= p.weight / i64::from(p.max_fails);
                }
                if p.effective_weight < 0 {
                    p.effective_weight = 0;
                }
            } else if p.accessed < p.checked {
                p.fails = 0;
            }
        }
        p.conns = p.conns.saturating_sub(1);
        if recheck {
            self.steady = self.is_steady();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(weights: &[u32]) -> Upstream {
        let mut p = BalancerParams::with_defaults(weights.len());
        p.weights = weights.to_vec();
        Upstream::new(&p)
    }

    /// One request = one attempt that succeeds at `now`.
    fn rr_once(u: &mut Upstream, now: u64) -> Option<usize> {
        let mut pd = PeerData::default();
        let p = u.get_rr_peer(&mut pd, now)?;
        u.free(p, false, now);
        Some(p)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// `get_rr_peer`'s steady fast path changes nothing: against the full pass
        /// (`smooth_step` + `take`, nginx's loop as written), the same peers are chosen and every
        /// peer's state stays equal, through requests of several attempts, failures that end
        /// the steady state and the passes and successes that restore it, down servers and
        /// `max_conns`; and the steady flag always equals its definition.
        #[test]
        fn steady_fast_path_equals_the_full_pass(
            weights in proptest::collection::vec(1u32..5, 2..7),
            down in proptest::collection::vec(proptest::prelude::any::<bool>(), 7),
            max_fails in 0u32..3,
            fail_timeout_s in 0u64..4,
            max_conns in proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..3],
            // per request: seconds to advance, attempts' failure bits
            requests in proptest::collection::vec((0u64..3, 0u8..16), 1..200),
        ) {
            let mut p = BalancerParams::with_defaults(weights.len());
            p.weights = weights.clone();
            // mostly no down server, so that the steady state occurs
            p.down = (0..weights.len()).map(|i| down[i] && down[(i + 1) % 7]).collect();
            p.max_fails = max_fails;
            p.fail_timeout_s = fail_timeout_s;
            p.max_conns = max_conns;
            let (mut fast, mut full) = (Upstream::new(&p), Upstream::new(&p));
            let mut now = 0;
            let mut steady_picks = 0;
            for (dt, fails) in requests {
                now += dt;
                let (mut pd_fast, mut pd_full) = (PeerData::default(), PeerData::default());
                for attempt in 0..4 {
                    steady_picks += u32::from(fast.steady && pd_fast.tried == 0);
                    let a = fast.get_rr_peer(&mut pd_fast, now);
                    let b = full.smooth_step(&pd_full, now, |_| true);
                    if let Some(b) = b {
                        full.take(b, &mut pd_full, now);
                    }
                    proptest::prop_assert_eq!(a, b);
                    proptest::prop_assert_eq!(&fast.peers, &full.peers);
                    // the flag is exact, not merely safe: the fast path is taken whenever it can be
                    proptest::prop_assert_eq!(fast.steady, fast.is_steady());
                    let Some(peer) = a else { break };
                    let failed = fails & (1 << attempt) != 0;
                    fast.free(peer, failed, now);
                    full.free(peer, failed, now);
                    proptest::prop_assert_eq!(fast.steady, fast.is_steady());
                    if !failed {
                        break;
                    }
                }
            }
            // the comparison covered the fast path whenever the configuration allows it
            if max_conns == 0 && !p.down.contains(&true) {
                proptest::prop_assert!(steady_picks > 0);
            }
        }
    }

    #[test]
    fn config_totals_count_down_peers_in_weight_not_tries() {
        let mut p = BalancerParams::with_defaults(3);
        p.weights = vec![1, 2, 3];
        p.down[1] = true;
        let u = Upstream::new(&p);
        assert_eq!((u.total_weight, u.tries, u.single), (6, 2, false));
        assert_eq!(
            (0..6).map(|w| u.peer_for_weight(w)).collect::<Vec<_>>(),
            [0, 1, 1, 2, 2, 2]
        );
    }

    #[test]
    fn smooth_rr_5_1_1_is_a_a_b_a_c_a_a() {
        let mut u = up(&[5, 1, 1]);
        let seq: Vec<_> = (0..14).map(|_| rr_once(&mut u, 0).unwrap()).collect();
        assert_eq!(seq, [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
        // back to the start of the cycle
        assert!(u.peers.iter().all(|p| p.current_weight == 0));
    }

    #[test]
    fn smooth_rr_ties_go_to_lowest_index_and_down_is_skipped() {
        let mut u = up(&[1, 1, 1, 1]);
        let seq: Vec<_> = (0..8).map(|_| rr_once(&mut u, 0).unwrap()).collect();
        assert_eq!(seq, [0, 1, 2, 3, 0, 1, 2, 3]);
        let mut p = BalancerParams::with_defaults(4);
        p.down[2] = true;
        let mut u = Upstream::new(&p);
        let seq: Vec<_> = (0..6).map(|_| rr_once(&mut u, 0).unwrap()).collect();
        assert_eq!(seq, [0, 1, 3, 0, 1, 3]);
    }

    #[test]
    fn tried_peers_are_skipped_within_a_request() {
        let mut u = up(&[1, 1, 1]);
        let mut pd = PeerData::default();
        let mut got = vec![];
        while let Some(p) = u.get_rr_peer(&mut pd, 0) {
            u.free(p, true, 0);
            got.push(p);
        }
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(pd.tried, 0b111);
    }

    #[test]
    fn fail_window_uses_inclusive_boundary_at_second_resolution() {
        let mut u = up(&[1, 1]); // max_fails 1, fail_timeout 10
        let mut pd = PeerData::default();
        assert_eq!(u.get_rr_peer(&mut pd, 100), Some(0));
        u.free(0, true, 100);
        assert_eq!(
            (u.peers[0].fails, u.peers[0].accessed, u.peers[0].checked),
            (1, 100, 100)
        );
        for t in 100..=110 {
            assert!(
                !u.usable(0, t),
                "t={t}: now - checked <= fail_timeout ⇒ skipped"
            );
        }
        assert!(u.usable(0, 111));
        // Only peer 1 is chosen inside the window.
        for t in [101, 105, 110] {
            assert_eq!(rr_once(&mut u, t), Some(1));
        }
        // At 111 peer 0 is probed again (forced: peer 1 already tried): checked moves to 111,
        // and the success clears fails.
        let mut pd = PeerData {
            tried: 0b10,
            ..PeerData::default()
        };
        assert_eq!(u.get_rr_peer(&mut pd, 111), Some(0));
        assert_eq!(u.peers[0].checked, 111);
        u.free(0, false, 111);
        assert_eq!(u.peers[0].fails, 0);
    }

    #[test]
    fn failed_probe_opens_another_window() {
        let mut u = up(&[1, 1]);
        let mut pd = PeerData::default();
        u.get_rr_peer(&mut pd, 0);
        u.free(0, true, 0);
        assert!(!u.usable(0, 10));
        // force the probe on peer 0 at t = 11
        let mut pd = PeerData {
            tried: 0b10,
            ..PeerData::default()
        };
        assert_eq!(u.get_rr_peer(&mut pd, 11), Some(0));
        u.free(0, true, 11);
        assert_eq!(u.peers[0].fails, 2);
        assert!(!u.usable(0, 21));
        assert!(u.usable(0, 22));
    }

    #[test]
    fn max_fails_counts_within_window_and_success_without_recheck_keeps_fails() {
        let mut p = BalancerParams::with_defaults(2);
        p.max_fails = 3;
        let mut u = Upstream::new(&p);
        u.free(0, true, 5);
        u.free(0, true, 6);
        assert!(u.usable(0, 6));
        // A success inside the window does not reset (accessed == checked).
        u.free(0, false, 7);
        assert_eq!(u.peers[0].fails, 2);
        u.free(0, true, 8);
        assert!(!u.usable(0, 18));
        assert!(u.usable(0, 19));
    }

    #[test]
    fn max_fails_zero_disables_accounting() {
        let mut p = BalancerParams::with_defaults(2);
        p.max_fails = 0;
        let mut u = Upstream::new(&p);
        for t in 0..5 {
            u.free(0, true, t);
        }
        assert_eq!(u.peers[0].fails, 5);
        assert_eq!(u.peers[0].effective_weight, 1);
        assert!(u.usable(0, 4));
    }

    #[test]
    fn effective_weight_drops_on_failure_and_recovers_one_per_pass() {
        let mut p = BalancerParams::with_defaults(2);
        p.weights = vec![5, 1];
        p.max_fails = 2;
        let mut u = Upstream::new(&p);
        u.free(0, true, 0);
        assert_eq!(u.peers[0].effective_weight, 3); // 5 - 5/2
        u.free(0, true, 0);
        assert_eq!(u.peers[0].effective_weight, 1);
        u.free(0, true, 0);
        assert_eq!(u.peers[0].effective_weight, 0); // clamped
                                                    // Window over at t = 11: each RR pass adds ew to cw, then ew += 1.
        let mut ew = vec![];
        let mut picks = vec![];
        for _ in 0..6 {
            picks.push(rr_once(&mut u, 11).unwrap());
            ew.push(u.peers[0].effective_weight);
        }
        assert_eq!(ew, [1, 2, 3, 4, 5, 5]);
        assert_eq!(picks, [1, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn single_server_ignores_max_fails_and_tried() {
        let mut u = up(&[3]);
        assert!(u.single);
        for t in 0..5 {
            let mut pd = PeerData {
                tried: 1,
                ..PeerData::default()
            };
            assert_eq!(u.get_rr_peer(&mut pd, t), Some(0));
            u.free(0, true, t);
        }
        assert_eq!(u.peers[0].fails, 0);
        assert_eq!(u.peers[0].conns, 0);
        let mut p = BalancerParams::with_defaults(1);
        p.down[0] = true;
        let mut u = Upstream::new(&p);
        assert_eq!(u.get_rr_peer(&mut PeerData::default(), 0), None);
        assert_eq!(u.tries, 0);
    }

    #[test]
    fn max_conns_limits_in_flight_attempts() {
        let mut p = BalancerParams::with_defaults(2);
        p.max_conns = 1;
        let mut u = Upstream::new(&p);
        assert_eq!(u.get_rr_peer(&mut PeerData::default(), 0), Some(0));
        assert_eq!(u.get_rr_peer(&mut PeerData::default(), 0), Some(1));
        assert_eq!(u.get_rr_peer(&mut PeerData::default(), 0), None);
        u.free(1, false, 0);
        assert_eq!(u.get_rr_peer(&mut PeerData::default(), 0), Some(1));
    }

    #[test]
    fn checked_moves_only_after_the_window() {
        let mut u = up(&[1, 1]);
        assert_eq!(rr_once(&mut u, 10), Some(0));
        assert_eq!(u.peers[0].checked, 0); // 10 - 0 > 10 is false
        assert_eq!(rr_once(&mut u, 11), Some(1));
        assert_eq!(u.peers[1].checked, 11);
    }
}
