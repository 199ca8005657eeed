//! Line parsers: Common Log Format, Combined Log Format, and the NASA TSV.

use super::{Format, Record};

/// The TSV columns, in the order of a headerless file.
pub const TSV_COLUMNS: [&str; 6] = ["host", "epoch", "method", "url", "status", "bytes"];

/// Column positions of a TSV file (from its header, or `TSV_COLUMNS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsvLayout {
    /// Index of each of `TSV_COLUMNS` in a line.
    pub pos: [usize; 6],
    /// Number of fields of a line.
    pub width: usize,
}

impl Default for TsvLayout {
    fn default() -> Self {
        TsvLayout {
            pos: [0, 1, 2, 3, 4, 5],
            width: 6,
        }
    }
}

impl TsvLayout {
    /// The layout named by a header line, `None` when the line is not a header (its fields must
    /// be exactly the six column names, in any order).
    pub fn from_header(line: &str) -> Option<TsvLayout> {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        if fields.len() != TSV_COLUMNS.len() {
            return None;
        }
        let mut pos = [usize::MAX; 6];
        for (i, f) in fields.iter().enumerate() {
            let c = TSV_COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(f))?;
            if pos[c] != usize::MAX {
                return None;
            }
            pos[c] = i;
        }
        Some(TsvLayout {
            pos,
            width: fields.len(),
        })
    }
}

/// Parses one line in `format`; `None` when it is malformed.
pub fn parse_line(line: &str, format: Format, tsv: &TsvLayout) -> Option<Record> {
    match format {
        Format::Tsv => parse_tsv(line, tsv),
        Format::Clf => parse_clf(line, false),
        Format::Combined => parse_clf(line, true),
    }
}

/// One TSV line: epoch seconds (integer, or with a decimal fraction).
pub fn parse_tsv(line: &str, layout: &TsvLayout) -> Option<Record> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != layout.width {
        return None;
    }
    let get = |c: usize| f[layout.pos[c]].trim();
    let host = get(0);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    let time_ns = parse_epoch(get(1))?;
    let method = get(2);
    let url = get(3);
    if method.is_empty() || url.is_empty() {
        return None;
    }
    Some(Record {
        host: host.to_string(),
        time_ns,
        method: method.to_string(),
        url: url.to_string(),
        status: parse_status(get(4))?,
        bytes: parse_bytes(get(5))?,
    })
}

/// Epoch seconds `S` or `S.FFF` → nanoseconds.
fn parse_epoch(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let (neg, digits) = match int.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, int),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = digits.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    let ns = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -ns } else { ns })
}

/// A three-digit HTTP status.
fn parse_status(s: &str) -> Option<u16> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u16 = s.parse().ok()?;
    (100..=999).contains(&v).then_some(v)
}

