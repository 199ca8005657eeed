//! The future-event list: pending events ordered by `(time, insertion sequence)`.
//!
//! Events at the same instant come out first-in-first-out (in the order they were pushed), so the
//! pop order is a pure function of the pushes and never depends on a queue's internals. All
//! implementations rely on the discrete-event-simulation invariant that no event is pushed
//! earlier than the last popped one (the clock never runs backwards); they panic if it is broken.
//!
//! Three interchangeable implementations of [`FutureEventList`], exactly order-equivalent (tested
//! against a sorted reference and against each other by a property test):
//!
//! - [`HeapQueue`] (`heap.rs`): an implicit 4-ary min-heap on `(time, seq)`; O(log n).
//! - [`RadixQueue`] (`radix.rs`): a monotone radix heap on the time with 8-bit digits and a FIFO
//!   bucket for the events at the current instant (Ahuja, Mehlhorn, Orlin, Tarjan 1990); O(1)
//!   push and peek, amortised O(1) pop (an event moves at most 8 times).
//! - [`CalendarQueue`] (`calendar.rs`): a calendar queue with bucket-width re-estimation and
//!   resizing (Brown 1988); O(1) expected per operation when the width fits the event density.
//!
//! [`EventQueue`], which the [`Scheduler`](super::Scheduler) uses, is the radix heap: the fastest
//! of the three in the hold model at every size, in both increment mixes (`cargo bench --bench
//! queue`: pre-fill N events, then pop + push(now + increment); ns per hold operation, criterion
//! point estimate, 2-core development machine, other work paused but the VM's neighbours not:
//! the same binary varies by 5–20% between runs):
//!
//! ```text
//! increments                      N    HeapQueue  RadixQueue  CalendarQueue  (std BinaryHeap)
//! exp, mean 1 s               1 000        89.3        24.7           27.9          47.3
//!                           100 000       134.5        37.9          105.6         143.9
//!                         1 000 000       372.0        38.5          257.7         974.3
//! DES mix: 10 % zero,         1 000        58.0        21.5           27.6          53.5
//!   2/3 exp 3 ms, 1/3 exp 1 s 100 000     118.5        33.2          111.5         182.7
//!                         1 000 000       202.7        33.5          138.3         405.4
//! ```
//!
//! The radix heap's cost hardly grows with N: a push is an append, and an event moves two or
//! three times between buckets, by sequential passes, in its life. The heap pays log N cache
//! misses per operation, and the calendar (fastest at 1 000 with exponential increments, within
//! noise of the radix heap) about two random accesses (its bucket vectors scatter in memory).
//! With the Scheduler on the radix heap, `sessim bench` (closed-loop-rr, ~1 000 pending events)
//! went from 0.235 s to 0.198 s median wall time (15 alternating runs each, busy machine).
//!
//! Radix-heap variants measured in the same benchmark (DES mix, N = 1k / 100k / 1M, ns, the
//! machine partly busy): bit buckets on `time << 64 | seq` (the textbook form) 44 / 65 / 76;
//! bit buckets on the time with the FIFO bucket 48 / 57 / 69; digit buckets of 6 bits
//! 25 / 31 / 37, 7 bits 27 / 31 / 39, 8 bits (kept) 22 / 32 / 33. Taking a lone minimum straight
//! from its bucket instead of through the FIFO bucket (kept) then gave, side by side,
//! exponential 31.0 → 24.1 (1k) and 48.5 → 38.3 (1M), DES mix 35.8 → 29.6 (100k). Keeping each
//! bucket's minimum as entries are appended, so that a pop never scans the next bucket, was
//! first tried inside 40-byte bucket headers (24 before): it cut closed-loop-rr from 1.2048 to
//! 1.1569 G instructions (cachegrind), but made the hold model slower (two alternating rounds,
//! DES mix 1k / 100k: 23.1–24.7 / 31.3–32.1 ns before, 25.9–26.6 / 34.4–36.2 after), and the
//! bench's wall time did not move beyond its noise (15 alternating runs: median 0.158 vs 0.154 s
//! and 0.187 vs 0.179 s in closed-loop-rr, 0.700 vs 0.742 s in closed-loop-rr-100k). Kept later
//! in an array of its own, beside 24-byte headers: closed-loop-rr 1.0770 → 1.0567 G
//! instructions, closed-loop-rr-100k 3.5997 → 3.5411 G, full-feature (first 30 s) 5.8681 →
//! 5.8307 G; hold model (criterion medians, 1k / 100k / 1M) exponential 25.4 / 37.6 / 53.3 →
//! 24.3 / 33.8 / 46.3 ns, DES mix 22.6 / 33.3 / 37.4 → 24.9 / 28.5 / 38.9 ns; the bench's wall
//! time again within noise (41 alternating pairs, twice: medians 0.1354 vs 0.1369 s and 0.1324
//! vs 0.1315 s).

