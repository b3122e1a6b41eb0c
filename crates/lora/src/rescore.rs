//! The fine-tuned LLM as a second opinion on another translator's output: the
//! log-probability of a candidate sentence as the reply to SCOPE's translation prompt for its
//! glosses, `log P_LLM(text | prompt(glosses))`, computed teacher-forced in one batched pass
//! (no sampling). A seq2seq n-best list rescored this way combines a model trained on the
//! corpus alone with one that brings a pretrained language model's knowledge of the
//! spoken language.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use signscope_llm::{
    GgufChatModel, GlossHypothesis, LlmTranslator, PromptOptions, TranslationRequest,
};
use signscope_nn::checkpoint::load_model;
use signscope_slt::config::Dataset;
use signscope_slt::rerank::TranslationScorer;
use tokenizers::Tokenizer;

use crate::finetune::{
    Batch, FinetuneConfig, Sequence, end_of_turn_id, render_prompt, reply_logits,
};
use crate::gemma3::Gemma3;
use crate::lora::Adapters;

/// Candidates scored per forward pass: 16 fit well in the 2 cores' caches at CSL-Daily's
/// lengths.
pub const BATCH_SIZE: usize = 16;

/// The LoRA-tuned Gemma 3 of an adapter folder (`signscope train lora` run, or an exported
/// folder such as models/phoenix2014t_gemma3_lora), loaded for scoring.
pub struct LlmScorer {
    dir: std::path::PathBuf,
    dataset: Dataset,
    base: Gemma3,
    adapters: Adapters,
    tokenizer: Tokenizer,
    options: PromptOptions,
    end_of_turn: u32,
    max_tokens: usize,
    config: FinetuneConfig,
    /// The same adapters merged into the quantized base model for generation (candle, with a
    /// KV cache: generating with the f32 burn port above would be several times slower);
    /// loaded on the first [`TranslationScorer::translate`].
    generator: Mutex<Option<LlmTranslator<GgufChatModel>>>,
}

pub use signscope_slt::rerank::ReplyScore;

