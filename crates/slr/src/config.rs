//! The `slr.toml` file: `[model]` sizes, `[data]` inputs and `[training]` for both stages.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use signscope_nn::config::TrainingConfig;

/// Sizes of the SCOPE recognizer. Paper preset (Implementation Details): 8 heads, 2 alignment
/// + 4 gloss layers, hidden 1568, feed-forward 3136; see `configs/paper.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlrModelConfig {
    /// SCOPE keypoints per frame (77) × 2 coordinates.
    pub input_points: usize,
    /// Hidden width of the per-frame 2-layer MLP.
    pub mlp_hidden: usize,
    /// Transformer width `d`.
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub alignment_layers: usize,
    pub gloss_layers: usize,
    /// Temporal Conv1D of the motion feature extractor.
    pub temporal_kernel: usize,
    pub temporal_stride: usize,
    /// Size `E` of the sentence embeddings (target sentence and context turns).
    pub embedding_size: usize,
    /// How many previous turns feed the gloss encoder (the paper keeps 3).
    pub context_turns: usize,
    /// Also feed the pooled, aligned motion embedding `E_out` to the gloss encoder as one more
    /// token. The paper says the aligned embedding is "combined with the motion features";
    /// eq. 3 only names `E_t` and `E_A`, so this is a switch.
    pub aligned_token: bool,
    pub dropout: f64,
    /// Longest motion sequence after the temporal stride (sinusoidal positions).
    pub max_positions: usize,
}

impl Default for SlrModelConfig {
    fn default() -> Self {
        Self {
            input_points: 77,
            mlp_hidden: 256,
            d_model: 128,
            n_heads: 4,
            d_ff: 256,
            alignment_layers: 2,
            gloss_layers: 2,
            temporal_kernel: 5,
            temporal_stride: 2,
            embedding_size: 64,
            context_turns: 3,
            aligned_token: true,
            dropout: 0.1,
            max_positions: 1024,
        }
    }
}

impl SlrModelConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.d_model == 0 || self.n_heads == 0 || self.d_model % self.n_heads != 0 {
            return Err(format!(
                "d_model {} must be a positive multiple of n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if self.temporal_kernel == 0 || self.temporal_stride == 0 {
            return Err("temporal_kernel and temporal_stride must be positive".into());
        }
        if self.embedding_size == 0
            || self.input_points == 0
            || self.mlp_hidden == 0
            || self.d_ff == 0
        {
            return Err("sizes must be positive".into());
        }
        Ok(())
    }

    /// Motion steps `T'` produced from `frames` input frames by the temporal Conv1D
    /// (padding `kernel / 2`).
    pub fn motion_steps(&self, frames: usize) -> usize {
        let pad = self.temporal_kernel / 2;
        (frames + 2 * pad).saturating_sub(self.temporal_kernel) / self.temporal_stride + 1
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlrDataConfig {
    /// JSONL manifests (signscope-corpus `Record`s with `pose`, `glosses`, `text`, `context`).
    pub train: PathBuf,
    pub dev: PathBuf,
    /// Feed previous turns to the gloss encoder; off = the paper's context-free model.
    pub use_context: bool,
    /// Geometric augmentation during training (signscope-pose `Augmenter`).
    pub augment: bool,
}

impl Default for SlrDataConfig {
    fn default() -> Self {
        Self {
            train: "train.jsonl".into(),
            dev: "dev.jsonl".into(),
            use_context: true,
            augment: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlrLossConfig {
    /// Weight of `L_MWER` (eq. 5) next to `L_CTC` in stage 2 (0 = off).
    pub mwer_weight: f64,
    /// N-best size for MWER (the paper uses the top 3).
    pub mwer_n_best: usize,
    /// Prefix beam width for MWER hypotheses and decoding.
    pub beam_width: usize,
}

impl Default for SlrLossConfig {
    fn default() -> Self {
        Self {
            mwer_weight: 1.0,
            mwer_n_best: 3,
            beam_width: 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SlrConfig {
    pub model: SlrModelConfig,
    pub data: SlrDataConfig,
    pub loss: SlrLossConfig,
    /// Stage 1: embedding alignment with `L_emb` (paper: 20 epochs).
    pub alignment: TrainingConfig,
    /// Stage 2: gloss encoder with CTC (+ MWER), stage 1 frozen (paper: 60 epochs).
    pub gloss: TrainingConfig,
}

impl SlrConfig {
    /// Reads a TOML config; relative data paths are resolved against the file's directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config: SlrConfig =
            toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))?;
        config
            .model
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: [model] {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut config.data.train, &mut config.data.dev] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }
}
