//! `sessim bench`: the benchmark harness. Runs replication 0 of the first design point of each
//! benchmark experiment (default `experiments/bench/*.toml`), single-threaded, each run in a
//! child process of its own so that peak RSS is the scenario's, `--repeat` times, and prints the
//! run of median wall time: simulated requests per wall second, events per wall second, peak
//! RSS, the peak number of server-side sessions alive at once and RSS per such session, the page
//! faults the run took; and `best_req/s`, the requests per wall second of the fastest run (on a
//! shared machine, the least disturbed one: the steadiest figure to compare builds by).
//!
//! Wall time covers building the model (clients, streams) and running it to the horizon, not
//! loading the config or writing results. Page faults are counted over the same span: each is the
//! first touch of a 4 KiB or 2 MiB page as the run's tables grow, which the kernel must zero (and,
//! on a VM, the hypervisor may first have to back).

use super::InputError;
use crate::model::simulate;
use crate::scenario;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Peak resident set size of this process [bytes] (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Page faults this process has taken so far (minor and major, `getrusage(2)`), if known.
pub fn page_faults() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: `getrusage` only writes the `rusage` it is given, a valid zeroed value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above; RUSAGE_SELF is a valid `who`.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } == 0 {
            return Some((ru.ru_minflt + ru.ru_majflt) as u64);
        }
    }
    None
}

/// Measures one scenario in this process; prints one `key=value` line for the parent.
///
/// # Errors
/// The experiment file cannot be loaded (see [`scenario::load`]).
pub fn one(file: &Path) -> Result<ExitCode> {
    let exp = scenario::load(Some(file))?;
    let point = &exp.points[0];
    let faults0 = page_faults();
    let t0 = std::time::Instant::now();
    let out = simulate(point, 0);
    let wall = t0.elapsed().as_secs_f64();
    let faults = page_faults().zip(faults0).map(|(b, a)| b - a);
    println!(
        "requests={} events={} wall_s={wall:.6} peak_rss_bytes={} live_sessions_peak={} \
         page_faults={}",
        out.answered_total,
        out.events,
        peak_rss_bytes().unwrap_or(0),
        out.live_sessions_peak,
        faults.map_or("nan".to_string(), |f| f.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// One measured run, as the child printed it.
struct Sample {
    requests: f64,
    events: f64,
    wall_s: f64,
    peak_rss_bytes: f64,
    live_sessions_peak: f64,
    page_faults: f64,
}

impl Sample {
    fn parse(text: &str) -> Sample {
        let get = |k: &str| -> f64 {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        Sample {
            requests: get("requests"),
            events: get("events"),
            wall_s: get("wall_s"),
            peak_rss_bytes: get("peak_rss_bytes"),
            live_sessions_peak: get("live_sessions_peak"),
            page_faults: get("page_faults"),
        }
    }
}

/// Runs every benchmark file `repeat` times, each in a child process, and prints a table.
///
/// # Errors
/// `experiments/bench` is missing (when no files are named) or a child fails.
pub fn run(files: Vec<PathBuf>, repeat: u32) -> Result<ExitCode> {
    let files = if files.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir("experiments/bench")
            .context("reading experiments/bench (run from the repository root or name the files)")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        v.sort();
        v
    } else {
        files
    };
    if files.is_empty() {
        return Err(InputError("no benchmark experiments found".into()).into());
    }
    let exe = std::env::current_exe()?;
    println!(
        "{:<22} {:>10} {:>11} {:>8} {:>12} {:>12} {:>12} {:>9} {:>10} {:>10} {:>8}",
        "scenario",
        "requests",
        "events",
        "wall_s",
        "requests/s",
        "events/s",
        "best_req/s",
        "rss_MiB",
        "sessions",
        "B/session",
        "faults"
    );
    for f in files {
        let mut samples = Vec::new();
        for _ in 0..repeat {
            let o = std::process::Command::new(&exe)
                .arg("bench")
                .arg("--one")
                .arg(&f)
                .output()?;
            if !o.status.success() {
                eprint!("{}", String::from_utf8_lossy(&o.stderr));
                return Ok(ExitCode::from(o.status.code().unwrap_or(1) as u8));
            }
            samples.push(Sample::parse(&String::from_utf8_lossy(&o.stdout)));
        }
        samples.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
        let m = &samples[samples.len() / 2];
        let best = &samples[0];
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        println!(
            "{name:<22} {:>10.0} {:>11.0} {:>8.3} {:>12.0} {:>12.0} {:>12.0} {:>9.1} {:>10.0} {:>10.0} {:>8.0}",
            m.requests,
            m.events,
            m.wall_s,
            m.requests / m.wall_s,
            m.events / m.wall_s,
            best.requests / best.wall_s,
            m.peak_rss_bytes / 1048576.0,
            m.live_sessions_peak,
            m.peak_rss_bytes / m.live_sessions_peak.max(1.0),
            m.page_faults
        );
    }
    Ok(ExitCode::SUCCESS)
}
