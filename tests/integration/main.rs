//! sessim's integration tests: one binary (matklad's layout), one module per concern.

mod bad_configs;
mod closed_forms;
mod determinism;
mod experiments;
mod nginx_oracle;
mod strategy_replication;
mod support;
mod sweeps;
mod trace;
