//! Observations a run emits, and the metrics computed from them. Models only call the
//! recording methods here; `output/` turns [`RunMetrics`] and [`Bucket`]s into files.

use crate::kernel::{Counter, SimTime, Tally};

/// A metric: its CSV column name, unit and definition (shown by `sessim list` and the README).
pub struct MetricDef {
    /// Column name (never renamed: see DESIGN.md).
    pub name: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Definition.
    pub doc: &'static str,
}

macro_rules! metrics {
    ($($name:ident : $unit:literal, $doc:literal;)*) => {
        /// Every metric, in CSV column order.
        pub static METRICS: &[MetricDef] = &[$(MetricDef { name: stringify!($name), unit: $unit, doc: $doc }),*];
        /// A run's metric values, one field per metric (NaN = not applicable, written as an empty cell).
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        #[allow(missing_docs)]
        pub struct RunMetrics { $(pub $name: f64),* }
        impl RunMetrics {
            /// Values in [`METRICS`] order.
            pub fn values(&self) -> Vec<f64> { vec![$(self.$name),*] }
        }
    };
}

metrics! {
    sessions_started: "sessions", "user sessions begun after warm-up";
    sessions_lost: "events", "requests that carried the id of a session still live for its user, found no state on the node that served them, and got a new session (one user session can lose state more than once)";
    session_loss_rate: "ratio", "sessions_lost / sessions_started (can exceed 1 when sessions are lost repeatedly, e.g. cookie-hash with local sessions)";
    sessions_affected: "sessions", "user sessions that lost their state at least once";
    session_affected_rate: "ratio", "sessions_affected / sessions_started";
    requests: "requests", "responses received by clients after warm-up (successful and failed)";
    requests_failed: "requests", "responses that were errors: 502 no live upstream or upstream error not retried, 503, timeouts";
    request_error_rate: "ratio", "requests_failed / requests";
    stale_reads: "requests", "requests that saw an older version of their session than the latest written";
    lost_updates: "writes", "writes that overwrote a newer version of the session";
    messages_app_app: "messages", "session messages between app nodes (replication, state transfer)";
    bytes_app_app: "bytes", "bytes of those messages";
    messages_app_store: "messages", "operations between app nodes and store nodes";
    bytes_app_store: "bytes", "bytes of those operations (requests and replies)";
    bytes_cookie: "bytes", "session state carried in cookies, both directions (the JSESSIONID itself is not counted)";
    messages_client_balancer: "messages", "HTTP requests and responses between clients and the balancer";
    bytes_client_balancer: "bytes", "their bytes: workload.request_size + response_size + the JSESSIONID cookie and Set-Cookie headers (state cookies are in bytes_cookie)";
    messages_balancer_app: "messages", "HTTP requests and responses between the balancer and app nodes (retries included)";
    bytes_balancer_app: "bytes", "their bytes, counted as for bytes_client_balancer";
    store_evictions: "items", "items evicted from store nodes for lack of memory (LRU)";
    session_bytes_per_request: "bytes/request", "(bytes_app_app + bytes_app_store + bytes_cookie) / requests";
    latency_mean_ms: "ms", "mean response time of successful requests, client to client";
    latency_p50_ms: "ms", "median response time of successful requests (histogram, < 1.6% relative error)";
    latency_p99_ms: "ms", "99th percentile response time of successful requests";
    node_load_max_over_mean: "ratio", "requests served by the busiest app node / mean over all app nodes";
    live_sessions_mean: "sessions", "time-average number of server-side sessions in app-node memory";
    time_to_recover_s: "s", "from the first fault after warm-up until two consecutive timeseries buckets have a session-miss count within 3 sigma (Poisson) of the pre-fault rate; 0 if it never rose; empty without a fault or if not recovered by the horizon";
    fault_active_sessions: "sessions", "user sessions in progress at the first crash after warm-up";
    fault_sessions_lost: "sessions", "of those, the ones that lost their state afterwards";
    fault_loss_share: "ratio", "fault_sessions_lost / fault_active_sessions";
}

