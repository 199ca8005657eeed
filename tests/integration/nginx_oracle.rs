//! Oracle test: the balancers must choose exactly what a real nginx (1.22) chooses.
//!
//! Covers: `ip-hash`, `cookie-hash`, `cookie-hash-consistent` with weights 1,1,1,1 and 1,2,3,
//! each with and without a `down` server, and `round-robin` sequences (1,1,1,1; 1,2,3; 5,1,1;
//! with a down server): checked against the `route` binary. Then retries: configurations where
//! one server is a closed loopback port (connection refused ⇒ nginx NGX_PEER_FAILED ⇒ next
//! upstream), with `max_fails=0` (every request whose key maps to it is retried: exercises the
//! per-request state across attempts) or `max_fails=1|2 fail_timeout=300s` (the whole run stays in
//! one failure window: exercises fails/effective_weight); checked against the library driven
//! attempt by attempt (`pick`, `free(failed)`), time fixed at 0.
//!
//! Scenario: one nginx process (`master_process off`, one worker, everything inside a temp dir,
//! loopback only) serves four backends `server { listen 127.0.0.1:P+i; return 200 "i"; }` and a
//! front server with one `location /<config>/ { proxy_pass http://<config>; }` per configuration.
//! Each configuration's keys go through nginx over one keep-alive HTTP/1.1 connection and through
//! the `route` binary (one balancer instance per configuration, like nginx's one upstream); the
//! two answers must agree line by line. ip_hash keys travel in `X-Forwarded-For` (realip module),
//! cookie keys in `Cookie: JSESSIONID=…`.
//!
//! Skipped, with a notice, when nginx is not installed, unless `SESSIM_REQUIRE_NGINX=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Keys (or requests) per configuration.
const KEYS_PER_CONFIG: usize = 1200;
/// Seed of the key generator.
const SEED: u64 = 0x5e55_1a0b;

fn require() -> bool {
    std::env::var("SESSIM_REQUIRE_NGINX").is_ok_and(|v| v == "1")
}

fn skip_or_fail(why: &str) {
    if require() {
        panic!("SESSIM_REQUIRE_NGINX=1 but {why}");
    }
    println!("NOTICE: nginx oracle test skipped: {why}");
}

fn find_nginx() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
}

/// Deterministic key generator (64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One request: the line fed to `route`, and the extra headers sent to nginx.
struct Key {
    line: String,
    headers: String,
}

fn ip_keys(rng: &mut Lcg, n: usize) -> Vec<Key> {
    let mut subnets: Vec<[u8; 3]> = vec![];
    (0..n)
        .map(|_| {
            // A third of the clients share a /24 with an earlier client (NAT, proxies).
            let net = if !subnets.is_empty() && rng.below(3) == 0 {
                subnets[rng.below(subnets.len() as u64) as usize]
            } else {
                let v = rng.next();
                let net = [(v % 223) as u8 + 1, (v >> 8) as u8, (v >> 16) as u8];
                subnets.push(net);
                net
            };
            let ip = format!("{}.{}.{}.{}", net[0], net[1], net[2], rng.below(256));
            Key {
                headers: format!("X-Forwarded-For: {ip}\r\n"),
                line: ip,
            }
        })
        .collect()
}

fn cookie_keys(rng: &mut Lcg, n: usize) -> Vec<Key> {
    const ODD: &[&str] = &[
        "ABC",
        "a",
        "0",
        "-",
        "NODOT0123456789ABCDEF0123456789AB",
        "abc.def.ghi",
        ".tomcat1",
        "trailing.",
        "A-B_C=D+E/F:G",
        "0123456789abcdef0123456789abcdef.tomcat2",
    ];
    (0..n)
        .map(|i| {
            let id = match rng.below(10) {
                0 => String::new(),
                1 => {
                    if rng.below(2) == 0 {
                        ODD[rng.below(ODD.len() as u64) as usize].to_string()
                    } else {
                        // long ids
                        let len = 40 + rng.below(160) as usize;
                        (0..len)
                            .map(|_| b"0123456789ABCDEFxyz-_"[rng.below(21) as usize] as char)
                            .collect()
                    }
                }
                _ => {
                    let hex: String = (0..32)
                        .map(|_| b"0123456789ABCDEF"[rng.below(16) as usize] as char)
                        .collect();
                    format!("{hex}.tomcat{}", 1 + rng.below(4))
                }
            };
            let headers = if id.is_empty() {
                // three ways to have no JSESSIONID
                match i % 3 {
                    0 => String::new(),
                    1 => "Cookie: JSESSIONID=\r\n".to_string(),
                    _ => "Cookie: theme=dark\r\n".to_string(),
                }
            } else if rng.below(4) == 0 {
                format!("Cookie: theme=dark; JSESSIONID={id}; lang=en\r\n")
            } else {
                format!("Cookie: JSESSIONID={id}\r\n")
            };
            Key { line: id, headers }
        })
        .collect()
}

