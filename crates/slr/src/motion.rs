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
    /// Over time: [d, T] -> [d, T'], T' = ⌊(T + 2⌊k/2⌋ - k) / s⌋ + 1
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
        // Conv1d wants channels first: [B, d, T] -> [B, d, T'] -> [B, T', d]
        relu(self.temporal.forward(h.swap_dims(1, 2))).swap_dims(1, 2)
    }
}
