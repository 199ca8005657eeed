//! The run store: `<out>/.sessim-runs.jsonl`, one JSON line per finished run, appended as runs
//! finish. It makes an interrupted `run` resumable (finished runs are read back and skipped) and
//! lets `merge` join shards. The first line is a header with the fingerprint of what is being
//! run; a store with another fingerprint is refused rather than mixed. A line torn by an
//! interruption does not parse and is ignored (that run is simply run again). Floats are written
//! by serde_json's shortest round-trip formatting, so a record read back is bit-identical.

use super::RunRecord;
use crate::model::observe::Bucket;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File name of the store inside a results directory.
pub const FILE: &str = ".sessim-runs.jsonl";

#[derive(Serialize, Deserialize)]
struct Header {
    sessim_run_store: u32,
    fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct Line {
    point: usize,
    replication: u32,
    events: u64,
    values: Vec<Option<f64>>,
    node_requests: Vec<u64>,
    series: Option<Vec<Bucket>>,
}

impl From<&RunRecord> for Line {
    fn from(r: &RunRecord) -> Line {
        Line {
            point: r.point,
            replication: r.replication,
            events: r.events,
            values: r
                .values
                .iter()
                .map(|&v| (!v.is_nan()).then_some(v))
                .collect(),
            node_requests: r.node_requests.clone(),
            series: r.series.clone(),
        }
    }
}

impl From<Line> for RunRecord {
    fn from(l: Line) -> RunRecord {
        RunRecord {
            point: l.point,
            replication: l.replication,
            events: l.events,
            values: l
                .values
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
            node_requests: l.node_requests,
            series: l.series,
        }
    }
}

/// Reads the finished runs of the store in `dir`, if any.
///
/// # Errors
/// When the store exists but belongs to another fingerprint (different config, seed or shard),
/// or cannot be read.
pub fn load(dir: &Path, fingerprint: &str) -> Result<Vec<RunRecord>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut lines = text.lines();
    match lines.next().map(serde_json::from_str::<Header>) {
        Some(Ok(h)) if h.fingerprint == fingerprint => {}
        Some(Ok(_)) => bail!(crate::cli::InputError(format!(
            "{} holds runs of a different experiment, seed or shard; remove it or choose another --out",
            path.display()
        ))),
        _ => return Ok(Vec::new()), // torn or empty header: nothing usable
    }
    let width = crate::model::observe::METRICS.len();
    let mut out: Vec<RunRecord> = lines
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .filter(|l| l.values.len() == width)
        .map(RunRecord::from)
        .collect();
    out.sort_by_key(|r| (r.point, r.replication));
    out.dedup_by_key(|r| (r.point, r.replication));
    Ok(out)
}

/// Reads every finished run of the store in `dir`, whatever its fingerprint (for `merge`, which
/// checks fingerprints through the manifests). Returns (fingerprint, records).
///
/// # Errors
/// A missing or unreadable store.
pub fn load_any(dir: &Path) -> Result<(String, Vec<RunRecord>)> {
    let path = dir.join(FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Header = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .with_context(|| format!("{}: no valid header", path.display()))?;
    let out = lines
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .map(RunRecord::from)
        .collect();
    Ok((header.fingerprint, out))
}

/// An open store, appended to as runs finish (shared by the worker threads).
pub struct Writer {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Writer {
    /// Opens the store in `dir` for appending; writes the header when the file is new (or its
    /// header was unusable, in which case the file is started afresh).
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(dir: &Path, fingerprint: &str, fresh: bool) -> Result<Writer> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(!fresh)
            .write(true)
            .truncate(fresh)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if !fresh {
            // a line torn by an interruption must not swallow the next record
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            if bytes.last().is_some_and(|&b| b != b'\n') {
                file.write_all(b"\n")?;
            }
        }
        if fresh {
            let h = serde_json::to_string(&Header {
                sessim_run_store: 1,
                fingerprint: fingerprint.to_string(),
            })?;
            file.write_all(format!("{h}\n").as_bytes())?;
        }
        Ok(Writer {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends one finished run (one write call, flushed).
    ///
    /// # Errors
    /// I/O errors.
    pub fn append(&self, r: &RunRecord) -> Result<()> {
        let line = serde_json::to_string(&Line::from(r))? + "\n";
        let mut f = self.file.lock().expect("store lock");
        f.write_all(line.as_bytes())
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_torn_lines() {
        let dir = std::env::temp_dir().join(format!("sessim-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let r = RunRecord {
            point: 1,
            replication: 2,
            values: {
                let mut v = vec![
                    0.1 + 0.2,
                    f64::NAN,
                    1e-300,
                    0.38766006984866125,
                    1.0501165501165501,
                ];
                v.resize(crate::model::observe::METRICS.len(), 0.0);
                v
            },
            series: Some(vec![Bucket {
                requests: 3,
                ..Default::default()
            }]),
            events: 7,
            node_requests: vec![4, 5],
        };
        let w = Writer::open(&dir, "fp", true).unwrap();
        w.append(&r).unwrap();
        // a record of another metric layout (an older sessim) is ignored
        let old_layout = RunRecord {
            point: 0,
            replication: 0,
            values: vec![1.0; 3],
            series: None,
            events: 1,
            node_requests: vec![],
        };
        w.append(&old_layout).unwrap();
        drop(w);
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(FILE))
            .unwrap()
            .write_all(b"{\"point\":3,\"repl")
            .unwrap();
        let back = load(&dir, "fp").unwrap();
        assert_eq!(back.len(), 1);
        for (a, b) in back[0].values.iter().zip(&r.values) {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{a} vs {b}"
            );
        }
        assert_eq!(back[0].series, r.series);
        assert!(load(&dir, "other").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
