//! The one random generator of the simulation: ChaCha8, seeded, with float maths from `libm` so that native and
//! wasm32 draw bit-identical numbers (the platform `ln` may differ in the last place between targets).

use crate::time::Nanos;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// A seeded generator; `stream` separates independent sequences drawn from one seed (one per process, say).
#[derive(Debug, Clone)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        SimRng(rng)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n); n = 0 gives 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.next_u64() % n }
    }
}

/// How a duration with a given mean is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Always the mean.
    Constant,
    /// Uniform between 0 and twice the mean.
    Uniform,
    /// Exponential with the given mean (memoryless arrivals).
    Exponential,
}

impl Distribution {
    pub fn sample(self, mean: Nanos, rng: &mut SimRng) -> Nanos {
        let mean_ns = mean.0 as f64;
        let drawn = match self {
            Distribution::Constant => mean_ns,
            Distribution::Uniform => 2.0 * mean_ns * rng.unit(),
            // 1 - u is in (0, 1], so the logarithm is finite.
            Distribution::Exponential => -mean_ns * libm::log(1.0 - rng.unit()),
        };
        // Cap at 20× the mean so one unlucky draw cannot stall a bounded run.
        Nanos(libm::round(drawn.min(20.0 * mean_ns)) as u64)
    }
}

impl crate::params::ChoiceEnum for Distribution {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("constant", Distribution::Constant),
        ("uniform", Distribution::Uniform),
        ("exponential", Distribution::Exponential),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_give_the_same_numbers() {
        let mut a = SimRng::new(7, 3);
        let mut b = SimRng::new(7, 3);
        let mut c = SimRng::new(7, 4);
        let xs: Vec<f64> = (0..8).map(|_| a.unit()).collect();
        let ys: Vec<f64> = (0..8).map(|_| b.unit()).collect();
        let zs: Vec<f64> = (0..8).map(|_| c.unit()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn distributions_have_the_mean_they_promise() {
        let mean = Nanos::from_micros(100);
        for dist in [Distribution::Constant, Distribution::Uniform, Distribution::Exponential] {
            let mut rng = SimRng::new(1, 0);
            let n = 20_000;
            let total: u64 = (0..n).map(|_| dist.sample(mean, &mut rng).0).sum();
            let got = total as f64 / n as f64;
            assert!((got / mean.0 as f64 - 1.0).abs() < 0.05, "{dist:?}: mean {got}");
        }
    }
}
