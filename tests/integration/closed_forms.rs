//! Statistical tests: sessim against closed forms, over many replications, the closed form
//! inside the Student-t 95% interval of the replication means. Seeds are fixed, so each test
//! is deterministic; replication counts are sized so that the interval is about ±1% of the
//! value (a model bias of a few percent fails them).

use rayon::prelude::*;
use sessim::model::observe::RunMetrics;
use sessim::model::simulate;
use sessim::output::summary::Summary;
use sessim::scenario::load_str;

/// Runs every point × replication of the experiment in `toml`; returns per point the metrics of
/// each replication.
fn run(toml: &str) -> Vec<(String, Vec<RunMetrics>)> {
    let exp =
        load_str(toml, "closed-form.toml", None, "closed-form").unwrap_or_else(|e| panic!("{e}"));
    exp.points
        .iter()
        .map(|p| {
            let ms = (0..p.config.replications)
                .into_par_iter()
                .map(|r| simulate(p, r).metrics)
                .collect();
            (p.label.clone(), ms)
        })
        .collect()
}

fn assert_inside(what: &str, xs: &[f64], expected: f64) {
    let s = Summary::of(xs);
    println!(
        "{what}: mean {:.5} CI [{:.5}, {:.5}] (n={}), closed form {expected:.5}",
        s.mean, s.ci95_low, s.ci95_high, s.n
    );
    assert!(
        s.ci95_low <= expected && expected <= s.ci95_high,
        "{what}: closed form {expected} outside the 95% CI [{}, {}] (mean {})",
        s.ci95_low,
        s.ci95_high,
        s.mean
    );
}

/// (a) `local` + `ip-hash` over N nodes with unique client addresses; one node crashes for good:
/// the share of user sessions in progress at the crash that lose their state ≈ 1/N.
#[test]
fn ip_hash_crash_loses_one_node_share() {
    for n in [2u32, 4] {
        let toml = format!(
            r#"
            seed = 11
            replications = 120
            horizon = "5m"
            warm_up = "1m"
            [workload]
            kind = "open"
            session_rate = 10.0
            [app]
            nodes = {n}
            [balancer]
            kind = "ip-hash"
            [[faults]]
            target = "app:1"
            at = "3m"
            "#
        );
        let res = run(&toml);
        let shares: Vec<f64> = res[0].1.iter().map(|m| m.fault_loss_share).collect();
        assert!(res[0].1.iter().all(|m| m.fault_active_sessions > 200.0));
        assert_inside(
            &format!("ip-hash N={n} fault_loss_share"),
            &shares,
            1.0 / n as f64,
        );
    }
}

/// Erlang C: mean response time of an M/M/c queue, W = C(c, a) / (cμ − λ) + 1/μ.
fn erlang_c_response_s(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 * (c as f64 / (c as f64 - a));
    let prob_wait = last / (sum + last);
    prob_wait / (c as f64 * mu - lambda) + 1.0 / mu
}

/// (b) One app node with c workers, Poisson requests (sessions of one request), exponential
/// service, no network latency: mean response time = Erlang C.
#[test]
fn mmc_response_time_is_erlang_c() {
    assert!((erlang_c_response_s(2, 150.0, 100.0) - 0.0228571).abs() < 1e-6);
    for (c, lambda) in [(1u32, 70.0), (2, 150.0), (4, 320.0)] {
        let toml = format!(
            r#"
            seed = 5
            replications = 40
            horizon = "12m"
            warm_up = "30s"
            [workload]
            kind = "open"
            session_rate = {lambda}
            requests_per_session = {{ dist = "fixed", value = 1 }}
            [app]
            nodes = 1
            workers = {c}
            service_time = {{ dist = "exponential", mean = "10ms" }}
            [network]
            client_balancer = "0s"
            balancer_app = "0s"
            [balancer]
            kind = "round-robin"
            "#
        );
        let res = run(&toml);
        let means: Vec<f64> = res[0].1.iter().map(|m| m.latency_mean_ms / 1e3).collect();
        assert_inside(
            &format!("M/M/{c} λ={lambda} μ=100 mean response [s]"),
            &means,
            erlang_c_response_s(c, lambda, 100.0),
        );
    }
}

/// (c) `local` + `cookie-hash`, no faults, sessions of exactly two requests: the first request
/// has no cookie and goes by round robin; the second is hashed, to another node with
/// probability (N−1)/N, where the session is not found.
#[test]
fn cookie_hash_two_request_sessions_lose_n_minus_1_over_n() {
    let toml = r#"
        seed = 3
        replications = 20
        horizon = "5m"
        warm_up = "30s"
        [workload]
        kind = "open"
        session_rate = 20.0
        requests_per_session = { dist = "fixed", value = 2 }
        [app]
        nodes = 2
        [balancer]
        kind = "cookie-hash"
        [sweep]
        "app.nodes" = [2, 3, 5]
    "#;
    for (label, ms) in run(toml) {
        let n: f64 = label.trim_start_matches("app.nodes=").parse().unwrap();
        let rates: Vec<f64> = ms.iter().map(|m| m.session_loss_rate).collect();
        assert_inside(
            &format!("cookie-hash {label} session_loss_rate"),
            &rates,
            (n - 1.0) / n,
        );
    }
}
