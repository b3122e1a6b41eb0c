//! Shared neural-network building blocks for signscope, on burn 0.22 (Flex CPU backend).
//!
//! - [`seq2seq`]: a pre-LN transformer encoder-decoder with incremental decoding
//! - [`loss`]: label-smoothed cross-entropy with padding masked
//! - [`search`]: batched greedy and beam search with a GNMT length penalty
//! - [`vocab`]: token vocabularies with joeynmt's special tokens
//! - [`train`]: a resumable training loop (AdamW, schedules, clipping, checkpoints, averaging)
//! - [`plot`]: loss / dev-score curves as SVG
//! - [`checkpoint`]: atomic model files and checkpoint averaging
//! - [`config`]: the `[model]` and `[training]` TOML sections

pub mod checkpoint;
pub mod config;
pub mod dropout;
pub mod encoder;
pub mod linear;
pub mod loss;
pub mod plot;
pub mod search;
pub mod seq2seq;
pub mod train;
pub mod vocab;

pub use burn;

/// The CPU device used for inference: burn's pure-Rust Flex backend. Its matrix kernels pick
/// AVX-512 / AVX2+FMA / scalar code at run time (the `x86-v4` feature only compiles the
/// AVX-512 variant in), so binaries run on any x86-64 CPU.
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}

/// [`cpu_device`] with gradient recording, for training.
pub fn training_device() -> burn::tensor::Device {
    cpu_device().autodiff()
}
