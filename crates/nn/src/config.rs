//! Model and training settings, read from the `[model]` and `[training]` sections of a TOML
//! run configuration (joeynmt's layout: `[data]`, `[model]`, `[training]`; the `[data]`
//! section belongs to the task crate).

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionEncoding {
    Sinusoidal,
    Learned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Gelu,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    /// Residual, embedding and feed-forward dropout.
    pub dropout: f64,
    pub attention_dropout: f64,
    pub activation: Activation,
    pub positions: PositionEncoding,
    /// Longest sequence (in tokens, BOS/EOS included) the model accepts.
    pub max_positions: usize,
    /// Share the target embedding matrix with the output projection (Press & Wolf 2017).
    pub tie_output_embedding: bool,
    /// Multiply embeddings by sqrt(d_model) before adding positions.
    pub scale_embeddings: bool,
    /// The encoder reads the target embedding matrix too (three-way tying, Press & Wolf
    /// 2017); needs one vocabulary for both sides.
    pub tie_source_embedding: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            d_model: 256,
            n_heads: 4,
            d_ff: 1024,
            encoder_layers: 3,
            decoder_layers: 3,
            dropout: 0.3,
            attention_dropout: 0.1,
            activation: Activation::Relu,
            positions: PositionEncoding::Sinusoidal,
            max_positions: 256,
            tie_output_embedding: true,
            scale_embeddings: true,
            tie_source_embedding: false,
        }
    }
}

impl ModelConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.d_model == 0 || self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!(
                "model.d_model ({}) must be a positive multiple of model.n_heads ({})",
                self.d_model, self.n_heads
            ));
        }
        if self.positions == PositionEncoding::Sinusoidal && !self.d_model.is_multiple_of(2) {
            return Err(format!(
                "model.d_model ({}) must be even for sinusoidal positions",
                self.d_model
            ));
        }
        for (name, p) in [
            ("model.dropout", self.dropout),
            ("model.attention_dropout", self.attention_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("{name} = {p} is outside [0, 1)"));
            }
        }
        if self.encoder_layers == 0 || self.decoder_layers == 0 || self.d_ff == 0 {
            return Err(
                "model.encoder_layers, model.decoder_layers and model.d_ff must be positive".into(),
            );
        }
        if self.max_positions < 2 {
            return Err("model.max_positions must be at least 2".into());
        }
        Ok(())
    }
}

/// Learning-rate schedule; the rate is a pure function of the step, so a resumed run needs no
/// scheduler state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Linear warmup to `learning_rate`, then cosine decay to `min_learning_rate` at `total_steps`.
    WarmupCosine {
        warmup_steps: usize,
        min_learning_rate: f64,
    },
    /// Vaswani et al.'s schedule: `factor · D^-0.5 · min(step^-0.5, step · warmup^-1.5)`;
    /// `learning_rate` is ignored.
    Noam {
        warmup_steps: usize,
        factor: f64,
    },
    Constant,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::WarmupCosine {
            warmup_steps: 1000,
            min_learning_rate: 1e-5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Where checkpoints, vocabularies and logs go.
    pub run_dir: String,
    pub seed: u64,
    /// Sentences per batch.
    pub batch_size: usize,
    pub epochs: usize,
    /// Stop after this many optimizer steps even if epochs remain (0 = no limit).
    pub max_steps: usize,
    pub learning_rate: f64,
    pub schedule: Schedule,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    /// Clip the global gradient L2 norm (0 = no clipping).
    pub clip_grad_norm: f64,
    pub label_smoothing: f64,
    /// Evaluate on dev every this many steps (and at the end of each epoch when 0).
    pub eval_every: usize,
    /// Write a resumable checkpoint every this many steps (0 = at each evaluation).
    pub checkpoint_every: usize,
    /// How many recent checkpoints to keep on disk.
    pub keep_last: usize,
    /// Average the parameters of the last N evaluated checkpoints at the end (0/1 = off).
    pub average_last: usize,
    /// Stop when the dev score has not improved for this many evaluations (0 = never).
    pub patience: usize,
    pub beam_size: usize,
    pub beam_alpha: f64,
    /// Limit the dev set during training evaluation (0 = all).
    pub eval_max_sentences: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            run_dir: "runs/model".into(),
            seed: 42,
            batch_size: 64,
            epochs: 30,
            max_steps: 0,
            learning_rate: 5e-4,
            schedule: Schedule::default(),
            weight_decay: 1e-3,
            adam_beta1: 0.9,
            adam_beta2: 0.98,
            clip_grad_norm: 1.0,
            label_smoothing: 0.1,
            eval_every: 0,
            checkpoint_every: 0,
            keep_last: 5,
            average_last: 5,
            patience: 0,
            beam_size: 4,
            beam_alpha: 1.0,
            eval_max_sentences: 0,
        }
    }
}

impl TrainingConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("training.batch_size must be positive".into());
        }
        if self.epochs == 0 && self.max_steps == 0 {
            return Err("one of training.epochs or training.max_steps must be positive".into());
        }
        if self.learning_rate.is_nan() || self.learning_rate <= 0.0 {
            return Err(format!(
                "training.learning_rate = {} must be positive",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(format!(
                "training.label_smoothing = {} is outside [0, 1)",
                self.label_smoothing
            ));
        }
        if self.beam_size == 0 {
            return Err("training.beam_size must be at least 1".into());
        }
        if self.keep_last == 0 {
            return Err(
                "training.keep_last must be at least 1 (resuming needs the latest checkpoint)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Parses TOML text into `T`, naming the file and (through toml's error) the offending line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> anyhow::Result<T> {
    toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: invalid configuration: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Both {
        #[serde(default)]
        model: ModelConfig,
        #[serde(default)]
        training: TrainingConfig,
    }

    #[test]
    fn defaults_and_overrides_parse() {
        let text = "[model]\nd_model = 64\nn_heads = 2\n[training]\nschedule = { kind = \"noam\", warmup_steps = 10, factor = 2.0 }\n";
        let both: Both = parse_toml(text, Path::new("x.toml")).unwrap();
        assert_eq!(both.model.d_model, 64);
        assert_eq!(both.model.d_ff, 1024);
        assert_eq!(
            both.training.schedule,
            Schedule::Noam {
                warmup_steps: 10,
                factor: 2.0
            }
        );
        both.model.validate().unwrap();
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let err =
            parse_toml::<Both>("[model]\nd_modle = 64\n", Path::new("cfg/run.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cfg/run.toml"), "{msg}");
        assert!(msg.contains("d_modle"), "{msg}");
    }

    #[test]
    fn wrong_type_is_reported_with_line() {
        let err = parse_toml::<Both>("[training]\nbatch_size = \"big\"\n", Path::new("r.toml"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("batch_size") && msg.contains("line 2"),
            "{msg}"
        );
    }

    #[test]
    fn inconsistent_heads_rejected() {
        let config = ModelConfig {
            d_model: 100,
            n_heads: 3,
            ..Default::default()
        };
        assert!(config.validate().unwrap_err().contains("n_heads"));
    }
}
