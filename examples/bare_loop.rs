//! The floor under `closed-loop-rr`: its queueing model as a bare event loop, with nothing of
//! sessim's but (optionally) its event queue. 1,000 closed-loop clients, exponential think time
//! with mean 1 s, 20 ms client–balancer and 100 µs balancer–app latency, plain round robin over
//! 4 single-worker nodes with FIFO queues, exponential service with mean 3 ms, 500 s. Three
//! events per request, as in sessim (the page reaches the balancer, the request reaches its
//! node, its service ends); no sessions, no balancer state beyond a counter, no observations
//! but a count of responses.
//!
//! Issue 7 sets its targets against "a bare `std::collections::BinaryHeap` loop in Rust
//! ≈ 7.5 M/s" on this model; this program measures that loop on the machine at hand, and the
//! same loop on sessim's radix queue, so that sessim's figures can be read against the floor
//! the queue alone sets.
//!
//! `cargo run --release --example bare_loop [repeats]` prints, per queue, the median and best
//! wall time of `repeats` runs (default 7) and the requests per second they give.

use sessim::kernel::queue::{FutureEventList, RadixQueue};
use sessim::kernel::{EntityStream, SimTime, StreamKey};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

const CLIENTS: u32 = 1_000;
const NODES: usize = 4;
const THINK_MEAN_NS: f64 = 1e9;
const SERVICE_MEAN_NS: f64 = 3e6;
const LAT_CB_NS: u64 = 20_000_000;
const LAT_BA_NS: u64 = 100_000;
const HORIZON_NS: u64 = 500_000_000_000;

/// Ordered only so the heap can hold it: ties in `(time, seq)` never reach it, `seq` is unique.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// Client c's request reaches the balancer.
    Send(u32),
    /// Client c's request reaches node n.
    Arrive(u32, u8),
    /// Node n finished serving client c.
    Done(u32, u8),
}

/// A future-event list with `(time, insertion)` order.
trait Fel {
    fn push(&mut self, t: u64, e: Ev);
    fn pop(&mut self) -> Option<(u64, Ev)>;
}

/// `BinaryHeap` on `(time, seq)`: the textbook loop.
#[derive(Default)]
struct Heap {
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
}

impl Fel for Heap {
    fn push(&mut self, t: u64, e: Ev) {
        self.heap.push(Reverse((t, self.seq, e)));
        self.seq += 1;
    }
    fn pop(&mut self) -> Option<(u64, Ev)> {
        let Reverse((t, _, e)) = self.heap.pop()?;
        Some((t, e))
    }
}

impl Fel for RadixQueue<Ev> {
    fn push(&mut self, t: u64, e: Ev) {
        FutureEventList::push(self, SimTime::from_ns(t), e);
    }
    fn pop(&mut self) -> Option<(u64, Ev)> {
        FutureEventList::pop(self).map(|(t, e)| (t.as_ns(), e))
    }
}

/// Runs the model to the horizon; returns the responses received.
fn run<Q: Fel>(q: &mut Q) -> u64 {
    // sessim's per-client generator (xoshiro256++) and its ziggurat exponential
    let mut rng = EntityStream::new(&StreamKey {
        master: 1,
        point: 0,
        replication: 0,
        purpose: "bare_loop",
        entity: 0,
    });
    let mut busy = [false; NODES];
    let mut queues: [VecDeque<u32>; NODES] = Default::default();
    let mut next_node = 0usize;
    let mut responses = 0u64;
    for c in 0..CLIENTS {
        q.push(
            rng.exponential(THINK_MEAN_NS) as u64 + LAT_CB_NS,
            Ev::Send(c),
        );
    }
    while let Some((now, e)) = q.pop() {
        if now > HORIZON_NS {
            break;
        }
        match e {
            Ev::Send(c) => {
                let n = next_node;
                next_node = (next_node + 1) % NODES;
                q.push(now + LAT_BA_NS, Ev::Arrive(c, n as u8));
            }
            Ev::Arrive(c, n) => {
                if busy[n as usize] {
                    queues[n as usize].push_back(c);
                } else {
                    busy[n as usize] = true;
                    q.push(
                        now + rng.exponential(SERVICE_MEAN_NS) as u64,
                        Ev::Done(c, n),
                    );
                }
            }
            Ev::Done(c, n) => {
                responses += 1;
                let back = LAT_BA_NS + LAT_CB_NS;
                let think = rng.exponential(THINK_MEAN_NS) as u64;
                q.push(now + back + think + LAT_CB_NS, Ev::Send(c));
                match queues[n as usize].pop_front() {
                    Some(next) => q.push(
                        now + rng.exponential(SERVICE_MEAN_NS) as u64,
                        Ev::Done(next, n),
                    ),
                    None => busy[n as usize] = false,
                }
            }
        }
    }
    responses
}

/// Runs `make`'s queue `repeats` times; prints median and best.
fn measure<Q: Fel>(name: &str, repeats: usize, make: impl Fn() -> Q) {
    let mut walls = Vec::new();
    let mut responses = 0;
    for _ in 0..repeats {
        let mut q = make();
        let t0 = Instant::now();
        responses = std::hint::black_box(run(&mut q));
        walls.push(t0.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    let (med, best) = (walls[walls.len() / 2], walls[0]);
    println!(
        "{name:<22} {responses:>9} {med:>9.4} {:>12.0} {best:>9.4} {:>12.0}",
        responses as f64 / med,
        responses as f64 / best
    );
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    println!(
        "{:<22} {:>9} {:>9} {:>12} {:>9} {:>12}",
        "queue", "requests", "median_s", "requests/s", "best_s", "best_req/s"
    );
    measure("std BinaryHeap", repeats, Heap::default);
    measure("sessim RadixQueue", repeats, || {
        <RadixQueue<Ev> as FutureEventList<Ev>>::with_capacity(0)
    });
}
