//! The `slr.toml` file: `[model]` sizes, `[data]` inputs and `[training]` for both stages.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use signscope_corpus::manifest::Split;
use signscope_nn::config::TrainingConfig;
use signscope_pose::augment::AugmentConfig;
use signscope_pose::preprocess::ScopeConfig;

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
    /// Ablation switch (SCOPE Table 4, "w/o embedding encoder"): off = no Embedding
    /// Alignment Encoder and no stage 1; the gloss encoder reads the motion features directly
    /// and the motion extractor trains with it.
    pub alignment_encoder: bool,
    /// Stage 2 keeps stage 1 (motion extractor + alignment encoder) frozen, as the paper
    /// does. Off = stage 1's weights only initialize them and CTC (+ MWER) fine-tunes them
    /// with the gloss encoder. On semi-synthetic PHOENIX-2014T (1,085 glosses) the frozen
    /// features of a short stage 1 do not separate the glosses (README), so this is a switch.
    pub freeze_stage1: bool,
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
            alignment_encoder: true,
            freeze_stage1: true,
            dropout: 0.1,
            max_positions: 1024,
        }
    }
}

impl SlrModelConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.d_model == 0 || self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!(
                "d_model {} must be a positive multiple of n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if self.context_turns == 0 && !(self.aligned_token && self.alignment_encoder) {
            return Err("context_turns must be at least 1 (use [data] use_context = false for a context-free model)".into());
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
    /// JSONL manifests (signscope-corpus `Record`s with `pose`, `glosses`, `text`, `context`);
    /// relative paths are resolved against the config file's folder.
    pub train: PathBuf,
    pub dev: PathBuf,
    /// Which records of each manifest to use (`"all"` = every record).
    pub train_split: SplitFilter,
    pub dev_split: SplitFilter,
    /// Feed previous turns to the gloss encoder; off = the paper's context-free model.
    pub use_context: bool,
    /// Geometric/temporal augmentation during training (see `[augment]`).
    pub augment: bool,
    /// Gloss cleanup applied to hypotheses and references before WER
    /// (`none`, `phoenix2014`, `phoenix2014t`).
    pub cleanup: String,
    /// Feature-loading threads (0 = all cores).
    pub threads: usize,
}

/// A manifest split to keep, or every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitFilter {
    Train,
    Dev,
    Test,
    All,
}

impl SplitFilter {
    pub fn split(self) -> Option<Split> {
        match self {
            SplitFilter::Train => Some(Split::Train),
            SplitFilter::Dev => Some(Split::Dev),
            SplitFilter::Test => Some(Split::Test),
            SplitFilter::All => None,
        }
    }
}

impl Default for SlrDataConfig {
    fn default() -> Self {
        Self {
            train: "manifest.jsonl".into(),
            dev: "manifest.jsonl".into(),
            train_split: SplitFilter::Train,
            dev_split: SplitFilter::Dev,
            use_context: true,
            augment: true,
            cleanup: "none".into(),
            threads: 0,
        }
    }
}

/// Where the sentence embeddings of targets and context turns come from. The recognizer
/// stores this with the model: context turns at inference are embedded the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// `minilm` (all-MiniLM-L6-v2, English), `e5` (multilingual-e5-small), `http`
    /// (OpenAI-compatible /v1/embeddings) or `hashed` (a bag-of-words hash: tests only).
    pub backend: String,
    /// Model folder or file for `minilm` / `e5` (default: under $SIGNSCOPE_ASSETS or .assets).
    pub model: Option<PathBuf>,
    /// `http`: base URL and model name.
    pub url: Option<String>,
    pub model_name: Option<String>,
    /// `hashed`: vector size.
    pub size: usize,
    /// Cache folder for computed vectors (none = no cache).
    pub cache: Option<PathBuf>,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        Self {
            backend: "minilm".into(),
            model: None,
            url: None,
            model_name: None,
            size: 64,
            cache: None,
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
    /// Output folder: `alignment/` and `gloss/` training runs, `vocab.txt`, `stats.json`,
    /// `config.toml` (as resolved) and the final `model.bpk`.
    pub run_dir: PathBuf,
    pub model: SlrModelConfig,
    pub data: SlrDataConfig,
    /// SCOPE preprocessing switches (eye scale, centralization, standardization).
    pub features: ScopeConfig,
    pub augment: AugmentConfig,
    pub embedding: EmbeddingConfig,
    pub loss: SlrLossConfig,
    /// Stage 1: embedding alignment with `L_emb` (paper: 20 epochs).
    pub alignment: TrainingConfig,
    /// Stage 2: gloss encoder with CTC (+ MWER), stage 1 frozen (paper: 60 epochs).
    pub gloss: TrainingConfig,
}

