//! The simulated system: clients, one balancer, app nodes and a session strategy, wired into
//! the kernel as one [`Model`].
//!
//! ```text
//!  client ──(client_balancer)──► balancer ──(balancer_app)──► app node: FIFO queue → workers
//!    ▲                              │ ▲  retry on error (proxy_next_upstream)      │
//!    │                              │ └────────── AttemptFailed ◄── crash/refused ──┤
//!    └── response (+ think time) ◄──┴──────────────────────────── ServiceDone ◄─────┘
//! ```
//! Events per successful request: `ClientSend` (the request reaches the balancer),
//! `NodeArrival`, `ServiceDone`. The client's next request is scheduled at once from the
//! response time plus its think time. Requests that write the session are POSTs (not retried
//! once sent unless `non_idempotent`); others are GETs.

use super::balancer::{Balancer, BalancerParams, PeerData, RequestKey};
use super::ids::{NodeIdx, SessionId};
use super::observe::{Observations, RunMetrics};
use super::session::{SessionRef, SessionTable};
use super::strategy::{self, Cx, Strategy};
use super::workload::{CountSampler, TimeSampler};
use crate::kernel::{Model, Scheduler, SimTime, Stream, StreamKey};
use crate::scenario::config::{CrashKind, ExperimentConfig, FaultAction, WorkloadKind};
use crate::scenario::DesignPoint;
use std::collections::VecDeque;

/// Events. 8 bytes: payloads are indices into the entity tables.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Open workload: the next user session arrives.
    SessionArrival,
    /// Client `c`'s next request reaches the balancer.
    ClientSend(u32),
    /// Request (index, generation) reaches its app node.
    NodeArrival(u32, u16),
    /// Request (index, generation) finished service.
    ServiceDone(u32, u16),
    /// The balancer learns that the attempt of request (index, generation) failed.
    AttemptFailed(u32, u16),
    /// Expiry sweep of app node i.
    ExpirySweep(u16),
    /// Scheduled fault i of `[[faults]]`.
    Fault(u32),
    /// Scheduled repair of app node i (from a fault's `repair_after`).
    ScheduledRepair(u16),
    /// Stochastic failure of app node i.
    RandomFailure(u16),
    /// Stochastic repair of app node i.
    RandomRepair(u16),
}

const STATIC: u8 = 1;
const WRITE: u8 = 2;
const SENT: u8 = 4;
const TIMED_OUT: u8 = 8;

struct Request {
    client: u32,
    gen: u16,
    node: NodeIdx,
    flags: u8,
    pos: u32,
    issued: SimTime,
    demand_ns: u64,
    pd: PeerData,
}

struct Client {
    addr: [u8; 4],
    /// Requests left in the current user session, including the one in flight.
    left: u32,
    has_cookie: bool,
    cookie_id: SessionId,
    cookie: SessionRef,
    /// When the user's session expires if nothing fails: last dynamic response + timeout.
    live_until: SimTime,
    active: bool,
    affected: bool,
    at_fault: bool,
    think: Stream,
    request: Stream,
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
    think: TimeSampler,
    service: TimeSampler,
    static_service: TimeSampler,
    write_p: f64,
    static_p: f64,
    session_bytes: u32,
    proxy_share: f64,
    proxies: u32,
    workers: u32,
    timeout_ns: u64,
    sweep_ns: u64,
    lat_cb: u64,
    lat_ba: u64,
    crash_kind: CrashKind,
    connect_timeout_ns: u64,
    retry_error: bool,
    retry_timeout: bool,
    non_idempotent: bool,
    warm_up: SimTime,
    horizon: SimTime,
    routes: Vec<String>,
    ttf: Option<TimeSampler>,
    ttr: Option<TimeSampler>,
}

