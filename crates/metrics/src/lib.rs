//! Scorers for sign language recognition and translation that reproduce, number for number,
//! the reference implementations the papers report with (see `shared/reference/evaluation.md`).
//!
//! | metric | reproduces |
//! |---|---|
//! | [`wer`] | signjoey / TwoStream `metrics.py` `wer_list` (sclite weights 4/3/3) |
//! | [`cleanup`] | signjoey `phoenix_cleanup.py` (PHOENIX-2014 and -2014T) |
//! | [`bleu`] | sacrebleu 1.4.2 `raw_corpus_bleu` (signjoey BLEU-1..4) and sacrebleu 2.x |
//! | [`rouge`] | mscoco `calc_score` (β = 1.2) and TwoStream `Rouge.py` (β = P/R) |
//! | [`cer`] | jiwer `cer` / `wer` (unit costs) |

pub mod bleu;
pub mod bootstrap;
pub mod cer;
pub mod cleanup;
pub mod cli;
pub mod io;
pub mod numpy_rng;
pub mod rouge;
pub mod score;
pub mod text;
pub mod wer;

pub use bleu::{BleuConfig, BleuScore, BleuStats, BleuVariant, Tokenizer, corpus_bleu};
pub use cer::{corpus_cer, corpus_wer_uniform};
pub use cleanup::{Cleanup, clean_phoenix_2014, clean_phoenix_2014_trans};
pub use rouge::{RougeVariant, corpus_rouge};
pub use score::{Level, Metric, ScoreOptions};
pub use wer::{AlignOp, EditCounts, WerReport, align, corpus_wer, edit_counts};
