//! A pre-LN transformer encoder-decoder (Vaswani et al. 2017, with the layer norm moved in
//! front of each sub-layer as in Xiong et al. 2020, which trains without a long warmup).
//!
//! Shapes: `B` batch, `S` source length, `T` target length, `D` d_model, `H` heads,
//! `Dh = D / H`, `V` vocabulary size. Masks are additive biases (0 keeps, -1e9 hides) so they
//! broadcast over heads and query positions.

use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::fused::{gelu, layer_norm, softmax};

use crate::config::{Activation, ModelConfig, PositionEncoding};
use crate::dropout;

/// Added to attention logits of hidden positions. Large but finite: a row that is entirely
/// hidden (never happens with at least one real source token) still gives a finite softmax.
const MASKED: f32 = -1e9;

/// Multi-head scaled dot-product attention with separate query/key/value projections.
#[derive(Module, Debug)]
pub struct MultiHeadAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    dropout: Dropout,
    n_heads: usize,
    d_head: usize,
}

impl MultiHeadAttention {
    fn new(d_model: usize, n_heads: usize, dropout: f64, device: &Device) -> Self {
        let linear = || {
            LinearConfig::new(d_model, d_model)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device)
        };
        Self {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
            dropout: DropoutConfig::new(dropout).init(),
            n_heads,
            d_head: d_model / n_heads,
        }
    }

    /// [B, T, D] -> [B, H, T, Dh]
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, t, _] = x.dims();
        x.reshape([b, t, self.n_heads, self.d_head]).swap_dims(1, 2)
    }

    /// Keys and values of `x` [B, Tk, D], each [B, H, Tk, Dh]; cached for the decoder.
    fn project_key_value(&self, x: Tensor<3>) -> (Tensor<4>, Tensor<4>) {
        (
            self.split_heads(crate::linear::forward(&self.key, x.clone())),
            self.split_heads(crate::linear::forward(&self.value, x)),
        )
    }

    /// query [B, Tq, D], key/value [B, H, Tk, Dh], bias broadcastable to [B, H, Tq, Tk]
    /// -> [B, Tq, D]
    fn attend(
        &self,
        query: Tensor<3>,
        key: Tensor<4>,
        value: Tensor<4>,
        bias: Tensor<4>,
    ) -> Tensor<3> {
        let [b, tq, d] = query.dims();
        let q = self.split_heads(crate::linear::forward(&self.query, query));
        // [B, H, Tq, Tk]
        let logits = q.matmul(key.swap_dims(2, 3)) / (self.d_head as f64).sqrt() + bias;
        let weights = dropout::forward(&self.dropout, softmax(logits));
        // [B, H, Tq, Dh] -> [B, Tq, D]
        let context = weights.matmul(value).swap_dims(1, 2).reshape([b, tq, d]);
        crate::linear::forward(&self.output, context)
    }

    fn forward(&self, query: Tensor<3>, key_value: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let (k, v) = self.project_key_value(key_value);
        self.attend(query, k, v, bias)
    }
}

/// Position-wise feed-forward: Linear(D, F) -> activation -> dropout -> Linear(F, D).
#[derive(Module, Debug)]
pub struct FeedForward {
    inner: Linear,
    outer: Linear,
    dropout: Dropout,
    gelu: bool,
}

impl FeedForward {
    fn new(config: &ModelConfig, device: &Device) -> Self {
        let init = Initializer::XavierUniform { gain: 1.0 };
        Self {
            inner: LinearConfig::new(config.d_model, config.d_ff)
                .with_initializer(init.clone())
                .init(device),
            outer: LinearConfig::new(config.d_ff, config.d_model)
                .with_initializer(init)
                .init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
            gelu: config.activation == Activation::Gelu,
        }
    }

    /// [B, T, D] -> [B, T, D]
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = crate::linear::forward(&self.inner, x);
        let h = if self.gelu { gelu(h) } else { relu(h) };
        crate::linear::forward(&self.outer, dropout::forward(&self.dropout, h))
    }
}

