//! Command-line glue (clap). `main` → [`main_exit`]: exit 0 on success, 2 on bad input (the
//! message names the file, key or line and what was expected), 1 on internal error.

mod bench;
mod route;
mod trace;

use crate::model::observe::METRICS;
use crate::model::{balancer, strategy};
use crate::runner::{execute, interrupt, Interrupted, RunOptions, Shard};
use crate::scenario::{self, ConfigErrors};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// sessim: what do we lose, and what does it cost, if node X dies under strategy Y?
#[derive(Parser, Debug)]
#[command(name = "sessim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an experiment (the embedded quickstart when no file is given).
    Run {
        /// Experiment file (TOML).
        experiment: Option<PathBuf>,
        /// Output directory [default: results/<experiment name>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (0 = one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Override the replications per design point.
        #[arg(long)]
        replications: Option<u32>,
        /// Override the master seed.
        #[arg(long)]
        seed: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Do not draw charts (see `sessim plot`).
        #[arg(long)]
        no_charts: bool,
        /// Run only shard K of N of the plan (1 ≤ K ≤ N); join shards with `sessim merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
    },
    /// (Re)draw the charts of a results directory into RESULTS_DIR/charts/ (SVG and PNG).
    Plot {
        /// Results directory (holds summary.csv).
        #[arg(value_name = "RESULTS_DIR")]
        dir: PathBuf,
    },
    /// Join the output directories of `run --shard K/N` into the files of an unsharded run.
    Merge {
        /// Shard output directories (all N of them).
        dirs: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Parse and validate an experiment without running it.
    Check {
        /// Experiment file (TOML).
        experiment: PathBuf,
    },
    /// Route keys read from stdin (one per line) and print the chosen 0-based node index.
    Route(route::RouteArgs),
    /// Benchmark: simulated requests and events per wall second, peak RSS and page faults, of each
    /// benchmark experiment (default experiments/bench/*.toml), single-threaded, each run in a
    /// fresh process; the median of `--repeat` runs is shown, and the fastest run's requests/s.
    Bench {
        /// Benchmark experiment files.
        files: Vec<PathBuf>,
        /// Runs per scenario (each in its own process); the row shows the run of median wall time.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        /// Internal: measure one file in this process.
        #[arg(long, hide = true)]
        one: Option<PathBuf>,
    },
    /// A real access log's figures (requests, hosts, sessions, …), one `key: value` per line.
    Trace(trace::TraceArgs),
    /// List balancers, strategies and metrics with one-line docs.
    List {
        /// Only this section: balancers, strategies or metrics.
        what: Option<String>,
    },
}

/// An input error (exit code 2).
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

