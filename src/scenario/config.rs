//! The experiment file's schema (TOML, `deny_unknown_fields` everywhere). Every field documents
//! its unit and default. See the README's "Config reference" for a worked example.

use super::units::{Duration, Size};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One experiment file, after presets are merged in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Experiment name: results go to `results/<name>/` (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// One line describing the question the experiment answers (used in chart titles).
    #[serde(default)]
    pub description: String,
    /// Presets from `models/` merged under this file, in order (a name or a list of names).
    #[serde(default)]
    pub preset: Option<PresetList>,
    /// Master seed (mandatory): every random stream derives from it.
    pub seed: u64,
    /// Replications per design point (default 10).
    #[serde(default = "d_replications")]
    pub replications: u32,
    /// Simulated duration of each run (at most 800 days: store nodes keep expiry times in 56
    /// bits of nanoseconds).
    pub horizon: Duration,
    /// Statistics before this time are discarded (default 0s).
    #[serde(default)]
    pub warm_up: Duration,
    /// Common random numbers across balancers and strategies (default true): workload and fault
    /// streams ignore swept `balancer.*` and `strategy.*` values.
    #[serde(default = "d_true")]
    pub common_random_numbers: bool,
    /// The users.
    pub workload: WorkloadConfig,
    /// The application servers.
    #[serde(default)]
    pub app: AppConfig,
    /// The load balancer.
    pub balancer: BalancerConfig,
    /// The session-persistence strategy.
    #[serde(default)]
    pub strategy: StrategyConfig,
    /// Store nodes (memcached or Redis) for store-backed strategies.
    #[serde(default)]
    pub store: StoreConfig,
    /// Link latencies.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Scheduled faults.
    #[serde(default)]
    pub faults: Vec<FaultConfig>,
    /// Stochastic failures (time to failure / time to repair).
    #[serde(default)]
    pub failures: Option<FailuresConfig>,
    /// Output options.
    #[serde(default)]
    pub output: OutputConfig,
    /// Sequential stopping: add replications until a metric's 95% CI is tight enough.
    #[serde(default)]
    pub stopping: Option<StoppingConfig>,
}

/// `preset = "name"` or `preset = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PresetList {
    /// One preset.
    One(String),
    /// Several, merged in order.
    Many(Vec<String>),
}

fn d_replications() -> u32 {
    10
}
fn d_true() -> bool {
    true
}

/// The users: how sessions arrive and what each does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// `"open"` (Poisson session arrivals) or `"closed"` (a fixed population of clients that start
    /// a new session when one ends).
    pub kind: WorkloadKind,
    /// Open: session arrival rate [sessions/s].
    #[serde(default)]
    pub session_rate: Option<f64>,
    /// Closed: number of clients.
    #[serde(default)]
    pub clients: Option<u32>,
    /// Requests per session (default geometric, mean 10).
    #[serde(default = "d_requests")]
    pub requests_per_session: CountDist,
    /// Think time between a response and the next request (default exponential, mean 7 s, capped
    /// at 70 s, after TPC-W).
    #[serde(default = "d_think")]
    pub think_time: TimeDist,
    /// Probability that a dynamic request writes the session (default 0.3).
    #[serde(default = "d_write")]
    pub write_probability: f64,
    /// Share of requests that are static (images, css, js) and match
    /// `request_uri_ignore_pattern` (default 0).
    #[serde(default)]
    pub static_share: f64,
    /// Serialized session size (default 4KiB; less than 4GiB).
    #[serde(default = "d_session_size")]
    pub session_size: Size,
    /// Size of the attributes one write changes (default 256B).
    #[serde(default = "d_delta_size")]
    pub delta_size: Size,
    /// Client addresses (default unique IPv4 per session).
    #[serde(default)]
    pub addresses: AddressConfig,
    /// Requests a page issues at once (AJAX sub-requests; default fixed 1). `requests_per_session`
    /// then counts pages; the client thinks after the last response of a page.
    #[serde(default = "d_parallel")]
    pub parallel_requests: CountDist,
    /// Trace: the access log (CLF, combined or TSV), relative to the experiment file.
    #[serde(default)]
    pub path: Option<String>,
    /// Trace: `"clf"`, `"combined"` or `"tsv"` (default: detected).
    #[serde(default)]
    pub format: Option<String>,
    /// Trace: a host's requests with gaps up to this form one session (default 30m).
    #[serde(default = "d_idle")]
    pub session_idle_timeout: Duration,
    /// Trace: simulated time = log time × this (default 1; 0.5 replays twice as fast).
    #[serde(default = "d_one")]
    pub time_scale: f64,
    /// Trace: replay at most this many requests (default all).
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// Trace: URLs matching this (query string ignored) are static requests
    /// (default msm's `.*\.(ico|png|gif|jpg|css|js)$`).
    #[serde(default)]
    pub request_uri_ignore_pattern: Option<String>,
    /// Trace: share of malformed lines tolerated (counted and warned about) (default 0.01).
    #[serde(default = "d_bad_share")]
    pub max_bad_line_share: f64,
    /// HTTP request size without cookies, for traffic accounting (default 500B).
    #[serde(default = "d_request_size")]
    pub request_size: Size,
    /// HTTP response size without cookies (default 8KiB).
    #[serde(default = "d_response_size")]
    pub response_size: Size,
}

