//! Dropout whose mask is cheap to draw. burn 0.22's CPU backend samples random tensors one
//! element at a time through a freshly built distribution sampler (about 14 ns a value here),
//! so `burn::nn::Dropout` cost 40 of the 129 ms of a stage-1 recognizer forward pass
//! (crates/slr/benches/recognize.rs). This layer draws one 64-bit seed from the backend's
//! seeded generator — so runs stay reproducible from `Device::seed`, and a resumed run
//! repeats the masks of the run it continues — and expands it with ChaCha8 into a mask that
//! already holds the `1 / (1 − p)` scale: one multiply instead of burn's two.
//!
//! [`forward`] applies a `burn::nn::Dropout` module (its `prob` and training flag) this way,
//! so the modules keep burn's type and record layout, as [`crate::linear::forward`] does for
//! `Linear`.

use burn::prelude::*;
use burn::tensor::Distribution;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// `layer.forward(input)`: zeroes elements with probability `prob` and scales the rest by
/// `1 / (1 − prob)`, on autodiff devices only (inference is the identity), while the layer's
/// training flag is set.
pub fn forward<const D: usize>(layer: &burn::nn::Dropout, input: Tensor<D>) -> Tensor<D> {
    let (prob, training) = (layer.prob, layer.training.is_enabled());
    if !training || !input.device().is_autodiff() || prob == 0.0 {
        return input;
    }
    let device = input.device();
    let shape = input.shape();
    let mask = keep_mask(draw_seed(&device), shape.num_elements(), prob);
    input * Tensor::from_data(TensorData::new(mask, shape), &device)
}

/// 64 bits from the backend's seeded generator: four 16-bit draws, a width every integer
/// element type of the backend holds.
fn draw_seed(device: &Device) -> u64 {
    let draws = Tensor::<1, Int>::random([4], Distribution::Uniform(0.0, 65_536.0), device)
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap_or_default();
    draws
        .iter()
        .fold(0u64, |seed, &d| (seed << 16) | (d as u64 & 0xffff))
}

/// Values per ChaCha8 stream: each block of the mask is drawn from its own stream of the
/// seed, so blocks fill in parallel and the mask does not depend on the number of threads.
const VALUES_PER_STREAM: usize = 16 * 1024;

/// `n` values: `1 / (1 − prob)` with probability `1 − prob`, else 0.
fn keep_mask(seed: u64, n: usize, prob: f64) -> Vec<f32> {
    let keep = 1.0 - prob;
    // A value is kept when its u32 draw falls below keep · 2³².
    let threshold = (keep * 4_294_967_296.0).min(u32::MAX as f64) as u32;
    let scale = (1.0 / keep) as f32;
    let mut mask = vec![0.0f32; n];
    mask.par_chunks_mut(VALUES_PER_STREAM)
        .enumerate()
        .for_each(|(stream, mask)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream as u64);
            let mut words = [0u32; 1024];
            for mask in mask.chunks_mut(words.len()) {
                let words = &mut words[..mask.len()];
                rng.fill_bytes(bytemuck::cast_slice_mut(words));
                for (m, &w) in mask.iter_mut().zip(words.iter()) {
                    *m = if w < threshold { scale } else { 0.0 };
                }
            }
        });
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_expected_share_and_scale() {
        let mask = keep_mask(7, 200_000, 0.3);
        let kept = mask.iter().filter(|&&m| m > 0.0).count() as f64 / mask.len() as f64;
        assert!((kept - 0.7).abs() < 0.005, "kept {kept}");
        assert!(
            mask.iter()
                .all(|&m| m == 0.0 || (m - 1.0 / 0.7).abs() < 1e-6)
        );
        // Blocks come from distinct streams, not copies of one.
        let block = VALUES_PER_STREAM;
        assert_ne!(mask[..block], mask[block..2 * block]);
        // The mean is preserved in expectation.
        let mean = mask.iter().map(|&m| m as f64).sum::<f64>() / mask.len() as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn inference_is_the_identity_and_training_is_seeded() {
        let device = crate::cpu_device();
        let x = Tensor::<2>::ones([64, 64], &device);
        let dropout = burn::nn::DropoutConfig::new(0.5).init();
        let same = forward(&dropout, x.clone());
        assert_eq!(same.into_data(), x.into_data());

        let train = crate::training_device();
        let draw = || {
            train.seed(11);
            forward(&dropout, Tensor::<2>::ones([64, 64], &train))
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
        };
        let (a, b) = (draw(), draw());
        assert_eq!(a, b, "the same device seed gives the same mask");
        let zeros = a.iter().filter(|&&v| v == 0.0).count();
        assert!((1700..2400).contains(&zeros), "{zeros} of 4096 dropped");
        train.seed(12);
        let c = forward(&dropout, Tensor::<2>::ones([64, 64], &train))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert_ne!(a, c, "another seed gives another mask");
    }
}
