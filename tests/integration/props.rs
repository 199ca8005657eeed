//! Property tests (proptest) on randomly generated small experiments and on the balancers:
//! conservation of requests, stickiness without faults, consistent hashing's 1/N remapping and
//! determinism. Failing cases are saved in `tests/integration/props.proptest-regressions`.

use proptest::prelude::*;
use sessim::model::balancer::{self, BalancerParams, PeerData, RequestKey};
use sessim::model::simulate;
use sessim::scenario::{load_str, Experiment};

const KINDS: [&str; 5] = [
    "round-robin",
    "ip-hash",
    "cookie-hash",
    "cookie-hash-consistent",
    "route",
];

/// A random small, valid experiment (short horizon, few sessions) as TOML text.
#[derive(Debug, Clone)]
struct Small {
    nodes: u32,
    kind: &'static str,
    closed: bool,
    load: u32,
    workers: u32,
    write: f64,
    static_share: f64,
    proxy_share: f64,
    crash: Option<(u32, u32, Option<u32>)>,
    stochastic: bool,
    host_crash: bool,
    horizon_s: u32,
    seed: u64,
}

impl Small {
    fn toml(&self) -> String {
        let mut t = format!(
            "seed = {}\nreplications = 1\nhorizon = \"{}s\"\n[workload]\n",
            self.seed, self.horizon_s
        );
        if self.closed {
            t += &format!("kind = \"closed\"\nclients = {}\n", self.load);
        } else {
            t += &format!("kind = \"open\"\nsession_rate = {}.0\n", self.load);
        }
        t += &format!(
            "think_time = {{ dist = \"exponential\", mean = \"2s\", cap = \"20s\" }}\n\
             write_probability = {}\nstatic_share = {}\naddresses = {{ proxy_share = {}, proxies = 3 }}\n",
            self.write, self.static_share, self.proxy_share
        );
        t += &format!(
            "[app]\nnodes = {}\nworkers = {}\ncrash_kind = \"{}\"\n[balancer]\nkind = \"{}\"\nconnect_timeout = \"3s\"\n",
            self.nodes,
            self.workers,
            if self.host_crash { "host" } else { "process" },
            self.kind
        );
        if let Some((node, at, repair)) = self.crash {
            t += &format!(
                "[[faults]]\ntarget = \"app:{}\"\nat = \"{}s\"\n",
                node % self.nodes,
                1 + at % (self.horizon_s - 1)
            );
            if let Some(r) = repair {
                t += &format!("repair_after = \"{r}s\"\n");
            }
        }
        if self.stochastic {
            t += "[failures]\ntargets = [\"app\"]\n\
                  time_to_failure = { dist = \"exponential\", mean = \"40s\" }\n\
                  time_to_repair = { dist = \"exponential\", mean = \"5s\" }\n";
        }
        t
    }

    fn load(&self) -> Experiment {
        let t = self.toml();
        load_str(&t, "prop.toml", None, "prop").unwrap_or_else(|e| panic!("{e}\n{t}"))
    }
}

fn small(faults: bool) -> impl Strategy<Value = Small> {
    (
        (
            1u32..=6,
            0usize..KINDS.len(),
            any::<bool>(),
            1u32..=12,
            1u32..=8,
        ),
        (0.0f64..=1.0, 0.0f64..=0.5, 0.0f64..=1.0),
        (
            proptest::option::of((0u32..6, 1u32..50, proptest::option::of(1u32..30))),
            any::<bool>(),
            any::<bool>(),
        ),
        (20u32..=90, any::<u64>()),
    )
        .prop_map(
            move |(
                (nodes, kind, closed, load, workers),
                (write, static_share, proxy_share),
                (crash, stochastic, host_crash),
                (horizon_s, seed),
            )| Small {
                nodes,
                kind: KINDS[kind],
                closed,
                load,
                workers,
                write: (write * 100.0).round() / 100.0,
                static_share: (static_share * 100.0).round() / 100.0,
                proxy_share: (proxy_share * 100.0).round() / 100.0,
                crash: if faults { crash } else { None },
                stochastic: faults && stochastic,
                host_crash,
                horizon_s,
                seed: seed >> 1, // TOML integers are i64
            },
        )
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/integration/props.proptest-regressions",
            ),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Requests issued = answered (completed + failed) + in flight at the horizon.
    #[test]
    fn requests_are_conserved(s in small(true)) {
        let exp = s.load();
        let out = simulate(&exp.points[0], 0);
        let failed = out.answered_total - out.completed_total;
        prop_assert_eq!(
            out.issued_total,
            out.completed_total + failed + out.in_flight,
            "{}", s.toml()
        );
    }

    /// Without faults, ip-hash never moves a session: nothing is lost.
    #[test]
    fn ip_hash_without_faults_loses_no_session(s in small(false)) {
        let s = Small { kind: "ip-hash", ..s };
        let exp = s.load();
        let out = simulate(&exp.points[0], 0);
        prop_assert_eq!(out.metrics.sessions_lost, 0.0, "{}", s.toml());
    }

    /// The same config run twice gives identical metrics, bit for bit.
    #[test]
    fn runs_are_deterministic(s in small(true)) {
        let exp = s.load();
        let a = simulate(&exp.points[0], 0);
        let b = simulate(&exp.points[0], 0);
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        prop_assert_eq!(bits(a.metrics.values()), bits(b.metrics.values()), "{}", s.toml());
        prop_assert_eq!(a.events, b.events);
        prop_assert_eq!(a.node_requests, b.node_requests);
        prop_assert_eq!(a.series, b.series);
    }
}

