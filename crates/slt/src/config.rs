//! Run configuration for gloss→text (and the reversed text→gloss) translation: a TOML file with
//! `[data]`, `[model]` and `[training]` sections, in the spirit of joeynmt's YAML configs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use signscope_nn::config::{ModelConfig, TrainingConfig, parse_toml};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// RWTH-PHOENIX-Weather-2014T: `phoenix-2014t/PHOENIX-2014-T.{split}.corpus.csv`
    Phoenix2014t,
    /// CSL-Daily: `csl-daily/csl-daily.{split}.tsv`
    CslDaily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    GlossToText,
    TextToGloss,
    /// SignMST-C's text-correction network: text → text, trained to restore clean sentences
    /// of the corpus from copies with injected errors (see [`NoiseConfig`]). Applied to a
    /// translator's output.
    TextCorrection,
}

impl Dataset {
    /// The name a configuration file uses (`data.dataset = "…"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Phoenix2014t => "phoenix2014t",
            Dataset::CslDaily => "csl_daily",
        }
    }
}

impl Direction {
    /// The name a configuration file uses (`data.direction = "…"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::GlossToText => "gloss_to_text",
            Direction::TextToGloss => "text_to_gloss",
            Direction::TextCorrection => "text_correction",
        }
    }
}

/// The error injection of SignMST-C's text-correction pretraining: "random shuffling,
/// deletion, substitution, or insertion of words", mixed with authentic (clean) text. The
/// paper gives no rates; these defaults corrupt about a quarter of the tokens. Fresh noise is
/// drawn every epoch from (seed, epoch), so a resumed run sees the same data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Share of training sentences left clean (the model must also learn to copy).
    pub clean: f64,
    /// Per-token probability of dropping it (a sentence keeps at least one token).
    pub delete: f64,
    /// Per-token probability of replacing it by a word drawn from the training unigram
    /// distribution (frequent words are the likeliest confusions).
    pub substitute: f64,
    /// Per-token probability of inserting a unigram-drawn word after it.
    pub insert: f64,
    /// Probability that a sentence's word order is perturbed.
    pub shuffle: f64,
    /// How far a shuffled word may move: Lample et al. (2018)'s local permutation,
    /// `sort(i + U[0, k + 1))`, so no word moves more than k places.
    pub shuffle_window: usize,
    /// Per-token probability of masking a word as `<unk>` on both sides, so the network
    /// learns to pass through words it does not know (they are put back after decoding).
    pub unknown: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            clean: 0.2,
            delete: 0.08,
            substitute: 0.08,
            insert: 0.05,
            shuffle: 0.3,
            shuffle_window: 3,
            unknown: 0.02,
        }
    }
}

impl NoiseConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("data.noise.clean", self.clean),
            ("data.noise.delete", self.delete),
            ("data.noise.substitute", self.substitute),
            ("data.noise.insert", self.insert),
            ("data.noise.shuffle", self.shuffle),
            ("data.noise.unknown", self.unknown),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} = {p} is outside [0, 1]"));
            }
        }
        if self.delete >= 1.0 {
            return Err("data.noise.delete must be below 1".into());
        }
        Ok(())
    }
}

