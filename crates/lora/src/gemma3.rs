//! Gemma 3 (text) in burn, for fine-tuning: the base weights are frozen f32 tensors
//! dequantized from the GGUF file, and [`Adapters`](crate::lora::Adapters) add trainable
//! low-rank updates to chosen projections.
//!
//! The computation follows signscope-llm's candle model (`signscope_llm::gemma3`, itself
//! llama.cpp's): scaled token embeddings; per block pre- and post-norms around attention and
//! the GELU-gated MLP; RMS-normed queries and keys; RoPE with a local base on sliding-window
//! layers and a global base on every `sliding_window_type`-th layer; tied output embedding.
//! Norm weights are used as stored: llama.cpp's converter already folds Gemma's `1 + w`.
//!
//! Only the operations burn can differentiate are used (no fused kernels), so gradients flow
//! through the frozen base into the adapters. Frozen tensors do not require gradients, so
//! the backward pass forms no weight gradients for them.

use std::path::Path;

use anyhow::{Context, bail};
use burn::prelude::*;
use burn::tensor::activation::{softmax, tanh};
use candle_core::quantized::gguf_file;

use crate::lora::{Adapter, Adapters, LayerAdapters};

/// Sizes read from the GGUF metadata (`gemma3.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gemma3Config {
    pub vocab_size: usize,
    /// `embedding_length`
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// `feed_forward_length`
    pub d_ff: usize,
    pub rms_norm_eps: f64,
    pub sliding_window: usize,
    /// Every `sliding_window_type`-th layer attends globally.
    pub sliding_window_type: usize,
    pub rope_base_global: f32,
    pub rope_base_local: f32,
    pub context_length: usize,
}

impl Gemma3Config {
    pub fn from_gguf(content: &gguf_file::Content) -> anyhow::Result<Self> {
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .map(String::as_str);
        if arch != Some("gemma3") {
            bail!("general.architecture is {arch:?}; LoRA fine-tuning supports gemma3");
        }
        let get = |key: &str| {
            content
                .metadata
                .get(&format!("gemma3.{key}"))
                .with_context(|| format!("metadata gemma3.{key} is missing"))
        };
        let int = |key: &str| -> anyhow::Result<usize> {
            Ok(get(key)?.to_u32().map_err(anyhow::Error::msg)? as usize)
        };
        let float = |key: &str, default: f32| -> f32 {
            get(key)
                .ok()
                .and_then(|v| v.to_f32().ok())
                .unwrap_or(default)
        };
        let vocab_size = content
            .tensor_infos
            .get("token_embd.weight")
            .context("tensor token_embd.weight is missing")?
            .shape
            .dims()[0];
        Ok(Self {
            vocab_size,
            d_model: int("embedding_length")?,
            n_layers: int("block_count")?,
            n_heads: int("attention.head_count")?,
            n_kv_heads: int("attention.head_count_kv")?,
            head_dim: int("attention.key_length")?,
            d_ff: int("feed_forward_length")?,
            rms_norm_eps: float("attention.layer_norm_rms_epsilon", 1e-6) as f64,
            sliding_window: int("attention.sliding_window")?,
            sliding_window_type: int("attention.sliding_window_type").unwrap_or(6),
            rope_base_global: float("rope.freq_base", 1_000_000.0),
            rope_base_local: float("rope.local_freq_base", 10_000.0),
            context_length: int("context_length").unwrap_or(32_768),
        })
    }

    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// Whether `layer` uses the sliding window (and the local RoPE base).
    pub fn is_sliding(&self, layer: usize) -> bool {
        !(layer + 1).is_multiple_of(self.sliding_window_type.max(1))
    }

    /// (in, out) of each adaptable projection.
    pub fn projection_shape(&self, target: Target) -> (usize, usize) {
        let (d, q, kv, ff) = (self.d_model, self.q_dim(), self.kv_dim(), self.d_ff);
        match target {
            Target::Q => (d, q),
            Target::K | Target::V => (d, kv),
            Target::O => (q, d),
            Target::Gate | Target::Up => (d, ff),
            Target::Down => (ff, d),
        }
    }
}

