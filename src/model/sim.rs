//! The simulated system: clients, one balancer, app nodes, store nodes and a session strategy,
//! wired into the kernel as one [`Model`].
//!
//! ```text
//!  client ──(client_balancer)──► balancer ──(balancer_app)──► app node: FIFO queue → workers
//!    ▲  pages of parallel requests  │ ▲ retry on error (proxy_next_upstream)        │
//!    │                              │ └────────── AttemptFailed ◄── crash/refused ──┤ strategy:
//!    │                              │                                               │ begin → service
//!    └── response (+ think time) ◄──┴─────────────────────────── response ◄─────────┘ → end (waits)
//! ```
//! Events per request: `ClientSend` (a page reaches the balancer), `NodeArrival`,
//! `ServiceDone`, plus `StrategyWait` for each wait a strategy asks for. The client's next page
//! is scheduled from the last response of a page plus its think time. Requests that write the
//! session are POSTs (not retried once sent unless `non_idempotent`); others are GETs.

use super::balancer::{Balancer, BalancerParams, PeerData, RequestKey};
use super::ids::{NodeIdx, SessionId};
use super::observe::{Observations, RunMetrics};
use super::session::{SessionRef, SessionTable};
use super::store_node::{Persistence, StoreKind, StoreNode};
use super::strategy::{self, Cx, Net, Req, ReqState, Step, Strategy};
use super::workload::{CountSampler, TimeSampler};
use crate::kernel::{EntityStream, Model, Scheduler, SimTime, Stream, StreamKey};
use crate::scenario::config::{
    CrashKind, ExperimentConfig, FaultAction, PersistenceConfig, StoreKindConfig, WorkloadKind,
};
use crate::scenario::DesignPoint;
use std::collections::VecDeque;

/// Events. 8 bytes: payloads are indices into the entity tables.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Open workload: the next user session arrives.
    SessionArrival,
    /// Client `c`'s next page reaches the balancer.
    ClientSend(u32),
    /// Trace replay: logged request i reaches the balancer.
    TraceSend(u32),
    /// Request (index, generation) reaches its app node.
    NodeArrival(u32, u16),
    /// Request (index, generation) finished its service demand.
    ServiceDone(u32, u16),
    /// A strategy wait of request (index, generation) is over.
    StrategyWait(u32, u16),
    /// The balancer learns that the attempt of request (index, generation) failed.
    AttemptFailed(u32, u16),
    /// An event the strategy asked for (its payload).
    Strategy(u32),
    /// Expiry sweep of app node i.
    ExpirySweep(u16),
    /// Scheduled fault i of `[[faults]]`.
    Fault(u32),
    /// Scheduled repair of a target (from a fault's `repair_after`).
    ScheduledRepair(Target),
    /// Stochastic failure of a target.
    RandomFailure(Target),
    /// Stochastic repair of a target.
    RandomRepair(Target),
}

/// A node a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// App node i.
    App(u16),
    /// Store node i.
    Store(u16),
}

const STATIC: u8 = 1;
const WRITE: u8 = 2;
const SENT: u8 = 4;
const TIMED_OUT: u8 = 8;
const IN_END: u8 = 16;
const FAILED: u8 = 32;

struct Request {
    client: u32,
    gen: u16,
    node: NodeIdx,
    flags: u8,
    pos: u32,
    issued: SimTime,
    demand_ns: u64,
    pd: PeerData,
    cookie: Option<(SessionId, SessionRef)>,
    set_cookie: Option<(SessionId, SessionRef)>,
    st: ReqState,
    /// Generation of `st.slot` when the session was resolved: if the session is destroyed
    /// while the request runs, its slot may be reused and must not receive this request's write.
    slot_gen: u32,
}

/// 128 bytes, aligned to a cache line: two lines per client (a 16-byte-aligned table would
/// spread most clients over three).
#[repr(align(64))]
struct Client {
    addr: [u8; 4],
    /// Pages left in the current user session, including the one in flight.
    left: u32,
    /// Requests of the current page still in flight.
    outstanding: u32,
    cookie: Option<(SessionId, SessionRef)>,
    /// When the user's session expires if nothing fails: last dynamic response + timeout.
    live_until: SimTime,
    active: bool,
    affected: bool,
    at_fault: bool,
    think: EntityStream,
    request: EntityStream,
}

struct AppNode {
    up: bool,
    busy: u32,
    queue: VecDeque<u32>,
    in_service: Vec<u32>,
    ids: Stream,
}

struct Params {
    workload: WorkloadKind,
    session_rate: f64,
    requests: CountSampler,
    parallel: CountSampler,
    think: TimeSampler,
    service: TimeSampler,
    static_service: TimeSampler,
    write_p: f64,
    static_p: f64,
    session_bytes: u32,
    request_bytes: u64,
    response_bytes: u64,
    proxy_share: f64,
    proxies: u32,
    workers: u32,
    timeout_ns: u64,
    sweep_ns: u64,
    lat_cb: u64,
    lat_ba: u64,
    net: Net,
    crash_kind: CrashKind,
    connect_timeout_ns: u64,
    retry_error: bool,
    retry_timeout: bool,
    non_idempotent: bool,
    warm_up: SimTime,
    horizon: SimTime,
    routes: Vec<String>,
    store_ids: Vec<String>,
    ttf: Option<TimeSampler>,
    ttr: Option<TimeSampler>,
    replay: Option<std::sync::Arc<super::replay::Replay>>,
    time_scale: f64,
}