impl LlmScorer {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Self::with_config(dir, adapter_config(dir)?)
    }

    fn with_config(dir: &Path, config: FinetuneConfig) -> anyhow::Result<Self> {
        let gguf = crate::cli::base_gguf(&config.model.gguf)?;
        let tokenizer = crate::finetune::load_tokenizer(&gguf)?;
        let end_of_turn = end_of_turn_id(&tokenizer)?;
        let device = signscope_nn::cpu_device();
        let base = Gemma3::load(&gguf, &device, config.model.max_tokens)?;
        let template = Adapters::new(&base.config, &config.lora, &device);
        let adapters = load_model(template, &crate::cli::adapter_file(dir)?)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            dataset: config.data.dataset,
            base,
            adapters,
            tokenizer,
            options: config.prompt_options(),
            end_of_turn,
            max_tokens: config.model.max_tokens,
            config,
            generator: Mutex::new(None),
        })
    }

    /// The LLM's greedy translation of each gloss sequence: exactly what `signscope translate
    /// --backend gguf --model DIR` answers (the adapters merged 8-bit into the base model,
    /// SCOPE's prompt without worked examples, at most 64 new tokens).
    pub fn translate(&self, glosses: &[&[String]]) -> anyhow::Result<Vec<String>> {
        let mut generator = self.generator.lock().map_err(|_| {
            anyhow::anyhow!("{}: an earlier translation panicked", self.dir.display())
        })?;
        if generator.is_none() {
            let merged = crate::cli::cached_merge(&self.dir, &self.config)?;
            let model = GgufChatModel::load(&merged)
                .with_context(|| format!("loading {}", merged.display()))?;
            let mut translator = LlmTranslator::new(model);
            translator.options = self.options.clone();
            *generator = Some(translator);
        }
        let translator = generator.as_mut().expect("loaded above");
        glosses
            .iter()
            .map(|g| {
                let request = TranslationRequest {
                    hypotheses: vec![GlossHypothesis {
                        glosses: g.to_vec(),
                        score: None,
                    }],
                    context: Vec::new(),
                };
                translator.translate(&request).with_context(|| {
                    format!("{}: translating {:?}", self.dir.display(), g.join(" "))
                })
            })
            .collect()
    }

    /// Scores `texts[i]` as the reply to the prompt for `glosses[i]`, `batch_size` sequences
    /// per forward pass. `None` for a pair longer than the model's `max_tokens`.
    pub fn score(
        &self,
        glosses: &[&[String]],
        texts: &[&str],
        batch_size: usize,
    ) -> anyhow::Result<Vec<Option<ReplyScore>>> {
        anyhow::ensure!(
            glosses.len() == texts.len(),
            "{} gloss sequences and {} texts to score",
            glosses.len(),
            texts.len()
        );
        let sequences = glosses
            .iter()
            .zip(texts)
            .map(|(g, text)| {
                let prompt = render_prompt(g, &self.options);
                Sequence::encode(
                    &self.tokenizer,
                    text.to_string(),
                    &prompt,
                    text,
                    self.end_of_turn,
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut scores = vec![None; sequences.len()];
        // An empty prompt cannot happen with a chat template; Batch needs one token before
        // the reply.
        let fits: Vec<usize> = (0..sequences.len())
            .filter(|&i| sequences[i].len() <= self.max_tokens && !sequences[i].prompt.is_empty())
            .collect();
        for chunk in fits.chunks(batch_size.max(1)) {
            let rows: Vec<&Sequence> = chunk.iter().map(|&i| &sequences[i]).collect();
            for (&i, score) in chunk.iter().zip(self.score_batch(&rows)) {
                scores[i] = Some(score);
            }
        }
        Ok(scores)
    }

    /// Reply log-probabilities of one padded batch.
    fn score_batch(&self, rows: &[&Sequence]) -> Vec<ReplyScore> {
        let batch = Batch::new(rows);
        let n = batch.targets.len();
        let logits = reply_logits(&self.base, Some(&self.adapters), &batch); // [n, V]
        let targets = Tensor::<2, Int>::from_data(
            TensorData::new(batch.targets.clone(), [n, 1]),
            self.base.device(),
        );
        // [n, 1]
        let picked = log_softmax(logits, 1).gather(1, targets);
        let values: Vec<f32> = picked
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 log-probabilities");
        // Batch::new lays the reply tokens out row after row.
        let mut values = values.into_iter();
        rows.iter()
            .map(|s| ReplyScore {
                log_prob: values.by_ref().take(s.reply.len()).map(f64::from).sum(),
                tokens: s.reply.len(),
            })
            .collect()
    }
}

/// The LLM as `eval slt` / `translate`'s `--llm-rescore`.
impl TranslationScorer for LlmScorer {
    fn name(&self) -> String {
        self.dir.display().to_string()
    }

    fn dataset(&self) -> Dataset {
        self.dataset
    }

    fn score(
        &self,
        glosses: &[&[String]],
        texts: &[&str],
    ) -> anyhow::Result<Vec<Option<ReplyScore>>> {
        LlmScorer::score(self, glosses, texts, BATCH_SIZE)
    }

    fn translate(&self, glosses: &[&[String]]) -> anyhow::Result<Vec<String>> {
        LlmScorer::translate(self, glosses)
    }
}

/// Opens an adapter folder as a [`TranslationScorer`] for translations of `dataset` (the
/// loader the binary hands to slt); adapters tuned on another corpus are refused before the
/// base model is loaded.
pub fn load_translation_scorer(
    dir: &Path,
    dataset: Dataset,
) -> anyhow::Result<Box<dyn TranslationScorer>> {
    let config = adapter_config(dir)?;
    if config.data.dataset != dataset {
        anyhow::bail!(
            "{}: these adapters were tuned on {}, but the translator translates {}",
            dir.display(),
            config.data.dataset.as_str(),
            dataset.as_str()
        );
    }
    Ok(Box::new(LlmScorer::with_config(dir, config)?))
}

/// The training configuration of an adapter folder, refusing a folder that is not one.
fn adapter_config(dir: &Path) -> anyhow::Result<FinetuneConfig> {
    if !crate::cli::is_adapter_folder(dir) {
        anyhow::bail!(
            "{}: not a LoRA adapter folder (config.toml with [lora] and adapters.bpk or best.bpk)",
            dir.display()
        );
    }
    FinetuneConfig::load(&dir.join("config.toml"))
}