/// Response bytes; `-` (nothing sent) is 0.
fn parse_bytes(s: &str) -> Option<u64> {
    if s == "-" {
        return Some(0);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `host ident user [dd/Mon/yyyy:HH:MM:SS ±zzzz] "request" status bytes`, plus
/// ` "referer" "agent"` when `combined`. The request is `METHOD URL [PROTOCOL]`.
pub fn parse_clf(line: &str, combined: bool) -> Option<Record> {
    let line = line.trim_end();
    let (host, rest) = line.split_once(' ')?;
    if host.is_empty() {
        return None;
    }
    let open = rest.find(" [")?;
    // ident and user: two tokens before the date.
    let mut who = rest[..open].split(' ');
    let (_ident, _user) = (who.next()?, who.next()?);
    if who.next().is_some() {
        return None;
    }
    let rest = &rest[open + 2..];
    let close = rest.find(']')?;
    let time_ns = parse_clf_date(&rest[..close])?;
    let rest = rest[close + 1..].strip_prefix(" \"")?;
    // The request ends at the first `"` followed by ` <status> <bytes>`.
    let (request, status, bytes, tail) = split_request(rest)?;
    let tail = tail.trim();
    if combined {
        let (_referer, t) = quoted(tail)?;
        let (_agent, t) = quoted(t.strip_prefix(' ')?.trim_start())?;
        if !t.trim().is_empty() {
            return None;
        }
    } else if !tail.is_empty() {
        return None;
    }
    let mut parts = request.split_whitespace();
    let method = parts.next()?;
    let url = parts.next()?;
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    // An optional protocol; anything beyond it is malformed.
    if let Some(p) = parts.next() {
        if !p.starts_with("HTTP/") || parts.next().is_some() {
            return None;
        }
    }
    Some(Record {
        host: host.to_string(),
        time_ns,
        method: method.to_string(),
        url: url.to_string(),
        status,
        bytes,
    })
}

/// Splits `request" status bytes tail` → (request, status, bytes, tail).
fn split_request(s: &str) -> Option<(&str, u16, u64, &str)> {
    let mut from = 0;
    while let Some(i) = s[from..].find('"') {
        let q = from + i;
        let after = &s[q + 1..];
        if let Some(after) = after.strip_prefix(' ') {
            let mut it = after.splitn(3, ' ');
            let st = it.next().unwrap_or("");
            let by = it.next().unwrap_or("");
            if let (Some(status), Some(bytes)) = (parse_status(st), parse_bytes(by)) {
                return Some((&s[..q], status, bytes, it.next().unwrap_or("")));
            }
        }
        from = q + 1;
    }
    None
}

/// A leading `"…"` (with `\"` escapes) → (content, rest after the closing quote).
fn quoted(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&body[..i], &body[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// `dd/Mon/yyyy:HH:MM:SS ±hhmm` → ns since the Unix epoch (UTC). Rejects impossible dates.
pub fn parse_clf_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // 01/Aug/1995:00:00:01 -0400
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' {
        return None;
    }
    if b[17] != b':' || b[20] != b' ' || !(b[21] == b'+' || b[21] == b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &b[r];
        if !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(t.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0')))
    };
    let day = num(0..2)?;
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = 1 + MONTHS.iter().position(|m| m[..] == b[3..6])? as i64;
    let year = num(7..11)?;
    let (hour, min, sec) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let (zh, zm) = (num(22..24)?, num(24..26)?);
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Second 60: a leap second.
    if hour > 23 || min > 59 || sec > 60 || zh > 23 || zm > 59 {
        return None;
    }
    let offset = (zh * 3600 + zm * 60) * if b[21] == b'-' { -1 } else { 1 };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    // nanoseconds in an i64 reach from 1677-09-21 to 2262-04-11: a date outside is rejected
    // (it overflowed: a panic in a debug build, a wrapped time in a release build)
    (local - offset).checked_mul(1_000_000_000)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn clf_line() {
        let r = parse_clf(
            "in24.inetnebr.com - - [01/Aug/1995:00:00:01 -0400] \"GET /shuttle/missions/sts-68/news/sts-68-mcc-05.txt HTTP/1.0\" 200 1839",
            false,
        )
        .unwrap();
        assert_eq!(r.host, "in24.inetnebr.com");
        // The TSV gives 807249601 for this request.
        assert_eq!(r.time_ns, 807_249_601 * S);
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, "/shuttle/missions/sts-68/news/sts-68-mcc-05.txt");
        assert_eq!((r.status, r.bytes), (200, 1839));
        // Not combined: no referer/agent.
        assert!(parse_clf(
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1",
            true
        )
        .is_none());
    }

    #[test]
    fn clf_without_protocol_and_dash_bytes() {
        let r = parse_clf(
            "cs1-06.leh.ptd.net - - [01/Aug/1995:01:17:38 -0400] \"GET /sts-71/launch/\" 404 -",
            false,
        )
        .unwrap();
        assert_eq!(r.url, "/sts-71/launch/");
        assert_eq!((r.status, r.bytes), (404, 0));
    }

    #[test]
    fn combined_line() {
        let line = r#"10.1.2.3 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        let r = parse_clf(line, true).unwrap();
        assert_eq!(r.host, "10.1.2.3");
        assert_eq!(r.url, "/apache_pb.gif");
        // 2000-10-10 20:55:36 UTC
        assert_eq!(r.time_ns, 971_211_336 * S);
        assert!(parse_clf(line, false).is_none());
        // Escaped quotes in the agent, empty referer.
        let r = parse_clf(
            r#"h - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 304 - "-" "x \"y\" z""#,
            true,
        )
        .unwrap();
        assert_eq!(r.bytes, 0);
    }

    #[test]
    fn tsv_line() {
        let l = TsvLayout::from_header("host\tepoch\tmethod\turl\tstatus\tbytes").unwrap();
        assert_eq!(l, TsvLayout::default());
        let r = parse_tsv("uplherc.upl.com\t807249607\tGET\t/\t304\t0", &l).unwrap();
        assert_eq!(r.host, "uplherc.upl.com");
        assert_eq!(r.time_ns, 807_249_607 * S);
        assert_eq!((r.method.as_str(), r.url.as_str()), ("GET", "/"));
        assert_eq!((r.status, r.bytes), (304, 0));
        // Fractional seconds; columns reordered by the header.
        let l2 = TsvLayout::from_header("epoch\thost\turl\tmethod\tbytes\tstatus").unwrap();
        let r = parse_tsv("1.25\th\t/x\tPOST\t7\t201", &l2).unwrap();
        assert_eq!(r.time_ns, 1_250_000_000);
        assert_eq!((r.status, r.bytes, r.method.as_str()), (201, 7, "POST"));
        // Malformed.
        for bad in [
            "h\t807249607\tGET\t/\t304",
            "h\tnoon\tGET\t/\t304\t0",
            "h\t807249607\tGET\t/\t2000\t0",
            "h\t807249607\tGET\t/\t200\t-5",
            "\t807249607\tGET\t/\t200\t5",
            "h\t99999999999999999999\tGET\t/\t200\t5",
        ] {
            assert!(parse_tsv(bad, &l).is_none(), "{bad}");
        }
        assert!(TsvLayout::from_header("host\thost\tmethod\turl\tstatus\tbytes").is_none());
    }

    #[test]
    fn impossible_timestamps() {
        assert_eq!(
            parse_clf_date("01/Aug/1995:00:00:01 -0400"),
            Some(807_249_601 * S)
        );
        assert_eq!(
            parse_clf_date("29/Feb/1996:00:00:00 +0000"),
            Some(825_552_000 * S)
        );
        assert_eq!(parse_clf_date("01/Jan/1970:01:00:00 +0100"), Some(0));
        // the ends of i64 nanoseconds: 2262-04-11 23:47:16 and 1677-09-21 00:12:44 UTC
        assert_eq!(
            parse_clf_date("11/Apr/2262:23:47:16 +0000"),
            Some(9_223_372_036 * S)
        );
        assert_eq!(
            parse_clf_date("21/Sep/1677:00:12:44 +0000"),
            Some(-9_223_372_036 * S)
        );
        for bad in [
            "11/Apr/2262:23:47:17 +0000",
            "01/Jan/9999:00:00:00 +0000",
            "21/Sep/1677:00:12:43 +0000",
            "01/Jan/0000:00:00:00 +0000",
            "32/Aug/1995:00:00:01 -0400",
            "00/Aug/1995:00:00:01 -0400",
            "29/Feb/1995:00:00:01 -0400",
            "31/Apr/1995:00:00:01 -0400",
            "01/Foo/1995:00:00:01 -0400",
            "01/Aug/1995:25:00:01 -0400",
            "01/Aug/1995:00:60:01 -0400",
            "01/Aug/1995:00:00:61 -0400",
            "01/Aug/1995:00:00:01 -0470",
            "01/Aug/1995:00:00:01 0400",
            "1/Aug/1995:00:00:01 -0400",
            "01/Aug/1995:00:00:01",
            "01/Aug/1995:0é:00:01 -0400",
            "01/éu/1995:00:00:01 -0400",
            "",
        ] {
            assert_eq!(parse_clf_date(bad), None, "{bad}");
        }
        // A month-13 line in numeric form is not CLF either.
        assert!(parse_clf(
            "h - - [01/13/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1",
            false
        )
        .is_none());
    }

    #[test]
    fn malformed_clf_lines() {
        for bad in [
            "",
            "garbage",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" OK 1",
            "h - - [01/Aug/1995:00:00:01 -0400] \"\" 200 1",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET\" 200 1",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0 extra\" 200 1",
            "h - - [01/Aug/1995:00:00:01 -0400 \"GET / HTTP/1.0\" 200 1",
            "h - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1",
            " - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1 trailing",
            "h - - [01/Aug/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 1 \"ref\"",
        ] {
            assert!(parse_clf(bad, false).is_none(), "{bad}");
            assert!(parse_clf(bad, true).is_none(), "{bad}");
        }
    }
}