#[derive(Module, Debug)]
pub struct EncoderLayer {
    self_attention_norm: LayerNorm,
    self_attention: MultiHeadAttention,
    feed_forward_norm: LayerNorm,
    feed_forward: FeedForward,
    dropout: Dropout,
}

impl EncoderLayer {
    fn new(config: &ModelConfig, device: &Device) -> Self {
        Self {
            self_attention_norm: LayerNormConfig::new(config.d_model).init(device),
            self_attention: MultiHeadAttention::new(
                config.d_model,
                config.n_heads,
                config.attention_dropout,
                device,
            ),
            feed_forward_norm: LayerNormConfig::new(config.d_model).init(device),
            feed_forward: FeedForward::new(config, device),
            dropout: DropoutConfig::new(config.dropout).init(),
        }
    }

    /// x [B, S, D], source_bias [B, 1, 1, S] -> [B, S, D]
    fn forward(&self, x: Tensor<3>, source_bias: Tensor<4>) -> Tensor<3> {
        let h = layer_norm(&self.self_attention_norm, x.clone());
        let x = x + dropout::forward(
            &self.dropout,
            self.self_attention.forward(h.clone(), h, source_bias),
        );
        let h = layer_norm(&self.feed_forward_norm, x.clone());
        x + dropout::forward(&self.dropout, self.feed_forward.forward(h))
    }
}

#[derive(Module, Debug)]
pub struct DecoderLayer {
    self_attention_norm: LayerNorm,
    self_attention: MultiHeadAttention,
    cross_attention_norm: LayerNorm,
    cross_attention: MultiHeadAttention,
    feed_forward_norm: LayerNorm,
    feed_forward: FeedForward,
    dropout: Dropout,
}

impl DecoderLayer {
    fn new(config: &ModelConfig, device: &Device) -> Self {
        let attention = || {
            MultiHeadAttention::new(
                config.d_model,
                config.n_heads,
                config.attention_dropout,
                device,
            )
        };
        Self {
            self_attention_norm: LayerNormConfig::new(config.d_model).init(device),
            self_attention: attention(),
            cross_attention_norm: LayerNormConfig::new(config.d_model).init(device),
            cross_attention: attention(),
            feed_forward_norm: LayerNormConfig::new(config.d_model).init(device),
            feed_forward: FeedForward::new(config, device),
            dropout: DropoutConfig::new(config.dropout).init(),
        }
    }

    /// Teacher-forced pass. x [B, T, D], memory [B, S, D], target_bias [B, 1, T, T],
    /// source_bias [B, 1, 1, S] -> [B, T, D]
    fn forward(
        &self,
        x: Tensor<3>,
        memory: Tensor<3>,
        target_bias: Tensor<4>,
        source_bias: Tensor<4>,
    ) -> Tensor<3> {
        let h = layer_norm(&self.self_attention_norm, x.clone());
        let x = x + dropout::forward(
            &self.dropout,
            self.self_attention.forward(h.clone(), h, target_bias),
        );
        let h = layer_norm(&self.cross_attention_norm, x.clone());
        let x = x + dropout::forward(
            &self.dropout,
            self.cross_attention.forward(h, memory, source_bias),
        );
        let h = layer_norm(&self.feed_forward_norm, x.clone());
        x + dropout::forward(&self.dropout, self.feed_forward.forward(h))
    }

    /// One incremental step. x [B, 1, D]; the cache grows by one position.
    fn step(&self, x: Tensor<3>, cache: &mut LayerCache, source_bias: Tensor<4>) -> Tensor<3> {
        let h = layer_norm(&self.self_attention_norm, x.clone());
        let (k, v) = self.self_attention.project_key_value(h.clone());
        let (k, v) = match (cache.self_key.take(), cache.self_value.take()) {
            (Some(pk), Some(pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)),
            _ => (k, v),
        };
        cache.self_key = Some(k.clone());
        cache.self_value = Some(v.clone());
        let [b, ..] = x.dims();
        // Every cached position precedes the query: nothing to hide.
        let no_bias = Tensor::<4>::zeros([b, 1, 1, 1], &x.device());
        let x = x + self.self_attention.attend(h, k, v, no_bias);
        let h = layer_norm(&self.cross_attention_norm, x.clone());
        let x = x + self.cross_attention.attend(
            h,
            cache.cross_key.clone(),
            cache.cross_value.clone(),
            source_bias,
        );
        let h = layer_norm(&self.feed_forward_norm, x.clone());
        x + self.feed_forward.forward(h)
    }
}

