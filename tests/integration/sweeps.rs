//! Sweeps beyond one process: shards merged, interrupted runs resumed, sequential stopping and
//! common random numbers — each compared byte for byte or against its alternative.

use crate::support::{finished_runs, run_in, sessim, temp_dir, wait_for_runs};
use sessim::model::simulate;
use sessim::scenario::load_str;
use std::path::Path;

/// 4 balancers × 2 node counts × 4 replications = 32 runs, with a zip group and a constraint.
pub(crate) const SWEEP: &str = r#"
name = "sw"
seed = 7
replications = 4
horizon = "3m"
warm_up = "20s"
[workload]
kind = "open"
session_rate = 15.0
[app]
nodes = 2
workers = 2
[balancer]
kind = "round-robin"
[[faults]]
target = "app:1"
at = "90s"
[sweep]
"balancer.kind" = ["cookie-hash", "ip-hash", "round-robin", "route", "cookie-hash-consistent"]
constraint = 'balancer.kind != "route" || app.nodes == 3'
[sweep.zip.size]
"app.nodes" = [2, 3]
"app.workers" = [2, 3]
"#;

const FILES: [&str; 5] = [
    "runs.csv",
    "summary.csv",
    "timeseries.csv",
    "nodes.csv",
    "manifest.toml",
];