/// One timeseries bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bucket {
    /// Responses received.
    pub requests: u64,
    /// Failed responses.
    pub failed: u64,
    /// User sessions begun.
    pub started: u64,
    /// Session misses (losses).
    pub lost: u64,
    /// Sum of successful latencies \[ns\].
    pub latency_sum_ns: u64,
    /// Number of successful latencies.
    pub latency_n: u64,
    /// Server-side sessions in memory at the bucket's end.
    pub live_sessions: u64,
    /// App nodes up at the bucket's end.
    pub nodes_up: u32,
}

/// Everything a run observes.
pub struct Observations {
    /// See [`METRICS`].
    pub sessions_started: Counter,
    /// See [`METRICS`].
    pub sessions_lost: Counter,
    /// See [`METRICS`].
    pub sessions_affected: Counter,
    /// See [`METRICS`].
    pub requests: Counter,
    /// See [`METRICS`].
    pub requests_failed: Counter,
    /// See [`METRICS`].
    pub stale_reads: Counter,
    /// See [`METRICS`].
    pub lost_updates: Counter,
    /// See [`METRICS`].
    pub messages_app_app: Counter,
    /// See [`METRICS`].
    pub bytes_app_app: Counter,
    /// See [`METRICS`].
    pub messages_app_store: Counter,
    /// See [`METRICS`].
    pub bytes_app_store: Counter,
    /// See [`METRICS`].
    pub bytes_cookie: Counter,
    /// See [`METRICS`].
    pub messages_client_balancer: Counter,
    /// See [`METRICS`].
    pub bytes_client_balancer: Counter,
    /// See [`METRICS`].
    pub messages_balancer_app: Counter,
    /// See [`METRICS`].
    pub bytes_balancer_app: Counter,
    /// See [`METRICS`].
    pub store_evictions: Counter,
    /// Successful response times \[ns\].
    pub latency: Tally,
    /// Requests served per app node (after warm-up).
    pub node_requests: Vec<u64>,
    /// Time-weighted live sessions.
    pub live_sessions: crate::kernel::TimeWeighted,
    /// See [`METRICS`].
    pub fault_active_sessions: u64,
    /// See [`METRICS`].
    pub fault_sessions_lost: u64,
    /// Time of the first fault after warm-up.
    pub first_fault: Option<SimTime>,
    /// Requests issued, whole run (never reset: conservation checks).
    pub issued_total: u64,
    /// Responses received, whole run (successful + failed).
    pub answered_total: u64,
    /// Of those, failed.
    pub failed_total: u64,
    /// Timeseries buckets, whole run.
    pub series: Vec<Bucket>,
    bucket_ns: u64,
    /// The last bucket [`Observations::bucket`] found: its index and `[start, end)` \[ns\]
    /// (the last bucket's end is `u64::MAX`: later times are clipped into it). Responses come
    /// in time order, nearly, so this spares a 64-bit division on most calls.
    recent: (usize, u64, u64),
    /// Buckets whose end-of-bucket gauges are filled.
    closed: usize,
    /// When the next bucket closes: the end of bucket `closed` \[ns\].
    close_at_ns: u64,
    warm_up: SimTime,
}

