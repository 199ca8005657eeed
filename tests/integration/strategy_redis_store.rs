//! `redis-store`: the traffic law (exact operation and byte counts per request), the loss laws
//! (a Redis crash loses every session stored in it unless AOF or a replica keeps it; an app-node
//! crash loses none) and last-write-wins under parallel sub-requests.

use super::strategy_client_cookie::created_from_http_bytes;
use rayon::prelude::*;
use sessim::model::{simulate, RunOutput};
use sessim::scenario::load_str;

fn runs(toml: &str) -> Vec<RunOutput> {
    let exp = load_str(toml, "redis.toml", None, "redis").unwrap_or_else(|e| panic!("{e}"));
    let p = &exp.points[0];
    (0..p.config.replications)
        .into_par_iter()
        .map(|r| simulate(p, r))
        .collect()
}

/// No faults, one request per page, nothing cut by the horizon in most runs.
fn light(write_p: f64, strategy: &str) -> String {
    format!(
        r#"
        seed = 33
        replications = 6
        horizon = "4m"
        warm_up = "0s"
        [workload]
        kind = "open"
        session_rate = 2.0
        session_size = "1KiB"
        delta_size = "100B"
        write_probability = {write_p}
        [app]
        nodes = 3
        [balancer]
        kind = "round-robin"
        [store]
        kind = "redis"
        nodes = 1
        [strategy]
        kind = "redis-store"
        {strategy}
        "#
    )
}

const KEY: u64 = 40; // 32 hex + ".tomcatN"
const SER: u64 = 1024;
const OH: u64 = 50;

/// Checks ops and bytes against `law(requests, created) -> (ops, bytes)` on runs that ended with
/// nothing in flight.
fn check_law(toml: &str, what: &str, law: impl Fn(u64, u64) -> (u64, u64)) {
    let mut exact = 0;
    for o in runs(toml) {
        let m = &o.metrics;
        assert_eq!(m.sessions_lost, 0.0, "{what}");
        assert_eq!(m.requests_failed, 0.0, "{what}");
        if o.in_flight > 0 {
            continue;
        }
        exact += 1;
        let r = m.requests as u64;
        let c = created_from_http_bytes(&o, 500, 8192);
        let (ops, bytes) = law(r, c);
        println!(
            "{what}: R={r} C={c} ops={} bytes={}",
            m.messages_app_store, m.bytes_app_store
        );
        assert_eq!(m.messages_app_store as u64, ops, "{what}: ops");
        assert_eq!(m.bytes_app_store as u64, bytes, "{what}: bytes");
    }
    assert!(
        exact >= 3,
        "{what}: too few runs ended with nothing in flight"
    );
}

#[test]
fn traffic_law_get_per_request_set_per_write_expire_per_request() {
    let get = KEY + SER + OH;
    let set = KEY + SER + OH;
    let expire = KEY + OH;
    let create = (KEY + 4 + OH) + set + expire; // SETNX + SET + EXPIRE
                                                // read-only: GET (requests with an id) + EXPIRE per request + 3 per creation
    check_law(&light(0.0, ""), "on-change, no writes", |r, c| {
        (2 * r + 2 * c, (r - c) * get + r * expire + c * create)
    });
    // every request writes: + one SET per request
    check_law(&light(1.0, ""), "on-change, all write", |r, c| {
        (
            3 * r + 2 * c,
            (r - c) * get + r * (set + expire) + c * create,
        )
    });
    // save_policy = always: a SET per request whatever it did
    check_law(&light(0.3, "save_policy = \"always\""), "always", |r, c| {
        (
            3 * r + 2 * c,
            (r - c) * get + r * (set + expire) + c * create,
        )
    });
    // per attribute: HSET of the 100-byte delta + PEXPIRE per writing request; HSET all + PEXPIRE
    // per creation
    check_law(
        &light(1.0, "per_attribute = true"),
        "per-attribute",
        |r, c| {
            (
                3 * r + c,
                (r - c) * get + r * ((KEY + 16 + 100 + OH) + expire) + c * (set + expire),
            )
        },
    );
}

