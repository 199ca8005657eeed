//! Bounded fuzzing (proptest with arbitrary and mutated inputs) of the two parsers that read
//! user files: the experiment loader (`scenario::load_str`) and the access-log parser
//! (`trace::parse_bytes`). Neither may panic or hang on any input; the loader's errors must
//! name the file. Cases per target: `SESSIM_FUZZ_CASES` (default 256); CI runs 20000:
//! `SESSIM_FUZZ_CASES=20000 cargo test --release --test integration fuzz -- --nocapture`.

use proptest::prelude::*;
use sessim::scenario::load_str;
use sessim::trace::{figures, ignore_regex, parse_bytes, ParseOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest one input may take (a hang is a failure).
const PER_INPUT: Duration = Duration::from_secs(5);

fn cases() -> u32 {
    std::env::var("SESSIM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2000,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/integration/fuzz.proptest-regressions",
            ),
        )),
        ..ProptestConfig::default()
    }
}

/// Runs `test` on `cases()` inputs from `strategy` (shrinking any failure), then prints how
/// many inputs were tried and how long it took.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let tried = AtomicU64::new(0);
    let t0 = Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&strategy, |v| {
        tried.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    println!(
        "fuzz {name}: {} inputs tried in {:.1} s{}",
        tried.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64(),
        if result.is_ok() {
            ", no panic, no hang"
        } else {
            ""
        }
    );
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

/// Loads `text`; it must not panic, must return within [`PER_INPUT`], and every error must name
/// the file.
fn load_checked(text: &str) -> Result<(), TestCaseError> {
    let t0 = Instant::now();
    let r = load_str(text, "fuzz.toml", None, "fuzz");
    prop_assert!(t0.elapsed() < PER_INPUT, "took {:?}:\n{text}", t0.elapsed());
    if let Err(e) = r {
        prop_assert!(!e.0.is_empty(), "an error without a message:\n{text}");
        for x in &e.0 {
            prop_assert!(x.to_string().starts_with("fuzz.toml: "), "{x}");
            prop_assert!(!x.to_string().contains('\n'), "a multi-line message: {x}");
        }
    }
    Ok(())
}

fn parse_checked(data: &[u8]) -> Result<(), TestCaseError> {
    let t0 = Instant::now();
    if let Ok(t) = parse_bytes(data, &ParseOptions::default()) {
        prop_assert!(t.records.len() <= t.lines);
        let re = ignore_regex(r"\.(gif|jpg|png|css|js)$").unwrap();
        let _ = figures(&t, 30 * 60 * 1_000_000_000, &re);
    }
    prop_assert!(t0.elapsed() < PER_INPUT, "took {:?}", t0.elapsed());
    Ok(())
}

/// Valid configs the mutations start from.
const SEEDS: [&str; 3] = [
    sessim::scenario::QUICKSTART,
    r#"name = "ok"
seed = 1
replications = 2
horizon = "1m"
warm_up = "10s"
[workload]
kind = "closed"
clients = 20
requests_per_session = { dist = "lognormal", mean = 5, cv = 1 }
think_time = { dist = "weibull", shape = 1.5, scale = "3s" }
addresses = { proxy_share = 0.2, proxies = 3 }
[app]
nodes = 3
workers = 4
jvm_routes = ["a", "b", "c"]
crash_kind = "host"
[balancer]
kind = "route"
weights = [1, 2, 3]
down = [2]
next_upstream = ["error"]
[[faults]]
target = "app:0"
at = "20s"
repair_after = "5s"
[failures]
targets = ["app:1"]
time_to_failure = { dist = "exponential", mean = "30s" }
time_to_repair = { dist = "fixed", value = "2s" }
[stopping]
metric = "session_loss_rate"
target_ci_relative = 0.1
max_replications = 20
"#,
    r#"seed = 7
horizon = "3m"
[workload]
kind = "open"
session_rate = 15.0
[balancer]
kind = "round-robin"
[sweep]
"balancer.kind" = ["cookie-hash", "ip-hash"]
"app.nodes" = { from = 2, to = 8, step = 2 }
"workload.session_rate" = { from = 1, to = 1000, points = 4, scale = "log" }
constraint = 'app.nodes >= 4 || balancer.kind == "ip-hash"'
[sweep.zip.load]
"app.workers" = [10, 20, 40, 80]
"network.client_balancer" = ["1ms", "2ms", "5ms", "10ms"]
"#,
];

/// A random TOML value of any type, with the edge cases parsers trip on.
fn any_value() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    let leaf = prop_oneof![
        any::<i64>().prop_map(V::Integer),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(129)
        ]
        .prop_map(V::Integer),
        any::<f64>().prop_map(V::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(1e300),
            Just(-1e-300)
        ]
        .prop_map(V::Float),
        any::<bool>().prop_map(V::Boolean),
        ".{0,12}".prop_map(V::String),
        prop_oneof![
            Just("0s"),
            Just("-5s"),
            Just("99999999999999h"),
            Just("1.5ms"),
            Just("7 parsecs"),
            Just("4KiB"),
            Just("-1B"),
            Just("18446744073709551616B"),
            Just("app:999"),
            Just("store:0"),
            Just("app"),
            Just("ip-hash"),
            Just("closed"),
            Just("exponential"),
            Just("weibull"),
            Just(""),
        ]
        .prop_map(|s| V::String(s.to_string())),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(V::Array),
            proptest::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|kv| V::Table(kv.into_iter().collect())),
        ]
    })
}