/// The whole simulated system of one run.
pub struct Sim {
    p: Params,
    cfg_faults: Vec<(Target, FaultAction, Option<u64>)>,
    clients: Vec<Client>,
    free_clients: Vec<u32>,
    requests: Vec<Request>,
    free_requests: Vec<u32>,
    nodes: Vec<AppNode>,
    nodes_up: Vec<bool>,
    up_count: u32,
    stores: Vec<StoreNode>,
    sessions: SessionTable,
    balancer: Box<dyn Balancer>,
    /// `balancer.reads_session_id()`: whether dispatch formats the cookie's text.
    balancer_reads_id: bool,
    tries: u32,
    strategy: Box<dyn Strategy>,
    /// `strategy.saves()`: whether a request's service ends with a call to `end`.
    strategy_saves: bool,
    strategy_rng: Stream,
    later: Vec<(u64, u32)>,
    arrivals: Stream,
    failure_streams: Vec<(Target, Stream, Stream)>,
    users_begun: u64,
    key: (u64, u64, u64),
    /// Observations.
    pub obs: Observations,
}

/// What one run produced.
pub struct RunOutput {
    /// Metrics.
    pub metrics: RunMetrics,
    /// Timeseries buckets.
    pub series: Vec<super::observe::Bucket>,
    /// Requests served per app node after warm-up.
    pub node_requests: Vec<u64>,
    /// Events handled.
    pub events: u64,
    /// Requests issued during the whole run.
    pub issued_total: u64,
    /// Responses received during the whole run.
    pub answered_total: u64,
    /// Requests still in flight at the horizon.
    pub in_flight: u64,
    /// Successful responses during the whole run.
    pub completed_total: u64,
    /// Largest number of server-side sessions alive at once.
    pub live_sessions_peak: u64,
}

/// Builds balancer parameters from a config (also used by `sessim route`).
pub fn balancer_params(cfg: &ExperimentConfig) -> BalancerParams {
    let n = cfg.app.nodes as usize;
    let b = &cfg.balancer;
    BalancerParams {
        weights: b.weights.clone().unwrap_or_else(|| vec![1; n]),
        down: (0..n).map(|i| b.down.contains(&(i as u32))).collect(),
        max_fails: b.max_fails,
        fail_timeout_s: b.fail_timeout.ns() / 1_000_000_000,
        max_conns: b.max_conns,
        retry_s: b.retry.ns() / 1_000_000_000,
        nofailover: b.nofailover,
        servers: cfg
            .app
            .servers
            .clone()
            .unwrap_or_else(|| (0..n).map(|i| format!("10.0.0.{}:8080", i + 1)).collect()),
        routes: jvm_routes(cfg),
    }
}

fn jvm_routes(cfg: &ExperimentConfig) -> Vec<String> {
    cfg.app.jvm_routes.clone().unwrap_or_else(|| {
        (0..cfg.app.nodes)
            .map(|i| format!("tomcat{}", i + 1))
            .collect()
    })
}

/// Memcached node ids as they appear in msm session ids (`n1`, `n2`, …).
pub fn store_ids(cfg: &ExperimentConfig) -> Vec<String> {
    (0..cfg.store.nodes)
        .map(|i| format!("n{}", i + 1))
        .collect()
}

fn parse_target(s: &str) -> Vec<Target> {
    match super::NodeRef::parse(s, true) {
        Ok(super::NodeRef::App(i)) => vec![Target::App(i as u16)],
        Ok(super::NodeRef::Store(i)) => vec![Target::Store(i as u16)],
        _ => vec![],
    }
}

