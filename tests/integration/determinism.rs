//! Determinism: same config + seed ⇒ byte-identical result files, whatever the thread count.

use crate::support::{run_in, temp_dir};
use std::path::Path;

/// A small experiment touching most of the model: sweep over balancers, closed and open
/// workloads via the sweep, proxies, static requests, a scheduled crash with repair, and
/// stochastic failures.
const EXPERIMENT: &str = r#"
name = "det"
seed = 99
replications = 3
horizon = "4m"
warm_up = "30s"
[workload]
kind = "closed"
clients = 300
static_share = 0.3
think_time = { dist = "lognormal", mean = "3s", cv = 1.5, cap = "60s" }
addresses = { proxy_share = 0.2, proxies = 5 }
[app]
nodes = 3
workers = 4
[balancer]
kind = "cookie-hash"
[[faults]]
target = "app:1"
at = "1m"
repair_after = "1m"
[failures]
targets = ["app:2"]
time_to_failure = { dist = "weibull", shape = 1.5, scale = "2m" }
time_to_repair = { dist = "exponential", mean = "20s" }
[sweep]
"balancer.kind" = ["cookie-hash", "cookie-hash-consistent", "ip-hash", "round-robin", "route"]
"#;

const FILES: [&str; 5] = [
    "runs.csv",
    "summary.csv",
    "timeseries.csv",
    "nodes.csv",
    "manifest.toml",
];

fn run(dir: &Path, out: &str, threads: &str) {
    let o = run_in(
        dir,
        &[
            "run",
            "det.toml",
            "--quiet",
            "--threads",
            threads,
            "--out",
            out,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn same_seed_same_bytes_for_any_thread_count() {
    let dir = temp_dir("determinism");
    std::fs::write(dir.join("det.toml"), EXPERIMENT).unwrap();
    run(&dir, "a", "1");
    run(&dir, "b", "1");
    run(&dir, "c", "2");
    for f in FILES {
        let a = std::fs::read(dir.join("a").join(f)).unwrap();
        assert!(!a.is_empty());
        assert_eq!(
            a,
            std::fs::read(dir.join("b").join(f)).unwrap(),
            "{f}: two runs differ"
        );
        assert_eq!(
            a,
            std::fs::read(dir.join("c").join(f)).unwrap(),
            "{f}: --threads 1 and 2 differ"
        );
    }
    // a different seed changes the numbers
    let o = run_in(
        &dir,
        &["run", "det.toml", "--quiet", "--seed", "100", "--out", "d"],
    );
    assert!(o.status.success());
    assert_ne!(
        std::fs::read(dir.join("a/runs.csv")).unwrap(),
        std::fs::read(dir.join("d/runs.csv")).unwrap()
    );
    // no temporary files are left
    for sub in ["a", "b", "c", "d"] {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".sessim-runs.jsonl",
                "charts",
                "manifest.toml",
                "nodes.csv",
                "runs.csv",
                "summary.csv",
                "timeseries.csv"
            ]
        );
    }
}
