//! Embedding Alignment Encoder (SCOPE eq. 1–2): a transformer encoder over the motion input
//! `D`, pooled over time and mapped by a feed-forward network to a vector `E_out` of the
//! sentence-embedding size `E`, trained with `L_emb = E‖E_out − E_text‖₂` against the frozen
//! embedding of the target sentence.

use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use signscope_nn::encoder::encoder_forward;
use signscope_nn::fused::gelu;
use signscope_nn::linear;
use signscope_nn::seq2seq::sinusoidal_positions;

use crate::config::SlrModelConfig;

#[derive(Module, Debug)]
pub struct EmbeddingAlignmentEncoder {
    /// `h_0 = embed(D)`: [d] -> [d]
    input: Linear,
    /// `h_n`, N = alignment_layers
    encoder: TransformerEncoder,
    /// Final FFN on the pooled state: [d] -> [d_ff] -> [E]
    output_inner: Linear,
    output_outer: Linear,
    d_model: usize,
}

/// What the alignment encoder produces for one batch.
#[derive(Debug, Clone)]
pub struct AlignedMotion {
    /// Hidden states `E_t` [B, T', d], the gloss encoder's motion input.
    pub hidden: Tensor<3>,
    /// Pooled, projected `E_out` [B, E], compared with the target sentence embedding.
    pub embedding: Tensor<2>,
}

impl EmbeddingAlignmentEncoder {
    pub fn new(config: &SlrModelConfig, dropout: f64, device: &Device) -> Self {
        Self {
            input: LinearConfig::new(config.d_model, config.d_model).init(device),
            encoder: TransformerEncoderConfig::new(
                config.d_model,
                config.d_ff,
                config.n_heads,
                config.alignment_layers,
            )
            .with_dropout(dropout)
            .with_norm_first(true)
            .init(device),
            output_inner: LinearConfig::new(config.d_model, config.d_ff).init(device),
            output_outer: LinearConfig::new(config.d_ff, config.embedding_size).init(device),
            d_model: config.d_model,
        }
    }

    /// motion D [B, T', d], padding [B, T'] (true = padded step) -> E_t, E_out
    pub fn forward(&self, motion: Tensor<3>, padding: Tensor<2, Bool>) -> AlignedMotion {
        let [b, t, d] = motion.dims();
        let device = motion.device();
        // [T', d] broadcast over the batch
        let positions = sinusoidal_positions(0, t, self.d_model, &device).reshape([1, t, d]);
        let h0 = linear::forward(&self.input, motion) + positions;
        // burn's encoder layers, run with the fast dropout (signscope_nn::encoder).
        let hidden = encoder_forward(&self.encoder, h0, Some(padding.clone()));
        // Masked mean over time: [B, T', 1] weights of 1 on real steps.
        let keep = padding.bool_not().float().reshape([b, t, 1]);
        let count = keep.clone().sum_dim(1).clamp_min(1.0); // [B, 1, 1]
        let pooled = (hidden.clone() * keep)
            .sum_dim(1)
            .div(count)
            .reshape([b, d]);
        let embedding = self
            .output_outer
            .forward(gelu(linear::forward(&self.output_inner, pooled)));
        AlignedMotion { hidden, embedding }
    }
}

/// `L_emb` (eq. 2): the batch mean of the L2 distance ‖E_out − E_text‖₂. [B, E] x2 -> [1]
pub fn embedding_loss(predicted: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let [b, _] = predicted.dims();
    let squared = (predicted - target).powi_scalar(2).sum_dim(1).reshape([b]);
    // The epsilon keeps the gradient of sqrt finite at a perfect match.
    squared.add_scalar(1e-12).sqrt().mean()
}