/// A projection an adapter can sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    /// The GGUF tensor name inside block `blk.N.`.
    pub fn gguf_name(self) -> &'static str {
        match self {
            Target::Q => "attn_q.weight",
            Target::K => "attn_k.weight",
            Target::V => "attn_v.weight",
            Target::O => "attn_output.weight",
            Target::Gate => "ffn_gate.weight",
            Target::Up => "ffn_up.weight",
            Target::Down => "ffn_down.weight",
        }
    }
}

/// One transformer block's frozen weights. Projections are stored [in, out] (GGUF stores
/// [out, in]) so that `x.matmul(w)` applies them.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor<1>,
    q_norm: Tensor<1>,
    k_norm: Tensor<1>,
    post_attn_norm: Tensor<1>,
    ffn_norm: Tensor<1>,
    post_ffn_norm: Tensor<1>,
    projections: [Tensor<2>; 7],
}

impl Block {
    fn weight(&self, target: Target) -> &Tensor<2> {
        &self.projections[target as usize]
    }
}

/// cos/sin tables [positions, head_dim / 2] for one RoPE base.
#[derive(Debug, Clone)]
struct Rope {
    cos: Tensor<2>,
    sin: Tensor<2>,
}

impl Rope {
    fn new(head_dim: usize, base: f32, positions: usize, device: &Device) -> Self {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            for i in 0..half {
                let theta = 1.0 / base.powf((2 * i) as f32 / head_dim as f32);
                let angle = p as f32 * theta;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        Self {
            cos: Tensor::from_data(TensorData::new(cos, [positions, half]), device),
            sin: Tensor::from_data(TensorData::new(sin, [positions, half]), device),
        }
    }

    /// x [B, H, T, Dh] at positions `offset..offset + T`, rotated by position
    /// (non-interleaved halves, as candle's `rope` and llama.cpp's NEOX mode).
    fn apply(&self, x: Tensor<4>, offset: usize) -> Tensor<4> {
        let [_, _, t, dh] = x.dims();
        let half = dh / 2;
        let cos = self
            .cos
            .clone()
            .narrow(0, offset, t)
            .reshape([1, 1, t, half]);
        let sin = self
            .sin
            .clone()
            .narrow(0, offset, t)
            .reshape([1, 1, t, half]);
        let x1 = x.clone().narrow(3, 0, half);
        let x2 = x.narrow(3, half, half);
        let r1 = x1.clone() * cos.clone() - x2.clone() * sin.clone();
        let r2 = x1 * sin + x2 * cos;
        Tensor::cat(vec![r1, r2], 3)
    }
}

/// One block's keys (after RoPE) and values for the positions processed so far:
/// [B, KVH, P, Dh] each.
#[derive(Debug, Clone)]
struct LayerCache {
    k: Tensor<4>,
    v: Tensor<4>,
}

/// The attention keys and values of an already processed prefix, so that continuations of
/// it need not run it again (a prompt shared by several candidate replies). Built from a
/// batch of one, it continues any number of rows.
#[derive(Debug, Clone)]
pub struct PrefixCache {
    layers: Vec<LayerCache>,
}

impl PrefixCache {
    /// How many positions the prefix covers.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.k.dims()[2])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The frozen model.
#[derive(Debug, Clone)]
pub struct Gemma3 {
    pub config: Gemma3Config,
    /// [V, d]; also the output projection (tied) unless `output` is set.
    token_embedding: Tensor<2>,
    /// [V, d] when the file has a separate `output.weight`.
    output: Option<Tensor<2>>,
    output_norm: Tensor<1>,
    blocks: Vec<Block>,
    rope_global: Rope,
    rope_local: Rope,
    device: Device,
}

/// Dequantizes one GGUF tensor to f32, in candle's (row-major, [out, in]) layout.
pub(crate) fn read_f32(
    content: &gguf_file::Content,
    file: &mut std::fs::File,
    name: &str,
) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let cpu = candle_core::Device::Cpu;
    let q = content
        .tensor(file, name, &cpu)
        .with_context(|| format!("reading tensor {name}"))?;
    let t = q
        .dequantize(&cpu)
        .with_context(|| format!("dequantizing {name}"))?;
    let dims = t.dims().to_vec();
    let values = t.flatten_all()?.to_vec1::<f32>()?;
    Ok((dims, values))
}

/// Dequantizes the 2-D GGUF tensor `name`, stored [rows, cols], to f32 [rows, cols] or, with
/// `transposed`, [cols, rows]; returns the stored dims and the values. The rows are
/// dequantized a few at a time into the one result buffer: on a 2-core machine, faulting in
/// fresh pages for whole-tensor intermediates (candle's dequantized tensor, its copy, the
/// transposed copy) took longer than the dequantization itself.
pub(crate) fn read_matrix(
    content: &gguf_file::Content,
    file: &mut std::fs::File,
    name: &str,
    transposed: bool,
) -> anyhow::Result<([usize; 2], Vec<f32>)> {
    /// Rows per step: 64 rows of 640 values are 160 kB, reused by the allocator.
    const ROWS: usize = 64;
    let cpu = candle_core::Device::Cpu;
    let q = content
        .tensor(file, name, &cpu)
        .with_context(|| format!("reading tensor {name}"))?;
    let (rows, cols) = q
        .shape()
        .dims2()
        .with_context(|| format!("tensor {name} is not a matrix"))?;
    let mut out = if transposed {
        vec![0.0f32; rows * cols]
    } else {
        Vec::with_capacity(rows * cols)
    };
    for start in (0..rows).step_by(ROWS) {
        let n = ROWS.min(rows - start);
        let ids = candle_core::Tensor::arange(start as u32, (start + n) as u32, &cpu)?;
        let chunk = q
            .embedding(&ids)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .with_context(|| format!("dequantizing {name}"))?;
        if transposed {
            for c in 0..cols {
                let column = &mut out[c * rows + start..c * rows + start + n];
                for (r, value) in column.iter_mut().enumerate() {
                    *value = chunk[r * cols + c];
                }
            }
        } else {
            out.extend_from_slice(&chunk);
        }
    }
    Ok(([rows, cols], out))
}

/// [rows, cols] row-major -> [cols, rows] row-major.
pub(crate) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Opens a GGUF file and reads its header (metadata and tensor table, no weights).
pub fn open_gguf(path: &Path) -> anyhow::Result<(std::fs::File, gguf_file::Content)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| anyhow::anyhow!("{}: not a readable GGUF file: {e}", path.display()))?;
    Ok((file, content))
}

