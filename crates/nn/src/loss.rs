//! Label-smoothed cross-entropy (Szegedy et al. 2016) with padding positions excluded.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Token-level loss of one batch.
#[derive(Debug, Clone)]
pub struct TokenLoss {
    /// Scalar [1]: smoothed loss summed over non-padding tokens, divided by their count.
    pub mean: Tensor<1>,
    /// Scalar [1]: un-smoothed negative log-likelihood summed over non-padding tokens
    /// (for perplexity; detached from nothing — callers read it as a number).
    pub nll_sum: Tensor<1>,
    /// Number of non-padding target tokens.
    pub tokens: usize,
}

/// logits [B, T, V], targets [B, T] -> loss averaged over targets != `pad_id`.
///
/// Smoothing follows fairseq: the target gets `1 - ε` and `ε` is spread uniformly over the
/// whole vocabulary, so `loss = (1 - ε)·nll + ε·mean_v(-log p_v)`.
pub fn label_smoothed_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    pad_id: u32,
    epsilon: f64,
) -> TokenLoss {
    let [b, t, v] = logits.dims();
    // [B·T, V]
    let log_probs = log_softmax(logits.reshape([b * t, v]), 1);
    let targets = targets.reshape([b * t, 1]);
    // [B·T, 1], 1.0 where the target is a real token.
    let keep = targets.clone().not_equal_elem(pad_id as i64).float();
    let tokens = keep.clone().sum().into_scalar::<f32>() as usize;
    let nll = log_probs.clone().gather(1, targets).neg() * keep.clone();
    let smooth = log_probs.mean_dim(1).neg() * keep;
    let nll_sum = nll.sum();
    let loss_sum = nll_sum.clone() * (1.0 - epsilon) + smooth.sum() * epsilon;
    TokenLoss {
        mean: loss_sum / tokens.max(1) as f64,
        nll_sum,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    #[test]
    fn unsmoothed_matches_hand_computed_nll_and_ignores_padding() {
        let d = device();
        // Two positions: the second is padding and must not count.
        let logits = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 9.0, 9.0, 9.0], [1, 2, 3]),
            &d,
        );
        let targets = Tensor::<2, Int>::from_data(TensorData::new(vec![2i64, 0], [1, 2]), &d);
        let loss = label_smoothed_cross_entropy(logits, targets, 0, 0.0);
        let expected = -(3f64 - (1f64.exp() + 2f64.exp() + 3f64.exp()).ln());
        assert_eq!(loss.tokens, 1);
        assert!((loss.mean.into_scalar::<f32>() as f64 - expected).abs() < 1e-5);
    }

    #[test]
    fn smoothing_of_uniform_logits_equals_log_v() {
        let d = device();
        let logits = Tensor::<3>::zeros([2, 3, 5], &d);
        let targets =
            Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2, 3, 4, 1, 2], [2, 3]), &d);
        let loss = label_smoothed_cross_entropy(logits, targets, 0, 0.1);
        assert!((loss.mean.into_scalar::<f32>() as f64 - 5f64.ln()).abs() < 1e-5);
    }
}
