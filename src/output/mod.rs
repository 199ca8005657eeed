//! Result files: runs.csv, summary.csv, timeseries.csv and manifest.toml (DESIGN.md's output
//! contract). Every file is written atomically: to a temporary file in the same directory,
//! flushed and synced, then renamed over the target, so an interrupted run never leaves a
//! half-written file.

pub mod atomic;
pub mod merge;
pub mod plot;
pub mod store;
pub mod summary;

use crate::model::observe::{Bucket, METRICS};
use crate::scenario::Experiment;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// One finished run.
pub struct RunRecord {
    /// Design point index.
    pub point: usize,
    /// Replication index.
    pub replication: u32,
    /// Metric values in [`METRICS`] order.
    pub values: Vec<f64>,
    /// Timeseries (kept for replication 0 only).
    pub series: Option<Vec<Bucket>>,
    /// Events handled.
    pub events: u64,
    /// Requests served per app node after warm-up.
    pub node_requests: Vec<u64>,
}

/// Formats a value for CSV: shortest round-trip decimal, empty for NaN.
pub fn fmt_value(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x}")
    }
}

fn csv_bytes(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().context("flushing CSV")
}

/// runs.csv bytes: one row per run, sorted by (point, replication).
pub fn runs_csv(exp: &Experiment, seed: u64, runs: &[RunRecord]) -> Result<Vec<u8>> {
    let mut header: Vec<String> = ["experiment", "point", "replication", "seed"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(exp.swept.iter().cloned());
    header.extend(METRICS.iter().map(|m| m.name.to_string()));
    csv_bytes(
        &header,
        runs.iter().map(|r| {
            let p = &exp.points[r.point];
            let mut row = vec![
                exp.name.clone(),
                p.label.clone(),
                r.replication.to_string(),
                seed.to_string(),
            ];
            row.extend(p.params.iter().map(|(_, v)| v.clone()));
            row.extend(r.values.iter().map(|&v| fmt_value(v)));
            row
        }),
    )
}

/// summary.csv bytes: one row per (point, metric) with Student-t 95% intervals.
pub fn summary_csv(exp: &Experiment, runs: &[RunRecord]) -> Result<Vec<u8>> {
    let mut header: Vec<String> = ["experiment", "point"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(exp.swept.iter().cloned());
    header.extend(
        ["metric", "n", "mean", "std", "ci95_low", "ci95_high"]
            .iter()
            .map(|s| s.to_string()),
    );
    let mut rows = Vec::new();
    for p in &exp.points {
        let of_point: Vec<&RunRecord> = runs.iter().filter(|r| r.point == p.index).collect();
        if of_point.is_empty() {
            continue;
        }
        for (m, def) in METRICS.iter().enumerate() {
            let xs: Vec<f64> = of_point
                .iter()
                .map(|r| r.values[m])
                .filter(|x| !x.is_nan())
                .collect();
            let s = summary::Summary::of(&xs);
            let mut row = vec![exp.name.clone(), p.label.clone()];
            row.extend(p.params.iter().map(|(_, v)| v.clone()));
            row.push(def.name.to_string());
            row.push(s.n.to_string());
            row.extend(
                [s.mean, s.std, s.ci95_low, s.ci95_high]
                    .iter()
                    .map(|&v| fmt_value(v)),
            );
            rows.push(row);
        }
    }
    csv_bytes(&header, rows.into_iter())
}

/// timeseries.csv bytes: replication 0 of every point, one row per bucket.
pub fn timeseries_csv(exp: &Experiment, runs: &[RunRecord]) -> Result<Vec<u8>> {
    let header: Vec<String> = [
        "point",
        "t_s",
        "requests_per_s",
        "errors_per_s",
        "sessions_started_per_s",
        "session_misses_per_s",
        "latency_mean_ms",
        "live_sessions",
        "nodes_up",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for r in runs.iter().filter(|r| r.replication == 0) {
        let Some(series) = &r.series else { continue };
        let p = &exp.points[r.point];
        let width_s = p.config.output.timeseries_bucket.secs_f64();
        for (i, b) in series.iter().enumerate() {
            let per_s = |x: u64| fmt_value(x as f64 / width_s);
            let lat = if b.latency_n > 0 {
                b.latency_sum_ns as f64 / b.latency_n as f64 / 1e6
            } else {
                f64::NAN
            };
            rows.push(vec![
                p.label.clone(),
                fmt_value(i as f64 * width_s),
                per_s(b.requests),
                per_s(b.failed),
                per_s(b.started),
                per_s(b.lost),
                fmt_value(lat),
                b.live_sessions.to_string(),
                b.nodes_up.to_string(),
            ]);
        }
    }
    csv_bytes(&header, rows.into_iter())
}

/// nodes.csv bytes: requests served by each app node after warm-up, one row per (run, node).
pub fn nodes_csv(exp: &Experiment, runs: &[RunRecord]) -> Result<Vec<u8>> {
    let header: Vec<String> = ["experiment", "point", "replication", "node", "requests"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    csv_bytes(
        &header,
        runs.iter().flat_map(|r| {
            let label = &exp.points[r.point].label;
            r.node_requests.iter().enumerate().map(move |(i, n)| {
                vec![
                    exp.name.clone(),
                    label.clone(),
                    r.replication.to_string(),
                    i.to_string(),
                    n.to_string(),
                ]
            })
        }),
    )
}

/// The config the runs used: the resolved tree with the effective seed and replications
/// (command-line overrides applied). Reloading it with `scenario::load_str` gives the same
/// experiment (used by `merge`).
pub fn effective_config(exp: &Experiment, seed: u64, replications: u32) -> toml::Table {
    let mut cfg = exp.resolved.clone();
    cfg.insert("seed".into(), toml::Value::Integer(seed as i64));
    cfg.insert(
        "replications".into(),
        toml::Value::Integer(replications as i64),
    );
    cfg
}

/// Fingerprint of what a results directory holds: FNV-1a 64 (hex) of the effective config's
/// TOML text, the sessim version and git revision, the metric names and the shard. The run store refuses to mix runs of different fingerprints.
pub fn fingerprint(
    exp: &Experiment,
    seed: u64,
    replications: u32,
    shard: Option<crate::runner::Shard>,
) -> String {
    let mut text = toml::to_string(&effective_config(exp, seed, replications)).unwrap_or_default();
    // runs of another binary or metric layout must not be mixed in
    text.push_str(&format!(
        "\n#sessim {} {}",
        env!("CARGO_PKG_VERSION"),
        option_env!("SESSIM_GIT_REVISION").unwrap_or("unknown")
    ));
    for m in crate::model::observe::METRICS {
        text.push_str(m.name);
        text.push(',');
    }
    if let Some(s) = shard {
        text.push_str(&format!("\n#shard {s}"));
    }
    format!("{:016x}", crate::kernel::rng::fnv1a64(text.as_bytes()))
}

/// manifest.toml text: what was run, with what, by which binary. A shard's manifest also says
/// which shard it holds; a merged or unsharded one does not, so they are identical.
pub fn manifest(
    exp: &Experiment,
    seed: u64,
    replications: u32,
    runs: &[RunRecord],
    shard: Option<crate::runner::Shard>,
) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# sessim manifest: everything needed to reproduce these results."
    );
    let _ = writeln!(m, "status = \"complete\"");
    let _ = writeln!(m, "experiment = {}", toml::Value::String(exp.name.clone()));
    let _ = writeln!(m, "source = {}", toml::Value::String(exp.source.clone()));
    let _ = writeln!(m, "seed = {seed}");
    let _ = writeln!(m, "sessim_version = \"{}\"", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        m,
        "git_revision = \"{}\"",
        option_env!("SESSIM_GIT_REVISION").unwrap_or("unknown")
    );
    if let Some(s) = shard {
        let _ = writeln!(m, "shard = \"{s}\"");
    }
    let _ = writeln!(m, "points = {}", exp.points.len());
    let _ = writeln!(m, "replications = {replications}");
    let _ = writeln!(m, "runs = {}", exp.points.len() * replications as usize);
    let _ = writeln!(m, "runs_completed = {}", runs.len());
    let _ = writeln!(m, "events = {}", runs.iter().map(|r| r.events).sum::<u64>());
    let swept: Vec<toml::Value> = exp
        .swept
        .iter()
        .map(|s| toml::Value::String(s.clone()))
        .collect();
    let _ = writeln!(m, "swept = {}", toml::Value::Array(swept));
    let labels: Vec<toml::Value> = exp
        .points
        .iter()
        .map(|p| toml::Value::String(p.label.clone()))
        .collect();
    let _ = writeln!(m, "point_labels = {}", toml::Value::Array(labels));
    let mut wrapper = toml::Table::new();
    wrapper.insert(
        "config".into(),
        toml::Value::Table(effective_config(exp, seed, replications)),
    );
    m.push('\n');
    m.push_str(&toml::to_string(&wrapper).unwrap_or_default());
    m
}

/// Writes the manifest of a run that has started but not finished: what runs, and where its
/// finished runs are (`.sessim-runs.jsonl`, `resumed` of them from an earlier attempt). The
/// complete manifest replaces it at the end.
///
/// # Errors
/// I/O errors.
pub fn write_running_manifest(
    dir: &Path,
    exp: &Experiment,
    resumed: usize,
    shard: Option<crate::runner::Shard>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# sessim manifest of an unfinished run: finished runs are in {}.",
        store::FILE
    );
    let _ = writeln!(
        m,
        "# Rerun the same command to resume; the result files appear when it completes."
    );
    let _ = writeln!(m, "status = \"running\"");
    let _ = writeln!(m, "experiment = {}", toml::Value::String(exp.name.clone()));
    let _ = writeln!(m, "source = {}", toml::Value::String(exp.source.clone()));
    if let Some(s) = shard {
        let _ = writeln!(m, "shard = \"{s}\"");
    }
    let _ = writeln!(m, "runs_finished_before_this_attempt = {resumed}");
    atomic::write(&dir.join("manifest.toml"), m.as_bytes())
}

/// Writes the manifest of a run stopped by an interrupt (SIGINT/SIGTERM): how many runs
/// finished (kept in the run store) and which are missing (`"point_label#replication"`; only
/// their count when there are more than 200), and how to resume.
///
/// # Errors
/// I/O errors.
pub fn write_interrupted_manifest(
    dir: &Path,
    exp: &Experiment,
    shard: Option<crate::runner::Shard>,
    interrupted: &crate::runner::Interrupted,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# sessim manifest of an interrupted run: finished runs are kept in {}.",
        store::FILE
    );
    let _ = writeln!(
        m,
        "# Rerun the same command to resume; the result files appear when it completes."
    );
    let _ = writeln!(m, "status = \"interrupted\"");
    let _ = writeln!(m, "experiment = {}", toml::Value::String(exp.name.clone()));
    let _ = writeln!(m, "source = {}", toml::Value::String(exp.source.clone()));
    if let Some(s) = shard {
        let _ = writeln!(m, "shard = \"{s}\"");
    }
    let _ = writeln!(m, "runs_finished = {}", interrupted.finished);
    let _ = writeln!(m, "runs_missing = {}", interrupted.missing.len());
    let _ = writeln!(
        m,
        "hint = \"rerun the same command to resume: finished runs are not run again\""
    );
    if interrupted.missing.len() <= 200 {
        let list: Vec<toml::Value> = interrupted
            .missing
            .iter()
            .map(|s| toml::Value::String(s.clone()))
            .collect();
        let _ = writeln!(m, "missing = {}", toml::Value::Array(list));
    }
    atomic::write(&dir.join("manifest.toml"), m.as_bytes())
}

/// Writes every result file into `dir` (created if needed), each atomically.
///
/// # Errors
/// I/O errors, with the path.
pub fn write_all(
    dir: &Path,
    exp: &Experiment,
    seed: u64,
    replications: u32,
    runs: &[RunRecord],
    shard: Option<crate::runner::Shard>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    atomic::write(&dir.join("runs.csv"), &runs_csv(exp, seed, runs)?)?;
    atomic::write(&dir.join("summary.csv"), &summary_csv(exp, runs)?)?;
    atomic::write(&dir.join("timeseries.csv"), &timeseries_csv(exp, runs)?)?;
    atomic::write(&dir.join("nodes.csv"), &nodes_csv(exp, runs)?)?;
    atomic::write(
        &dir.join("manifest.toml"),
        manifest(exp, seed, replications, runs, shard).as_bytes(),
    )?;
    Ok(())
}
