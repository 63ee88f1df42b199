//! Small, exact statistics over integer samples: percentiles by nearest rank and Jain's fairness index.

/// The nearest-rank percentile (`p` in 0..=100) of `sorted`, which must be sorted ascending.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = libm::ceil(p / 100.0 * sorted.len() as f64).max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Jain's fairness index: 1 when every share is equal, 1/n when one takes everything.
pub fn jain_index(shares: &[u64]) -> Option<f64> {
    let n = shares.len() as f64;
    let sum: f64 = shares.iter().map(|&x| x as f64).sum();
    let sum_sq: f64 = shares.iter().map(|&x| (x as f64) * (x as f64)).sum();
    if shares.is_empty() || sum_sq == 0.0 { None } else { Some(sum * sum / (n * sum_sq)) }
}

pub fn mean(samples: &[u64]) -> Option<f64> {
    if samples.is_empty() { None } else { Some(samples.iter().map(|&x| x as f64).sum::<f64>() / samples.len() as f64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&xs, 50.0), Some(50));
        assert_eq!(percentile(&xs, 99.0), Some(99));
        assert_eq!(percentile(&xs, 100.0), Some(100));
        assert_eq!(percentile(&xs, 0.0), Some(1));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn jain_index_bounds() {
        assert_eq!(jain_index(&[5, 5, 5, 5]), Some(1.0));
        assert_eq!(jain_index(&[8, 0, 0, 0]), Some(0.25));
        assert_eq!(jain_index(&[0, 0]), None);
    }
}