pub(crate) fn same_files(a: &Path, b: &Path) {
    for f in FILES {
        let x = std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display()));
        let y = std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display()));
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn three_shards_merged_equal_an_unsharded_run() {
    let dir = temp_dir("shards");
    std::fs::write(dir.join("sw.toml"), SWEEP).unwrap();
    ok(&dir, &["run", "sw.toml", "--quiet", "--out", "whole"]);
    let runs = std::fs::read_to_string(dir.join("whole/runs.csv")).unwrap();
    assert_eq!(
        runs.lines().count(),
        1 + 9 * 4,
        "9 points (route only at 3 nodes) × 4 replications"
    );
    assert!(runs
        .lines()
        .nth(1)
        .unwrap()
        .contains("balancer.kind=cookie-hash,app.nodes=2,app.workers=2"));
    for k in 1..=3 {
        ok(
            &dir,
            &[
                "run",
                "sw.toml",
                "--quiet",
                "--shard",
                &format!("{k}/3"),
                "--out",
                &format!("s{k}"),
            ],
        );
    }
    // shards in any order
    ok(&dir, &["merge", "s3", "s1", "s2", "--out", "merged"]);
    same_files(&dir.join("whole"), &dir.join("merged"));
    // an incomplete set is refused with exit 2
    let o = run_in(&dir, &["merge", "s1", "s2", "--out", "bad"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing shards: 3/3"));
    let o = run_in(&dir, &["run", "sw.toml", "--shard", "4/3"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn killed_and_resumed_equals_uninterrupted() {
    let dir = temp_dir("resume");
    // long enough per run that the kill lands mid-sweep
    let text = SWEEP
        .replace("horizon = \"3m\"", "horizon = \"20m\"")
        .replace("session_rate = 15.0", "session_rate = 40.0");
    std::fs::write(dir.join("sw.toml"), &text).unwrap();
    ok(
        &dir,
        &[
            "run",
            "sw.toml",
            "--quiet",
            "--threads",
            "2",
            "--out",
            "whole",
        ],
    );
    let mut child = sessim()
        .current_dir(&dir)
        .args([
            "run",
            "sw.toml",
            "--quiet",
            "--threads",
            "1",
            "--out",
            "cut",
        ])
        .spawn()
        .unwrap();
    let store = dir.join("cut").join(".sessim-runs.jsonl");
    wait_for_runs(&store, 5);
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let finished = finished_runs(&store);
    assert!(
        (5..36).contains(&finished),
        "kill landed at {finished} runs"
    );
    assert!(
        !dir.join("cut/runs.csv").exists(),
        "no result file before the end"
    );
    let msg = ok(&dir, &["run", "sw.toml", "--threads", "2", "--out", "cut"]);
    assert!(msg.contains("resumed: "), "{msg}");
    same_files(&dir.join("whole"), &dir.join("cut"));
}

#[test]
fn a_store_of_another_experiment_is_refused() {
    let dir = temp_dir("foreign");
    std::fs::write(dir.join("sw.toml"), SWEEP).unwrap();
    ok(
        &dir,
        &[
            "run",
            "sw.toml",
            "--quiet",
            "--replications",
            "2",
            "--out",
            "o",
        ],
    );
    let o = run_in(
        &dir,
        &[
            "run",
            "sw.toml",
            "--quiet",
            "--seed",
            "8",
            "--replications",
            "2",
            "--out",
            "o",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("different experiment"));
}

#[test]
fn sequential_stopping_adds_replications_until_the_interval_is_tight() {
    let dir = temp_dir("stopping");
    let text = r#"
        name = "st"
        seed = 3
        replications = 2
        horizon = "2m"
        warm_up = "10s"
        [workload]
        kind = "open"
        session_rate = 10.0
        requests_per_session = { dist = "fixed", value = 2 }
        [app]
        nodes = 2
        [balancer]
        kind = "cookie-hash"
        [stopping]
        metric = "session_loss_rate"
        target_ci_relative = 0.015
        max_replications = 40
        batch = 4
        [sweep]
        "app.nodes" = [2, 4]
    "#;
    std::fs::write(dir.join("st.toml"), text).unwrap();
    ok(
        &dir,
        &["run", "st.toml", "--quiet", "--threads", "1", "--out", "a"],
    );
    ok(
        &dir,
        &["run", "st.toml", "--quiet", "--threads", "2", "--out", "b"],
    );
    same_files(&dir.join("a"), &dir.join("b"));
    let summary = std::fs::read_to_string(dir.join("a/summary.csv")).unwrap();
    let mut grew = false;
    for line in summary
        .lines()
        .filter(|l| l.contains(",session_loss_rate,"))
    {
        let f: Vec<&str> = line.split(',').collect();
        let (n, mean, lo, hi): (usize, f64, f64, f64) = (
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
            f[7].parse().unwrap(),
            f[8].parse().unwrap(),
        );
        assert!((n - 2) % 4 == 0 && n < 40 || n == 40, "{line}");
        grew |= n > 2;
        assert!(n == 40 || (hi - lo) / 2.0 <= 0.015 * mean, "{line}");
    }
    assert!(
        grew,
        "no point needed more than its first round:\n{summary}"
    );
    // and a shard merge still equals the whole run (whole points per shard)
    ok(
        &dir,
        &["run", "st.toml", "--quiet", "--shard", "1/2", "--out", "s1"],
    );
    ok(
        &dir,
        &["run", "st.toml", "--quiet", "--shard", "2/2", "--out", "s2"],
    );
    ok(&dir, &["merge", "s1", "s2", "--out", "m"]);
    same_files(&dir.join("a"), &dir.join("m"));
}

/// Common random numbers: the difference between two balancers at the same point varies less
/// across replications when both see the same users than with independent streams.
#[test]
fn common_random_numbers_reduce_the_variance_of_differences() {
    let variance_of_difference = |crn: bool| {
        let text = format!(
            r#"
            seed = 21
            replications = 30
            horizon = "2m"
            warm_up = "10s"
            common_random_numbers = {crn}
            [workload]
            kind = "open"
            session_rate = 60.0
            [app]
            nodes = 3
            workers = 1
            service_time = {{ dist = "exponential", mean = "12ms" }}
            [balancer]
            kind = "round-robin"
            [sweep]
            "balancer.kind" = ["round-robin", "ip-hash"]
            "#
        );
        let exp = load_str(&text, "crn.toml", None, "crn").unwrap();
        let diffs: Vec<f64> = (0..30)
            .map(|r| {
                simulate(&exp.points[0], r).metrics.latency_mean_ms
                    - simulate(&exp.points[1], r).metrics.latency_mean_ms
            })
            .collect();
        let m = diffs.iter().sum::<f64>() / diffs.len() as f64;
        diffs.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (diffs.len() - 1) as f64
    };
    let (with, without) = (variance_of_difference(true), variance_of_difference(false));
    println!("variance of the latency difference: CRN {with:.4}, independent {without:.4}");
    assert!(with < without / 2.0, "CRN {with} vs independent {without}");
}

/// The Slurm array script's task and merge modes (Slurm itself is not needed: its environment
/// variables are set by hand, as sbatch would set them).
#[test]
fn slurm_array_script_shards_and_merges_like_an_unsharded_run() {
    let dir = temp_dir("slurm");
    std::fs::write(dir.join("sw.toml"), SWEEP).unwrap();
    ok(&dir, &["run", "sw.toml", "--quiet", "--out", "whole"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/cluster/slurm-array.sh");
    let bash = |args: &[&str], task: Option<u32>| {
        let mut c = std::process::Command::new("bash");
        c.current_dir(&dir)
            .arg(&script)
            .args(args)
            .env("SESSIM", env!("CARGO_BIN_EXE_sessim"))
            .env("SLURM_JOB_ID", "1");
        if let Some(k) = task {
            c.env("SLURM_ARRAY_TASK_ID", k.to_string())
                .env("SLURM_CPUS_PER_TASK", "1");
        }
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    for k in 1..=4 {
        bash(&["run", "sw.toml", "out", "4"], Some(k));
    }
    bash(&["merge", "sw.toml", "out", "4"], None);
    same_files(&dir.join("whole"), &dir.join("out/merged"));
}
