//! Semantic checks of a deserialized config. Each check pushes a [`ConfigError`] naming the key
//! and what was expected; checks go on after a failure so that every problem is reported.

use super::config::*;
use super::{err, ConfigError};
use crate::kernel::time::NS_PER_S;
use crate::model::store_node::EXPIRY_LIMIT_NS;
use crate::model::{balancer, strategy, NodeRef};

/// Largest number of app nodes (the balancer's tried-set is a 128-bit map, as nginx's bitmap).
pub const MAX_APP_NODES: u32 = 128;

struct Ctx<'a> {
    file: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Ctx<'_> {
    fn fail(&mut self, key: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(err(self.file, key, msg));
    }
    fn prob(&mut self, key: &str, p: f64) {
        if !(0.0..=1.0).contains(&p) {
            self.fail(
                key,
                format!("expected a probability between 0 and 1, got {p}"),
            );
        }
    }
    fn positive(&mut self, key: &str, x: f64) {
        if !(x > 0.0 && x.is_finite()) {
            self.fail(key, format!("expected a positive number, got {x}"));
        }
    }
    fn time_dist(&mut self, key: &str, d: &TimeDist, allow_zero: bool) {
        let pos = |x: u64| x > 0 || allow_zero;
        match d {
            TimeDist::Exponential { mean, cap } | TimeDist::Lognormal { mean, cap, .. } => {
                if !pos(mean.ns()) {
                    self.fail(
                        format!("{key}.mean"),
                        "expected a positive duration, got 0s",
                    );
                }
                if let Some(c) = cap {
                    if c.ns() == 0 {
                        self.fail(format!("{key}.cap"), "expected a positive duration, got 0s");
                    }
                }
                if let TimeDist::Lognormal { cv, .. } = d {
                    if !(*cv >= 0.0 && cv.is_finite()) {
                        self.fail(
                            format!("{key}.cv"),
                            format!("expected a coefficient of variation ≥ 0, got {cv}"),
                        );
                    }
                }
            }
            TimeDist::Fixed { value } => {
                if !pos(value.ns()) {
                    self.fail(
                        format!("{key}.value"),
                        "expected a positive duration, got 0s",
                    );
                }
            }
            TimeDist::Weibull { shape, scale } => {
                self.positive(&format!("{key}.shape"), *shape);
                if scale.ns() == 0 {
                    self.fail(
                        format!("{key}.scale"),
                        "expected a positive duration, got 0s",
                    );
                }
            }
        }
    }
    fn target(
        &mut self,
        key: &str,
        s: &str,
        cfg: &ExperimentConfig,
        whole_tier_ok: bool,
    ) -> Option<NodeRef> {
        match NodeRef::parse(s, whole_tier_ok) {
            Ok(r) => {
                let (count, tier) = match r {
                    NodeRef::App(_) | NodeRef::AllApp => (cfg.app.nodes, "app"),
                    NodeRef::Store(_) | NodeRef::AllStore => (cfg.store.nodes, "store"),
                };
                match r {
                    NodeRef::App(i) | NodeRef::Store(i) if i >= count => {
                        self.fail(key, format!("\"{s}\": there are {count} {tier} nodes (0..{count}), no {tier}:{i}"));
                        None
                    }
                    NodeRef::AllStore if count == 0 => {
                        self.fail(
                            key,
                            format!("\"{s}\": there are no store nodes (store.nodes = 0)"),
                        );
                        None
                    }
                    _ => Some(r),
                }
            }
            Err(m) => {
                self.fail(key, m);
                None
            }
        }
    }
}

/// The longest horizon \[days\]: a store node keeps expiry times exactly up to
/// [`EXPIRY_LIMIT_NS`] (~834 days).
pub const MAX_HORIZON_DAYS: u64 = 800;
const MAX_HORIZON_NS: u64 = MAX_HORIZON_DAYS * 86_400 * NS_PER_S;
const _: () = assert!(MAX_HORIZON_NS <= EXPIRY_LIMIT_NS);