/// Per-layer decoder state for incremental decoding.
#[derive(Debug, Clone)]
struct LayerCache {
    /// [B, H, t, Dh] keys/values of the target prefix; `None` before the first step.
    self_key: Option<Tensor<4>>,
    self_value: Option<Tensor<4>>,
    /// [B, H, S, Dh] projected encoder memory, computed once per sentence.
    cross_key: Tensor<4>,
    cross_value: Tensor<4>,
}

/// Everything an incremental decoder needs between steps. Rows are hypotheses (sentences,
/// or sentences × beams); [`DecoderState::select_rows`] reorders them for beam search.
#[derive(Debug, Clone)]
pub struct DecoderState {
    layers: Vec<LayerCache>,
    /// [B, 1, 1, S]
    source_bias: Tensor<4>,
    /// Number of target tokens consumed so far (the next token's position).
    position: usize,
}

impl DecoderState {
    pub fn rows(&self) -> usize {
        self.source_bias.dims()[0]
    }

    /// Keep/duplicate rows: `indices` [B'] into the current B rows.
    pub fn select_rows(&mut self, indices: &[usize]) {
        let device = self.source_bias.device();
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(
                indices.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                [indices.len()],
            ),
            &device,
        );
        let pick = |t: Tensor<4>| t.select(0, idx.clone());
        self.source_bias = pick(self.source_bias.clone());
        for layer in &mut self.layers {
            layer.cross_key = pick(layer.cross_key.clone());
            layer.cross_value = pick(layer.cross_value.clone());
            layer.self_key = layer.self_key.take().map(pick);
            layer.self_value = layer.self_value.take().map(pick);
        }
    }
}

/// A padded batch of token ids with its padding mask.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// [B, L] token ids
    pub ids: Tensor<2, Int>,
    /// [B, L] true at padding positions
    pub padding: Tensor<2, Bool>,
}

impl TokenBatch {
    /// Right-pads `sequences` with `pad_id` to the longest one.
    pub fn from_sequences(sequences: &[Vec<u32>], pad_id: u32, device: &Device) -> Self {
        let rows = sequences.len();
        let len = sequences.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut ids = vec![pad_id as i64; rows * len];
        let mut padding = vec![true; rows * len];
        for (r, seq) in sequences.iter().enumerate() {
            for (c, &tok) in seq.iter().enumerate() {
                ids[r * len + c] = tok as i64;
                padding[r * len + c] = false;
            }
        }
        Self {
            ids: Tensor::from_data(TensorData::new(ids, [rows, len]), device),
            padding: Tensor::from_data(TensorData::new(padding, [rows, len]), device),
        }
    }

    /// [B, 1, 1, L] additive attention bias hiding padding keys.
    fn key_bias(&self) -> Tensor<4> {
        let [b, l] = self.padding.dims();
        self.padding
            .clone()
            .float()
            .mul_scalar(MASKED)
            .reshape([b, 1, 1, l])
    }
}

/// The whole translation model.
#[derive(Module, Debug)]
pub struct Seq2Seq {
    /// `None` when the encoder shares the target embedding matrix.
    source_embedding: Option<Embedding>,
    target_embedding: Embedding,
    /// Learned positions when configured; sinusoidal positions are computed, not stored.
    learned_positions: Option<Embedding>,
    embedding_dropout: Dropout,
    encoder_layers: Vec<EncoderLayer>,
    encoder_norm: LayerNorm,
    decoder_layers: Vec<DecoderLayer>,
    decoder_norm: LayerNorm,
    /// `None` when the output projection shares the target embedding matrix.
    output_projection: Option<Linear>,
    d_model: usize,
    max_positions: usize,
    scale_embeddings: bool,
}

