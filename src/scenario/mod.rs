//! Experiment files → validated design points.
//!
//! Loading: the TOML is parsed to a value tree; presets named by `preset` are merged underneath
//! (the experiment's own keys win, tables merge key by key); `[sweep]` is expanded into design
//! points by overriding dotted paths; each point's tree is deserialized with
//! `deny_unknown_fields` and validated. Every problem is reported as a [`ConfigError`] naming the
//! file, the key and what was expected; all problems found are reported together.

pub mod config;
pub mod presets;
pub mod sweep;
pub mod units;
mod validate;

pub use config::ExperimentConfig;

use std::fmt;
use std::path::Path;

/// One problem in an experiment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<embedded quickstart>`).
    pub file: String,
    /// Dotted key path, e.g. `workload.think_time.mean` (empty when the whole file is at fault).
    pub key: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: key `{}`: {}", self.file, self.key, self.message)
        }
    }
}

/// All problems found in one file.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// One design point: a fully specified scenario.
#[derive(Debug, Clone)]
pub struct DesignPoint {
    /// 0-based index in grid order.
    pub index: usize,
    /// Stable label naming the swept values, e.g. `balancer.kind=ip-hash`; `base` when nothing is
    /// swept.
    pub label: String,
    /// Swept (path, value as text) pairs, in sweep-key order.
    pub params: Vec<(String, String)>,
    /// Key of the point's workload coordinates for the random streams (swept values outside
    /// `balancer.*` and `strategy.*` when common random numbers are on; all of them otherwise).
    pub stream_key: u64,
    /// The resolved, validated config.
    pub config: ExperimentConfig,
}

/// A loaded experiment: its name, resolved base config (as TOML text) and design points.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Experiment name.
    pub name: String,
    /// Where it came from.
    pub source: String,
    /// The merged config tree: presets applied (and `preset` removed), `[sweep]` included; it
    /// reloads to the same experiment with [`load_str`].
    pub resolved: toml::Table,
    /// Names of swept parameters (dotted paths), in order.
    pub swept: Vec<String>,
    /// Design points in grid order.
    pub points: Vec<DesignPoint>,
}

/// The embedded default experiment (`experiments/quickstart.toml`).
pub const QUICKSTART: &str = include_str!("../../experiments/quickstart.toml");

/// Loads and validates the experiment at `path` (or the embedded quickstart when `None`).
///
/// # Errors
/// Every problem found: unreadable file, TOML syntax (with line and column), unknown or
/// mistyped keys, unknown presets, invalid values.
pub fn load(path: Option<&Path>) -> Result<Experiment, ConfigErrors> {
    match path {
        None => load_str(
            QUICKSTART,
            "<embedded experiments/quickstart.toml>",
            None,
            "quickstart",
        ),
        Some(p) => {
            let file = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    file: file.clone(),
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                }])
            })?;
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("experiment")
                .to_string();
            load_str(&text, &file, p.parent(), &stem)
        }
    }
}

fn err(file: &str, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        key: key.into(),
        message: message.into(),
    }
}

