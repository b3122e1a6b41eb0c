//! LoRA fine-tuning of the local LLM translator (SCOPE fine-tunes its LLM with LoRA on
//! gloss hypotheses + dialogue → text).
//!
//! - [`gemma3`]: Gemma 3 ported to burn, frozen weights dequantized from the GGUF file;
//! - [`lora`]: the trainable low-rank adapters (the only parameters of a run);
//! - [`finetune`]: prompts as `signscope translate --backend gguf` builds them, the reply-only
//!   loss, the training task for signscope-nn's loop;
//! - [`merge`]: adapters folded back into a GGUF file that every GGUF backend loads.
//! - [`rescore`]: the tuned model's log-probability of given translations (reranking another
//!   translator's n-best list).
//!
//! `signscope train lora crates/lora/configs/phoenix2014t_gemma3.toml` trains and writes
//! `RUN/model.gguf`; `signscope translate --backend gguf --model RUN/model.gguf --shots 0 …`
//! uses it.

pub mod cli;
pub mod finetune;
pub mod gemma3;
pub mod lora;
pub mod merge;
pub mod nbest;
pub mod rescore;

pub use finetune::FinetuneConfig;
pub use gemma3::{Gemma3, Gemma3Config, Target};
pub use lora::{Adapters, LoraConfig};