/// Checks `cfg`, appending every problem to `errors`.
pub fn validate(cfg: &ExperimentConfig, file: &str, errors: &mut Vec<ConfigError>) {
    let mut c = Ctx { file, errors };
    if cfg.replications == 0 {
        c.fail("replications", "expected at least 1 replication, got 0");
    }
    if cfg.horizon.ns() == 0 {
        c.fail("horizon", "expected a positive duration, got 0s");
    }
    if cfg.horizon.ns() > MAX_HORIZON_NS {
        c.fail(
            "horizon",
            format!(
                "expected at most {MAX_HORIZON_DAYS} days, got {} (store nodes keep expiry \
                 times in 56 bits of nanoseconds)",
                cfg.horizon
            ),
        );
    }
    if cfg.warm_up >= cfg.horizon && cfg.horizon.ns() > 0 {
        c.fail(
            "warm_up",
            format!(
                "expected less than the horizon ({}), got {}",
                cfg.horizon, cfg.warm_up
            ),
        );
    }
    if let Some(n) = &cfg.name {
        if n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.') {
            c.fail(
                "name",
                format!("expected a plain name usable as a directory, got \"{n}\""),
            );
        }
    }
    // workload
    let w = &cfg.workload;
    match w.kind {
        WorkloadKind::Open => match w.session_rate {
            None => c.fail(
                "workload.session_rate",
                "an open workload needs session_rate [sessions/s]",
            ),
            Some(r) => c.positive("workload.session_rate", r),
        },
        WorkloadKind::Closed => match w.clients {
            None => c.fail(
                "workload.clients",
                "a closed workload needs clients (a number ≥ 1)",
            ),
            Some(0) => c.fail("workload.clients", "expected at least 1 client, got 0"),
            Some(_) => {}
        },
        WorkloadKind::Trace => {}
    }
    if w.kind == WorkloadKind::Trace {
        match &w.path {
            None => c.fail(
                "workload.path",
                "a trace workload needs path = \"<access log>\"",
            ),
            Some(p) => {
                if let Err(m) = crate::model::replay::load(p, w) {
                    c.fail("workload.path", m);
                }
            }
        }
        if !(w.time_scale > 0.0 && w.time_scale.is_finite()) {
            c.fail(
                "workload.time_scale",
                format!("expected a positive number, got {}", w.time_scale),
            );
        }
        if w.max_requests == Some(0) {
            c.fail(
                "workload.max_requests",
                "expected at least 1 request, got 0",
            );
        }
    }
    if w.kind == WorkloadKind::Open && w.clients.is_some() {
        c.fail(
            "workload.clients",
            "only a closed workload has clients; an open one has session_rate",
        );
    }
    if w.kind == WorkloadKind::Closed && w.session_rate.is_some() {
        c.fail(
            "workload.session_rate",
            "only an open workload has session_rate; a closed one has clients",
        );
    }
    match &w.requests_per_session {
        CountDist::Geometric { mean } | CountDist::Lognormal { mean, .. }
            if !(*mean >= 1.0 && mean.is_finite()) =>
        {
            c.fail(
                "workload.requests_per_session.mean",
                format!("expected a mean ≥ 1, got {mean}"),
            )
        }
        CountDist::Lognormal { cv, .. } if !(*cv >= 0.0 && cv.is_finite()) => c.fail(
            "workload.requests_per_session.cv",
            format!("expected a coefficient of variation ≥ 0, got {cv}"),
        ),
        CountDist::Fixed { value: 0 } => c.fail(
            "workload.requests_per_session.value",
            "expected at least 1 request, got 0",
        ),
        _ => {}
    }
    c.time_dist("workload.think_time", &w.think_time, true);
    c.prob("workload.write_probability", w.write_probability);
    c.prob("workload.static_share", w.static_share);
    // sessions are sized in 32 bits (a session of 4 GiB would also be far past any store's or
    // cookie's limit)
    if w.session_size.bytes() > u64::from(u32::MAX) {
        c.fail(
            "workload.session_size",
            format!("expected less than 4GiB, got {} B", w.session_size.bytes()),
        );
    }
    if w.delta_size > w.session_size {
        c.fail(
            "workload.delta_size",
            format!(
                "expected at most session_size ({} B), got {} B",
                w.session_size.bytes(),
                w.delta_size.bytes()
            ),
        );
    }
    c.prob("workload.addresses.proxy_share", w.addresses.proxy_share);
    match &w.parallel_requests {
        CountDist::Fixed { value: 0 } => c.fail(
            "workload.parallel_requests.value",
            "expected at least 1 request per page, got 0",
        ),
        CountDist::Geometric { mean } | CountDist::Lognormal { mean, .. }
            if !(*mean >= 1.0 && mean.is_finite()) =>
        {
            c.fail(
                "workload.parallel_requests.mean",
                format!("expected a mean ≥ 1, got {mean}"),
            )
        }
        _ => {}
    }
    if cfg.store.nodes > 64 {
        c.fail(
            "store.nodes",
            format!("expected at most 64 store nodes, got {}", cfg.store.nodes),
        );
    }
    if w.addresses.proxies == Some(0) {
        c.fail(
            "workload.addresses.proxies",
            "expected at least 1 proxy address, got 0",
        );
    }
    // app
    let a = &cfg.app;
    if a.nodes == 0 || a.nodes > MAX_APP_NODES {
        c.fail(
            "app.nodes",
            format!("expected 1 to {MAX_APP_NODES} nodes, got {}", a.nodes),
        );
    }
    if a.workers == 0 {
        c.fail("app.workers", "expected at least 1 worker, got 0");
    }
    c.time_dist("app.service_time", &a.service_time, false);
    if let Some(d) = &a.static_service_time {
        c.time_dist("app.static_service_time", d, false);
    }
    if a.session_timeout.ns() < 1_000_000_000 {
        c.fail(
            "app.session_timeout",
            format!("expected at least 1s, got {}", a.session_timeout),
        );
    }
    if a.expiry_sweep.ns() < 1_000_000_000 {
        c.fail(
            "app.expiry_sweep",
            format!("expected at least 1s, got {}", a.expiry_sweep),
        );
    }
    if let Some(r) = &a.jvm_routes {
        if r.len() != a.nodes as usize {
            c.fail(
                "app.jvm_routes",
                format!(
                    "expected {} jvmRoutes (one per node), got {}",
                    a.nodes,
                    r.len()
                ),
            );
        }
        for (i, x) in r.iter().enumerate() {
            if x.is_empty() || x.contains(['.', ';', ' ', ',']) || !x.is_ascii() {
                c.fail(format!("app.jvm_routes[{i}]"), format!("expected a non-empty ASCII name without '.', ';', ',' or spaces, got \"{x}\""));
            }
            if r[..i].contains(x) {
                c.fail(
                    format!("app.jvm_routes[{i}]"),
                    format!("jvmRoute \"{x}\" is used twice"),
                );
            }
        }
    }
    if let Some(s) = &a.servers {
        if s.len() != a.nodes as usize {
            c.fail(
                "app.servers",
                format!(
                    "expected {} server strings (one per node), got {}",
                    a.nodes,
                    s.len()
                ),
            );
        }
    }
    // balancer
    let b = &cfg.balancer;
    if balancer::find(&b.kind).is_none() {
        let known: Vec<&str> = balancer::REGISTRY.iter().map(|e| e.name).collect();
        c.fail(
            "balancer.kind",
            format!("expected one of {}, got \"{}\"", known.join(", "), b.kind),
        );
    }
    if let Some(ws) = &b.weights {
        if ws.len() != a.nodes as usize {
            c.fail(
                "balancer.weights",
                format!(
                    "expected {} weights (one per app node), got {}",
                    a.nodes,
                    ws.len()
                ),
            );
        }
        if let Some(i) = ws.iter().position(|&x| x == 0) {
            c.fail(
                format!("balancer.weights[{i}]"),
                "expected a weight ≥ 1, got 0",
            );
        }
    }
    for (i, &d) in b.down.iter().enumerate() {
        if d >= a.nodes {
            c.fail(
                format!("balancer.down[{i}]"),
                format!(
                    "there are {} app nodes (0..{}), no node {d}",
                    a.nodes, a.nodes
                ),
            );
        }
    }
    if a.nodes > 0 && (0..a.nodes).all(|i| b.down.contains(&i)) {
        c.fail(
            "balancer.down",
            "every server is marked down: no request could be served",
        );
    }
    if b.fail_timeout.ns() % 1_000_000_000 != 0 {
        c.fail(
            "balancer.fail_timeout",
            format!(
                "nginx counts fail_timeout in whole seconds, got {}",
                b.fail_timeout
            ),
        );
    }
    if b.retry.ns() % 1_000_000_000 != 0 {
        c.fail(
            "balancer.retry",
            format!("Apache counts retry in whole seconds, got {}", b.retry),
        );
    }
    let off = b.next_upstream.iter().any(|s| s == "off");
    for (i, s) in b.next_upstream.iter().enumerate() {
        if !["error", "timeout", "off"].contains(&s.as_str()) {
            c.fail(
                format!("balancer.next_upstream[{i}]"),
                format!("expected \"error\", \"timeout\" or \"off\", got \"{s}\""),
            );
        }
    }
    if off && b.next_upstream.len() > 1 {
        c.fail(
            "balancer.next_upstream",
            "\"off\" cannot be combined with other conditions",
        );
    }
    // strategy
    match strategy::find(&cfg.strategy.kind) {
        None => {
            let known: Vec<&str> = strategy::REGISTRY.iter().map(|e| e.name).collect();
            c.fail(
                "strategy.kind",
                format!(
                    "expected one of {}, got \"{}\"",
                    known.join(", "),
                    cfg.strategy.kind
                ),
            );
        }
        Some(entry) => {
            if let Err((key, msg)) = (entry.check)(cfg) {
                match key.strip_prefix('/') {
                    Some(abs) => c.fail(abs, msg),
                    None if key.is_empty() => c.fail("strategy", msg),
                    None => c.fail(format!("strategy.{key}"), msg),
                }
            }
        }
    }
    // network: durations can't be negative by construction.
    // faults
    for (i, f) in cfg.faults.iter().enumerate() {
        c.target(&format!("faults[{i}].target"), &f.target, cfg, false);
        if f.at >= cfg.horizon {
            c.fail(
                format!("faults[{i}].at"),
                format!(
                    "expected a time before the horizon ({}), got {}",
                    cfg.horizon, f.at
                ),
            );
        }
        if f.repair_after.is_some() && f.action == FaultAction::Repair {
            c.fail(
                format!("faults[{i}].repair_after"),
                "only a crash can have repair_after",
            );
        }
    }
    if let Some(fl) = &cfg.failures {
        if fl.targets.is_empty() {
            c.fail(
                "failures.targets",
                "expected at least one target such as \"app\" or \"app:0\"",
            );
        }
        for (i, t) in fl.targets.iter().enumerate() {
            c.target(&format!("failures.targets[{i}]"), t, cfg, true);
        }
        c.time_dist("failures.time_to_failure", &fl.time_to_failure, false);
        c.time_dist("failures.time_to_repair", &fl.time_to_repair, false);
    }
    if let Some(st) = &cfg.stopping {
        if !crate::model::observe::METRICS
            .iter()
            .any(|m| m.name == st.metric)
        {
            c.fail(
                "stopping.metric",
                format!(
                    "expected a metric name (see `sessim list metrics`), got \"{}\"",
                    st.metric
                ),
            );
        }
        if !(st.target_ci_relative > 0.0 && st.target_ci_relative.is_finite()) {
            c.fail(
                "stopping.target_ci_relative",
                format!(
                    "expected a positive number such as 0.05, got {}",
                    st.target_ci_relative
                ),
            );
        }
        if st.max_replications < cfg.replications.max(2) {
            c.fail(
                "stopping.max_replications",
                format!(
                    "expected at least replications ({}) and at least 2, got {}",
                    cfg.replications, st.max_replications
                ),
            );
        }
        if st.batch == 0 {
            c.fail(
                "stopping.batch",
                "expected at least 1 replication per round, got 0",
            );
        }
    }
    if cfg.output.timeseries_bucket.ns() < 1_000_000 {
        c.fail(
            "output.timeseries_bucket",
            format!(
                "expected at least 1ms, got {}",
                cfg.output.timeseries_bucket
            ),
        );
    } else if cfg.horizon.ns() / cfg.output.timeseries_bucket.ns() > 1_000_000 {
        c.fail(
            "output.timeseries_bucket",
            "more than 1,000,000 buckets over the horizon; use a wider bucket",
        );
    }
}
