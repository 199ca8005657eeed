//! `delta-replication` and `backup-replication` against their traffic laws (no faults, exact
//! counts) and loss laws (app-node crashes).
//!
//! The traffic tests make each term countable: every dynamic request writes
//! (`write_probability = 1`), the `route` balancer keeps each session on the node that created
//! it (no "accessed" or takeover messages), think times are far below the session timeout (no
//! expiry mid-session, no idle "accessed" messages), client and balancer links have no latency
//! and warm-up is zero (a session is created at the instant its user arrives); app-to-app
//! latency is zero too, so that a synchronous send's ack wait does not separate the message
//! from the response at the horizon. Then
//! creations = `sessions_started` and expirations = creations − sessions live at the horizon.

use rayon::prelude::*;
use sessim::model::observe::RunMetrics;
use sessim::model::{simulate, RunOutput};
use sessim::scenario::load_str;

fn runs(toml: &str) -> Vec<RunOutput> {
    let exp = load_str(toml, "repl.toml", None, "repl").unwrap_or_else(|e| panic!("{e}"));
    let p = &exp.points[0];
    (0..p.config.replications)
        .into_par_iter()
        .map(|r| simulate(p, r))
        .collect()
}

fn metrics(toml: &str) -> Vec<RunMetrics> {
    runs(toml).into_iter().map(|o| o.metrics).collect()
}

fn law_config(nodes: u32, strategy: &str) -> String {
    format!(
        r#"
        seed = 31
        replications = 4
        horizon = "4m"
        [workload]
        kind = "open"
        session_rate = 5.0
        requests_per_session = {{ dist = "fixed", value = 5 }}
        think_time = {{ dist = "fixed", value = "1s" }}
        write_probability = 1.0
        session_size = "4KiB"
        delta_size = "256B"
        [app]
        nodes = {nodes}
        session_timeout = "20s"
        expiry_sweep = "5s"
        [network]
        client_balancer = "0s"
        balancer_app = "0s"
        app_app = "0s"
        [balancer]
        kind = "route"
        [strategy]
        {strategy}
        "#
    )
}

/// Counts of one run: (requests, creations, expirations, messages, bytes).
fn terms(o: &RunOutput) -> (u64, u64, u64, u64, u64) {
    let m = &o.metrics;
    let live_end = o.series.last().expect("buckets").live_sessions;
    let created = m.sessions_started as u64;
    (
        m.requests as u64,
        created,
        created - live_end,
        m.messages_app_app as u64,
        m.bytes_app_app as u64,
    )
}

#[test]
fn delta_messages_are_n_minus_1_per_change_creation_and_expiry() {
    for (n, mode) in [(2u32, "async"), (4, "async"), (4, "sync")] {
        let toml = law_config(
            n,
            &format!("kind = \"delta-replication\"\nsend_mode = \"{mode}\""),
        );
        for o in runs(&toml) {
            let (req, created, expired, msgs, bytes) = terms(&o);
            let peers = n as u64 - 1;
            println!("delta N={n} {mode}: requests {req} created {created} expired {expired} messages {msgs}");
            assert!(req > 1000 && expired > 100, "{req} {expired}");
            assert_eq!(o.metrics.sessions_lost, 0.0);
            assert_eq!(o.metrics.stale_reads, 0.0);
            assert_eq!(msgs, peers * (req + created + expired), "N={n} {mode}");
            // deltas 256 + 100 B, creations 4096 + 100 B, expiries 100 B
            assert_eq!(
                bytes,
                peers * (req * 356 + created * 4196 + expired * 100),
                "N={n} {mode}"
            );
        }
    }
}

#[test]
fn backup_messages_are_one_per_change_plus_creation_copy_and_proxies() {
    for (n, partner) in [(2u32, "round-robin"), (4, "round-robin"), (4, "fixed")] {
        let toml = law_config(
            n,
            &format!("kind = \"backup-replication\"\npartner = \"{partner}\""),
        );
        for o in runs(&toml) {
            let (req, created, expired, msgs, bytes) = terms(&o);
            let n = n as u64;
            println!("backup N={n} {partner}: requests {req} created {created} expired {expired} messages {msgs}");
            assert!(req > 1000 && expired > 100, "{req} {expired}");
            assert_eq!(o.metrics.sessions_lost, 0.0);
            // 1 diff per change; per creation 1 full copy to the backup + N−2 proxies;
            // per expiry MSG_REMOVE to the N−1 others
            assert_eq!(
                msgs,
                req + created * (1 + (n - 2)) + expired * (n - 1),
                "N={n} {partner}"
            );
            assert_eq!(
                bytes,
                req * 356 + created * (4196 + (n - 2) * 100) + expired * (n - 1) * 100,
                "N={n} {partner}"
            );
        }
    }
}

