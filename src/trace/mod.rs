//! Real HTTP access-log traces: parsing, sessionization, client addresses, figures.
//!
//! # Formats
//! [`Format::Clf`] (NCSA Common Log Format,
//! `host ident user [01/Aug/1995:00:00:01 -0400] "GET /path HTTP/1.0" 200 1839`),
//! [`Format::Combined`] (the same plus ` "referer" "agent"`) and [`Format::Tsv`] (tab-separated
//! `host, epoch, method, url, status, bytes`, epoch in seconds, optionally with a header line
//! naming those columns in any order). A request without a protocol (`"GET /path"`, common in
//! the NASA logs) is valid; bytes `-` count as 0. Without an explicit format the first
//! [`DETECT_LINES`] non-blank lines decide: the format that parses most of them wins (ties:
//! combined, then CLF, then TSV). Times are integer nanoseconds since the Unix epoch (UTC), the
//! CLF date converted with its zone offset; impossible dates (day 32, 29 Feb of a common year,
//! month `Foo`, hour 25, zone `-0470`) make a line malformed.
//!
//! # Bad lines
//! Blank lines are skipped. A line that does not parse (including one with NUL bytes or invalid
//! UTF-8) is counted in [`Trace::bad_lines`], the first [`KEPT_BAD_LINES`] 1-based line numbers
//! kept; parsing fails only when the malformed share of the non-blank data lines exceeds
//! [`ParseOptions::max_bad_line_share`] (default 0.01), or when no request is left. Records out
//! of time order are stably sorted by time; [`Trace::unsorted_lines`] counts the records that
//! were earlier than their predecessor in the file.
//!
//! # Sessions
//! Client = host. A session is a maximal run of one host's requests in which each gap to the
//! previous request is **≤ the idle timeout** (default 30 min): a gap of exactly the timeout
//! continues the session, one nanosecond more starts a new one. A request is *static* when its
//! URL path (the part before any `?`, like a servlet's request URI) fully matches
//! `request_uri_ignore_pattern` (default [`DEFAULT_IGNORE_PATTERN`], case-sensitive, as
//! memcached-session-manager's `requestUriIgnorePattern` uses `Matcher::matches`).
//!
//! # Host → IPv4 address ([`host_address`])
//! A deterministic rule, so that `ip-hash` sees the concentration real logs have:
//! - an IPv4 literal (`128.159.137.43`) keeps its address;
//! - a name (lower-cased, trailing dot dropped) maps into one /24 per *organisation*, its
//!   registrable domain: the last two labels, or the last three when the top-level label is a
//!   two-letter country code and the second-to-last label is one of `ac co com edu gov net org`
//!   (`www-a1.proxy.aol.com` → `aol.com`, `foo.ac.uk` → `foo.ac.uk`,
//!   `columbia.acc.brad.ac.uk` → `brad.ac.uk`); a name of one or two labels is its own
//!   organisation;
//! - the /24 is number `FNV-1a-64(organisation) mod 7,602,176` counted from 11.0.0.0/24, i.e.
//!   within 11.0.0.0–126.255.255.0 (never 0–10 or 127);
//! - the last octet is `1 + FNV-1a-64(host name) mod 254` (1..=254).
//!
//! So all `*.proxy.aol.com` hosts share one /24. Distinct organisations may collide in a /24,
//! and distinct hosts of one organisation in an address (as behind a NAT); that is accepted.

pub mod address;
mod parse;

pub use address::{fnv1a64, host_address, organisation};
pub use parse::{parse_clf, parse_clf_date, parse_tsv, TsvLayout};

use regex::Regex;
use std::collections::HashMap;
use std::path::Path;

