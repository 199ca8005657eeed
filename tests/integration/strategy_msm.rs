//! memcached-session-manager: the traffic law of `msm-non-sticky` (store operations per dynamic
//! request, FIDELITY §4) and the loss laws of `msm-sticky` (an app-node crash loses only
//! unwritten changes; a memcached crash loses nothing) and of memcached eviction; lost updates
//! under concurrent AJAX requests without locks.

use rayon::prelude::*;
use sessim::model::sim::RunOutput;
use sessim::model::simulate;
use sessim::scenario::load_str;

/// Runs every replication of the (single-point) experiment in `toml`.
fn run(toml: &str) -> Vec<RunOutput> {
    let exp = load_str(toml, "msm.toml", None, "msm").unwrap_or_else(|e| panic!("{e:#}"));
    let p = &exp.points[0];
    (0..p.config.replications)
        .into_par_iter()
        .map(|r| simulate(p, r))
        .collect()
}

fn sum(runs: &[RunOutput], f: impl Fn(&RunOutput) -> f64) -> f64 {
    runs.iter().map(f).sum()
}

/// Non-sticky, no faults, write probability 0 or 1: every dynamic request on an existing
/// session does exactly `per_request` store operations (+ `per_write` when it writes), and a
/// request that creates its session exactly `per_create`. Exact up to the requests still in
/// flight at the horizon (each of which has done at most `per_request` + `per_write` of them).
fn traffic_law(nodes: u32, locking: &str, write: bool, per_request: f64, per_create: f64) {
    let wp = if write { 1.0 } else { 0.0 };
    let toml = format!(
        r#"
        seed = 3
        replications = 4
        horizon = "3m"
        [workload]
        kind = "open"
        session_rate = 2.0
        write_probability = {wp}
        [app]
        nodes = 3
        [balancer]
        kind = "round-robin"
        [strategy]
        kind = "msm-non-sticky"
        locking_mode = "{locking}"
        [store]
        nodes = {nodes}
        "#
    );
    for o in run(&toml) {
        let m = o.metrics;
        assert_eq!(m.requests_failed, 0.0);
        assert_eq!(m.sessions_lost, 0.0);
        assert_eq!(m.stale_reads, 0.0);
        assert_eq!(m.lost_updates, 0.0);
        let created = m.sessions_started;
        let expected = per_request * (m.requests - created) + per_create * created;
        let slack = per_request * o.in_flight as f64 + per_create;
        println!(
            "nodes={nodes} locking={locking} write={write}: {} ops, expected {expected} \
             (requests {}, created {created}, in flight {})",
            m.messages_app_store, m.requests, o.in_flight
        );
        assert!(
            (m.messages_app_store - expected).abs() <= slack,
            "ops {} vs expected {expected} ± {slack}",
            m.messages_app_store
        );
        if o.in_flight == 0 {
            assert!((m.messages_app_store - expected).abs() <= per_create);
        }
    }
}

#[test]
fn non_sticky_store_ops_per_request_follow_fidelity() {
    // one node, no lock: get + get validity + set validity (+ set on write)
    traffic_law(1, "none", false, 3.0, 2.0);
    traffic_law(1, "none", true, 4.0, 2.0);
    // two nodes: + set bak:validity (+ set bak: on write)
    traffic_law(2, "none", false, 4.0, 4.0);
    traffic_law(2, "none", true, 6.0, 4.0);
    // locking all: + add lock + delete lock (sessions are never contended here)
    traffic_law(1, "all", false, 5.0, 2.0);
    traffic_law(2, "all", true, 8.0, 4.0);
}

fn sticky_crash(async_: bool) -> Vec<RunOutput> {
    let toml = format!(
        r#"
        seed = 7
        replications = 40
        horizon = "4m"
        warm_up = "1m"
        [workload]
        kind = "open"
        session_rate = 20.0
        think_time = {{ dist = "exponential", mean = "3s" }}
        [app]
        nodes = 2
        [balancer]
        kind = "route"
        [strategy]
        kind = "msm-sticky"
        backup_async = {async_}
        backup_timeout = "1s"
        [store]
        nodes = 2
        [network]
        app_store = "100ms"
        [[faults]]
        target = "app:1"
        at = "2m"
        "#
    );
    run(&toml)
}

