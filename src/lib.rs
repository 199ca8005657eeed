//! sessim: a deterministic discrete-event simulator of HTTP session-persistence strategies.
//!
//! ```text
//! experiments/X.toml ─► scenario (parse, presets, sweep, validate) ─► plan of runs
//!        ─► kernel + model (one run per thread) ─► observations ─► output (CSV, manifest)
//! ```
#![warn(missing_docs)]

pub mod alloc;
pub mod cli;
pub mod estimate;
pub mod kernel;
pub mod model;
pub mod output;
pub mod runner;
pub mod scenario;
pub mod trace;
