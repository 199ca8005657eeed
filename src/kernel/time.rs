//! Simulated time: an integer count of nanoseconds since the start of a run.

use std::fmt;

/// Simulated time in nanoseconds since the start of the run (u64: ~584 years of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

/// Nanoseconds per second.
pub const NS_PER_S: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;

impl SimTime {
    /// Time zero.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// From nanoseconds.
    #[inline]
    pub const fn from_ns(ns: u64) -> Self {
        SimTime(ns)
    }
    /// From whole seconds.
    #[inline]
    pub const fn from_s(s: u64) -> Self {
        SimTime(s * NS_PER_S)
    }
    /// Nanoseconds since the start.
    #[inline]
    pub const fn as_ns(self) -> u64 {
        self.0
    }
    /// Whole seconds since the start, rounded down (nginx's `ngx_time()` resolution).
    #[inline]
    pub const fn whole_s(self) -> u64 {
        self.0 / NS_PER_S
    }
    /// Seconds since the start as f64 (for reporting only, never for ordering).
    #[inline]
    pub fn as_s_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
    /// `self + ns`, saturating at [`SimTime::MAX`].
    #[inline]
    pub const fn plus_ns(self, ns: u64) -> Self {
        SimTime(self.0.saturating_add(ns))
    }
    /// `self - earlier` in nanoseconds (0 if `earlier` is later).
    #[inline]
    pub const fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}s", self.0 / NS_PER_S, self.0 % NS_PER_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn conversions() {
        let t = SimTime::from_s(3).plus_ns(1_500);
        assert_eq!(t.whole_s(), 3);
        assert_eq!(t.to_string(), "3.000001500s");
        assert_eq!(t.since(SimTime::from_s(4)), 0);
        assert_eq!(SimTime::MAX.plus_ns(5), SimTime::MAX);
    }
}