/// msm-sticky, one Tomcat crash: with synchronous backups nothing is lost; with asynchronous
/// ones only what was not yet written: the new sessions whose first backup was in flight.
/// Their number ≈ rate of sessions created on the crashed node × the in-flight window
/// (serialization + one way + memcached op).
#[test]
fn sticky_app_crash_loses_only_unwritten_changes() {
    let sync = sticky_crash(false);
    let active = sum(&sync, |o| o.metrics.fault_active_sessions);
    let lost = sum(&sync, |o| o.metrics.fault_sessions_lost);
    println!("sync: {lost} of {active} active sessions lost");
    assert!(active > 40.0 * 100.0);
    assert_eq!(lost, 0.0);
    assert_eq!(sum(&sync, |o| o.metrics.stale_reads), 0.0);

    let asy = sticky_crash(true);
    let lost = sum(&asy, |o| o.metrics.fault_sessions_lost);
    // 20 sessions/s, half of them created on app:1; window = 100 ms + 50 µs + 4096 B × Java
    let window_s = 0.1 + 50e-6 + 4096.0 * 1_142_000.0 / 16_856.0 / 1e9;
    let expected = 40.0 * 10.0 * window_s;
    let stale = sum(&asy, |o| o.metrics.stale_reads);
    println!("async: {lost} lost (expected ≈ {expected:.1}), {stale} stale reads");
    // Poisson: mean ≈ 40, a 4-sigma band
    assert!(
        (lost - expected).abs() <= 4.0 * expected.sqrt() + 2.0,
        "async loss {lost} vs {expected}"
    );
    assert!(stale > 0.0, "writes in flight at the crash are read stale");
}

/// msm-sticky, a memcached node crashes for good: sessions are in Tomcat memory and get
/// relocated to the other node; none is lost.
#[test]
fn sticky_memcached_crash_loses_nothing() {
    let toml = r#"
        seed = 9
        replications = 8
        horizon = "4m"
        warm_up = "1m"
        [workload]
        kind = "open"
        session_rate = 10.0
        [app]
        nodes = 2
        [balancer]
        kind = "route"
        [strategy]
        kind = "msm-sticky"
        [store]
        nodes = 2
        [[faults]]
        target = "store:0"
        at = "2m"
        "#;
    let runs = run(toml);
    assert!(sum(&runs, |o| o.metrics.fault_active_sessions) > 1000.0);
    assert_eq!(sum(&runs, |o| o.metrics.sessions_lost), 0.0);
    assert_eq!(sum(&runs, |o| o.metrics.requests_failed), 0.0);
}

/// msm-non-sticky with one memcached node of shrinking size: LRU evictions of session items
/// become lost sessions, more as the cache shrinks.
#[test]
fn eviction_losses_grow_as_the_cache_shrinks() {
    let mut prev = -1.0;
    for cache in ["4MiB", "2MiB", "1MiB"] {
        let toml = format!(
            r#"
            seed = 5
            replications = 4
            horizon = "3m"
            warm_up = "30s"
            [workload]
            kind = "open"
            session_rate = 20.0
            [app]
            nodes = 2
            [balancer]
            kind = "round-robin"
            [strategy]
            kind = "msm-non-sticky"
            [store]
            nodes = 1
            cache_size = "{cache}"
            "#
        );
        let runs = run(&toml);
        let lost = sum(&runs, |o| o.metrics.sessions_lost);
        let ev = sum(&runs, |o| o.metrics.store_evictions);
        println!("cache {cache}: {lost} sessions lost, {ev} evictions");
        assert!(
            lost > prev,
            "cache {cache}: {lost} lost, not more than {prev}"
        );
        prev = lost;
    }
    assert!(prev > 0.0);
}

fn ajax(locking: &str) -> (f64, f64, f64) {
    let toml = format!(
        r#"
        seed = 13
        replications = 4
        horizon = "3m"
        [workload]
        kind = "open"
        session_rate = 5.0
        write_probability = 0.5
        parallel_requests = {{ dist = "fixed", value = 3 }}
        [app]
        nodes = 3
        [balancer]
        kind = "round-robin"
        [strategy]
        kind = "msm-non-sticky"
        locking_mode = "{locking}"
        backup_async = false
        [store]
        nodes = 2
        "#
    );
    let runs = run(&toml);
    (
        sum(&runs, |o| o.metrics.lost_updates),
        sum(&runs, |o| o.metrics.stale_reads),
        sum(&runs, |o| o.metrics.latency_mean_ms) / runs.len() as f64,
    )
}

/// Three concurrent requests per page: without locks they read the same version and the later
/// write overwrites the earlier; with locking "all" they are serialized (and slower).
#[test]
fn concurrent_requests_lose_updates_without_locks() {
    let (lu_none, stale_none, lat_none) = ajax("none");
    let (lu_all, stale_all, lat_all) = ajax("all");
    println!(
        "none: {lu_none} lost updates, {stale_none} stale reads, {lat_none:.2} ms; \
         all: {lu_all} lost updates, {stale_all} stale reads, {lat_all:.2} ms"
    );
    assert!(lu_none > 0.0);
    assert_eq!(lu_all, 0.0);
    assert_eq!(stale_all, 0.0);
    assert!(lat_all > lat_none);
}
