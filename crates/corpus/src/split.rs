//! SCOPE's train/dev/test split for dialogue corpora.
//!
//! The SCOPE paper splits its dialogue dataset randomly 80/5/15 "carefully ensuring that no
//! same sentence appears in different sets and any sentence in the dev set or test set does
//! not appear in context dialogues of the training set". Here:
//!
//! 1. **Sentences.** Records with the same normalized gloss sequence or the same normalized
//!    text form one *sentence cluster* (SCOPE records each text by four signers, so these
//!    clusters are common). A cluster always lands in one split: a hard constraint.
//! 2. **Dialogues.** Turns of one dialogue should stay together. Dialogues joined by shared
//!    sentences form *blocks*; a block no larger than `max_block_fraction` of the smallest
//!    split's target is assigned whole. Larger blocks (frequent sentences like "你好" can tie
//!    hundreds of dialogues together) are assigned dialogue by dialogue, and afterwards each
//!    sentence cluster that ended up in several splits is moved entirely into the split
//!    holding most of its records. Those records are the report's `moved_records`.
//! 3. **Assignment.** Units are shuffled with the seed and each goes to a split drawn with
//!    probability proportional to that split's remaining need, preferring splits the unit
//!    still fits into — so sizes come out close to the ratios without biasing which kind
//!    of dialogue lands where.
//! 4. **Contexts.** A train record whose `context` holds the text of a dev/test sentence
//!    loses that context entry. With [`ContextPolicy::Truncate`] (default) it also loses
//!    every older entry, so that the context stays the contiguous run of turns just before
//!    the sentence, which is what a context model is trained on; [`ContextPolicy::Remove`]
//!    drops only the leaking entries.
//!
//! Fill the contexts ([`crate::import::fill_context`]) *before* splitting: the check
//! works on the `context` field the training set will actually see.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::manifest::{Record, Split};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ContextPolicy {
    /// Drop the leaking entry and everything older (context stays contiguous).
    #[default]
    Truncate,
    /// Drop only the leaking entries.
    Remove,
}

#[derive(Clone, Debug)]
pub struct SplitConfig {
    /// Relative sizes of train, dev, test (normalized; SCOPE: 80/5/15).
    pub ratios: [f64; 3],
    pub seed: u64,
    /// Blocks larger than this fraction of the smallest non-empty split's target are
    /// assigned dialogue by dialogue instead of whole.
    pub max_block_fraction: f64,
    pub context_policy: ContextPolicy,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            ratios: [0.80, 0.05, 0.15],
            seed: 0,
            max_block_fraction: 0.5,
            context_policy: ContextPolicy::Truncate,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SplitCounts {
    pub records: usize,
    /// Target record count from the ratios.
    pub target: f64,
    pub dialogues: usize,
    /// Distinct sentence clusters.
    pub sentences: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SplitReport {
    pub seed: u64,
    pub ratios: [f64; 3],
    pub records: usize,
    pub splits: BTreeMap<Split, SplitCounts>,
    /// Sentence clusters (records sharing a normalized gloss sequence or text).
    pub sentence_clusters: usize,
    /// Connected groups of dialogues and sentence clusters.
    pub blocks: usize,
    pub largest_block: usize,
    /// Block size above which a block is assigned dialogue by dialogue.
    pub block_cap: usize,
    pub broken_blocks: usize,
    /// Records moved away from their dialogue's split so that an identical sentence
    /// stays in one split.
    pub moved_records: usize,
    /// Up to 20 ids of moved records.
    pub moved_examples: Vec<String>,
    /// Dialogues whose turns ended up in more than one split.
    pub dialogues_across_splits: usize,
    /// Context entries removed from train records because they are dev/test sentences.
    pub dropped_context_entries: usize,
    pub records_with_dropped_context: usize,
    pub context_policy: ContextPolicy,
}

impl fmt::Display for SplitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "split of {} records (seed {}, ratios {:?})",
            self.records, self.seed, self.ratios
        )?;
        writeln!(
            f,
            "{:<6} {:>9} {:>10} {:>10} {:>10}",
            "split", "records", "target", "dialogues", "sentences"
        )?;
        for (split, c) in &self.splits {
            writeln!(
                f,
                "{:<6} {:>9} {:>10.1} {:>10} {:>10}",
                split.as_str(),
                c.records,
                c.target,
                c.dialogues,
                c.sentences
            )?;
        }
        writeln!(f, "sentence clusters: {}", self.sentence_clusters)?;
        writeln!(
            f,
            "blocks: {} (largest {} records; {} above the cap of {} were assigned per dialogue)",
            self.blocks, self.largest_block, self.broken_blocks, self.block_cap
        )?;
        writeln!(
            f,
            "records moved to keep identical sentences in one split: {}",
            self.moved_records
        )?;
        if !self.moved_examples.is_empty() {
            writeln!(f, "  e.g. {}", self.moved_examples.join(", "))?;
        }
        writeln!(
            f,
            "dialogues spread over several splits: {}",
            self.dialogues_across_splits
        )?;
        write!(
            f,
            "train context entries dropped (dev/test sentences, policy {:?}): {} in {} records",
            self.context_policy, self.dropped_context_entries, self.records_with_dropped_context
        )
    }
}

