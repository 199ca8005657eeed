//! `ip-hash`: nginx `ip_hash`, keyed on the client's /24.
//!
//! Algorithm (nginx 1.22 `src/http/modules/ngx_http_upstream_ip_hash_module.c`,
//! `ngx_http_upstream_get_ip_hash_peer`), bit-exact:
//! * key = the first three octets of the IPv4 address (every client of a /24 — a NAT, a proxy —
//!   lands on the same server); `hash` starts at 89 for each request;
//! * one try: for each key byte `hash = (hash * 113 + byte) % 6271`; `w = hash % total_weight`
//!   (down servers included); walk `while w >= weight[p] { w -= weight[p]; p += 1 }`;
//! * if `p` is tried by this request, down, inside its failure window or at `max_conns`, count a
//!   try and hash again *from the current hash*; after more than 20 tries (counted across the
//!   request's attempts) fall back to smooth weighted round robin for the rest of the request;
//! * on success the chosen peer is marked tried, its check window may restart, and the hash is
//!   saved so a retry continues the sequence from it (a fallback to RR does not save it).
//! * a single server always goes through the round-robin path.
//!
//! Test vector: 192.168.1.10 with three weight-1 servers ⇒ hashes 154, 5654, 1196, 723 ⇒ peers
//! 1, 2, 2, 0. There is no tie to break: the hash determines the peer.

use super::upstream::{is_tried, Upstream};
use super::{Balancer, BalancerEntry, BalancerParams, PeerData, RequestKey};

/// Registry line.
pub const ENTRY: BalancerEntry = BalancerEntry {
    name: "ip-hash",
    doc: "nginx ip_hash: hash of the client's first three IPv4 octets",
    build: |p| Box::new(IpHash::new(p)),
    pins_sessions: true,
};

/// Initial value of the per-request hash.
pub const HASH_SEED: u32 = 89;

/// One ip_hash step over the key bytes: `hash = (hash * 113 + byte) % 6271` for each byte.
#[inline]
pub fn ip_hash_step(mut hash: u32, key: &[u8]) -> u32 {
    for &b in key {
        hash = (hash * 113 + u32::from(b)) % 6271;
    }
    hash
}

/// nginx `ip_hash`.
#[derive(Debug, Clone)]
pub struct IpHash {
    /// Peer state -- internal state.
    pub upstream: Upstream,
}

impl IpHash {
    /// Builds the balancer (panics on invalid parameters).
    pub fn new(p: &BalancerParams) -> Self {
        IpHash {
            upstream: Upstream::new(p),
        }
    }
}

impl Balancer for IpHash {
    fn pick(&mut self, req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        let up = &mut self.upstream;
        if pd.tries > 20 || up.single {
            return up.get_rr_peer(pd, now_s);
        }
        if !pd.started {
            pd.hash = HASH_SEED;
            pd.started = true;
        }
        let mut hash = pd.hash;
        let p = loop {
            hash = ip_hash_step(hash, &req.client_addr[..3]);
            let p = up.peer_for_weight(u64::from(hash) % up.total_weight);
            if !is_tried(pd, p) && up.usable(p, now_s) {
                break p;
            }
            pd.tries += 1;
            if pd.tries > 20 {
                return up.get_rr_peer(pd, now_s);
            }
        };
        up.take(p, pd, now_s);
        pd.hash = hash;
        Some(p)
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

    fn key(a: [u8; 4]) -> RequestKey<'static> {
        RequestKey {
            client_addr: a,
            session_id: b"",
        }
    }

    #[test]
    fn fidelity_vector_hash_sequence() {
        let mut h = HASH_SEED;
        let mut hashes = vec![];
        for _ in 0..4 {
            h = ip_hash_step(h, &[192, 168, 1]);
            hashes.push(h);
        }
        assert_eq!(hashes, [154, 5654, 1196, 723]);
        assert_eq!(
            hashes.iter().map(|h| h % 3).collect::<Vec<_>>(),
            [1, 2, 2, 0]
        );
    }