/// The default `request_uri_ignore_pattern` (memcached-session-manager's usual one).
pub const DEFAULT_IGNORE_PATTERN: &str = r".*\.(ico|png|gif|jpg|css|js)$";
/// The default idle timeout that ends a session: 30 minutes, in ns.
pub const DEFAULT_IDLE_TIMEOUT_NS: u64 = 30 * 60 * 1_000_000_000;
/// The default largest tolerated share of malformed lines.
pub const DEFAULT_MAX_BAD_LINE_SHARE: f64 = 0.01;
/// How many malformed line numbers a parse keeps.
pub const KEPT_BAD_LINES: usize = 5;
/// How many non-blank lines format detection looks at.
pub const DETECT_LINES: usize = 100;

/// An access-log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NCSA Common Log Format.
    Clf,
    /// NCSA Combined Log Format (CLF plus referer and user agent).
    Combined,
    /// Tab-separated `host, epoch, method, url, status, bytes`.
    Tsv,
}

impl Format {
    /// `clf`, `combined` or `tsv`.
    ///
    /// # Errors
    /// A message naming the expected values.
    pub fn parse(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clf" => Ok(Format::Clf),
            "combined" => Ok(Format::Combined),
            "tsv" => Ok(Format::Tsv),
            _ => Err(format!("expected clf, combined or tsv, got \"{s}\"")),
        }
    }
    /// The name used by [`Format::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Format::Clf => "clf",
            Format::Combined => "combined",
            Format::Tsv => "tsv",
        }
    }
}

/// One request of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Client host name or IPv4 literal, as logged.
    pub host: String,
    /// Nanoseconds since the Unix epoch (UTC).
    pub time_ns: i64,
    /// HTTP method.
    pub method: String,
    /// Request URL (path and query) as logged.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Response bytes (`-` → 0).
    pub bytes: u64,
}

/// Options of [`parse_bytes`] and [`read_file`].
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// The format, or `None` to detect it.
    pub format: Option<Format>,
    /// Parsing fails when more than this share of the data lines is malformed.
    pub max_bad_line_share: f64,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            format: None,
            max_bad_line_share: DEFAULT_MAX_BAD_LINE_SHARE,
        }
    }
}

/// A parsed trace.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Requests, sorted by time (stable).
    pub records: Vec<Record>,
    /// The format used.
    pub format: Format,
    /// Non-blank data lines (header excluded).
    pub lines: usize,
    /// Malformed lines.
    pub bad_lines: usize,
    /// 1-based numbers of the first [`KEPT_BAD_LINES`] malformed lines.
    pub first_bad_lines: Vec<usize>,
    /// Records earlier than the record before them in the file (0 when in time order).
    pub unsorted_lines: usize,
}

/// Why a trace cannot be used. Messages do not name the file; the caller adds it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TraceError {
    /// No non-blank line at all.
    #[error("empty trace: no requests")]
    Empty,
    /// No line parses in any format.
    #[error("line {line}: not a CLF, combined or TSV access-log line")]
    UnknownFormat {
        /// First non-blank line.
        line: usize,
    },
    /// Too many malformed lines (or none valid).
    #[error(
        "{bad} of {lines} lines are malformed as {format} (more than the allowed share {max}); \
         first at line{} {}",
        if first.len() > 1 { "s" } else { "" },
        first.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
    )]
    TooManyBadLines {
        /// Malformed lines.
        bad: usize,
        /// Non-blank data lines.
        lines: usize,
        /// The format tried.
        format: &'static str,
        /// The allowed share.
        max: f64,
        /// First malformed line numbers.
        first: Vec<usize>,
    },
}

