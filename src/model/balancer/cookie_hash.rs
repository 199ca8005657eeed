//! `cookie-hash`: nginx `hash $cookie_JSESSIONID` (the seeds' configuration).
//!
//! Algorithm (nginx 1.22 `src/http/modules/ngx_http_upstream_hash_module.c`,
//! `ngx_http_upstream_get_hash_peer`), bit-exact; the expression is Cache::Memcached's:
//! * empty key (no cookie: a session's first request), a single server, or more than 20 tries
//!   ⇒ smooth weighted round robin ([`super::upstream`]);
//! * try `i = rehash` (0, 1, … counted across the request's attempts):
//!   `crc = crc32_ieee(decimal(i) ++ key)` with the decimal prefix omitted for `i = 0`;
//!   `hash += (crc >> 16) & 0x7fff` (u32 wrapping accumulator, starts at 0);
//!   `w = hash % total_weight` (down servers included) and walk the weights;
//! * a tried, down, failed (inside its window) or full (`max_conns`) peer counts a try and
//!   rehashes; more than 20 tries ⇒ round robin for the rest of the request.
//!
//! Test vector: key "ABC", three weight-1 servers ⇒ first try adds 9091 ⇒ peer 1; the second
//! try ("1ABC") brings the accumulator to 22676 ⇒ peer 2. No ties: the hash decides.

use super::upstream::{is_tried, Upstream};
use super::{Balancer, BalancerEntry, BalancerParams, PeerData, RequestKey};

/// Registry line.
pub const ENTRY: BalancerEntry = BalancerEntry {
    name: "cookie-hash",
    doc: "nginx `hash $cookie_JSESSIONID` (crc32, rehash on failure; no cookie => round robin)",
    build: |p| Box::new(CookieHash::new(p)),
    pins_sessions: true,
};

/// The value one try adds to the accumulator: `(crc32(decimal(rehash) ++ key) >> 16) & 0x7fff`,
/// the decimal prefix omitted when `rehash == 0`. No allocation.
#[inline]
pub fn rehash_value(rehash: u32, key: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    if rehash > 0 {
        let mut buf = [0u8; 10];
        let mut i = buf.len();
        let mut n = rehash;
        while n > 0 {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        h.update(&buf[i..]);
    }
    h.update(key);
    (h.finalize() >> 16) & 0x7fff
}

/// nginx `hash $cookie_JSESSIONID`.
#[derive(Debug, Clone)]
pub struct CookieHash {
    /// Peer state -- internal state.
    pub upstream: Upstream,
}

impl CookieHash {
    /// Builds the balancer (panics on invalid parameters).
    pub fn new(p: &BalancerParams) -> Self {
        CookieHash {
            upstream: Upstream::new(p),
        }
    }
}

impl Balancer for CookieHash {
    fn pick(&mut self, req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        let up = &mut self.upstream;
        let key = req.session_id;
        if pd.tries > 20 || up.single || key.is_empty() {
            return up.get_rr_peer(pd, now_s);
        }
        pd.started = true;
        let p = loop {
            pd.hash = pd.hash.wrapping_add(rehash_value(pd.rehash, key));
            pd.rehash += 1;
            let p = up.peer_for_weight(u64::from(pd.hash) % up.total_weight);
            if !is_tried(pd, p) && up.usable(p, now_s) {
                break p;
            }
            pd.tries += 1;
            if pd.tries > 20 {
                return up.get_rr_peer(pd, now_s);
            }
        };
        up.take(p, pd, now_s);
        Some(p)
    }

    fn free(&mut self, peer: usize, failed: bool, now_s: u64) {
        self.upstream.free(peer, failed, now_s);
    }

    fn tries(&self) -> u32 {
        self.upstream.tries.max(1)
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

    #[test]
    fn fidelity_vector_abc() {
        assert_eq!(crc32fast::hash(b"ABC"), 0xA383_0348);
        assert_eq!(rehash_value(0, b"ABC"), 9091);
        assert_eq!(9091 + rehash_value(1, b"ABC"), 22676);
        let mut b = CookieHash::new(&BalancerParams::with_defaults(3));
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(1));
        assert_eq!((pd.hash, pd.rehash), (9091, 1));
        b.free(1, true, 0);
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(2));
        assert_eq!((pd.hash, pd.rehash, pd.tries), (22676, 2, 0));
    }

    #[test]
    fn rehash_prefix_is_decimal() {
        let mut h = crc32fast::Hasher::new();
        h.update(b"12ABC");
        assert_eq!(rehash_value(12, b"ABC"), (h.finalize() >> 16) & 0x7fff);
        let mut h = crc32fast::Hasher::new();
        h.update(b"4294967295x");
        assert_eq!(rehash_value(u32::MAX, b"x"), (h.finalize() >> 16) & 0x7fff);
    }

    #[test]
    fn same_key_same_peer() {
        let mut b = CookieHash::new(&BalancerParams::with_defaults(4));
        let id = b"0123456789ABCDEF0123456789ABCDEF.tomcat2";
        let first = b.pick(&key(id), &mut PeerData::default(), 0).unwrap();
        for _ in 0..10 {
            let p = b.pick(&key(id), &mut PeerData::default(), 0).unwrap();
            b.free(p, false, 0);
            assert_eq!(p, first);
        }
    }

    #[test]
    fn empty_key_goes_round_robin_and_shares_its_state() {
        let mut p = BalancerParams::with_defaults(3);
        p.weights = vec![1, 2, 3];
        let mut b = CookieHash::new(&p);
        let mut seq = vec![];
        for _ in 0..6 {
            let peer = b.pick(&key(b""), &mut PeerData::default(), 0).unwrap();
            b.free(peer, false, 0);
            seq.push(peer);
            // hashed requests in between do not disturb the RR cycle
            let peer = b.pick(&key(b"ABC"), &mut PeerData::default(), 0).unwrap();
            b.free(peer, false, 0);
        }
        assert_eq!(seq, [2, 1, 0, 2, 1, 2]);
    }

    #[test]
    fn down_peer_stays_in_the_modulus() {
        let mut p = BalancerParams::with_defaults(3);
        p.down[1] = true;
        let mut b = CookieHash::new(&p);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(2)); // 9091 → 1 (down) → 22676 → 2
        assert_eq!((pd.tries, pd.rehash), (1, 2));
    }

    #[test]
    fn twenty_try_fallback() {
        let mut p = BalancerParams::with_defaults(3);
        p.down = vec![true, true, true];
        let mut b = CookieHash::new(&p);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), None);
        assert_eq!((pd.tries, pd.rehash), (21, 21));
        // Only peer 0 up: keys whose 21 hashes all miss it are served by round robin.
        let mut p = BalancerParams::with_defaults(3);
        p.down = vec![false, true, true];
        let mut b = CookieHash::new(&p);
        let mut fallbacks = 0;
        for i in 0..20_000u32 {
            let id = format!("{i:032X}");
            let mut pd = PeerData::default();
            assert_eq!(b.pick(&key(id.as_bytes()), &mut pd, 0), Some(0));
            b.free(0, false, 0);
            fallbacks += u32::from(pd.tries > 20);
        }
        assert!(fallbacks > 0);
    }

    #[test]
    fn single_server_uses_round_robin_path() {
        let mut b = CookieHash::new(&BalancerParams::with_defaults(1));
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(0));
        assert_eq!(pd.rehash, 0);
    }
}
