//! Synthetic training pairs from trained models (data diversification, Nguyen et al. 2020:
//! "Data Diversification: A Simple Strategy For Neural Machine Translation"): a gloss → text
//! model's translations of the training glosses give forward pairs (real glosses, its text),
//! a text → gloss model's translations of the training text give back-translated pairs (its
//! glosses, real text). A new translator trained on the corpus plus these sees each sentence
//! with several plausible sources and targets; `[data] extra_train` reads them.

use signscope_corpus::Record;

use crate::config::Direction;
use crate::data::{Example, detokenize_text, tokenize_glosses};
use crate::translator::{DecodeOptions, Translator};

/// Which side of a synthetic pair the model wrote.
fn origin(direction: Direction) -> anyhow::Result<&'static str> {
    match direction {
        Direction::GlossToText => Ok("forward"),
        Direction::TextToGloss => Ok("backward"),
        Direction::TextCorrection => {
            anyhow::bail!("a text-correction model writes neither glosses nor text from the other")
        }
    }
}

/// What came of one model's pass over the examples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AugmentCounts {
    /// Synthetic pairs written.
    pub written: usize,
    /// Translations equal to the real side they stand in for (dropped unless kept).
    pub copies: usize,
}

/// `translator`'s `nbest` best translations of each example as synthetic gloss/text pairs
/// (ids `"{tag}:{rank}:{id}"`). The examples must be oriented for the translator's direction
/// (from `load_split` with its config). A translation equal to the real side it replaces only
/// repeats a training pair, so it is dropped unless `keep_copies`.
pub fn synthetic_pairs(
    translator: &Translator,
    examples: &[Example],
    options: DecodeOptions,
    nbest: usize,
    keep_copies: bool,
    tag: &str,
) -> anyhow::Result<(Vec<Record>, AugmentCounts)> {
    let data = &translator.config.data;
    let kind = origin(data.direction)?;
    let mut records = Vec::new();
    let mut counts = AugmentCounts::default();
    let options = DecodeOptions {
        beam_size: options.beam_size.max(nbest),
        ..options
    };
    for chunk in examples.chunks(64) {
        let sources: Vec<Vec<String>> = chunk.iter().map(|e| e.source.clone()).collect();
        let beams = translator.translate_nbest(&sources, options)?;
        for (example, beam) in chunk.iter().zip(beams) {
            for (rank, hypothesis) in beam.into_iter().take(nbest).enumerate() {
                // `origin` has refused text correction: the model wrote text or glosses.
                let (glosses, text, copy) = if data.direction == Direction::GlossToText {
                    let copy = hypothesis.text == detokenize_text(&example.target, data.text_level);
                    (example.source.clone(), hypothesis.text, copy)
                } else {
                    let glosses = tokenize_glosses(&hypothesis.text);
                    let copy = glosses == example.target;
                    let text = detokenize_text(&example.source, data.text_level);
                    (glosses, text, copy)
                };
                if copy {
                    counts.copies += 1;
                    if !keep_copies {
                        continue;
                    }
                }
                if glosses.is_empty() || text.trim().is_empty() {
                    continue;
                }
                let mut record = Record::new(format!("{tag}:{rank}:{}", example.id));
                record.glosses = glosses;
                record.text = Some(text);
                record.extra.insert("synthetic".into(), kind.into());
                record.extra.insert("model".into(), tag.into());
                records.push(record);
                counts.written += 1;
            }
        }
    }
    Ok((records, counts))
}
