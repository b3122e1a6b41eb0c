//! Sign language production: text → gloss → pose.
//!
//! - [`lexicon`]: spoken-to-signed lexicon folders (`index.csv` + `.pose`), lazy loading.
//! - [`text_to_gloss`]: the [`TextToGloss`] seam, the lexicon baseline with AuraLLM-style
//!   retrieval for unknown words, fingerspelling fallback, punctuation pauses.
//! - [`join`]: trimming, capping, best-frame joins, Hermite transitions, filtfilt smoothing.
//! - [`produce`]: the pipeline, with per-word warnings instead of failures.
//! - [`metrics`]: wrist jerk at the joins vs inside signs.
//! - [`cli`]: `signscope produce`.

pub mod cli;
pub mod clip;
pub mod filter;
pub mod fingerspell;
pub mod join;
pub mod layout;
pub mod lexicon;
pub mod metrics;
pub mod output;
pub mod produce;
pub mod text_to_gloss;

pub use fingerspell::Fingerspeller;
pub use join::{JoinMethod, JoinOptions, Smoothing, Transition};
pub use lexicon::{Lexicon, LexiconEntry, LexiconError, write_lexicon};
pub use produce::{ProduceError, Producer, Production};
pub use text_to_gloss::{
    Embedder, GlossItem, GlossModel, GlossSource, Glossed, LanguagePair, LexiconGlosser, Retrieval,
    TextToGloss,
};
