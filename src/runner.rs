//! The plan of runs (design points × replications) and its parallel execution: rayon across
//! runs, one run per task, nothing shared; results sorted by (point, replication) before
//! anything is written, so the output does not depend on the thread count.

use crate::model::simulate;
use crate::output::RunRecord;
use crate::scenario::Experiment;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

/// Options of one `run`.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// Runs every (point, replication) of `exp` and returns the records sorted by
/// (point, replication).
///
/// # Errors
/// When the thread pool cannot be created.
pub fn run_all(exp: &Experiment, opts: RunOptions) -> anyhow::Result<Vec<RunRecord>> {
    let plan: Vec<(usize, u32)> = exp
        .points
        .iter()
        .flat_map(|p| (0..p.config.replications).map(move |r| (p.index, r)))
        .collect();
    let bar = if opts.progress {
        ProgressBar::new(plan.len() as u64)
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
    let mut records: Vec<RunRecord> = pool.install(|| {
        plan.par_iter()
            .map(|&(point, replication)| {
                let p = &exp.points[point];
                let out = simulate(p, replication);
                let done = sim_s.fetch_add(
                    p.config.horizon.ns() / 1_000_000_000,
                    std::sync::atomic::Ordering::Relaxed,
                );
                let wall = started.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("{:.0} sim-s/wall-s", done as f64 / wall));
                bar.inc(1);
                RunRecord {
                    point,
                    replication,
                    values: out.metrics.values(),
                    series: (replication == 0).then_some(out.series),
                    events: out.events,
                    node_requests: out.node_requests,
                }
            })
            .collect()
    });
    bar.finish_and_clear();
    records.sort_by_key(|r| (r.point, r.replication));
    Ok(records)
}
