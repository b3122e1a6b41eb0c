//! No-leakage properties of the dialogue-aware split on random dialogue corpora with
//! repeated sentences (differently cased and punctuated), gloss-only and text-only turns,
//! and contexts quoting sentences from other dialogues.

use std::collections::HashMap;

use proptest::prelude::*;
use signscope_corpus::Record;
use signscope_corpus::Split;
use signscope_corpus::import::fill_context;
use signscope_corpus::split::{
    ContextPolicy, SplitConfig, normalize_glosses, normalize_text, split,
};

#[derive(Clone, Debug)]
struct Turn {
    sentence: usize,
    /// 0: glosses and text, 1: glosses only, 2: text only
    annotation: u8,
    shouting: bool,
    quoted: Option<usize>,
}

fn turn(pool: usize) -> impl Strategy<Value = Turn> {
    (
        0..pool,
        0u8..3,
        any::<bool>(),
        proptest::option::weighted(0.1, 0..pool),
    )
        .prop_map(|(sentence, annotation, shouting, quoted)| Turn {
            sentence,
            annotation,
            shouting,
            quoted,
        })
}

fn text_of(sentence: usize, shouting: bool) -> String {
    if shouting {
        format!("SENTENCE number {sentence}!")
    } else {
        format!("sentence number {sentence}.")
    }
}

/// Sentences 2k and 2k+1 share their glosses when `shared_glosses`: different texts, one
/// sign sequence, which must still count as the same sentence.
fn corpus(dialogues: Vec<Vec<Turn>>, alone: Vec<Turn>, shared_glosses: bool) -> Vec<Record> {
    let mut records = Vec::new();
    let mut add = |dialogue: Option<String>, index: u32, t: &Turn| {
        let gloss_id = if shared_glosses {
            t.sentence / 2
        } else {
            t.sentence
        };
        let mut record = Record::new(format!("r{}", records.len()));
        record.dialogue = dialogue;
        record.turn = Some(index);
        if t.annotation != 2 {
            record.glosses = vec!["G".into(), format!("X{gloss_id}")];
        }
        if t.annotation != 1 {
            record.text = Some(text_of(t.sentence, t.shouting));
        }
        records.push(record);
    };
    for (d, turns) in dialogues.iter().enumerate() {
        for (i, t) in turns.iter().enumerate() {
            add(Some(format!("d{d}")), i as u32, t);
        }
    }
    for t in &alone {
        add(None, 0, t);
    }
    fill_context(&mut records, 3);
    // Contexts quoting a sentence that is not an earlier turn (e.g. an unsigned reply).
    let quoted: Vec<Option<usize>> = dialogues
        .iter()
        .flatten()
        .chain(&alone)
        .map(|t| t.quoted)
        .collect();
    for (record, quoted) in records.iter_mut().zip(quoted) {
        if let Some(q) = quoted {
            record.context.insert(0, text_of(q, true));
        }
    }
    records
}

fn config() -> impl Strategy<Value = SplitConfig> {
    (
        0.0f64..1.0,
        0.0f64..0.3,
        0.0f64..0.4,
        any::<u64>(),
        0.05f64..2.0,
        any::<bool>(),
    )
        .prop_map(
            |(train, dev, test, seed, max_block_fraction, remove)| SplitConfig {
                ratios: [train + 0.01, dev, test],
                seed,
                max_block_fraction,
                context_policy: if remove {
                    ContextPolicy::Remove
                } else {
                    ContextPolicy::Truncate
                },
            },
        )
}

fn is_subsequence(short: &[String], long: &[String]) -> bool {
    let mut long = long.iter();
    short.iter().all(|s| long.any(|l| l == s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_never_leaks(
        (dialogues, alone) in (3usize..30).prop_flat_map(|pool| (
            proptest::collection::vec(proptest::collection::vec(turn(pool), 1..7), 0..25),
            proptest::collection::vec(turn(pool), 0..20),
        )),
        shared_glosses in any::<bool>(),
        config in config(),
    ) {
        let original = corpus(dialogues, alone, shared_glosses);
        let mut records = original.clone();
        let report = split(&mut records, &config).unwrap();

        // Every record is assigned; nothing but `split` and `context` changes.
        prop_assert_eq!(records.len(), original.len());
        for (after, before) in records.iter().zip(&original) {
            prop_assert!(after.split.is_some());
            let mut unchanged = after.clone();
            unchanged.split = None;
            unchanged.context = before.context.clone();
            prop_assert_eq!(&unchanged, before);
            if after.split == Some(Split::Train) && config.context_policy == ContextPolicy::Truncate {
                prop_assert!(before.context.ends_with(&after.context));
            } else {
                prop_assert!(is_subsequence(&after.context, &before.context));
            }
            if after.split != Some(Split::Train) {
                prop_assert_eq!(&after.context, &before.context);
            }
        }

        // No identical sentence (same normalized glosses or text) in two splits.
        let mut split_of_key: HashMap<String, Split> = HashMap::new();
        for r in &records {
            let mut keys = Vec::new();
            if !r.glosses.is_empty() {
                keys.push(format!("g {}", normalize_glosses(&r.glosses)));
            }
            if let Some(text) = &r.text {
                keys.push(format!("t {}", normalize_text(text)));
            }
            for key in keys {
                let first = *split_of_key.entry(key.clone()).or_insert(r.split.unwrap());
                prop_assert_eq!(first, r.split.unwrap(), "sentence {} in two splits", key);
            }
        }

        // No dev/test sentence in a training context.
        for r in records.iter().filter(|r| r.split == Some(Split::Train)) {
            for c in &r.context {
                let held_out = split_of_key.get(&format!("t {}", normalize_text(c)));
                prop_assert!(held_out.is_none_or(|s| *s == Split::Train), "{} has dev/test context {:?}", r.id, c);
            }
        }

        // The report tells what happened.
        let count = |s| records.iter().filter(|r| r.split == Some(s)).count();
        for s in Split::ALL {
            prop_assert_eq!(report.splits[&s].records, count(s));
        }
        let dropped: usize = records.iter().zip(&original).map(|(a, b)| b.context.len() - a.context.len()).sum();
        prop_assert_eq!(report.dropped_context_entries, dropped);
        let mut dialogue_splits: HashMap<&str, Vec<Split>> = HashMap::new();
        for r in &records {
            if let Some(d) = &r.dialogue {
                dialogue_splits.entry(d).or_default().push(r.split.unwrap());
            }
        }
        let across = dialogue_splits.values().filter(|s| s.iter().any(|x| *x != s[0])).count();
        prop_assert_eq!(report.dialogues_across_splits, across);
        if report.broken_blocks == 0 {
            prop_assert_eq!(report.moved_records, 0);
            prop_assert_eq!(across, 0);
        }

        // Deterministic for a seed.
        let mut again = original.clone();
        let report_again = split(&mut again, &config).unwrap();
        prop_assert_eq!(&again, &records);
        prop_assert_eq!(report_again, report);
    }
}
