//! `sessim bench`: the benchmark harness. Runs replication 0 of the first design point of each
//! benchmark experiment (default `experiments/bench/*.toml`), single-threaded, each in a child
//! process of its own so that peak RSS is the scenario's, and prints simulated requests per
//! wall second, events per wall second and peak RSS.

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

/// Measures one scenario in this process; prints one `key=value` line for the parent.
pub fn one(file: &Path) -> Result<ExitCode> {
    let exp = scenario::load(Some(file))?;
    let point = &exp.points[0];
    let t0 = std::time::Instant::now();
    let out = simulate(point, 0);
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "requests={} events={} wall_s={wall:.6} peak_rss_bytes={} live_sessions_mean={}",
        out.answered_total,
        out.events,
        peak_rss_bytes().unwrap_or(0),
        out.metrics.live_sessions_mean
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs every benchmark file in a child process and prints a table.
pub fn run(files: Vec<PathBuf>) -> Result<ExitCode> {
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
        "{:<22} {:>12} {:>13} {:>9} {:>15} {:>15} {:>13} {:>12}",
        "scenario",
        "requests",
        "events",
        "wall_s",
        "requests/s",
        "events/s",
        "peak_rss_MiB",
        "bytes/sess"
    );
    for f in files {
        let o = std::process::Command::new(&exe)
            .arg("bench")
            .arg("--one")
            .arg(&f)
            .output()?;
        if !o.status.success() {
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
            return Ok(ExitCode::from(o.status.code().unwrap_or(1) as u8));
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let get = |k: &str| -> f64 {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let (req, ev, wall, rss, live) = (
            get("requests"),
            get("events"),
            get("wall_s"),
            get("peak_rss_bytes"),
            get("live_sessions_mean"),
        );
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        println!(
            "{name:<22} {req:>12.0} {ev:>13.0} {wall:>9.3} {:>15.0} {:>15.0} {:>13.1} {:>12.0}",
            req / wall,
            ev / wall,
            rss / 1048576.0,
            if live > 0.0 { rss / live } else { f64::NAN }
        );
    }
    Ok(ExitCode::SUCCESS)
}
