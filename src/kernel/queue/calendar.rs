//! A calendar queue with bucket-width re-estimation and resizing.
//!
//! Source: R. Brown, "Calendar queues: a fast O(1) priority queue implementation for the
//! simulation event set problem", CACM 31(10), 1988. Time is cut into "days" of one bucket width
//! `w`; day `d` covers `[d·w, (d+1)·w)` and lives in bucket `d mod nb`, so a bucket holds the
//! events of one day of every "year" (`nb` days), sorted. Pop takes the earliest event of the
//! current day's bucket if it belongs to the current day, otherwise moves on to the next day; after
//! a whole year without an event it finds the minimum by a direct search over the buckets.
//!
//! As in Brown's paper, the number of buckets doubles when the queue holds more than two events per
//! bucket and halves below half an event per bucket, and every resize re-estimates the width as
//! three times the average separation of the (up to) 25 earliest events, after discarding the
//! separations more than twice the average. Brown re-estimates only on a resize, so a queue whose
//! size stays put keeps the width estimated while it grew even if the event density changes; as in
//! the dynamic calendar queue (S. Oh, J. Ahn, "Dynamic calendar queue", Proc. 32nd Annual
//! Simulation Symposium, 1999), the queue also counts the work per operation (days skipped by
//! pops, entries passed by inserts) and, when the average over a window of `nb` operations gets
//! large (or as soon as the window's budget is spent), re-estimates the width as three times the
//! mean separation of the events popped during the window; a width off by 4× or more from that
//! estimate is also corrected at the end of a window. That is the quantity Brown's sample
//! estimates, measured over many events: a 25-event sample taken while the front of the queue is
//! a burst of same-time or closely spaced events gives a width far too small for the bulk, and
//! pops then scan empty days or search the whole calendar (seen in the hold benchmark's start).
//!
//! Differences from the paper: the width is a power of two (bucket = `(t >> shift) mod nb` with
//! `nb` a power of two: integer, exact, no division), and buckets are vectors sorted by
//! decreasing time, popped from the back. A new event goes before (further from the back than)
//! the events at the same time already in its bucket, and a resize re-inserts each bucket's events
//! earliest first, so events at the same time pop first-in-first-out without a sequence number.
//!
//! The earliest pending time and its day are kept up to date (a pop locates the next event, and
//! a push earlier than it moves the cursor back), so `peek_time` is O(1). No allocation per event
//! in steady state: bucket vectors keep their capacity; only a resize allocates.

use super::FutureEventList;
use crate::kernel::SimTime;

/// One pending event.
#[derive(Clone, Copy)]
struct Entry<E> {
    time: u64,
    event: E,
}

/// Fewest buckets (the calendar never shrinks below this).
const MIN_BUCKETS: usize = 8;
/// Most events sampled from the front of the queue to estimate the width (Brown: 25).
const SAMPLE: usize = 25;
/// Average work per operation (days skipped + entries passed) above which the width is
/// re-estimated.
const MAX_COST: usize = 6;

/// A future-event list stored as a calendar queue (Brown 1988) keyed by time \[ns\], first-in-
/// first-out among events at the same time: O(1) expected push, pop and peek when the bucket
/// width fits the event density (kept so by re-estimation).
pub struct CalendarQueue<E> {
    /// `buckets[d mod nb]` holds the events of day `d` of every year, by decreasing time (equal
    /// times: latest pushed first), so the bucket's earliest event is at the back.
    buckets: Vec<Vec<Entry<E>>>,
    /// log2 of the bucket width \[ns\].
    shift: u32,
    len: usize,
    /// Earliest pending time \[ns\] (meaningful when `len > 0`).
    min: u64,
    /// `min >> shift`: the current day (meaningful when `len > 0`).
    day: u64,
    /// Time of the last popped event \[ns\] (for the monotonicity check).
    last: u64,
    /// Operations, work, pops since the last width check, and the last popped time \[ns\] when
    /// it started.
    ops: usize,
    cost: usize,
    window_pops: usize,
    window_start: u64,
    /// Reused buffers for resizes.
    scratch: Vec<Entry<E>>,
    sample: Vec<u64>,
}

impl<E: Copy> CalendarQueue<E> {
    #[inline(always)]
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// Inserts `x` into its bucket before the entries at the same time; returns the number of
    /// entries passed (the work).
    #[inline(always)]
    fn insert(&mut self, x: Entry<E>) -> usize {
        let b = (x.time >> self.shift) as usize & self.mask();
        let bucket = &mut self.buckets[b];
        // buckets are short: a linear scan from the back (earliest) end
        let mut pos = bucket.len();
        while pos > 0 && bucket[pos - 1].time <= x.time {
            pos -= 1;
        }
        let passed = bucket.len() - pos;
        bucket.insert(pos, x);
        passed
    }

    /// Locates the earliest event after a pop (requires `len > 0`): scans the days from the
    /// current one for a year, then searches directly.
    fn find_next(&mut self) {
        let mask = self.mask();
        let start = self.day;
        // one year of days, not beyond the last representable day
        let end = start
            .saturating_add(mask as u64)
            .min(u64::MAX >> self.shift);
        for day in start..=end {
            if let Some(x) = self.buckets[day as usize & mask].last() {
                if x.time >> self.shift == day {
                    self.min = x.time;
                    self.day = day;
                    self.cost += (day - start) as usize;
                    return;
                }
            }
        }
        // a year without an event: direct search
        self.cost += self.buckets.len();
        self.min = self
            .buckets
            .iter()
            .filter_map(|b| b.last())
            .fold(u64::MAX, |m, x| m.min(x.time));
        self.day = self.min >> self.shift;
    }