/// The node `kind` picks for `key` (a fresh request, all peers healthy).
fn pick(b: &mut dyn balancer::Balancer, addr: [u8; 4], id: &[u8]) -> Option<usize> {
    let mut pd = PeerData::default();
    let r = b.pick(
        &RequestKey {
            client_addr: addr,
            session_id: id,
        },
        &mut pd,
        0,
    );
    if let Some(p) = r {
        b.free(p, false, 0);
    }
    r
}

proptest! {
    #![proptest_config(cases(64))]

    /// Without faults, the sticky balancers send every request of a session to one node: ip-hash
    /// by address, cookie-hash (and its consistent variant) by session id once the session has
    /// one (from its second request on), whatever other traffic comes in between.
    #[test]
    fn sticky_balancers_never_move_a_session(
        n in 1usize..=8,
        sessions in proptest::collection::vec((any::<[u8; 4]>(), "[A-F0-9]{32}"), 1..20),
        order in proptest::collection::vec(0usize..1000, 1..200),
    ) {
        for kind in ["ip-hash", "cookie-hash", "cookie-hash-consistent"] {
            let mut b = (balancer::find(kind).unwrap().build)(&BalancerParams::with_defaults(n));
            let mut home: Vec<Option<usize>> = vec![None; sessions.len()];
            for &i in &order {
                let s = i % sessions.len();
                let (addr, id) = &sessions[s];
                let id = if kind == "ip-hash" { &b""[..] } else { id.as_bytes() };
                let node = pick(b.as_mut(), *addr, id);
                prop_assert!(node.is_some());
                match home[s] {
                    None => home[s] = node,
                    Some(h) => prop_assert_eq!(Some(h), node, "{} moved session {}", kind, s),
                }
            }
        }
    }

    /// Consistent hashing: marking one of N nodes down moves only the keys that were on it
    /// (≈ 1/N of them), and every other key stays where it was.
    #[test]
    fn consistent_hashing_moves_about_one_nth(n in 2usize..=10, down in 0usize..10, salt in any::<u32>()) {
        let down = down % n;
        let keys: Vec<String> = (0..4000).map(|k| format!("{salt:08X}{k:024X}")).collect();
        let entry = balancer::find("cookie-hash-consistent").unwrap();
        let mut before_b = (entry.build)(&BalancerParams::with_defaults(n));
        let mut p = BalancerParams::with_defaults(n);
        p.down[down] = true;
        let mut after_b = (entry.build)(&p);
        let mut moved = 0usize;
        for k in &keys {
            let before = pick(before_b.as_mut(), [10, 0, 0, 1], k.as_bytes()).unwrap();
            let after = pick(after_b.as_mut(), [10, 0, 0, 1], k.as_bytes()).unwrap();
            prop_assert_ne!(after, down);
            if before == down {
                moved += 1;
            } else {
                prop_assert_eq!(before, after, "a key not on the down node moved");
            }
        }
        let share = moved as f64 / keys.len() as f64;
        let ideal = 1.0 / n as f64;
        // 160 points per server: a server's arc is within about ±40% of 1/N
        prop_assert!(
            (share - ideal).abs() <= 0.5 * ideal + 0.01,
            "moved {share:.3} of the keys with N = {n}, ideal {ideal:.3}"
        );
    }
}
