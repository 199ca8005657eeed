//! Named, seeded random-number streams.
//!
//! Every random draw in a run comes from a [`Stream`] (ChaCha8, portable and reproducible) whose
//! seed is derived from a [`StreamKey`] — (master seed, design-point key, replication, purpose,
//! entity) — by [`stream_seed`], a fixed function (FNV-1a over the purpose name, then SplitMix64
//! finalisation of each component). One stream per purpose and entity means an extra draw in one
//! place never shifts another's numbers, and the workload streams are common to every balancer
//! and strategy at a design point (common random numbers).
//!
//! Two generators, one seeding rule: [`Stream`] is ChaCha8 (`rand_chacha`), for the few streams
//! of singletons and nodes; [`EntityStream`] is xoshiro256++ (`rand_xoshiro`, Blackman & Vigna
//! 2019), for the streams that exist per client. A ChaCha8 stream carries a 256-byte block
//! buffer, and every client has two streams, which alone would exceed the memory budget of
//! 256 bytes per concurrent session (issue 7) and cost a cache miss per draw at 100k clients;
//! xoshiro256++ keeps 32 bytes of state, passes BigCrush, and is seeded from the same 32-byte
//! [`stream_seed`]. Both are portable and reproducible.
//!
//! Transcendental functions use `libm`, so variates are bit-identical across platforms.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Identifies one stream.
#[derive(Debug, Clone, Copy)]
pub struct StreamKey<'a> {
    /// The experiment's master seed.
    pub master: u64,
    /// A 64-bit key of the design point's workload coordinates (0 when nothing is swept).
    pub point: u64,
    /// Replication index.
    pub replication: u64,
    /// What the numbers are for, e.g. `"client.think_time"`.
    pub purpose: &'a str,
    /// Entity index (client, node…), 0 for singletons.
    pub entity: u64,
}

#[inline]
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a 64-bit hash of `bytes` (stable, specified; used for names and labels).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 32-byte ChaCha seed of a stream: four chained SplitMix64 words over the key's components.
pub fn stream_seed(key: &StreamKey<'_>) -> [u8; 32] {
    let mut h = splitmix64(key.master);
    for part in [
        key.point,
        key.replication,
        fnv1a64(key.purpose.as_bytes()),
        key.entity,
    ] {
        h = splitmix64(h ^ part);
    }
    let mut seed = [0u8; 32];
    let mut w = h;
    for chunk in seed.chunks_mut(8) {
        w = splitmix64(w);
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    seed
}

include!("zig_gen.rs");

/// Layer edges `x` (decreasing, `x[256] = 0`) and the density there `f = exp(-x)`.
struct ZigTables {
    x: [f64; 257],
    f: [f64; 257],
}

/// The exponential ziggurat tables, computed by `build.rs` with `zig_exp_tables` (`zig_gen.rs`)
/// and compiled in as constants: a draw reads them at a fixed address, with no run-time
/// initialisation check (a `OnceLock` cost about 8 instructions per draw).
static ZIG_EXP: ZigTables = include!(concat!(env!("OUT_DIR"), "/zig_exp.rs"));

/// One random-number stream with the variates the models need, over generator `R` (ChaCha8 by
/// default; see [`EntityStream`]).
#[derive(Clone)]
pub struct Stream<R = ChaCha8Rng>(R);

/// A stream of a per-client entity: xoshiro256++, 32 bytes of state (see the module doc).
pub type EntityStream = Stream<Xoshiro256PlusPlus>;

impl<R: RngCore + SeedableRng<Seed = [u8; 32]>> Stream<R> {
    /// The stream named by `key`.
    pub fn new(key: &StreamKey<'_>) -> Self {
        Stream(R::from_seed(stream_seed(key)))
    }

    /// A uniform `u64`.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform on [0, 1) with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on (0, 1]: safe for `ln`.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// True with probability `p`.
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// Uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift with rejection.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.0.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Exponential with the given mean, by the ziggurat method (Marsaglia & Tsang 2000, "The
    /// ziggurat method for generating random variables", J. Stat. Softw. 5(8); 256 layers, the
    /// variant of `rand_distr` 0.4 `Exp1`): one `u64` per draw in ~98.9% of cases, no logarithm.
    /// Its tables are computed with `libm`, so draws stay bit-identical across platforms.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        mean * self.exp1()
    }

    /// Standard exponential (mean 1), ziggurat.
    #[inline]
    pub fn exp1(&mut self) -> f64 {
        let t = &ZIG_EXP;
        loop {
            let bits = self.0.next_u64();
            let i = (bits & 0xff) as usize;
            // 52 high bits → (0, 1)
            let u = ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64);
            let x = u * t.x[i];
            if x < t.x[i + 1] {
                return x;
            }
            if i == 0 {
                // the tail beyond R is R + a standard exponential (memorylessness)
                return ZIG_EXP_R - libm::log(self.uniform_open0());
            }
            if t.f[i + 1] + (t.f[i] - t.f[i + 1]) * self.uniform() < libm::exp(-x) {
                return x;
            }
        }
    }

    /// Standard normal (Box–Muller, one value per call; the pair's sine half is dropped so that
    /// one call is always exactly two uniforms).
    #[inline]
    pub fn std_normal(&mut self) -> f64 {
        let u1 = self.uniform_open0();
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// Lognormal with the given mean and coefficient of variation (std / mean).
    #[inline]
    pub fn lognormal_mean_cv(&mut self, mean: f64, cv: f64) -> f64 {
        let sigma2 = libm::log(1.0 + cv * cv);
        let mu = libm::log(mean) - sigma2 / 2.0;
        libm::exp(mu + libm::sqrt(sigma2) * self.std_normal())
    }

    /// Weibull with shape `k` and scale `lambda`.
    #[inline]
    pub fn weibull(&mut self, shape: f64, scale: f64) -> f64 {
        scale * libm::pow(-libm::log(self.uniform_open0()), 1.0 / shape)
    }

    /// Geometric on {1, 2, …}: P(X = k) = q^(k-1) (1-q), by inversion of one uniform, given
    /// `ln_q` = ln q from [`geometric_ln_q`] (computed once per law: a logarithm per draw
    /// saved). With q = 1 - 1/mean the mean is `mean`.
    #[inline]
    pub fn geometric(&mut self, ln_q: f64) -> u64 {
        let u = self.uniform_open0();
        1 + libm::floor(libm::log(u) / ln_q) as u64
    }
}

