//! Fine-tuning a GGUF Gemma 3 with LoRA on gloss → text pairs, through signscope-nn's
//! resumable training loop.
//!
//! Each training example is SCOPE's translation prompt exactly as `signscope translate
//! --backend gguf` builds it (system instruction, the glosses, earlier turns when the corpus
//! has them, no worked examples), rendered in the model's chat template, followed by the
//! reference sentence and the end-of-turn token. The loss covers only the reply tokens, so
//! the model learns to answer, not to repeat the prompt.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use signscope_corpus::manifest::Split;
use signscope_llm::{ChatTemplate, GlossHypothesis, PromptOptions, scope_prompt};
use signscope_nn::config::TrainingConfig;
use signscope_nn::loss::{TokenLoss, label_smoothed_cross_entropy};
use signscope_nn::train::{Evaluation, TrainTask};
use signscope_slt::config::{DataConfig, Direction};
use signscope_slt::data::{detokenize_text, load_split};
use tokenizers::Tokenizer;

use crate::gemma3::Gemma3;
use crate::lora::{Adapters, LoraConfig};

/// `[model]`: the base model and how prompts are built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseModelConfig {
    /// A .gguf file, a folder holding one, or `gemma3` (the file scripts/fetch-assets.sh
    /// downloads).
    pub gguf: String,
    /// Language named in the instruction ("one natural German sentence").
    pub language: Option<String>,
    /// Training sequences longer than this (prompt + reply tokens) are skipped.
    #[serde(default = "max_tokens")]
    pub max_tokens: usize,
}

fn max_tokens() -> usize {
    256
}

/// A fine-tuning configuration (TOML): `[data]` as for `train slt`, `[model]`, `[lora]`,
/// `[training]` (batch size, schedule, evaluation; `label_smoothing` applies to the reply
/// tokens, `eval_max_sentences` bounds the dev loss evaluation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinetuneConfig {
    pub data: DataConfig,
    pub model: BaseModelConfig,
    #[serde(default)]
    pub lora: LoraConfig,
    #[serde(default)]
    pub training: TrainingConfig,
}

impl FinetuneConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let fail = |e: String| anyhow::anyhow!("{}: {e}", path.display());
        config.lora.validate().map_err(fail)?;
        config.training.validate().map_err(fail)?;
        if config.data.direction != Direction::GlossToText {
            return Err(fail(format!(
                "data.direction is {:?}: LoRA fine-tuning trains gloss_to_text",
                config.data.direction
            )));
        }
        if config.model.max_tokens < 8 {
            return Err(fail("model.max_tokens must be at least 8".into()));
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("configuration serializes")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.resolved_data_dir()
    }

    pub fn prompt_options(&self) -> PromptOptions {
        PromptOptions {
            language: self.model.language.clone(),
            ..PromptOptions::default()
        }
    }
}

/// One tokenized example: prompt ids, then reply ids (ending with the end-of-turn token).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub id: String,
    pub prompt: Vec<u32>,
    pub reply: Vec<u32>,
}

impl Sequence {
    /// Tokenizes a rendered `prompt` (its special tokens parsed) and the `reply` text, which is
    /// closed by `end_of_turn`; errors name `id`.
    pub fn encode(
        tokenizer: &Tokenizer,
        id: String,
        prompt: &str,
        reply: &str,
        end_of_turn: u32,
    ) -> anyhow::Result<Self> {
        let encode = |text: &str, special: bool| -> anyhow::Result<Vec<u32>> {
            Ok(tokenizer
                .encode(text, special)
                .map_err(|e| anyhow::anyhow!("tokenizing {id:?}: {e}"))?
                .get_ids()
                .to_vec())
        };
        let prompt = encode(prompt, true)?;
        let mut reply = encode(reply, false)?;
        reply.push(end_of_turn);
        Ok(Self { id, prompt, reply })
    }