/// Loads an experiment from TOML text. `dir` is where to look for `../models/` presets first.
///
/// # Errors
/// As [`load`].
pub fn load_str(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    default_name: &str,
) -> Result<Experiment, ConfigErrors> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // toml's message may span lines ("invalid string\nexpected `\"`"); keep it on one.
        let msg = e.message().trim().replace('\n', ", ");
        let loc = e
            .span()
            .map(|s| line_col(text, s.start))
            .map(|(l, c)| format!("line {l}, column {c}: "))
            .unwrap_or_default();
        ConfigErrors(vec![err(file, "", format!("{loc}invalid TOML: {msg}"))])
    })?;
    // presets
    if let Some(p) = table.get("preset").cloned() {
        let names: Vec<String> = match p {
            toml::Value::String(s) => vec![s],
            toml::Value::Array(a) => match a.iter().find(|v| !v.is_str()) {
                Some(v) => {
                    return Err(ConfigErrors(vec![err(
                        file,
                        "preset",
                        format!("expected a list of preset names, got {v}"),
                    )]))
                }
                None => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .map(String::from)
                    .collect(),
            },
            _ => {
                return Err(ConfigErrors(vec![err(
                    file,
                    "preset",
                    "expected a preset name or a list of names",
                )]))
            }
        };
        let mut base = toml::Table::new();
        let mut errors = Vec::new();
        for name in &names {
            match presets::find(name, dir) {
                Ok(text) => match text.parse::<toml::Table>() {
                    Ok(t) => merge(&mut base, t),
                    Err(e) => errors.push(err(
                        file,
                        "preset",
                        format!("preset \"{name}\" is not valid TOML: {}", e.message()),
                    )),
                },
                Err(m) => errors.push(err(file, "preset", m)),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        merge(&mut base, table);
        table = base;
    }
    table.remove("preset"); // merged above; the resolved tree reloads without models/
    let sweep_value = table.remove("sweep");
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or(default_name)
        .to_string();
    let mut errors = Vec::new();
    let sweep = match sweep_value.clone() {
        None => sweep::Sweep::default(),
        Some(v) => sweep::Sweep::parse(file, v).map_err(ConfigErrors)?,
    };
    let swept = sweep.paths();
    let crn = table
        .get("common_random_numbers")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let mut points = Vec::new();
    for combo in sweep.combinations() {
        match sweep.admits(&combo) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(m) => {
                errors.push(err(file, "sweep.constraint", m));
                continue;
            }
        }
        let mut t = table.clone();
        let mut params = Vec::new();
        let mut key_text = String::new();
        for (path, value) in combo {
            let shown = value_text(&value);
            if let Err(m) = set_path(&mut t, &path, value) {
                errors.push(err(file, format!("sweep.\"{path}\""), m));
            }
            if !crn || !(path.starts_with("balancer.") || path.starts_with("strategy.")) {
                key_text.push_str(&format!("{path}={shown};"));
            }
            params.push((path, shown));
        }
        let label = if params.is_empty() {
            "base".to_string()
        } else {
            params
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (config, structural, covered) = deserialize(file, t);
        let clean = structural.is_empty();
        errors.extend(structural);
        if let Some(mut config) = config {
            resolve_trace_path(&mut config, dir);
            {
                let mut semantic = Vec::new();
                validate::validate(&config, file, &mut semantic);
                // checks of removed or stood-in keys would only echo the structural error
                semantic.retain(|e| {
                    !covered.iter().any(|c| {
                        e.key == *c
                            || e.key.starts_with(&format!("{c}."))
                            || e.key.starts_with(&format!("{c}["))
                    })
                });
                let ok = semantic.is_empty();
                errors.extend(semantic);
                if ok && clean {
                    let stream_key = if key_text.is_empty() {
                        0
                    } else {
                        crate::kernel::rng::fnv1a64(key_text.as_bytes())
                    };
                    points.push(DesignPoint {
                        index: points.len(),
                        label,
                        params,
                        stream_key,
                        config,
                    });
                }
            }
        }
        // report each distinct error once even if many points share it
        errors.dedup();
    }
    if errors.is_empty() && points.is_empty() {
        errors.push(err(
            file,
            "sweep.constraint",
            "the constraint excludes every design point",
        ));
    }
    if !errors.is_empty() {
        let mut seen = std::collections::BTreeSet::new();
        errors.retain(|e| seen.insert(e.to_string()));
        return Err(ConfigErrors(errors));
    }
    if let Some(v) = sweep_value {
        table.insert("sweep".into(), v);
    }
    Ok(Experiment {
        name,
        source: file.to_string(),
        resolved: table,
        swept,
        points,
    })
}

/// A relative trace path is relative to the experiment file's directory.
fn resolve_trace_path(config: &mut ExperimentConfig, dir: Option<&Path>) {
    if let (Some(p), Some(d)) = (&config.workload.path, dir) {
        if Path::new(p).is_relative() {
            config.workload.path = Some(d.join(p).to_string_lossy().into_owned());
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Sets a dotted path (`a.b.c`) in a table, creating tables on the way.
///
/// # Errors
/// When a path component names a value that is not a table.
pub fn set_path(t: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts
        .pop()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("\"{path}\" is not a dotted config path"))?;
    let mut cur = t;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("\"{p}\" in \"{path}\" is not a table"))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One step of a key path in the config tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(segs: &[Seg]) -> String {
    let mut s = String::new();
    for g in segs {
        match g {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The value at `segs` and its parent container, mutably.
fn remove_at(v: &mut toml::Value, segs: &[Seg]) -> bool {
    let Some((last, init)) = segs.split_last() else {
        return false;
    };
    let mut cur = v;
    for g in init {
        cur = match (g, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => match t.get_mut(k) {
                Some(x) => x,
                None => return false,
            },
            (Seg::Index(i), toml::Value::Array(a)) => match a.get_mut(*i) {
                Some(x) => x,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), toml::Value::Table(t)) => t.remove(k).is_some(),
        // an array element cannot be removed without renumbering the rest: blank it instead
        (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a[*i] = toml::Value::Table(toml::Table::new());
            true
        }
        _ => false,
    }
}

/// Sets the value at `segs`, creating tables on the way.
fn set_at(v: &mut toml::Value, segs: &[Seg], value: toml::Value) -> bool {
    let Some((last, init)) = segs.split_last() else {
        return false;
    };
    let mut cur = v;
    for g in init {
        cur = match (g, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => t
                .entry(k.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            (Seg::Index(i), toml::Value::Array(a)) => match a.get_mut(*i) {
                Some(x) => x,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), toml::Value::Table(t)) => {
            t.insert(k.clone(), value);
            true
        }
        (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a[*i] = value;
            true
        }
        _ => false,
    }
}

/// Stand-in values tried, in order, for a key that is missing or was removed as wrong, so that
/// deserialization can go on to the next problem.
fn placeholder(i: usize) -> Option<toml::Value> {
    use toml::Value as V;
    Some(match i {
        0 => V::Integer(1),
        1 => V::String("1s".into()),
        2 => V::Float(1.0),
        3 => V::Boolean(false),
        4 => V::Array(Vec::new()),
        5 => V::Table(toml::Table::new()),
        _ => return None,
    })
}

/// The first `` `name` `` after "expected" in a serde message ("unknown variant `x`, expected
/// `open` or `closed`"), a stand-in for an enum.
fn expected_variant(message: &str) -> Option<String> {
    let rest = &message[message.find("expected")?..];
    let start = rest.find('`')? + 1;
    let len = rest[start..].find('`')?;
    Some(rest[start..start + len].to_string())
}

/// Upper bound on deserialization attempts for one tree (each finds at most one problem).
const MAX_ATTEMPTS: usize = 200;

/// Deserializes `t`, reporting every structural problem (unknown keys, wrong types, missing
/// keys), not just the first: after each error the offending key is removed (or, when it is
/// required, replaced by a stand-in) and deserialization is tried again, up to a bound. Returns
/// the config when the tree could be completed, every error found, and the paths that were
/// removed or stood in for (semantic checks on them would only be noise).
fn deserialize(
    file: &str,
    t: toml::Table,
) -> (Option<ExperimentConfig>, Vec<ConfigError>, Vec<String>) {
    let mut tree = toml::Value::Table(t);
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut removed: Vec<Vec<Seg>> = Vec::new();
    // stand-ins: path → (next candidate index, explicit candidates already tried)
    let mut stand_ins: Vec<(Vec<Seg>, usize, Vec<String>)> = Vec::new();
    let covered_text = |removed: &Vec<Vec<Seg>>,
                        stand_ins: &Vec<(Vec<Seg>, usize, Vec<String>)>| {
        removed
            .iter()
            .chain(stand_ins.iter().map(|(p, _, _)| p))
            .map(|p| path_text(p))
            .collect::<Vec<_>>()
    };
    for _ in 0..MAX_ATTEMPTS {
        let e = match serde_path_to_error::deserialize::<_, ExperimentConfig>(tree.clone()) {
            Ok(c) => return (Some(c), errors, covered_text(&removed, &stand_ins)),
            Err(e) => e,
        };
        let mut segs: Vec<Seg> = e
            .path()
            .iter()
            .filter_map(|g| match g {
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                _ => None,
            })
            .collect();
        let ce = to_config_error(file, e);
        let message = ce.message.clone();
        let missing = message == "this key is required";
        // the key the error names (missing keys and unknown keys inside tagged enums are not
        // in serde_path_to_error's path)
        if path_text(&segs) != ce.key {
            if let Some(last) = ce.key.rsplit('.').next() {
                if ce.key == format!("{}.{last}", path_text(&segs)) || segs.is_empty() {
                    segs.push(Seg::Key(last.to_string()));
                }
            }
        }
        if path_text(&segs) != ce.key || segs.is_empty() {
            // an error that names no key we can take away: report it and stop
            if !errors.contains(&ce) {
                errors.push(ce);
            }
            return (None, errors, covered_text(&removed, &stand_ins));
        }
        // a stand-in that did not fit: try the next one
        if let Some(s) = stand_ins.iter_mut().find(|(p, _, _)| *p == segs) {
            let next = match expected_variant(&message).filter(|v| !s.2.contains(v)) {
                Some(v) => {
                    s.2.push(v.clone());
                    Some(toml::Value::String(v))
                }
                None => {
                    s.1 += 1;
                    placeholder(s.1)
                }
            };
            if next.is_some_and(|v| set_at(&mut tree, &segs, v)) {
                continue;
            }
            return (None, errors, covered_text(&removed, &stand_ins));
        }
        let covered = removed
            .iter()
            .chain(stand_ins.iter().map(|(p, _, _)| p))
            .any(|p| segs.starts_with(p));
        if !covered && !errors.contains(&ce) {
            errors.push(ce);
        }
        let progressed = if missing {
            stand_ins.push((segs.clone(), 0, Vec::new()));
            set_at(&mut tree, &segs, placeholder(0).expect("first stand-in"))
        } else {
            removed.push(segs.clone());
            remove_at(&mut tree, &segs)
        };
        if !progressed {
            return (None, errors, covered_text(&removed, &stand_ins));
        }
    }
    (None, errors, covered_text(&removed, &stand_ins))
}

/// serde's error as a [`ConfigError`] naming the key.
fn to_config_error(file: &str, e: serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
    let path = e.path().to_string();
    let key = if path == "." { String::new() } else { path };
    let inner = e.into_inner();
    let mut message = inner.message().to_string();
    // serde's "missing field `x`" names the key in the message; lift it into the key path.
    let mut key = key;
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(field) = rest.strip_suffix('`') {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            message = "this key is required".to_string();
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let field = &rest[..end];
            // serde_path_to_error already ends the path with the unknown field, except inside
            // internally tagged enums (`think_time = { dist = …, shape = … }`).
            if key != field && !key.ends_with(&format!(".{field}")) {
                key = if key.is_empty() {
                    field.to_string()
                } else {
                    format!("{key}.{field}")
                };
            }
        }
    }
    err(file, key, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_set_path() {
        let mut a: toml::Table = "x = 1\n[t]\na = 1\nb = 2".parse().unwrap();
        let b: toml::Table = "[t]\nb = 3\nc = 4".parse().unwrap();
        merge(&mut a, b);
        assert_eq!(a["t"]["a"].as_integer(), Some(1));
        assert_eq!(a["t"]["b"].as_integer(), Some(3));
        set_path(&mut a, "t.d.e", toml::Value::Integer(5)).unwrap();
        assert_eq!(a["t"]["d"]["e"].as_integer(), Some(5));
        assert!(set_path(&mut a, "x.y", toml::Value::Integer(5)).is_err());
    }

    #[test]
    fn quickstart_loads() {
        let e = load(None).unwrap();
        assert_eq!(e.name, "quickstart");
        assert!(e.points.len() >= 2);
        // CRN: balancer variants share the stream key
        assert!(e
            .points
            .iter()
            .all(|p| p.stream_key == e.points[0].stream_key));
    }
}