fn d_idle() -> Duration {
    Duration(1_800_000_000_000)
}
fn d_one() -> f64 {
    1.0
}
fn d_bad_share() -> f64 {
    0.01
}
fn d_parallel() -> CountDist {
    CountDist::Fixed { value: 1 }
}
fn d_request_size() -> Size {
    Size(500)
}
fn d_response_size() -> Size {
    Size(8192)
}

/// Store nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `"memcached"` or `"redis"` (default memcached).
    #[serde(default)]
    pub kind: StoreKindConfig,
    /// Number of store nodes (default 0).
    #[serde(default)]
    pub nodes: u32,
    /// memcached `-m`: memory for items per node (default 64MiB, as in seed 000); Redis
    /// `maxmemory` (0B = unlimited).
    #[serde(default = "d_cache_size")]
    pub cache_size: Size,
    /// Service time of one operation at the store (default 50us).
    #[serde(default = "d_op_latency")]
    pub op_latency: Duration,
    /// Redis persistence: `"volatile"` (default) or `"aof-everysec"`.
    #[serde(default)]
    pub persistence: PersistenceConfig,
    /// Redis: a replica fed asynchronously (default false).
    #[serde(default)]
    pub replica: bool,
    /// Redis replication lag (default 10ms).
    #[serde(default = "d_replication_lag")]
    pub replication_lag: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// Store kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKindConfig {
    /// memcached.
    #[default]
    Memcached,
    /// Redis.
    Redis,
}

/// Redis persistence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PersistenceConfig {
    /// Nothing survives a crash.
    #[default]
    Volatile,
    /// `appendonly yes`, `appendfsync everysec`.
    AofEverysec,
}

fn d_cache_size() -> Size {
    Size(64 << 20)
}
fn d_op_latency() -> Duration {
    Duration(50_000)
}
fn d_replication_lag() -> Duration {
    Duration(10_000_000)
}

/// Workload kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Poisson session arrivals.
    Open,
    /// Closed loop.
    Closed,
    /// Replay of an access log (`path`): requests at the log's times, sessions by idle gap.
    Trace,
}

fn d_requests() -> CountDist {
    CountDist::Geometric { mean: 10.0 }
}
fn d_think() -> TimeDist {
    TimeDist::Exponential {
        mean: Duration(7_000_000_000),
        cap: Some(Duration(70_000_000_000)),
    }
}
fn d_write() -> f64 {
    0.3
}
fn d_session_size() -> Size {
    Size(4096)
}
fn d_delta_size() -> Size {
    Size(256)
}

/// A distribution of a count ≥ 1.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CountDist {
    /// Geometric on {1, 2, …} with the given mean (≥ 1).
    Geometric {
        /// Mean.
        mean: f64,
    },
    /// Always `value`.
    Fixed {
        /// The count (≥ 1).
        value: u64,
    },
    /// Lognormal with mean and coefficient of variation, rounded to the nearest integer ≥ 1.
    Lognormal {
        /// Mean.
        mean: f64,
        /// Coefficient of variation (std / mean).
        cv: f64,
    },
}