    pub fn len(&self) -> usize {
        self.prompt.len() + self.reply.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The rendered prompt for `glosses`, as `signscope translate --backend gguf` renders it.
pub fn render_prompt(glosses: &[String], options: &PromptOptions) -> String {
    let hypothesis = GlossHypothesis {
        glosses: glosses.to_vec(),
        score: None,
    };
    ChatTemplate::Gemma.render(&scope_prompt(&[hypothesis], &[], &[], options))
}

/// Tokenizes the pairs of `split`; returns the sequences and how many were too long.
pub fn load_sequences(
    config: &FinetuneConfig,
    tokenizer: &Tokenizer,
    split: Split,
) -> anyhow::Result<(Vec<Sequence>, usize)> {
    let examples = load_split(&config.data, &config.data_dir(), split)?;
    let end_of_turn = end_of_turn_id(tokenizer)?;
    let options = config.prompt_options();
    let mut sequences = Vec::with_capacity(examples.len());
    let mut skipped = 0;
    for example in examples {
        let prompt = render_prompt(&example.source, &options);
        let reply = detokenize_text(&example.target, config.data.text_level);
        let sequence = Sequence::encode(tokenizer, example.id, &prompt, &reply, end_of_turn)?;
        if sequence.len() > config.model.max_tokens {
            skipped += 1;
        } else {
            sequences.push(sequence);
        }
    }
    Ok((sequences, skipped))
}

/// A padded batch: ids [B, T], and for every reply token the flat index (b·T + t) of the
/// position that predicts it and the token itself.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Tokens every row starts with, run once for the whole batch (empty: none shared).
    pub shared: Vec<i64>,
    /// The rest of each row, right-padded: [rows, len].
    pub ids: Vec<i64>,
    pub rows: usize,
    pub len: usize,
    /// Positions in `ids` (flattened) that predict `targets`.
    pub predict_at: Vec<i64>,
    pub targets: Vec<i64>,
}

impl Batch {
    /// Every row run whole.
    pub fn new(sequences: &[&Sequence]) -> Self {
        Self::after(sequences, 0)
    }

    /// The tokens all rows' prompts start with (SCOPE's system message and the user
    /// message up to the glosses: about three quarters of a CSL-Daily prompt) run once and
    /// continued by every row; the rest as [`Batch::new`]. The loss and its gradients are
    /// the same, up to rounding.
    pub fn sharing_prefix(sequences: &[&Sequence]) -> Self {
        let first = sequences.first().map_or(&[][..], |s| s.prompt.as_slice());
        let common = sequences.iter().skip(1).fold(first.len(), |n, s| {
            n.min(
                first
                    .iter()
                    .zip(&s.prompt)
                    .take_while(|(a, b)| a == b)
                    .count(),
            )
        });
        // The last prompt token predicts the first reply token: it stays in every row.
        let shortest = sequences.iter().map(|s| s.prompt.len()).min().unwrap_or(0);
        Self::after(sequences, common.min(shortest.saturating_sub(1)))
    }