/// `ln(1 - 1/mean)`: the parameter of [`Stream::geometric`] for the geometric law on {1, 2, …}
/// with mean `mean` (> 1; a mean ≤ 1 is the constant 1, which needs no draw).
pub fn geometric_ln_q(mean: f64) -> f64 {
    libm::log(1.0 - 1.0 / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str, entity: u64) -> StreamKey<'_> {
        StreamKey {
            master: 42,
            point: 0,
            replication: 0,
            purpose,
            entity,
        }
    }

    #[test]
    fn seeds_are_stable_and_distinct() {
        // A golden value: changing stream_seed changes every published result.
        let s = stream_seed(&key("client.think_time", 3));
        assert_eq!(&s[..8], &stream_seed(&key("client.think_time", 3))[..8]);
        assert_ne!(s, stream_seed(&key("client.think_time", 4)));
        assert_ne!(s, stream_seed(&key("client.think_tim", 3)));
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn variates_have_the_right_means() {
        let mut s: Stream = Stream::new(&key("t", 0));
        let n = 200_000;
        let m = (0..n).map(|_| s.exponential(7.0)).sum::<f64>() / n as f64;
        assert!((m - 7.0).abs() < 0.1, "{m}");
        let ln_q5 = geometric_ln_q(5.0);
        let g = (0..n).map(|_| s.geometric(ln_q5) as f64).sum::<f64>() / n as f64;
        assert!((g - 5.0).abs() < 0.05, "{g}");
        let l = (0..n).map(|_| s.lognormal_mean_cv(3.0, 1.0)).sum::<f64>() / n as f64;
        assert!((l - 3.0).abs() < 0.08, "{l}");
        // Weibull shape 1 = exponential with mean = scale
        let w = (0..n).map(|_| s.weibull(1.0, 2.0)).sum::<f64>() / n as f64;
        assert!((w - 2.0).abs() < 0.05, "{w}");
        let b = (0..n).filter(|_| s.below(3) == 2).count() as f64 / n as f64;
        assert!((b - 1.0 / 3.0).abs() < 0.01, "{b}");
        let mut e = EntityStream::new(&key("t", 0));
        let m = (0..n).map(|_| e.exponential(7.0)).sum::<f64>() / n as f64;
        assert!((m - 7.0).abs() < 0.1, "{m}");
        let u = (0..n).map(|_| e.uniform()).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005, "{u}");
    }

    #[test]
    fn ziggurat_tables_match_the_published_ones() {
        // rand_distr 0.4.3 ziggurat_tables.rs ZIG_EXP_X / ZIG_EXP_F
        let t = &ZIG_EXP;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
        assert!(close(t.x[0], 8.697_117_470_131_053), "{}", t.x[0]);
        assert!(close(t.x[2], 6.941_033_629_377_213), "{}", t.x[2]);
        assert!(close(t.x[11], 4.938_777_085_901_250_5), "{}", t.x[11]);
        assert!(close(t.f[1], 0.000454134353841497), "{}", t.f[1]);
        assert!(close(t.f[7], 0.004157295120833797), "{}", t.f[7]);
        assert!(t.x[255] > 0.0 && t.x[255] < t.x[254] && t.f[256] == 1.0);
    }

    /// The tables `build.rs` compiled in are the generator's, bit for bit (so draws, and
    /// results, are those of tables computed at run time).
    #[test]
    fn compiled_ziggurat_tables_are_the_generators() {
        let (x, f) = zig_exp_tables();
        let bits = |v: &[f64; 257]| v.map(f64::to_bits);
        assert_eq!(bits(&ZIG_EXP.x), bits(&x));
        assert_eq!(bits(&ZIG_EXP.f), bits(&f));
    }

    /// The ziggurat exponential against its closed form: mean, variance, a Kolmogorov–Smirnov
    /// statistic over 10^6 draws, and the tail beyond the base layer.
    #[test]
    fn exponential_variates_follow_the_exponential_law() {
        let mut s: Stream = Stream::new(&key("zig", 0));
        let n = 1_000_000;
        let mut v: Vec<f64> = (0..n).map(|_| s.exp1()).collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.005, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
        let tail = v.iter().filter(|&&x| x > ZIG_EXP_R).count() as f64 / n as f64;
        let p = (-ZIG_EXP_R).exp(); // 4.5e-4: ~450 expected
        assert!(
            (tail - p).abs() < 5.0 * (p / n as f64).sqrt(),
            "{tail} vs {p}"
        );
        v.sort_by(f64::total_cmp);
        let d = v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = 1.0 - (-x).exp();
                (c - i as f64 / n as f64)
                    .abs()
                    .max(((i + 1) as f64 / n as f64 - c).abs())
            })
            .fold(0.0, f64::max);
        // KS critical value at alpha = 0.001: 1.95 / sqrt(n)
        assert!(d < 1.95 / (n as f64).sqrt(), "KS D = {d}");
    }

    #[test]
    fn an_entity_stream_is_small() {
        assert!(std::mem::size_of::<EntityStream>() <= 32);
    }
}