/// A distribution of a duration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TimeDist {
    /// Exponential with the given mean, optionally capped.
    Exponential {
        /// Mean.
        mean: Duration,
        /// Values above are cut to this (optional).
        #[serde(default)]
        cap: Option<Duration>,
    },
    /// Always `value`.
    Fixed {
        /// The duration.
        value: Duration,
    },
    /// Lognormal with mean and coefficient of variation, optionally capped.
    Lognormal {
        /// Mean.
        mean: Duration,
        /// Coefficient of variation (std / mean).
        cv: f64,
        /// Values above are cut to this (optional).
        #[serde(default)]
        cap: Option<Duration>,
    },
    /// Weibull with `shape` k and `scale` λ.
    Weibull {
        /// Shape k (> 0).
        shape: f64,
        /// Scale λ.
        scale: Duration,
    },
}

/// Client addresses (what ip-hash keys on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    /// Share of sessions that come through one of `proxies` shared addresses (NAT, corporate or
    /// ISP proxies); the rest get a unique random IPv4 address (default 0).
    #[serde(default)]
    pub proxy_share: f64,
    /// Number of proxy addresses, each in its own /24 (default 10).
    #[serde(default)]
    pub proxies: Option<u32>,
}

/// The application servers (Tomcat).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Number of app nodes (default 2; at most 128).
    #[serde(default = "d_nodes")]
    pub nodes: u32,
    /// Worker threads per node (Tomcat maxThreads, default 200).
    #[serde(default = "d_workers")]
    pub workers: u32,
    /// Service time of one dynamic request (default exponential, mean 3 ms).
    #[serde(default = "d_service")]
    pub service_time: TimeDist,
    /// Service time of one static request (default: same as `service_time`).
    #[serde(default)]
    pub static_service_time: Option<TimeDist>,
    /// Session timeout, Tomcat maxInactiveInterval (default 30m).
    #[serde(default = "d_timeout")]
    pub session_timeout: Duration,
    /// Period of the expiry sweep (Tomcat backgroundProcessorDelay × processExpiresFrequency,
    /// default 60s).
    #[serde(default = "d_sweep")]
    pub expiry_sweep: Duration,
    /// jvmRoute per node (default `tomcat1`, `tomcat2`, …).
    #[serde(default)]
    pub jvm_routes: Option<Vec<String>>,
    /// nginx `server` strings per node, used by consistent hashing (default `10.0.0.<i+1>:8080`).
    #[serde(default)]
    pub servers: Option<Vec<String>>,
    /// What a crash looks like to the balancer: `"process"` (port closed, connect refused at
    /// once) or `"host"` (no answer: nginx waits `balancer.connect_timeout`). Default process.
    #[serde(default)]
    pub crash_kind: CrashKind,
}

impl Default for AppConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// How a crashed node fails connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashKind {
    /// Connection refused immediately.
    #[default]
    Process,
    /// Connect timeout.
    Host,
}

fn d_nodes() -> u32 {
    2
}
fn d_workers() -> u32 {
    200
}
fn d_service() -> TimeDist {
    TimeDist::Exponential {
        mean: Duration(3_000_000),
        cap: None,
    }
}
fn d_timeout() -> Duration {
    Duration(1_800_000_000_000)
}
fn d_sweep() -> Duration {
    Duration(60_000_000_000)
}

/// The load balancer (nginx upstream or Apache mod_proxy_balancer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalancerConfig {
    /// Algorithm: see `sessim list`.
    pub kind: String,
    /// `weight=` per server (default all 1).
    #[serde(default)]
    pub weights: Option<Vec<u32>>,
    /// 0-based indices of servers marked `down`.
    #[serde(default)]
    pub down: Vec<u32>,
    /// nginx `max_fails` (default 1; 0 disables failure accounting).
    #[serde(default = "d_max_fails")]
    pub max_fails: u32,
    /// nginx `fail_timeout` (default 10s; whole seconds).
    #[serde(default = "d_fail_timeout")]
    pub fail_timeout: Duration,
    /// nginx `max_conns` (default 0 = unlimited).
    #[serde(default)]
    pub max_conns: u32,
    /// nginx `proxy_next_upstream` conditions: any of `"error"`, `"timeout"`, or `["off"]`
    /// (default `["error", "timeout"]`).
    #[serde(default = "d_next_upstream")]
    pub next_upstream: Vec<String>,
    /// nginx `proxy_next_upstream non_idempotent`: retry POSTs too (default false).
    #[serde(default)]
    pub non_idempotent: bool,
    /// nginx `proxy_connect_timeout` (default 60s): how long a connect to a crashed host takes
    /// to fail when `app.crash_kind = "host"`.
    #[serde(default = "d_connect_timeout")]
    pub connect_timeout: Duration,
    /// Apache `retry` for `route` (default 60s).
    #[serde(default = "d_retry")]
    pub retry: Duration,
    /// Apache `nofailover=On` for `route` (default false).
    #[serde(default)]
    pub nofailover: bool,
}

