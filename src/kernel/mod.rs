//! The simulation kernel: time, the future-event list, the run loop, seeded random-number streams
//! and statistics. It knows nothing about HTTP, sessions or balancers; models plug in through the
//! [`Model`] trait.
//!
//! ```text
//!   Scheduler ──pop (time, seq, event)──► Model::handle(event, &mut Scheduler) ──schedule_at──┐
//!       ▲                                                                                    │
//!       └────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Events scheduled for the same instant run in the order they were scheduled (FIFO by a strictly
//! increasing sequence number), so a run is a pure function of its inputs.

pub mod queue;
pub mod rng;
pub mod stats;
pub mod time;

pub use queue::{EventQueue, FutureEventList};
pub use rng::{stream_seed, EntityStream, Stream, StreamKey};
pub use stats::{Counter, Histogram, Tally, TimeWeighted};
pub use time::SimTime;

/// Asks the CPU to start loading the cache lines holding `value` (every 64-byte line it spans;
/// no effect on results: a prefetch never faults and changes no state; a no-op off x86-64).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = value as *const T as *const i8;
        let size = std::mem::size_of::<T>();
        // one prefetch per 64 bytes from the start, and one for the last byte (the line the
        // others miss when `value` does not start a line); the size is a constant, so the
        // loop unrolls into a fixed list of prefetches
        let mut off = 0;
        while off < size {
            // SAFETY: PREFETCHT0 only hints the cache hierarchy; it never faults, even on an
            // invalid address, and has no architectural effect. Every address here lies
            // inside `value`, a valid reference.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
        if size > 1 {
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(size - 1)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// A simulated system: a set of entities and the handlers of their events.
pub trait Model {
    /// The event type: small (≤ 16 bytes) and `Copy`; payloads live in the model's entity tables.
    type Event: Copy;
    /// Handles one event at `sched.now()`; may schedule further events.
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);
    /// A hint that `next` is the event after the one being handled: a model may start loading
    /// the entities it will touch (see [`prefetch`]) so that the memory access overlaps the
    /// current event's work. Must not change the model's state. Default: nothing.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
    /// A hint that `soon` is among the next few dozen events, which the queue learns of as it
    /// pops ([`FutureEventList::pop_with_lookahead`]): a model may start loading what one
    /// event's lead would not hide (entities read at random in a table larger than the caches).
    /// Called for some events only, possibly long before they run. Must not change the model's
    /// state. Default: nothing.
    #[inline]
    fn prefetch_soon(&self, _soon: &Self::Event) {}
    /// Called once when the simulation clock reaches the warm-up time: statistics reset here
    /// (warm-up deletion). Default: nothing.
    fn end_warm_up(&mut self, _now: SimTime) {}
}

/// The clock and the future-event list of one run.
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
    events_handled: u64,
}

impl<E: Copy> Scheduler<E> {
    /// An empty scheduler at time zero, with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        Scheduler {
            now: SimTime::ZERO,
            queue: EventQueue::with_capacity(capacity),
            events_handled: 0,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at`.
    ///
    /// # Panics
    /// In debug builds, if `at` is in the past (a model bug, never an input error).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        self.queue.push(at, event);
    }

    /// Schedules `event` after `delay_ns` nanoseconds.
    #[inline]
    pub fn schedule_in(&mut self, delay_ns: u64, event: E) {
        self.queue.push(self.now.plus_ns(delay_ns), event);
    }

    /// Number of events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.events_handled
    }

    /// Number of events pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Runs `model` until the next event would be later than `until` (events at exactly `until`
    /// run); the clock is then set to `until`. Returns the number of events handled.
    pub fn run_until<M: Model<Event = E>>(&mut self, model: &mut M, until: SimTime) -> u64 {
        let start = self.events_handled;
        while let Some(at) = self.queue.peek_time() {
            if at > until {
                break;
            }
            let (at, event) = self
                .queue
                .pop_with_lookahead(|soon| model.prefetch_soon(soon))
                .expect("peeked");
            self.now = at;
            self.events_handled += 1;
            if let Some(next) = self.queue.peek_event() {
                model.prefetch(next);
            }
            model.handle(event, self);
        }
        if until > self.now {
            self.now = until;
        }
        self.events_handled - start
    }

    /// Runs `model` to `warm_up`, calls [`Model::end_warm_up`], then runs to `horizon`.
    pub fn run<M: Model<Event = E>>(
        &mut self,
        model: &mut M,
        warm_up: SimTime,
        horizon: SimTime,
    ) -> u64 {
        let warm_up = warm_up.min(horizon);
        let mut n = self.run_until(model, warm_up);
        model.end_warm_up(self.now);
        n += self.run_until(model, horizon);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that logs every event it handles and re-schedules a few, SimPy-style.
    struct Log {
        log: Vec<(u64, &'static str)>,
        warmed: Option<u64>,
    }

    #[derive(Clone, Copy)]
    enum Ev {
        A,
        B,
        C,
    }

    impl Model for Log {
        type Event = Ev;
        fn handle(&mut self, ev: Ev, s: &mut Scheduler<Ev>) {
            let name = match ev {
                Ev::A => {
                    s.schedule_in(5, Ev::C);
                    "a"
                }
                Ev::B => "b",
                Ev::C => "c",
            };
            self.log.push((s.now().as_ns(), name));
        }
        fn end_warm_up(&mut self, now: SimTime) {
            self.warmed = Some(now.as_ns());
        }
    }

    #[test]
    fn same_time_events_run_fifo_and_run_stops_at_horizon() {
        let mut s = Scheduler::with_capacity(8);
        let mut m = Log {
            log: vec![],
            warmed: None,
        };
        s.schedule_at(SimTime::from_ns(10), Ev::B);
        s.schedule_at(SimTime::from_ns(10), Ev::A);
        s.schedule_at(SimTime::from_ns(10), Ev::B);
        s.schedule_at(SimTime::from_ns(100), Ev::A);
        let n = s.run(&mut m, SimTime::from_ns(12), SimTime::from_ns(99));
        assert_eq!(m.log, vec![(10, "b"), (10, "a"), (10, "b"), (15, "c")]);
        assert_eq!(n, 4);
        assert_eq!(m.warmed, Some(12));
        assert_eq!(s.now().as_ns(), 99);
        assert_eq!(s.pending(), 1);
    }
}
