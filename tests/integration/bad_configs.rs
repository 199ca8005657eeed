//! Broken experiment files: each must be refused with exit code 2 and one line naming the file,
//! the offending key and what was expected — no panic, no backtrace, no `results/` left behind —
//! by both `sessim run` and `sessim check`.
//!
//! Every case is the valid minimal config ([`VALID`]) with one thing broken.

use crate::support::{run_in, temp_dir};
use std::process::Output;

/// One broken config.
struct Case {
    /// Short name (also the temp dir's and the file's name, slugified).
    name: &'static str,
    /// The experiment file (indentation is stripped before writing).
    toml: &'static str,
    /// The key the error must name (`FILE: key `KEY`: …`); empty when the whole file is at fault
    /// (`FILE: line N, column M: …`).
    key: &'static str,
    /// A fragment the same error line must contain.
    msg: &'static str,
}

/// The valid minimal config every case starts from.
const VALID: &str = r#"
    name = "ok"
    seed = 1
    replications = 2
    horizon = "1m"
    [workload]
    kind = "open"
    session_rate = 5.0
    [app]
    nodes = 2
    [balancer]
    kind = "round-robin"
"#;

fn cases() -> Vec<Case> {
    vec![
        // ---- schema: unknown keys, wrong types, missing keys ----
        Case {
            name: "unknown top-level key",
            toml: r#"
                name = "ok"
                seed = 1
                colour = "red"
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "colour",
            msg: "unknown field `colour`",
        },
        Case {
            name: "unknown key in a table",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                thinktime = "7s"
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.thinktime",
            msg: "unknown field `thinktime`",
        },
        Case {
            name: "string where a number is expected",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = "two"
                [balancer]
                kind = "round-robin"
            "#,
            key: "app.nodes",
            msg: r#"invalid type: string "two""#,
        },
        Case {
            name: "negative seed",
            toml: r#"
                name = "ok"
                seed = -1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "seed",
            msg: "expected u64",
        },
        Case {
            name: "missing seed",
            toml: r#"
                name = "ok"
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "seed",
            msg: "this key is required",
        },
        Case {
            name: "unknown workload kind",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "half-open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.kind",
            msg: "unknown variant `half-open`",
        },
        Case {
            name: "faults as a table instead of an array",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [faults]
                target = "app:0"
                at = "10s"
            "#,
            key: "faults",
            msg: "expected a sequence",
        },
        Case {
            name: "invalid TOML syntax",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "",
            msg: "line 9, column",
        },
        // ---- units: durations and sizes ----
        Case {
            name: "unparseable duration",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "ten minutes"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "horizon",
            msg: "expected a duration",
        },
        Case {
            name: "bare number for a duration",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = 600
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "horizon",
            msg: "expected a duration string with a unit",
        },
        Case {
            name: "duration too long",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "100000000000h"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "horizon",
            msg: "is too long",
        },
        Case {
            name: "unparseable size",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                session_size = "4 parsecs"
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.session_size",
            msg: "expected a size with a unit",
        },
        Case {
            name: "fail_timeout not in whole seconds",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                fail_timeout = "1500ms"
            "#,
            key: "balancer.fail_timeout",
            msg: "whole seconds",
        },
        // ---- presets and names ----
        Case {
            name: "missing preset",
            toml: r#"
                preset = "no-such-preset"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "preset",
            msg: r#"no preset "no-such-preset""#,
        },
        Case {
            name: "preset list with a non-name",
            toml: r#"
                preset = ["nginx-cookie-hash-2-tomcats", 3]
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "preset",
            msg: "expected a list of preset names, got 3",
        },
        Case {
            name: "name escaping the results dir",
            toml: r#"
                name = "../escape"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "name",
            msg: "expected a plain name usable as a directory",
        },
        // ---- run length ----
        Case {
            name: "zero replications",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 0
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "replications",
            msg: "expected at least 1 replication",
        },
        Case {
            name: "warm_up not before horizon",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                warm_up = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "warm_up",
            msg: "expected less than the horizon",
        },
        Case {
            name: "horizon beyond what the stores' expiry times hold",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "801days"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "horizon",
            msg: "expected at most 800 days, got 2years 2months",
        },
        // ---- workload ----
        Case {
            name: "negative session rate",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = -1.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.session_rate",
            msg: "expected a positive number, got -1",
        },
        Case {
            name: "open workload without session_rate",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.session_rate",
            msg: "an open workload needs session_rate",
        },
        Case {
            name: "closed workload with zero clients",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "closed"
                clients = 0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.clients",
            msg: "expected at least 1 client, got 0",
        },
        Case {
            name: "probability above 1",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                write_probability = 1.5
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.write_probability",
            msg: "expected a probability between 0 and 1, got 1.5",
        },
        Case {
            name: "unknown distribution",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                think_time = { dist = "pareto", mean = "7s" }
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.think_time.dist",
            msg: "unknown variant `pareto`",
        },
        Case {
            name: "parameter a distribution does not have",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                think_time = { dist = "exponential", mean = "7s", shape = 2.0 }
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.think_time.shape",
            msg: "unknown field `shape`",
        },
        Case {
            name: "session of 4 GiB",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                session_size = "4GiB"
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.session_size",
            msg: "expected less than 4GiB, got 4294967296 B",
        },
        Case {
            name: "delta larger than the session",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                delta_size = "8KiB"
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
            "#,
            key: "workload.delta_size",
            msg: "expected at most session_size (4096 B), got 8192 B",
        },
        // ---- app nodes ----
        Case {
            name: "zero nodes",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 0
                [balancer]
                kind = "round-robin"
            "#,
            key: "app.nodes",
            msg: "expected 1 to 128 nodes, got 0",
        },
        // ---- balancer ----
        Case {
            name: "unknown balancer kind",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "no-such-balancer"
            "#,
            key: "balancer.kind",
            msg: "expected one of ",
        },
        Case {
            name: "weights of the wrong length",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                weights = [1, 2, 3]
            "#,
            key: "balancer.weights",
            msg: "expected 2 weights (one per app node), got 3",
        },
        Case {
            name: "weight of zero",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                weights = [1, 0]
            "#,
            key: "balancer.weights[1]",
            msg: "expected a weight ≥ 1, got 0",
        },
        Case {
            name: "down names a missing node",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                down = [2]
            "#,
            key: "balancer.down[0]",
            msg: "no node 2",
        },
        Case {
            name: "all servers down",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                down = [0, 1]
            "#,
            key: "balancer.down",
            msg: "every server is marked down",
        },
        Case {
            name: "unknown next_upstream condition",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                next_upstream = ["error", "http_502"]
            "#,
            key: "balancer.next_upstream[1]",
            msg: r#"expected "error", "timeout" or "off", got "http_502""#,
        },
        // ---- strategy ----
        Case {
            name: "unknown strategy kind",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [strategy]
                kind = "no-such-strategy"
            "#,
            key: "strategy.kind",
            msg: "expected one of ",
        },
        Case {
            name: "option the strategy does not have",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [strategy]
                kind = "local"
                foo = 1
            "#,
            key: "strategy.foo",
            msg: r#"strategy "local" has no option "foo""#,
        },
        // ---- faults and failures ----
        Case {
            name: "fault on a missing node",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [[faults]]
                target = "app:5"
                at = "10s"
            "#,
            key: "faults[0].target",
            msg: "there are 2 app nodes (0..2), no app:5",
        },
        Case {
            name: "malformed fault target",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [[faults]]
                target = "db:1"
                at = "10s"
            "#,
            key: "faults[0].target",
            msg: r#"expected "app:<i>" or "store:<i>""#,
        },
        Case {
            name: "fault after the horizon",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [[faults]]
                target = "app:0"
                at = "2m"
            "#,
            key: "faults[0].at",
            msg: "expected a time before the horizon",
        },
        Case {
            name: "failures on store nodes the strategy lacks",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [failures]
                targets = ["store"]
                time_to_failure = { dist = "fixed", value = "20s" }
                time_to_repair = { dist = "fixed", value = "5s" }
            "#,
            key: "failures.targets[0]",
            msg: "there are no store nodes",
        },
        // ---- sweeps ----
        Case {
            name: "sweep over an unknown path",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [sweep]
                "workload.nope" = [1, 2]
            "#,
            key: "workload.nope",
            msg: "unknown field `nope`",
        },
        Case {
            name: "sweep range with step 0",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [sweep]
                "workload.session_rate" = { from = 1.0, to = 5.0, step = 0.0 }
            "#,
            key: r#"sweep."workload.session_rate""#,
            msg: "step > 0",
        },
        Case {
            name: "sweep whose second value is bad",
            toml: r#"
                name = "ok"
                seed = 1
                replications = 2
                horizon = "1m"
                [workload]
                kind = "open"
                session_rate = 5.0
                [app]
                nodes = 2
                [balancer]
                kind = "round-robin"
                [sweep]
                "app.nodes" = [2, 0]
            "#,
            key: "app.nodes",
            msg: "expected 1 to 128 nodes, got 0",
        },
    ]
}

