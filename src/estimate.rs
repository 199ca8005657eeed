//! An up-front estimate of a run's peak memory, so that an experiment far too big for the
//! machine is refused before it starts (and is not killed by the OOM killer an hour in).
//!
//! Per run: `BASE_BYTES + live_sessions × BYTES_PER_SESSION + clients × BYTES_PER_CLIENT`.
//! The server-side sessions alive at the end are those created in the last
//! `W = min(horizon, D + session_timeout)`, with `D = (E[pages per user session] − 1) × E[think]`
//! a user session's mean duration. In that window `U` user sessions start and their clients
//! send `R` requests, `k = E[parallel_requests]` per page. The first page of a user session
//! carries no cookie, so each of its `k` requests creates a session; a later request creates one
//! with probability `p`, which is `1 − 1/app.nodes` when sessions are node-bound (`local`) and the
//! balancer does not pin them (`round-robin`), else 0. So
//! `live_sessions = k·U + p·(R − k·U)`, where
//! - open workload: `U = session_rate × W`, `R = U × E[pages] × k`, and
//!   `clients = session_rate × min(horizon, D)` (clients in a session at once);
//! - closed workload: `clients = workload.clients = n`, `U = n / C × W`, plus the `n` user
//!   sessions all clients start at time 0 when the horizon is shorter than `D + session_timeout`,
//!   and `R = n × k × W / (E[think] + 2 × network.client_balancer)`, with
//!   `C = E[pages] × (E[think] + 2 × network.client_balancer)` a user session's cycle.
//!
//! Against the bench scenarios' measured peaks: closed-loop-rr 3.73e5 estimated, 3.70e5
//! measured; closed-loop-rr-100k 1.19e6 and 1.18e6; full-feature 6.0e5 and 6.2e5 (its store
//! crashes lose sessions that are created again); a unit test checks small runs of each kind.
//! The experiment's estimate is the largest run's × the runs going at once (`min(threads,
//! runs)`). `BYTES_PER_SESSION` is of the order `sessim bench` measures per live session:
//! 90–95 B with local sessions, 280 B for msm non-sticky, whose four store items per session
//! dominate (and 410 B with 1 M sessions, when its tables have just doubled); it is not exact.

use crate::scenario::config::{CountDist, TimeDist, WorkloadKind};
use crate::scenario::{DesignPoint, Experiment};

/// Memory of one live session (measured by `sessim bench`: ~200 B), rounded up \[bytes\].
pub const BYTES_PER_SESSION: f64 = 256.0;
/// Memory of one client process (state and random streams) \[bytes\].
pub const BYTES_PER_CLIENT: f64 = 256.0;
/// Memory of a run apart from sessions and clients (nodes, event list, series) \[bytes\].
pub const BASE_BYTES: f64 = 16.0 * 1024.0 * 1024.0;

/// The estimate for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEstimate {
    /// Live sessions at the peak.
    pub live_sessions: f64,
    /// Clients at once.
    pub clients: f64,
    /// Peak memory \[bytes\].
    pub bytes: f64,
}

fn mean_secs(d: &TimeDist) -> f64 {
    let capped = |m: f64, cap: &Option<crate::scenario::units::Duration>| match cap {
        Some(c) => m.min(c.secs_f64()),
        None => m,
    };
    match d {
        TimeDist::Exponential { mean, cap } | TimeDist::Lognormal { mean, cap, .. } => {
            capped(mean.secs_f64(), cap)
        }
        TimeDist::Fixed { value } => value.secs_f64(),
        TimeDist::Weibull { shape, scale } => {
            scale.secs_f64() * libm::tgamma(1.0 + 1.0 / shape.max(1e-3))
        }
    }
}

fn mean_count(d: &CountDist) -> f64 {
    match d {
        CountDist::Geometric { mean } | CountDist::Lognormal { mean, .. } => mean.max(1.0),
        CountDist::Fixed { value } => (*value).max(1) as f64,
    }
}