mod calendar;
mod heap;
mod radix;

pub use calendar::CalendarQueue;
pub use heap::HeapQueue;
pub use radix::RadixQueue;

use super::SimTime;

/// The future-event list used by the [`Scheduler`](super::Scheduler): a type alias, so the run
/// loop calls the chosen implementation statically (no dynamic dispatch). See the module
/// documentation for the measurements behind the choice.
pub type EventQueue<E> = RadixQueue<E>;

/// A min-priority queue of events keyed by `(time, insertion sequence)`, for monotone use: every
/// pushed time must be no earlier than the time of the last popped event.
pub trait FutureEventList<E: Copy> {
    /// Returns an empty queue; `capacity` is the number of pending events expected, a sizing hint
    /// that an implementation may ignore (every queue grows as needed).
    fn with_capacity(capacity: usize) -> Self
    where
        Self: Sized;

    /// Returns the number of pending events.
    fn len(&self) -> usize;

    /// Returns true when no event is pending.
    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `event` at simulated time `time` (nanoseconds), after every pending event at the
    /// same time.
    ///
    /// # Panics
    /// If `time` is earlier than the time of the last popped event (a model bug).
    fn push(&mut self, time: SimTime, event: E);

    /// Returns the time of the earliest pending event, or `None` when the queue is empty. O(1).
    fn peek_time(&self) -> Option<SimTime>;

    /// Removes and returns the earliest pending event with its time (the first pushed among those
    /// at the earliest time), or `None` when the queue is empty.
    fn pop(&mut self) -> Option<(SimTime, E)>;

    /// [`pop`](Self::pop), and `soon` is called on pending events that will come out within
    /// the next few pops, when the queue learns of them as it pops (a radix heap redistributing a
    /// small bucket): only a hint, for prefetching. Default: `pop`, no hint.
    #[inline]
    fn pop_with_lookahead(&mut self, _soon: impl FnMut(&E)) -> Option<(SimTime, E)> {
        self.pop()
    }

    /// The event the next `pop` returns, when the queue knows it in O(1); `None` when empty or
    /// not known cheaply (the default). Only a hint: the scheduler uses it to let the model
    /// prefetch the next event's entities.
    #[inline]
    fn peek_event(&self) -> Option<&E> {
        None
    }
}

/// Test helpers shared by the implementations: a sorted reference and randomized scenarios.
#[cfg(test)]
pub(crate) mod check {
    use super::{FutureEventList, SimTime};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeMap;

    /// The reference: a sorted map on `(time, insertion sequence)`.
    #[derive(Default)]
    pub struct Reference {
        map: BTreeMap<(u64, u64), u32>,
        seq: u64,
    }