/// The text as compared for "same sentence": lower-case, punctuation removed, whitespace
/// collapsed ("Hallo, Welt!" = "hallo welt"; "你好！" = "你好").
pub fn normalize_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The gloss sequence as compared for "same sentence": case-folded, space-joined.
pub fn normalize_glosses(glosses: &[String]) -> String {
    glosses.join(" ").to_lowercase()
}

/// Keys identifying a record's sentence; two records sharing any key are the same sentence.
fn sentence_keys(record: &Record) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if !record.glosses.is_empty() {
        keys.push(format!("g:{}", normalize_glosses(&record.glosses)));
    }
    if let Some(text) = &record.text {
        let text = normalize_text(text);
        if !text.is_empty() {
            keys.push(format!("t:{text}"));
        }
    }
    keys
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index becomes the root so that results do not depend on hashing.
            let (root, child) = if a < b { (a, b) } else { (b, a) };
            self.parent[child] = root;
        }
    }

    /// Group id per element, numbered by first appearance.
    fn labels(&mut self) -> Vec<usize> {
        let mut number: HashMap<usize, usize> = HashMap::new();
        (0..self.parent.len())
            .map(|i| {
                let root = self.find(i);
                let next = number.len();
                *number.entry(root).or_insert(next)
            })
            .collect()
    }
}

fn split_index(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Dev => 1,
        Split::Test => 2,
    }
}