    #[test]
    fn fidelity_vector_retries_follow_the_sequence() {
        // Each attempt fails; the next attempt continues the hash sequence, skipping the tried
        // peer 2 at hash 1196 (one counted try), then lands on 0 at 723.
        let mut b = IpHash::new(&BalancerParams::with_defaults(3));
        let k = key([192, 168, 1, 10]);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&k, &mut pd, 0), Some(1));
        assert_eq!(pd.hash, 154);
        b.free(1, true, 0);
        assert_eq!(b.pick(&k, &mut pd, 0), Some(2));
        assert_eq!(pd.hash, 5654);
        b.free(2, true, 0);
        assert_eq!(b.pick(&k, &mut pd, 0), Some(0));
        assert_eq!((pd.hash, pd.tries, pd.tried), (723, 1, 0b111));
    }

    #[test]
    fn keyed_on_the_slash_24() {
        let mut b = IpHash::new(&BalancerParams::with_defaults(4));
        let first = b
            .pick(&key([10, 1, 2, 0]), &mut PeerData::default(), 0)
            .unwrap();
        for last in 1..=255 {
            let p = b
                .pick(&key([10, 1, 2, last]), &mut PeerData::default(), 0)
                .unwrap();
            b.free(p, false, 0);
            assert_eq!(p, first);
        }
    }

    #[test]
    fn down_peer_stays_in_the_modulus() {
        // 192.168.1.x hashes to 1 first; with peer 1 down it rehashes to 2 (5654 % 3),
        // not to 154 % 2 = 0 as a shrunk modulus would give.
        let mut p = BalancerParams::with_defaults(3);
        p.down[1] = true;
        let mut b = IpHash::new(&p);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key([192, 168, 1, 10]), &mut pd, 0), Some(2));
        assert_eq!(pd.tries, 1);
    }

    #[test]
    fn weights_walk() {
        // weights 1,2,3: w = hash % 6 → peer 0 for 0, 1 for 1..=2, 2 for 3..=5.
        let mut p = BalancerParams::with_defaults(3);
        p.weights = vec![1, 2, 3];
        let mut b = IpHash::new(&p);
        // 154 % 6 = 4 → peer 2
        assert_eq!(
            b.pick(&key([192, 168, 1, 10]), &mut PeerData::default(), 0),
            Some(2)
        );
    }

    #[test]
    fn failed_peer_skipped_until_window_ends() {
        let mut b = IpHash::new(&BalancerParams::with_defaults(3));
        let k = key([192, 168, 1, 10]);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&k, &mut pd, 0), Some(1));
        b.free(1, true, 0);
        for t in [1, 10] {
            assert_eq!(b.pick(&k, &mut PeerData::default(), t), Some(2), "t={t}");
            b.free(2, false, t);
        }
        assert_eq!(b.pick(&k, &mut PeerData::default(), 11), Some(1));
    }

    #[test]
    fn twenty_try_fallback_to_round_robin() {
        // Only peer 3 is up: every client whose hash sequence misses it for 21 tries falls
        // back to round robin, which finds peer 3.
        let mut p = BalancerParams::with_defaults(4);
        p.down = vec![true, true, true, false];
        let mut b = IpHash::new(&p);
        let mut fallbacks = 0;
        for a in 0..=255u8 {
            for c in 0..=255u8 {
                let mut pd = PeerData::default();
                assert_eq!(b.pick(&key([a, c, 7, 7]), &mut pd, 0), Some(3));
                b.free(3, false, 0);
                if pd.tries > 20 {
                    fallbacks += 1;
                    assert_eq!(pd.tries, 21);
                }
            }
        }
        assert!(fallbacks > 0);
        // All down: 21 tries, then RR finds nothing.
        let mut p = BalancerParams::with_defaults(4);
        p.down = vec![true; 4];
        let mut b = IpHash::new(&p);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key([1, 2, 3, 4]), &mut pd, 0), None);
        assert_eq!(pd.tries, 21);
        // Later attempts of the same request go straight to RR.
        assert_eq!(b.pick(&key([1, 2, 3, 4]), &mut pd, 0), None);
        assert_eq!(pd.tries, 21);
    }

    #[test]
    fn single_server_uses_round_robin_path() {
        let mut b = IpHash::new(&BalancerParams::with_defaults(1));
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key([1, 2, 3, 4]), &mut pd, 0), Some(0));
        assert!(!pd.started);
    }
}
