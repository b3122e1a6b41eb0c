//! Motion feature extractor (SCOPE, Implementation Details): "a 2-layer MLP with a temporal
//! Conv1D layer". The MLP is the "feature extractor linear layer" that compresses each frame's
//! 77 keypoints spatially; the strided Conv1D is the "temporal sequencer" that compresses time.
//! The result is the intermediate motion input `D`.

use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use signscope_nn::linear;

use crate::config::SlrModelConfig;

#[derive(Module, Debug)]
pub struct MotionFeatureExtractor {
    /// [77·2] -> [mlp_hidden]
    spatial_in: Linear,
    /// [mlp_hidden] -> [d]
    spatial_out: Linear,
    /// Over time: [d, T] -> [d, T'], T' = ⌊(T + 2⌊k/2⌋ - k) / s⌋ + 1 (run by [`temporal_conv`])
    temporal: Conv1d,
}

impl MotionFeatureExtractor {
    pub fn new(config: &SlrModelConfig, device: &Device) -> Self {
        Self {
            spatial_in: LinearConfig::new(config.input_points * 2, config.mlp_hidden).init(device),
            spatial_out: LinearConfig::new(config.mlp_hidden, config.d_model).init(device),
            temporal: Conv1dConfig::new(config.d_model, config.d_model, config.temporal_kernel)
                .with_stride(config.temporal_stride)
                .with_padding(PaddingConfig1d::Explicit(
                    config.temporal_kernel / 2,
                    config.temporal_kernel / 2,
                ))
                .init(device),
        }
    }

    /// keypoints J [B, T, 77, 2] -> D [B, T', d]
    pub fn forward(&self, keypoints: Tensor<4>) -> Tensor<3> {
        let [b, t, p, c] = keypoints.dims();
        // [B, T, 154]
        let frames = keypoints.reshape([b, t, p * c]);
        let h = relu(linear::forward(&self.spatial_in, frames));
        let h = relu(linear::forward(&self.spatial_out, h));
        relu(temporal_conv(&self.temporal, h))
    }
}

/// `conv.forward` on channels-last input, [B, T, d_in] -> [B, T', d_out], computed as one
/// matmul over unfolded windows: the windows [B·T', d_in·k] times the kernel seen as
/// [d_in·k, d_out]. burn's CPU convolution took 11.5 ms forward and 26.3 ms backward for
/// this layer at batch 32 × 128 frames; as a flat matmul its backward is two more matmuls.
/// Same parameters (the module is still burn's `Conv1d`) and the same result; convolutions
/// this does not cover (groups, dilation, other padding) fall back to burn's.
pub fn temporal_conv(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    let pad = match conv.padding {
        PaddingConfig1d::Explicit(left, right) if left == right => left,
        _ => return conv.forward(x.swap_dims(1, 2)).swap_dims(1, 2),
    };
    if conv.groups != 1 || conv.dilation != 1 {
        return conv.forward(x.swap_dims(1, 2)).swap_dims(1, 2);
    }
    let [b, _, d_in] = x.dims();
    let [d_out, _, k] = conv.weight.dims();
    let device = x.device();
    let padded = if pad > 0 {
        let zeros = Tensor::<3>::zeros([b, pad, d_in], &device);
        Tensor::cat(vec![zeros.clone(), x, zeros], 1)
    } else {
        x
    };
    // [B, T', d_in, k]
    let windows: Tensor<4> = padded.unfold(1, k, conv.stride);
    let steps = windows.dims()[1];
    // [d_out, d_in, k] -> [d_in·k, d_out]; a window's (channel, tap) order matches.
    let kernel = conv.weight.val().reshape([d_out, d_in * k]).transpose();
    let mut y = windows.reshape([b * steps, d_in * k]).matmul(kernel);
    if let Some(bias) = &conv.bias {
        y = y + bias.val().unsqueeze_dim(0);
    }
    y.reshape([b, steps, d_out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// The unfolded matmul equals burn's Conv1d, values and gradients, for odd and even
    /// lengths, strides 1 and 2, with and without padding.
    #[test]
    fn temporal_conv_matches_burns_conv1d() {
        let device = signscope_nn::training_device();
        for (t, k, stride, pad) in [(11, 5, 2, 2), (12, 5, 2, 2), (9, 3, 1, 1), (8, 3, 2, 0)] {
            let conv = Conv1dConfig::new(6, 4, k)
                .with_stride(stride)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(&device);
            let x = Tensor::<3>::random([2, t, 6], Distribution::Normal(0.0, 1.0), &device);
            let (a_in, b_in) = (x.clone().require_grad(), x.require_grad());
            let theirs = conv.forward(a_in.clone().swap_dims(1, 2)).swap_dims(1, 2);
            let ours = temporal_conv(&conv, b_in.clone());
            assert_eq!(theirs.dims(), ours.dims(), "t {t} k {k} s {stride} p {pad}");
            let max = |x: Tensor<3>| x.abs().max().into_scalar::<f32>();
            assert!(max(theirs.clone() - ours.clone()) < 1e-5);
            let w = Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let ga = (theirs * w.clone()).sum().backward();
            let gb = (ours * w).sum().backward();
            assert!(max(a_in.grad(&ga).unwrap() - b_in.grad(&gb).unwrap()) < 1e-5);
            let weight = conv.weight.val();
            assert!(max(weight.grad(&ga).unwrap() - weight.grad(&gb).unwrap()) < 1e-4);
        }
    }
}