/// Parses a whole trace from its bytes.
///
/// # Errors
/// [`TraceError`] when the trace is empty, its format unknown, or too many lines malformed.
pub fn parse_bytes(data: &[u8], opts: &ParseOptions) -> Result<Trace, TraceError> {
    // (1-based line number, text or None when not UTF-8 text), blank lines dropped.
    let lines: Vec<(usize, Option<&str>)> = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(n, l)| {
            let text = std::str::from_utf8(l).ok().filter(|t| !t.contains('\0'));
            (n, text)
        })
        .collect();
    let Some(&(first_line, first_text)) = lines.first() else {
        return Err(TraceError::Empty);
    };
    let header = first_text.and_then(TsvLayout::from_header);
    let tsv = header.unwrap_or_default();
    let format = match opts.format {
        Some(f) => f,
        None => detect(&lines, header.is_some(), &tsv)
            .ok_or(TraceError::UnknownFormat { line: first_line })?,
    };
    let data_lines = if format == Format::Tsv && header.is_some() {
        &lines[1..]
    } else {
        &lines[..]
    };
    let mut records = Vec::with_capacity(data_lines.len());
    let mut bad = 0;
    let mut first_bad = Vec::new();
    for &(n, text) in data_lines {
        match text.and_then(|t| parse::parse_line(t, format, &tsv)) {
            Some(r) => records.push(r),
            None => {
                bad += 1;
                if first_bad.len() < KEPT_BAD_LINES {
                    first_bad.push(n);
                }
            }
        }
    }
    let total = data_lines.len();
    let too_many = bad as f64 > opts.max_bad_line_share * total as f64;
    if records.is_empty() || too_many {
        if total == 0 {
            return Err(TraceError::Empty);
        }
        return Err(TraceError::TooManyBadLines {
            bad,
            lines: total,
            format: format.name(),
            max: opts.max_bad_line_share,
            first: first_bad,
        });
    }
    let unsorted_lines = records
        .windows(2)
        .filter(|w| w[1].time_ns < w[0].time_ns)
        .count();
    if unsorted_lines > 0 {
        records.sort_by_key(|r| r.time_ns);
    }
    Ok(Trace {
        records,
        format,
        lines: total,
        bad_lines: bad,
        first_bad_lines: first_bad,
        unsorted_lines,
    })
}

/// The format that parses most of the first [`DETECT_LINES`] lines (`None` if none parses).
fn detect(lines: &[(usize, Option<&str>)], tsv_header: bool, tsv: &TsvLayout) -> Option<Format> {
    if tsv_header {
        return Some(Format::Tsv);
    }
    let sample = &lines[..lines.len().min(DETECT_LINES)];
    let mut best: Option<(usize, Format)> = None;
    for f in [Format::Combined, Format::Clf, Format::Tsv] {
        let ok = sample
            .iter()
            .filter(|(_, t)| t.is_some_and(|t| parse::parse_line(t, f, tsv).is_some()))
            .count();
        if ok > 0 && best.is_none_or(|(b, _)| ok > b) {
            best = Some((ok, f));
        }
    }
    best.map(|(_, f)| f)
}

/// Reads and parses a trace file.
///
/// # Errors
/// A message (without the file name) when the file cannot be read or [`parse_bytes`] fails.
pub fn read_file(path: &Path, opts: &ParseOptions) -> Result<Trace, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_bytes(&data, opts).map_err(|e| e.to_string())
}

/// A trace's figures (see [`figures`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Requests.
    pub requests: usize,
    /// Distinct hosts.
    pub hosts: usize,
    /// Sessions (client = host, split at gaps above the idle timeout).
    pub sessions: usize,
    /// Malformed lines.
    pub bad_lines: usize,
    /// Seconds from the first to the last request.
    pub span_s: f64,
    /// Share of requests whose URL path matches the ignore pattern.
    pub static_share: f64,
    /// Requests of the busiest host / requests.
    pub top_host_share: f64,
    /// Records that were out of time order in the file.
    pub unsorted_lines: usize,
}

impl Figures {
    /// `key: value` lines in the documented order (`unsorted_lines` only when non-zero).
    pub fn to_lines(&self) -> Vec<String> {
        let mut v = vec![
            format!("requests: {}", self.requests),
            format!("hosts: {}", self.hosts),
            format!("sessions: {}", self.sessions),
            format!("bad_lines: {}", self.bad_lines),
            format!("span_s: {}", self.span_s),
            format!("static_share: {:.6}", self.static_share),
            format!("top_host_share: {:.6}", self.top_host_share),
        ];
        if self.unsorted_lines > 0 {
            v.push(format!("unsorted_lines: {}", self.unsorted_lines));
        }
        v
    }
}

