//! `cookie-hash-consistent`: nginx `hash $cookie_JSESSIONID consistent` (ketama-style ring).
//!
//! Algorithm (nginx 1.22 `src/http/modules/ngx_http_upstream_hash_module.c`,
//! `ngx_http_upstream_init_chash`, `ngx_http_upstream_find_chash_point`,
//! `ngx_http_upstream_get_chash_peer`), bit-exact; compatible with Cache::Memcached::Fast:
//! * **Ring** (built once): each server gets `weight * 160` points, down servers included. From
//!   the `server` string as written, `port` = the trailing digits after the last ':' (none if a
//!   non-digit comes first; `unix:` paths have no port), `host` = the text before that ':'.
//!   `base = crc32 state over host ++ "\0" ++ port`; point `j` = crc32(base ++ prev as 4
//!   little-endian bytes), prev starting at 0 and then the previous point. The points are sorted
//!   ascending (stable, as glibc's merge-sort `qsort`) and equal values collapse to the first.
//! * **Lookup** (per request): `index` = first point ≥ `crc32(key)` (binary search; may equal
//!   the point count, hence the modulo below).
//! * **Pick**: empty key, single server, or more than 20 tries ⇒ smooth weighted round robin.
//!   Otherwise take the server of point `index % points`; among the peers configured with that
//!   exact server string that are not tried and usable, run one smooth-weighted-RR step (with a
//!   unique server string this only recovers `effective_weight` by 1). None ⇒ `index += 1`,
//!   count a try, more than 20 ⇒ round robin for the rest of the request.
//!
//! Tie-break: among peers sharing a server string, the first with the strictly largest
//! `current_weight`; identical point values keep the one from the earlier server in config order.
//!
//! Test vector: `10.0.0.1:8080, 10.0.0.2:8080, 10.0.0.3:8080` ⇒ 480 points; crc32("ABC") =
//! 0xA3830348 ⇒ index 307 ⇒ `10.0.0.2:8080`.

use super::upstream::Upstream;
use super::{Balancer, BalancerEntry, BalancerParams, PeerData, RequestKey};

/// Registry line.
pub const ENTRY: BalancerEntry = BalancerEntry {
    name: "cookie-hash-consistent",
    doc: "nginx `hash $cookie_JSESSIONID consistent` (160 crc32 points per weight unit)",
    build: |p| Box::new(CookieHashConsistent::new(p)),
    pins_sessions: true,
};

/// Points per unit of weight.
pub const POINTS_PER_WEIGHT: u32 = 160;

/// One point of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Position on the ring [crc32 value].
    pub hash: u32,
    /// Server id: the index of the first server whose string equals this point's server.
    pub server: u8,
}

/// Splits an nginx `server` string into (host, port) as `ngx_http_upstream_init_chash` does.
pub fn split_host_port(server: &[u8]) -> (&[u8], &[u8]) {
    if server.len() >= 5 && server[..5].eq_ignore_ascii_case(b"unix:") {
        return (&server[5..], b"");
    }
    for j in 0..server.len() {
        let c = server[server.len() - j - 1];
        if c == b':' {
            return (&server[..server.len() - j - 1], &server[server.len() - j..]);
        }
        if !c.is_ascii_digit() {
            break;
        }
    }
    (server, b"")
}

/// The `weight * 160` points of one server, unsorted, in generation order.
pub fn server_points(server: &str, weight: u32) -> impl Iterator<Item = u32> {
    let (host, port) = split_host_port(server.as_bytes());
    let mut base = crc32fast::Hasher::new();
    base.update(host);
    base.update(b"\0");
    base.update(port);
    let mut prev: u32 = 0;
    (0..weight * POINTS_PER_WEIGHT).map(move |_| {
        let mut h = base.clone();
        h.update(&prev.to_le_bytes());
        prev = h.finalize();
        prev
    })
}

/// Sorted, de-duplicated ring of all servers (down ones included).
pub fn build_ring(p: &BalancerParams) -> Vec<Point> {
    let mut points = Vec::with_capacity(p.weights.iter().map(|&w| w as usize * 160).sum());
    for (i, (server, &w)) in p.servers.iter().zip(&p.weights).enumerate() {
        let id = p.servers.iter().position(|s| s == server).unwrap_or(i) as u8;
        points.extend(server_points(server, w).map(|hash| Point { hash, server: id }));
    }
    points.sort_by_key(|pt| pt.hash); // stable
    points.dedup_by_key(|pt| pt.hash); // keeps the first of equal values
    points
}

