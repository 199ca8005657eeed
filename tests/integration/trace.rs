//! `sessim trace`: the NASA TSV against an independent count, and a small CLF fixture with
//! malformed lines (auto-detection, bad-line reporting, exit codes).

use crate::support::{sessim, temp_dir};
use std::collections::HashMap;
use std::process::Output;

const NASA_TSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/traces/nasa_19950801_full_merged.tsv"
);
const CLF_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/integration/fixtures/nasa_excerpt.clf"
);

fn trace(args: &[&str]) -> Output {
    sessim()
        .arg("trace")
        .args(args)
        .output()
        .expect("spawn sessim")
}

fn stdout_lines(o: &Output) -> Vec<String> {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn value<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

/// (requests, hosts, sessions) of the TSV by plain counting: a new session when a host's gap to
/// its previous request exceeds `idle_s` (the TSV is in time order).
fn independent_count(idle_s: i64) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(NASA_TSV).unwrap();
    let mut last: HashMap<&str, i64> = HashMap::new();
    let (mut requests, mut sessions) = (0, 0);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let t: i64 = f[1].parse().unwrap();
        requests += 1;
        match last.insert(f[0], t) {
            Some(prev) if t - prev <= idle_s => {}
            _ => sessions += 1,
        }
    }
    (requests, last.len(), sessions)
}

#[test]
fn nasa_tsv_figures_match_an_independent_count() {
    let out = stdout_lines(&trace(&[NASA_TSV]));
    let keys: Vec<&str> = out.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "requests",
            "hosts",
            "sessions",
            "bad_lines",
            "span_s",
            "static_share",
            "top_host_share"
        ]
    );
    assert_eq!(value(&out, "requests"), "33996");
    assert_eq!(value(&out, "hosts"), "2582");
    assert_eq!(value(&out, "sessions"), "3265");
    assert_eq!(value(&out, "bad_lines"), "0");
    // 00:00:01 to 14:52:01.
    assert_eq!(value(&out, "span_s"), "53520");
    let (requests, hosts, sessions) = independent_count(1800);
    assert_eq!((requests, hosts, sessions), (33996, 2582, 3265));
    // Another timeout, explicit format: still equal to the independent count.
    let out = stdout_lines(&trace(&[
        NASA_TSV,
        "--idle-timeout",
        "5m",
        "--format",
        "tsv",
    ]));
    assert_eq!(
        value(&out, "sessions"),
        independent_count(300).2.to_string()
    );
}