/// The whole simulated system of one run.
pub struct Sim {
    p: Params,
    cfg_faults: Vec<(u16, FaultAction, Option<u64>)>,
    clients: Vec<Client>,
    free_clients: Vec<u32>,
    requests: Vec<Request>,
    free_requests: Vec<u32>,
    nodes: Vec<AppNode>,
    nodes_up: Vec<bool>,
    up_count: u32,
    sessions: SessionTable,
    balancer: Box<dyn Balancer>,
    tries: u32,
    strategy: Box<dyn Strategy>,
    arrivals: Stream,
    failure_streams: Vec<(Stream, Stream)>,
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
            session_bytes: w.session_size.bytes().min(u32::MAX as u64) as u32,
            proxy_share: w.addresses.proxy_share,
            proxies: w.addresses.proxies.unwrap_or(10),
            workers: cfg.app.workers,
            timeout_ns: cfg.app.session_timeout.ns(),
            sweep_ns: cfg.app.expiry_sweep.ns(),
            lat_cb: cfg.network.client_balancer.ns(),
            lat_ba: cfg.network.balancer_app.ns(),
            crash_kind: cfg.app.crash_kind,
            connect_timeout_ns: b.connect_timeout.ns(),
            retry_error: b.next_upstream.iter().any(|s| s == "error"),
            retry_timeout: b.next_upstream.iter().any(|s| s == "timeout"),
            non_idempotent: b.non_idempotent,
            warm_up: SimTime::from_ns(cfg.warm_up.ns()),
            horizon: SimTime::from_ns(cfg.horizon.ns()),
            routes: jvm_routes(cfg),
            ttf: cfg
                .failures
                .as_ref()
                .map(|f| TimeSampler::new(&f.time_to_failure)),
            ttr: cfg
                .failures
                .as_ref()
                .map(|f| TimeSampler::new(&f.time_to_repair)),
        };
        let params = balancer_params(cfg);
        let balancer = (super::balancer::find(&b.kind)
            .expect("validated balancer kind")
            .build)(&params);
        let tries = balancer.tries();
        let strategy = (strategy::find(&cfg.strategy.kind)
            .expect("validated strategy kind")
            .build)(&cfg.strategy, n);
        let nodes = (0..n)
            .map(|i| AppNode {
                up: true,
                busy: 0,
                queue: VecDeque::new(),
                in_service: Vec::new(),
                ids: stream("app.session_id", i as u64),
            })
            .collect();
        let cfg_faults = cfg
            .faults
            .iter()
            .map(|f| {
                let node = match super::NodeRef::parse(&f.target, false) {
                    Ok(super::NodeRef::App(i)) => i as u16,
                    _ => unreachable!("validated fault target"),
                };
                (node, f.action, f.repair_after.map(|d| d.ns()))
            })
            .collect();
        let failure_streams = (0..n)
            .map(|i| {
                (
                    stream("fault.time_to_failure", i as u64),
                    stream("fault.time_to_repair", i as u64),
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
            sessions: SessionTable::default(),
            balancer,
            tries,
            strategy,
            arrivals: stream("workload.arrivals", 0),
            failure_streams,
            users_begun: 0,
            key: (cfg.seed, point.stream_key, replication as u64),
            obs,
            p,
        }
    }

    fn client_streams(&self, entity: u64) -> (Stream, Stream) {
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
            WorkloadKind::Closed => {
                let n = cfg.workload.clients.unwrap_or(0);
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
        if let (Some(ttf), Some(fl)) = (self.p.ttf, &cfg.failures) {
            let mut targets = std::collections::BTreeSet::new();
            for t in &fl.targets {
                match super::NodeRef::parse(t, true) {
                    Ok(super::NodeRef::AllApp) => targets.extend(0..self.nodes.len() as u16),
                    Ok(super::NodeRef::App(i)) => {
                        targets.insert(i as u16);
                    }
                    _ => {}
                }
            }
            for i in targets {
                let t = ttf.sample(&mut self.failure_streams[i as usize].0);
                s.schedule_in(t, Event::RandomFailure(i));
            }
        }
    }

    /// Starts a user session for client `c` (the first request is sent at `t`).
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
                // a unique-ish public address: never 0.x, 10.x, 127.x, 172.16-31.x
                let mut a = ((r >> 32) as u32).to_be_bytes();
                if matches!(a[0], 0 | 10 | 127 | 172 | 224..=255) {
                    a[0] = 11 + (a[0] % 100);
                }
                a
            };
        }
        cl.has_cookie = false;
        cl.active = true;
        cl.affected = false;
        cl.at_fault = false;
        cl.live_until = SimTime::ZERO;
        if self.obs.measured(t) {
            self.obs.session_started(t);
        }
    }

    fn new_request(&mut self, client: u32, now: SimTime) -> u32 {
        let p = &self.p;
        let cl = &mut self.clients[client as usize];
        let is_static = cl.request.uniform() < p.static_p;
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

    /// Picks a node for request `r` and sends it there, or fails it (no live upstreams).
    fn dispatch(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let req = &mut self.requests[r as usize];
        let cl = &self.clients[req.client as usize];
        let mut buf = [0u8; 96];
        let len = if cl.has_cookie {
            cl.cookie_id.write(&mut buf, &self.p.routes, &[])
        } else {
            0
        };
        let key = RequestKey {
            client_addr: cl.addr,
            session_id: &buf[..len],
        };
        match self.balancer.pick(&key, &mut req.pd, now.whole_s()) {
            Some(node) => {
                req.node = node as NodeIdx;
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
        s.schedule_in(req.demand_ns, Event::ServiceDone(r, req.gen));
    }

    fn service_done(&mut self, r: u32, s: &mut Scheduler<Event>) {
        let now = s.now();
        let (n, pos, client, flags) = {
            let req = &self.requests[r as usize];
            (req.node as usize, req.pos as usize, req.client, req.flags)
        };
        // leave the worker
        let node = &mut self.nodes[n];
        node.busy -= 1;
        node.in_service.swap_remove(pos);
        if let Some(&moved) = node.in_service.get(pos) {
            self.requests[moved as usize].pos = pos as u32;
        }
        if self.obs.measured(now) {
            self.obs.node_requests[n] += 1;
        }
        if flags & STATIC == 0 {
            self.serve_session(n as NodeIdx, client, flags & WRITE != 0, now);
        }
        self.balancer.free(n, false, now.whole_s());
        let t_resp = now.plus_ns(self.p.lat_ba + self.p.lat_cb);
        let issued = self.requests[r as usize].issued;
        self.finish(r, t_resp, Some(t_resp.since(issued)), s);
        // next in queue
        if let Some(next) = self.nodes[n].queue.pop_front() {
            self.start_service(next, s);
        }
    }

    /// Tomcat's session handling for a dynamic request of `client` served at `node`.
    fn serve_session(&mut self, node: NodeIdx, client: u32, write: bool, now: SimTime) {
        let measured = self.obs.measured(now);
        let mut cx = Cx {
            now,
            sessions: &mut self.sessions,
            obs: &mut self.obs,
            nodes_up: &self.nodes_up,
            timeout_ns: self.p.timeout_ns,
        };
        let cl = &mut self.clients[client as usize];
        let found = if cl.has_cookie {
            self.strategy.find(&mut cx, node, cl.cookie)
        } else {
            None
        };
        let slot = match found {
            Some(slot) => slot,
            None => {
                if cl.has_cookie && now < cl.live_until {
                    if measured {
                        cx.obs.session_lost(now, !cl.affected);
                    }
                    cl.affected = true;
                    if cl.at_fault {
                        cl.at_fault = false;
                        cx.obs.fault_sessions_lost += 1;
                    }
                }
                let id = SessionId {
                    base: (self.nodes[node as usize].ids.next_u64() as u128) << 64
                        | self.nodes[node as usize].ids.next_u64() as u128,
                    route: node,
                    store: SessionId::NONE,
                };
                let r = cx.sessions.create(id, node, now, self.p.session_bytes);
                self.strategy.created(&mut cx, node, r.slot);
                cl.has_cookie = true;
                cl.cookie_id = id;
                cl.cookie = r;
                r.slot
            }
        };
        let sess = cx.sessions.slot_mut(slot);
        sess.last_access = now;
        if write {
            sess.version += 1;
        }
        self.strategy.finished(&mut cx, node, slot, write);
        cl.live_until = now.plus_ns(self.p.timeout_ns);
        let live = self.sessions.live();
        self.obs.live_sessions.set(now, live as f64);
    }

    /// Request `r`'s response (or error, when `latency_ns` is None) reaches its client at
    /// `t_resp`; the client thinks and goes on.
    fn finish(
        &mut self,
        r: u32,
        t_resp: SimTime,
        latency_ns: Option<u64>,
        s: &mut Scheduler<Event>,
    ) {
        let c = self.requests[r as usize].client;
        self.requests[r as usize].gen = self.requests[r as usize].gen.wrapping_add(1);
        self.free_requests.push(r);
        self.obs
            .close_buckets(s.now(), self.sessions.live(), self.up_count);
        self.obs.response(t_resp, latency_ns);
        let cl = &mut self.clients[c as usize];
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

    fn crash(&mut self, n: NodeIdx, s: &mut Scheduler<Event>) {
        let now = s.now();
        if !self.nodes[n as usize].up {
            return;
        }
        self.obs
            .close_buckets(now, self.sessions.live(), self.up_count);
        if self.obs.measured(now) && self.obs.first_fault.is_none() {
            self.obs.first_fault = Some(now);
            for cl in self.clients.iter_mut().filter(|c| c.active) {
                cl.at_fault = true;
                self.obs.fault_active_sessions += 1;
            }
        }
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
        self.with_strategy(now, |st, cx| st.node_down(cx, n));
    }

    fn repair(&mut self, n: NodeIdx, now: SimTime) {
        if self.nodes[n as usize].up {
            return;
        }
        self.obs
            .close_buckets(now, self.sessions.live(), self.up_count);
        self.nodes[n as usize].up = true;
        self.nodes_up[n as usize] = true;
        self.up_count += 1;
        self.with_strategy(now, |st, cx| st.node_up(cx, n));
    }

    /// Calls the strategy with a context at `now`, then updates the live-sessions gauge.
    fn with_strategy(&mut self, now: SimTime, f: impl FnOnce(&mut dyn Strategy, &mut Cx<'_>)) {
        let mut cx = Cx {
            now,
            sessions: &mut self.sessions,
            obs: &mut self.obs,
            nodes_up: &self.nodes_up,
            timeout_ns: self.p.timeout_ns,
        };
        f(self.strategy.as_mut(), &mut cx);
        let live = self.sessions.live();
        self.obs.live_sessions.set(now, live as f64);
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
            series: std::mem::take(&mut self.obs.series),
            node_requests: std::mem::take(&mut self.obs.node_requests),
        }
    }
}

impl Client {
    fn new(think: Stream, request: Stream) -> Self {
        Client {
            addr: [0; 4],
            left: 0,
            has_cookie: false,
            cookie_id: SessionId::default(),
            cookie: SessionRef { slot: 0, gen: 0 },
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
            Event::ClientSend(c) => {
                let r = self.new_request(c, s.now());
                self.dispatch(r, s);
            }
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
            Event::AttemptFailed(r, g) => {
                if self.requests[r as usize].gen == g {
                    self.attempt_failed(r, s);
                }
            }
            Event::SessionArrival => self.session_arrival(s),
            Event::ExpirySweep(n) => {
                let now = s.now();
                self.obs
                    .close_buckets(now, self.sessions.live(), self.up_count);
                if self.nodes[n as usize].up {
                    self.with_strategy(now, |st, cx| st.expire(cx, n));
                }
                s.schedule_in(self.p.sweep_ns, Event::ExpirySweep(n));
            }
            Event::Fault(i) => {
                let (node, action, repair_after) = self.cfg_faults[i as usize];
                match action {
                    FaultAction::Crash => {
                        self.crash(node, s);
                        if let Some(d) = repair_after {
                            s.schedule_in(d, Event::ScheduledRepair(node));
                        }
                    }
                    FaultAction::Repair => self.repair(node, s.now()),
                }
            }
            Event::ScheduledRepair(n) => self.repair(n, s.now()),
            Event::RandomFailure(n) => {
                self.crash(n, s);
                let ttr = self.p.ttr.expect("failures configured");
                let d = ttr.sample(&mut self.failure_streams[n as usize].1);
                s.schedule_in(d.max(1), Event::RandomRepair(n));
            }
            Event::RandomRepair(n) => {
                self.repair(n, s.now());
                let ttf = self.p.ttf.expect("failures configured");
                let d = ttf.sample(&mut self.failure_streams[n as usize].0);
                s.schedule_in(d.max(1), Event::RandomFailure(n));
            }
        }
    }

    fn end_warm_up(&mut self, now: SimTime) {
        self.obs.end_warm_up(now);
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
    fn events_are_small() {
        assert!(
            std::mem::size_of::<Event>() <= 8,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
