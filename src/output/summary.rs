//! Summaries over replications: mean, sample standard deviation and the Student-t 95%
//! confidence interval of the mean (statrs).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Summary of one metric at one design point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values (replications where the metric applies).
    pub n: usize,
    /// Mean (NaN when n = 0).
    pub mean: f64,
    /// Sample standard deviation (NaN when n < 2).
    pub std: f64,
    /// Lower end of the 95% interval (NaN when n < 2).
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
}

impl Summary {
    /// Summarises `xs` (NaNs already removed).
    pub fn of(xs: &[f64]) -> Summary {
        let n = xs.len();
        if n == 0 {
            return Summary {
                n,
                mean: f64::NAN,
                std: f64::NAN,
                ci95_low: f64::NAN,
                ci95_high: f64::NAN,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Summary {
                n,
                mean,
                std: f64::NAN,
                ci95_low: f64::NAN,
                ci95_high: f64::NAN,
            };
        }
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .expect("n ≥ 2")
            .inverse_cdf(0.975);
        let half = t * std / (n as f64).sqrt();
        Summary {
            n,
            mean,
            std,
            ci95_low: mean - half,
            ci95_high: mean + half,
        }
    }

    /// Half-width of the 95% interval.
    pub fn half_width(&self) -> f64 {
        (self.ci95_high - self.ci95_low) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn student_t_interval_matches_tables() {
        // n = 5: t(0.975, 4) = 2.776445
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.mean, 3.0);
        assert!((s.std - 1.5811388).abs() < 1e-6);
        assert!((s.half_width() - 2.776445 * 1.5811388 / 5f64.sqrt()).abs() < 1e-5);
        assert!(Summary::of(&[2.0]).ci95_low.is_nan());
        assert_eq!(Summary::of(&[]).n, 0);
    }
}
