//! sessim's integration tests: one binary (matklad's layout), one module per concern.

mod bad_configs;
mod closed_forms;
mod determinism;
mod experiments;
mod fuzz;
mod nginx_oracle;
mod props;
mod replay;
mod robustness;
mod strategy_client_cookie;
mod strategy_msm;
mod strategy_redis_store;
mod strategy_replication;
mod support;
mod sweeps;
mod trace;