    /// Rows from position `shared` on, the first `shared` tokens (common to all) apart.
    fn after(sequences: &[&Sequence], shared: usize) -> Self {
        let len = sequences
            .iter()
            .map(|s| s.len() - shared)
            .max()
            .unwrap_or(1);
        let mut ids = vec![0i64; sequences.len() * len];
        let (mut predict_at, mut targets) = (Vec::new(), Vec::new());
        for (row, s) in sequences.iter().enumerate() {
            let tokens = s.prompt.iter().chain(&s.reply).skip(shared);
            for (t, &id) in tokens.enumerate() {
                ids[row * len + t] = id as i64;
            }
            for (j, &id) in s.reply.iter().enumerate() {
                // Position p predicts token p + 1.
                let p = s.prompt.len() + j - 1 - shared;
                predict_at.push((row * len + p) as i64);
                targets.push(id as i64);
            }
        }
        let shared = sequences
            .first()
            .map(|s| s.prompt[..shared].iter().map(|&id| id as i64).collect())
            .unwrap_or_default();
        Self {
            shared,
            ids,
            rows: sequences.len(),
            len,
            predict_at,
            targets,
        }
    }
}

/// The id of Gemma 3's `<end_of_turn>`, which closes every reply.
pub fn end_of_turn_id(tokenizer: &Tokenizer) -> anyhow::Result<u32> {
    tokenizer
        .token_to_id("<end_of_turn>")
        .context("the tokenizer has no <end_of_turn> token (not a Gemma 3 chat model)")
}

/// Teacher-forced logits [n, V] at the positions that predict `batch`'s n reply tokens.
pub fn reply_logits(base: &Gemma3, adapters: Option<&Adapters>, batch: &Batch) -> Tensor<2> {
    let device = base.device();
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(batch.ids.clone(), [batch.rows, batch.len]),
        device,
    );
    let hidden = if batch.shared.is_empty() {
        base.hidden_states(ids, adapters)
    } else {
        let shared = Tensor::<2, Int>::from_data(
            TensorData::new(batch.shared.clone(), [1, batch.shared.len()]),
            device,
        );
        let (_, cache) = base.hidden_states_after(shared, adapters, None);
        base.hidden_states_after(ids, adapters, Some(&cache)).0
    };
    let d = base.config.d_model;
    let n = batch.targets.len();
    let at = Tensor::<1, Int>::from_data(TensorData::new(batch.predict_at.clone(), [n]), device);
    // Only the reply positions reach the 262k-way output layer.
    base.logits(hidden.reshape([batch.rows * batch.len, d]).select(0, at))
}

/// Teacher-forced loss of `batch` over the reply tokens.
pub fn batch_loss(
    base: &Gemma3,
    adapters: Option<&Adapters>,
    batch: &Batch,
    label_smoothing: f64,
) -> TokenLoss {
    let device = base.device();
    let n = batch.targets.len();
    let logits = reply_logits(base, adapters, batch).reshape([1, n, base.config.vocab_size]);
    let targets =
        Tensor::<2, Int>::from_data(TensorData::new(batch.targets.clone(), [1, n]), device);
    // No target equals vocab_size, so nothing is treated as padding.
    label_smoothed_cross_entropy(
        logits,
        targets,
        base.config.vocab_size as u32,
        label_smoothing,
    )
}

/// The training task: frozen base on the autodiff device for the loss, a copy on the plain
/// device for dev evaluation (burn hands the evaluation an inference copy of the adapters).
pub struct FinetuneTask {
    pub base_train: Gemma3,
    pub base_eval: Gemma3,
    pub train: Vec<Sequence>,
    pub dev: Vec<Sequence>,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub label_smoothing: f64,
}

impl TrainTask for FinetuneTask {
    type Model = Adapters;
    type Batch = Batch;

    fn epoch_batches(&self, epoch: usize, seed: u64) -> Vec<Batch> {
        let lengths: Vec<usize> = self.train.iter().map(Sequence::len).collect();
        signscope_slt::data::epoch_batches(&lengths, self.batch_size, epoch, seed)
            .into_iter()
            .map(|indices| {
                let rows: Vec<&Sequence> = indices.iter().map(|&i| &self.train[i]).collect();
                Batch::sharing_prefix(&rows)
            })
            .collect()
    }

    fn loss(&self, model: &Adapters, batch: &Batch) -> TokenLoss {
        batch_loss(&self.base_train, Some(model), batch, self.label_smoothing)
    }

    /// Dev negative log-likelihood per reply token (score = −NLL, so higher is better).
    fn evaluate(&mut self, model: &Adapters) -> anyhow::Result<Evaluation> {
        let nll = dev_nll(
            &self.base_eval,
            Some(model),
            &self.dev,
            self.eval_batch_size,
        );
        Ok(Evaluation {
            score: -nll,
            summary: format!("NLL {nll:.4} PPL {:.3}", nll.exp()),
        })
    }