impl Sim {
    /// Builds the system of design point `point`, replication `replication`.
    ///
    /// The config must have passed validation (`scenario::load`); an invalid one may panic.
    pub fn new(point: &DesignPoint, replication: u32) -> Sim {
        let cfg = &point.config;
        let stream = |purpose: &str, entity: u64| {
            Stream::new(&StreamKey {
                master: cfg.seed,
                point: point.stream_key,
                replication: replication as u64,
                purpose,
                entity,
            })
        };
        let n = cfg.app.nodes as usize;
        let w = &cfg.workload;
        let b = &cfg.balancer;
        let p = Params {
            workload: w.kind,
            session_rate: w.session_rate.unwrap_or(0.0),
            requests: CountSampler::new(&w.requests_per_session),
            parallel: CountSampler::new(&w.parallel_requests),
            think: TimeSampler::new(&w.think_time),
            service: TimeSampler::new(&cfg.app.service_time),
            static_service: TimeSampler::new(
                cfg.app
                    .static_service_time
                    .as_ref()
                    .unwrap_or(&cfg.app.service_time),
            ),
            write_p: w.write_probability,
            static_p: w.static_share,
            session_bytes: u32::try_from(w.session_size.bytes()).expect("validated session_size"),
            request_bytes: w.request_size.bytes(),
            response_bytes: w.response_size.bytes(),
            proxy_share: w.addresses.proxy_share,
            proxies: w.addresses.proxies.unwrap_or(10),
            workers: cfg.app.workers,
            timeout_ns: cfg.app.session_timeout.ns(),
            sweep_ns: cfg.app.expiry_sweep.ns(),
            lat_cb: cfg.network.client_balancer.ns(),
            lat_ba: cfg.network.balancer_app.ns(),
            net: Net {
                app_app: cfg.network.app_app.ns(),
                app_store: cfg.network.app_store.ns(),
                store_op: cfg.store.op_latency.ns(),
            },
            crash_kind: cfg.app.crash_kind,
            connect_timeout_ns: b.connect_timeout.ns(),
            retry_error: b.next_upstream.iter().any(|s| s == "error"),
            retry_timeout: b.next_upstream.iter().any(|s| s == "timeout"),
            non_idempotent: b.non_idempotent,
            warm_up: SimTime::from_ns(cfg.warm_up.ns()),
            horizon: SimTime::from_ns(cfg.horizon.ns()),
            routes: jvm_routes(cfg),
            store_ids: store_ids(cfg),
            ttf: cfg
                .failures
                .as_ref()
                .map(|f| TimeSampler::new(&f.time_to_failure)),
            ttr: cfg
                .failures
                .as_ref()
                .map(|f| TimeSampler::new(&f.time_to_repair)),
            replay: match (w.kind, &w.path) {
                (WorkloadKind::Trace, Some(path)) => {
                    Some(super::replay::load(path, w).expect("validated trace"))
                }
                _ => None,
            },
            time_scale: w.time_scale,
        };
        let params = balancer_params(cfg);
        let balancer = (super::balancer::find(&b.kind)
            .expect("validated balancer kind")
            .build)(&params);
        let tries = balancer.tries();
        let strategy = (strategy::find(&cfg.strategy.kind)
            .expect("validated strategy kind")
            .build)(cfg);
        let nodes = (0..n)
            .map(|i| AppNode {
                up: true,
                busy: 0,
                queue: VecDeque::new(),
                in_service: Vec::new(),
                ids: stream("app.session_id", i as u64),
            })
            .collect();
        let (kind, persistence) = match (cfg.store.kind, cfg.store.persistence) {
            (StoreKindConfig::Memcached, _) => (StoreKind::Memcached, Persistence::Volatile),
            (StoreKindConfig::Redis, PersistenceConfig::Volatile) => {
                (StoreKind::Redis, Persistence::Volatile)
            }
            (StoreKindConfig::Redis, PersistenceConfig::AofEverysec) => {
                (StoreKind::Redis, Persistence::AofEverysec)
            }
        };
        let stores = (0..cfg.store.nodes)
            .map(|_| StoreNode::new(kind, persistence, cfg.store.cache_size.bytes()))
            .collect();
        let cfg_faults = cfg
            .faults
            .iter()
            .map(|f| {
                (
                    parse_target(&f.target)[0],
                    f.action,
                    f.repair_after.map(|d| d.ns()),
                )
            })
            .collect();
        let mut targets = std::collections::BTreeSet::new();
        if let Some(fl) = &cfg.failures {
            for t in &fl.targets {
                match super::NodeRef::parse(t, true) {
                    Ok(super::NodeRef::AllApp) => targets.extend((0..n as u16).map(Target::App)),
                    Ok(super::NodeRef::AllStore) => {
                        targets.extend((0..cfg.store.nodes as u16).map(Target::Store))
                    }
                    _ => targets.extend(parse_target(t)),
                }
            }
        }
        let failure_streams = targets
            .into_iter()
            .map(|t| {
                let entity = match t {
                    Target::App(i) => i as u64,
                    Target::Store(i) => 1_000_000 + i as u64,
                };
                (
                    t,
                    stream("fault.time_to_failure", entity),
                    stream("fault.time_to_repair", entity),
                )
            })
            .collect();
        let obs = Observations::new(n, cfg.output.timeseries_bucket.ns(), p.horizon, p.warm_up);
        Sim {
            cfg_faults,
            clients: Vec::new(),
            free_clients: Vec::new(),
            requests: Vec::new(),
            free_requests: Vec::new(),
            nodes,
            nodes_up: vec![true; n],
            up_count: n as u32,
            stores,
            sessions: SessionTable::default(),
            balancer_reads_id: balancer.reads_session_id(),
            balancer,
            tries,
            strategy_saves: strategy.saves(),
            strategy,
            strategy_rng: stream("strategy", 0),
            later: Vec::new(),
            arrivals: stream("workload.arrivals", 0),
            failure_streams,
            users_begun: 0,
            key: (cfg.seed, point.stream_key, replication as u64),
            obs,
            p,
        }
    }

    fn client_streams(&self, entity: u64) -> (EntityStream, EntityStream) {
        let (master, point, replication) = self.key;
        let mk = |purpose| {
            Stream::new(&StreamKey {
                master,
                point,
                replication,
                purpose,
                entity,
            })
        };
        (mk("client.think_time"), mk("client.request"))
    }

    /// Schedules the initial events: arrivals or clients, expiry sweeps, faults.
    pub fn start(&mut self, cfg: &ExperimentConfig, s: &mut Scheduler<Event>) {
        match self.p.workload {
            WorkloadKind::Open => {
                let first = self.arrivals.exponential(1e9 / self.p.session_rate) as u64;
                s.schedule_in(first, Event::SessionArrival);
            }
            WorkloadKind::Trace => {
                if let Some(first) = self.p.replay.as_ref().and_then(|r| r.requests.first()) {
                    s.schedule_in(
                        self.trace_time(first.t_ns) + self.p.lat_cb,
                        Event::TraceSend(0),
                    );
                }
            }
            WorkloadKind::Closed => {
                let n = cfg.workload.clients.unwrap_or(0);
                // one allocation: an over-aligned `Vec` grows by copying
                self.clients.reserve_exact(n as usize);
                for c in 0..n {
                    let (mut think, request) = self.client_streams(c as u64);
                    let offset = self.p.think.sample(&mut think);
                    self.clients.push(Client::new(think, request));
                    self.begin_user_session(c, SimTime::from_ns(offset));
                    s.schedule_in(offset + self.p.lat_cb, Event::ClientSend(c));
                }
            }
        }
        for i in 0..self.nodes.len() {
            s.schedule_in(self.p.sweep_ns, Event::ExpirySweep(i as u16));
        }
        for (i, f) in cfg.faults.iter().enumerate() {
            s.schedule_at(SimTime::from_ns(f.at.ns()), Event::Fault(i as u32));
        }
        if let Some(ttf) = self.p.ttf {
            for (t, ttf_stream, _) in &mut self.failure_streams {
                s.schedule_in(ttf.sample(ttf_stream).max(1), Event::RandomFailure(*t));
            }
        }
    }

