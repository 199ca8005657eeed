//! `[sweep]`: design points from a grid over dotted config paths.
//!
//! ```toml
//! [sweep]
//! "app.nodes" = [2, 4, 8]                                   # a list
//! "workload.write_probability" = { from = 0.1, to = 0.5, step = 0.2 }   # arithmetic, ends included
//! "workload.session_rate" = { from = 1, to = 1000, points = 4, scale = "log" }  # 1, 10, 100, 1000
//! constraint = "app.nodes >= 4 || balancer.kind != \"ip-hash\""  # points where false are skipped
//! [sweep.zip.load]                                          # varied together, not crossed
//! "workload.clients" = [100, 200]
//! "app.workers" = [10, 20]
//! ```
//! Axes are crossed in file order, the last varying fastest; a zip group is one axis whose values
//! are tuples. The constraint is an `evalexpr` 11 expression over the swept paths (numbers,
//! strings, booleans; `&&`, `||`, `!`, comparisons, arithmetic) and must yield a boolean.

use super::{err, ConfigError};

/// One axis of the grid: one path, or a zip group of paths with equal-length value lists.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Dotted config paths set by this axis.
    pub paths: Vec<String>,
    /// The axis's values: one tuple (one value per path) each.
    pub values: Vec<Vec<toml::Value>>,
}

/// A parsed `[sweep]` table.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// Axes, in file order.
    pub axes: Vec<Axis>,
    /// The constraint expression, if any.
    pub constraint: Option<String>,
}

/// Parsed value forms of one swept path.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
enum Values {
    List(Vec<toml::Value>),
    Step {
        from: f64,
        to: f64,
        step: f64,
    },
    Points {
        from: f64,
        to: f64,
        points: u32,
        #[serde(default)]
        scale: Option<String>,
    },
}

const MAX_VALUES: u64 = 100_000;
/// Largest grid (product of the axes' lengths, before the constraint).
const MAX_GRID: u64 = 1_000_000;

fn number(x: f64, integral: bool) -> toml::Value {
    if integral {
        toml::Value::Integer(x as i64)
    } else {
        // 12 significant decimals keep labels stable (0.1 + 2·0.2 prints as 0.5)
        toml::Value::Float(format!("{x:.12e}").parse().expect("formatted float"))
    }
}

fn values(key: &str, v: toml::Value, file: &str) -> Result<Vec<toml::Value>, ConfigError> {
    let fail = |m: String| err(file, key, m);
    let parsed: Values = v.try_into().map_err(|_| {
        fail("expected a list of values, { from, to, step } or { from, to, points, scale = \"log\" | \"linear\" }".into())
    })?;
    match parsed {
        Values::List(l) if l.is_empty() => Err(fail("expected a non-empty list of values".into())),
        Values::List(l) => Ok(l),
        Values::Step { from, to, step } => {
            if step.is_nan() || step <= 0.0 || !from.is_finite() || !to.is_finite() || to < from {
                return Err(fail(format!(
                    "expected from ≤ to and step > 0, got from={from}, to={to}, step={step}"
                )));
            }
            let n = ((to - from) / step + 1e-9).floor() as u64 + 1;
            if n > MAX_VALUES {
                return Err(fail(format!("range has {n} values; at most {MAX_VALUES}")));
            }
            Ok(axis_numbers(
                (0..n).map(|i| from + step * i as f64).collect(),
                from,
                to,
            ))
        }
        Values::Points {
            from,
            to,
            points,
            scale,
        } => {
            if points == 0
                || points as u64 > MAX_VALUES
                || !from.is_finite()
                || !to.is_finite()
                || to < from
            {
                return Err(fail(format!("expected from ≤ to and 1 ≤ points ≤ {MAX_VALUES}, got from={from}, to={to}, points={points}")));
            }
            let log = match scale.as_deref() {
                None | Some("linear") => false,
                Some("log") => true,
                Some(s) => {
                    return Err(fail(format!(
                        "expected scale \"log\" or \"linear\", got \"{s}\""
                    )))
                }
            };
            if log && (from.is_nan() || from <= 0.0) {
                return Err(fail(format!("a log scale needs from > 0, got {from}")));
            }
            let xs = (0..points)
                .map(|i| {
                    if points == 1 {
                        return from;
                    }
                    let f = i as f64 / (points - 1) as f64;
                    if log {
                        libm::exp(libm::log(from) + f * (libm::log(to) - libm::log(from)))
                    } else {
                        from + f * (to - from)
                    }
                })
                .collect();
            Ok(axis_numbers(xs, from, to))
        }
    }
}

