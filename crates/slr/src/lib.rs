//! SCOPE sign language recognition (Liu et al., "SCOPE: Sign Language Contextual Processing
//! with Embedding from LLMs"): keypoints → glosses with dialogue context.
//!
//! - [`motion`]: motion feature extractor (per-frame MLP + temporal Conv1D)
//! - [`alignment`]: Embedding Alignment Encoder and `L_emb`
//! - [`gloss`]: Gloss Encoder over motion + previous-turn embeddings, gloss classifier
//! - [`model`]: the assembled recognizer, CTC and MWER losses
//! - [`decode`]: greedy / prefix-beam / streaming CTC decoding
//! - [`context`]: the sentence-embedder interface
//! - [`config`]: the TOML config
//! - [`data`]: manifests → SCOPE features, sentence embeddings, padded batches
//! - [`train`]: the two training stages
//! - [`eval`]: the trained [`eval::Recognizer`], top-k decoding and WER
//! - [`vocab`]: gloss ↔ CTC class
//! - [`cli`]: `signscope slr train|eval|recognize`

pub mod alignment;
pub mod cli;
pub mod config;
pub mod context;
pub mod data;
pub mod decode;
pub mod eval;
pub mod gloss;
pub mod model;
pub mod motion;
pub mod train;
pub mod vocab;
