//! `sessim trace FILE`: a real access log's figures, one `key: value` per line (see
//! [`crate::trace`] for the formats, sessions and the bad-line rule).

use super::InputError;
use crate::scenario::units::Duration;
use crate::trace::{self, Format, ParseOptions};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sessim trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Access log: CLF, combined or TSV (`host, epoch, method, url, status, bytes`).
    file: PathBuf,
    /// A session ends after a gap longer than this.
    #[arg(long, default_value = "30m")]
    idle_timeout: String,
    /// clf, combined or tsv [default: detected from the first lines].
    #[arg(long)]
    format: Option<String>,
    /// Fail when more than this share of the lines is malformed.
    #[arg(long, default_value_t = trace::DEFAULT_MAX_BAD_LINE_SHARE)]
    max_bad_line_share: f64,
}

/// Parses the trace and prints its figures.
///
/// # Errors
/// [`InputError`] (exit 2) naming the file, and the line when one is at fault.
pub fn run(args: TraceArgs) -> Result<ExitCode> {
    let bad = |m: String| anyhow::Error::new(InputError(m));
    let idle =
        Duration::parse(&args.idle_timeout).map_err(|e| bad(format!("--idle-timeout: {e}")))?;
    let format = match &args.format {
        Some(f) => Some(Format::parse(f).map_err(|e| bad(format!("--format: {e}")))?),
        None => None,
    };
    let share = args.max_bad_line_share;
    if !(0.0..=1.0).contains(&share) {
        return Err(bad(format!(
            "--max-bad-line-share: expected a share between 0 and 1, got {share}"
        )));
    }
    let opts = ParseOptions {
        format,
        max_bad_line_share: share,
    };
    let path = args.file.display();
    let t = trace::read_file(&args.file, &opts).map_err(|e| bad(format!("{path}: {e}")))?;
    let ignore = trace::ignore_regex(trace::DEFAULT_IGNORE_PATTERN)
        .map_err(|e| anyhow::anyhow!("default ignore pattern: {e}"))?;
    if t.bad_lines > 0 {
        let first: Vec<String> = t.first_bad_lines.iter().map(|n| n.to_string()).collect();
        eprintln!(
            "warning: {path}: {} malformed line(s) skipped, first at line(s) {}",
            t.bad_lines,
            first.join(", ")
        );
    }
    if t.unsorted_lines > 0 {
        eprintln!(
            "warning: {path}: {} record(s) out of time order, sorted by time",
            t.unsorted_lines
        );
    }
    for line in trace::figures(&t, idle.ns(), &ignore).to_lines() {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