/// TOML values of one numeric axis: with integer endpoints, values within 1e-9 (relative) of an
/// integer snap to it (so a log range 1..1000 gives 1, 10, 100, 1000); the axis is integers only
/// if every value is, otherwise floats throughout.
fn axis_numbers(xs: Vec<f64>, from: f64, to: f64) -> Vec<toml::Value> {
    let ends_integral = from.fract() == 0.0 && to.fract() == 0.0;
    let xs: Vec<f64> = xs
        .into_iter()
        .map(|x| {
            let r = x.round();
            if ends_integral && (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
                r
            } else {
                x
            }
        })
        .collect();
    let integral = xs.iter().all(|x| x.fract() == 0.0 && x.abs() < 9e15);
    xs.into_iter().map(|x| number(x, integral)).collect()
}

impl Sweep {
    /// Parses the `[sweep]` table.
    ///
    /// # Errors
    /// Every malformed entry, naming `sweep."<path>"`, `sweep.zip.<group>` or `sweep.constraint`.
    pub fn parse(file: &str, v: toml::Value) -> Result<Sweep, Vec<ConfigError>> {
        let toml::Value::Table(table) = v else {
            return Err(vec![err(
                file,
                "sweep",
                "expected a table of dotted paths to value lists",
            )]);
        };
        let mut sweep = Sweep::default();
        let mut errors = Vec::new();
        for (key, v) in table {
            match key.as_str() {
                "constraint" => match v {
                    toml::Value::String(s) => match evalexpr::build_operator_tree(&s) {
                        Ok(_) => sweep.constraint = Some(s),
                        Err(e) => errors.push(err(
                            file,
                            "sweep.constraint",
                            format!("not a valid expression: {e}"),
                        )),
                    },
                    _ => errors.push(err(
                        file,
                        "sweep.constraint",
                        "expected an expression string",
                    )),
                },
                "zip" => {
                    let toml::Value::Table(groups) = v else {
                        errors.push(err(
                            file,
                            "sweep.zip",
                            "expected tables of equal-length value lists, e.g. [sweep.zip.load]",
                        ));
                        continue;
                    };
                    for (group, g) in groups {
                        let gkey = format!("sweep.zip.{group}");
                        let toml::Value::Table(g) = g else {
                            errors.push(err(
                                file,
                                gkey,
                                "expected a table of dotted paths to value lists",
                            ));
                            continue;
                        };
                        let mut paths = Vec::new();
                        let mut cols = Vec::new();
                        for (path, vals) in g {
                            match values(&format!("{gkey}.\"{path}\""), vals, file) {
                                Ok(l) => {
                                    paths.push(path);
                                    cols.push(l);
                                }
                                Err(e) => errors.push(e),
                            }
                        }
                        if cols.is_empty() {
                            continue;
                        }
                        let n = cols[0].len();
                        if let Some(bad) = cols.iter().position(|c| c.len() != n) {
                            errors.push(err(
                                file,
                                gkey,
                                format!("zipped lists must have equal lengths: \"{}\" has {n}, \"{}\" has {}", paths[0], paths[bad], cols[bad].len()),
                            ));
                            continue;
                        }
                        let values = (0..n)
                            .map(|i| cols.iter().map(|c| c[i].clone()).collect())
                            .collect();
                        sweep.axes.push(Axis { paths, values });
                    }
                }
                path if path.contains('.') => match values(&format!("sweep.\"{path}\""), v, file) {
                    Ok(l) => sweep.axes.push(Axis {
                        paths: vec![path.to_string()],
                        values: l.into_iter().map(|x| vec![x]).collect(),
                    }),
                    Err(e) => errors.push(e),
                },
                other => errors.push(err(
                    file,
                    format!("sweep.{other}"),
                    "expected a dotted config path (e.g. \"app.nodes\"), \"zip\" or \"constraint\"",
                )),
            }
        }
        let grid = sweep
            .axes
            .iter()
            .fold(1u128, |n, a| n.saturating_mul(a.values.len() as u128));
        if grid > MAX_GRID as u128 {
            errors.push(err(
                file,
                "sweep",
                format!("the grid has {grid} combinations; at most {MAX_GRID} (split the sweep into several experiments)"),
            ));
        }
        let paths = sweep.paths();
        for (i, p) in paths.iter().enumerate() {
            if paths[..i].contains(p) {
                errors.push(err(
                    file,
                    format!("sweep.\"{p}\""),
                    "this path is swept twice",
                ));
            }
        }
        if errors.is_empty() {
            Ok(sweep)
        } else {
            Err(errors)
        }
    }

    /// Every swept path, in axis order.
    pub fn paths(&self) -> Vec<String> {
        self.axes
            .iter()
            .flat_map(|a| a.paths.iter().cloned())
            .collect()
    }