    /// Simulated time of a logged instant \[ns\].
    fn trace_time(&self, t_ns: u64) -> u64 {
        (t_ns as f64 * self.p.time_scale) as u64
    }

    /// Trace replay: logged request `i` reaches the balancer; the next one is scheduled.
    fn trace_send(&mut self, i: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let replay = self.p.replay.clone().expect("trace workload");
        let rec = replay.requests[i as usize];
        let c = rec.session;
        if c as usize == self.clients.len() {
            let (think, request) = self.client_streams(c as u64);
            self.clients.push(Client::new(think, request));
            self.begin_user_session(c, now);
            let (addr, count) = replay.sessions[c as usize];
            let cl = &mut self.clients[c as usize];
            cl.addr = addr;
            cl.left = count;
        }
        self.clients[c as usize].outstanding += 1;
        let r = self.new_request(c, now, Some(rec.is_static));
        self.dispatch(r, s);
        if let Some(next) = replay.requests.get(i as usize + 1) {
            let at = SimTime::from_ns(self.trace_time(next.t_ns) + self.p.lat_cb);
            s.schedule_at(at.max(now), Event::TraceSend(i + 1));
        }
    }

    /// Starts a user session for client `c` (the first page is sent at `t`).
    fn begin_user_session(&mut self, c: u32, t: SimTime) {
        let p_share = self.p.proxy_share;
        let proxies = self.p.proxies;
        let cl = &mut self.clients[c as usize];
        cl.left = self.p.requests.sample(&mut cl.request);
        // address: two draws always, so the stream stays aligned whatever the share
        let u = cl.request.uniform();
        let r = cl.request.next_u64();
        if cl.addr == [0; 4] || self.p.workload == WorkloadKind::Open {
            cl.addr = if u < p_share {
                // proxy k lives in 172.16.k.1 … its own /24
                let k = (r % proxies as u64) as u32;
                [172, 16 + (k >> 8) as u8 % 16, k as u8, 1]
            } else {
                // a unique-ish public address: never 0.x, 10.x, 127.x, 172.x, multicast
                let mut a = ((r >> 32) as u32).to_be_bytes();
                if matches!(a[0], 0 | 10 | 127 | 172 | 224..=255) {
                    a[0] = 11 + (a[0] % 100);
                }
                a
            };
        }
        cl.cookie = None;
        cl.active = true;
        cl.affected = false;
        cl.at_fault = false;
        cl.live_until = SimTime::ZERO;
        if self.obs.measured(t) {
            self.obs.session_started(t);
        }
    }

    /// Client `c` sends a page: `parallel_requests` requests at once, all with its cookie.
    fn send_page(&mut self, c: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let cl = &mut self.clients[c as usize];
        let k = self.p.parallel.sample(&mut cl.request);
        cl.outstanding = k;
        for _ in 0..k {
            let r = self.new_request(c, now, None);
            self.dispatch(r, s);
        }
    }

    fn new_request(&mut self, client: u32, now: SimTime, force_static: Option<bool>) -> u32 {
        let p = &self.p;
        let cl = &mut self.clients[client as usize];
        let is_static = cl.request.uniform() < p.static_p;
        let is_static = force_static.unwrap_or(is_static);
        let is_write = cl.request.uniform() < p.write_p;
        let demand_ns = if is_static {
            p.static_service.sample(&mut cl.request)
        } else {
            p.service.sample(&mut cl.request)
        };
        let flags = if is_static {
            STATIC
        } else if is_write {
            WRITE
        } else {
            0
        };
        let req = Request {
            client,
            gen: 0,
            node: 0,
            flags,
            pos: 0,
            issued: SimTime::from_ns(now.as_ns().saturating_sub(p.lat_cb)),
            demand_ns,
            pd: PeerData::default(),
            cookie: cl.cookie,
            set_cookie: None,
            st: ReqState::default(),
            slot_gen: 0,
        };
        self.obs.issued_total += 1;
        match self.free_requests.pop() {
            Some(i) => {
                let gen = self.requests[i as usize].gen.wrapping_add(1);
                self.requests[i as usize] = Request { gen, ..req };
                i
            }
            None => {
                self.requests.push(req);
                (self.requests.len() - 1) as u32
            }
        }
    }

    /// Bytes of the JSESSIONID cookie header a request carries (`Cookie: JSESSIONID=<id>`).
    fn cookie_header_bytes(&self, cookie: &Option<(SessionId, SessionRef)>) -> u64 {
        match cookie {
            None => 0,
            Some((id, _)) => {
                (id.text_len(&self.p.routes, &self.p.store_ids) + "Cookie: JSESSIONID=\r\n".len())
                    as u64
            }
        }
    }

