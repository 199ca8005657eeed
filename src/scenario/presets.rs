//! Presets of real deployments (`models/*.toml`), merged into experiments by name.
//!
//! Lookup order for `preset = "NAME"`: `<experiment dir>/../models/NAME.toml`, then
//! `./models/NAME.toml`, then the copy embedded in the binary (so the embedded quickstart runs
//! from anywhere).

use std::path::Path;

/// Presets compiled into the binary: (name, TOML text). One line per preset.
pub static EMBEDDED: &[(&str, &str)] = &[
    (
        "nginx-cookie-hash-2-tomcats",
        include_str!("../../models/nginx-cookie-hash-2-tomcats.toml"),
    ),
    (
        "seed-000-nginx-msm-sticky",
        include_str!("../../models/seed-000-nginx-msm-sticky.toml"),
    ),
    (
        "seed-001-apache-route-tomcat-cluster",
        include_str!("../../models/seed-001-apache-route-tomcat-cluster.toml"),
    ),
    (
        "seed-003-redis",
        include_str!("../../models/seed-003-redis.toml"),
    ),
];

/// The text of preset `name`.
///
/// # Errors
/// A message listing the known presets when none is found, or the I/O error of a file that
/// exists but cannot be read.
pub fn find(name: &str, experiment_dir: Option<&Path>) -> Result<String, String> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(format!(
            "expected a preset name (a file stem in models/), got \"{name}\""
        ));
    }
    let file = format!("{name}.toml");
    let mut candidates = Vec::new();
    if let Some(d) = experiment_dir {
        candidates.push(d.join("..").join("models").join(&file));
        candidates.push(d.join("models").join(&file));
    }
    candidates.push(Path::new("models").join(&file));
    for c in candidates {
        if c.is_file() {
            return std::fs::read_to_string(&c)
                .map_err(|e| format!("cannot read preset {}: {e}", c.display()));
        }
    }
    if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) {
        return Ok(text.to_string());
    }
    let known: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "no preset \"{name}\" in models/ (known: {})",
        known.join(", ")
    ))
}
