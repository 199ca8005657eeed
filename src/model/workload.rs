//! Samplers for the workload's and the nodes' random quantities, resolved from config
//! distributions into nanoseconds / counts once, so drawing is a match and a few flops.

use crate::kernel::rng::geometric_ln_q;
use crate::kernel::Stream;
use crate::scenario::config::{CountDist, TimeDist};
use rand::{RngCore, SeedableRng};

/// A duration distribution \[ns\].
#[derive(Debug, Clone, Copy)]
pub enum TimeSampler {
    /// Exponential, capped.
    Exponential {
        /// Mean \[ns\].
        mean: f64,
        /// Largest value.
        cap: Cap,
    },
    /// Constant \[ns\].
    Fixed(u64),
    /// Lognormal, capped.
    Lognormal {
        /// Mean \[ns\].
        mean: f64,
        /// Coefficient of variation (std / mean).
        cv: f64,
        /// Largest value.
        cap: Cap,
    },
    /// Weibull.
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale λ \[ns\].
        scale: f64,
    },
}

/// A sampler's largest value, with its `f64` form computed once (a `u64` → `f64` conversion
/// is several instructions on x86-64 before AVX-512, and the cap is compared at every draw).
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// Largest value \[ns\].
    ns: u64,
    /// `ns as f64` \[ns\].
    f: f64,
}

impl Cap {
    /// No cap (`u64::MAX` ns).
    const NONE: Cap = Cap::new(u64::MAX);

    const fn new(ns: u64) -> Cap {
        Cap { ns, f: ns as f64 }
    }

    /// A draw `x` \[ns\] as whole nanoseconds: `x` truncated, or the cap when `x` reaches it.
    #[inline(always)]
    fn apply(self, x: f64) -> u64 {
        if x >= self.f {
            self.ns
        } else if x < 9_223_372_036_854_775_808.0 {
            // below 2^63 the signed conversion is one instruction
            x as i64 as u64
        } else {
            x as u64
        }
    }
}

impl TimeSampler {
    /// From a config distribution.
    pub fn new(d: &TimeDist) -> Self {
        let cap = |c: &Option<crate::scenario::units::Duration>| {
            Cap::new(c.map(|d| d.ns()).unwrap_or(u64::MAX))
        };
        match d {
            TimeDist::Exponential { mean, cap: c } => TimeSampler::Exponential {
                mean: mean.ns() as f64,
                cap: cap(c),
            },
            TimeDist::Fixed { value } => TimeSampler::Fixed(value.ns()),
            TimeDist::Lognormal { mean, cv, cap: c } => TimeSampler::Lognormal {
                mean: mean.ns() as f64,
                cv: *cv,
                cap: cap(c),
            },
            TimeDist::Weibull { shape, scale } => TimeSampler::Weibull {
                shape: *shape,
                scale: scale.ns() as f64,
            },
        }
    }

    /// One draw \[ns\]. Always consumes the same number of uniforms for a given variant (2 for
    /// lognormal, 1 otherwise, 0 for fixed), so streams stay aligned across scenarios.
    #[inline]
    pub fn sample<R: RngCore + SeedableRng<Seed = [u8; 32]>>(&self, s: &mut Stream<R>) -> u64 {
        match *self {
            TimeSampler::Exponential { mean, cap } => cap.apply(s.exponential(mean)),
            TimeSampler::Fixed(v) => v,
            TimeSampler::Lognormal { mean, cv, cap } => {
                if cv == 0.0 {
                    let _ = s.std_normal();
                    cap.apply(mean)
                } else {
                    cap.apply(s.lognormal_mean_cv(mean, cv))
                }
            }
            TimeSampler::Weibull { shape, scale } => Cap::NONE.apply(s.weibull(shape, scale)),
        }
    }

    /// The distribution's mean \[ns\] (before capping), for estimates.
    pub fn mean_ns(&self) -> f64 {
        match *self {
            TimeSampler::Exponential { mean, .. } | TimeSampler::Lognormal { mean, .. } => mean,
            TimeSampler::Fixed(v) => v as f64,
            TimeSampler::Weibull { shape, scale } => scale * libm::tgamma(1.0 + 1.0 / shape),
        }
    }
}

/// A count distribution on {1, 2, …}.
#[derive(Debug, Clone, Copy)]
pub enum CountSampler {
    /// Geometric with mean > 1, by its `ln q` ([`geometric_ln_q`]).
    Geometric {
        /// ln(1 - 1/mean).
        ln_q: f64,
    },
    /// Constant.
    Fixed(u64),
    /// Lognormal (mean, cv), rounded, at least 1.
    Lognormal(f64, f64),
}

impl CountSampler {
    /// From a config distribution.
    pub fn new(d: &CountDist) -> Self {
        match *d {
            // a mean ≤ 1 is the constant 1 (no draw)
            CountDist::Geometric { mean } if mean <= 1.0 => CountSampler::Fixed(1),
            CountDist::Geometric { mean } => CountSampler::Geometric {
                ln_q: geometric_ln_q(mean),
            },
            CountDist::Fixed { value } => CountSampler::Fixed(value),
            CountDist::Lognormal { mean, cv } => CountSampler::Lognormal(mean, cv),
        }
    }

    /// One draw (≥ 1, at most u32::MAX).
    #[inline]
    pub fn sample<R: RngCore + SeedableRng<Seed = [u8; 32]>>(&self, s: &mut Stream<R>) -> u32 {
        let n = match *self {
            CountSampler::Geometric { ln_q } => s.geometric(ln_q),
            CountSampler::Fixed(v) => v,
            CountSampler::Lognormal(m, cv) => {
                libm::round(s.lognormal_mean_cv(m, cv.max(1e-12))) as u64
            }
        };
        n.clamp(1, u32::MAX as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{EntityStream, StreamKey};

    fn stream() -> EntityStream {
        EntityStream::new(&StreamKey {
            master: 3,
            point: 0,
            replication: 0,
            purpose: "workload.test",
            entity: 0,
        })
    }

    /// A geometric count is `1 + ⌊ln u / ln(1 - 1/mean)⌋` of one uniform u on (0, 1], draw by
    /// draw; a mean ≤ 1 gives 1 without drawing, so the stream stays where it was.
    #[test]
    fn geometric_counts_invert_one_uniform() {
        let g = CountSampler::new(&CountDist::Geometric { mean: 10.0 });
        let (mut s, mut t) = (stream(), stream());
        for _ in 0..10_000 {
            let u = t.uniform_open0();
            let want = 1 + libm::floor(libm::log(u) / libm::log(1.0 - 1.0 / 10.0)) as u32;
            assert_eq!(g.sample(&mut s), want);
        }
        let one = CountSampler::new(&CountDist::Geometric { mean: 1.0 });
        assert_eq!(one.sample(&mut s), 1);
        assert_eq!(s.next_u64(), t.next_u64());
    }
}
