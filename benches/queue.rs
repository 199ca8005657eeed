//! The future-event lists in the classic hold model (Jones 1986, "An empirical comparison of
//! priority-queue and event-set implementations", CACM 29(4)): pre-fill N events, then repeat
//! pop + push(popped time + increment). One criterion iteration is one hold operation, so the
//! reported time is ns per pop + push.
//!
//! N ∈ {1 000, 100 000, 1 000 000}; increments:
//! - `exp1s`: exponential, mean 1 s;
//! - `des_mix`: 10 % exactly 0 (same-time events); of the rest, 2/3 exponential with mean 3 ms and
//!   1/3 exponential with mean 1 s.
//!
//! The increments come from a fixed-seed ChaCha8 stream precomputed into a vector (2^20 values,
//! reused cyclically), so the RNG is outside the timing and every queue sees the same sequence.
//! The pre-fill pushes N events at times drawn from the same increment distribution (from time
//! 0); 2·N untimed hold operations and criterion's warm-up then run the queue towards its steady
//! state before measuring.
//!
//! A `std::collections::BinaryHeap` row is included for calibration against reference figures.
//!
//! `cargo bench --bench queue` (about 2 minutes plus the build);
//! `cargo bench --bench queue -- des_mix/radix` for a subset.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sessim::kernel::queue::{CalendarQueue, FutureEventList, HeapQueue, RadixQueue};
use sessim::kernel::SimTime;

/// Number of precomputed increments (a power of two: the index wraps with a mask).
const INCREMENTS: usize = 1 << 20;
/// Queue sizes.
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// An exponential draw with mean `mean_ns` \[ns\], by inversion.
fn exp(rng: &mut ChaCha8Rng, mean_ns: f64) -> u64 {
    (-(1.0 - rng.gen::<f64>()).ln() * mean_ns) as u64
}

/// The increments \[ns\] of one mix, from a fixed seed.
fn increments(mix: &str) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x005e_551a);
    (0..INCREMENTS)
        .map(|_| match mix {
            "exp1s" => exp(&mut rng, 1e9),
            "des_mix" => {
                let u: f64 = rng.gen();
                if u < 0.1 {
                    0
                } else if u < 0.1 + 0.9 * 2.0 / 3.0 {
                    exp(&mut rng, 3e6)
                } else {
                    exp(&mut rng, 1e9)
                }
            }
            _ => unreachable!("unknown mix {mix}"),
        })
        .collect()
}

/// Calibration only: `std::collections::BinaryHeap` on `(time, seq, event)`, the structure the
/// reference figures were taken with (compare its row across runs to judge the machine's load).
struct StdHeap {
    heap: BinaryHeap<Reverse<(u64, u64, u64)>>,
    seq: u64,
}

impl FutureEventList<u64> for StdHeap {
    fn with_capacity(capacity: usize) -> Self {
        StdHeap {
            heap: BinaryHeap::with_capacity(capacity),
            seq: 0,
        }
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
    fn push(&mut self, time: SimTime, event: u64) {
        self.heap.push(Reverse((time.as_ns(), self.seq, event)));
        self.seq += 1;
    }
    fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|r| SimTime::from_ns(r.0 .0))
    }
    fn pop(&mut self) -> Option<(SimTime, u64)> {
        self.heap
            .pop()
            .map(|Reverse((t, _, e))| (SimTime::from_ns(t), e))
    }
}

/// Benchmarks the hold operation on a `Q` pre-filled with `n` events.
fn hold<Q: FutureEventList<u64>>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    n: usize,
    incs: &[u64],
) {
    let mask = incs.len() - 1;
    let mut q = Q::with_capacity(n);
    for i in 0..n {
        q.push(SimTime::from_ns(incs[i & mask]), i as u64);
    }
    let mut k = n & mask;
    let mut hold_once = |q: &mut Q| {
        let (t, e) = q.pop().expect("the hold model keeps n events");
        q.push(t.plus_ns(incs[k]), e);
        k = (k + 1) & mask;
        e
    };
    // untimed: run towards the steady state (the pre-fill's times are not the hold model's)
    for _ in 0..2 * n {
        hold_once(&mut q);
    }
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| black_box(hold_once(&mut q)))
    });
}

fn bench(c: &mut Criterion) {
    for mix in ["exp1s", "des_mix"] {
        let incs = increments(mix);
        let mut group = c.benchmark_group(mix);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_millis(2500));
        for n in SIZES {
            hold::<HeapQueue<u64>>(&mut group, "heap", n, &incs);
            hold::<RadixQueue<u64>>(&mut group, "radix", n, &incs);
            hold::<CalendarQueue<u64>>(&mut group, "calendar", n, &incs);
            hold::<StdHeap>(&mut group, "std_binary_heap", n, &incs);
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
