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

pub mod alignment;
pub mod config;
pub mod context;
pub mod decode;
pub mod gloss;
pub mod model;
pub mod motion;