/// The file text: `toml` without its indentation and surrounding blank lines.
fn dedent(toml: &str) -> String {
    toml.trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A case's name as a file-name stem: `unknown top-level key` → `unknown-top-level-key`.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Problems with one command's output for `case` (empty when it behaved).
fn problems(case: &Case, file: &str, cmd: &str, out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut p = Vec::new();
    if out.status.code() != Some(2) {
        p.push(format!("exit code {:?}, expected 2", out.status.code()));
    }
    let prefix = if case.key.is_empty() {
        format!("{file}: ")
    } else {
        format!("{file}: key `{}`: ", case.key)
    };
    match stderr.lines().find(|l| l.contains(&prefix)) {
        None => p.push(format!("no error line containing {prefix:?}")),
        Some(line) if !line.contains(case.msg) => {
            p.push(format!("the error line does not contain {:?}", case.msg))
        }
        Some(_) => {}
    }
    if let Some(l) = stderr.lines().find(|l| !l.starts_with("error: ")) {
        p.push(format!("stderr line not starting with \"error: \": {l:?}"));
    }
    for noise in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if stderr.contains(noise) {
            p.push(format!("stderr contains {noise:?}"));
        }
    }
    p.into_iter()
        .map(|m| {
            format!(
                "[{}] sessim {cmd}: {m}\n    stderr: {}",
                case.name,
                stderr.trim_end()
            )
        })
        .collect()
}

