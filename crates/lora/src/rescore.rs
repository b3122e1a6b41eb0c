//! The fine-tuned LLM as a second opinion on another translator's output: the
//! log-probability of a candidate sentence as the reply to SCOPE's translation prompt for its
//! glosses, `log P_LLM(text | prompt(glosses))`, computed teacher-forced in one batched pass
//! (no sampling). A seq2seq n-best list rescored this way combines a model trained on the
//! corpus alone with one that brings a pretrained language model's knowledge of the
//! spoken language.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

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
use crate::gemma3::{Gemma3, PrefixCache};
use crate::lora::Adapters;

/// Replies scored per forward pass (after their shared prompt): 16 fit well in the 2 cores'
/// caches at CSL-Daily's lengths.
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
    /// The opening every prompt shares (the system message and the user message up to the
    /// glosses), run once; made on the first [`LlmScorer::score`]. `None` when two prompts
    /// share no token that can be split off.
    template: OnceLock<Option<SharedPrefix>>,
}

/// Tokens at the start of many prompts and their run through the model, which
/// [`score_replies`] continues for every prompt that starts with them.
pub struct SharedPrefix {
    tokens: Vec<u32>,
    cache: PrefixCache,
}

impl SharedPrefix {
    /// Runs `tokens` (at least one) through the model.
    pub fn new(base: &Gemma3, adapters: Option<&Adapters>, tokens: Vec<u32>) -> Self {
        let (_, cache) =
            base.hidden_states_after(token_ids(&tokens, base.device()), adapters, None);
        Self { tokens, cache }
    }

    /// How many tokens it covers.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// One sequence of token ids as a batch of one, [1, T].
fn token_ids(tokens: &[u32], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(
        TensorData::new(
            tokens.iter().map(|&id| id as i64).collect(),
            [1, tokens.len()],
        ),
        device,
    )
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
            template: OnceLock::new(),
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

    /// `texts[i]` tokenized as the reply to the prompt for `glosses[i]`.
    pub fn encode(&self, glosses: &[&[String]], texts: &[&str]) -> anyhow::Result<Vec<Sequence>> {
        anyhow::ensure!(
            glosses.len() == texts.len(),
            "{} gloss sequences and {} texts to score",
            glosses.len(),
            texts.len()
        );
        glosses
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
            .collect()
    }

    /// The opening all prompts share, run through the model once (on first use).
    pub fn template(&self) -> Option<&SharedPrefix> {
        self.template
            .get_or_init(|| self.template_prefix())
            .as_ref()
    }

    /// The tokens two prompts for unrelated glosses share (all but the glosses and what
    /// follows them), run through the model.
    fn template_prefix(&self) -> Option<SharedPrefix> {
        let tokens = |gloss: &str| {
            self.tokenizer
                .encode(render_prompt(&[gloss.to_string()], &self.options), true)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default()
        };
        let (a, b) = (tokens("MORGEN"), tokens("我"));
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        // At least one token must be left to run per prompt (the one before the reply).
        let common = common.min(a.len().saturating_sub(1));
        (common > 0)
            .then(|| SharedPrefix::new(&self.base, Some(&self.adapters), a[..common].to_vec()))
    }

    /// The base model and the adapters (for [`score_whole_sequences`]).
    pub fn model(&self) -> (&Gemma3, &Adapters) {
        (&self.base, &self.adapters)
    }

    /// Scores `texts[i]` as the reply to the prompt for `glosses[i]`, `batch_size` sequences
    /// per forward pass. `None` for a pair longer than the model's `max_tokens`.
    pub fn score(
        &self,
        glosses: &[&[String]],
        texts: &[&str],
        batch_size: usize,
    ) -> anyhow::Result<Vec<Option<ReplyScore>>> {
        let sequences = self.encode(glosses, texts)?;
        let mut scores = vec![None; sequences.len()];
        // An empty prompt cannot happen with a chat template; scoring needs one token before
        // the reply.
        let fits: Vec<usize> = (0..sequences.len())
            .filter(|&i| sequences[i].len() <= self.max_tokens && !sequences[i].prompt.is_empty())
            .collect();
        let rows: Vec<&Sequence> = fits.iter().map(|&i| &sequences[i]).collect();
        let scored = score_replies(
            &self.base,
            Some(&self.adapters),
            self.template(),
            &rows,
            batch_size,
        );
        for (&i, score) in fits.iter().zip(scored) {
            scores[i] = Some(score);
        }
        Ok(scores)
    }
}

/// The teacher-forced log-probability of each sequence's reply given its prompt. Sequences
/// with the same prompt (an n-best list: the candidates of one source) run it once, and
/// their replies continue its cached keys and values, `batch_size` replies per forward pass:
/// on CSL-Daily a prompt is several times longer than a reply. A prompt that starts with
/// `shared`'s tokens (and is longer) runs only the rest. Every prompt must have at least one
/// token and every reply one (the end of turn).
pub fn score_replies(
    base: &Gemma3,
    adapters: Option<&Adapters>,
    shared: Option<&SharedPrefix>,
    sequences: &[&Sequence],
    batch_size: usize,
) -> Vec<ReplyScore> {
    let device = base.device();
    let d = base.config.d_model;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<&[u32], usize> = HashMap::new();
    for (i, s) in sequences.iter().enumerate() {
        let g = *group_of.entry(s.prompt.as_slice()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut scores = vec![
        ReplyScore {
            log_prob: 0.0,
            tokens: 0
        };
        sequences.len()
    ];
    for members in groups {
        let prompt = &sequences[members[0]].prompt;
        let (hidden, cache) = match shared {
            Some(shared) if prompt.len() > shared.len() && prompt.starts_with(&shared.tokens) => {
                let rest = token_ids(&prompt[shared.len()..], device);
                base.hidden_states_after(rest, adapters, Some(&shared.cache))
            }
            _ => base.hidden_states_after(token_ids(prompt, device), adapters, None),
        };
        // The prompt's last position predicts every reply's first token.
        let last = hidden.dims()[1] - 1;
        let first = log_softmax(base.logits(hidden.narrow(1, last, 1).reshape([1, d])), 1);
        let first: Vec<f32> = first
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 log-probabilities");
        for &i in &members {
            let reply = &sequences[i].reply;
            scores[i] = ReplyScore {
                log_prob: f64::from(first[reply[0] as usize]),
                tokens: reply.len(),
            };
        }
        for chunk in members.chunks(batch_size.max(1)) {
            // Reply token j predicts token j + 1; the last one predicts nothing.
            let len = chunk
                .iter()
                .map(|&i| sequences[i].reply.len() - 1)
                .max()
                .unwrap_or(0);
            if len == 0 {
                continue;
            }
            let mut ids = vec![0i64; chunk.len() * len];
            let (mut predict_at, mut targets) = (Vec::new(), Vec::new());
            for (row, &i) in chunk.iter().enumerate() {
                let reply = &sequences[i].reply;
                for j in 0..reply.len() - 1 {
                    ids[row * len + j] = reply[j] as i64;
                    predict_at.push((row * len + j) as i64);
                    targets.push(reply[j + 1] as i64);
                }
            }
            let n = targets.len();
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [chunk.len(), len]), device);
            // Right padding is only ever seen by later padding positions.
            let (hidden, _) = base.hidden_states_after(ids, adapters, Some(&cache));
            let at = Tensor::<1, Int>::from_data(TensorData::new(predict_at, [n]), device);
            let logits = base.logits(hidden.reshape([chunk.len() * len, d]).select(0, at)); // [n, V]
            let mut picked = target_log_probs(logits, targets).into_iter();
            for &i in chunk {
                let later: f64 = picked
                    .by_ref()
                    .take(sequences[i].reply.len() - 1)
                    .map(f64::from)
                    .sum();
                scores[i].log_prob += later;
            }
        }
    }
    scores
}

/// log_softmax(logits [n, V])[i, targets[i]] for each of the n rows.
fn target_log_probs(logits: Tensor<2>, targets: Vec<i64>) -> Vec<f32> {
    let n = targets.len();
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [n, 1]), &logits.device());
    log_softmax(logits, 1)
        .gather(1, targets)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 log-probabilities")
}