fn d_max_fails() -> u32 {
    1
}
fn d_fail_timeout() -> Duration {
    Duration(10_000_000_000)
}
fn d_next_upstream() -> Vec<String> {
    vec!["error".into(), "timeout".into()]
}
fn d_connect_timeout() -> Duration {
    Duration(60_000_000_000)
}
fn d_retry() -> Duration {
    Duration(60_000_000_000)
}

/// The session-persistence strategy and its options (the options are checked, unknown keys
/// included, by the strategy named in `kind`).
#[derive(Debug, Clone, Deserialize)]
pub struct StrategyConfig {
    /// Strategy name: see `sessim list` (default `local`).
    #[serde(default = "d_strategy")]
    pub kind: String,
    /// Strategy-specific options (checked by the strategy itself).
    #[serde(flatten)]
    pub options: BTreeMap<String, toml::Value>,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        StrategyConfig {
            kind: d_strategy(),
            options: BTreeMap::new(),
        }
    }
}

fn d_strategy() -> String {
    "local".into()
}

/// One-way latency per link class.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Client ↔ balancer (default 20ms: a WAN user).
    #[serde(default = "d_wan")]
    pub client_balancer: Duration,
    /// Balancer ↔ app node (default 100us: one LAN).
    #[serde(default = "d_lan")]
    pub balancer_app: Duration,
    /// App node ↔ app node (default 100us).
    #[serde(default = "d_lan")]
    pub app_app: Duration,
    /// App node ↔ store node (default 100us).
    #[serde(default = "d_lan")]
    pub app_store: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

fn d_wan() -> Duration {
    Duration(20_000_000)
}
fn d_lan() -> Duration {
    Duration(100_000)
}

/// A scheduled fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// `"app:<i>"` or `"store:<i>"` (0-based).
    pub target: String,
    /// `"crash"` or `"repair"` (default crash).
    #[serde(default)]
    pub action: FaultAction,
    /// When.
    pub at: Duration,
    /// For a crash: repair this long after (optional; default never).
    #[serde(default)]
    pub repair_after: Option<Duration>,
}

/// Fault actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// The node stops: memory and in-flight requests are lost.
    #[default]
    Crash,
    /// The node starts again, empty.
    Repair,
}

/// Stochastic failures: each targeted node alternates up (time to failure) and down (time to
/// repair), independently.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailuresConfig {
    /// Nodes: `["app"]` (all app nodes), `["app:0", "store:1"]`, … (default all app nodes).
    #[serde(default = "d_fail_targets")]
    pub targets: Vec<String>,
    /// Time to failure.
    pub time_to_failure: TimeDist,
    /// Time to repair.
    pub time_to_repair: TimeDist,
}

fn d_fail_targets() -> Vec<String> {
    vec!["app".into()]
}

/// Sequential stopping: after the first `replications`, batches of `batch` more are added to a
/// design point until the half-width of `metric`'s Student-t 95% interval is at most
/// `target_ci_relative` × |mean|, or the point has `max_replications`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoppingConfig {
    /// Metric name (a runs.csv column).
    pub metric: String,
    /// Target half-width relative to the mean, e.g. 0.05.
    pub target_ci_relative: f64,
    /// Cap on replications per point.
    pub max_replications: u32,
    /// Replications added per round (default 5).
    #[serde(default = "d_batch")]
    pub batch: u32,
}

fn d_batch() -> u32 {
    5
}

/// Output options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Bucket width of timeseries.csv (default 10s).
    #[serde(default = "d_bucket")]
    pub timeseries_bucket: Duration,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            timeseries_bucket: d_bucket(),
        }
    }
}

fn d_bucket() -> Duration {
    Duration(10_000_000_000)
}