/// The peak memory of one run of `p`.
pub fn run_estimate(p: &DesignPoint) -> RunEstimate {
    let c = &p.config;
    let w = &c.workload;
    let horizon = c.horizon.secs_f64();
    let think = mean_secs(&w.think_time);
    let reqs = mean_count(&w.requests_per_session);
    let k = mean_count(&w.parallel_requests);
    let duration = (reqs - 1.0) * think;
    let to_live = duration + c.app.session_timeout.secs_f64();
    let kept = to_live.min(horizon);
    let node_bound = crate::model::strategy::find(&c.strategy.kind).is_some_and(|e| e.node_bound);
    let pinned = crate::model::balancer::find(&c.balancer.kind).is_some_and(|e| e.pins_sessions);
    let p_new = if node_bound && !pinned {
        1.0 - 1.0 / f64::from(c.app.nodes.max(1))
    } else {
        0.0
    };
    // k sessions from each first page, p per later request
    let sessions = |user_sessions: f64, requests: f64| {
        k * user_sessions + p_new * (requests - k * user_sessions).max(0.0)
    };
    let (live_sessions, clients) = match w.kind {
        WorkloadKind::Open => {
            let rate = w.session_rate.unwrap_or(0.0).max(0.0);
            let users = rate * kept;
            (
                sessions(users, users * reqs * k),
                rate * duration.min(horizon),
            )
        }
        WorkloadKind::Closed => {
            let n = w.clients.unwrap_or(0) as f64;
            let page = (think + 2.0 * c.network.client_balancer.secs_f64()).max(1e-3);
            let burst = if horizon < to_live { n } else { 0.0 };
            let users = burst + n / (reqs * page) * kept;
            (sessions(users, n * k * kept / page), n)
        }
        // at most every session of the log at once
        WorkloadKind::Trace => {
            let sessions = w
                .path
                .as_deref()
                .and_then(|p| crate::model::replay::load(p, w).ok())
                .map_or(0, |r| r.sessions.len());
            (sessions as f64, sessions as f64)
        }
    };
    RunEstimate {
        live_sessions,
        clients,
        bytes: BASE_BYTES + live_sessions * BYTES_PER_SESSION + clients * BYTES_PER_CLIENT,
    }
}

/// The machine's available memory (`MemAvailable` of /proc/meminfo) \[bytes\], if known.
pub fn available_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = bytes;
    let mut i = 0;
    while x >= 1024.0 && i + 1 < UNITS.len() {
        x /= 1024.0;
        i += 1;
    }
    format!("{x:.1} {}", UNITS[i])
}

/// The estimate of a whole experiment: its largest run × the runs going at once.
#[derive(Debug, Clone)]
pub struct Estimate<'a> {
    /// The design point with the largest run.
    pub point: &'a DesignPoint,
    /// That run's estimate.
    pub run: RunEstimate,
    /// Runs at once.
    pub at_once: usize,
    /// Peak memory \[bytes\].
    pub bytes: f64,
}

impl Estimate<'_> {
    /// One line: the estimate and what it is made of.
    pub fn describe(&self) -> String {
        format!(
            "estimated peak memory {} ({:.3e} live sessions and {:.3e} clients in the largest run{}, × {} runs at once)",
            human(self.bytes),
            self.run.live_sessions,
            self.run.clients,
            if self.point.label == "base" {
                String::new()
            } else {
                format!(" [{}]", self.point.label)
            },
            self.at_once
        )
    }

    /// The config keys that make it big.
    pub fn keys_to_change(&self) -> &'static str {
        match self.point.config.workload.kind {
            WorkloadKind::Open => "workload.session_rate or app.session_timeout (or horizon)",
            WorkloadKind::Closed => "workload.clients or app.session_timeout (or horizon)",
            WorkloadKind::Trace => "workload.max_requests or workload.time_scale",
        }
    }
}

/// The estimate for `exp` run on `threads` worker threads (0 = one per core).
pub fn estimate(exp: &Experiment, threads: usize) -> Estimate<'_> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let runs: usize = exp
        .points
        .iter()
        .map(|p| p.config.replications as usize)
        .sum();
    let at_once = threads.min(runs).max(1);
    let (point, run) = exp
        .points
        .iter()
        .map(|p| (p, run_estimate(p)))
        .max_by(|a, b| a.1.bytes.total_cmp(&b.1.bytes))
        .expect("an experiment has at least one design point");
    Estimate {
        point,
        bytes: run.bytes * at_once as f64,
        run,
        at_once,
    }
}