/// Compiles a `request_uri_ignore_pattern` so that it must match a whole URL path.
///
/// # Errors
/// The regex error message.
pub fn ignore_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())
}

/// Whether `url`'s path (before any `?`) matches `ignore` (a regex from [`ignore_regex`]).
pub fn is_static(url: &str, ignore: &Regex) -> bool {
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    ignore.is_match(path)
}

/// The session index (0-based, in order of first request) of each record of a time-sorted
/// slice; a gap ≤ `idle_timeout_ns` continues a session.
pub fn sessionize(records: &[Record], idle_timeout_ns: u64) -> Vec<usize> {
    let idle = i128::from(idle_timeout_ns);
    let mut open: HashMap<&str, (i64, usize)> = HashMap::new();
    let mut next = 0;
    records
        .iter()
        .map(|r| {
            let e = open
                .entry(r.host.as_str())
                .or_insert((r.time_ns, usize::MAX));
            if e.1 == usize::MAX || i128::from(r.time_ns) - i128::from(e.0) > idle {
                e.1 = next;
                next += 1;
            }
            e.0 = r.time_ns;
            e.1
        })
        .collect()
}

/// The figures of a parsed trace.
pub fn figures(trace: &Trace, idle_timeout_ns: u64, ignore: &Regex) -> Figures {
    let rs = &trace.records;
    let n = rs.len();
    let mut per_host: HashMap<&str, usize> = HashMap::new();
    for r in rs {
        *per_host.entry(r.host.as_str()).or_default() += 1;
    }
    let sessions = sessionize(rs, idle_timeout_ns)
        .iter()
        .max()
        .map_or(0, |m| m + 1);
    let statics = rs.iter().filter(|r| is_static(&r.url, ignore)).count();
    let top = per_host.values().copied().max().unwrap_or(0);
    let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let span_ns = match (rs.first(), rs.last()) {
        (Some(a), Some(b)) => i128::from(b.time_ns) - i128::from(a.time_ns),
        _ => 0,
    };
    Figures {
        requests: n,
        hosts: per_host.len(),
        sessions,
        bad_lines: trace.bad_lines,
        span_s: span_ns as f64 / 1e9,
        static_share: share(statics),
        top_host_share: share(top),
        unsorted_lines: trace.unsorted_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn clf(host: &str, hms: &str, url: &str) -> String {
        format!("{host} - - [01/Aug/1995:{hms} -0400] \"GET {url} HTTP/1.0\" 200 100\n")
    }

    fn opts(share: f64) -> ParseOptions {
        ParseOptions {
            format: None,
            max_bad_line_share: share,
        }
    }

    #[test]
    fn detects_each_format() {
        let c = clf("a.b.com", "00:00:01", "/");
        assert_eq!(
            parse_bytes(c.as_bytes(), &opts(0.0)).unwrap().format,
            Format::Clf
        );
        let m = "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1 \"-\" \"UA\"\n";
        let t = parse_bytes(m.as_bytes(), &opts(0.0)).unwrap();
        assert_eq!(t.format, Format::Combined);
        let tsv = "host\tepoch\tmethod\turl\tstatus\tbytes\nh\t5\tGET\t/\t200\t1\n";
        let t = parse_bytes(tsv.as_bytes(), &opts(0.0)).unwrap();
        assert_eq!((t.format, t.lines, t.records.len()), (Format::Tsv, 1, 1));
        // Headerless TSV.
        let t = parse_bytes(b"h\t5\tGET\t/\t200\t1\n", &opts(0.0)).unwrap();
        assert_eq!(t.format, Format::Tsv);
        assert_eq!(
            parse_bytes(b"hello\nworld\n", &opts(0.0)).unwrap_err(),
            TraceError::UnknownFormat { line: 1 }
        );
    }

    #[test]
    fn bad_lines_counted_and_limited() {
        let mut s = String::new();
        for i in 0..98 {
            s += &clf("h", &format!("00:{:02}:00", i % 60), "/");
        }
        s += "not a log line\n";
        s += "\n   \n"; // blank lines: skipped, not counted
        s += "h - - [32/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1\n";
        let t = parse_bytes(s.as_bytes(), &opts(0.05)).unwrap();
        assert_eq!((t.lines, t.bad_lines, t.records.len()), (100, 2, 98));
        assert_eq!(t.first_bad_lines, vec![99, 102]);
        // 2% > 1%: fatal, naming the lines.
        let e = parse_bytes(s.as_bytes(), &opts(0.01)).unwrap_err();
        assert!(matches!(
            e,
            TraceError::TooManyBadLines {
                bad: 2,
                lines: 100,
                ..
            }
        ));
        assert!(e.to_string().contains("first at lines 99, 102"), "{e}");
        // Exactly at the share is tolerated.
        assert!(parse_bytes(s.as_bytes(), &opts(0.02)).is_ok());
        // Only the first five numbers are kept.
        let mut s = String::new();
        for i in 0..10 {
            s += &clf("h", "00:00:00", "/");
            s += &format!("bad {i}\n");
        }
        let t = parse_bytes(s.as_bytes(), &opts(1.0)).unwrap();
        assert_eq!(t.bad_lines, 10);
        assert_eq!(t.first_bad_lines, vec![2, 4, 6, 8, 10]);
    }

    #[test]
    fn binary_garbage_and_empty_input() {
        assert_eq!(
            parse_bytes(b"", &opts(0.01)).unwrap_err(),
            TraceError::Empty
        );
        assert_eq!(
            parse_bytes(b"\n \r\n", &opts(0.01)).unwrap_err(),
            TraceError::Empty
        );
        let mut s = clf("h", "00:00:01", "/").into_bytes();
        s.extend_from_slice(b"h - - [01/Aug/1995:00:00:01 -0400] \"GET /\0 HTTP/1.0\" 200 1\n");
        s.extend_from_slice(b"\xff\xfe\x00garbage\n");
        s.extend_from_slice(clf("h", "00:00:02", "/").as_bytes());
        let t = parse_bytes(&s, &opts(0.5)).unwrap();
        assert_eq!((t.records.len(), t.bad_lines), (2, 2));
        assert_eq!(t.first_bad_lines, vec![2, 3]);
        assert!(parse_bytes(&s, &opts(0.01)).is_err());
        // Pseudo-random bytes never panic.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in [1usize, 7, 100, 5000] {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 56) as u8
                })
                .collect();
            for f in [
                None,
                Some(Format::Clf),
                Some(Format::Combined),
                Some(Format::Tsv),
            ] {
                let o = ParseOptions {
                    format: f,
                    max_bad_line_share: 1.0,
                };
                let _ = parse_bytes(&junk, &o);
            }
        }
    }

    #[test]
    fn all_bad_is_an_error_even_when_tolerated() {
        let e = parse_bytes(
            b"x\ty\n",
            &ParseOptions {
                format: Some(Format::Clf),
                max_bad_line_share: 1.0,
            },
        )
        .unwrap_err();
        assert!(matches!(
            e,
            TraceError::TooManyBadLines {
                bad: 1,
                lines: 1,
                ..
            }
        ));
    }

    #[test]
    fn out_of_order_records_are_sorted_stably() {
        let s = [
            clf("a", "00:00:05", "/1"),
            clf("b", "00:00:01", "/2"),
            clf("c", "00:00:05", "/3"),
            clf("d", "00:00:03", "/4"),
            clf("e", "00:00:05", "/5"),
        ]
        .concat();
        let t = parse_bytes(s.as_bytes(), &opts(0.0)).unwrap();
        assert_eq!(t.unsorted_lines, 2);
        let urls: Vec<&str> = t.records.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["/2", "/4", "/1", "/3", "/5"]);
        let f = figures(
            &t,
            DEFAULT_IDLE_TIMEOUT_NS,
            &ignore_regex(DEFAULT_IGNORE_PATTERN).unwrap(),
        );
        assert_eq!(f.span_s, 4.0);
        assert_eq!(f.to_lines().last().unwrap(), "unsorted_lines: 2");
        let sorted = parse_bytes(clf("a", "00:00:01", "/").as_bytes(), &opts(0.0)).unwrap();
        assert_eq!(sorted.unsorted_lines, 0);
    }

    fn rec(host: &str, t: i64) -> Record {
        Record {
            host: host.into(),
            time_ns: t,
            method: "GET".into(),
            url: "/".into(),
            status: 200,
            bytes: 0,
        }
    }

    #[test]
    fn session_gap_at_the_timeout_boundary() {
        let idle = 1800 * S as u64;
        // a: gap exactly 1800 s continues; then 1800 s + 1 ns starts a new session.
        let rs = vec![
            rec("a", 0),
            rec("b", 10 * S),
            rec("a", 1800 * S),
            rec("b", 1811 * S),
            rec("a", 3600 * S + 1),
        ];
        assert_eq!(sessionize(&rs, idle), vec![0, 1, 0, 2, 3]);
        assert_eq!(sessionize(&rs, 0), vec![0, 1, 2, 3, 4]);
        assert_eq!(sessionize(&rs, u64::MAX), vec![0, 1, 0, 1, 0]);
        // Same-instant requests always share a session.
        assert_eq!(sessionize(&[rec("a", 7), rec("a", 7)], 0), vec![0, 0]);
    }

    #[test]
    fn figures_of_a_small_trace() {
        let s = [
            clf("www-a1.proxy.aol.com", "00:00:00", "/index.html"),
            clf("www-a1.proxy.aol.com", "00:00:01", "/images/logo.gif"),
            clf("www-a1.proxy.aol.com", "00:00:02", "/a.GIF"),
            clf("www-a1.proxy.aol.com", "00:00:03", "/x.js?v=1"),
            clf("128.159.1.2", "00:40:00", "/style.css"),
            clf("www-a1.proxy.aol.com", "00:40:00", "/"),
        ]
        .concat();
        let t = parse_bytes(s.as_bytes(), &opts(0.0)).unwrap();
        let f = figures(
            &t,
            DEFAULT_IDLE_TIMEOUT_NS,
            &ignore_regex(DEFAULT_IGNORE_PATTERN).unwrap(),
        );
        assert_eq!((f.requests, f.hosts, f.sessions, f.bad_lines), (6, 2, 3, 0));
        assert_eq!(f.span_s, 2400.0);
        // gif, js (query ignored), css; `.GIF` is not static (case-sensitive).
        assert_eq!(f.static_share, 0.5);
        assert_eq!(f.top_host_share, 5.0 / 6.0);
        assert_eq!(
            f.to_lines(),
            [
                "requests: 6",
                "hosts: 2",
                "sessions: 3",
                "bad_lines: 0",
                "span_s: 2400",
                "static_share: 0.500000",
                "top_host_share: 0.833333",
            ]
        );
    }

    #[test]
    fn ignore_pattern_is_a_full_match() {
        let re = ignore_regex(DEFAULT_IGNORE_PATTERN).unwrap();
        assert!(is_static("/images/a.gif", &re));
        assert!(!is_static("/images/a.gif.html", &re));
        assert!(!is_static("/a.PNG", &re));
        let re = ignore_regex(r"\.gif").unwrap();
        assert!(!is_static("/a.gif", &re), "must match the whole path");
        assert!(ignore_regex("(").is_err());
    }

    #[test]
    fn format_names() {
        for f in [Format::Clf, Format::Combined, Format::Tsv] {
            assert_eq!(Format::parse(f.name()), Ok(f));
        }
        assert!(Format::parse("json").is_err());
    }
}