/// The same scores the way training computes them: every sequence run whole, prompt and
/// reply, `batch_size` per padded forward pass. The reference [`score_replies`] is tested and
/// benchmarked against.
pub fn score_whole_sequences(
    base: &Gemma3,
    adapters: Option<&Adapters>,
    sequences: &[&Sequence],
    batch_size: usize,
) -> Vec<ReplyScore> {
    let mut scores = Vec::with_capacity(sequences.len());
    for rows in sequences.chunks(batch_size.max(1)) {
        let batch = Batch::new(rows);
        let logits = reply_logits(base, adapters, &batch);
        // Batch::new lays the reply tokens out row after row.
        let mut picked = target_log_probs(logits, batch.targets).into_iter();
        scores.extend(rows.iter().map(|s| ReplyScore {
            log_prob: picked.by_ref().take(s.reply.len()).map(f64::from).sum(),
            tokens: s.reply.len(),
        }));
    }
    scores
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_prompts_score_as_whole_sequences_do() {
        let device = Device::flex();
        let base = crate::gemma3::tests::random_model(&device);
        let sequence = |prompt: &[u32], reply: &[u32]| Sequence {
            id: String::new(),
            prompt: prompt.to_vec(),
            reply: reply.to_vec(),
        };
        // Two sources' n-best lists, interleaved, with replies of one to four tokens.
        let sequences = [
            sequence(&[2, 7, 1, 8], &[11, 12, 13, 1]),
            sequence(&[2, 7, 1, 8], &[11, 1]),
            sequence(&[2, 8, 3], &[40, 41, 1]),
            sequence(&[2, 7, 1, 8], &[1]),
            sequence(&[2, 7, 1, 8], &[12, 11, 13, 1]),
            sequence(&[2, 8, 3], &[41, 1]),
        ];
        let rows: Vec<&Sequence> = sequences.iter().collect();
        let expected: Vec<f64> = score_whole_sequences(&base, None, &rows, 16)
            .iter()
            .map(|s| s.log_prob)
            .collect();
        // [2] starts both prompts; [2, 7, 1] only the first source's; [2, 7, 1, 8] is all
        // of its prompt, which must still run its last token.
        let prefixes: Vec<Option<SharedPrefix>> = [&[2u32][..], &[2, 7, 1], &[2, 7, 1, 8]]
            .iter()
            .map(|tokens| Some(SharedPrefix::new(&base, None, tokens.to_vec())))
            .chain([None])
            .collect();
        for (batch_size, shared) in [1, 2, 16]
            .into_iter()
            .flat_map(|b| prefixes.iter().map(move |p| (b, p.as_ref())))
        {
            let scores = score_replies(&base, None, shared, &rows, batch_size);
            for ((score, expected), s) in scores.iter().zip(&expected).zip(&sequences) {
                assert_eq!(score.tokens, s.reply.len());
                assert!(
                    (score.log_prob - expected).abs() < 1e-3,
                    "batch {batch_size}, prefix of {:?}: {score:?} vs {expected}",
                    shared.map(SharedPrefix::len)
                );
            }
        }
        // Different replies score differently (the comparison above is not vacuous).
        assert!((expected[0] - expected[4]).abs() > 1e-3, "{expected:?}");
    }
}
