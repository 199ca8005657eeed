//! Charts of a results directory (`sessim plot DIR`, and after every `sessim run`).
//!
//! Everything is read back from the CSV files (and `manifest.toml` for the title), so any results
//! directory can be redrawn without rerunning it:
//!
//! ```text
//! summary.csv ───► charts/metric-<name>.svg|png   metric vs the first swept parameter
//!             └──► charts/traffic.svg|png         session bytes per request by link class
//! timeseries.csv ► charts/timeline-<point>.svg|png live sessions, misses/s, errors/s, faults
//! nodes.csv ─────► charts/nodes.svg|png           requests per app node
//! ```
//!
//! Each chart is drawn twice, into an SVG string and into an in-memory RGB buffer (encoded as
//! PNG), and both files are written atomically. Text comes from the embedded DejaVu Sans
//! (`assets/fonts/`), registered with plotters' `ab_glyph` support: no system fonts are looked
//! up, so the output is the same on every machine, and nothing in it depends on the clock.
//! Colours are the Okabe–Ito palette (distinguishable with the common colour-vision
//! deficiencies). Empty cells (NaN) are skipped; a CSV file with nothing to draw gives no chart.

use crate::model::observe::METRICS;
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Chart size in pixels (also the SVG's user units).
pub const SIZE: (u32, u32) = (1000, 600);

/// The metrics that get a chart of their own (`metric-<name>.svg|png`).
pub const MAIN_METRICS: [&str; 4] = [
    "session_loss_rate",
    "session_bytes_per_request",
    "request_error_rate",
    "latency_p99_ms",
];

/// The embedded font (DejaVu Sans 2.37, Bitstream Vera licence: `assets/fonts/LICENSE`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Font family name every text style here uses; the embedded font is registered under it.
const FAMILY: &str = "sans-serif";

/// Okabe–Ito, ordered so that the first colours contrast best on white (yellow comes late).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

const GREY: RGBColor = RGBColor(0x60, 0x60, 0x60);
const LIGHT: RGBColor = RGBColor(0xE8, 0xE8, 0xE8);
const MID: RGBColor = RGBColor(0xCC, 0xCC, 0xCC);
const TITLE_H: u32 = 70;
const Y_LABEL_AREA: u32 = 84;
/// Type sizes in pixels (plotters' size; the em is about 1/1.24 of it).
const TITLE_PX: u32 = 24;
const TEXT_PX: u32 = 16;
const TICK_PX: u32 = 16;
const DESC_PX: u32 = 17;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded font with plotters (once per process).
fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded font could not be loaded"))
    }
}

fn font(size: u32) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size as f64, FontStyle::Normal)
}

/// Width in pixels of `text` in `size`-pixel type (an estimate from the font's advances).
fn text_w(text: &str, size: u32) -> u32 {
    font(size).box_size(text).map(|(w, _)| w).unwrap_or(0)
}

/// `text`, shortened with "…" so that it is at most `max_px` wide.
fn fit(text: &str, size: u32, max_px: u32) -> String {
    if text_w(text, size) <= max_px {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        n -= 1;
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if text_w(&s, size) <= max_px {
            return s;
        }
    }
    "…".into()
}

/// `-` for every character that is not ASCII alphanumeric.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Tick label: at most six significant digits, no float noise, scientific when tiny or huge.
fn fmt_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a < 1e-12 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        // 5.00e-7 → 5e-7, 2.50e6 → 2.5e6
        return match s.split_once('e') {
            Some((m, e)) => {
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{e}")
            }
            None => s,
        };
    }
    let decimals = (5 - libm::floor(libm::log10(a)) as i32).clamp(0, 8) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the results
// ---------------------------------------------------------------------------------------------

/// A CSV file as text cells.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads `path`; `None` when it does not exist.
    fn read(path: &Path) -> Result<Option<Table>> {
        if !path.is_file() {
            return Ok(None);
        }
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .with_context(|| format!("reading {}", path.display()))?;
        let header = r
            .headers()
            .with_context(|| format!("reading {}", path.display()))?
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.with_context(|| format!("reading {}", path.display()))?;
            rows.push(rec.iter().map(|s| s.to_string()).collect());
        }
        Ok(Some(Table { header, rows }))
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map(|s| s.as_str()).unwrap_or("")
}

/// A finite number, or `None` for an empty, NaN or unparsable cell.
fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// One design point as summary.csv names it.
struct Point {
    label: String,
    /// Values of the swept parameters, in column order.
    values: Vec<String>,
}

/// One (point, metric) row of summary.csv.
#[derive(Clone, Copy)]
struct Stat {
    mean: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
}

/// summary.csv, read back.
struct Summary {
    experiment: String,
    swept: Vec<String>,
    points: Vec<Point>,
    stats: BTreeMap<(usize, String), Stat>,
}

impl Summary {
    fn from_table(t: &Table) -> Result<Summary> {
        let need = |c: &str| {
            t.col(c)
                .ok_or_else(|| anyhow!("summary.csv: no column `{c}`"))
        };
        let (c_point, c_metric, c_mean) = (need("point")?, need("metric")?, need("mean")?);
        if c_metric <= c_point {
            bail!("summary.csv: `metric` must come after `point`");
        }
        let (c_lo, c_hi) = (t.col("ci95_low"), t.col("ci95_high"));
        let swept: Vec<String> = t.header[c_point + 1..c_metric].to_vec();
        let experiment = t
            .col("experiment")
            .and_then(|c| t.rows.first().map(|r| cell(r, c).to_string()))
            .unwrap_or_default();
        let mut points: Vec<Point> = Vec::new();
        let mut stats = BTreeMap::new();
        for r in &t.rows {
            let label = cell(r, c_point);
            let p = match points.iter().position(|p| p.label == label) {
                Some(p) => p,
                None => {
                    points.push(Point {
                        label: label.to_string(),
                        values: (c_point + 1..c_metric)
                            .map(|c| cell(r, c).to_string())
                            .collect(),
                    });
                    points.len() - 1
                }
            };
            stats.insert(
                (p, cell(r, c_metric).to_string()),
                Stat {
                    mean: num(cell(r, c_mean)),
                    low: c_lo.and_then(|c| num(cell(r, c))),
                    high: c_hi.and_then(|c| num(cell(r, c))),
                },
            );
        }
        Ok(Summary {
            experiment,
            swept,
            points,
            stats,
        })
    }

