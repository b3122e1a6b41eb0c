//! Paired bootstrap resampling, as sacrebleu 2.x `--paired-bs` does it (after Koehn 2004 and
//! Moses' `bootstrap-hypothesis-difference-significance.pl`):
//!
//! * draw `samples` resamples of sentence indices with replacement, the same indices for
//!   both systems; score each resample from the summed sufficient statistics;
//! * mean and 95% CI of each system over the resamples (`estimate_ci`: sorted scores,
//!   `lower = s[n/40]`, `upper = s[n - n/40 - 1]`, CI = half their distance);
//! * p-value: `d_k = |sys_k - base_k|`, centred `d_k - mean(d)`, and
//!   `p = (#{centred > |sys - base|} + 1) / (samples + 1)`.
//!
//! The resample indices come from a bit-exact port of numpy's `default_rng(seed).choice`
//! ([`crate::numpy_rng`]), so with the same seed we draw sacrebleu's very resamples. (sacrebleu
//! keeps the statistics as float32, which rounds its precisions in the 7th digit; means and
//! CIs agree to ~1e-7, p-values exactly unless a resample sits on the threshold.)

use serde::Serialize;

use crate::numpy_rng::NumpyPcg64;

/// sacrebleu's default number of bootstrap resamples.
pub const DEFAULT_SAMPLES: usize = 1000;
/// sacrebleu's default `SACREBLEU_SEED`.
pub const DEFAULT_SEED: u64 = 12345;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapResult {
    pub baseline_score: f64,
    pub baseline_mean: f64,
    pub baseline_ci: f64,
    pub system_score: f64,
    pub system_mean: f64,
    pub system_ci: f64,
    /// Probability of a difference at least as large under the null hypothesis.
    pub p_value: f64,
    pub samples: usize,
    pub seed: u64,
}

/// sacrebleu `estimate_ci`: (mean, half width of the central 95% interval).
pub fn estimate_ci(scores: &[f64]) -> (f64, f64) {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let lower = n / 40;
    let upper = n - lower - 1;
    let mean = sorted.iter().sum::<f64>() / n as f64;
    (mean, 0.5 * (sorted[upper] - sorted[lower]))
}

/// Paired bootstrap over per-sentence sufficient statistics `S` of two systems scored
/// against the same references; `score` turns summed statistics into the metric.
pub fn paired_bootstrap<S, F>(
    baseline: &[S],
    system: &[S],
    score: F,
    samples: usize,
    seed: u64,
) -> BootstrapResult
where
    S: Copy + Default + std::ops::AddAssign,
    F: Fn(&S) -> f64,
{
    assert_eq!(
        baseline.len(),
        system.len(),
        "paired bootstrap needs aligned systems"
    );
    let total = |stats: &[S]| {
        let mut sum = S::default();
        for &s in stats {
            sum += s;
        }
        sum
    };
    let baseline_score = score(&total(baseline));
    let system_score = score(&total(system));
    let n = baseline.len();
    let mut rng = NumpyPcg64::new(seed);
    let mut baseline_scores = Vec::with_capacity(samples);
    let mut system_scores = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (mut b, mut s) = (S::default(), S::default());
        for _ in 0..n {
            let k = rng.below(n);
            b += baseline[k];
            s += system[k];
        }
        baseline_scores.push(score(&b));
        system_scores.push(score(&s));
    }
    let (baseline_mean, baseline_ci) = estimate_ci(&baseline_scores);
    let (system_mean, system_ci) = estimate_ci(&system_scores);
    let diffs: Vec<f64> = system_scores
        .iter()
        .zip(&baseline_scores)
        .map(|(s, b)| (s - b).abs())
        .collect();
    let mean_diff = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    let real_diff = (system_score - baseline_score).abs();
    let exceed = diffs.iter().filter(|&&d| d - mean_diff > real_diff).count();
    BootstrapResult {
        baseline_score,
        baseline_mean,
        baseline_ci,
        system_score,
        system_mean,
        system_ci,
        p_value: (exceed + 1) as f64 / (samples + 1) as f64,
        samples,
        seed,
    }
}

/// Running sum for sentence-averaged metrics (ROUGE-L).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MeanStat {
    pub sum: f64,
    pub count: usize,
}

impl MeanStat {
    pub fn one(value: f64) -> Self {
        Self {
            sum: value,
            count: 1,
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

impl std::ops::AddAssign for MeanStat {
    fn add_assign(&mut self, other: Self) {
        self.sum += other.sum;
        self.count += other.count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_indices_follow_sacrebleu() {
        // n = 80: lower index 2, upper index 77.
        let scores: Vec<f64> = (0..80).map(f64::from).collect();
        let (mean, ci) = estimate_ci(&scores);
        assert_eq!(mean, 39.5);
        assert_eq!(ci, 0.5 * (77.0 - 2.0));
    }

    #[test]
    fn equally_good_systems_are_not_significant() {
        // Same multiset of sentence scores, paired differently: equal corpus scores.
        let base: Vec<MeanStat> = (0..210).map(|i| MeanStat::one((i % 7) as f64)).collect();
        let other: Vec<MeanStat> = (0..210)
            .map(|i| MeanStat::one((3 * i % 7) as f64))
            .collect();
        let r = paired_bootstrap(&base, &other, MeanStat::mean, 500, 1);
        assert_eq!(r.baseline_score, r.system_score);
        assert!(r.p_value > 0.3, "{r:?}");
    }

    #[test]
    fn a_clearly_better_system_is_significant() {
        let base: Vec<MeanStat> = (0..300)
            .map(|i| MeanStat::one((i % 5) as f64 / 5.0))
            .collect();
        let better: Vec<MeanStat> = base.iter().map(|s| MeanStat::one(s.sum + 0.3)).collect();
        let r = paired_bootstrap(&base, &better, MeanStat::mean, 500, 7);
        assert!(r.p_value < 0.01, "{r:?}");
        assert!(r.system_mean > r.baseline_mean);
    }
}
