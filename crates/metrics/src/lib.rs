//! Scorers for sign language recognition and translation that reproduce, number for number,
//! the reference implementations the papers report with (see `shared/reference/evaluation.md`).

pub mod cleanup;
pub mod text;
pub mod wer;

pub use cleanup::{Cleanup, clean_phoenix_2014, clean_phoenix_2014_trans};
pub use wer::{AlignOp, EditCounts, WerReport, align, corpus_wer, edit_counts};