/// Long user sessions (every session active at the crash has later requests); the Redis
/// crashes at `at` and is back 2 s later.
fn redis_crash(store: &str, at: &str) -> String {
    format!(
        r#"
        seed = 7
        replications = 4
        horizon = "2m"
        warm_up = "30s"
        [workload]
        kind = "closed"
        clients = 60
        requests_per_session = {{ dist = "fixed", value = 100000 }}
        think_time = {{ dist = "exponential", mean = "1s" }}
        session_size = "1KiB"
        [app]
        nodes = 2
        [balancer]
        kind = "round-robin"
        [store]
        kind = "redis"
        nodes = 1
        {store}
        [strategy]
        kind = "redis-store"
        [[faults]]
        target = "store:0"
        at = "{at}"
        repair_after = "2s"
        "#
    )
}

#[test]
fn a_volatile_redis_crash_loses_every_session() {
    for o in runs(&redis_crash("", "1m")) {
        let m = &o.metrics;
        println!(
            "volatile: active {} lost {} share {} failed {}",
            m.fault_active_sessions, m.fault_sessions_lost, m.fault_loss_share, m.requests_failed
        );
        assert_eq!(m.fault_active_sessions, 60.0);
        assert_eq!(m.fault_loss_share, 1.0);
        assert!(m.requests_failed > 0.0);
    }
}

#[test]
fn aof_or_a_replica_keeps_the_sessions() {
    // AOF everysec, crash half-way through a second: sessions created since the last fsync are
    // lost, writes since then revert (later reads are stale)
    for o in runs(&redis_crash("persistence = \"aof-everysec\"", "60500ms")) {
        let m = &o.metrics;
        println!("aof: share {} stale {}", m.fault_loss_share, m.stale_reads);
        assert!(m.fault_loss_share < 0.05);
        assert!(m.stale_reads > 0.0);
    }
    // a replica promoted after the failover time: requests fail meanwhile, sessions survive
    // except writes within the replication lag
    for o in runs(&redis_crash("replica = true", "1m")) {
        let m = &o.metrics;
        println!(
            "replica: share {} failed {} stale {}",
            m.fault_loss_share, m.requests_failed, m.stale_reads
        );
        assert!(m.fault_loss_share < 0.05);
        // ~60 clients × 1 request/s × 10 s of failover
        assert!(m.requests_failed > 300.0, "{}", m.requests_failed);
    }
}

#[test]
fn an_app_node_crash_loses_no_session() {
    let toml = light(0.3, "")
        + r#"
        [[faults]]
        target = "app:1"
        at = "2m"
        "#;
    for o in runs(&toml) {
        let m = &o.metrics;
        println!(
            "app crash: active {} lost {} failed {}",
            m.fault_active_sessions, m.fault_sessions_lost, m.requests_failed
        );
        assert!(m.fault_active_sessions > 50.0);
        assert_eq!(m.fault_sessions_lost, 0.0);
        assert_eq!(m.sessions_lost, 0.0);
    }
}

/// Pages of three parallel requests, half of them writing, on one node with two workers (the
/// third request waits for a worker, so it can read while another is between its write and its
/// SET).
fn parallel(strategy: &str) -> String {
    format!(
        r#"
        seed = 5
        replications = 4
        horizon = "3m"
        warm_up = "20s"
        [workload]
        kind = "closed"
        clients = 20
        think_time = {{ dist = "exponential", mean = "1s" }}
        parallel_requests = {{ dist = "fixed", value = 3 }}
        write_probability = 0.5
        session_size = "1KiB"
        [app]
        nodes = 1
        workers = 2
        [balancer]
        kind = "round-robin"
        [store]
        kind = "redis"
        nodes = 1
        [strategy]
        kind = "redis-store"
        {strategy}
        "#
    )
}

#[test]
fn parallel_sub_requests_lose_updates_and_read_stale_state() {
    let whole = runs(&parallel(""));
    let attr = runs(&parallel("per_attribute = true"));
    let sum = |v: &[RunOutput], f: fn(&RunOutput) -> f64| v.iter().map(f).sum::<f64>();
    let (lw, sw) = (
        sum(&whole, |o| o.metrics.lost_updates),
        sum(&whole, |o| o.metrics.stale_reads),
    );
    let la = sum(&attr, |o| o.metrics.lost_updates);
    println!("whole session: lost updates {lw}, stale reads {sw}; per attribute: lost {la}");
    for o in &whole {
        assert!(o.metrics.lost_updates > 0.0);
        assert!(o.metrics.stale_reads > 0.0);
    }
    // only two writes of the same attribute (1 in 10) collide
    assert!(la < 0.3 * lw, "per-attribute {la} vs whole {lw}");
}
