//! memcached-session-manager: the loss laws of `msm-sticky` (an app-node crash loses only
//! unwritten changes; a memcached crash loses nothing).

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