impl Observations {
    /// Empty observations for `nodes` app nodes, timeseries buckets of `bucket_ns` over
    /// `horizon`.
    pub fn new(nodes: usize, bucket_ns: u64, horizon: SimTime, warm_up: SimTime) -> Self {
        let buckets = horizon.as_ns().div_ceil(bucket_ns).max(1) as usize;
        Observations {
            sessions_started: Counter::default(),
            sessions_lost: Counter::default(),
            sessions_affected: Counter::default(),
            requests: Counter::default(),
            requests_failed: Counter::default(),
            stale_reads: Counter::default(),
            lost_updates: Counter::default(),
            messages_app_app: Counter::default(),
            bytes_app_app: Counter::default(),
            messages_app_store: Counter::default(),
            bytes_app_store: Counter::default(),
            bytes_cookie: Counter::default(),
            messages_client_balancer: Counter::default(),
            bytes_client_balancer: Counter::default(),
            messages_balancer_app: Counter::default(),
            bytes_balancer_app: Counter::default(),
            store_evictions: Counter::default(),
            latency: Tally::default(),
            node_requests: vec![0; nodes],
            live_sessions: Default::default(),
            fault_active_sessions: 0,
            fault_sessions_lost: 0,
            first_fault: None,
            issued_total: 0,
            answered_total: 0,
            failed_total: 0,
            series: vec![Bucket::default(); buckets],
            bucket_ns,
            // an empty range: the first lookup computes the bucket
            recent: (0, 1, 0),
            closed: 0,
            close_at_ns: bucket_ns,
            warm_up,
        }
    }

    /// The bucket holding time `now` (the last one for any later time).
    #[inline]
    fn bucket(&mut self, now: SimTime) -> &mut Bucket {
        let t = now.as_ns();
        let (mut i, start, end) = self.recent;
        if !(start <= t && t < end) {
            let last = self.series.len() - 1;
            i = ((t / self.bucket_ns) as usize).min(last);
            let start = i as u64 * self.bucket_ns;
            let end = if i == last {
                u64::MAX
            } else {
                start + self.bucket_ns
            };
            self.recent = (i, start, end);
        }
        &mut self.series[i]
    }

    /// Fills the end-of-bucket gauges of every bucket that ended at or before `now`.
    #[inline]
    pub fn close_buckets(&mut self, now: SimTime, live_sessions: u64, nodes_up: u32) {
        while now.as_ns() >= self.close_at_ns && self.closed < self.series.len() {
            self.series[self.closed].live_sessions = live_sessions;
            self.series[self.closed].nodes_up = nodes_up;
            self.closed += 1;
            self.close_at_ns = self.close_at_ns.saturating_add(self.bucket_ns);
        }
    }

    /// A user session began.
    #[inline]
    pub fn session_started(&mut self, now: SimTime) {
        self.sessions_started.inc();
        self.bucket(now).started += 1;
    }

    /// A session miss (loss); `first_for_user` when the user session had not lost state before.
    #[inline]
    pub fn session_lost(&mut self, now: SimTime, first_for_user: bool) {
        self.sessions_lost.inc();
        if first_for_user {
            self.sessions_affected.inc();
        }
        self.bucket(now).lost += 1;
    }

    /// A response reached its client; `latency_ns` for a successful one, `None` for an error.
    #[inline]
    pub fn response(&mut self, now: SimTime, latency_ns: Option<u64>) {
        self.answered_total += 1;
        let measured = self.measured(now);
        if measured {
            self.requests.inc();
        }
        let b = self.bucket(now);
        b.requests += 1;
        match latency_ns {
            Some(l) => {
                b.latency_sum_ns += l;
                b.latency_n += 1;
                if measured {
                    self.latency.record(l);
                }
            }
            None => {
                b.failed += 1;
                self.failed_total += 1;
                if measured {
                    self.requests_failed.inc();
                }
            }
        }
    }

    /// Messages between app nodes (replication, transfer), with their bytes.
    #[inline]
    pub fn app_app(&mut self, now: SimTime, messages: u64, bytes: u64) {
        if self.measured(now) {
            self.messages_app_app.add(messages);
            self.bytes_app_app.add(bytes);
        }
    }

    /// Operations between app and store nodes, with their bytes (requests and replies).
    #[inline]
    pub fn app_store(&mut self, now: SimTime, ops: u64, bytes: u64) {
        if self.measured(now) {
            self.messages_app_store.add(ops);
            self.bytes_app_store.add(bytes);
        }
    }