/// `ngx_http_upstream_find_chash_point`: index of the first point ≥ `hash` (0..=len).
pub fn find_point(points: &[Point], hash: u32) -> usize {
    let (mut i, mut j) = (0, points.len());
    while i < j {
        let k = (i + j) / 2;
        if hash > points[k].hash {
            i = k + 1;
        } else if hash < points[k].hash {
            j = k;
        } else {
            return k;
        }
    }
    i
}

/// nginx `hash $cookie_JSESSIONID consistent`.
#[derive(Debug, Clone)]
pub struct CookieHashConsistent {
    /// Peer state -- internal state.
    pub upstream: Upstream,
    /// The ring -- configuration.
    pub points: Vec<Point>,
    /// Server id of each peer (see [`Point::server`]) -- configuration.
    pub server_of_peer: Vec<u8>,
}

impl CookieHashConsistent {
    /// Builds the balancer and its ring (panics on invalid parameters).
    pub fn new(p: &BalancerParams) -> Self {
        let upstream = Upstream::new(p);
        let server_of_peer = (0..p.len())
            .map(|i| p.servers.iter().position(|s| *s == p.servers[i]).unwrap() as u8)
            .collect();
        CookieHashConsistent {
            upstream,
            points: build_ring(p),
            server_of_peer,
        }
    }
}

impl Balancer for CookieHashConsistent {
    fn pick(&mut self, req: &RequestKey<'_>, pd: &mut PeerData, now_s: u64) -> Option<usize> {
        let key = req.session_id;
        if pd.tries > 20 || self.upstream.single || key.is_empty() {
            return self.upstream.get_rr_peer(pd, now_s);
        }
        if !pd.started {
            pd.hash = find_point(&self.points, crc32fast::hash(key)) as u32;
            pd.started = true;
        }
        let n = self.points.len() as u32;
        let best = loop {
            let server = self.points[(pd.hash % n) as usize].server;
            let sop = &self.server_of_peer;
            if let Some(b) = self.upstream.smooth_step(pd, now_s, |i| sop[i] == server) {
                break b;
            }
            pd.hash = pd.hash.wrapping_add(1);
            pd.tries += 1;
            if pd.tries > 20 {
                return self.upstream.get_rr_peer(pd, now_s);
            }
        };
        self.upstream.take(best, pd, now_s);
        Some(best)
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

    fn params(servers: &[&str]) -> BalancerParams {
        let mut p = BalancerParams::with_defaults(servers.len());
        p.servers = servers.iter().map(|s| s.to_string()).collect();
        p
    }

    fn key(id: &[u8]) -> RequestKey<'_> {
        RequestKey {
            client_addr: [0; 4],
            session_id: id,
        }
    }

    const FID: [&str; 3] = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"];