fn rr_keys(n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| Key {
            line: format!("req{i}"),
            headers: String::new(),
        })
        .collect()
}

/// One upstream configuration under test.
struct Config {
    name: String,
    kind: &'static str,
    weights: Vec<u32>,
    down: Option<usize>,
    /// Server whose address is a closed port (its attempts fail).
    dead: Option<usize>,
    /// nginx `max_fails=` / `fail_timeout=` [s] of every server.
    max_fails: u32,
    fail_timeout: u64,
    keys: Vec<Key>,
}

fn cfg(kind: &'static str, weights: &[u32], down: Option<usize>, keys: Vec<Key>) -> Config {
    Config {
        name: String::new(),
        kind,
        weights: weights.to_vec(),
        down,
        dead: None,
        max_fails: 1,
        fail_timeout: 10,
        keys,
    }
}

fn keys_for(kind: &str, rng: &mut Lcg) -> Vec<Key> {
    match kind {
        "ip-hash" => ip_keys(rng, KEYS_PER_CONFIG),
        "round-robin" => rr_keys(KEYS_PER_CONFIG),
        _ => cookie_keys(rng, KEYS_PER_CONFIG),
    }
}

/// A retry configuration: (kind, weights, dead server, max_fails, fail_timeout [s], down server).
type Failing = (&'static str, &'static [u32], usize, u32, u64, Option<usize>);

fn configs(with_ip_hash: bool) -> Vec<Config> {
    let mut rng = Lcg(SEED);
    let mut out = vec![];
    for kind in ["ip-hash", "cookie-hash", "cookie-hash-consistent"] {
        if kind == "ip-hash" && !with_ip_hash {
            continue;
        }
        for weights in [vec![1, 1, 1, 1], vec![1, 2, 3]] {
            for down in [None, Some(1)] {
                out.push(cfg(kind, &weights, down, keys_for(kind, &mut rng)));
            }
        }
    }
    for (weights, down) in [
        (vec![1, 1, 1, 1], None),
        (vec![1, 2, 3], None),
        (vec![5, 1, 1], None),
        (vec![1, 1, 1, 1], Some(2)),
        (vec![5, 1, 1], Some(0)),
    ] {
        out.push(cfg("round-robin", &weights, down, rr_keys(KEYS_PER_CONFIG)));
    }
    // Retries: (kind, weights, dead server, max_fails, fail_timeout [s], down server)
    let failing: [Failing; 10] = [
        ("ip-hash", &[1, 1, 1, 1], 1, 0, 10, None),
        ("ip-hash", &[1, 2, 3, 1], 2, 0, 10, Some(0)),
        ("cookie-hash", &[1, 1, 1, 1], 1, 0, 10, None),
        ("cookie-hash", &[1, 2, 3, 1], 2, 0, 10, Some(3)),
        ("cookie-hash", &[1, 1, 1, 1], 1, 1, 300, None),
        ("cookie-hash-consistent", &[1, 1, 1, 1], 1, 0, 10, None),
        ("cookie-hash-consistent", &[1, 2, 3, 1], 2, 1, 300, None),
        ("round-robin", &[1, 2, 3, 1], 1, 0, 10, None),
        ("round-robin", &[5, 1, 1, 1], 0, 2, 300, None),
        ("ip-hash", &[2, 1, 1, 1], 0, 3, 300, None),
    ];
    for (kind, weights, dead, max_fails, fail_timeout, down) in failing {
        if kind == "ip-hash" && !with_ip_hash {
            continue;
        }
        let mut c = cfg(kind, weights, down, keys_for(kind, &mut rng));
        (c.dead, c.max_fails, c.fail_timeout) = (Some(dead), max_fails, fail_timeout);
        out.push(c);
    }
    for (i, c) in out.iter_mut().enumerate() {
        let w: Vec<String> = c.weights.iter().map(|w| w.to_string()).collect();
        c.name = format!(
            "c{i}-{}-w{}{}{}",
            c.kind,
            w.join("_"),
            c.down.map_or(String::new(), |d| format!("-down{d}")),
            c.dead.map_or(String::new(), |d| format!(
                "-dead{d}-mf{}-ft{}",
                c.max_fails, c.fail_timeout
            ))
        );
    }
    out
}