impl Seq2Seq {
    /// With `config.tie_source_embedding` the two vocabularies must be one (equal sizes).
    pub fn new(
        config: &ModelConfig,
        source_vocab: usize,
        target_vocab: usize,
        device: &Device,
    ) -> Self {
        assert!(
            !config.tie_source_embedding || source_vocab == target_vocab,
            "a tied source embedding needs one vocabulary; got {source_vocab} source and {target_vocab} target tokens"
        );
        // Transformer-base style N(0, D^-1/2) init: with sqrt(D) input scaling the embedded
        // tokens have unit variance, and a tied output projection starts with small logits.
        let std = (config.d_model as f64).powf(-0.5);
        let embedding = |n| {
            EmbeddingConfig::new(n, config.d_model)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device)
        };
        Self {
            source_embedding: (!config.tie_source_embedding).then(|| embedding(source_vocab)),
            target_embedding: embedding(target_vocab),
            learned_positions: (config.positions == PositionEncoding::Learned)
                .then(|| embedding(config.max_positions)),
            embedding_dropout: DropoutConfig::new(config.dropout).init(),
            encoder_layers: (0..config.encoder_layers)
                .map(|_| EncoderLayer::new(config, device))
                .collect(),
            encoder_norm: LayerNormConfig::new(config.d_model).init(device),
            decoder_layers: (0..config.decoder_layers)
                .map(|_| DecoderLayer::new(config, device))
                .collect(),
            decoder_norm: LayerNormConfig::new(config.d_model).init(device),
            output_projection: (!config.tie_output_embedding).then(|| {
                LinearConfig::new(config.d_model, target_vocab)
                    .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                    .init(device)
            }),
            d_model: config.d_model,
            max_positions: config.max_positions,
            scale_embeddings: config.scale_embeddings,
        }
    }

    pub fn target_vocab_size(&self) -> usize {
        self.target_embedding.weight.dims()[0]
    }

    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// [L, D] position codes for positions `start..start + len`.
    fn positions(&self, start: usize, len: usize, device: &Device) -> Tensor<2> {
        match &self.learned_positions {
            Some(table) => {
                let ids = Tensor::<1, Int>::arange(start as i64..(start + len) as i64, device);
                table.weight.val().select(0, ids)
            }
            None => sinusoidal_positions(start, len, self.d_model, device),
        }
    }

    /// ids [B, L] starting at position `start` -> [B, L, D]
    fn embed(&self, table: &Embedding, ids: Tensor<2, Int>, start: usize) -> Tensor<3> {
        let [_, l] = ids.dims();
        assert!(
            start + l <= self.max_positions,
            "sequence of {} tokens exceeds max_positions {}",
            start + l,
            self.max_positions
        );
        let x = table.forward(ids);
        let x = if self.scale_embeddings {
            x * (self.d_model as f64).sqrt()
        } else {
            x
        };
        let positions = self.positions(start, l, &x.device()).unsqueeze::<3>();
        let x = x + positions;
        dropout::forward(&self.embedding_dropout, x)
    }

    /// source [B, S] -> memory [B, S, D]
    pub fn encode(&self, source: &TokenBatch) -> Tensor<3> {
        let bias = source.key_bias();
        let table = self
            .source_embedding
            .as_ref()
            .unwrap_or(&self.target_embedding);
        let mut x = self.embed(table, source.ids.clone(), 0);
        for layer in &self.encoder_layers {
            x = layer.forward(x, bias.clone());
        }
        layer_norm(&self.encoder_norm, x)
    }

    /// hidden [.., D] -> logits [.., V]
    fn project<const N: usize>(&self, hidden: Tensor<N>) -> Tensor<N> {
        match &self.output_projection {
            Some(linear) => crate::linear::forward(linear, hidden),
            None => hidden.matmul(self.target_embedding.weight.val().transpose().unsqueeze()),
        }
    }

    /// Teacher forcing: source [B, S], target_input [B, T] (BOS + y[..T-1]) -> logits [B, T, V]
    pub fn forward(&self, source: &TokenBatch, target_input: &TokenBatch) -> Tensor<3> {
        let memory = self.encode(source);
        let source_bias = source.key_bias();
        let [b, t] = target_input.ids.dims();
        let device = memory.device();
        // Causal mask [1, 1, T, T] plus target padding keys [B, 1, 1, T].
        // burn's `tril_mask` is true outside the lower triangle: the future positions j > i.
        let causal = Tensor::<2, Bool>::tril_mask([t, t], 0, &device)
            .float()
            .mul_scalar(MASKED)
            .reshape([1, 1, t, t]);
        let target_bias = causal + target_input.key_bias();
        let mut x = self.embed(&self.target_embedding, target_input.ids.clone(), 0);
        for layer in &self.decoder_layers {
            x = layer.forward(x, memory.clone(), target_bias.clone(), source_bias.clone());
        }
        debug_assert_eq!(x.dims()[..2], [b, t]);
        self.project(layer_norm(&self.decoder_norm, x))
    }

    /// Encodes the source and prepares an empty incremental-decoding state.
    pub fn start_decoding(&self, source: &TokenBatch) -> DecoderState {
        let memory = self.encode(source);
        let layers = self
            .decoder_layers
            .iter()
            .map(|layer| {
                let (cross_key, cross_value) =
                    layer.cross_attention.project_key_value(memory.clone());
                LayerCache {
                    self_key: None,
                    self_value: None,
                    cross_key,
                    cross_value,
                }
            })
            .collect();
        DecoderState {
            layers,
            source_bias: source.key_bias(),
            position: 0,
        }
    }

    /// Feeds one token per row. last_tokens [B] -> log-probabilities [B, V]
    pub fn decode_step(&self, state: &mut DecoderState, last_tokens: &[u32]) -> Tensor<2> {
        let device = state.source_bias.device();
        let b = last_tokens.len();
        let ids = Tensor::<2, Int>::from_data(
            TensorData::new(
                last_tokens.iter().map(|&t| t as i64).collect::<Vec<_>>(),
                [b, 1],
            ),
            &device,
        );
        let mut x = self.embed(&self.target_embedding, ids, state.position);
        for (layer, cache) in self.decoder_layers.iter().zip(state.layers.iter_mut()) {
            x = layer.step(x, cache, state.source_bias.clone());
        }
        state.position += 1;
        let logits = self
            .project(layer_norm(&self.decoder_norm, x))
            .reshape([b, self.target_vocab_size()]);
        burn::tensor::activation::log_softmax(logits, 1)
    }
}