impl Gemma3Config {
    /// The configuration of the GGUF file at `path`, refusing one the port does not cover
    /// before any weights are read.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Self::supported(&open_gguf(path)?.1, path)
    }

    fn supported(content: &gguf_file::Content, path: &Path) -> anyhow::Result<Self> {
        Self::from_gguf(content).with_context(|| format!("{}: unsupported model", path.display()))
    }
}

impl Gemma3 {
    /// Reads `path` (a Gemma 3 GGUF file) and dequantizes every weight to f32 on `device`.
    /// `max_positions` sizes the RoPE tables (the longest training sequence).
    pub fn load(path: &Path, device: &Device, max_positions: usize) -> anyhow::Result<Self> {
        let (mut file, content) = open_gguf(path)?;
        let config = Gemma3Config::supported(&content, path)?;
        let file = &mut file;
        let vector = |file: &mut std::fs::File, name: &str| -> anyhow::Result<Tensor<1>> {
            let (dims, values) = read_f32(&content, file, name)?;
            Ok(Tensor::from_data(
                TensorData::new(values, [dims.iter().product::<usize>()]),
                device,
            ))
        };
        let output_norm = vector(file, "output_norm.weight")?;
        let mut blocks = Vec::with_capacity(config.n_layers);
        for layer in 0..config.n_layers {
            let norm =
                |file: &mut std::fs::File, name: &str| vector(file, &format!("blk.{layer}.{name}"));
            let attn_norm = norm(file, "attn_norm.weight")?;
            let q_norm = norm(file, "attn_q_norm.weight")?;
            let k_norm = norm(file, "attn_k_norm.weight")?;
            let post_attn_norm = norm(file, "post_attention_norm.weight")?;
            let ffn_norm = norm(file, "ffn_norm.weight")?;
            let post_ffn_norm = norm(file, "post_ffw_norm.weight")?;
            let projection =
                |file: &mut std::fs::File, target: Target| -> anyhow::Result<Tensor<2>> {
                    let name = format!("blk.{layer}.{}", target.gguf_name());
                    let (d_in, d_out) = config.projection_shape(target);
                    let (dims, values) = read_matrix(&content, file, &name, true)?;
                    if dims != [d_out, d_in] {
                        bail!(
                            "{}: tensor {name} has shape {dims:?}, expected [{d_out}, {d_in}]",
                            path.display()
                        );
                    }
                    Ok(Tensor::from_data(
                        TensorData::new(values, [d_in, d_out]),
                        device,
                    ))
                };
            let mut projections = Vec::with_capacity(7);
            for target in Target::ALL {
                projections.push(projection(file, target)?);
            }
            let projections: [Tensor<2>; 7] =
                projections.try_into().expect("one projection per target");
            blocks.push(Block {
                attn_norm,
                q_norm,
                k_norm,
                post_attn_norm,
                ffn_norm,
                post_ffn_norm,
                projections,
            });
        }
        let matrix = |file: &mut std::fs::File, name: &str| -> anyhow::Result<Tensor<2>> {
            let (dims, values) = read_matrix(&content, file, name, false)?;
            if dims != [config.vocab_size, config.d_model] {
                bail!(
                    "{}: tensor {name} has shape {dims:?}, expected [{}, {}]",
                    path.display(),
                    config.vocab_size,
                    config.d_model
                );
            }
            Ok(Tensor::from_data(TensorData::new(values, dims), device))
        };
        let token_embedding = matrix(file, "token_embd.weight")?;
        let output = if content.tensor_infos.contains_key("output.weight") {
            Some(matrix(file, "output.weight")?)
        } else {
            None
        };
        let positions = max_positions.min(config.context_length).max(1);
        Ok(Self {
            rope_global: Rope::new(config.head_dim, config.rope_base_global, positions, device),
            rope_local: Rope::new(config.head_dim, config.rope_base_local, positions, device),
            config,
            token_embedding,
            output,
            output_norm,
            blocks,
            device: device.clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The longest sequence the RoPE tables cover.
    pub fn max_positions(&self) -> usize {
        self.rope_global.cos.dims()[0]
    }

    /// The frozen [in, out] weight of `target` in `layer`.
    pub fn projection(&self, layer: usize, target: Target) -> Tensor<2> {
        self.blocks[layer].weight(target).clone()
    }

    /// A copy of the model on another device (the inference copy of a training run).
    pub fn to_device(&self, device: &Device) -> Self {
        let move1 = |t: &Tensor<1>| t.clone().to_device(device);
        let move2 = |t: &Tensor<2>| t.clone().to_device(device);
        Self {
            config: self.config.clone(),
            token_embedding: move2(&self.token_embedding),
            output: self.output.as_ref().map(move2),
            output_norm: move1(&self.output_norm),
            blocks: self
                .blocks
                .iter()
                .map(|b| Block {
                    attn_norm: move1(&b.attn_norm),
                    q_norm: move1(&b.q_norm),
                    k_norm: move1(&b.k_norm),
                    post_attn_norm: move1(&b.post_attn_norm),
                    ffn_norm: move1(&b.ffn_norm),
                    post_ffn_norm: move1(&b.post_ffn_norm),
                    projections: b.projections.clone().map(|p| p.to_device(device)),
                })
                .collect(),
            rope_global: Rope {
                cos: move2(&self.rope_global.cos),
                sin: move2(&self.rope_global.sin),
            },
            rope_local: Rope {
                cos: move2(&self.rope_local.cos),
                sin: move2(&self.rope_local.sin),
            },
            device: device.clone(),
        }
    }

    /// ids [B, T] (right-padded; padding is only ever seen by later padding positions, so
    /// the causal mask suffices) -> final-normed hidden states [B, T, d].
    pub fn hidden_states(&self, ids: Tensor<2, Int>, adapters: Option<&Adapters>) -> Tensor<3> {
        self.hidden_states_after(ids, adapters, None).0
    }

    /// ids [B, T] continuing `past` (a prefix run through the same adapters, from a batch of
    /// one or of B) -> the final-normed hidden states [B, T, d] of the new positions and the
    /// cache of past and new positions together. Without `past`, as [`Self::hidden_states`].
    pub fn hidden_states_after(
        &self,
        ids: Tensor<2, Int>,
        adapters: Option<&Adapters>,
        past: Option<&PrefixCache>,
    ) -> (Tensor<3>, PrefixCache) {
        let [b, t] = ids.dims();
        let c = &self.config;
        let offset = past.map_or(0, PrefixCache::len);
        assert!(
            offset + t <= self.max_positions(),
            "sequence of {} tokens exceeds the RoPE tables ({})",
            offset + t,
            self.max_positions()
        );
        let d = c.d_model;
        // [B·T, d] · sqrt(d)
        let x = self
            .token_embedding
            .clone()
            .select(0, ids.reshape([b * t]))
            .mul_scalar((d as f64).sqrt());
        let mut x = x.reshape([b, t, d]);
        let (global_mask, local_mask) = self.masks(b, offset, t);
        let mut layers = Vec::with_capacity(self.blocks.len());
        for (layer, block) in self.blocks.iter().enumerate() {
            let layer_adapters = adapters.map(|a| &a.layers[layer]);
            let scale = adapters.map_or(0.0, |a| a.scale());
            let (mask, rope) = if c.is_sliding(layer) {
                (local_mask.clone(), &self.rope_local)
            } else {
                (global_mask.clone(), &self.rope_global)
            };
            let past = past.map(|p| &p.layers[layer]);
            let (y, cache) = self.block_forward(block, x, mask, rope, past, layer_adapters, scale);
            x = y;
            layers.push(cache);
        }
        (
            rms_norm(x, &self.output_norm, c.rms_norm_eps),
            PrefixCache { layers },
        )
    }

    /// hidden [N, d] -> logits [N, V].
    pub fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        let table = self.output.as_ref().unwrap_or(&self.token_embedding);
        hidden.matmul(table.clone().transpose())
    }

    /// (global, local) masks [B, H, T, P + T] for T queries after a prefix of P positions,
    /// true where a key is hidden from a query.
    fn masks(&self, b: usize, p: usize, t: usize) -> (Tensor<4, Bool>, Tensor<4, Bool>) {
        let h = self.config.n_heads;
        let window = self.config.sliding_window;
        let keys = p + t;
        let build = |window: Option<usize>| {
            let hidden: Vec<bool> = (p..keys)
                .flat_map(|q| (0..keys).map(move |k| !(k <= q && window.is_none_or(|w| q - k < w))))
                .collect();
            Tensor::<2, Bool>::from_data(TensorData::new(hidden, [t, keys]), &self.device)
                .reshape([1, 1, t, keys])
                .expand([b, h, t, keys])
        };
        (build(None), build(Some(window)))
    }

    /// One block over x [B, T, d] after `past` (its keys and values [1 or B, KVH, P, Dh]);
    /// returns the block's output and its keys and values of all P + T positions.
    #[allow(clippy::too_many_arguments)]
    fn block_forward(
        &self,
        block: &Block,
        x: Tensor<3>,
        mask: Tensor<4, Bool>,
        rope: &Rope,
        past: Option<&LayerCache>,
        adapters: Option<&LayerAdapters>,
        scale: f64,
    ) -> (Tensor<3>, LayerCache) {
        let c = &self.config;
        let [b, t, _] = x.dims();
        let (h, kvh, dh) = (c.n_heads, c.n_kv_heads, c.head_dim);
        let eps = c.rms_norm_eps;
        let adapter = |target: Target| adapters.and_then(|a| a.get(target));
        let project =
            |x: Tensor<3>, target: Target| project(x, block.weight(target), adapter(target), scale);

        // Attention.
        let normed = rms_norm(x.clone(), &block.attn_norm, eps);
        // [B, T, H·Dh] -> [B, H, T, Dh]
        let q = project(normed.clone(), Target::Q)
            .reshape([b, t, h, dh])
            .swap_dims(1, 2);
        let k = project(normed.clone(), Target::K)
            .reshape([b, t, kvh, dh])
            .swap_dims(1, 2);
        let v = project(normed, Target::V)
            .reshape([b, t, kvh, dh])
            .swap_dims(1, 2);
        let offset = past.map_or(0, |p| p.k.dims()[2]);
        let q = rope.apply(rms_norm(q, &block.q_norm, eps), offset);
        let k = rope.apply(rms_norm(k, &block.k_norm, eps), offset);
        // [B, KVH, P + T, Dh]
        let (k, v) = match past {
            None => (k, v),
            Some(past) => {
                let rows = |x: &Tensor<4>| x.clone().expand([b, kvh, offset, dh]);
                (
                    Tensor::cat(vec![rows(&past.k), k], 2),
                    Tensor::cat(vec![rows(&past.v), v], 2),
                )
            }
        };
        let cache = LayerCache {
            k: k.clone(),
            v: v.clone(),
        };
        let keys = offset + t;
        // Grouped-query attention: each key/value head serves H / KVH query heads.
        let repeat = |x: Tensor<4>| {
            if kvh == h {
                x
            } else {
                x.reshape([b, kvh, 1, keys, dh])
                    .expand([b, kvh, h / kvh, keys, dh])
                    .reshape([b, h, keys, dh])
            }
        };
        let (k, v) = (repeat(k), repeat(v));
        // [B, H, T, P + T]
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (dh as f64).sqrt())
            .mask_fill(mask, -1e9);
        let attended = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b, t, h * dh]);
        let attended = project(attended, Target::O);
        let x = x + rms_norm(attended, &block.post_attn_norm, eps);