    /// Picks a node for request `r` and sends it there, or fails it (no live upstreams).
    fn dispatch(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let req = &mut self.requests[r as usize];
        let addr = self.clients[req.client as usize].addr;
        // the cookie's text, only for a balancer that reads it (the buffer is not even zeroed
        // otherwise)
        let mut buf;
        let session_id: &[u8] = match &req.cookie {
            Some((id, _)) if self.balancer_reads_id => {
                buf = [0u8; 96];
                let len = id.write(&mut buf, &self.p.routes, &self.p.store_ids);
                &buf[..len]
            }
            _ => &[],
        };
        let key = RequestKey {
            client_addr: addr,
            session_id,
        };
        match self.balancer.pick(&key, &mut req.pd, now.whole_s()) {
            Some(node) => {
                req.node = node as NodeIdx;
                if let Some(cookie) = &req.cookie {
                    // the node will look the session up: start loading what it reads now
                    self.strategy
                        .prefetch(&self.sessions, &self.stores, cookie, req.node);
                }
                req.flags &= !(SENT | TIMED_OUT);
                s.schedule_in(self.p.lat_ba, Event::NodeArrival(r, req.gen));
            }
            None => self.finish(r, now.plus_ns(self.p.lat_cb), None, s),
        }
    }

    fn node_arrival(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let req = &mut self.requests[r as usize];
        let n = req.node as usize;
        if !self.nodes[n].up {
            // connect refused (process down) comes back in one hop; a dead host never answers
            let delay = match self.p.crash_kind {
                CrashKind::Process => self.p.lat_ba,
                CrashKind::Host => {
                    req.flags |= TIMED_OUT;
                    self.p.connect_timeout_ns.saturating_sub(self.p.lat_ba)
                }
            };
            s.schedule_in(delay, Event::AttemptFailed(r, req.gen));
            return;
        }
        req.flags |= SENT;
        let node = &mut self.nodes[n];
        if node.busy < self.p.workers {
            self.start_service(r, s);
        } else {
            node.queue.push_back(r);
        }
    }

    fn start_service(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let req = &mut self.requests[r as usize];
        let node = &mut self.nodes[req.node as usize];
        node.busy += 1;
        req.pos = node.in_service.len() as u32;
        node.in_service.push(r);
        req.st = ReqState::default();
        req.flags &= !(IN_END | FAILED);
        req.set_cookie = None;
        if req.flags & STATIC != 0 {
            s.schedule_in(req.demand_ns, Event::ServiceDone(r, req.gen));
        } else {
            self.strategy_step(r, s);
        }
    }