fn directive(kind: &str) -> &'static str {
    match kind {
        "ip-hash" => "ip_hash;",
        "cookie-hash" => "hash $cookie_JSESSIONID;",
        "cookie-hash-consistent" => "hash $cookie_JSESSIONID consistent;",
        "round-robin" => "",
        _ => unreachable!(),
    }
}

/// The `server` address of node `i` of `c`: `127.0.0.1:base+i`, or the closed port `base+4`
/// for the dead node.
fn server(c: &Config, base: u16, i: usize) -> String {
    let port = if c.dead == Some(i) {
        base as usize + 4
    } else {
        base as usize + i
    };
    format!("127.0.0.1:{port}")
}

fn nginx_conf(dir: &Path, base: u16, front: u16, configs: &[Config]) -> String {
    let d = dir.display();
    let mut s = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 512; }}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         keepalive_requests 1000000;\nkeepalive_timeout 300s;\n"
    );
    for c in configs {
        s += &format!("upstream {} {{\n    {}\n", c.name, directive(c.kind));
        for (i, w) in c.weights.iter().enumerate() {
            let down = if c.down == Some(i) { " down" } else { "" };
            s += &format!(
                "    server {} weight={w} max_fails={} fail_timeout={}s{down};\n",
                server(c, base, i),
                c.max_fails,
                c.fail_timeout
            );
        }
        s += "}\n";
    }
    for i in 0..4 {
        s += &format!(
            "server {{ listen 127.0.0.1:{}; return 200 \"{i}\"; }}\n",
            base as usize + i
        );
    }
    s += &format!(
        "server {{\n    listen 127.0.0.1:{front};\n    set_real_ip_from 127.0.0.1;\n    \
         real_ip_header X-Forwarded-For;\n"
    );
    for c in configs {
        s += &format!(
            "    location /{}/ {{ proxy_pass http://{}; }}\n",
            c.name, c.name
        );
    }
    s += "}\n}\n";
    s
}

/// Kills nginx and removes the temp dir (kept, and named, if the test failed).
struct NginxGuard {
    child: Option<Child>,
    dir: PathBuf,
}

impl Drop for NginxGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "nginx oracle: keeping {} for inspection",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `count` consecutive free loopback ports outside the usual ephemeral range, plus one more.
fn free_ports(count: u16, attempt: u64) -> Option<(u16, u16)> {
    let mut rng = Lcg(u64::from(std::process::id()) ^ attempt.wrapping_mul(0x9e37_79b9));
    for _ in 0..200 {
        let base = 20000 + rng.below(12000) as u16;
        let held: Vec<_> = (0..=count)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == count as usize + 1 {
            return Some((base, base + count));
        }
    }
    None
}