    /// The width (as log2 \[ns\]) estimated from the earliest pending times (Brown's rule:
    /// three times the mean separation of the first ≤ 25, separations above twice the mean
    /// dropped), or the current one with fewer than two events.
    fn sampled_shift(&mut self) -> u32 {
        let sample = &mut self.sample;
        sample.clear();
        sample.extend(self.buckets.iter().flatten().map(|x| x.time));
        if sample.len() < 2 {
            return self.shift;
        }
        if sample.len() > SAMPLE {
            sample.select_nth_unstable(SAMPLE - 1);
            sample.truncate(SAMPLE);
        }
        sample.sort_unstable();
        let gaps = || sample.windows(2).map(|w| (w[1] - w[0]) as f64);
        let mean = gaps().sum::<f64>() / (sample.len() - 1) as f64;
        let (sum, n) = gaps()
            .filter(|&g| g <= 2.0 * mean)
            .fold((0.0, 0usize), |(s, n), g| (s + g, n + 1));
        shift_for(3.0 * if n > 0 { sum / n as f64 } else { mean })
    }

    /// Rebuilds the calendar with `nb` buckets (a power of two) of width `2^shift` ns.
    fn rebuild(&mut self, nb: usize, shift: u32) {
        self.shift = shift;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for b in &mut self.buckets {
            // earliest first, so same-time events are re-inserted in push order
            scratch.extend(b.drain(..).rev());
        }
        self.buckets.resize_with(nb, Vec::new);
        for &x in &scratch {
            self.insert(x);
        }
        scratch.clear();
        self.scratch = scratch;
        self.new_window();
        if self.len > 0 {
            self.day = self.min >> self.shift;
        }
    }

    /// Starts a new window of work accounting.
    fn new_window(&mut self) {
        self.ops = 0;
        self.cost = 0;
        self.window_pops = 0;
        self.window_start = self.last;
    }

    /// Counts one operation; every `nb` operations, or as soon as the work exceeds the budget of
    /// a whole window, re-estimates the width if the average work was high.
    #[inline(always)]
    fn tally(&mut self) {
        self.ops += 1;
        let nb = self.buckets.len();
        if self.ops >= nb || self.cost > MAX_COST * nb {
            self.check_width();
        }
    }

    /// Ends a window. The width is re-estimated as three times the mean separation of the events
    /// popped in the window (Brown's sample if fewer than two were); the calendar is rebuilt with
    /// it if the average work was high and the width changed, or if the width is off by a factor
    /// of 4 or more (the width chosen during a transient is refined in the steady state).
    #[inline(never)]
    fn check_width(&mut self) {
        let gap_shift = (self.window_pops >= 2).then(|| {
            let mean_gap = (self.last - self.window_start) as f64 / self.window_pops as f64;
            shift_for(3.0 * mean_gap)
        });
        let rebuild_to = if self.cost > MAX_COST * self.ops {
            Some(gap_shift.unwrap_or_else(|| self.sampled_shift()))
        } else {
            gap_shift.filter(|s| s.abs_diff(self.shift) >= 2)
        };
        match rebuild_to {
            Some(shift) if shift != self.shift => self.rebuild(self.buckets.len(), shift),
            _ => self.new_window(),
        }
    }
}

/// The power-of-two width nearest to `width` \[ns\] (geometrically), as its log2; at least 1 ns.
fn shift_for(width: f64) -> u32 {
    if width < 1.5 {
        0
    } else {
        (width.log2().round() as u32).min(63)
    }
}

impl<E: Copy> FutureEventList<E> for CalendarQueue<E> {
    fn with_capacity(capacity: usize) -> Self {
        CalendarQueue {
            buckets: (0..MIN_BUCKETS).map(|_| Vec::new()).collect(),
            shift: 10,
            len: 0,
            min: 0,
            day: 0,
            last: 0,
            ops: 0,
            cost: 0,
            window_pops: 0,
            window_start: 0,
            scratch: Vec::with_capacity(capacity),
            sample: Vec::new(),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn push(&mut self, time: SimTime, event: E) {
        let t = time.as_ns();
        assert!(t >= self.last, "event pushed before the last popped time");
        let passed = self.insert(Entry { time: t, event });
        self.cost += passed;
        if self.len == 0 || t < self.min {
            self.min = t;
            self.day = t >> self.shift;
        }
        self.len += 1;
        if self.len > 2 * self.buckets.len() {
            let shift = self.sampled_shift();
            self.rebuild(2 * self.buckets.len(), shift);
        } else {
            self.tally();
        }
    }

    #[inline]
    fn peek_time(&self) -> Option<SimTime> {
        (self.len > 0).then(|| SimTime::from_ns(self.min))
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.len == 0 {
            return None;
        }
        let b = self.day as usize & self.mask();
        let e = self.buckets[b]
            .pop()
            .expect("the current day's bucket holds the minimum");
        debug_assert_eq!(e.time, self.min);
        self.len -= 1;
        self.last = e.time;
        self.window_pops += 1;
        if self.len > 0 {
            self.find_next();
        }
        let nb = self.buckets.len();
        if nb > MIN_BUCKETS && self.len < nb / 2 {
            let shift = self.sampled_shift();
            self.rebuild(nb / 2, shift);
        } else {
            self.tally();
        }
        Some((SimTime::from_ns(e.time), e.event))
    }
}