        // GELU-gated feed-forward.
        let normed = rms_norm(x.clone(), &block.ffn_norm, eps);
        let gate = gelu_tanh(project(normed.clone(), Target::Gate));
        let up = project(normed, Target::Up);
        let down = project(gate * up, Target::Down);
        (x + rms_norm(down, &block.post_ffn_norm, eps), cache)
    }
}

/// x [..., in] · w [in, out] (+ scale · x · A · B), with the leading dimensions flattened
/// into one matmul (see signscope_nn::linear for why).
fn project(x: Tensor<3>, weight: &Tensor<2>, adapter: Option<&Adapter>, scale: f64) -> Tensor<3> {
    let [b, t, d_in] = x.dims();
    let d_out = weight.dims()[1];
    let x = x.reshape([b * t, d_in]);
    let mut y = x.clone().matmul(weight.clone());
    if let Some(adapter) = adapter {
        y = y + adapter.delta(x).mul_scalar(scale);
    }
    y.reshape([b, t, d_out])
}

/// GELU, tanh approximation: 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))), as
/// burn's `gelu_approximate`, but with x³ multiplied out: burn raises to the power 3 with
/// `powf`, which cost 4 % of a rescoring run.
fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube * 0.044715) * SQRT_2_OVER_PI;
    (x * (tanh(inner) + 1)) * 0.5
}