/// Sinusoidal position codes (Vaswani et al. 2017, §3.5), [len, D] for positions start..start+len.
/// Even channels sin, odd channels cos — the interleaved layout of the paper.
pub fn sinusoidal_positions(
    start: usize,
    len: usize,
    d_model: usize,
    device: &Device,
) -> Tensor<2> {
    let mut table = vec![0f32; len * d_model];
    for p in 0..len {
        let pos = (start + p) as f64;
        for i in 0..d_model / 2 {
            let angle = pos / 10000f64.powf(2.0 * i as f64 / d_model as f64);
            table[p * d_model + 2 * i] = angle.sin() as f32;
            table[p * d_model + 2 * i + 1] = angle.cos() as f32;
        }
    }
    Tensor::from_data(TensorData::new(table, [len, d_model]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tied_source_embedding_is_the_target_matrix() {
        let device = crate::cpu_device();
        let config = ModelConfig {
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            encoder_layers: 1,
            decoder_layers: 1,
            max_positions: 8,
            ..Default::default()
        };
        let untied = Seq2Seq::new(&config, 30, 30, &device);
        let tied_config = ModelConfig {
            tie_source_embedding: true,
            ..config
        };
        let tied = Seq2Seq::new(&tied_config, 30, 30, &device);
        assert_eq!(untied.num_params() - tied.num_params(), 30 * 16);

        // The encoder reads the target matrix: changing it changes the memory.
        let source = TokenBatch::from_sequences(&[vec![5, 6, 2]], 0, &device);
        let before = tied.encode(&source);
        let mut changed = tied.clone();
        changed.target_embedding.weight =
            changed.target_embedding.weight.map(|w| w.mul_scalar(2.0));
        let after = changed.encode(&source);
        let diff: f32 = (before - after).abs().sum().into_scalar();
        assert!(diff > 1e-3, "{diff}");
    }
}
