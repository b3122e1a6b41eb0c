//! Gloss Embedding Encoder (SCOPE eq. 3): a transformer encoder over
//! `Cat(E_t, E_A)` — the aligned motion states `E_t` [T', d] concatenated with the sentence
//! embeddings `E_A` of the last three previous turns projected to `d` — followed by a linear
//! classifier over the glosses and the CTC blank.
//!
//! Missing turns (fewer than three previous sentences, or a context-free model) are masked out
//! of attention. The paper's context-free model "fills context embeddings with zeros"; masking
//! is the same thing for every turn-0 sentence of the contextual model and keeps the two
//! consistent, so one trained model can be evaluated with and without context.

use burn::module::Param;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use signscope_nn::encoder::encoder_forward;
use signscope_nn::linear;
use signscope_nn::seq2seq::sinusoidal_positions;

use crate::config::SlrModelConfig;

#[derive(Module, Debug)]
pub struct GlossEncoder {
    /// Sentence embedding [E] -> [d], shared by the context turns and the aligned `E_out`.
    context_projection: Linear,
    /// One learned vector per non-motion slot ([aligned], turn −3, −2, −1): [S, d]
    slot_embedding: Param<Tensor<2>>,
    encoder: TransformerEncoder,
    /// [d] -> [glosses + 1]; class 0 is the blank.
    classifier: Linear,
    context_turns: usize,
    aligned_token: bool,
    d_model: usize,
}

impl GlossEncoder {
    pub fn new(config: &SlrModelConfig, classes: usize, device: &Device) -> Self {
        let aligned_token = config.aligned_token && config.alignment_encoder;
        let slots = config.context_turns + usize::from(aligned_token);
        Self {
            context_projection: LinearConfig::new(config.embedding_size, config.d_model)
                .init(device),
            slot_embedding: Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
            .init([slots.max(1), config.d_model], device),
            encoder: TransformerEncoderConfig::new(
                config.d_model,
                config.d_ff,
                config.n_heads,
                config.gloss_layers,
            )
            .with_dropout(config.dropout)
            .with_norm_first(true)
            .init(device),
            classifier: LinearConfig::new(config.d_model, classes).init(device),
            context_turns: config.context_turns,
            aligned_token,
            d_model: config.d_model,
        }
    }

    /// Number of tokens placed in front of the motion states.
    pub fn prefix_len(&self) -> usize {
        self.context_turns + usize::from(self.aligned_token)
    }

    /// motion E_t [B, T', d], motion_padding [B, T'] (true = padded),
    /// aligned E_out [B, E], context E_A [B, turns, E], context_missing [B, turns]
    /// -> gloss logits [B, T', classes]
    pub fn forward(
        &self,
        motion: Tensor<3>,
        motion_padding: Tensor<2, Bool>,
        aligned: Tensor<2>,
        context: Tensor<3>,
        context_missing: Tensor<2, Bool>,
    ) -> Tensor<3> {
        let [b, t, d] = motion.dims();
        let device = motion.device();
        let motion = motion + sinusoidal_positions(0, t, self.d_model, &device).reshape([1, t, d]);
        let (prefix, prefix_padding) = if self.aligned_token {
            let [_, e] = aligned.dims();
            // [B, 1 + turns, E]
            let slots = Tensor::cat(vec![aligned.reshape([b, 1, e]), context], 1);
            let present = Tensor::<2, Int>::zeros([b, 1], &device).equal_elem(1);
            (slots, Tensor::cat(vec![present, context_missing], 1))
        } else {
            (context, context_missing)
        };
        let s = self.prefix_len();
        // H⁰ = Hidden(Cat(E_A, E_t)): [B, S + T', d]
        let prefix = linear::forward(&self.context_projection, prefix)
            + self.slot_embedding.val().reshape([1, s, d]);
        let tokens = Tensor::cat(vec![prefix, motion], 1);
        let padding = Tensor::cat(vec![prefix_padding, motion_padding], 1);
        // burn's encoder layers, run with the fast dropout (signscope_nn::encoder).
        let hidden = encoder_forward(&self.encoder, tokens, Some(padding));
        linear::forward(&self.classifier, hidden.slice([0..b, s..s + t, 0..d]))
    }
}
