//! `sessim route`: the node each key on stdin goes to, one 0-based index per line (`-` when the
//! balancer has no live upstream). For `ip-hash` a key is a client IPv4 address; for
//! `cookie-hash*` and `route` it is the JSESSIONID value; for `round-robin` each line is one
//! request. One balancer instance serves the whole input (state carries across lines), at time
//! 0, every attempt succeeding. Servers are `127.0.0.1:<base-port + i>` unless `--servers` names
//! them, so the answer agrees with real nginx 1.22 for that server list.

use super::InputError;
use crate::model::balancer::{self, BalancerParams, PeerData, RequestKey};
use anyhow::Result;
use clap::Args;
use std::io::{BufRead, BufWriter, Write};
use std::net::Ipv4Addr;
use std::process::ExitCode;

/// Arguments of `sessim route`.
#[derive(Args, Debug)]
pub struct RouteArgs {
    /// Balancer kind (see `sessim list balancers`).
    #[arg(long)]
    balancer: String,
    /// Number of servers.
    #[arg(long)]
    nodes: usize,
    /// Weights, comma-separated (default all 1).
    #[arg(long, value_delimiter = ',')]
    weights: Option<Vec<u32>>,
    /// 0-based indices of servers marked `down`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    down: Vec<usize>,
    /// First port of the `127.0.0.1:<port>` server strings (consistent hashing depends on them).
    #[arg(long, default_value_t = 8080)]
    base_port: u16,
    /// Server strings as written in nginx's upstream block, comma-separated (overrides --base-port).
    #[arg(long, value_delimiter = ',')]
    servers: Option<Vec<String>>,
}

fn params(a: &RouteArgs) -> Result<BalancerParams, String> {
    let n = a.nodes;
    if n == 0 || n > balancer::MAX_PEERS {
        return Err(format!(
            "--nodes: expected 1 to {}, got {n}",
            balancer::MAX_PEERS
        ));
    }
    let mut p = BalancerParams::with_defaults(n);
    if let Some(w) = &a.weights {
        if w.len() != n {
            return Err(format!("--weights: expected {n} weights, got {}", w.len()));
        }
        if w.contains(&0) {
            return Err("--weights: expected weights ≥ 1".into());
        }
        p.weights = w.clone();
    }
    for &d in &a.down {
        if d >= n {
            return Err(format!("--down: there are {n} nodes (0..{n}), no node {d}"));
        }
        p.down[d] = true;
    }
    p.servers = match &a.servers {
        Some(s) if s.len() != n => {
            return Err(format!(
                "--servers: expected {n} server strings, got {}",
                s.len()
            ))
        }
        Some(s) => s.clone(),
        None => {
            if a.base_port as usize + n > 65536 {
                return Err("--base-port: ports beyond 65535".into());
            }
            (0..n)
                .map(|i| format!("127.0.0.1:{}", a.base_port as usize + i))
                .collect()
        }
    };
    p.validate()?;
    Ok(p)
}

/// Runs `sessim route` on stdin/stdout.
///
/// # Errors
/// [`InputError`] for bad arguments or a line that is not an IPv4 address (ip-hash); I/O errors.
pub fn run(a: RouteArgs) -> Result<ExitCode> {
    let entry = balancer::find(&a.balancer).ok_or_else(|| {
        let known: Vec<&str> = balancer::REGISTRY.iter().map(|e| e.name).collect();
        InputError(format!(
            "--balancer: expected one of {}, got \"{}\"",
            known.join(", "),
            a.balancer
        ))
    })?;
    let p = params(&a).map_err(InputError)?;
    let mut b = (entry.build)(&p);
    let ip_keys = a.balancer == "ip-hash";
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.split(b'\n').enumerate() {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let key = if ip_keys {
            let text = String::from_utf8_lossy(&line);
            let ip: Ipv4Addr = text.trim().parse().map_err(|_| {
                InputError(format!(
                    "stdin line {}: expected an IPv4 address, got \"{}\"",
                    n + 1,
                    text.trim()
                ))
            })?;
            RequestKey {
                client_addr: ip.octets(),
                session_id: b"",
            }
        } else {
            RequestKey {
                client_addr: [0; 4],
                session_id: &line,
            }
        };
        let written = match b.pick(&key, &mut PeerData::default(), 0) {
            Some(peer) => {
                b.free(peer, false, 0);
                writeln!(out, "{peer}")
            }
            None => writeln!(out, "-"),
        };
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