/// One mutation of a config tree, addressed by indices that are reduced modulo what exists.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(Vec<usize>),
    Replace(Vec<usize>, toml::Value),
    Insert(Vec<usize>, String, toml::Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = proptest::collection::vec(any::<usize>(), 1..4);
    prop_oneof![
        path.clone().prop_map(Mutation::Delete),
        (path.clone(), any_value()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        (
            path,
            prop_oneof![
                "[a-z_]{1,10}",
                Just("kind".to_string()),
                Just("dist".to_string())
            ],
            any_value()
        )
            .prop_map(|(p, k, v)| Mutation::Insert(p, k, v)),
    ]
}

/// Applies `m` to `v`, walking the path's indices through tables and arrays.
fn apply(v: &mut toml::Value, m: &Mutation) {
    let path = match m {
        Mutation::Delete(p) | Mutation::Replace(p, _) | Mutation::Insert(p, _, _) => p,
    };
    let mut cur = v;
    for (depth, &i) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        match cur {
            toml::Value::Table(t) if !t.is_empty() => {
                let key = t.keys().nth(i % t.len()).unwrap().clone();
                if last {
                    match m {
                        Mutation::Delete(_) => {
                            t.remove(&key);
                        }
                        Mutation::Replace(_, x) => {
                            t.insert(key, x.clone());
                        }
                        Mutation::Insert(_, k, x) => match t.get_mut(&key) {
                            Some(toml::Value::Table(inner)) => {
                                inner.insert(k.clone(), x.clone());
                            }
                            _ => {
                                t.insert(k.clone(), x.clone());
                            }
                        },
                    }
                    return;
                }
                cur = t.get_mut(&key).unwrap();
            }
            toml::Value::Array(a) if !a.is_empty() => {
                let j = i % a.len();
                if last {
                    match m {
                        Mutation::Delete(_) => {
                            a.remove(j);
                        }
                        Mutation::Replace(_, x) | Mutation::Insert(_, _, x) => a[j] = x.clone(),
                    }
                    return;
                }
                cur = &mut a[j];
            }
            _ => return,
        }
    }
}

/// Arbitrary text, and text that looks like TOML.
#[test]
fn fuzz_config_arbitrary_text() {
    let text = prop_oneof![
        ".{0,200}",
        "([a-z_.\\[\\]\"]{1,12} ?= ?[-0-9a-z\"\\[\\]{}., ]{0,16}\n){0,12}",
    ];
    fuzz("config (arbitrary text)", text, |t| load_checked(&t));
}

/// Valid configs with random deletions, replacements (any type) and insertions.
#[test]
fn fuzz_config_mutated() {
    let input = (
        0usize..SEEDS.len(),
        proptest::collection::vec(mutation(), 1..5),
    );
    fuzz("config (mutated valid configs)", input, |(seed, muts)| {
        let mut v = toml::Value::Table(SEEDS[seed].parse::<toml::Table>().unwrap());
        for m in &muts {
            apply(&mut v, m);
        }
        match toml::to_string(&v) {
            Ok(text) => load_checked(&text),
            Err(_) => Ok(()), // not representable as a TOML document
        }
    });
}

/// Arbitrary bytes as an access log.
#[test]
fn fuzz_trace_arbitrary_bytes() {
    fuzz(
        "trace (arbitrary bytes)",
        proptest::collection::vec(any::<u8>(), 0..600),
        |data| parse_checked(&data),
    );
}

/// Real CLF and TSV lines with bytes flipped, fields replaced by odd values (impossible dates,
/// huge numbers, non-UTF-8), and the file cut at a random point.
#[test]
fn fuzz_trace_mutated() {
    let input = (
        any::<bool>(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        proptest::collection::vec(
            (
                any::<usize>(),
                prop_oneof![
                    Just("[31/Feb/1995:25:61:61 -9999]".to_string()),
                    Just("[01/Xyz/99999:00:00:00 +0000]".to_string()),
                    Just("99999999999999999999".to_string()),
                    Just("-1".to_string()),
                    Just("\"GET".to_string()),
                    Just(String::new()),
                    ".{0,10}",
                ],
            ),
            0..3,
        ),
        any::<usize>(),
    );
    fuzz(
        "trace (mutated CLF/TSV lines, truncated files)",
        input,
        |(tsv, edits, fields, cut)| {
            let base = if tsv {
                "host\tepoch\tmethod\turl\tstatus\tbytes\n\
                 a.example\t807249601\tGET\t/\t200\t1839\n\
                 b.example\t807249607\tGET\t/images/x.gif\t304\t0\n\
                 a.example\t807249608\tPOST\t/cgi-bin/q?x=1\t500\t-\n"
            } else {
                "in24.inetnebr.com - - [01/Aug/1995:00:00:01 -0400] \"GET /shuttle/sts-68.txt HTTP/1.0\" 200 1839\n\
                 uplherc.upl.com - - [01/Aug/1995:00:00:07 -0400] \"GET / HTTP/1.0\" 304 0\n\
                 uplherc.upl.com - - [01/Aug/1995:00:00:08 -0400] \"GET /images/ksclogo.gif HTTP/1.0\" 304 -\n\
                 133.43.96.45 - - [01/Aug/1995:00:00:16 -0400] \"GET /x HTTP/1.0\" 200 10 \"-\" \"Mozilla\"\n"
            };
            let sep = if tsv { "\t" } else { " " };
            let mut lines: Vec<String> = base.lines().map(String::from).collect();
            for (i, f) in &fields {
                let n = lines.len();
                let l = &mut lines[1 + i % (n - 1)];
                let mut parts: Vec<String> = l.split(sep).map(String::from).collect();
                let k = (i / 7) % parts.len();
                parts[k] = f.clone();
                *l = parts.join(sep);
            }
            let mut data = lines.join("\n").into_bytes();
            data.push(b'\n');
            for (at, b) in &edits {
                let n = data.len();
                data[at % n] = *b;
            }
            let cut = cut % (data.len() + 1);
            parse_checked(&data[..cut])?;
            parse_checked(&data)
        },
    );
}