fn start_nginx(nginx: &Path, configs: &[Config]) -> (NginxGuard, u16, u16) {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "sessim-nginx-oracle-{}-{stamp}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let mut guard = NginxGuard {
        child: None,
        dir: dir.clone(),
    };
    for attempt in 0..5 {
        // base..base+3: backends; base+4: left closed (dead servers); base+5: front
        let (base, front) = free_ports(5, attempt).expect("no free loopback ports");
        std::fs::write(
            dir.join("nginx.conf"),
            nginx_conf(&dir, base, front, configs),
        )
        .unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg("nginx.conf")
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).unwrap(),
            ))
            .spawn()
            .expect("spawn nginx");
        guard.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", front)).is_ok() {
                return (guard, base, front);
            }
            if let Some(status) = guard.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                    + &std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                guard.child = None;
                if log.contains("Address already in use") {
                    break; // port race: try other ports
                }
                panic!("nginx exited with {status}:\n{log}");
            }
            if Instant::now() > deadline {
                panic!("nginx did not listen on 127.0.0.1:{front} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("could not start nginx on free ports after 5 attempts");
}

/// A minimal keep-alive HTTP/1.1 client.
struct Client {
    port: u16,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn connect(&mut self) -> &mut BufReader<TcpStream> {
        if self.conn.is_none() {
            let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to nginx");
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_nodelay(true).unwrap();
            self.conn = Some(BufReader::new(s));
        }
        self.conn.as_mut().unwrap()
    }

    fn try_get(&mut self, path: &str, headers: &str) -> std::io::Result<(u16, String)> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: oracle\r\n{headers}\r\n");
        let c = self.connect();
        c.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        if c.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut len, mut close) = (0usize, false);
        loop {
            line.clear();
            c.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            if name.eq_ignore_ascii_case("content-length") {
                len = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("connection")
                && value.trim().eq_ignore_ascii_case("close")
            {
                close = true;
            }
        }
        let mut body = vec![0; len];
        c.read_exact(&mut body)?;
        if close {
            self.conn = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// The node nginx chose ("-" for a 502 "no live upstreams").
    fn route(&mut self, path: &str, headers: &str) -> String {
        let (status, body) = match self.try_get(path, headers) {
            Ok(r) => r,
            Err(_) => {
                // the server closed an idle keep-alive connection: reconnect once
                self.conn = None;
                self.try_get(path, headers).expect("request to nginx")
            }
        };
        match status {
            200 => body.trim().to_string(),
            502 => "-".to_string(),
            s => panic!("unexpected HTTP status {s} for {path} ({headers:?}): {body}"),
        }
    }
}

fn route_bin(c: &Config, base: u16) -> Vec<String> {
    let mut args = vec![
        "--balancer".to_string(),
        c.kind.to_string(),
        "--nodes".into(),
        c.weights.len().to_string(),
        "--weights".into(),
        c.weights
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(","),
        "--base-port".into(),
        base.to_string(),
    ];
    if let Some(d) = c.down {
        args.extend(["--down".to_string(), d.to_string()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessim"))
        .arg("route")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn route");
    let input: String = c.keys.iter().map(|k| format!("{}\n", k.line)).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "route {args:?} failed: {}",
        out.status
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The library driven like nginx drives it: per request, attempts until one succeeds (the dead
/// server's attempts fail), at most `tries()`; "-" when no peer is left. Time fixed at 0.
fn library(c: &Config, base: u16) -> Vec<String> {
    use sessim::model::balancer::{find, BalancerParams, PeerData, RequestKey};
    let n = c.weights.len();
    let mut p = BalancerParams::with_defaults(n);
    p.weights = c.weights.clone();
    if let Some(d) = c.down {
        p.down[d] = true;
    }
    p.max_fails = c.max_fails;
    p.fail_timeout_s = c.fail_timeout;
    p.servers = (0..n).map(|i| server(c, base, i)).collect();
    let mut b = (find(c.kind).unwrap().build)(&p);
    c.keys
        .iter()
        .map(|k| {
            let addr = if c.kind == "ip-hash" {
                k.line.parse::<std::net::Ipv4Addr>().unwrap().octets()
            } else {
                [0; 4]
            };
            let key = RequestKey {
                client_addr: addr,
                session_id: k.line.as_bytes(),
            };
            let mut pd = PeerData::default();
            for _ in 0..b.tries() {
                match b.pick(&key, &mut pd, 0) {
                    None => break,
                    Some(x) if Some(x) == c.dead => b.free(x, true, 0),
                    Some(x) => {
                        b.free(x, false, 0);
                        return x.to_string();
                    }
                }
            }
            "-".to_string()
        })
        .collect()
}

#[test]
fn balancers_match_real_nginx() {
    let Some(nginx) = find_nginx() else {
        return skip_or_fail("nginx is not on PATH and /usr/sbin/nginx is absent");
    };
    let v = Command::new(&nginx).arg("-V").output().expect("nginx -V");
    let build =
        String::from_utf8_lossy(&v.stderr).into_owned() + &String::from_utf8_lossy(&v.stdout);
    let version = build.lines().next().unwrap_or("").to_string();
    println!("nginx oracle: {} ({version})", nginx.display());
    if !version.contains("nginx/1.22.") {
        println!("NOTICE: the balancers model nginx 1.22; this is {version}");
    }
    let realip = build.contains("http_realip_module");
    if !realip {
        skip_or_fail("nginx lacks the realip module: ip-hash configurations not checked");
    }

    let configs = configs(realip);
    let (_guard, base, front) = start_nginx(&nginx, &configs);
    let mut client = Client {
        port: front,
        conn: None,
    };
    let mut failures = vec![];
    for c in &configs {
        let expected = if c.dead.is_some() {
            library(c, base)
        } else {
            route_bin(c, base)
        };
        assert_eq!(
            expected.len(),
            c.keys.len(),
            "{}: route printed a wrong number of lines",
            c.name
        );
        let path = format!("/{}/", c.name);
        let mut agree = 0;
        let mut first_diff = None;
        for (i, k) in c.keys.iter().enumerate() {
            let got = client.route(&path, &k.headers);
            if got == expected[i] {
                agree += 1;
            } else if first_diff.is_none() {
                first_diff = Some(format!(
                    "key #{i} {:?}: nginx {got}, route {}",
                    k.line, expected[i]
                ));
            }
        }
        println!("{:<60} {agree}/{} keys agree", c.name, c.keys.len());
        if let Some(d) = first_diff {
            failures.push(format!(
                "{}: {} of {} disagree; first: {d}",
                c.name,
                c.keys.len() - agree,
                c.keys.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with nginx:\n{}",
        failures.join("\n")
    );
}