#[test]
fn clf_fixture_detected_with_bad_lines_reported() {
    // 21 lines, lines 5 (day 32) and 12 (garbage) malformed: 9.5% > the default 1%.
    let o = trace(&[CLF_FIXTURE]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nasa_excerpt.clf"), "{err}");
    assert!(err.contains("lines 5, 12"), "{err}");

    let o = trace(&[CLF_FIXTURE, "--max-bad-line-share", "0.1"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("5, 12"), "{err}");
    let expected = [
        "requests: 19",
        "hosts: 9",
        "sessions: 9",
        "bad_lines: 2",
        "span_s: 756",
        "static_share: 0.684211",
        "top_host_share: 0.315789",
    ];
    assert_eq!(stdout_lines(&o), expected);
    let explicit = trace(&[
        CLF_FIXTURE,
        "--max-bad-line-share",
        "0.1",
        "--format",
        "clf",
    ]);
    assert_eq!(stdout_lines(&explicit), expected);
    // Gaps of exactly 1 s continue a session; 2 s and more split it.
    let o = trace(&[
        CLF_FIXTURE,
        "--max-bad-line-share",
        "0.1",
        "--idle-timeout",
        "1s",
    ]);
    assert_eq!(value(&stdout_lines(&o), "sessions"), "12");
    // Forced to the wrong format: every line is bad.
    let o = trace(&[
        CLF_FIXTURE,
        "--format",
        "combined",
        "--max-bad-line-share",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn out_of_order_lines_are_sorted_and_reported() {
    let dir = temp_dir("trace-unsorted");
    let f = dir.join("rev.tsv");
    std::fs::write(
        &f,
        "host\tepoch\tmethod\turl\tstatus\tbytes\n\
         a\t100\tGET\t/\t200\t1\n\
         b\t50\tGET\t/x.gif\t200\t1\n\
         a\t40\tGET\t/\t200\t1\n",
    )
    .unwrap();
    let out = stdout_lines(&trace(&[f.to_str().unwrap()]));
    assert_eq!(value(&out, "span_s"), "60");
    assert_eq!(value(&out, "sessions"), "2");
    assert_eq!(out.last().unwrap(), "unsorted_lines: 2");
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = temp_dir("trace-bad");
    let missing = dir.join("missing.log");
    let empty = dir.join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.join("binary.log");
    std::fs::write(&binary, b"\x00\x01\xff\xfe\n\x7fELF\x00\n").unwrap();
    for (args, needle) in [
        (vec![missing.to_str().unwrap()], "missing.log"),
        (vec![empty.to_str().unwrap()], "empty.log"),
        (vec![binary.to_str().unwrap()], "binary.log: line 1"),
        (vec![NASA_TSV, "--idle-timeout", "soon"], "--idle-timeout"),
        (vec![NASA_TSV, "--format", "json"], "--format"),
        (
            vec![NASA_TSV, "--max-bad-line-share", "2"],
            "--max-bad-line-share",
        ),
    ] {
        let o = trace(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Issue 8: each class of bad trace input gets a clear error (exit 2, naming the file) or a
/// counted warning: a directory, a file without read permission, impossible timestamps, a
/// header without data, a truncated last line.
#[test]
fn r8_each_class_of_bad_trace_input_is_named() {
    let dir = temp_dir("trace-classes");
    let fail = |args: &[&str], needle: &str| {
        let o = trace(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    // a directory instead of a file
    let sub = dir.join("logs");
    std::fs::create_dir_all(&sub).unwrap();
    fail(&[sub.to_str().unwrap()], "logs: cannot read: ");
    // impossible timestamps (31 February, hour 25; a TSV epoch beyond year 9999): an error when
    // they are more than the allowed share, a counted warning when allowed
    let clf = dir.join("impossible.log");
    std::fs::write(
        &clf,
        "a - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1\n\
         a - - [31/Feb/1995:25:61:61 -0400] \"GET / HTTP/1.0\" 200 1\n\
         b - - [01/Aug/1995:00:00:09 -0400] \"GET / HTTP/1.0\" 200 1\n\
         b - - [01/Aug/1995:00:00:10 -0400] \"GET / HTTP/1.0\" 200 1\n",
    )
    .unwrap();
    fail(
        &[clf.to_str().unwrap()],
        "impossible.log: 1 of 4 lines are malformed as clf (more than the allowed share 0.01); first at line 2",
    );
    let o = trace(&[clf.to_str().unwrap(), "--max-bad-line-share", "0.5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: ")
            && err.contains("1 malformed line(s) skipped, first at line(s) 2"),
        "{err}"
    );
    let out = stdout_lines(&o);
    assert_eq!(value(&out, "bad_lines"), "1");
    assert_eq!(value(&out, "requests"), "3");
    let tsv = dir.join("impossible.tsv");
    std::fs::write(
        &tsv,
        "host\tepoch\tmethod\turl\tstatus\tbytes\n\
         a\t99999999999999999\tGET\t/\t200\t1\n\
         a\t100\tGET\t/\t200\t1\n",
    )
    .unwrap();
    fail(
        &[tsv.to_str().unwrap()],
        "impossible.tsv: 1 of 2 lines are malformed as tsv",
    );
    // a TSV header and no data
    let hdr = dir.join("header-only.tsv");
    std::fs::write(&hdr, "host\tepoch\tmethod\turl\tstatus\tbytes\n").unwrap();
    fail(
        &[hdr.to_str().unwrap()],
        "header-only.tsv: empty trace: no requests",
    );
    // a file cut in the middle of its last line: the torn line is counted, not fatal if allowed
    let cut = dir.join("cut.log");
    std::fs::write(
        &cut,
        "a - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1\na - - [01/Aug/1995:00:0",
    )
    .unwrap();
    let o = trace(&[cut.to_str().unwrap(), "--max-bad-line-share", "0.5"]);
    assert_eq!(value(&stdout_lines(&o), "bad_lines"), "1");
    // no read permission (root reads anything: skipped with a notice)
    let locked = dir.join("locked.log");
    std::fs::copy(CLF_FIXTURE, &locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        eprintln!("skipped the permission case: running as root, which can read a 000 file");
    } else {
        fail(&[locked.to_str().unwrap()], "locked.log: cannot read: ");
    }
}