    fn stat(&self, point: usize, metric: &str) -> Option<Stat> {
        self.stats.get(&(point, metric.to_string())).copied()
    }

    /// A short category label for a point: its swept values, or its label when nothing is swept.
    fn short_label(&self, p: usize) -> String {
        let pt = &self.points[p];
        if pt.values.is_empty() {
            pt.label.clone()
        } else {
            pt.values.join(", ")
        }
    }
}

/// What the manifest tells about the experiment: the title and the warm-up.
struct Meta {
    title: String,
    warm_up_s: Option<f64>,
}

fn read_meta(dir: &Path, summary: &Summary) -> Meta {
    let manifest: Option<toml::Table> = std::fs::read_to_string(dir.join("manifest.toml"))
        .ok()
        .and_then(|s| s.parse().ok());
    let config = manifest
        .as_ref()
        .and_then(|m| m.get("config"))
        .and_then(|c| c.as_table());
    let get = |t: Option<&toml::Table>, k: &str| {
        t.and_then(|t| t.get(k))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let title = get(config, "description")
        .or_else(|| get(manifest.as_ref(), "experiment"))
        .or_else(|| get(config, "name"))
        .or_else(|| Some(summary.experiment.clone()).filter(|s| !s.is_empty()))
        .or_else(|| dir.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .unwrap_or_else(|| "sessim".into());
    let warm_up_s = get(config, "warm_up")
        .and_then(|s| humantime::parse_duration(&s).ok())
        .map(|d| d.as_secs_f64())
        .filter(|&s| s > 0.0);
    Meta { title, warm_up_s }
}

// ---------------------------------------------------------------------------------------------
// Chart descriptions (plain data, drawn by `draw_*` on any backend)
// ---------------------------------------------------------------------------------------------

/// The two title lines: the experiment (small) and the chart's subject (large).
struct Titles {
    experiment: String,
    subject: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Swatch {
    Line,
    Dashed,
    Box,
    Band,
}

struct LegendEntry {
    label: String,
    colour: RGBColor,
    swatch: Swatch,
}

struct Legend {
    heading: Option<String>,
    entries: Vec<LegendEntry>,
}

impl Legend {
    /// Width of the margin it needs, in pixels (a small margin when empty).
    fn width(&self) -> u32 {
        if self.entries.is_empty() && self.heading.is_none() {
            return 24;
        }
        let w = self
            .entries
            .iter()
            .map(|e| text_w(&e.label, TEXT_PX) + 64)
            .chain(self.heading.iter().map(|h| text_w(h, TEXT_PX) + 24))
            .max()
            .unwrap_or(0);
        w.clamp(120, 320)
    }
}

/// (x, mean, 95% CI)
type Estimate = (f64, f64, Option<(f64, f64)>);

/// One line with optional 95% CI whiskers.
struct Line {
    label: String,
    colour: RGBColor,
    dashed: bool,
    points: Vec<Estimate>,
}

/// Metric against a numeric parameter.
struct LineChart {
    titles: Titles,
    x_desc: String,
    y_desc: String,
    lines: Vec<Line>,
    legend: Legend,
}

/// One bar (or a segment of a stacked bar).
struct Bar {
    category: usize,
    slot: usize,
    base: f64,
    top: f64,
    colour: RGBColor,
    whisker: Option<(f64, f64)>,
}

/// Bars per category: single, stacked (same slot, growing base) or grouped (slots).
struct BarChart {
    titles: Titles,
    x_desc: String,
    y_desc: String,
    categories: Vec<String>,
    slots: usize,
    bars: Vec<Bar>,
    legend: Legend,
    note: Option<String>,
}

/// One point's timeline: two panels sharing the time axis.
struct Timeline {
    titles: Titles,
    /// Time unit divisor and name: (60, "min") or (1, "s").
    unit: (f64, &'static str),
    live: Vec<(f64, f64)>,
    misses: Vec<(f64, f64)>,
    errors: Vec<(f64, f64)>,
    /// (time, label) of every change of `nodes_up`.
    faults: Vec<(f64, String)>,
    warm_up: Option<f64>,
    t_max: f64,
    legend: Legend,
}

enum Chart {
    Lines(LineChart),
    Bars(BarChart),
    Timeline(Timeline),
}

// ---------------------------------------------------------------------------------------------
// Building the charts from the tables
// ---------------------------------------------------------------------------------------------

fn metric_unit(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.unit)
        .unwrap_or("")
}

fn with_unit(name: &str, unit: &str) -> String {
    if unit.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({unit})")
    }
}

/// Chart (1) for one metric; `None` when it has no finite mean anywhere.
fn metric_chart(s: &Summary, meta: &Meta, metric: &str) -> Option<Chart> {
    let stats: Vec<Option<Stat>> = (0..s.points.len())
        .map(|p| s.stat(p, metric).filter(|st| st.mean.is_some()))
        .collect();
    if stats.iter().all(|st| st.is_none()) {
        return None;
    }
    let unit = metric_unit(metric);
    let y_desc = with_unit(metric, unit);
    let ci = |st: &Stat| match (st.low, st.high) {
        (Some(l), Some(h)) => Some((l, h)),
        _ => None,
    };
    let xs: Option<Vec<f64>> = if s.swept.is_empty() {
        None
    } else {
        s.points.iter().map(|p| num(&p.values[0])).collect()
    };
    if let Some(xs) = xs {
        // one line per combination of the other swept values, in order of appearance
        let mut lines: Vec<Line> = Vec::new();
        for (p, st) in stats.iter().enumerate() {
            let Some(st) = st else { continue };
            let key = s.points[p].values[1..].join(", ");
            let i = match lines.iter().position(|l| l.label == key) {
                Some(i) => i,
                None => {
                    let n = lines.len();
                    lines.push(Line {
                        label: key,
                        colour: colour(n),
                        dashed: n >= PALETTE.len(),
                        points: Vec::new(),
                    });
                    n
                }
            };
            lines[i]
                .points
                .push((xs[p], st.mean.unwrap_or(f64::NAN), ci(st)));
        }
        for l in &mut lines {
            l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let legend = if s.swept.len() > 1 {
            Legend {
                heading: Some(s.swept[1..].join(", ")),
                entries: lines
                    .iter()
                    .map(|l| LegendEntry {
                        label: l.label.clone(),
                        colour: l.colour,
                        swatch: if l.dashed {
                            Swatch::Dashed
                        } else {
                            Swatch::Line
                        },
                    })
                    .collect(),
            }
        } else {
            Legend {
                heading: None,
                entries: vec![LegendEntry {
                    label: "mean, 95% CI".into(),
                    colour: colour(0),
                    swatch: Swatch::Line,
                }],
            }
        };
        return Some(Chart::Lines(LineChart {
            titles: Titles {
                experiment: meta.title.clone(),
                subject: format!("{metric} by {}", s.swept[0]),
            },
            x_desc: s.swept[0].clone(),
            y_desc,
            lines,
            legend,
        }));
    }
    let bars: Vec<Bar> = stats
        .iter()
        .enumerate()
        .filter_map(|(p, st)| {
            let st = st.as_ref()?;
            Some(Bar {
                category: p,
                slot: 0,
                base: 0.0,
                top: st.mean?,
                colour: colour(0),
                whisker: ci(st),
            })
        })
        .collect();
    Some(Chart::Bars(BarChart {
        titles: Titles {
            experiment: meta.title.clone(),
            subject: if s.swept.is_empty() {
                metric.to_string()
            } else {
                format!("{metric} by {}", s.swept.join(", "))
            },
        },
        x_desc: if s.swept.is_empty() {
            "design point".into()
        } else {
            s.swept.join(", ")
        },
        note: bars
            .iter()
            .all(|b| b.top == 0.0 && b.whisker.is_none_or(|(l, h)| l == 0.0 && h == 0.0))
            .then(|| format!("{metric} = 0 at every design point")),
        y_desc,
        categories: (0..s.points.len()).map(|p| s.short_label(p)).collect(),
        slots: 1,
        bars,
        legend: Legend {
            heading: None,
            entries: vec![
                LegendEntry {
                    label: "mean".into(),
                    colour: colour(0),
                    swatch: Swatch::Box,
                },
                LegendEntry {
                    label: "95% CI".into(),
                    colour: BLACK,
                    swatch: Swatch::Line,
                },
            ],
        },
    }))
}

/// Chart (2): session bytes per request by link class, stacked per point.
fn traffic_chart(s: &Summary, meta: &Meta) -> Option<Chart> {
    const LAYERS: [(&str, &str); 3] = [
        ("bytes_app_app", "app ↔ app"),
        ("bytes_app_store", "app ↔ store"),
        ("bytes_cookie", "cookie"),
    ];
    let mut bars = Vec::new();
    let mut any = false;
    for p in 0..s.points.len() {
        let Some(req) = s
            .stat(p, "requests")
            .and_then(|st| st.mean)
            .filter(|&r| r > 0.0)
        else {
            continue;
        };
        let mut base = 0.0;
        for (i, (m, _)) in LAYERS.iter().enumerate() {
            let Some(v) = s.stat(p, m).and_then(|st| st.mean) else {
                continue;
            };
            any = true;
            let v = v / req;
            bars.push(Bar {
                category: p,
                slot: 0,
                base,
                top: base + v,
                colour: colour(i),
                whisker: None,
            });
            base += v;
        }
    }
    if !any {
        return None;
    }
    let all_zero = bars.iter().all(|b| b.top == 0.0);
    Some(Chart::Bars(BarChart {
        titles: Titles {
            experiment: meta.title.clone(),
            subject: "session traffic per request by link class".into(),
        },
        x_desc: if s.swept.is_empty() {
            "design point".into()
        } else {
            s.swept.join(", ")
        },
        y_desc: "session bytes / request (bytes/request)".into(),
        categories: (0..s.points.len()).map(|p| s.short_label(p)).collect(),
        slots: 1,
        bars,
        legend: Legend {
            heading: Some("link class".into()),
            entries: LAYERS
                .iter()
                .enumerate()
                .map(|(i, (m, l))| LegendEntry {
                    label: format!("{l} ({m})"),
                    colour: colour(i),
                    swatch: Swatch::Box,
                })
                .collect(),
        },
        note: all_zero
            .then(|| "no session traffic: 0 bytes/request on every link class".to_string()),
    }))
}

/// Chart (3): one timeline per point of timeseries.csv, in order of appearance.
fn timeline_charts(t: &Table, meta: &Meta) -> Vec<(String, Chart)> {
    let (Some(c_point), Some(c_t)) = (t.col("point"), t.col("t_s")) else {
        return Vec::new();
    };
    let col = |n: &str| t.col(n);
    let (c_live, c_miss, c_err, c_up) = (
        col("live_sessions"),
        col("session_misses_per_s"),
        col("errors_per_s"),
        col("nodes_up"),
    );
    let mut order: Vec<String> = Vec::new();
    let mut by_point: BTreeMap<String, Vec<&Vec<String>>> = BTreeMap::new();
    for r in &t.rows {
        let p = cell(r, c_point).to_string();
        if !by_point.contains_key(&p) {
            order.push(p.clone());
        }
        by_point.entry(p).or_default().push(r);
    }
    let mut out = Vec::new();
    for p in order {
        let mut rows: Vec<(f64, &Vec<String>)> = by_point[&p]
            .iter()
            .filter_map(|r| num(cell(r, c_t)).map(|t| (t, *r)))
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        if rows.is_empty() {
            continue;
        }
        // bucket width: the smallest positive step between bucket starts
        let width = rows
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let width = if width.is_finite() { width } else { 1.0 };
        let t_end = rows.last().map(|r| r.0).unwrap_or(0.0) + width;
        let unit = if t_end > 300.0 {
            (60.0, "min")
        } else {
            (1.0, "s")
        };
        // rates belong to the bucket (plotted at its middle), gauges to its end
        let series = |c: Option<usize>, at: f64| -> Vec<(f64, f64)> {
            let Some(c) = c else { return Vec::new() };
            rows.iter()
                .filter_map(|(t0, r)| num(cell(r, c)).map(|v| ((t0 + at) / unit.0, v)))
                .collect()
        };
        let live = series(c_live, width);
        let misses = series(c_miss, width / 2.0);
        let errors = series(c_err, width / 2.0);
        if live.is_empty() && misses.is_empty() && errors.is_empty() {
            continue;
        }
        let mut faults = Vec::new();
        if let Some(c) = c_up {
            let mut prev: Option<f64> = None;
            for (t0, r) in &rows {
                let Some(up) = num(cell(r, c)) else { continue };
                if let Some(before) = prev.filter(|&b| b != up) {
                    let what = if up < before { "crash" } else { "repair" };
                    faults.push((*t0 / unit.0, format!("{what} ({before}→{up} up)")));
                }
                prev = Some(up);
            }
        }
        let mut entries = vec![
            LegendEntry {
                label: "live sessions (top)".into(),
                colour: colour(0),
                swatch: Swatch::Line,
            },
            LegendEntry {
                label: "session misses/s".into(),
                colour: colour(3),
                swatch: Swatch::Line,
            },
            LegendEntry {
                label: "errors/s".into(),
                colour: colour(6),
                swatch: Swatch::Dashed,
            },
        ];
        if !faults.is_empty() {
            entries.push(LegendEntry {
                label: "nodes up changes".into(),
                colour: GREY,
                swatch: Swatch::Dashed,
            });
        }
        if meta.warm_up_s.is_some() {
            entries.push(LegendEntry {
                label: "warm-up (discarded)".into(),
                colour: LIGHT,
                swatch: Swatch::Band,
            });
        }
        let chart = Chart::Timeline(Timeline {
            titles: Titles {
                experiment: meta.title.clone(),
                subject: format!("timeline of {p} (replication 0)"),
            },
            unit,
            live,
            misses,
            errors,
            faults,
            warm_up: meta.warm_up_s.map(|w| w / unit.0),
            t_max: t_end / unit.0,
            legend: Legend {
                heading: None,
                entries,
            },
        });
        out.push((p, chart));
    }
    out
}

/// Chart (4): mean requests per app node, grouped by point.
fn nodes_chart(t: &Table, s: &Summary, meta: &Meta) -> Option<Chart> {
    let (c_point, c_node, c_req) = (t.col("point")?, t.col("node")?, t.col("requests")?);
    // point label → node → (sum, n)
    let mut order: Vec<String> = s.points.iter().map(|p| p.label.clone()).collect();
    let mut acc: BTreeMap<(String, u64), (f64, u32)> = BTreeMap::new();
    for r in &t.rows {
        let p = cell(r, c_point).to_string();
        let (Some(node), Some(req)) = (
            cell(r, c_node).trim().parse::<u64>().ok(),
            num(cell(r, c_req)),
        ) else {
            continue;
        };
        if node >= 4096 {
            continue;
        }
        if !order.contains(&p) {
            order.push(p.clone());
        }
        let e = acc.entry((p, node)).or_insert((0.0, 0));
        e.0 += req;
        e.1 += 1;
    }
    if acc.is_empty() {
        return None;
    }
    let order: Vec<String> = order
        .into_iter()
        .filter(|p| acc.keys().any(|(q, _)| q == p))
        .collect();
    let slots = acc.keys().map(|(_, n)| *n as usize + 1).max().unwrap_or(1);
    let bars = acc
        .iter()
        .map(|((p, node), (sum, n))| Bar {
            category: order.iter().position(|q| q == p).unwrap_or(0),
            slot: *node as usize,
            base: 0.0,
            top: sum / *n as f64,
            colour: colour(*node as usize),
            whisker: None,
        })
        .collect();
    let categories = order
        .iter()
        .map(|p| match s.points.iter().position(|q| &q.label == p) {
            Some(i) => s.short_label(i),
            None => p.clone(),
        })
        .collect();
    const MAX_ENTRIES: usize = 16;
    let mut entries: Vec<LegendEntry> = (0..slots.min(MAX_ENTRIES))
        .map(|i| LegendEntry {
            label: format!("app:{i}"),
            colour: colour(i),
            swatch: Swatch::Box,
        })
        .collect();
    if slots > MAX_ENTRIES {
        entries.push(LegendEntry {
            label: format!("… app:{} (colours repeat)", slots - 1),
            colour: WHITE,
            swatch: Swatch::Box,
        });
    }
    Some(Chart::Bars(BarChart {
        titles: Titles {
            experiment: meta.title.clone(),
            subject: "requests served per app node (mean over replications)".into(),
        },
        x_desc: if s.swept.is_empty() {
            "design point".into()
        } else {
            s.swept.join(", ")
        },
        y_desc: "requests served after warm-up (requests)".into(),
        categories,
        slots,
        bars,
        legend: Legend {
            heading: Some("app node".into()),
            entries,
        },
        note: None,
    }))
}

// ---------------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------------

type Area<DB> = DrawingArea<DB, Shift>;

/// Draws the titles, splits off the legend margin on the right and draws the legend there;
/// returns the area left for the plot.
fn frame<DB: DrawingBackend>(root: &Area<DB>, titles: &Titles, legend: &Legend) -> Result<Area<DB>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Top);
    root.draw(&Text::new(
        fit(&titles.experiment, TEXT_PX, w - 40),
        (w as i32 / 2, 8),
        font(TEXT_PX).color(&GREY).pos(centre),
    ))?;
    root.draw(&Text::new(
        fit(&titles.subject, TITLE_PX, w - 40),
        (w as i32 / 2, 32),
        font(TITLE_PX).color(&BLACK).pos(centre),
    ))?;
    let (_, body) = root.split_vertically(TITLE_H);
    let lw = legend.width();
    let (plot, side) = body.split_horizontally(w.saturating_sub(lw));
    draw_legend(&side, legend)?;
    Ok(plot)
}

fn draw_legend<DB: DrawingBackend>(area: &Area<DB>, legend: &Legend) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let max_text = w.saturating_sub(56);
    let mut y = 16i32;
    let left = Pos::new(HPos::Left, VPos::Center);
    if let Some(hd) = &legend.heading {
        area.draw(&Text::new(
            fit(hd, TEXT_PX, w.saturating_sub(14)),
            (6, y),
            font(TEXT_PX).color(&GREY).pos(left),
        ))?;
        y += 24;
    }
    for (i, e) in legend.entries.iter().enumerate() {
        if y + 24 > h as i32 {
            let rest = legend.entries.len() - i;
            area.draw(&Text::new(
                format!("… {rest} more"),
                (6, y),
                font(TEXT_PX).color(&GREY).pos(left),
            ))?;
            break;
        }
        let (x0, x1) = (8, 36);
        match e.swatch {
            Swatch::Line => {
                area.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    e.colour.stroke_width(3),
                ))?;
            }
            Swatch::Dashed => {
                for k in 0..3 {
                    let a = x0 + k * 11;
                    area.draw(&PathElement::new(
                        vec![(a, y), (a + 6, y)],
                        e.colour.stroke_width(3),
                    ))?;
                }
            }
            Swatch::Box | Swatch::Band => {
                area.draw(&Rectangle::new(
                    [(x0, y - 7), (x1, y + 7)],
                    e.colour.filled(),
                ))?;
                let border = if e.swatch == Swatch::Band {
                    MID
                } else {
                    e.colour
                };
                area.draw(&Rectangle::new([(x0, y - 7), (x1, y + 7)], border))?;
            }
        }
        area.draw(&Text::new(
            fit(&e.label, TEXT_PX, max_text),
            (x1 + 8, y),
            font(TEXT_PX).color(&BLACK).pos(left),
        ))?;
        y += 24;
    }
    Ok(())
}