    impl FutureEventList<u32> for Reference {
        fn with_capacity(_capacity: usize) -> Self {
            Reference::default()
        }
        fn len(&self) -> usize {
            self.map.len()
        }
        fn push(&mut self, time: SimTime, event: u32) {
            self.map.insert((time.as_ns(), self.seq), event);
            self.seq += 1;
        }
        fn peek_time(&self) -> Option<SimTime> {
            self.map
                .first_key_value()
                .map(|(&(t, _), _)| SimTime::from_ns(t))
        }
        fn pop(&mut self) -> Option<(SimTime, u32)> {
            self.map
                .pop_first()
                .map(|((t, _), e)| (SimTime::from_ns(t), e))
        }
        fn peek_event(&self) -> Option<&u32> {
            self.map.first_key_value().map(|(_, e)| e)
        }
    }

    /// Runs `ops` random operations on `Q` and on the reference and panics at the first
    /// difference (popped event, time, `len`, `peek_time`, `peek_event` when known). Each operation pops with probability
    /// `p_pop(i)` (i = operation index) and otherwise pushes at `last popped + delta(rng)`
    /// (monotone); the queue is drained at the end.
    pub fn against_reference<Q: FutureEventList<u32>>(
        seed: u64,
        ops: usize,
        p_pop: impl Fn(usize) -> f64,
        delta: impl Fn(&mut ChaCha8Rng) -> u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut q = Q::with_capacity(0);
        let mut r = Reference::default();
        let mut now = 0u64;
        let mut id = 0u32;
        let mut pops = 0usize;
        let mut step = |q: &mut Q, r: &mut Reference, pop: bool, rng: &mut ChaCha8Rng| {
            if pop {
                let got = q.pop();
                let want = r.pop();
                assert_eq!(got, want, "pop #{pops} (seed {seed})");
                if let Some((t, _)) = want {
                    now = t.as_ns();
                }
                pops += 1;
            } else {
                let t = SimTime::from_ns(now.saturating_add(delta(rng)));
                q.push(t, id);
                r.push(t, id);
                id += 1;
            }
            assert_eq!(q.len(), r.len());
            assert_eq!(q.is_empty(), r.is_empty());
            assert_eq!(q.peek_time(), r.peek_time());
            if let Some(e) = q.peek_event() {
                assert_eq!(Some(e), r.peek_event(), "peek_event (seed {seed})");
            }
        };
        for i in 0..ops {
            let pop = rng.gen_bool(p_pop(i).clamp(0.0, 1.0));
            step(&mut q, &mut r, pop, &mut rng);
        }
        while !r.is_empty() {
            step(&mut q, &mut r, true, &mut rng);
        }
        assert!(q.pop().is_none() && q.peek_time().is_none());
    }

    /// An exponential draw with mean `mean` (ns).
    fn exp(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
        (-(1.0 - rng.gen::<f64>()).ln() * mean) as u64
    }

    /// The scenarios every implementation must pass.
    pub fn all_scenarios<Q: FutureEventList<u32>>() {
        // many equal times: half the pushes at the current instant, the rest within 3 ns
        against_reference::<Q>(
            1,
            60_000,
            |_| 0.45,
            |rng| {
                if rng.gen_bool(0.5) {
                    0
                } else {
                    rng.gen_range(0..4)
                }
            },
        );
        // a DES-like mix: 10 % same-time, 3 ms and 1 s exponentials; the size grows to
        // thousands, shrinks to zero and grows again (calendar resizes both ways)
        against_reference::<Q>(
            2,
            200_000,
            |i| if (i / 20_000) % 2 == 0 { 0.3 } else { 0.7 },
            |rng| {
                let u: f64 = rng.gen();
                if u < 0.1 {
                    0
                } else if u < 0.7 {
                    exp(rng, 3e6)
                } else {
                    exp(rng, 1e9)
                }
            },
        );
        // wide and clustered spans: deltas from 1 ns to 2^60 ns, some saturating at u64::MAX
        against_reference::<Q>(
            3,
            50_000,
            |_| 0.5,
            |rng| {
                let bits = rng.gen_range(0..64);
                if rng.gen_bool(0.01) {
                    u64::MAX
                } else {
                    rng.gen::<u64>() >> (64 - bits).min(63) >> 1
                }
            },
        );
        // the original test's workload: uniform times in a small window, 30 % pops
        against_reference::<Q>(7, 20_000, |_| 0.3, |rng| rng.gen_range(0..500));
        // ties only: every event at the same instant (pure FIFO)
        against_reference::<Q>(11, 20_000, |_| 0.4, |_| 0);
    }
}