    /// Calls the strategy with a context at `now` and request `r` (if any), schedules the
    /// events it asked for, and updates the live-sessions gauge. `f` also gets the clients and
    /// app nodes, for `strategy_step` to create a session within the same call.
    fn call_strategy<T>(
        &mut self,
        now: SimTime,
        r: Option<u32>,
        s: &mut Scheduler<Event>,
        f: impl FnOnce(&mut dyn Strategy, &mut Cx<'_>, Option<&mut Req<'_>>, Entities<'_>) -> T,
    ) -> T {
        let mut cx = Cx {
            now,
            sessions: &mut self.sessions,
            obs: &mut self.obs,
            nodes_up: &self.nodes_up,
            stores: &mut self.stores,
            timeout_ns: self.p.timeout_ns,
            net: &self.p.net,
            rng: &mut self.strategy_rng,
            later: &mut self.later,
        };
        let ents = Entities {
            clients: &mut self.clients,
            nodes: &mut self.nodes,
            session_bytes: self.p.session_bytes,
        };
        let out = match r {
            Some(r) => {
                let rq = &mut self.requests[r as usize];
                let mut failed = rq.flags & FAILED != 0;
                let mut req = Req {
                    node: rq.node,
                    cookie: rq.cookie,
                    write: rq.flags & WRITE != 0,
                    st: &mut rq.st,
                    set_cookie: &mut rq.set_cookie,
                    fail: &mut failed,
                };
                let out = f(self.strategy.as_mut(), &mut cx, Some(&mut req), ents);
                if failed {
                    rq.flags |= FAILED;
                }
                out
            }
            None => f(self.strategy.as_mut(), &mut cx, None, ents),
        };
        if !self.later.is_empty() {
            for (delay, payload) in self.later.drain(..) {
                s.schedule_in(delay, Event::Strategy(payload));
            }
        }
        let live = self.sessions.live();
        self.obs.live_sessions.set(now, live);
        out
    }

    /// Runs the strategy's current phase (`begin`, or `end` once service is done) for `r`.
    /// After a `begin` that neither waits nor fails, the request's session is resolved in the
    /// same call ([`resolve_session`]): one context for `begin` and `created`.
    fn strategy_step(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let (in_end, client) = {
            let rq = &self.requests[r as usize];
            (rq.flags & IN_END != 0, rq.client)
        };
        let (step, resolved) = self.call_strategy(now, Some(r), s, |st, cx, req, ents| {
            let req = req.expect("request");
            if in_end {
                return (st.end(cx, req), None);
            }
            let step = st.begin(cx, req);
            if matches!(step, Step::Wait(_)) || *req.fail {
                return (step, None);
            }
            // `begin` may have freed sessions: the gauge changes now, as it would between two
            // calls
            cx.obs.live_sessions.set(cx.now, cx.sessions.live());
            (step, Some(resolve_session(st, cx, req, ents, client)))
        });
        let req = &mut self.requests[r as usize];
        if let Step::Wait(ns) = step {
            req.st.waited_ns += ns;
            s.schedule_in(ns, Event::StrategyWait(r, req.gen));
            return;
        }
        match resolved {
            // resolved, so `begin` did not fail (a failure in `created` still serves it)
            Some(slot_gen) => {
                req.slot_gen = slot_gen;
                s.schedule_in(req.demand_ns, Event::ServiceDone(r, req.gen));
            }
            None => self.respond(r, s),
        }
    }

    /// Starts loading client `c` (both its cache lines), if it exists (no effect on results).
    #[inline]
    fn prefetch_client(&self, c: u32) {
        if let Some(cl) = self.clients.get(c as usize) {
            crate::kernel::prefetch(cl);
        }
    }

    fn service_done(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let req = &mut self.requests[r as usize];
        // the response reaches the client at the end of this event (`finish`): start loading it
        crate::kernel::prefetch(&self.clients[req.client as usize]);
        if req.flags & STATIC != 0 {
            self.respond(r, s);
            return;
        }
        // the write lands before the strategy saves it
        if let Some(slot) = req.st.slot {
            match self.sessions.get_mut(SessionRef {
                slot,
                gen: req.slot_gen,
            }) {
                Some(sess) => {
                    req.st.prev_latest = sess.version;
                    if req.flags & WRITE != 0 {
                        sess.version += 1;
                    }
                    sess.last_access = s.now();
                }
                // destroyed meanwhile (e.g. its node's memory lost): nothing to save
                None => req.st.slot = None,
            }
        }
        if !self.strategy_saves {
            self.respond(r, s);
            return;
        }
        req.flags |= IN_END;
        req.st.stage = 0;
        req.st.waited_ns = 0;
        self.strategy_step(r, s);
    }

    /// The worker is done with `r`: free it, answer the client, start the next queued request.
    fn respond(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let (n, pos, flags) = {
            let req = &self.requests[r as usize];
            (req.node as usize, req.pos as usize, req.flags)
        };
        let node = &mut self.nodes[n];
        node.busy -= 1;
        node.in_service.swap_remove(pos);
        if let Some(&moved) = node.in_service.get(pos) {
            self.requests[moved as usize].pos = pos as u32;
        }
        if self.obs.measured(now) {
            self.obs.node_requests[n] += 1;
        }
        self.balancer.free(n, false, now.whole_s());
        let t_resp = now.plus_ns(self.p.lat_ba + self.p.lat_cb);
        let latency = if flags & FAILED != 0 {
            None
        } else {
            Some(t_resp.since(self.requests[r as usize].issued))
        };
        self.finish(r, t_resp, latency, s);
        if let Some(next) = self.nodes[n].queue.pop_front() {
            self.start_service(next, s);
        }
    }

    /// Request `r`'s response (or error, when `latency_ns` is None) reaches its client at
    /// `t_resp`; after the last response of a page the client thinks and goes on.
    fn finish(
        &mut self,
        r: u32,
        t_resp: SimTime,
        latency_ns: Option<u64>,
        s: &mut Scheduler<Event>,
    ) {
        let now = s.now();
        let (c, cookie, set_cookie, flags, attempts) = {
            let rq = &mut self.requests[r as usize];
            rq.gen = rq.gen.wrapping_add(1);
            (
                rq.client,
                rq.cookie,
                rq.set_cookie,
                rq.flags,
                rq.pd.tried.count_ones() as u64,
            )
        };
        self.free_requests.push(r);
        // traffic: the request and its response on both links (each attempt on balancer–app)
        let cookie_bytes = self.cookie_header_bytes(&cookie);
        let set_bytes = if set_cookie.is_some() {
            self.cookie_header_bytes(&set_cookie) + 8
        } else {
            0
        };
        let http = self.p.request_bytes + self.p.response_bytes + cookie_bytes + set_bytes;
        self.obs.client_balancer(now, 2, http);
        if attempts > 0 {
            self.obs.balancer_app(
                now,
                2 * attempts,
                http + (attempts - 1) * (self.p.request_bytes + cookie_bytes),
            );
        }
        self.obs
            .close_buckets(now, self.sessions.live(), self.up_count);
        self.obs.response(t_resp, latency_ns);
        let timeout = self.p.timeout_ns;
        let cl = &mut self.clients[c as usize];
        if let Some(sc) = set_cookie {
            cl.cookie = Some(sc);
        }
        if latency_ns.is_some() && flags & STATIC == 0 && cl.cookie.is_some() {
            cl.live_until = now.plus_ns(timeout);
        }
        cl.outstanding -= 1;
        if self.p.workload == WorkloadKind::Trace {
            // an open replay: the log decides when the next request comes
            cl.left -= 1;
            cl.active = cl.left > 0;
            return;
        }
        if cl.outstanding > 0 {
            return;
        }
        let think = self.p.think.sample(&mut cl.think);
        cl.left -= 1;
        let next = t_resp.plus_ns(think + self.p.lat_cb);
        if cl.left > 0 {
            s.schedule_at(next, Event::ClientSend(c));
            return;
        }
        cl.active = false;
        match self.p.workload {
            WorkloadKind::Closed => {
                self.begin_user_session(c, next);
                s.schedule_at(next, Event::ClientSend(c));
            }
            WorkloadKind::Open => self.free_clients.push(c),
            WorkloadKind::Trace => {}
        }
    }

    fn session_arrival(&mut self, s: &mut Scheduler<Event>) {
        let now = s.now();
        let user = self.users_begun;
        self.users_begun += 1;
        let (think, request) = self.client_streams(user);
        let c = match self.free_clients.pop() {
            Some(c) => {
                self.clients[c as usize] = Client::new(think, request);
                c
            }
            None => {
                self.clients.push(Client::new(think, request));
                (self.clients.len() - 1) as u32
            }
        };
        self.begin_user_session(c, now);
        s.schedule_in(self.p.lat_cb, Event::ClientSend(c));
        let gap = self.arrivals.exponential(1e9 / self.p.session_rate) as u64;
        s.schedule_in(gap.max(1), Event::SessionArrival);
    }

    fn attempt_failed(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let req = &self.requests[r as usize];
        self.balancer.free(req.node as usize, true, now.whole_s());
        let timed_out = req.flags & TIMED_OUT != 0;
        let allowed = if timed_out {
            self.p.retry_timeout
        } else {
            self.p.retry_error
        };
        let idempotent = req.flags & WRITE == 0 || req.flags & SENT == 0 || self.p.non_idempotent;
        let attempts = req.pd.tried.count_ones();
        if allowed && idempotent && attempts < self.tries {
            self.dispatch(r, s);
        } else {
            self.finish(r, now.plus_ns(self.p.lat_cb), None, s);
        }
    }

    fn first_fault(&mut self, now: SimTime) {
        if self.obs.measured(now) && self.obs.first_fault.is_none() {
            self.obs.first_fault = Some(now);
            for cl in self.clients.iter_mut().filter(|c| c.active) {
                cl.at_fault = true;
                self.obs.fault_active_sessions += 1;
            }
        }
    }

    fn crash(&mut self, t: Target, s: &mut Scheduler<Event>) {
        let now = s.now();
        match t {
            Target::Store(i) => {
                if !self.stores[i as usize].up {
                    return;
                }
                self.first_fault(now);
                self.stores[i as usize].crash(now);
                self.call_strategy(now, None, s, |st, cx, _, _| st.store_down(cx, i));
            }
            Target::App(n) => {
                if !self.nodes[n as usize].up {
                    return;
                }
                self.obs
                    .close_buckets(now, self.sessions.live(), self.up_count);
                self.first_fault(now);
                let node = &mut self.nodes[n as usize];
                node.up = false;
                node.busy = 0;
                self.nodes_up[n as usize] = false;
                self.up_count -= 1;
                let delay = match self.p.crash_kind {
                    CrashKind::Process => self.p.lat_ba,
                    CrashKind::Host => self.p.connect_timeout_ns,
                };
                let lost: Vec<u32> = node
                    .in_service
                    .drain(..)
                    .chain(node.queue.drain(..))
                    .collect();
                for r in lost {
                    let req = &mut self.requests[r as usize];
                    req.gen = req.gen.wrapping_add(1);
                    if self.p.crash_kind == CrashKind::Host {
                        req.flags |= TIMED_OUT;
                    }
                    s.schedule_in(delay, Event::AttemptFailed(r, req.gen));
                }
                self.call_strategy(now, None, s, |st, cx, _, _| st.node_down(cx, n));
            }
        }
    }

    fn repair(&mut self, t: Target, s: &mut Scheduler<Event>) {
        let now = s.now();
        match t {
            Target::Store(i) => {
                if self.stores[i as usize].up {
                    return;
                }
                self.stores[i as usize].up = true;
                self.call_strategy(now, None, s, |st, cx, _, _| st.store_up(cx, i));
            }
            Target::App(n) => {
                if self.nodes[n as usize].up {
                    return;
                }
                self.obs
                    .close_buckets(now, self.sessions.live(), self.up_count);
                self.nodes[n as usize].up = true;
                self.nodes_up[n as usize] = true;
                self.up_count += 1;
                self.call_strategy(now, None, s, |st, cx, _, _| st.node_up(cx, n));
            }
        }
    }

    /// Runs to the horizon and returns the run's output.
    pub fn run(mut self, cfg: &ExperimentConfig) -> RunOutput {
        let mut s = Scheduler::with_capacity(1024);
        self.start(cfg, &mut s);
        let (warm_up, horizon) = (self.p.warm_up, self.p.horizon);
        let events = s.run(&mut self, warm_up, horizon);
        self.obs
            .close_buckets(horizon, self.sessions.live(), self.up_count);
        if let Some(last) = self.obs.series.last_mut() {
            last.live_sessions = self.sessions.live();
            last.nodes_up = self.up_count;
        }
        let in_flight = (self.requests.len() - self.free_requests.len()) as u64;
        RunOutput {
            metrics: self.obs.metrics(horizon),
            events,
            issued_total: self.obs.issued_total,
            answered_total: self.obs.answered_total,
            completed_total: self.obs.answered_total - self.obs.failed_total,
            in_flight,
            live_sessions_peak: self.sessions.peak(),
            node_requests: std::mem::take(&mut self.obs.node_requests),
            series: std::mem::take(&mut self.obs.series),
        }
    }
}

/// The entity tables a strategy call may need besides its context (see `Sim::call_strategy`).
struct Entities<'a> {
    clients: &'a mut [Client],
    nodes: &'a mut [AppNode],
    /// Size of a new session \[bytes\].
    session_bytes: u32,
}