    fn score_label(&self) -> (&str, f64) {
        ("dev NLL per reply token", -1.0)
    }
}

/// Mean reply-token NLL of `sequences` (no smoothing).
pub fn dev_nll(
    base: &Gemma3,
    adapters: Option<&Adapters>,
    sequences: &[Sequence],
    batch_size: usize,
) -> f64 {
    let (mut sum, mut tokens) = (0.0f64, 0usize);
    for chunk in sequences.chunks(batch_size.max(1)) {
        let rows: Vec<&Sequence> = chunk.iter().collect();
        let loss = batch_loss(base, adapters, &Batch::sharing_prefix(&rows), 0.0);
        sum += loss.nll_sum.into_scalar::<f64>();
        tokens += loss.tokens;
    }
    sum / tokens.max(1) as f64
}

/// Where the fine-tuned model lands in a run folder.
pub fn merged_model_path(run_dir: &Path) -> PathBuf {
    run_dir.join("model.gguf")
}

/// The tokenizer GgufChatModel uses for `path`: tokenizer.json beside it, else the GGUF
/// metadata.
pub fn load_tokenizer(path: &Path) -> anyhow::Result<Tokenizer> {
    let (_, content) = crate::gemma3::open_gguf(path)?;
    Ok(signscope_llm::gguf::load_tokenizer(path, &content)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemma3::Target;

    #[test]
    fn batch_predicts_each_reply_token_from_the_position_before_it() {
        let a = Sequence {
            id: "a".into(),
            prompt: vec![2, 10, 11],
            reply: vec![20, 106],
        };
        let b = Sequence {
            id: "b".into(),
            prompt: vec![2, 12],
            reply: vec![21, 22, 106],
        };
        let batch = Batch::new(&[&a, &b]);
        assert_eq!((batch.rows, batch.len), (2, 5));
        assert_eq!(batch.ids, [2, 10, 11, 20, 106, 2, 12, 21, 22, 106]);
        // Row a: positions 2 and 3 predict 20 and 106; row b (offset 5): 6, 7, 8.
        assert_eq!(batch.predict_at, [2, 3, 6, 7, 8]);
        assert_eq!(batch.targets, [20, 106, 21, 22, 106]);
        for (&at, &target) in batch.predict_at.iter().zip(&batch.targets) {
            assert_eq!(batch.ids[at as usize + 1], target);
        }
    }

    #[test]
    fn a_shared_prefix_runs_once_and_keeps_the_predicting_positions() {
        let a = Sequence {
            id: "a".into(),
            prompt: vec![2, 10, 11, 12],
            reply: vec![20, 106],
        };
        let b = Sequence {
            id: "b".into(),
            prompt: vec![2, 10, 11],
            reply: vec![21, 22, 106],
        };
        let batch = Batch::sharing_prefix(&[&a, &b]);
        // [2, 10, 11] is common, but b's last prompt token must predict its reply.
        assert_eq!(batch.shared, [2, 10]);
        assert_eq!((batch.rows, batch.len), (2, 4));
        assert_eq!(batch.ids, [11, 12, 20, 106, 11, 21, 22, 106]);
        assert_eq!(batch.predict_at, [1, 2, 4, 5, 6]);
        assert_eq!(batch.targets, [20, 106, 21, 22, 106]);
        // One sequence shares everything up to its last prompt token.
        assert_eq!(Batch::sharing_prefix(&[&a]).shared, [2, 10, 11]);
    }

    #[test]
    fn sharing_the_prefix_keeps_the_loss_and_its_gradients() {
        use burn::module::Param;
        use burn::tensor::Distribution;
        let device = signscope_nn::training_device();
        device.seed(3);
        let base = crate::gemma3::tests::random_model(&device);
        let config = LoraConfig {
            rank: 2,
            alpha: 4.0,
            targets: vec![Target::Q, Target::K, Target::V, Target::Down],
        };
        let mut adapters = Adapters::new(&base.config, &config, &device);
        for layer in &mut adapters.layers {
            for adapter in [&mut layer.q, &mut layer.k, &mut layer.v, &mut layer.down]
                .into_iter()
                .flatten()
            {
                let dims = adapter.b.val().dims();
                adapter.b = Param::from_tensor(Tensor::random(
                    dims,
                    Distribution::Normal(0.0, 0.3),
                    &device,
                ));
            }
        }
        let sequence = |prompt: &[u32], reply: &[u32]| Sequence {
            id: String::new(),
            prompt: prompt.to_vec(),
            reply: reply.to_vec(),
        };
        let rows = [
            sequence(&[2, 7, 1, 8, 2, 8], &[30, 31, 1]),
            sequence(&[2, 7, 1, 8, 4], &[33, 1]),
            sequence(&[2, 7, 1, 9], &[30, 35, 36, 1]),
        ];
        let rows: Vec<&Sequence> = rows.iter().collect();
        let step = |batch: &Batch| {
            let loss = batch_loss(&base, Some(&adapters), batch, 0.1);
            let value = loss.mean.clone().into_scalar::<f32>();
            let grads = loss.mean.backward();
            let gradients: Vec<f32> = adapters
                .layers
                .iter()
                .flat_map(|l| [&l.q, &l.k, &l.v, &l.down])
                .flatten()
                .flat_map(|a| [a.a.val(), a.b.val()])
                .flat_map(|t| {
                    t.grad(&grads)
                        .expect("every adapter matrix has a gradient")
                        .into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .unwrap()
                })
                .collect();
            (value, gradients)
        };
        let shared = Batch::sharing_prefix(&rows);
        assert_eq!(shared.shared.len(), 3);
        let (whole_loss, whole_grads) = step(&Batch::new(&rows));
        let (shared_loss, shared_grads) = step(&shared);
        assert!(
            (whole_loss - shared_loss).abs() < 1e-5,
            "{whole_loss} vs {shared_loss}"
        );
        assert_eq!(whole_grads.len(), shared_grads.len());
        let largest = whole_grads.iter().map(|g| g.abs()).fold(0.0f32, f32::max);
        assert!(largest > 1e-3, "the gradients vanish ({largest})");
        for (w, s) in whole_grads.iter().zip(&shared_grads) {
            assert!((w - s).abs() < 1e-4 * largest.max(1.0), "{w} vs {s}");
        }
    }

    #[test]
    fn config_refuses_other_directions_and_empty_targets() {
        let base = "[data]\ndataset = \"phoenix2014t\"\ntext_level = \"word\"\n[model]\ngguf = \"gemma3\"\n";
        let path = Path::new("x.toml");
        let ok = base.replace("[data]\n", "[data]\ndirection = \"gloss_to_text\"\n");
        let config = FinetuneConfig::parse(&ok, path).unwrap();
        assert_eq!(config.lora, LoraConfig::default());
        let t2g = base.replace("[data]\n", "[data]\ndirection = \"text_to_gloss\"\n");
        let err = FinetuneConfig::parse(&t2g, path).unwrap_err().to_string();
        assert!(err.contains("gloss_to_text"), "{err}");
        let empty = format!("{ok}[lora]\ntargets = []\n");
        let err = FinetuneConfig::parse(&empty, path).unwrap_err().to_string();
        assert!(err.contains("x.toml") && err.contains("targets"), "{err}");
    }

    #[test]
    fn prompt_is_the_translate_commands_prompt() {
        let options = PromptOptions {
            language: Some("German".into()),
            ..PromptOptions::default()
        };
        let prompt = render_prompt(&["MORGEN".into(), "REGEN".into()], &options);
        assert!(prompt.starts_with("<start_of_turn>user\n"), "{prompt}");
        assert!(prompt.contains("German"));
        assert!(prompt.contains("MORGEN REGEN"));
        assert!(prompt.ends_with("<start_of_turn>model\n"));
    }
}