#[test]
fn every_broken_config_is_refused_with_exit_2_naming_file_and_key() {
    let cases = cases();
    assert!(
        cases.len() >= 20,
        "the table should hold at least 20 cases, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = temp_dir(&format!("bad-config-{i:02}"));
        let file = format!("{}.toml", slug(case.name));
        std::fs::write(dir.join(&file), dedent(case.toml)).unwrap();

        let run = run_in(&dir, &["run", &file, "--quiet"]);
        failures.extend(problems(case, &file, "run", &run));
        if dir.join("results").exists() {
            failures.push(format!(
                "[{}] sessim run left a results directory behind",
                case.name
            ));
        }
        let check = run_in(&dir, &["check", &file]);
        failures.extend(problems(case, &file, "check", &check));

        if dir.join("results").exists() {
            failures.push(format!(
                "[{}] sessim check left a results directory behind",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_valid_minimal_config_passes_check() {
    let dir = temp_dir("bad-config-control");
    std::fs::write(dir.join("ok.toml"), dedent(VALID)).unwrap();
    let out = run_in(&dir, &["check", "ok.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok.toml: ok"),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !dir.join("results").exists(),
        "check must not write results"
    );
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let mut slugs: Vec<String> = cases.iter().map(|c| slug(c.name)).collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), cases.len(), "two cases share a name");
}
