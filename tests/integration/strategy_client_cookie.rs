//! `client-cookie`: the traffic law (`bytes_cookie` = state × (2 × requests − creations),
//! exactly), the size limit (every request of an oversized session fails) and the loss law
//! (an app-node crash loses no session).

use rayon::prelude::*;
use sessim::model::{simulate, RunOutput};
use sessim::scenario::load_str;

/// Runs every replication of the single design point of `toml`.
fn runs(toml: &str) -> Vec<RunOutput> {
    let exp = load_str(toml, "cookie.toml", None, "cookie").unwrap_or_else(|e| panic!("{e}"));
    let p = &exp.points[0];
    (0..p.config.replications)
        .into_par_iter()
        .map(|r| simulate(p, r))
        .collect()
}

/// Requests that carried no JSESSIONID (the sessions created), recovered from the
/// client–balancer bytes: each response adds request + response sizes, a `Cookie` header when
/// the client had an id (40-byte id: 32 hex + ".tomcatN") and a `Set-Cookie` header (8 bytes
/// more) when the node created a session. Exact when every creation is a cookie-less request.
pub fn created_from_http_bytes(o: &RunOutput, req: u64, resp: u64) -> u64 {
    let m = &o.metrics;
    let header = 40 + "Cookie: JSESSIONID=\r\n".len() as u64;
    let with_cookie = m.requests as u64 * (req + resp + header);
    let created = (m.bytes_client_balancer as u64 - with_cookie) / 8;
    assert_eq!(
        m.bytes_client_balancer as u64,
        with_cookie + 8 * created,
        "HTTP bytes decompose"
    );
    created
}

fn scenario(extra: &str) -> String {
    format!(
        r#"
        seed = 21
        replications = 6
        horizon = "4m"
        warm_up = "0s"
        [workload]
        kind = "open"
        session_rate = 2.0
        session_size = "1KiB"
        [app]
        nodes = 3
        [balancer]
        kind = "round-robin"
        [strategy]
        kind = "client-cookie"
        {extra}
        "#
    )
}

#[test]
fn cookie_bytes_are_twice_the_state_per_request() {
    // 1 KiB Java → base64 of 1024 B = 1368 B; Kryo: 894 B serialized → 1192 B
    for (extra, state) in [("", 1368u64), ("serializer = \"kryo\"", 1192)] {
        let outs = runs(&scenario(extra));
        let mut exact = 0;
        for o in &outs {
            let m = &o.metrics;
            assert_eq!(m.sessions_lost, 0.0);
            assert_eq!(m.requests_failed, 0.0);
            if o.in_flight > 0 {
                continue; // a request cut by the horizon has sent its cookie, not its response
            }
            exact += 1;
            let r = m.requests as u64;
            let c = created_from_http_bytes(o, 500, 8192);
            assert!(c > 100 && r > 5 * c, "r={r} c={c}");
            println!(
                "{extra}: requests {r}, created {c}, bytes_cookie {}",
                m.bytes_cookie
            );
            assert_eq!(m.bytes_cookie as u64, state * (2 * r - c));
        }
        assert!(exact >= 3, "too few runs ended with nothing in flight");
    }
}

#[test]
fn a_session_over_the_cookie_limit_fails_every_request() {
    // default 4 KiB sessions: base64 5464 B > 4096 B
    let over = runs(&scenario("").replace("session_size = \"1KiB\"", ""));
    for o in &over {
        let m = &o.metrics;
        assert!(m.requests > 100.0);
        assert_eq!(m.requests_failed, m.requests);
        assert_eq!(m.bytes_cookie, 0.0);
    }
    let raised =
        runs(&scenario("cookie_limit_bytes = 5464").replace("session_size = \"1KiB\"", ""));
    for o in &raised {
        assert_eq!(o.metrics.requests_failed, 0.0);
        assert!(o.metrics.bytes_cookie > 0.0);
    }
}

#[test]
fn an_app_node_crash_loses_no_session() {
    let toml = scenario("")
        + r#"
        [[faults]]
        target = "app:1"
        at = "2m"
        "#;
    for o in runs(&toml) {
        let m = &o.metrics;
        println!(
            "active at crash {}, lost {}, failed requests {}",
            m.fault_active_sessions, m.fault_sessions_lost, m.requests_failed
        );
        assert!(m.fault_active_sessions > 50.0);
        assert_eq!(m.fault_sessions_lost, 0.0);
        assert_eq!(m.sessions_lost, 0.0);
    }
}