/// After `begin`, for request `req` of client `client`: the session `begin` found is touched,
/// or the request gets a new session (and if its user's session was still live, that is a
/// loss), which the strategy learns of (`created`) and the response's cookie names. Returns the
/// session's generation.
fn resolve_session(
    st: &mut dyn Strategy,
    cx: &mut Cx<'_>,
    req: &mut Req<'_>,
    ents: Entities<'_>,
    client: u32,
) -> u32 {
    let now = cx.now;
    if let Some(slot) = req.st.slot {
        let sess = cx.sessions.slot_mut(slot);
        sess.last_access = now;
        return sess.gen;
    }
    let cl = &mut ents.clients[client as usize];
    if req.cookie.is_some() && now < cl.live_until {
        if cx.obs.measured(now) {
            cx.obs.session_lost(now, !cl.affected);
        }
        cl.affected = true;
        if cl.at_fault {
            cl.at_fault = false;
            cx.obs.fault_sessions_lost += 1;
        }
    }
    let ids = &mut ents.nodes[req.node as usize].ids;
    let base = (ids.next_u64() as u128) << 64 | ids.next_u64() as u128;
    let id = SessionId {
        base,
        route: req.node,
        store: SessionId::NONE,
    };
    let sref = cx.sessions.create(id, req.node, now, ents.session_bytes);
    req.st.slot = Some(sref.slot);
    st.created(cx, req, sref.slot);
    let id = cx.sessions.slot(sref.slot).id;
    *req.set_cookie = Some((id, sref));
    sref.gen
}