    #[test]
    fn fidelity_vector_abc() {
        let p = params(&FID);
        let mut b = CookieHashConsistent::new(&p);
        assert_eq!(b.points.len(), 480);
        assert_eq!(crc32fast::hash(b"ABC"), 0xA383_0348);
        assert_eq!(find_point(&b.points, 0xA383_0348), 307);
        assert_eq!(b.points[307].server, 1);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(1));
        assert_eq!(pd.hash, 307);
    }

    #[test]
    fn split_host_port_follows_nginx() {
        assert_eq!(
            split_host_port(b"10.0.0.1:8080"),
            (&b"10.0.0.1"[..], &b"8080"[..])
        );
        assert_eq!(split_host_port(b"[::1]:80"), (&b"[::1]"[..], &b"80"[..]));
        assert_eq!(split_host_port(b"backend"), (&b"backend"[..], &b""[..]));
        assert_eq!(split_host_port(b"host:"), (&b"host"[..], &b""[..]));
        assert_eq!(split_host_port(b"a:b"), (&b"a:b"[..], &b""[..]));
        assert_eq!(split_host_port(b"unix:/tmp/s"), (&b"/tmp/s"[..], &b""[..]));
        assert_eq!(split_host_port(b"UNIX:/x:80"), (&b"/x:80"[..], &b""[..]));
    }

    #[test]
    fn points_chain_through_little_endian_prev() {
        let pts: Vec<u32> = server_points("10.0.0.1:8080", 1).take(2).collect();
        let p0 = crc32fast::hash(b"10.0.0.1\x008080\0\0\0\0");
        let mut second = b"10.0.0.1\x008080".to_vec();
        second.extend_from_slice(&p0.to_le_bytes());
        assert_eq!(pts, [p0, crc32fast::hash(&second)]);
    }

    #[test]
    fn find_point_bounds() {
        let pts: Vec<Point> = [10u32, 20, 30]
            .iter()
            .map(|&hash| Point { hash, server: 0 })
            .collect();
        assert_eq!(find_point(&pts, 0), 0);
        assert_eq!(find_point(&pts, 20), 1);
        assert_eq!(find_point(&pts, 21), 2);
        assert_eq!(find_point(&pts, 31), 3); // wraps via % len at pick time
    }

    #[test]
    fn weights_multiply_points_and_down_servers_keep_theirs() {
        let mut p = params(&FID);
        p.weights = vec![1, 2, 3];
        p.down[0] = true;
        assert_eq!(CookieHashConsistent::new(&p).points.len(), 960);
    }

    #[test]
    fn down_server_moves_only_its_keys_to_the_next_point() {
        let p = params(&FID);
        let mut down = p.clone();
        down.down[1] = true;
        let mut a = CookieHashConsistent::new(&p);
        let mut b = CookieHashConsistent::new(&down);
        let mut moved = 0;
        for i in 0..3000u32 {
            let id = format!("{i:032X}.tomcat1");
            let pa = a
                .pick(&key(id.as_bytes()), &mut PeerData::default(), 0)
                .unwrap();
            let mut pd = PeerData::default();
            let pb = b.pick(&key(id.as_bytes()), &mut pd, 0).unwrap();
            if pa != 1 {
                assert_eq!(pa, pb, "keys of live servers stay put");
            } else {
                moved += 1;
                assert_ne!(pb, 1);
                // walked forward one point at a time to the next live server
                let start = find_point(&b.points, crc32fast::hash(id.as_bytes())) as u32;
                assert_eq!(pd.tries, pd.hash - start);
                assert_ne!(b.points[(pd.hash % 480) as usize].server, 1);
            }
        }
        assert!((800..1200).contains(&moved), "{moved}");
    }

    #[test]
    fn failed_peer_rebalances_then_returns() {
        let mut b = CookieHashConsistent::new(&params(&FID));
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), Some(1));
        b.free(1, true, 0);
        let retry = b.pick(&key(b"ABC"), &mut pd, 0).unwrap();
        assert_ne!(retry, 1);
        b.free(retry, false, 0);
        assert_ne!(b.pick(&key(b"ABC"), &mut PeerData::default(), 10), Some(1));
        assert_eq!(b.pick(&key(b"ABC"), &mut PeerData::default(), 11), Some(1));
    }

    #[test]
    fn effective_weight_recovers_through_chash_picks() {
        let mut p = params(&FID);
        p.weights = vec![4, 4, 4];
        let mut b = CookieHashConsistent::new(&p);
        let peer = b.pick(&key(b"ABC"), &mut PeerData::default(), 0).unwrap();
        b.free(peer, true, 0);
        assert_eq!(b.upstream.peers[peer].effective_weight, 0);
        for ew in 1..=4 {
            assert_eq!(
                b.pick(&key(b"ABC"), &mut PeerData::default(), 11),
                Some(peer)
            );
            b.free(peer, false, 11);
            assert_eq!(b.upstream.peers[peer].effective_weight, ew);
            assert_eq!(b.upstream.peers[peer].current_weight, 0);
        }
    }

    #[test]
    fn duplicate_server_strings_share_points() {
        let p = params(&["10.0.0.1:8080", "10.0.0.1:8080"]);
        let mut b = CookieHashConsistent::new(&p);
        assert_eq!(b.points.len(), 160); // identical points collapse
        assert_eq!(b.server_of_peer, [0, 0]);
        // both peers match every point: smooth RR between them
        let seq: Vec<_> = (0..4)
            .map(|_| {
                let x = b.pick(&key(b"k"), &mut PeerData::default(), 0).unwrap();
                b.free(x, false, 0);
                x
            })
            .collect();
        assert_eq!(seq, [0, 1, 0, 1]);
    }

    #[test]
    fn twenty_try_fallback_and_empty_key() {
        let mut p = params(&FID);
        p.down = vec![true, true, true];
        let mut b = CookieHashConsistent::new(&p);
        let mut pd = PeerData::default();
        assert_eq!(b.pick(&key(b"ABC"), &mut pd, 0), None);
        assert_eq!(pd.tries, 21);
        assert_eq!(pd.hash, 307 + 21);
        let mut b = CookieHashConsistent::new(&params(&FID));
        let seq: Vec<_> = (0..4)
            .map(|_| b.pick(&key(b""), &mut PeerData::default(), 0).unwrap())
            .collect();
        assert_eq!(seq, [0, 1, 2, 0]);
    }
}
