//! An up-front estimate of a run's peak memory, so that an experiment far too big for the
//! machine is refused before it starts (and is not killed by the OOM killer an hour in).
//!
//! Per run: `BASE_BYTES + live_sessions × BYTES_PER_SESSION + clients × BYTES_PER_CLIENT`, where
//! - open workload: `live_sessions = session_rate × min(horizon, D + session_timeout)` and
//!   `clients = session_rate × min(horizon, D)` (clients in a session at once);
//! - closed workload: `clients = workload.clients` and
//!   `live_sessions = clients / C × min(horizon, D + session_timeout)` (at least `clients`);
//!
//! with `D = (E[requests per session] − 1) × E[think]` the mean session duration and
//! `C = E[requests per session] × (E[think] + 2 × network.client_balancer)` a closed client's
//! cycle. The experiment's estimate is the largest run's × the runs going at once
//! (`min(threads, runs)`). `BYTES_PER_SESSION` is what `sessim bench` measures (~200 B per live
//! session: the session table entry, its id and bookkeeping), rounded up.

use crate::scenario::config::{CountDist, TimeDist, WorkloadKind};
use crate::scenario::{DesignPoint, Experiment};

/// Memory of one live session (measured by `sessim bench`: ~200 B), rounded up [bytes].
pub const BYTES_PER_SESSION: f64 = 256.0;
/// Memory of one client process (state and random streams) [bytes].
pub const BYTES_PER_CLIENT: f64 = 256.0;
/// Memory of a run apart from sessions and clients (nodes, event list, series) [bytes].
pub const BASE_BYTES: f64 = 16.0 * 1024.0 * 1024.0;

/// The estimate for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEstimate {
    /// Live sessions at the peak.
    pub live_sessions: f64,
    /// Clients at once.
    pub clients: f64,
    /// Peak memory [bytes].
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
    let duration = (reqs - 1.0) * think;
    let kept = (duration + c.app.session_timeout.secs_f64()).min(horizon);
    let (live_sessions, clients) = match w.kind {
        WorkloadKind::Open => {
            let rate = w.session_rate.unwrap_or(0.0).max(0.0);
            (rate * kept, rate * duration.min(horizon))
        }
        WorkloadKind::Closed => {
            let n = w.clients.unwrap_or(0) as f64;
            let cycle = (reqs * (think + 2.0 * c.network.client_balancer.secs_f64())).max(1e-3);
            ((n / cycle * kept).max(n), n)
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

/// The machine's available memory (`MemAvailable` of /proc/meminfo) [bytes], if known.
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
    /// Peak memory [bytes].
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

    #[test]
    fn the_horizon_bounds_the_sessions() {
        let e = load(
            "seed = 1\nhorizon = \"10s\"\n[workload]\nkind = \"open\"\nsession_rate = 10.0\n\
             [balancer]\nkind = \"ip-hash\"\n",
        );
        assert!((run_estimate(&e.points[0]).live_sessions - 100.0).abs() < 1e-6);
    }
}