impl SlrConfig {
    /// Reads a TOML config. Relative paths (data, run folder, models, caches) are relative
    /// to the working directory, as in joeynmt: run from the repository root.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::load_with(path, &[])
    }

    /// [`SlrConfig::load`] with `section.key=value` overrides applied on top of the file
    /// (values in TOML syntax; a bare word is taken as a string), e.g.
    /// `data.use_context=false`, `features.eye_scale="none"`, `run_dir=runs/ablation`.
    pub fn load_with(path: &Path, overrides: &[String]) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut table: toml::Table = signscope_nn::config::parse_toml(&text, path)?;
        for item in overrides {
            apply_override(&mut table, item).with_context(|| format!("--set {item}"))?;
        }
        let config: SlrConfig = table
            .try_into()
            .map_err(|e| anyhow::anyhow!("{}: invalid configuration: {e}", path.display()))?;
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.model.validate().map_err(|e| format!("[model] {e}"))?;
        self.alignment
            .validate()
            .map_err(|e| format!("[alignment] {e}"))?;
        self.gloss.validate().map_err(|e| format!("[gloss] {e}"))?;
        if self.loss.mwer_weight > 0.0
            && (self.loss.mwer_n_best == 0 || self.loss.beam_width < self.loss.mwer_n_best)
        {
            return Err("[loss] MWER needs mwer_n_best >= 1 and beam_width >= mwer_n_best".into());
        }
        if !["none", "phoenix2014", "phoenix2014t"].contains(&self.data.cleanup.as_str()) {
            return Err(format!(
                "[data] cleanup = {:?}: expected none, phoenix2014 or phoenix2014t",
                self.data.cleanup
            ));
        }
        Ok(())
    }

    /// Longest input in frames the sinusoidal positions were sized for.
    pub fn max_frames(&self) -> usize {
        self.model.max_positions * self.model.temporal_stride
    }
}

fn apply_override(table: &mut toml::Table, item: &str) -> anyhow::Result<()> {
    let (key, value) = item.split_once('=').context("expected KEY=VALUE")?;
    let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(value.to_string()),
    };
    let mut parts: Vec<&str> = key.trim().split('.').collect();
    let last = parts.pop().filter(|k| !k.is_empty()).context("empty key")?;
    let mut node = table;
    for part in parts {
        node = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("{part} is not a section"))?;
    }
    node.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_nested_values_and_typos_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "run_dir = \"a\"\n[data]\nuse_context = true\n").unwrap();
        let sets = [
            "data.use_context=false",
            "run_dir=runs/b",
            "features.eye_scale=\"none\"",
            "gloss.epochs=3",
        ]
        .map(String::from);
        let config = SlrConfig::load_with(&path, &sets).unwrap();
        assert!(!config.data.use_context);
        assert_eq!(config.run_dir, PathBuf::from("runs/b"));
        assert_eq!(config.gloss.epochs, 3);
        let err = SlrConfig::load_with(&path, &["data.use_contxt=false".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("use_contxt"), "{err:#}");
    }
}
