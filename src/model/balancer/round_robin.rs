//! `round-robin`: nginx's default balancer, smooth weighted round robin.
//!
//! Algorithm (nginx 1.22 `src/http/ngx_http_upstream_round_robin.c`,
//! `ngx_http_upstream_get_peer`): every pick walks the usable, not-yet-tried peers in
//! configuration order, adds each one's `effective_weight` to its `current_weight`, and chooses
//! the peer with the largest `current_weight`, which then loses the sum of the effective weights.
//! Weights 5,1,1 give `a a b a c a a`. Tie-break: the first peer (lowest index) with the strictly
//! largest `current_weight`. A single server is always chosen unless down or at `max_conns`.
//! Skip rules, failure windows and `effective_weight` recovery live in [`super::upstream`].
//!
//! The request key is ignored.

use super::upstream::Upstream;
use super::{Balancer, BalancerEntry, BalancerParams, PeerData, RequestKey};

/// Registry line.
pub const ENTRY: BalancerEntry = BalancerEntry {
    name: "round-robin",
    doc: "nginx smooth weighted round robin (the default upstream balancer)",
    build: |p| Box::new(RoundRobin::new(p)),
    pins_sessions: false,
};

/// nginx smooth weighted round robin.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    /// Peer state -- internal state.
    pub upstream: Upstream,
}

impl RoundRobin {
    /// Builds the balancer (panics on invalid parameters).
    pub fn new(p: &BalancerParams) -> Self {
        RoundRobin {
            upstream: Upstream::new(p),
        }
    }
}

impl Balancer for RoundRobin {
    fn pick(&mut self, _req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        self.upstream.get_rr_peer(pd, now_s)
    }

    fn free(&mut self, peer: usize, failed: bool, now_s: u64) {
        self.upstream.free(peer, failed, now_s);
    }

    fn tries(&self) -> u32 {
        self.upstream.tries.max(1)
    }

    fn reads_session_id(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: RequestKey<'static> = RequestKey {
        client_addr: [0; 4],
        session_id: b"",
    };

    fn seq(b: &mut RoundRobin, n: usize) -> Vec<usize> {
        (0..n)
            .map(|_| {
                let p = b.pick(&KEY, &mut PeerData::default(), 0).unwrap();
                b.free(p, false, 0);
                p
            })
            .collect()
    }

    #[test]
    fn weights_5_1_1() {
        let mut p = BalancerParams::with_defaults(3);
        p.weights = vec![5, 1, 1];
        assert_eq!(seq(&mut RoundRobin::new(&p), 7), [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn weights_1_2_3() {
        let mut p = BalancerParams::with_defaults(3);
        p.weights = vec![1, 2, 3];
        assert_eq!(seq(&mut RoundRobin::new(&p), 6), [2, 1, 0, 2, 1, 2]);
    }

    #[test]
    fn down_peer_never_chosen_and_not_counted_in_tries() {
        let mut p = BalancerParams::with_defaults(4);
        p.down[0] = true;
        let mut b = RoundRobin::new(&p);
        assert_eq!(b.tries(), 3);
        assert_eq!(seq(&mut b, 6), [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn retries_walk_every_live_peer_once_then_none() {
        let mut p = BalancerParams::with_defaults(4);
        p.down[2] = true;
        let mut b = RoundRobin::new(&p);
        let mut pd = PeerData::default();
        let mut got = vec![];
        for _ in 0..b.tries() {
            let peer = b.pick(&KEY, &mut pd, 0).unwrap();
            b.free(peer, true, 0);
            got.push(peer);
        }
        assert_eq!(got, [0, 1, 3]);
        assert_eq!(b.pick(&KEY, &mut pd, 0), None);
        // Every live peer failed (max_fails 1): the next request finds no live upstream.
        assert_eq!(b.pick(&KEY, &mut PeerData::default(), 10), None);
        assert!(b.pick(&KEY, &mut PeerData::default(), 11).is_some());
    }
}