    /// Session state carried in cookies.
    #[inline]
    pub fn cookie(&mut self, now: SimTime, bytes: u64) {
        if self.measured(now) {
            self.bytes_cookie.add(bytes);
        }
    }

    /// HTTP messages on the client–balancer link.
    #[inline]
    pub fn client_balancer(&mut self, now: SimTime, messages: u64, bytes: u64) {
        if self.measured(now) {
            self.messages_client_balancer.add(messages);
            self.bytes_client_balancer.add(bytes);
        }
    }

    /// HTTP messages on the balancer–app link.
    #[inline]
    pub fn balancer_app(&mut self, now: SimTime, messages: u64, bytes: u64) {
        if self.measured(now) {
            self.messages_balancer_app.add(messages);
            self.bytes_balancer_app.add(bytes);
        }
    }

    /// A request read an older version of its session than the latest written.
    #[inline]
    pub fn stale_read(&mut self, now: SimTime) {
        if self.measured(now) {
            self.stale_reads.inc();
        }
    }

    /// A write replaced a newer version of the session than the one it was based on.
    #[inline]
    pub fn lost_update(&mut self, now: SimTime) {
        if self.measured(now) {
            self.lost_updates.inc();
        }
    }

    /// Store items evicted for lack of memory.
    #[inline]
    pub fn evicted(&mut self, now: SimTime, items: u64) {
        if self.measured(now) {
            self.store_evictions.add(items);
        }
    }

    /// Whether an observation made at `t` counts in the metrics (warm-up deletion: every counter
    /// and tally is gated by the time of its observation; record through this, never reset).
    #[inline]
    pub fn measured(&self, t: SimTime) -> bool {
        t >= self.warm_up
    }

    /// Warm-up deletion for the time-weighted gauge: its average restarts at `now`. (Counters
    /// and tallies need nothing here: they are gated by [`Observations::measured`], so a
    /// response recorded before the warm-up event for a time after it is kept.)
    pub fn end_warm_up(&mut self, now: SimTime) {
        self.live_sessions.reset(now);
    }

    /// The run's metrics at `horizon`.
    pub fn metrics(&self, horizon: SimTime) -> RunMetrics {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        let ms = |ns: Option<f64>| ns.map(|x| x / 1e6).unwrap_or(f64::NAN);
        let requests = self.requests.0;
        let bytes = self.bytes_app_app.0 + self.bytes_app_store.0 + self.bytes_cookie.0;
        let load_mean =
            self.node_requests.iter().sum::<u64>() as f64 / self.node_requests.len() as f64;
        let load_max = self.node_requests.iter().copied().max().unwrap_or(0) as f64;
        RunMetrics {
            sessions_started: self.sessions_started.0 as f64,
            sessions_lost: self.sessions_lost.0 as f64,
            session_loss_rate: ratio(self.sessions_lost.0, self.sessions_started.0),
            sessions_affected: self.sessions_affected.0 as f64,
            session_affected_rate: ratio(self.sessions_affected.0, self.sessions_started.0),
            requests: requests as f64,
            requests_failed: self.requests_failed.0 as f64,
            request_error_rate: ratio(self.requests_failed.0, requests),
            stale_reads: self.stale_reads.0 as f64,
            lost_updates: self.lost_updates.0 as f64,
            messages_app_app: self.messages_app_app.0 as f64,
            bytes_app_app: self.bytes_app_app.0 as f64,
            messages_app_store: self.messages_app_store.0 as f64,
            bytes_app_store: self.bytes_app_store.0 as f64,
            bytes_cookie: self.bytes_cookie.0 as f64,
            messages_client_balancer: self.messages_client_balancer.0 as f64,
            bytes_client_balancer: self.bytes_client_balancer.0 as f64,
            messages_balancer_app: self.messages_balancer_app.0 as f64,
            bytes_balancer_app: self.bytes_balancer_app.0 as f64,
            store_evictions: self.store_evictions.0 as f64,
            session_bytes_per_request: ratio(bytes, requests),
            latency_mean_ms: ms(self.latency.mean()),
            latency_p50_ms: ms(self.latency.quantile(0.5)),
            latency_p99_ms: ms(self.latency.quantile(0.99)),
            node_load_max_over_mean: if load_mean > 0.0 {
                load_max / load_mean
            } else {
                f64::NAN
            },
            live_sessions_mean: self.live_sessions.mean(horizon),
            time_to_recover_s: self.time_to_recover_s(),
            fault_active_sessions: if self.first_fault.is_some() {
                self.fault_active_sessions as f64
            } else {
                f64::NAN
            },
            fault_sessions_lost: if self.first_fault.is_some() {
                self.fault_sessions_lost as f64
            } else {
                f64::NAN
            },
            fault_loss_share: ratio(self.fault_sessions_lost, self.fault_active_sessions),
        }
    }

