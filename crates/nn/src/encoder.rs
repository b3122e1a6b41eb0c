//! burn's `TransformerEncoder`, run with this crate's dropout. The recognizer's encoders are
//! burn modules (their parameters are what trained models store), but burn's dropout draws its
//! masks one value at a time and cost about 40 of the 129 ms of a stage-1 forward pass (see
//! [`crate::dropout`]). [`encoder_forward`] walks the same layers through their public fields
//! and computes what `TransformerEncoder::forward` computes — pre- or post-norm residual
//! blocks, multi-head self-attention with padded keys filled with the layer's `min_float`,
//! (quiet) softmax, the feed-forward activation — with each dropout replaced by
//! [`crate::dropout::forward`] at the same probability and training flag, and layer norms, the
//! attention softmax (with its scale and key mask) and GELU run as single autodiff operations
//! ([`crate::fused`]). Checkpoints are unaffected; the test below holds the two forwards (and
//! their gradients) equal.
//!
//! Shapes: `B` batch, `T` steps, `D` d_model, `H` heads, `Dk = D / H`.

use burn::nn::Linear;
use burn::nn::activation::Activation;
use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderLayer};
use burn::prelude::*;
use burn::tensor::activation::quiet_softmax;

use crate::dropout::forward as drop;
use crate::fused::{attention_softmax, gelu, layer_norm};
use crate::linear;

/// x [B, T, D], mask_pad [B, T] (true = padded step) -> [B, T, D]
pub fn encoder_forward(
    encoder: &TransformerEncoder,
    input: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    encoder
        .layers
        .iter()
        .fold(input, |x, layer| layer_forward(layer, x, mask_pad.clone()))
}

/// `TransformerEncoderLayer::forward` without an attention mask.
fn layer_forward(
    layer: &TransformerEncoderLayer,
    x: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    let attention_in = if layer.norm_first {
        layer_norm(&layer.norm_2, x.clone())
    } else {
        x.clone()
    };
    let attended = self_attention(&layer.mha, attention_in, mask_pad);
    let mut x = x + drop(&layer.dropout, attended);
    let ff_in = if layer.norm_first {
        layer_norm(&layer.norm_1, x.clone())
    } else {
        x = layer_norm(&layer.norm_1, x);
        x.clone()
    };
    let ff = &layer.pwff;
    let inner = linear::forward(&ff.linear_inner, ff_in);
    let activated = match &ff.activation {
        Activation::Gelu(_) => gelu(inner),
        other => other.forward(inner),
    };
    let hidden = drop(&ff.dropout, activated);
    let x = x + drop(&layer.dropout, linear::forward(&ff.linear_outer, hidden));
    if layer.norm_first {
        x
    } else {
        layer_norm(&layer.norm_2, x)
    }
}

/// `MultiHeadAttention::forward` on self-attention: x [B, T, D] -> context [B, T, D]
fn self_attention(
    mha: &MultiHeadAttention,
    x: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    let [b, t, d] = x.dims();
    // [B, T, D] -> [B, H, T, Dk]
    let heads = |layer: &Linear| {
        linear::forward(layer, x.clone())
            .reshape([b, t, mha.n_heads, mha.d_k])
            .swap_dims(1, 2)
    };
    let (query, key, value) = (heads(&mha.query), heads(&mha.key), heads(&mha.value));
    // [B, H, T, T]
    let scores = query.matmul(key.transpose());
    let divisor = (mha.d_k as f32).sqrt();
    let weights = if mha.quiet_softmax {
        let mut scores = scores.div_scalar(divisor);
        if let Some(mask_pad) = mask_pad {
            scores = scores.mask_fill(mask_pad.reshape([b, 1, 1, t]), mha.min_float);
        }
        quiet_softmax(scores, 3)
    } else {
        attention_softmax(scores, mask_pad, divisor, mha.min_float as f32)
    };
    let context = drop(&mha.dropout, weights)
        .matmul(value)
        .swap_dims(1, 2)
        .reshape([b, t, d]);
    linear::forward(&mha.output, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::transformer::{TransformerEncoderConfig, TransformerEncoderInput};
    use burn::tensor::{Distribution, TensorData};

    fn close(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Same outputs and same gradients as burn's forward, pre- and post-norm, with padding.
    #[test]
    fn matches_burns_encoder() {
        let device = crate::training_device();
        device.seed(3);
        for norm_first in [true, false] {
            let encoder = TransformerEncoderConfig::new(32, 64, 4, 2)
                .with_dropout(0.0)
                .with_norm_first(norm_first)
                .init(&device);
            let x = Tensor::<3>::random([3, 7, 32], Distribution::Normal(0.0, 1.0), &device);
            let mut pad = vec![false; 21];
            pad[5..7].fill(true); // the first sequence is 5 steps long
            pad[20] = true;
            let pad = Tensor::<2, Bool>::from_data(TensorData::new(pad, [3, 7]), &device);

            let theirs_in = x.clone().require_grad();
            let theirs = encoder
                .forward(TransformerEncoderInput::new(theirs_in.clone()).mask_pad(pad.clone()));
            let ours_in = x.clone().require_grad();
            let ours = encoder_forward(&encoder, ours_in.clone(), Some(pad.clone()));
            assert!(
                close(theirs.clone(), ours.clone()) < 1e-5,
                "norm_first {norm_first}"
            );

            let weights = Tensor::<3>::random([3, 7, 32], Distribution::Normal(0.0, 1.0), &device);
            let g_theirs = (theirs * weights.clone()).sum().backward();
            let g_ours = (ours * weights).sum().backward();
            let grad = |g: &burn::tensor::Gradients, t: &Tensor<3>| t.grad(g).unwrap();
            assert!(close(grad(&g_theirs, &theirs_in), grad(&g_ours, &ours_in)) < 1e-5);
            let w = |g: &burn::tensor::Gradients| {
                encoder.layers[0].mha.query.weight.val().grad(g).unwrap()
            };
            let diff = (w(&g_theirs) - w(&g_ours)).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-5, "query weight gradients differ by {diff}");
        }
    }

    /// With dropout, inference is deterministic and equal to burn's; training drops values.
    #[test]
    fn dropout_only_in_training() {
        let train = crate::training_device();
        let encoder = TransformerEncoderConfig::new(16, 32, 2, 1)
            .with_dropout(0.5)
            .init(&train);
        let x = Tensor::<3>::random([2, 5, 16], Distribution::Normal(0.0, 1.0), &train);
        let inference = encoder.valid();
        let plain = x.clone().inner();
        let a = encoder_forward(&inference, plain.clone(), None);
        let b = inference.forward(TransformerEncoderInput::new(plain));
        assert!((a.clone() - b).abs().max().into_scalar::<f32>() < 1e-5);
        let trained = encoder_forward(&encoder, x, None).inner();
        assert!((trained - a).abs().max().into_scalar::<f32>() > 1e-3);
    }
}
