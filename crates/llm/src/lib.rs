//! LLM translation for SCOPE: the recognizer's top-k gloss hypotheses plus the previous
//! dialogue turns go into a prompt, an LLM answers with the spoken-language sentence.
//!
//! Backends behind one [`ChatBackend`] trait (chat messages in, text out):
//! - [`GgufChatModel`]: a local quantized GGUF model on candle — SmolLM2-135M-Instruct
//!   (`quantized_llama`) or Gemma-3-270m (a GELU-fixed copy of `quantized_gemma3`, see
//!   [`gemma3`]), tokenizer rebuilt from the GGUF metadata ([`tokenizer`]);
//! - [`OpenAiChat`]: any OpenAI-compatible `/v1/chat/completions` server.
//!
//! ```no_run
//! use signscope_llm::{DialogueTurn, GgufChatModel, GlossHypothesis, LlmTranslator, TranslationRequest};
//!
//! let model = GgufChatModel::load(".assets/smollm2")?;
//! let mut translator = LlmTranslator::new(model);
//! let request = TranslationRequest {
//!     hypotheses: vec![
//!         GlossHypothesis::parse("TOMORROW RAIN NORTH", Some(-0.3)),
//!         GlossHypothesis::parse("TOMORROW RAIN", Some(-1.4)),
//!     ],
//!     context: vec![DialogueTurn::parse("What will the weather be like?")],
//! };
//! println!("{}", translator.translate(&request)?);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod assets;
pub mod cli;
pub mod gemma3;
pub mod gguf;
pub mod openai;
pub mod prompt;
pub mod template;
pub mod tokenizer;
pub mod translator;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use gguf::{Architecture, Generation, GgufChatModel, Timings};
pub use openai::{OpenAiChat, OpenAiConfig};
pub use prompt::{
    DialogueTurn, FewShotExample, GlossHypothesis, PromptOptions, load_few_shot, scope_prompt,
};
pub use template::ChatTemplate;
pub use translator::{LlmTranslator, TranslationRequest, clean_translation};

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// How to pick the next token and when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    /// Most tokens to generate (the reply is cut there).
    pub max_new_tokens: usize,
    /// 0 = greedy (argmax); otherwise softmax temperature.
    pub temperature: f64,
    /// Nucleus sampling threshold, used when `temperature > 0`.
    pub top_p: Option<f64>,
    /// Seed of the sampler's random generator (sampling is reproducible per seed).
    pub seed: u64,
    /// Penalty > 1 divides the logits of tokens already in the last `repeat_last_n` tokens
    /// of the reply; 1 = off.
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    /// Extra strings that end the reply (cut before them), besides the model's stop tokens.
    pub stop: Vec<String>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 64,
            temperature: 0.0,
            top_p: None,
            seed: 0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            stop: Vec::new(),
        }
    }
}

/// A chat model: messages in, the assistant's reply out.
pub trait ChatBackend {
    /// Human-readable id (backend, model, where).
    fn id(&self) -> String;
    /// The assistant's reply to `messages` (the last one is normally the user's).
    fn chat(&mut self, messages: &[Message], config: &GenerationConfig)
    -> Result<String, LlmError>;
}

impl<T: ChatBackend + ?Sized> ChatBackend for Box<T> {
    fn id(&self) -> String {
        (**self).id()
    }

    fn chat(
        &mut self,
        messages: &[Message],
        config: &GenerationConfig,
    ) -> Result<String, LlmError> {
        (**self).chat(messages, config)
    }
}

/// Errors naming the file, URL or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("{path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error("GGUF metadata: {0}")]
    Metadata(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("generation: {0}")]
    Generation(String),
    #[error("{0}")]
    Config(String),
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} answered HTTP {status}: {body}")]
    HttpStatus {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} sent an unusable response: {message}")]
    MalformedResponse { url: String, message: String },
}

impl From<candle_core::Error> for LlmError {
    fn from(e: candle_core::Error) -> Self {
        LlmError::Generation(e.to_string())
    }
}