/// Parses arguments, runs, and maps errors to exit codes.
pub fn main_exit() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // A panic is a bug: say so in one line, never with a Rust backtrace, and exit 1.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {msg}{at} (please report)");
    }));
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(r) => r,
        Err(_) => return ExitCode::from(1), // the hook has printed the message
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let bad_input = e.downcast_ref::<ConfigErrors>().is_some()
                || e.downcast_ref::<InputError>().is_some();
            if let Some(errs) = e.downcast_ref::<ConfigErrors>() {
                for x in &errs.0 {
                    eprintln!("error: {x}");
                }
            } else {
                eprintln!("error: {e:#}");
            }
            if bad_input {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    // test hook: proves that a panic becomes one `internal error` line (tests/integration)
    if std::env::var_os("SESSIM_DEBUG_PANIC").is_some() {
        panic!("SESSIM_DEBUG_PANIC is set");
    }
    match cli.command {
        Command::Run {
            experiment,
            out,
            threads,
            replications,
            seed,
            quiet,
            no_charts,
            shard,
        } => {
            let shard = shard
                .as_deref()
                .map(Shard::parse)
                .transpose()
                .map_err(InputError)?;
            let mut exp = scenario::load(experiment.as_deref())?;
            for p in &mut exp.points {
                if let Some(r) = replications {
                    if r == 0 {
                        return Err(InputError("--replications: expected at least 1".into()).into());
                    }
                    if let Some(st) = &p.config.stopping {
                        if r > st.max_replications {
                            return Err(InputError(format!(
                                "--replications: {r} is above stopping.max_replications ({})",
                                st.max_replications
                            ))
                            .into());
                        }
                    }
                    p.config.replications = r;
                }
                if let Some(s) = seed {
                    p.config.seed = s;
                }
            }
            let file = experiment
                .as_ref()
                .map_or_else(|| exp.source.clone(), |p| p.display().to_string());
            crate::estimate::check_fits(&exp, threads, &file).map_err(InputError)?;
            let seed = exp.points[0].config.seed;
            let reps = exp.points[0].config.replications;
            let dir = out.unwrap_or_else(|| PathBuf::from("results").join(&exp.name));
            let progress = !quiet && std::io::stderr().is_terminal();
            let t0 = std::time::Instant::now();
            let fingerprint = crate::output::fingerprint(&exp, seed, reps, shard);
            let opts = RunOptions {
                threads,
                progress,
                shard,
                store_dir: Some(&dir),
            };
            install_interrupt_handler();
            let (records, resumed) = match execute(&exp, &fingerprint, opts) {
                Ok(x) => x,
                Err(e) => match e.downcast::<Interrupted>() {
                    Ok(i) => {
                        crate::output::write_interrupted_manifest(&dir, &exp, shard, &i)?;
                        eprintln!(
                            "interrupted: {} runs finished (kept in {}), {} missing; rerun the same command to resume",
                            i.finished,
                            dir.join(crate::output::store::FILE).display(),
                            i.missing.len()
                        );
                        return Ok(ExitCode::from(130));
                    }
                    Err(e) => return Err(e),
                },
            };
            crate::output::write_all(&dir, &exp, seed, reps, &records, shard)?;
            if !no_charts {
                crate::output::plot::plot_dir(&dir)?;
            }
            if !quiet {
                if resumed > 0 {
                    eprintln!(
                        "resumed: {resumed} finished runs read back from {}",
                        dir.display()
                    );
                }
                let events: u64 = records.iter().map(|r| r.events).sum();
                eprintln!(
                    "{}: {} runs ({} points × {} replications), {} events in {:.2} s → {}",
                    exp.name,
                    records.len(),
                    exp.points.len(),
                    reps,
                    events,
                    t0.elapsed().as_secs_f64(),
                    dir.display()
                );
                print_table(&exp, &records);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { dirs, out } => {
            let n = crate::output::merge::merge(&dirs, &out)?;
            crate::output::plot::plot_dir(&out)?;
            eprintln!(
                "merged {n} runs from {} shards → {}",
                dirs.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { experiment } => {
            let exp = scenario::load(Some(&experiment))?;
            let runs: u32 = exp.points.iter().map(|p| p.config.replications).sum();
            println!(
                "{}: ok — {} design points, {} runs",
                experiment.display(),
                exp.points.len(),
                runs
            );
            println!("{}", crate::estimate::estimate(&exp, 0).describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plot { dir } => {
            if !dir.join("summary.csv").is_file() {
                return Err(InputError(format!(
                    "{}: expected a results directory holding summary.csv",
                    dir.display()
                ))
                .into());
            }
            for f in crate::output::plot::plot_dir(&dir)? {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Route(args) => route::run(args),
        Command::Bench { files, one, repeat } => match one {
            Some(f) => bench::one(&f),
            None => bench::run(files, repeat),
        },
        Command::Trace(args) => trace::run(args),
        Command::List { what } => {
            let what = what.as_deref().unwrap_or("all");
            if !["all", "balancers", "strategies", "metrics"].contains(&what) {
                return Err(InputError(format!(
                    "list: expected balancers, strategies or metrics, got \"{what}\""
                ))
                .into());
            }
            if what == "all" || what == "balancers" {
                println!("balancers:");
                for e in balancer::REGISTRY {
                    println!("  {:<24} {}", e.name, e.doc);
                }
            }
            if what == "all" || what == "strategies" {
                println!("strategies:");
                for e in strategy::REGISTRY {
                    println!("  {:<24} {}", e.name, e.doc);
                }
            }
            if what == "all" || what == "metrics" {
                println!("metrics:");
                for m in METRICS {
                    println!("  {:<26} [{}] {}", m.name, m.unit, m.doc);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// On the first SIGINT/SIGTERM, asks the runner to start no new run (runs in progress finish
/// and are stored); on the second, exits at once with code 130.
fn install_interrupt_handler() {
    let installed = ctrlc::set_handler(|| {
        if interrupt::request() {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: finishing the runs in progress (interrupt again to quit at once)");
    });
    // a handler installed earlier in this process (tests) is fine
    let _ = installed;
}

/// A short table of the headline metrics per point on stderr.
fn print_table(exp: &scenario::Experiment, records: &[crate::output::RunRecord]) {
    let cols = [
        "session_loss_rate",
        "session_affected_rate",
        "request_error_rate",
        "latency_p99_ms",
        "node_load_max_over_mean",
    ];
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| METRICS.iter().position(|m| m.name == *c).expect("metric"))
        .collect();
    let width = exp
        .points
        .iter()
        .map(|p| p.label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    eprint!("{:<width$}", "point");
    for c in cols {
        eprint!("  {c:>24}");
    }
    eprintln!();
    for p in &exp.points {
        eprint!("{:<width$}", p.label);
        for &i in &idx {
            let xs: Vec<f64> = records
                .iter()
                .filter(|r| r.point == p.index)
                .map(|r| r.values[i])
                .filter(|x| !x.is_nan())
                .collect();
            let s = crate::output::summary::Summary::of(&xs);
            let cell = if s.n == 0 {
                "-".to_string()
            } else if s.n < 2 {
                format!("{:.4}", s.mean)
            } else {
                format!("{:.4} ± {:.4}", s.mean, s.half_width())
            };
            eprint!("  {cell:>24}");
        }
        eprintln!();
    }
}
