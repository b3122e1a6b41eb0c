//! Gloss→text translation (SCOPE's translation stage without context, signjoey's
//! Gloss2Text), and the same model reversed for text→gloss.
//!
//! ```no_run
//! let translator = signscope_slt::Translator::load(std::path::Path::new("runs/slt/phoenix2014t_g2t"))?;
//! println!("{}", translator.translate("MORGEN REGEN")?);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod augment;
pub mod cli;
pub mod config;
pub mod data;
pub mod noise;
pub mod rerank;
pub mod subword;
pub mod translator;

pub use config::{DataConfig, Dataset, Direction, NoiseConfig, SltConfig, TextLevel};
pub use translator::{
    CandidateChoice, DecodeOptions, DevScores, Start, Translation, Translator, train_from_config,
};