/// Assigns `split` on every record (overwriting any existing one) and drops leaking train
/// contexts. Errors only on an invalid configuration.
pub fn split(records: &mut [Record], config: &SplitConfig) -> Result<SplitReport, String> {
    let ratio_sum: f64 = config.ratios.iter().sum();
    if config.ratios.iter().any(|r| !r.is_finite() || *r < 0.0) || ratio_sum <= 0.0 {
        return Err(format!(
            "split ratios {:?} must be non-negative with a positive sum",
            config.ratios
        ));
    }
    if !(config.max_block_fraction.is_finite() && config.max_block_fraction > 0.0) {
        return Err(format!(
            "max block fraction {} must be positive",
            config.max_block_fraction
        ));
    }
    let n = records.len();
    let targets: [f64; 3] = config.ratios.map(|r| r / ratio_sum * n as f64);

    // 1. Sentence clusters.
    let mut sentences = UnionFind::new(n);
    let mut first_with_key: HashMap<String, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        for key in sentence_keys(record) {
            let first = *first_with_key.entry(key).or_insert(i);
            sentences.union(first, i);
        }
    }
    let cluster = sentences.labels();
    let num_clusters = cluster.iter().max().map_or(0, |m| m + 1);

    // 2. Dialogue groups and blocks.
    let mut dialogue_members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(d) = &record.dialogue {
            dialogue_members.entry(d.clone()).or_default().push(i);
        }
    }
    let mut blocks = sentences;
    for members in dialogue_members.values() {
        for &i in &members[1..] {
            blocks.union(members[0], i);
        }
    }
    let block = blocks.labels();
    let num_blocks = block.iter().max().map_or(0, |m| m + 1);
    let mut block_records: Vec<Vec<usize>> = vec![Vec::new(); num_blocks];
    for (i, &b) in block.iter().enumerate() {
        block_records[b].push(i);
    }
    let smallest_target = targets
        .iter()
        .copied()
        .filter(|t| *t > 0.0)
        .fold(f64::INFINITY, f64::min);
    let block_cap = ((config.max_block_fraction * smallest_target).floor() as usize).max(1);

    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut broken_blocks = 0;
    for members in block_records.iter().filter(|m| !m.is_empty()) {
        if members.len() <= block_cap {
            units.push(members.clone());
            continue;
        }
        broken_blocks += 1;
        let mut by_dialogue: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
        for &i in members {
            match records[i].dialogue.as_deref() {
                Some(d) => by_dialogue.entry(Some(d)).or_default().push(i),
                None => units.push(vec![i]),
            }
        }
        units.extend(by_dialogue.into_values());
    }
    units.sort_by_key(|u| u[0]);

    // 3. Random order, need-proportional choice.
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    units.shuffle(&mut rng);
    let mut assigned = vec![0usize; n];
    let mut counts = [0usize; 3];
    for unit in &units {
        let need: [f64; 3] = std::array::from_fn(|s| targets[s] - counts[s] as f64);
        let size = unit.len() as f64;
        let weights: [f64; 3] = if need.iter().any(|&x| x >= size) {
            need.map(|x| if x >= size { x } else { 0.0 })
        } else if need.iter().any(|&x| x > 0.0) {
            need.map(|x| x.max(0.0))
        } else {
            // Everything is (over)full from rounding: least overfull split.
            let best = (0..3)
                .filter(|&s| targets[s] > 0.0)
                .max_by(|&a, &b| need[a].total_cmp(&need[b]))
                .unwrap_or(0);
            std::array::from_fn(|s| if s == best { 1.0 } else { 0.0 })
        };
        let s = sample(&mut rng, &weights);
        for &i in unit {
            assigned[i] = s;
        }
        counts[s] += unit.len();
    }

    // Reunite sentence clusters split by broken blocks.
    let mut cluster_split_counts = vec![[0usize; 3]; num_clusters];
    for i in 0..n {
        cluster_split_counts[cluster[i]][assigned[i]] += 1;
    }
    let cluster_home: Vec<usize> = cluster_split_counts
        .iter()
        .map(|c| {
            // Majority; ties go to the split with more remaining need, then the lower index.
            (0..3)
                .max_by(|&a, &b| {
                    c[a].cmp(&c[b])
                        .then(
                            (targets[a] - counts[a] as f64)
                                .total_cmp(&(targets[b] - counts[b] as f64)),
                        )
                        .then(b.cmp(&a))
                })
                .unwrap()
        })
        .collect();
    let mut moved_records = 0;
    let mut moved_examples = Vec::new();
    for i in 0..n {
        let home = cluster_home[cluster[i]];
        if assigned[i] != home {
            assigned[i] = home;
            moved_records += 1;
            if moved_examples.len() < 20 {
                moved_examples.push(records[i].id.clone());
            }
        }
    }
    for (record, &s) in records.iter_mut().zip(&assigned) {
        record.split = Some(Split::ALL[s]);
    }

    // 4. Contexts of train records must not contain dev/test sentences.
    let held_out_texts: HashSet<String> = records
        .iter()
        .filter(|r| r.split != Some(Split::Train))
        .filter_map(|r| r.text.as_deref().map(normalize_text))
        .filter(|t| !t.is_empty())
        .collect();
    let mut dropped_context_entries = 0;
    let mut records_with_dropped_context = 0;
    for record in records.iter_mut().filter(|r| r.split == Some(Split::Train)) {
        let leaks = |entry: &String| held_out_texts.contains(&normalize_text(entry));
        let before = record.context.len();
        match config.context_policy {
            ContextPolicy::Truncate => {
                if let Some(last) = record.context.iter().rposition(leaks) {
                    record.context.drain(..=last);
                }
            }
            ContextPolicy::Remove => record.context.retain(|entry| !leaks(entry)),
        }
        let dropped = before - record.context.len();
        if dropped > 0 {
            dropped_context_entries += dropped;
            records_with_dropped_context += 1;
        }
    }

    // Report.
    let mut splits = BTreeMap::new();
    for split in Split::ALL {
        let s = split_index(split);
        let members: Vec<usize> = (0..n).filter(|&i| assigned[i] == s).collect();
        splits.insert(
            split,
            SplitCounts {
                records: members.len(),
                target: targets[s],
                dialogues: members
                    .iter()
                    .filter_map(|&i| records[i].dialogue.as_deref())
                    .collect::<BTreeSet<_>>()
                    .len(),
                sentences: members
                    .iter()
                    .map(|&i| cluster[i])
                    .collect::<BTreeSet<_>>()
                    .len(),
            },
        );
    }
    let dialogues_across_splits = dialogue_members
        .values()
        .filter(|members| members.iter().any(|&i| assigned[i] != assigned[members[0]]))
        .count();
    Ok(SplitReport {
        seed: config.seed,
        ratios: config.ratios,
        records: n,
        splits,
        sentence_clusters: num_clusters,
        blocks: block_records.iter().filter(|m| !m.is_empty()).count(),
        largest_block: block_records.iter().map(Vec::len).max().unwrap_or(0),
        block_cap,
        broken_blocks,
        moved_records,
        moved_examples,
        dialogues_across_splits,
        dropped_context_entries,
        records_with_dropped_context,
        context_policy: config.context_policy,
    })
}

