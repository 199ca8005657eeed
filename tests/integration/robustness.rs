//! Issue 8 (robustness): an interrupted sweep says what is missing and resumes to the same bytes;
//! `check` reports every error at once; a run too big for the machine is refused up front; a
//! panic is one line, not a backtrace.

use crate::support::{finished_runs, sessim, temp_dir, wait_for_runs};
use crate::sweeps::{ok, same_files, SWEEP};

/// SIGINT mid-sweep: exit 130, an "interrupted" manifest naming the missing runs, no result
/// file, no temp file; rerunning resumes to exactly the files of an uninterrupted run.
#[test]
fn r8_sigint_stops_cleanly_and_resumes_to_the_same_bytes() {
    let dir = temp_dir("sigint");
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
    let child = sessim()
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
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let store = dir.join("cut").join(".sessim-runs.jsonl");
    wait_for_runs(&store, 5);
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr: {stderr}");
    assert!(
        stderr.contains("rerun the same command to resume"),
        "{stderr}"
    );
    let finished = finished_runs(&store);
    assert!(
        (5..36).contains(&finished),
        "SIGINT landed at {finished} runs"
    );
    let manifest: toml::Table = std::fs::read_to_string(dir.join("cut/manifest.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(manifest["status"].as_str(), Some("interrupted"));
    assert_eq!(
        manifest["runs_finished"].as_integer(),
        Some(finished as i64)
    );
    let missing = manifest["missing"].as_array().unwrap();
    assert_eq!(
        manifest["runs_missing"].as_integer(),
        Some(missing.len() as i64)
    );
    assert_eq!(finished + missing.len(), 36, "9 points × 4 replications");
    assert!(
        missing.iter().all(|m| m.as_str().unwrap().contains('#')),
        "{missing:?}"
    );
    assert!(manifest["hint"].as_str().unwrap().contains("rerun"));
    for f in ["runs.csv", "summary.csv", "timeseries.csv", "nodes.csv"] {
        assert!(
            !dir.join("cut").join(f).exists(),
            "{f} written by an interrupted run"
        );
    }
    let temps: Vec<_> = std::fs::read_dir(dir.join("cut"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    let msg = ok(&dir, &["run", "sw.toml", "--threads", "2", "--out", "cut"]);
    assert!(msg.contains("resumed: "), "{msg}");
    same_files(&dir.join("whole"), &dir.join("cut"));
}

/// A panic reaches the user as one `error: internal error: … (please report)` line, exit 1.
#[test]
fn r8_a_panic_is_one_line_and_exit_1() {
    let dir = temp_dir("panic");
    let o = sessim()
        .current_dir(&dir)
        .env("SESSIM_DEBUG_PANIC", "1")
        .args(["list", "metrics"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: internal error: "), "{stderr}");
    assert!(stderr.contains("(please report)"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

/// `check` reports every problem of a file at once: structural ones in several sections
/// (unknown key, wrong types, a bad duration, a missing key) and semantic ones together.
#[test]
fn r8_check_reports_every_error_at_once() {
    let dir = temp_dir("all-errors");
    std::fs::write(
        dir.join("many.toml"),
        r#"seed = 1
horizon = "1m"
[workload]
kind = "open"
session_rate = -5.0
thinktime = "7s"
[app]
nodes = "two"
[balancer]
kind = "round-robin"
[[faults]]
target = "app:0"
at = "5 parsecs"
[[faults]]
target = "app:1"
"#,
    )
    .unwrap();
    let o = crate::support::run_in(&dir, &["check", "many.toml"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for (key, msg) in [
        ("workload.thinktime", "unknown field `thinktime`"),
        ("app.nodes", "invalid type: string \"two\", expected u32"),
        ("faults[0].at", "expected a duration with a unit"),
        ("faults[1].at", "this key is required"),
        (
            "workload.session_rate",
            "expected a positive number, got -5",
        ),
    ] {
        let prefix = format!("error: many.toml: key `{key}`: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(msg)),
            "no line {prefix}…{msg}… in:\n{stderr}"
        );
    }
    assert_eq!(stderr.lines().count(), 5, "one line per problem:\n{stderr}");
}

/// A run that cannot fit in memory (~10⁹–10¹⁰ live sessions) is refused before it starts, naming
/// the estimate and the key to change; nothing is written.
#[test]
fn r8_a_run_too_big_for_the_machine_is_refused_up_front() {
    if !std::path::Path::new("/proc/meminfo").exists() {
        eprintln!("skipped: no /proc/meminfo, the memory check is off on this system");
        return;
    }
    let dir = temp_dir("too-big");
    std::fs::write(
        dir.join("big.toml"),
        "seed = 1\nhorizon = \"1h\"\n[workload]\nkind = \"open\"\nsession_rate = 1e7\n\
         [app]\nsession_timeout = \"30m\"\n[balancer]\nkind = \"ip-hash\"\n",
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let o = crate::support::run_in(&dir, &["run", "big.toml", "--quiet", "--threads", "1"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(t0.elapsed().as_secs() < 10, "refused only after running");
    assert!(
        stderr.starts_with("error: big.toml: estimated peak memory "),
        "{stderr}"
    );
    assert!(stderr.contains("exceeds the available memory"), "{stderr}");
    assert!(stderr.contains("workload.session_rate"), "{stderr}");
    assert!(stderr.contains("app.session_timeout"), "{stderr}");
    assert!(!dir.join("results").exists(), "nothing may be written");
    // the closed-loop key is named for closed workloads
    std::fs::write(
        dir.join("crowd.toml"),
        "seed = 1\nhorizon = \"1h\"\n[workload]\nkind = \"closed\"\nclients = 4000000000\n\
         [balancer]\nkind = \"ip-hash\"\n",
    )
    .unwrap();
    let o = crate::support::run_in(&dir, &["run", "crowd.toml", "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("workload.clients"), "{stderr}");
}

/// A sweep whose grid is astronomically large is refused at load time instead of hanging while
/// the plan is built.
#[test]
fn r8_a_huge_sweep_grid_is_refused_not_built() {
    let text = "seed = 1\nhorizon = \"1m\"\n[workload]\nkind = \"open\"\nsession_rate = 1.0\n\
                [balancer]\nkind = \"ip-hash\"\n[sweep]\n\
                \"app.workers\" = { from = 1, to = 100000, step = 1 }\n\
                \"workload.session_rate\" = { from = 1, to = 100000, step = 1 }\n\
                \"app.expiry_sweep\" = [\"1s\", \"2s\"]\n";
    let t0 = std::time::Instant::now();
    let e = sessim::scenario::load_str(text, "grid.toml", None, "grid").unwrap_err();
    assert!(t0.elapsed().as_secs() < 5);
    assert!(
        e.to_string()
            .contains("grid.toml: key `sweep`: the grid has 20000000000 combinations"),
        "{e}"
    );
}
