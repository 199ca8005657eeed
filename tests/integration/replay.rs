//! Trace replay: the NASA log through the simulator — every logged request is replayed and
//! answered, sessions are the trace's sessions, and the proxies' concentration shows in ip-hash.

use sessim::model::simulate;
use sessim::scenario::load;
use std::path::Path;

#[test]
fn nasa_replay_replays_every_request_and_session() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/nasa-1995.toml");
    let exp = load(Some(&file)).unwrap_or_else(|e| panic!("{e}"));
    for p in exp
        .points
        .iter()
        .filter(|p| p.label.contains("strategy.kind=local"))
    {
        let out = simulate(p, 0);
        assert_eq!(out.issued_total, 33_996, "{}", p.label);
        assert_eq!(out.answered_total + out.in_flight, 33_996, "{}", p.label);
        assert_eq!(out.metrics.sessions_started, 3_265.0, "{}", p.label);
        assert_eq!(out.metrics.requests, 33_996.0, "{}", p.label);
        // the requests each node served add up to the log (none failed: a crash refuses fast)
        assert_eq!(
            out.node_requests.iter().sum::<u64>() as f64 + out.metrics.requests_failed,
            33_996.0
        );
        if p.label.contains("ip-hash") {
            // ip_hash keys on the /24: AOL's proxies share one, so the load is uneven
            assert!(
                out.metrics.node_load_max_over_mean > 1.2,
                "{}",
                out.metrics.node_load_max_over_mean
            );
            assert_eq!(
                out.metrics.sessions_lost, out.metrics.fault_sessions_lost,
                "ip-hash loses only at the crash"
            );
        }
    }
}

#[test]
fn time_scale_and_max_requests_shape_the_replay() {
    let text = r#"
        seed = 1
        replications = 1
        horizon = "4h"
        [workload]
        kind = "trace"
        path = "data/traces/nasa_19950801_full_merged.tsv"
        max_requests = 2000
        time_scale = 0.5
        [app]
        nodes = 2
        [balancer]
        kind = "round-robin"
    "#;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exp = sessim::scenario::load_str(text, "replay.toml", Some(root), "replay")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = simulate(&exp.points[0], 0);
    assert_eq!(out.issued_total, 2000);
    // the first 2000 lines span ~58 min of log time: at half speed all are replayed within 4 h
    assert_eq!(out.answered_total, 2000);
}
