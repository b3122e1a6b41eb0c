//! Parallel gloss/text data: loading through `signscope-corpus`, tokenization, batching.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use signscope_corpus::Split;
use signscope_corpus::import::{csl_daily, phoenix_2014t};
use signscope_corpus::manifest::{Record, read_manifest};

use crate::config::{DataConfig, Dataset, Direction, TextLevel};

/// One sentence pair, already tokenized and oriented (source → target).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub id: String,
    pub source: Vec<String>,
    pub target: Vec<String>,
}

/// Splits spoken-language text into model tokens.
pub fn tokenize_text(text: &str, level: TextLevel, lowercase: bool) -> Vec<String> {
    let text = if lowercase {
        text.to_lowercase()
    } else {
        text.to_string()
    };
    match level {
        TextLevel::Word => text.split_whitespace().map(String::from).collect(),
        TextLevel::Char => text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(String::from)
            .collect(),
    }
}

/// Joins model tokens back into text: words with spaces, characters without.
pub fn detokenize_text(tokens: &[String], level: TextLevel) -> String {
    match level {
        TextLevel::Word => tokens.join(" "),
        TextLevel::Char => tokens.concat(),
    }
}

/// `text` (e.g. another system's translation) spelled the way a translator trained at
/// `level` writes its output: lower-cased where it was trained lower-cased, characters joined
/// at character level, words single-spaced at word level.
pub fn spell_as_output(text: &str, level: TextLevel, lowercase: bool) -> String {
    detokenize_text(&tokenize_text(text, level, lowercase), level)
}

/// Glosses are whitespace-separated tokens, used verbatim.
pub fn tokenize_glosses(glosses: &str) -> Vec<String> {
    glosses.split_whitespace().map(String::from).collect()
}

/// Glosses spelled like the text side, for a vocabulary shared by both sides
/// (`data.shared_vocabulary`): lower-cased when the text is, and split into characters when the
/// text is scored per character (CSL-Daily's glosses are Chinese words, so their characters
/// are the text's tokens). Gloss word boundaries are not marked. German glosses keep their
/// transliterations (KOENNEN stays "koennen", not "können"): mapping "oe" to "ö" would also
/// turn the "oe" of words that have no umlaut, and a learned spelling is left to the model.
pub fn glosses_as_text(glosses: &[String], level: TextLevel, lowercase: bool) -> Vec<String> {
    glosses
        .iter()
        .flat_map(|g| tokenize_text(g, level, lowercase))
        .collect()
}

/// The source tokens the model's vocabulary holds: `source` itself, or for a shared
/// vocabulary the glosses spelled like the text ([`glosses_as_text`]). Examples and
/// hypotheses keep the glosses as written; this is applied where they become ids.
pub fn model_source_tokens<'a>(config: &DataConfig, source: &'a [String]) -> Cow<'a, [String]> {
    if config.shared_vocabulary && config.direction == Direction::GlossToText {
        Cow::Owned(glosses_as_text(
            source,
            config.text_level,
            config.lowercase_text,
        ))
    } else {
        Cow::Borrowed(source)
    }
}

pub fn split_file(data_dir: &Path, dataset: Dataset, split: Split) -> PathBuf {
    match dataset {
        Dataset::Phoenix2014t => data_dir
            .join("phoenix-2014t")
            .join(format!("PHOENIX-2014-T.{}.corpus.csv", split.as_str())),
        Dataset::CslDaily => data_dir
            .join("csl-daily")
            .join(format!("csl-daily.{}.tsv", split.as_str())),
    }
}