    /// See `time_to_recover_s` in [`METRICS`].
    fn time_to_recover_s(&self) -> f64 {
        let Some(tf) = self.first_fault else {
            return f64::NAN;
        };
        let b = self.bucket_ns;
        let fault_bucket = (tf.as_ns() / b) as usize;
        // pre-fault rate over whole buckets from warm-up to the fault bucket (or from 0)
        let first = ((self.warm_up.as_ns().div_ceil(b)) as usize).min(fault_bucket);
        let (from, to) = if first < fault_bucket {
            (first, fault_bucket)
        } else {
            (0, fault_bucket)
        };
        if to == from {
            return f64::NAN;
        }
        let rate =
            self.series[from..to].iter().map(|x| x.lost).sum::<u64>() as f64 / (to - from) as f64;
        let threshold = rate + 3.0 * rate.sqrt();
        let quiet = |i: usize| self.series.get(i).map(|x| (x.lost as f64) <= threshold);
        for i in fault_bucket..self.series.len() {
            match (quiet(i), quiet(i + 1)) {
                (Some(true), Some(true)) | (Some(true), None) => {
                    let start = (i as u64 * b).max(tf.as_ns());
                    return (start - tf.as_ns()) as f64 / 1e9;
                }
                _ => {}
            }
        }
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The cached bucket lookup and the division-free closing agree with the plain
        /// divisions they replace, for times in any order (lookups) and in time order (closing),
        /// including times past the horizon.
        #[test]
        fn buckets_match_the_division(
            bucket_ns in 1u64..5_000,
            horizon_ns in 1u64..100_000,
            picks in proptest::collection::vec((0u64..40, 0u64..3, 0u64..150_000, any::<bool>()), 1..200),
        ) {
            // half near bucket boundaries (one before, at, one after), half anywhere
            let mut times: Vec<u64> = picks
                .iter()
                .map(|&(k, d, t, edge)| if edge { (k * bucket_ns + d).saturating_sub(1) } else { t })
                .collect();
            let mut o = Observations::new(1, bucket_ns, SimTime::from_ns(horizon_ns), SimTime::ZERO);
            let n = o.series.len();
            for (k, &t) in times.iter().enumerate() {
                o.bucket(SimTime::from_ns(t)).requests += k as u64 + 1;
            }
            let mut expected = vec![0u64; n];
            for (k, &t) in times.iter().enumerate() {
                expected[((t / bucket_ns) as usize).min(n - 1)] += k as u64 + 1;
            }
            let got: Vec<u64> = o.series.iter().map(|b| b.requests).collect();
            prop_assert_eq!(got, expected);
            times.sort_unstable();
            for (k, &t) in times.iter().enumerate() {
                o.close_buckets(SimTime::from_ns(t), k as u64 + 1, 1);
                let cur = ((t / bucket_ns) as usize).min(n);
                prop_assert_eq!(o.closed, cur);
                if cur > 0 {
                    prop_assert!(o.series[cur - 1].live_sessions > 0);
                }
            }
        }
    }
}