/// Refuses `exp` when its estimate exceeds the available memory (skipped when that is unknown).
///
/// # Errors
/// A message naming the estimate, the available memory and the keys to change.
pub fn check_fits(exp: &Experiment, threads: usize, file: &str) -> Result<(), String> {
    let Some(avail) = available_bytes() else {
        return Ok(());
    };
    let e = estimate(exp, threads);
    if e.bytes <= avail {
        return Ok(());
    }
    let fewer = if e.at_once > 1 && e.run.bytes <= avail {
        format!(
            "; or run fewer at once with --threads {}",
            ((avail / e.run.bytes) as usize).max(1)
        )
    } else {
        String::new()
    };
    Err(format!(
        "{file}: {} exceeds the available memory ({} MemAvailable); lower {}{fewer}",
        e.describe(),
        human(avail),
        e.keys_to_change()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(t: &str) -> Experiment {
        crate::scenario::load_str(t, "t.toml", None, "t").unwrap()
    }

    #[test]
    fn open_workload_keeps_sessions_until_the_timeout() {
        let e = load(
            "seed = 1\nhorizon = \"2h\"\n[workload]\nkind = \"open\"\nsession_rate = 10.0\n\
             requests_per_session = { dist = \"fixed\", value = 11 }\n\
             think_time = { dist = \"fixed\", value = \"6s\" }\n[balancer]\nkind = \"ip-hash\"\n",
        );
        let r = run_estimate(&e.points[0]);
        // 10/s × (60 s of session + 1800 s of timeout)
        assert!((r.live_sessions - 18_600.0).abs() < 1e-6, "{r:?}");
        assert!((r.clients - 600.0).abs() < 1e-6, "{r:?}");
    }

    /// The estimate against simulated peaks, for each term of the formula: node-bound sessions
    /// behind round robin (open and closed), behind a pinning balancer with parallel requests,
    /// and store-backed sessions with parallel requests.
    #[test]
    fn estimates_track_simulated_peaks() {
        let cases = [
            "horizon = \"120s\"\n[workload]\nkind = \"closed\"\nclients = 300\n\
             think_time = { dist = \"exponential\", mean = \"1s\" }\n\
             [app]\nnodes = 4\n[balancer]\nkind = \"round-robin\"\n",
            "horizon = \"300s\"\n[workload]\nkind = \"open\"\nsession_rate = 5.0\n\
             requests_per_session = { dist = \"geometric\", mean = 10 }\n\
             think_time = { dist = \"exponential\", mean = \"2s\" }\n\
             [app]\nnodes = 2\n[balancer]\nkind = \"round-robin\"\n",
            "horizon = \"120s\"\n[workload]\nkind = \"closed\"\nclients = 300\n\
             think_time = { dist = \"exponential\", mean = \"1s\" }\n\
             parallel_requests = { dist = \"fixed\", value = 2 }\n\
             [app]\nnodes = 4\n[balancer]\nkind = \"ip-hash\"\n",
            "horizon = \"60s\"\n[workload]\nkind = \"closed\"\nclients = 200\n\
             think_time = { dist = \"exponential\", mean = \"2s\" }\n\
             parallel_requests = { dist = \"fixed\", value = 3 }\n\
             [app]\nnodes = 4\n[balancer]\nkind = \"round-robin\"\n\
             [store]\nkind = \"memcached\"\nnodes = 2\n[strategy]\nkind = \"msm-non-sticky\"\n",
        ];
        for case in cases {
            let e = load(&format!("seed = 7\n{case}"));
            let estimated = run_estimate(&e.points[0]).live_sessions;
            let simulated = crate::model::sim::simulate(&e.points[0], 0).live_sessions_peak as f64;
            let ratio = estimated / simulated;
            assert!(
                (0.85..1.15).contains(&ratio),
                "{estimated} vs {simulated}: {case}"
            );
        }
    }

    #[test]
    fn the_horizon_bounds_the_sessions() {
        let e = load(
            "seed = 1\nhorizon = \"10s\"\n[workload]\nkind = \"open\"\nsession_rate = 10.0\n\
             [balancer]\nkind = \"ip-hash\"\n",
        );
        assert!((run_estimate(&e.points[0]).live_sessions - 100.0).abs() < 1e-6);
    }
}
