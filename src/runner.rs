//! The plan of runs (design points × replications) and its parallel execution: rayon across
//! runs, one run per task, nothing shared; results sorted by (point, replication) before
//! anything is written, so the output does not depend on the thread count.
//!
//! - **Sequential stopping** (`[stopping]`): runs go in rounds; after each round, a point whose
//!   metric's interval is not yet tight enough gets `batch` more replications. Decisions are made
//!   only on whole rounds, so they do not depend on the thread count either.
//! - **Shards** (`--shard K/N`, K in 1..=N): run i of the point-major plan (i = point ×
//!   replications + r) belongs to shard (i mod N) + 1; with sequential stopping a whole point
//!   belongs to shard (point mod N) + 1, since its stopping decision needs all its runs.
//! - **Resume**: finished runs are appended to the run store (`output::store`) as they finish;
//!   rerunning into the same directory skips them.
//! - **Interrupts**: after [`interrupt::request`] (the CLI's SIGINT/SIGTERM handler) no new run
//!   is started; runs already going finish and are stored, and [`execute`] returns
//!   [`Interrupted`] naming the runs still missing.

use crate::model::simulate;
use crate::output::summary::Summary;
use crate::output::{store, RunRecord};
use crate::scenario::Experiment;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// The process-wide interrupt flag (set by the CLI's signal handler; read before each run).
pub mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static REQUESTED: AtomicBool = AtomicBool::new(false);

    /// Asks the runner to start no new run. Returns whether an interrupt was already requested.
    pub fn request() -> bool {
        REQUESTED.swap(true, Ordering::SeqCst)
    }

    /// Whether an interrupt was requested.
    pub fn requested() -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }
}

/// A run stopped by an interrupt before its plan was done. The finished runs are in the store.
#[derive(Debug, Clone)]
pub struct Interrupted {
    /// Runs finished (including those read back from the store).
    pub finished: usize,
    /// Runs of the plan (of this shard) not finished, as `"point_label#replication"`, in plan
    /// order.
    pub missing: Vec<String>,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted: {} runs finished, {} missing",
            self.finished,
            self.missing.len()
        )
    }
}
impl std::error::Error for Interrupted {}

/// A shard of the plan: `k` of `n`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=n.
    pub k: u32,
    /// Number of shards.
    pub n: u32,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard: expected K/N with 1 ≤ K ≤ N (e.g. 2/8), got \"{s}\"");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// Options of one `run`.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Run only this shard of the plan.
    pub shard: Option<Shard>,
    /// Results directory holding the run store (resume); `None` keeps nothing on disk.
    pub store_dir: Option<&'a Path>,
}

/// Whether run (point, r) belongs to `shard`.
fn owns(exp: &Experiment, shard: Option<Shard>, point: usize, r: u32) -> bool {
    let Some(s) = shard else { return true };
    let n = s.n as u64;
    let i = if exp.points[point].config.stopping.is_some() {
        point as u64
    } else {
        point as u64 * exp.points[point].config.replications as u64 + r as u64
    };
    i % n == (s.k - 1) as u64
}

/// Runs the plan of `exp` (or its shard), skipping runs already in the store. Returns every
/// finished run sorted by (point, replication), and how many of them were read back from the
/// store rather than run.
///
/// # Errors
/// Thread-pool creation, a run store of another experiment in `store_dir`, I/O errors;
/// [`Interrupted`] when [`interrupt::request`] was called before the plan was done.
pub fn execute(
    exp: &Experiment,
    fingerprint: &str,
    opts: RunOptions<'_>,
) -> Result<(Vec<RunRecord>, usize)> {
    let mut done: Vec<RunRecord> = match opts.store_dir {
        Some(d) => store::load(d, fingerprint)?,
        None => Vec::new(),
    };
    let resumed = done.len();
    let fresh = resumed == 0;
    if let Some(d) = opts.store_dir {
        crate::output::write_running_manifest(d, exp, resumed, opts.shard)?;
    }
    let writer = match opts.store_dir {
        Some(d) => Some(store::Writer::open(d, fingerprint, fresh)?),
        None => None,
    };
    let mut have: BTreeSet<(usize, u32)> = done.iter().map(|r| (r.point, r.replication)).collect();
    let mut target: Vec<u32> = exp.points.iter().map(|p| p.config.replications).collect();
    let bar = if opts.progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    if opts.progress {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta} {msg}",
            )
            .expect("static template"),
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    let started = std::time::Instant::now();
    let sim_s = std::sync::atomic::AtomicU64::new(0);
    loop {
        let todo: Vec<(usize, u32)> = exp
            .points
            .iter()
            .flat_map(|p| (0..target[p.index]).map(move |r| (p.index, r)))
            .filter(|&(p, r)| owns(exp, opts.shard, p, r) && !have.contains(&(p, r)))
            .collect();
        bar.inc_length(todo.len() as u64);
        let round: Vec<Result<Option<RunRecord>>> = pool.install(|| {
            todo.par_iter()
                .map(|&(point, replication)| {
                    if interrupt::requested() {
                        return Ok(None);
                    }
                    let p = &exp.points[point];
                    let out = simulate(p, replication);
                    let total = sim_s.fetch_add(
                        p.config.horizon.ns() / 1_000_000_000,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    bar.set_message(format!(
                        "{:.0} sim-s/wall-s",
                        total as f64 / started.elapsed().as_secs_f64().max(1e-9)
                    ));
                    bar.inc(1);
                    let record = RunRecord {
                        point,
                        replication,
                        values: out.metrics.values(),
                        series: (replication == 0).then_some(out.series),
                        events: out.events,
                        node_requests: out.node_requests,
                    };
                    if let Some(w) = &writer {
                        w.append(&record)?;
                    }
                    Ok(Some(record))
                })
                .collect()
        });
        for r in round {
            if let Some(r) = r? {
                have.insert((r.point, r.replication));
                done.push(r);
            }
        }
        if interrupt::requested() {
            bar.finish_and_clear();
            // what is missing of the planned runs (for stopping points: of the current target)
            let missing = exp
                .points
                .iter()
                .flat_map(|p| (0..target[p.index]).map(move |r| (p, r)))
                .filter(|&(p, r)| {
                    owns(exp, opts.shard, p.index, r) && !have.contains(&(p.index, r))
                })
                .map(|(p, r)| format!("{}#{r}", p.label))
                .collect::<Vec<_>>();
            if !missing.is_empty() {
                return Err(Interrupted {
                    finished: done.len(),
                    missing,
                }
                .into());
            }
        }
        // sequential stopping: decide on whole rounds only
        let mut more = false;
        for p in &exp.points {
            let Some(st) = &p.config.stopping else {
                continue;
            };
            if !owns(exp, opts.shard, p.index, 0) || target[p.index] >= st.max_replications {
                continue;
            }
            let m = crate::model::observe::METRICS
                .iter()
                .position(|d| d.name == st.metric)
                .expect("validated metric");
            let xs: Vec<f64> = done
                .iter()
                .filter(|r| r.point == p.index)
                .map(|r| r.values[m])
                .filter(|x| !x.is_nan())
                .collect();
            let s = Summary::of(&xs);
            let tight = s.n >= 2 && s.half_width() <= st.target_ci_relative * s.mean.abs();
            if !tight {
                target[p.index] = (target[p.index] + st.batch).min(st.max_replications);
                more = true;
            }
        }
        if !more {
            break;
        }
    }
    bar.finish_and_clear();
    done.sort_by_key(|r| (r.point, r.replication));
    Ok((done, resumed))
}