/// A padded value range that includes 0 and every finite value.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        return (lo, lo + 1.0);
    }
    let pad = (hi - lo) * 0.08;
    (if lo < 0.0 { lo - pad } else { lo }, hi + pad)
}

fn mesh_fonts() -> (FontDesc<'static>, FontDesc<'static>) {
    (font(TICK_PX), font(DESC_PX))
}

fn draw_lines<DB: DrawingBackend>(root: &Area<DB>, c: &LineChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let plot = frame(root, &c.titles, &c.legend)?;
    let all = || c.lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    if !(x0.is_finite() && x1.is_finite()) {
        (x0, x1) = (0.0, 1.0);
    }
    let span = if x1 > x0 { x1 - x0 } else { x0.abs().max(1.0) };
    let (x0, x1) = (x0 - span * 0.05, x1 + span * 0.05);
    let (y0, y1) = y_range(all().flat_map(|p| {
        let (l, h) = p.2.unwrap_or((p.1, p.1));
        [p.1, l, h]
    }));
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_left(6)
        .margin_right(12)
        .margin_bottom(8)
        .x_label_area_size(50)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let fmt = |v: &f64| fmt_tick(*v);
    let (small, desc) = mesh_fonts();
    chart
        .configure_mesh()
        .x_desc(&c.x_desc)
        .y_desc(&c.y_desc)
        .label_style(small)
        .axis_desc_style(desc)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .bold_line_style(LIGHT)
        .light_line_style(WHITE)
        .draw()?;
    for l in &c.lines {
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, p.1)).collect();
        let style = l.colour.stroke_width(2);
        if l.dashed {
            chart.draw_series(DashedLineSeries::new(pts, 8, 5, style))?;
        } else {
            chart.draw_series(LineSeries::new(pts, style))?;
        }
        for &(x, m, ci) in &l.points {
            let (lo, hi) = ci.unwrap_or((m, m));
            chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                x,
                lo,
                m,
                hi,
                l.colour.filled().stroke_width(2),
                10,
            )))?;
        }
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(root: &Area<DB>, c: &BarChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let plot = frame(root, &c.titles, &c.legend)?;
    let n = c.categories.len().max(1);
    let (pw, _) = plot.dim_in_pixel();
    let slot_px = pw.saturating_sub(Y_LABEL_AREA + 20) / n as u32;
    let widest = c
        .categories
        .iter()
        .map(|l| text_w(l, TICK_PX))
        .max()
        .unwrap_or(0);
    let rotate = widest + 8 > slot_px;
    let labels: Vec<String> = c
        .categories
        .iter()
        .map(|l| {
            if rotate {
                fit(l, TICK_PX, 200)
            } else {
                l.clone()
            }
        })
        .collect();
    let label_area = if rotate {
        labels.iter().map(|l| text_w(l, TICK_PX)).max().unwrap_or(0) + 40
    } else {
        50
    };
    let (y0, y1) = y_range(c.bars.iter().flat_map(|b| {
        let (l, h) = b.whisker.unwrap_or((b.top, b.top));
        [b.base, b.top, l, h]
    }));
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_left(6)
        .margin_right(12)
        .margin_bottom(8)
        .x_label_area_size(label_area)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y0..y1)?;
    let yfmt = |v: &f64| fmt_tick(*v);
    let (small, desc) = mesh_fonts();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc(&c.x_desc)
        .y_desc(&c.y_desc)
        .label_style(small.clone())
        .axis_desc_style(desc)
        .y_label_formatter(&yfmt)
        .bold_line_style(LIGHT)
        .light_line_style(WHITE)
        .draw()?;
    // category labels under the bars (the root's pixels are the backend's)
    for (i, l) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64, y0));
        let style = if rotate {
            small
                .transform(FontTransform::Rotate90)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center))
        } else {
            small.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top))
        };
        let x = if rotate { px - 8 } else { px };
        root.draw(&Text::new(l.clone(), (x, py + 8), style))?;
        root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))?;
    }
    let group = 0.8;
    let w = group / c.slots.max(1) as f64;
    for b in &c.bars {
        let left = b.category as f64 - group / 2.0 + b.slot as f64 * w;
        let (l, r) = (left + w * 0.06, left + w * 0.94);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(l, b.base), (r, b.top)],
            b.colour.filled(),
        )))?;
        if let Some((lo, hi)) = b.whisker {
            let x = (l + r) / 2.0;
            let cap = (r - l) * 0.15;
            let style = BLACK.stroke_width(2);
            chart.draw_series([
                PathElement::new(vec![(x, lo), (x, hi)], style),
                PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
                PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
            ])?;
        }
    }
    if let Some(note) = &c.note {
        let (w, h) = plot.dim_in_pixel();
        plot.draw(&Text::new(
            fit(note, TEXT_PX, w.saturating_sub(120)),
            ((w + Y_LABEL_AREA) as i32 / 2, h as i32 / 2 - 20),
            font(TEXT_PX)
                .color(&GREY)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn draw_timeline<DB: DrawingBackend>(root: &Area<DB>, c: &Timeline) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let plot = frame(root, &c.titles, &c.legend)?;
    let (_, h) = plot.dim_in_pixel();
    let (top, bottom) = plot.split_vertically(h * 47 / 100);
    let x_desc = format!("simulated time ({})", c.unit.1);
    let fmt = |v: &f64| fmt_tick(*v);
    let (small, desc) = mesh_fonts();
    type Curves<'a> = Vec<(&'a [(f64, f64)], RGBColor, bool)>;
    let panels: [(&Area<DB>, String, Curves); 2] = [
        (
            &top,
            "live sessions".into(),
            vec![(&c.live[..], colour(0), false)],
        ),
        (
            &bottom,
            "events per s (1/s)".into(),
            vec![
                (&c.misses[..], colour(3), false),
                (&c.errors[..], colour(6), true),
            ],
        ),
    ];
    for (k, (area, y_desc, series)) in panels.iter().enumerate() {
        let last = k == 1;
        let (y0, y1) = y_range(series.iter().flat_map(|s| s.0.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(*area)
            .margin_top(if last { 8 } else { 46 })
            .margin_left(6)
            .margin_right(12)
            .margin_bottom(if last { 8 } else { 4 })
            .x_label_area_size(if last { 50 } else { 24 })
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0.0..c.t_max.max(1e-9), y0..y1)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(y_desc.as_str())
            .label_style(small.clone())
            .axis_desc_style(desc.clone())
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .y_labels(if last { 6 } else { 5 })
            .bold_line_style(LIGHT)
            .light_line_style(WHITE);
        if last {
            mesh.x_desc(x_desc.as_str());
        } else {
            mesh.x_label_formatter(&|_| String::new());
        }
        mesh.draw()?;
        if let Some(wu) = c.warm_up.filter(|&w| w > 0.0) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0), (wu.min(c.t_max), y1)],
                LIGHT.filled(),
            )))?;
        }
        for (pts, col, dashed) in series {
            let style = col.stroke_width(2);
            if *dashed {
                chart.draw_series(DashedLineSeries::new(pts.iter().copied(), 7, 5, style))?;
            } else {
                chart.draw_series(LineSeries::new(pts.iter().copied(), style))?;
            }
        }
        // fault lines; in the top panel, labelled in the margin above the plot (never over
        // data), skipping a label that would overlap the previous one
        let mut free_from = [i32::MIN; 2];
        for (t, label) in &c.faults {
            chart.draw_series(DashedLineSeries::new(
                [(*t, y0), (*t, y1)],
                6,
                4,
                GREY.stroke_width(2),
            ))?;
            let (px, py) = chart.backend_coord(&(*t, y1));
            let lw = text_w(label, TEXT_PX) as i32;
            let row = (0..2).find(|&r| px - lw / 2 >= free_from[r]);
            if let (0, Some(row)) = (k, row) {
                root.draw(&Text::new(
                    label.clone(),
                    (px, py - 4 - 20 * row as i32),
                    font(TEXT_PX)
                        .color(&GREY)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))?;
                free_from[row] = px + lw / 2 + 10;
            }
        }
    }
    Ok(())
}