/// Reads one split; records lacking glosses or text are skipped (none are in these corpora).
pub fn load_split(
    config: &DataConfig,
    data_dir: &Path,
    split: Split,
) -> anyhow::Result<Vec<Example>> {
    let path = split_file(data_dir, config.dataset, split);
    if !path.exists() {
        bail!(
            "{}: corpus file not found (set data.data_dir, --data-dir or SIGNSCOPE_SHARED)",
            path.display()
        );
    }
    let records = match config.dataset {
        Dataset::Phoenix2014t => phoenix_2014t(&path, Some(split)),
        Dataset::CslDaily => csl_daily(&path, Some(split)),
    }
    .with_context(|| format!("reading {}", path.display()))?;
    let examples = examples_from_records(config, records);
    if examples.is_empty() {
        bail!(
            "{}: no sentence pairs with both glosses and text",
            path.display()
        );
    }
    Ok(examples)
}

/// Records with both glosses and text as examples oriented for `config.direction`; the rest
/// are skipped.
fn examples_from_records(config: &DataConfig, records: Vec<Record>) -> Vec<Example> {
    records
        .into_iter()
        .filter_map(|r| {
            let text = tokenize_text(r.text.as_deref()?, config.text_level, config.lowercase_text);
            if r.glosses.is_empty() || text.is_empty() {
                return None;
            }
            let (source, target) = match config.direction {
                Direction::GlossToText => (r.glosses, text),
                Direction::TextToGloss => (text, r.glosses),
                // Sources are corrupted copies, drawn when batches are made.
                Direction::TextCorrection => (text.clone(), text),
            };
            Some(Example {
                id: r.id,
                source,
                target,
            })
        })
        .collect()
}

/// The extra training pairs of `config.extra_train` (manifests, e.g. written by `signscope
/// augment`), in file order. A file that cannot be read, or holds no pair with both glosses
/// and text, is an error naming it.
pub fn load_extra_train(config: &DataConfig) -> anyhow::Result<Vec<Example>> {
    let mut examples = Vec::new();
    for path in &config.extra_train {
        let records = read_manifest(path).with_context(|| {
            format!(
                "{}: reading data.extra_train (make it with `signscope augment`)",
                path.display()
            )
        })?;
        let found = examples_from_records(config, records);
        if found.is_empty() {
            bail!(
                "{}: data.extra_train holds no record with both glosses and text",
                path.display()
            );
        }
        examples.extend(found);
    }
    Ok(examples)
}

/// Sentence indices grouped into batches for one epoch: shuffled with (seed, epoch), sorted by
/// length inside pools of 50 batches (less padding), then the batch order shuffled again.
pub fn epoch_batches(
    lengths: &[usize],
    batch_size: usize,
    epoch: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    let mut batches = Vec::new();
    for pool in order.chunks(batch_size * 50) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| lengths[i]);
        batches.extend(pool.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_and_word_tokenization_round_trip() {
        let zh = tokenize_text("他今年 四岁。", TextLevel::Char, true);
        assert_eq!(zh, ["他", "今", "年", "四", "岁", "。"]);
        assert_eq!(detokenize_text(&zh, TextLevel::Char), "他今年四岁。");
        let de = tokenize_text("Morgen  Regen", TextLevel::Word, true);
        assert_eq!(detokenize_text(&de, TextLevel::Word), "morgen regen");
    }

    #[test]
    fn glosses_spelled_like_text() {
        let glosses = tokenize_glosses("KOENNEN neg-HABEN REGEN");
        assert_eq!(
            glosses_as_text(&glosses, TextLevel::Word, true),
            ["koennen", "neg-haben", "regen"]
        );
        let zh = tokenize_glosses("你们 好");
        assert_eq!(
            glosses_as_text(&zh, TextLevel::Char, true),
            ["你", "们", "好"]
        );
    }

    #[test]
    fn batches_cover_every_sentence_once_and_depend_on_epoch() {
        let lengths: Vec<usize> = (0..103).map(|i| i % 17).collect();
        let a = epoch_batches(&lengths, 8, 0, 7);
        let mut all: Vec<usize> = a.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(a, epoch_batches(&lengths, 8, 0, 7));
        assert_ne!(a, epoch_batches(&lengths, 8, 1, 7));
    }
}