fn sample(rng: &mut ChaCha8Rng, weights: &[f64; 3]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (s, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            if x < w {
                return s;
            }
            x -= w;
        }
    }
    // Rounding left x just above the last positive weight.
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(id: usize, dialogue: Option<&str>, turn: u32, text: &str) -> Record {
        Record {
            id: format!("r{id}"),
            dialogue: dialogue.map(String::from),
            turn: Some(turn),
            glosses: text.split_whitespace().map(|w| w.to_uppercase()).collect(),
            text: Some(text.into()),
            ..Record::default()
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_text("  Hallo,  Welt! "), "hallo welt");
        assert_eq!(normalize_text("你好！"), "你好");
        assert_eq!(
            normalize_glosses(&["Wetter".into(), "MORGEN".into()]),
            "wetter morgen"
        );
    }

    #[test]
    fn distinct_sentences_follow_the_ratios() {
        let mut records: Vec<Record> = (0..1000)
            .map(|i| sentence(i, None, 0, &format!("sentence {i}")))
            .collect();
        let report = split(&mut records, &SplitConfig::default()).unwrap();
        let got: Vec<usize> = report.splits.values().map(|c| c.records).collect();
        assert_eq!(got, [800, 50, 150]);
        assert_eq!(report.moved_records, 0);
    }

    #[test]
    fn repeated_sentences_stay_together_and_contexts_are_cut() {
        // 40 dialogues of 3 turns; every dialogue opens with the same greeting, which ties
        // them all into one block larger than the cap.
        let mut records = Vec::new();
        for d in 0..40 {
            let dialogue = format!("d{d}");
            records.push(sentence(records.len(), Some(&dialogue), 0, "hello"));
            records.push(sentence(
                records.len(),
                Some(&dialogue),
                1,
                &format!("question {d}"),
            ));
            records.push(sentence(
                records.len(),
                Some(&dialogue),
                2,
                &format!("answer {d}"),
            ));
        }
        crate::import::fill_context(&mut records, 3);
        // A train record quoting a dev/test sentence in its context, from outside its dialogue.
        records[2].context.insert(0, "Question 7!".into());
        let report = split(
            &mut records,
            &SplitConfig {
                seed: 3,
                ..SplitConfig::default()
            },
        )
        .unwrap();
        assert_eq!(report.broken_blocks, 1);
        let greeting_splits: BTreeSet<_> = records
            .iter()
            .filter(|r| r.text.as_deref() == Some("hello"))
            .map(|r| r.split)
            .collect();
        assert_eq!(greeting_splits.len(), 1);
        assert!(report.moved_records > 0);
        assert!(report.dialogues_across_splits > 0);
        let held_out: HashSet<String> = records
            .iter()
            .filter(|r| r.split != Some(Split::Train))
            .map(|r| normalize_text(r.text.as_deref().unwrap()))
            .collect();
        for r in records.iter().filter(|r| r.split == Some(Split::Train)) {
            assert!(
                r.context
                    .iter()
                    .all(|c| !held_out.contains(&normalize_text(c))),
                "{r:?}"
            );
        }
    }

    #[test]
    fn invalid_config() {
        let mut records = vec![sentence(0, None, 0, "a")];
        assert!(
            split(
                &mut records,
                &SplitConfig {
                    ratios: [0.0, 0.0, 0.0],
                    ..SplitConfig::default()
                }
            )
            .is_err()
        );
        assert!(
            split(
                &mut records,
                &SplitConfig {
                    ratios: [1.0, -1.0, 0.0],
                    ..SplitConfig::default()
                }
            )
            .is_err()
        );
    }
}