impl Chart {
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        match self {
            Chart::Lines(c) => draw_lines(root, c),
            Chart::Bars(c) => draw_bars(root, c),
            Chart::Timeline(c) => draw_timeline(root, c),
        }
    }

    /// The chart as SVG text and PNG bytes.
    fn render(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        register_font()?;
        let (w, h) = SIZE;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            self.draw(&root)?;
            root.present()?;
        }
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            &rgb,
            w,
            h,
            image::ColorType::Rgb8,
        )
        .context("encoding PNG")?;
        Ok((svg.into_bytes(), png))
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/// Is `name` one of the files this module writes (so a stale one may be removed)?
fn is_ours(name: &str) -> bool {
    let stem = name
        .strip_suffix(".svg")
        .or_else(|| name.strip_suffix(".png"));
    match stem {
        Some(s) => {
            s == "traffic" || s == "nodes" || s.starts_with("metric-") || s.starts_with("timeline-")
        }
        None => false,
    }
}

/// Draws every chart of the results directory `dir` into `dir/charts/` (SVG and PNG, each
/// written atomically) and returns the files written, in a fixed order. Charts without data
/// are skipped; chart files of an earlier drawing that are not redrawn are removed.
///
/// # Errors
/// `dir/summary.csv` missing or malformed, an unreadable CSV file, or an I/O error.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let summary_path = dir.join("summary.csv");
    let Some(table) = Table::read(&summary_path)? else {
        bail!("{}: no such file", summary_path.display());
    };
    let summary = Summary::from_table(&table)?;
    let meta = read_meta(dir, &summary);
    let mut charts: Vec<(String, Chart)> = Vec::new();
    for m in MAIN_METRICS {
        if let Some(c) = metric_chart(&summary, &meta, m) {
            charts.push((format!("metric-{m}"), c));
        }
    }
    if let Some(c) = traffic_chart(&summary, &meta) {
        charts.push(("traffic".into(), c));
    }
    if let Some(t) = Table::read(&dir.join("timeseries.csv"))? {
        let mut used: Vec<String> = Vec::new();
        for (point, c) in timeline_charts(&t, &meta) {
            let mut name = format!("timeline-{}", slug(&point));
            if used.contains(&name) {
                name = format!("{name}-{}", used.len());
            }
            used.push(name.clone());
            charts.push((name, c));
        }
    }
    if let Some(t) = Table::read(&dir.join("nodes.csv"))? {
        if let Some(c) = nodes_chart(&t, &summary, &meta) {
            charts.push(("nodes".into(), c));
        }
    }
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for (name, chart) in &charts {
        let (svg, png) = chart
            .render()
            .with_context(|| format!("drawing chart {name}"))?;
        for (ext, bytes) in [("svg", svg), ("png", png)] {
            let path = out.join(format!("{name}.{ext}"));
            super::atomic::write(&path, &bytes)?;
            written.push(path);
        }
    }
    // remove charts of points or metrics that are no longer there
    if let Ok(entries) = std::fs::read_dir(&out) {
        let mut stale: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(is_ours) && !written.contains(p)
            })
            .collect();
        stale.sort();
        for p in stale {
            let _ = std::fs::remove_file(p);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny results directory: a numeric sweep (app.nodes) × a strategy sweep, with a fault.
    fn synthetic(dir: &Path, numeric: bool) {
        std::fs::create_dir_all(dir).unwrap();
        let mut s = String::from(
            "experiment,point,app.nodes,balancer.kind,metric,n,mean,std,ci95_low,ci95_high\n",
        );
        let mut ts = String::from(
            "point,t_s,requests_per_s,errors_per_s,sessions_started_per_s,session_misses_per_s,\
             latency_mean_ms,live_sessions,nodes_up\n",
        );
        let mut nodes = String::from("experiment,point,replication,node,requests\n");
        for (i, n) in ["2", "4"].iter().enumerate() {
            for (j, b) in ["ip-hash", "round-robin"].iter().enumerate() {
                let n = if numeric {
                    n.to_string()
                } else {
                    format!("x{n}")
                };
                let p = format!("app.nodes={n},balancer.kind={b}");
                let v = 0.1 * (i + 1) as f64 + 0.05 * j as f64;
                for m in MAIN_METRICS {
                    s += &format!(
                        "t,\"{p}\",{n},{b},{m},3,{v},0.01,{},{}\n",
                        v - 0.02,
                        v + 0.02
                    );
                }
                s += &format!("t,\"{p}\",{n},{b},requests,3,1000,1,999,1001\n");
                s += &format!("t,\"{p}\",{n},{b},bytes_app_app,3,{},1,,\n", 4000 * j);
                s += &format!("t,\"{p}\",{n},{b},bytes_cookie,3,2000,1,,\n");
                s += &format!("t,\"{p}\",{n},{b},time_to_recover_s,0,,,,\n");
                for k in 0..6 {
                    let up = if k >= 3 { 1 } else { 2 };
                    ts += &format!("\"{p}\",{},5,0,1,{},,{},{up}\n", k * 10, k % 2, 100 + k);
                }
                for r in 0..2 {
                    for node in 0..2 {
                        nodes += &format!("t,\"{p}\",{r},{node},{}\n", 100 * (node + 1) + r);
                    }
                }
            }
        }
        std::fs::write(dir.join("summary.csv"), s).unwrap();
        std::fs::write(dir.join("timeseries.csv"), ts).unwrap();
        std::fs::write(dir.join("nodes.csv"), nodes).unwrap();
        std::fs::write(
            dir.join("manifest.toml"),
            "experiment = \"t\"\n[config]\ndescription = \"Synthetic test experiment\"\n\
             warm_up = \"10s\"\n",
        )
        .unwrap();
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sessim-plot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn check_png(bytes: &[u8]) {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .expect("valid PNG")
            .to_rgb8();
        assert_eq!(img.dimensions(), SIZE);
        let first = *img.get_pixel(0, 0);
        let differing = img.pixels().filter(|p| **p != first).count();
        assert!(
            differing > 1000,
            "blank PNG: {differing} non-background pixels"
        );
    }

    /// "Font discovery disabled": font-kit is not compiled in, so every glyph in these charts
    /// comes from the embedded font. The SVG carries the labels as text and the PNG has pixels
    /// where the title is (which only the embedded font can put there).
    #[test]
    fn renders_svg_and_png_with_the_embedded_font() {
        let dir = temp("font");
        synthetic(&dir, true);
        // no system font lookup: DejaVu Sans is installed on the test machines, yet a family that
        // was not registered from the embedded bytes is unavailable
        register_font().unwrap();
        let system = FontDesc::new(FontFamily::Name("DejaVu Sans"), 16.0, FontStyle::Normal);
        assert!(system.box_size("x").is_err(), "a system font was found");
        assert!(font(16).box_size("x").unwrap().0 > 0);
        let files = plot_dir(&dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        for n in [
            "metric-session_loss_rate.svg",
            "metric-session_loss_rate.png",
            "metric-latency_p99_ms.png",
            "traffic.svg",
            "traffic.png",
            "nodes.svg",
            "nodes.png",
            "timeline-app-nodes-2-balancer-kind-ip-hash.svg",
            "timeline-app-nodes-4-balancer-kind-round-robin.png",
        ] {
            assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
        }
        let svg = std::fs::read_to_string(dir.join("charts/metric-session_loss_rate.svg")).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        for text in [
            "Synthetic test experiment",
            "session_loss_rate (ratio)",
            "app.nodes",
            "round-robin",
            "<text",
        ] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
        let png = std::fs::read(dir.join("charts/metric-session_loss_rate.png")).unwrap();
        check_png(&png);
        // the title band holds text only: non-white pixels there are glyphs
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        let inked = (0..SIZE.0)
            .flat_map(|x| (0..TITLE_H).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
            .count();
        assert!(inked > 500, "title band has {inked} inked pixels");
        for f in &files {
            if f.extension().unwrap() == "png" {
                check_png(&std::fs::read(f).unwrap());
            }
        }
        // deterministic: a second drawing gives the same bytes
        let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        let again = plot_dir(&dir).unwrap();
        assert_eq!(files, again);
        let after: Vec<Vec<u8>> = again.iter().map(|f| std::fs::read(f).unwrap()).collect();
        assert!(before == after, "charts differ between two drawings");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn categorical_sweep_gives_bars_and_stale_charts_go() {
        let dir = temp("bars");
        synthetic(&dir, false);
        std::fs::create_dir_all(dir.join("charts")).unwrap();
        std::fs::write(dir.join("charts/timeline-gone.png"), b"x").unwrap();
        std::fs::write(dir.join("charts/notes.txt"), b"keep").unwrap();
        plot_dir(&dir).unwrap();
        let svg =
            std::fs::read_to_string(dir.join("charts/metric-request_error_rate.svg")).unwrap();
        assert!(svg.contains("x2, ip-hash"), "bar labels missing");
        assert!(!dir.join("charts/timeline-gone.png").exists());
        assert!(dir.join("charts/notes.txt").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let dir = temp("odd");
        std::fs::create_dir_all(&dir).unwrap();
        assert!(plot_dir(&dir).is_err(), "no summary.csv is an error");
        // header only, nothing swept, no other files
        std::fs::write(
            dir.join("summary.csv"),
            "experiment,point,metric,n,mean,std,ci95_low,ci95_high\n",
        )
        .unwrap();
        assert!(plot_dir(&dir).unwrap().is_empty());
        // one unswept point, NaN cells, empty timeseries/nodes files
        std::fs::write(
            dir.join("summary.csv"),
            "experiment,point,metric,n,mean,std,ci95_low,ci95_high\n\
             e,base,session_loss_rate,1,0.5,,,\n\
             e,base,latency_p99_ms,0,,,,\n\
             e,base,requests,1,0,,,\n",
        )
        .unwrap();
        std::fs::write(dir.join("timeseries.csv"), "").unwrap();
        std::fs::write(dir.join("nodes.csv"), "experiment,point\n").unwrap();
        let files = plot_dir(&dir).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(
            names,
            [
                "metric-session_loss_rate.svg",
                "metric-session_loss_rate.png"
            ]
        );
        // garbage is an error, not a panic
        std::fs::write(dir.join("summary.csv"), "a,b\n1,2\n").unwrap();
        assert!(plot_dir(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn slugs_and_ticks() {
        assert_eq!(slug("balancer.kind=ip-hash"), "balancer-kind-ip-hash");
        assert_eq!(fmt_tick(0.30000000000000004), "0.3");
        assert_eq!(fmt_tick(5e-7), "5e-7");
        assert_eq!(fmt_tick(10780.0), "10780");
        assert_eq!(fmt_tick(0.0), "0");
    }
}
