//! Statistics: counters, tallies (mean, quantiles) and time-weighted gauges, each with
//! warm-up deletion through `reset`.
//!
//! Quantiles come from a log-linear [`Histogram`] (64 sub-buckets per power of two), so memory is
//! fixed (32 KiB per histogram) and a quantile's relative error is below 1/64 ≈ 1.6%; means are
//! exact (sums of the raw values).

use super::SimTime;

/// A count of occurrences.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter(pub u64);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&mut self) {
        self.0 += 1;
    }
    /// Adds `n`.
    #[inline]
    pub fn add(&mut self, n: u64) {
        self.0 += n;
    }
    /// Back to zero (warm-up deletion).
    pub fn reset(&mut self) {
        self.0 = 0;
    }
}

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of non-negative integer values (e.g. nanoseconds).
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    n: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            n: 0,
        }
    }
}

impl Histogram {
    #[inline]
    fn index(v: u64) -> usize {
        if v < SUB as u64 {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros(); // >= SUB_BITS
        let shift = msb - SUB_BITS;
        let mantissa = (v >> shift) as usize & (SUB - 1);
        ((shift as usize + 1) << SUB_BITS) | mantissa
    }

    /// Lower bound and width of bucket `i`.
    fn bounds(i: usize) -> (u64, u64) {
        if i < SUB {
            return (i as u64, 1);
        }
        let shift = (i >> SUB_BITS) as u32 - 1;
        let mantissa = (i & (SUB - 1)) as u64;
        (((SUB as u64) | mantissa) << shift, 1u64 << shift)
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.n += 1;
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) as the midpoint of the bucket holding the value of rank
    /// ⌈q·n⌉; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, w) = Self::bounds(i);
                return Some(lo as f64 + (w as f64 - 1.0) / 2.0);
            }
        }
        None
    }

    /// Empties the histogram.
    pub fn reset(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.n = 0;
    }
}

/// Observations of one quantity: count, exact mean and variance, min, max and quantiles.
#[derive(Clone, Default)]
pub struct Tally {
    n: u64,
    sum: f64,
    sum_sq: f64,
    max: u64,
    hist: Histogram,
}

impl Tally {
    /// Records one observation (integer units, e.g. nanoseconds).
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.n += 1;
        let x = v as f64;
        self.sum += x;
        self.sum_sq += x * x;
        self.max = self.max.max(v);
        self.hist.record(v);
    }
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Exact mean, `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
    /// Sample standard deviation, `None` with fewer than two observations.
    pub fn std_dev(&self) -> Option<f64> {
        (self.n > 1).then(|| {
            let m = self.sum / self.n as f64;
            ((self.sum_sq - self.n as f64 * m * m) / (self.n - 1) as f64)
                .max(0.0)
                .sqrt()
        })
    }
    /// Largest observation (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }
    /// The `q`-quantile (histogram-based, relative error < 1.6%).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.hist.quantile(q)
    }
    /// Forgets everything (warm-up deletion).
    pub fn reset(&mut self) {
        let hist = std::mem::take(&mut self.hist);
        *self = Tally {
            hist,
            ..Default::default()
        };
        self.hist.reset();
    }
}

/// A piecewise-constant count averaged over time (e.g. sessions in memory). The area under it
/// is kept exactly (count × ns in a `u128`), so the mean does not depend on how often the value
/// is set, and setting an unchanged value costs one comparison.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeWeighted {
    value: u64,
    since: SimTime,
    start: SimTime,
    /// Integral of the value over [start, since] \[count·ns\].
    area: u128,
    max: u64,
}

impl TimeWeighted {
    /// Sets the value from time `now` on (`now` ≥ the last time set).
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        if value != self.value {
            self.area += self.value as u128 * now.since(self.since) as u128;
            self.since = now;
            self.value = value;
            self.max = self.max.max(value);
        }
    }
    /// The current value.
    pub fn value(&self) -> u64 {
        self.value
    }
    /// The largest value since the last reset.
    pub fn max(&self) -> u64 {
        self.max
    }
    /// Time average over [last reset, `now`]; the current value if no time has passed.
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.since(self.start);
        if span == 0 {
            return self.value as f64;
        }
        (self.area + self.value as u128 * now.since(self.since) as u128) as f64 / span as f64
    }
    /// Restarts averaging at `now`, keeping the current value (warm-up deletion).
    pub fn reset(&mut self, now: SimTime) {
        *self = TimeWeighted {
            value: self.value,
            since: now,
            start: now,
            area: 0,
            max: self.value,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_within_relative_error() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        for (q, exact) in [
            (0.5, 50_000_000.0),
            (0.99, 99_000_000.0),
            (1.0, 100_000_000.0),
        ] {
            let got = h.quantile(q).unwrap();
            assert!(
                ((got - exact) / exact).abs() < 1.0 / 64.0,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
        let mut small = Histogram::default();
        small.record(3);
        assert_eq!(small.quantile(0.5), Some(3.0));
        // every bucket's bounds contain the values that map to it
        for v in [0u64, 63, 64, 65, 127, 128, 1 << 40, u64::MAX] {
            let (lo, w) = Histogram::bounds(Histogram::index(v));
            assert!(v >= lo && v - lo < w, "{v}");
        }
    }

    #[test]
    fn tally_and_time_weighted() {
        let mut t = Tally::default();
        for v in [2u64, 4, 4, 4, 5, 5, 7, 9] {
            t.record(v);
        }
        assert_eq!(t.mean(), Some(5.0));
        assert!((t.std_dev().unwrap() - 2.138089935).abs() < 1e-6);
        t.reset();
        assert_eq!(t.count(), 0);
        assert_eq!(t.mean(), None);

        let mut g = TimeWeighted::default();
        g.set(SimTime::from_s(0), 2);
        g.set(SimTime::from_s(10), 4);
        g.set(SimTime::from_s(15), 4);
        assert_eq!(g.mean(SimTime::from_s(20)), 3.0);
        assert_eq!(g.max(), 4);
        g.reset(SimTime::from_s(20));
        assert_eq!(g.mean(SimTime::from_s(30)), 4.0);
        g.set(SimTime::from_s(30), 0);
        assert_eq!(g.mean(SimTime::from_s(40)), 2.0);
    }
}