fn crash_config(strategy: &str, app_app: &str, faults: &[&str]) -> String {
    crash_config_with(strategy, app_app, faults, "round-robin")
}

fn crash_config_with(strategy: &str, app_app: &str, faults: &[&str], balancer: &str) -> String {
    let faults: String = faults
        .iter()
        .map(|t| format!("[[faults]]\ntarget = \"{t}\"\nat = \"2m\"\n"))
        .collect();
    format!(
        r#"
        seed = 7
        replications = 6
        horizon = "4m"
        warm_up = "30s"
        [workload]
        kind = "open"
        session_rate = 10.0
        [app]
        nodes = 4
        [network]
        app_app = "{app_app}"
        [balancer]
        kind = "{balancer}"
        [strategy]
        {strategy}
        {faults}
        "#
    )
}

fn total(ms: &[RunMetrics], f: impl Fn(&RunMetrics) -> f64) -> f64 {
    ms.iter().map(f).sum()
}

#[test]
fn delta_sync_loses_nothing_async_only_in_flight_changes() {
    // round robin: almost every request reads a copy on another node than the last writer
    let sync = metrics(&crash_config(
        "kind = \"delta-replication\"\nsend_mode = \"sync\"",
        "300ms",
        &["app:1"],
    ));
    assert!(sync.iter().all(|m| m.fault_active_sessions > 400.0));
    assert_eq!(total(&sync, |m| m.sessions_lost), 0.0);
    assert_eq!(total(&sync, |m| m.stale_reads), 0.0);
    // async, 300 ms one way, sticky `route` balancer: sessions created on app:1 less than
    // 300 ms before the crash are lost (rate/N × 0.3 s ≈ 0.75 per run), and its deltas then in
    // flight become stale reads on the node that takes over
    let asyn = metrics(&crash_config_with(
        "kind = \"delta-replication\"",
        "300ms",
        &["app:1"],
        "route",
    ));
    let lost = total(&asyn, |m| m.sessions_lost);
    let stale = total(&asyn, |m| m.stale_reads);
    let expected = asyn.len() as f64 * 10.0 / 4.0 * 0.3;
    println!(
        "delta async: lost {lost} (in-flight creations ≈ {expected}) stale {stale} over {} runs",
        asyn.len()
    );
    assert!(lost > 0.0 && lost <= 3.0 * expected, "{lost}");
    assert!(stale > 0.0);
    // without the crash, nothing is lost
    let calm = metrics(&crash_config_with(
        "kind = \"delta-replication\"",
        "300ms",
        &[],
        "route",
    ));
    assert_eq!(total(&calm, |m| m.sessions_lost), 0.0);
    assert_eq!(total(&calm, |m| m.stale_reads), 0.0);
    // a negligible window (100 us) loses nothing
    let fast = metrics(&crash_config(
        "kind = \"delta-replication\"",
        "100us",
        &["app:1"],
    ));
    assert_eq!(total(&fast, |m| m.sessions_lost), 0.0);
}

#[test]
fn backup_loses_only_when_primary_and_backup_die_together() {
    // sticky balancer: after the crash app:1's sessions land on their backup or on a proxy
    // that fetches them from the backup
    let one = metrics(&crash_config_with(
        "kind = \"backup-replication\"",
        "100us",
        &["app:1"],
        "route",
    ));
    for m in &one {
        println!(
            "backup one crash: active {} lost {} failed {} requests {}",
            m.fault_active_sessions, m.sessions_lost, m.requests_failed, m.requests
        );
    }
    assert!(one.iter().all(|m| m.fault_active_sessions > 400.0));
    assert_eq!(total(&one, |m| m.sessions_lost), 0.0);
    // fixed partners 1 → 2 and 3 → 0: crashing 1 and 3 together loses nothing
    let apart = metrics(&crash_config_with(
        "kind = \"backup-replication\"\npartner = \"fixed\"",
        "100us",
        &["app:1", "app:3"],
        "route",
    ));
    assert_eq!(total(&apart, |m| m.sessions_lost), 0.0);
    // crashing 1 and its partner 2 loses the sessions whose primary was 1 (sticky `route`
    // balancer: the node that created them), about a quarter of those in progress
    let pair = metrics(&crash_config_with(
        "kind = \"backup-replication\"\npartner = \"fixed\"",
        "100us",
        &["app:1", "app:2"],
        "route",
    ));
    let share = total(&pair, |m| m.fault_sessions_lost) / total(&pair, |m| m.fault_active_sessions);
    println!("backup fixed pair crash: fault_loss_share {share:.3}");
    assert!((0.15..0.3).contains(&share), "{share}");
}