    /// The grid: one (path, value) list per combination, the last axis varying fastest.
    pub fn combinations(&self) -> Vec<Vec<(String, toml::Value)>> {
        let mut out: Vec<Vec<(String, toml::Value)>> = vec![vec![]];
        for axis in &self.axes {
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    axis.values.iter().map(move |tuple| {
                        let mut p = prefix.clone();
                        p.extend(axis.paths.iter().cloned().zip(tuple.iter().cloned()));
                        p
                    })
                })
                .collect();
        }
        out
    }

    /// Whether the constraint admits a combination (true without a constraint).
    ///
    /// # Errors
    /// A message when the expression fails (unknown variable, type error) or is not boolean.
    pub fn admits(&self, combo: &[(String, toml::Value)]) -> Result<bool, String> {
        let Some(expr) = &self.constraint else {
            return Ok(true);
        };
        use evalexpr::{ContextWithMutableVariables, HashMapContext, Value};
        let mut cx = HashMapContext::new();
        for (path, v) in combo {
            let value = match v {
                toml::Value::Integer(i) => Value::Int(*i),
                toml::Value::Float(f) => Value::Float(*f),
                toml::Value::Boolean(b) => Value::Boolean(*b),
                toml::Value::String(s) => Value::String(s.clone()),
                other => Value::String(other.to_string()),
            };
            cx.set_value(path.clone(), value)
                .map_err(|e| e.to_string())?;
        }
        match evalexpr::eval_with_context(expr, &cx) {
            Ok(Value::Boolean(b)) => Ok(b),
            Ok(other) => Err(format!(
                "expected the constraint to be true or false, got {other}"
            )),
            Err(e) => Err(format!("cannot evaluate \"{expr}\": {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(text: &str) -> Result<Sweep, Vec<ConfigError>> {
        let t: toml::Table = text.parse().unwrap();
        Sweep::parse("t.toml", t["sweep"].clone())
    }

    fn labels(s: &Sweep) -> Vec<String> {
        s.combinations()
            .iter()
            .filter(|c| s.admits(c).unwrap())
            .map(|c| {
                c.iter()
                    .map(|(p, v)| format!("{p}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn grid_in_file_order_last_fastest() {
        let s = sweep("[sweep]\n\"b.x\" = [1, 2]\n\"a.y\" = [\"p\", \"q\"]").unwrap();
        assert_eq!(
            labels(&s),
            [
                "b.x=1,a.y=\"p\"",
                "b.x=1,a.y=\"q\"",
                "b.x=2,a.y=\"p\"",
                "b.x=2,a.y=\"q\""
            ]
        );
    }

    #[test]
    fn ranges_linear_and_log() {
        let s = sweep("[sweep]\n\"a.b\" = { from = 0.1, to = 0.5, step = 0.2 }").unwrap();
        assert_eq!(labels(&s), ["a.b=0.1", "a.b=0.3", "a.b=0.5"]);
        let s = sweep("[sweep]\n\"a.b\" = { from = 1, to = 1000, points = 4, scale = \"log\" }")
            .unwrap();
        assert_eq!(labels(&s), ["a.b=1", "a.b=10", "a.b=100", "a.b=1000"]);
        let s = sweep("[sweep]\n\"a.b\" = { from = 2, to = 8, step = 2 }").unwrap();
        assert_eq!(labels(&s), ["a.b=2", "a.b=4", "a.b=6", "a.b=8"]);
        let s = sweep("[sweep]\n\"a.b\" = { from = 0, to = 1, points = 3 }").unwrap();
        assert_eq!(labels(&s), ["a.b=0.0", "a.b=0.5", "a.b=1.0"]);
        assert!(
            sweep("[sweep]\n\"a.b\" = { from = 0, to = 10, points = 3, scale = \"log\" }").is_err()
        );
        assert!(sweep("[sweep]\n\"a.b\" = { from = 1, to = 10, step = 0 }").is_err());
    }

    #[test]
    fn zip_groups_vary_together_and_constraint_filters() {
        let s = sweep(
            "[sweep]\n\"k.kind\" = [\"x\", \"y\"]\nconstraint = 'k.kind == \"x\" || n.n > 1'\n[sweep.zip.g]\n\"n.n\" = [1, 2]\n\"m.m\" = [10, 20]",
        )
        .unwrap();
        assert_eq!(s.paths(), ["k.kind", "n.n", "m.m"]);
        assert_eq!(
            labels(&s),
            [
                "k.kind=\"x\",n.n=1,m.m=10",
                "k.kind=\"x\",n.n=2,m.m=20",
                "k.kind=\"y\",n.n=2,m.m=20"
            ]
        );
        let e = sweep("[sweep.zip.g]\n\"n.n\" = [1, 2]\n\"m.m\" = [10]").unwrap_err();
        assert_eq!(e[0].key, "sweep.zip.g");
        let bad = sweep("[sweep]\n\"a.b\" = [1]\nconstraint = 'nope > 1'").unwrap();
        assert!(bad.admits(&bad.combinations()[0]).is_err());
        assert_eq!(
            sweep("[sweep]\nnodes = [1]").unwrap_err()[0].key,
            "sweep.nodes"
        );
    }
}
