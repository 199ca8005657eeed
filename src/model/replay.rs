//! Trace replay: an access log turned into the requests of a run. Client = host; a session is a
//! run of one host's requests with gaps ≤ `session_idle_timeout` (`trace::sessionize`); each log
//! line is one request, sent at its logged time × `time_scale` (from the first line), whatever
//! the responses do (an open replay: real users did not wait for sessim). Host → IPv4 by
//! `trace::address::host_address` (one /24 per organisation), so ip-hash sees the log's
//! concentration. A URL matching `request_uri_ignore_pattern` is a static request. Whether a
//! dynamic request writes the session, and its service demand, come from the workload's
//! `write_probability` and `app.service_time` (a log does not say).
//!
//! Parsed traces are cached per process (keyed by every option that shapes them), so the runs of
//! a sweep share one parse.

use crate::scenario::config::WorkloadConfig;
use crate::trace;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// One logged request.
#[derive(Debug, Clone, Copy)]
pub struct TraceRequest {
    /// Time since the first logged request \[ns\], before `time_scale`.
    pub t_ns: u64,
    /// Session index (0-based, in order of first request).
    pub session: u32,
    /// Static (matches the ignore pattern).
    pub is_static: bool,
}

/// A trace ready to replay.
#[derive(Debug)]
pub struct Replay {
    /// Requests in time order.
    pub requests: Vec<TraceRequest>,
    /// Per session: the host's address and its number of requests.
    pub sessions: Vec<([u8; 4], u32)>,
}

type Key = (String, Option<String>, u64, Option<u64>, String, u64);

fn cache() -> &'static Mutex<BTreeMap<Key, Arc<Replay>>> {
    static CACHE: OnceLock<Mutex<BTreeMap<Key, Arc<Replay>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The replay of the trace at `path` under the workload's trace options (parsed once per
/// process).
///
/// # Errors
/// A message naming the file (and a line, for a parse error), or the bad option.
pub fn load(path: &str, w: &WorkloadConfig) -> Result<Arc<Replay>, String> {
    let pattern = w
        .request_uri_ignore_pattern
        .clone()
        .unwrap_or_else(|| trace::DEFAULT_IGNORE_PATTERN.to_string());
    let key: Key = (
        path.to_string(),
        w.format.clone(),
        w.session_idle_timeout.ns(),
        w.max_requests,
        pattern.clone(),
        w.max_bad_line_share.to_bits(),
    );
    if let Some(r) = cache().lock().expect("trace cache").get(&key) {
        return Ok(r.clone());
    }
    let format = match w.format.as_deref() {
        None => None,
        Some(f) => Some(trace::Format::parse(f).map_err(|m| format!("format: {m}"))?),
    };
    let ignore = trace::ignore_regex(&pattern)?;
    let opts = trace::ParseOptions {
        format,
        max_bad_line_share: w.max_bad_line_share,
    };
    let parsed = trace::read_file(Path::new(path), &opts)?;
    let mut records = parsed.records;
    if let Some(m) = w.max_requests {
        records.truncate(m as usize);
    }
    let sessions_of = trace::sessionize(&records, w.session_idle_timeout.ns());
    let t0 = records.first().map(|r| r.time_ns).unwrap_or(0);
    let mut sessions: Vec<([u8; 4], u32)> = Vec::new();
    let requests = records
        .iter()
        .zip(&sessions_of)
        .map(|(r, &s)| {
            if s == sessions.len() {
                sessions.push((trace::address::host_address(&r.host).octets(), 0));
            }
            sessions[s].1 += 1;
            TraceRequest {
                t_ns: (r.time_ns - t0).max(0) as u64,
                session: s as u32,
                is_static: trace::is_static(&r.url, &ignore),
            }
        })
        .collect();
    let replay = Arc::new(Replay { requests, sessions });
    cache()
        .lock()
        .expect("trace cache")
        .insert(key, replay.clone());
    Ok(replay)
}
