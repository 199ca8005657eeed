//! `sessim merge`: joins the results directories of `run --shard K/N` into the files an
//! unsharded run writes, byte for byte. Each shard's manifest carries the effective config and
//! its shard; the shards must be 1..=N of one N, of one config, each once, and complete.

use super::{store, write_all, RunRecord};
use crate::cli::InputError;
use crate::runner::Shard;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct ShardDir {
    dir: PathBuf,
    name: String,
    source: String,
    seed: u64,
    replications: u32,
    shard: Shard,
    config: toml::Table,
}

fn read_manifest(dir: &Path) -> Result<ShardDir> {
    let path = dir.join("manifest.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let bad = |what: &str| InputError(format!("{}: {what}", path.display()));
    let t: toml::Table = text
        .parse()
        .map_err(|_| bad("not a sessim manifest (invalid TOML)"))?;
    let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(String::from);
    let i = |k: &str| t.get(k).and_then(|v| v.as_integer());
    let shard = s("shard")
        .ok_or_else(|| bad("not a shard (no `shard` key): was it run with --shard K/N?"))?;
    Ok(ShardDir {
        dir: dir.to_path_buf(),
        name: s("experiment").ok_or_else(|| bad("no `experiment`"))?,
        source: s("source").ok_or_else(|| bad("no `source`"))?,
        seed: i("seed").ok_or_else(|| bad("no `seed`"))? as u64,
        replications: i("replications").ok_or_else(|| bad("no `replications`"))? as u32,
        shard: Shard::parse(&shard).map_err(|m| bad(&m))?,
        config: t
            .get("config")
            .and_then(|v| v.as_table())
            .cloned()
            .ok_or_else(|| bad("no [config]"))?,
    })
}

/// Merges shard directories into `out`; returns the number of runs written.
///
/// # Errors
/// [`InputError`] when the directories are not the complete set of shards of one experiment
/// (with what is wrong or missing); I/O errors.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize> {
    if dirs.is_empty() {
        bail!(InputError("merge: name the shard directories".into()));
    }
    let shards: Vec<ShardDir> = dirs
        .iter()
        .map(|d| read_manifest(d))
        .collect::<Result<_>>()?;
    let first = &shards[0];
    let n = first.shard.n;
    for s in &shards[1..] {
        if s.config != first.config
            || s.shard.n != n
            || s.seed != first.seed
            || s.replications != first.replications
        {
            bail!(InputError(format!(
                "{} and {} are shards of different experiments or shard counts",
                first.dir.display(),
                s.dir.display()
            )));
        }
    }
    let ks: BTreeSet<u32> = shards.iter().map(|s| s.shard.k).collect();
    if ks.len() != shards.len() {
        bail!(InputError("a shard is named twice".into()));
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !ks.contains(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        bail!(InputError(format!(
            "missing shards: {}",
            missing.join(", ")
        )));
    }
    let text = toml::to_string(&first.config)?;
    let exp = crate::scenario::load_str(&text, &first.source, None, &first.name)?;
    let mut runs: Vec<RunRecord> = Vec::new();
    for s in &shards {
        let (fp, records) = store::load_any(&s.dir)?;
        if fp != super::fingerprint(&exp, s.seed, s.replications, Some(s.shard)) {
            bail!(InputError(format!(
                "{}: its run store does not match its manifest",
                s.dir.display()
            )));
        }
        runs.extend(records);
    }
    runs.sort_by_key(|r| (r.point, r.replication));
    let before = runs.len();
    runs.dedup_by_key(|r| (r.point, r.replication));
    if runs.len() != before {
        bail!(InputError("two shards hold the same run".into()));
    }
    if exp.points.iter().all(|p| p.config.stopping.is_none()) {
        let want = exp.points.len() * first.replications as usize;
        if runs.len() != want {
            bail!(InputError(format!(
                "the shards hold {} of {want} runs: rerun the incomplete shards (a rerun resumes)",
                runs.len()
            )));
        }
    }
    write_all(out, &exp, first.seed, first.replications, &runs, None)?;
    let w = store::Writer::open(
        out,
        &super::fingerprint(&exp, first.seed, first.replications, None),
        true,
    )?;
    for r in &runs {
        w.append(r)?;
    }
    Ok(runs.len())
}