#[cfg(test)]
mod tests {
    use super::check::{self, Reference};
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Pop,
        /// Push at `last popped time + delta` (saturating).
        Push(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let delta = prop_oneof![
            3 => Just(0u64),
            2 => 0..4u64,
            2 => 0..1_000u64,
            2 => 0..4_000_000_000u64,
            1 => any::<u64>(),
        ];
        prop_oneof![2 => Just(Op::Pop), 3 => delta.prop_map(Op::Push)]
    }

    /// After one operation: what it popped (time, event), then `peek_time` and `len`.
    type Step = (Option<(u64, u32)>, Option<u64>, usize);

    /// The steps of `ops` (then of draining the queue) on a `Q`.
    fn trace<Q: FutureEventList<u32>>(ops: &[Op]) -> Vec<Step> {
        let mut q = Q::with_capacity(0);
        let mut now = 0u64;
        let mut out = Vec::new();
        let mut record = |q: &mut Q, popped: Option<(u64, u32)>| {
            out.push((popped, q.peek_time().map(SimTime::as_ns), q.len()));
        };
        for (id, op) in ops.iter().enumerate() {
            match *op {
                Op::Pop => {
                    let p = q.pop().map(|(t, e)| (t.as_ns(), e));
                    if let Some((t, _)) = p {
                        now = t;
                    }
                    record(&mut q, p);
                }
                Op::Push(d) => {
                    q.push(SimTime::from_ns(now.saturating_add(d)), id as u32);
                    record(&mut q, None);
                }
            }
        }
        while let Some((t, e)) = q.pop() {
            record(&mut q, Some((t.as_ns(), e)));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The three implementations pop the identical sequence, and it is the reference's.
        #[test]
        fn all_queues_pop_the_same_sequence(ops in proptest::collection::vec(op(), 0..600)) {
            let heap = trace::<HeapQueue<u32>>(&ops);
            let radix = trace::<RadixQueue<u32>>(&ops);
            let calendar = trace::<CalendarQueue<u32>>(&ops);
            let want = trace::<Reference>(&ops);
            prop_assert_eq!(&heap, &want);
            prop_assert_eq!(&radix, &want);
            prop_assert_eq!(&calendar, &want);
        }
    }

    #[test]
    fn heap_pops_in_time_then_fifo_order_against_a_sorted_reference() {
        check::all_scenarios::<HeapQueue<u32>>();
    }

    #[test]
    fn radix_pops_in_time_then_fifo_order_against_a_sorted_reference() {
        check::all_scenarios::<RadixQueue<u32>>();
    }

    #[test]
    fn calendar_pops_in_time_then_fifo_order_against_a_sorted_reference() {
        check::all_scenarios::<CalendarQueue<u32>>();
    }

    /// Pushes at 10, pops, then pushes at 9.
    fn push_into_the_past<Q: FutureEventList<u32>>() {
        let mut q = Q::with_capacity(4);
        q.push(SimTime::from_ns(10), 0);
        q.pop();
        q.push(SimTime::from_ns(9), 1);
    }

    #[test]
    #[should_panic(expected = "before the last popped time")]
    fn heap_panics_on_a_push_into_the_past() {
        push_into_the_past::<HeapQueue<u32>>();
    }

    #[test]
    #[should_panic(expected = "before the last popped time")]
    fn radix_panics_on_a_push_into_the_past() {
        push_into_the_past::<RadixQueue<u32>>();
    }

    #[test]
    #[should_panic(expected = "before the last popped time")]
    fn calendar_panics_on_a_push_into_the_past() {
        push_into_the_past::<CalendarQueue<u32>>();
    }
}