/// How spoken-language text is split into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextLevel {
    /// Whitespace-separated words (German).
    Word,
    /// One token per character, whitespace dropped (Chinese).
    Char,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: Dataset,
    pub direction: Direction,
    pub text_level: TextLevel,
    /// Folder holding the corpus folders; default `$SIGNSCOPE_SHARED/data`, else
    /// `../shared/data` (relative to the working directory).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Lower-case the text side (sacrebleu scoring in signjoey is lower-cased).
    #[serde(default = "yes")]
    pub lowercase_text: bool,
    /// Tokens seen fewer times in training map to `<unk>`.
    #[serde(default = "one")]
    pub source_min_freq: usize,
    #[serde(default = "one")]
    pub target_min_freq: usize,
    /// Training pairs with a side longer than this (tokens) are skipped.
    #[serde(default = "max_len")]
    pub max_length: usize,
    /// Split the target text into byte-pair-encoding subwords learned with this many merges
    /// on the training targets (`crate::subword`); 0 keeps whole words. Only for word-level
    /// gloss → text; scoring stays on whole words.
    #[serde(default)]
    pub target_subwords: usize,
    /// Gloss → text training only: each source gloss becomes `<unk>` with this probability,
    /// drawn afresh every epoch (word dropout, a data augmentation for small corpora).
    #[serde(default)]
    pub source_word_dropout: f64,
    /// Gloss → text only: one vocabulary for both sides, the glosses written the way the
    /// text is (`crate::data::glosses_as_text`: lower-cased like the text, split into
    /// characters for character-level text), so a gloss and the word or characters it
    /// stands for are one token. With `model.tie_source_embedding` they share one vector.
    #[serde(default)]
    pub shared_vocabulary: bool,
    /// More training pairs beside the corpus's train split: manifests (JSON lines with
    /// "glosses" and "text", e.g. synthetic pairs from `signscope augment`), relative to the
    /// working directory. The vocabularies still come from the train split alone, so a model
    /// trained with them shares its vocabularies with one trained without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_train: Vec<PathBuf>,
    /// Error injection for `direction = "text_correction"` (ignored otherwise).
    #[serde(default)]
    pub noise: NoiseConfig,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn max_len() -> usize {
    120
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SltConfig {
    pub data: DataConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub training: TrainingConfig,
}

impl SltConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let config: SltConfig = parse_toml(text, path)?;
        config
            .model
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        config
            .training
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let dropout = config.data.source_word_dropout;
        if !(0.0..1.0).contains(&dropout) {
            anyhow::bail!(
                "{}: data.source_word_dropout must be in [0, 1), got {dropout}",
                path.display()
            );
        }
        if dropout > 0.0 && config.data.direction != Direction::GlossToText {
            anyhow::bail!(
                "{}: data.source_word_dropout needs direction = \"gloss_to_text\"",
                path.display()
            );
        }
        if config.data.target_subwords > 0
            && (config.data.direction != Direction::GlossToText
                || config.data.text_level != TextLevel::Word)
        {
            anyhow::bail!(
                "{}: data.target_subwords needs direction = \"gloss_to_text\" and text_level = \"word\"",
                path.display()
            );
        }
        if config.data.shared_vocabulary
            && (config.data.direction != Direction::GlossToText || config.data.target_subwords > 0)
        {
            anyhow::bail!(
                "{}: data.shared_vocabulary needs direction = \"gloss_to_text\" without data.target_subwords",
                path.display()
            );
        }
        if config.model.tie_source_embedding
            && !(config.data.shared_vocabulary
                || config.data.direction == Direction::TextCorrection)
        {
            anyhow::bail!(
                "{}: model.tie_source_embedding needs one vocabulary for both sides: set data.shared_vocabulary = true",
                path.display()
            );
        }
        config
            .data
            .noise
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if config.data.max_length + 2 > config.model.max_positions {
            anyhow::bail!(
                "{}: data.max_length ({}) + 2 exceeds model.max_positions ({})",
                path.display(),
                config.data.max_length,
                config.model.max_positions
            );
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("configuration serializes")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.resolved_data_dir()
    }
}

impl DataConfig {
    /// `data_dir` when set, else $SIGNSCOPE_SHARED/data, else ../shared/data.
    pub fn resolved_data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        match std::env::var_os("SIGNSCOPE_SHARED") {
            Some(shared) => PathBuf::from(shared).join("data"),
            None => PathBuf::from("../shared/data"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[data]\ndataset = \"phoenix2014t\"\ndirection = \"gloss_to_text\"\ntext_level = \"word\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let config = SltConfig::parse(MINIMAL, Path::new("m.toml")).unwrap();
        assert_eq!(config.model.d_model, 256);
        assert!(config.data.lowercase_text);
        let again = SltConfig::parse(&config.to_toml(), Path::new("again.toml")).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn errors_name_the_file_and_problem() {
        let bad_enum = MINIMAL.replace("phoenix2014t", "phoenix");
        let msg = SltConfig::parse(&bad_enum, Path::new("configs/x.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("configs/x.toml") && msg.contains("phoenix"),
            "{msg}"
        );

        let missing = "[data]\ndataset = \"csl_daily\"\n";
        let msg = SltConfig::parse(missing, Path::new("y.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("y.toml") && msg.contains("direction"), "{msg}");

        let heads = format!("{MINIMAL}[model]\nd_model = 30\nn_heads = 4\n");
        let msg = SltConfig::parse(&heads, Path::new("z.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("z.toml") && msg.contains("n_heads"), "{msg}");
    }

    #[test]
    fn shipped_configs_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut parsed = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                SltConfig::load(&path).unwrap();
                parsed += 1;
            }
        }
        assert!(parsed >= 5, "{parsed} configurations in {}", dir.display());
    }
}