/// x / sqrt(mean(x²) + eps) · w over the last dimension.
fn rms_norm<const D: usize>(x: Tensor<D>, weight: &Tensor<1>, eps: f64) -> Tensor<D> {
    let n = weight.dims()[0];
    let rms = x
        .clone()
        .powi_scalar(2)
        .mean_dim(D - 1)
        .add_scalar(eps)
        .sqrt();
    let mut shape = [1usize; D];
    shape[D - 1] = n;
    (x / rms) * weight.clone().reshape(shape)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small Gemma 3 with random weights: grouped-query attention, a sliding window of 3
    /// on layers 0 and 2, global attention on layer 1.
    pub(crate) fn random_model(device: &Device) -> Gemma3 {
        let config = Gemma3Config {
            vocab_size: 50,
            d_model: 16,
            n_layers: 3,
            n_heads: 4,
            n_kv_heads: 2,
            head_dim: 8,
            d_ff: 32,
            rms_norm_eps: 1e-6,
            sliding_window: 3,
            sliding_window_type: 2,
            rope_base_global: 1_000_000.0,
            rope_base_local: 10_000.0,
            context_length: 64,
        };
        let normal = |shape: [usize; 2], std: f64| {
            Tensor::<2>::random(shape, burn::tensor::Distribution::Normal(0.0, std), device)
        };
        let norm = |n: usize| {
            Tensor::<1>::random([n], burn::tensor::Distribution::Uniform(0.5, 1.5), device)
        };
        let blocks = (0..config.n_layers)
            .map(|_| Block {
                attn_norm: norm(config.d_model),
                q_norm: norm(config.head_dim),
                k_norm: norm(config.head_dim),
                post_attn_norm: norm(config.d_model),
                ffn_norm: norm(config.d_model),
                post_ffn_norm: norm(config.d_model),
                projections: Target::ALL.map(|target| {
                    let (d_in, d_out) = config.projection_shape(target);
                    normal([d_in, d_out], 0.3)
                }),
            })
            .collect();
        Gemma3 {
            token_embedding: normal([config.vocab_size, config.d_model], 1.0),
            output: None,
            output_norm: norm(config.d_model),
            blocks,
            rope_global: Rope::new(config.head_dim, config.rope_base_global, 16, device),
            rope_local: Rope::new(config.head_dim, config.rope_base_local, 16, device),
            config,
            device: device.clone(),
        }
    }

    fn ids(rows: &[&[i64]], device: &Device) -> Tensor<2, Int> {
        let t = rows[0].len();
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), t]), device)
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    #[test]
    fn continuing_a_cached_prefix_equals_running_the_whole_sequence() {
        let device = Device::flex();
        let model = random_model(&device);
        let d = model.config.d_model;
        // Two rows sharing a 5-token prefix, longer than the sliding window of 3.
        let prefix: &[i64] = &[3, 14, 15, 9, 26];
        let tails: [&[i64]; 2] = [&[5, 35, 8], &[49, 7, 0]];
        let whole: Vec<Vec<i64>> = tails.iter().map(|t| [prefix, t].concat()).collect();
        let full = model.hidden_states(
            ids(&[whole[0].as_slice(), whole[1].as_slice()], &device),
            None,
        );
        let expected = values(full.narrow(1, 5, 3));

        let (prefix_hidden, cache) = model.hidden_states_after(ids(&[prefix], &device), None, None);
        assert_eq!(cache.len(), 5);
        assert_eq!(prefix_hidden.dims(), [1, 5, d]);
        // The prefix cache of one row continues both rows.
        let (continued, both) = model.hidden_states_after(ids(&tails, &device), None, Some(&cache));
        assert_eq!(both.len(), 8);
        assert_close(&values(continued), &expected);
        // So does a cache built one token at a time (the last step: one query, 8 keys).
        let (_, mut cache) = model.hidden_states_after(ids(&[&prefix[..1]], &device), None, None);
        for &token in &prefix[1..] {
            cache = model
                .hidden_states_after(ids(&[&[token]], &device), None, Some(&cache))
                .1;
        }
        let (continued, _) = model.hidden_states_after(ids(&tails, &device), None, Some(&cache));
        assert_close(&values(continued), &expected);
    }

    #[test]
    fn matrices_read_a_few_rows_at_a_time_equal_whole_dequantization() {
        use candle_core::quantized::{GgmlDType, QTensor};
        let cpu = candle_core::Device::Cpu;
        // 150 rows (not a multiple of the 64-row step) of 256 values (one Q4_K block).
        let values: Vec<f32> = (0..150 * 256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let tensor = candle_core::Tensor::from_vec(values, (150, 256), &cpu).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.gguf");
        let quantized = [GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::F32]
            .map(|dtype| QTensor::quantize(&tensor, dtype).unwrap());
        let names = ["q8", "q4k", "f32"];
        let tensors: Vec<(&str, &QTensor)> = names.iter().copied().zip(&quantized).collect();
        let mut file = std::fs::File::create(&path).unwrap();
        gguf_file::write(&mut file, &[], &tensors).unwrap();
        drop(file);
        let (mut file, content) = open_gguf(&path).unwrap();
        for name in names {
            let (dims, whole) = read_f32(&content, &mut file, name).unwrap();
            assert_eq!(dims, [150, 256]);
            let (stored_dims, rows) = read_matrix(&content, &mut file, name, false).unwrap();
            assert_eq!(stored_dims, [150, 256]);
            assert_eq!(rows, whole, "{name}");
            let (_, transposed) = read_matrix(&content, &mut file, name, true).unwrap();
            assert_eq!(transposed, transpose(&whole, 150, 256), "{name}");
        }
        // A vector is refused, naming the tensor.
        let bias = QTensor::quantize(&tensor.flatten_all().unwrap(), GgmlDType::F32).unwrap();
        let path = tmp.path().join("v.gguf");
        let mut file = std::fs::File::create(&path).unwrap();
        gguf_file::write(&mut file, &[], &[("bias", &bias)]).unwrap();
        drop(file);
        let (mut file, content) = open_gguf(&path).unwrap();
        let err = read_matrix(&content, &mut file, "bias", true).unwrap_err();
        assert!(format!("{err:#}").contains("bias"), "{err:#}");
    }

    #[test]
    fn gelu_tanh_equals_burns_gelu_approximate() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(
            TensorData::new((0..64).map(|i| (i as f32 - 32.0) / 6.0).collect(), [8, 8]),
            &device,
        );
        assert_close(
            &values(gelu_tanh(x.clone())),
            &values(burn::tensor::activation::gelu_approximate(x)),
        );
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn rope_at_position_zero_is_identity_and_preserves_norms() {
        let device = Device::flex();
        let rope = Rope::new(8, 10_000.0, 4, &device);
        let values: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [1, 1, 4, 8]), &device);
        let y = rope.apply(x.clone(), 0);
        let first = |t: Tensor<4>| t.narrow(2, 0, 1).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(first(x.clone()), first(y.clone()));
        let norms = |t: Tensor<4>| {
            t.powi_scalar(2)
                .sum_dim(3)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        for (a, b) in norms(x.clone()).iter().zip(norms(y.clone())) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        // Position 1 of the first pair rotates by angle 1 (theta_0 = 1).
        let x = x.into_data().try_into_vec::<f32>().unwrap();
        let y = y.into_data().try_into_vec::<f32>().unwrap();
        let (x1, x2) = (x[8], x[12]);
        assert!((y[8] - (x1 * 1f32.cos() - x2 * 1f32.sin())).abs() < 1e-6);
        assert!((y[12] - (x1 * 1f32.sin() + x2 * 1f32.cos())).abs() < 1e-6);
    }
}