impl Client {
    fn new(think: EntityStream, request: EntityStream) -> Self {
        Client {
            addr: [0; 4],
            left: 0,
            outstanding: 0,
            cookie: None,
            live_until: SimTime::ZERO,
            active: false,
            affected: false,
            at_fault: false,
            think,
            request,
        }
    }
}

impl Model for Sim {
    type Event = Event;

    #[inline]
    fn handle(&mut self, ev: Event, s: &mut Scheduler<Event>) {
        match ev {
            Event::ClientSend(c) => self.send_page(c, s),
            Event::TraceSend(i) => self.trace_send(i, s),
            Event::NodeArrival(r, g) => {
                if self.requests[r as usize].gen == g {
                    self.node_arrival(r, s);
                }
            }
            Event::ServiceDone(r, g) => {
                if self.requests[r as usize].gen == g {
                    self.service_done(r, s);
                }
            }
            Event::StrategyWait(r, g) => {
                if self.requests[r as usize].gen == g {
                    self.strategy_step(r, s);
                }
            }
            Event::AttemptFailed(r, g) => {
                if self.requests[r as usize].gen == g {
                    self.attempt_failed(r, s);
                }
            }
            Event::Strategy(payload) => {
                let now = s.now();
                self.call_strategy(now, None, s, |st, cx, _, _| st.on_event(cx, payload));
            }
            Event::SessionArrival => self.session_arrival(s),
            Event::ExpirySweep(n) => {
                let now = s.now();
                self.obs
                    .close_buckets(now, self.sessions.live(), self.up_count);
                if self.nodes[n as usize].up {
                    self.call_strategy(now, None, s, |st, cx, _, _| st.expire(cx, n));
                }
                s.schedule_in(self.p.sweep_ns, Event::ExpirySweep(n));
            }
            Event::Fault(i) => {
                let (target, action, repair_after) = self.cfg_faults[i as usize];
                match action {
                    FaultAction::Crash => {
                        self.crash(target, s);
                        if let Some(d) = repair_after {
                            s.schedule_in(d, Event::ScheduledRepair(target));
                        }
                    }
                    FaultAction::Repair => self.repair(target, s),
                }
            }
            Event::ScheduledRepair(t) => self.repair(t, s),
            Event::RandomFailure(t) => {
                self.crash(t, s);
                let ttr = self.p.ttr.expect("failures configured");
                let st = self
                    .failure_streams
                    .iter_mut()
                    .find(|f| f.0 == t)
                    .expect("target stream");
                let d = ttr.sample(&mut st.2);
                s.schedule_in(d.max(1), Event::RandomRepair(t));
            }
            Event::RandomRepair(t) => {
                self.repair(t, s);
                let ttf = self.p.ttf.expect("failures configured");
                let st = self
                    .failure_streams
                    .iter_mut()
                    .find(|f| f.0 == t)
                    .expect("target stream");
                let d = ttf.sample(&mut st.1);
                s.schedule_in(d.max(1), Event::RandomFailure(t));
            }
        }
    }

    fn end_warm_up(&mut self, now: SimTime) {
        self.obs.end_warm_up(now);
    }

    /// Loads the next event's client or request (random accesses at 100k clients). Not the
    /// session a request's cookie names: finding it means reading the request, which waits for
    /// the very load just started, before the current event is handled (measured: without that
    /// read, closed-loop-rr-100k medians −4% and −2% in two rounds of alternating runs). The
    /// session is loaded from `dispatch` (`Strategy::prefetch`), once the node is picked.
    #[inline]
    fn prefetch(&self, next: &Event) {
        match *next {
            Event::ClientSend(c) => self.prefetch_client(c),
            Event::NodeArrival(r, _) | Event::ServiceDone(r, _) | Event::StrategyWait(r, _) => {
                if let Some(rq) = self.requests.get(r as usize) {
                    crate::kernel::prefetch(rq);
                }
            }
            _ => {}
        }
    }

    /// Loads the client of a page to be sent a few dozen events ahead (closed-loop-rr-100k: its
    /// 100,000 clients take 12.8 MB, read at random, and one event's lead did not hide the
    /// load). Not the requests a lookahead names: a small table, cached anyway; prefetching them
    /// too cost full-feature 2.3% more instructions for nothing.
    #[inline]
    fn prefetch_soon(&self, soon: &Event) {
        if let Event::ClientSend(c) = *soon {
            self.prefetch_client(c);
        }
    }
}

/// Runs replication `replication` of design point `point`.
pub fn simulate(point: &DesignPoint, replication: u32) -> RunOutput {
    Sim::new(point, replication).run(&point.config)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clients_are_two_cache_lines() {
        assert_eq!(std::mem::size_of::<Client>(), 128);
        assert_eq!(std::mem::align_of::<Client>(), 64);
    }

    #[test]
    fn events_are_small() {
        assert!(
            std::mem::size_of::<Event>() <= 8,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
