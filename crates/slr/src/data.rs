//! Training and evaluation data: manifest records turned into SCOPE features kept in memory,
//! sentence embeddings for targets and context turns, and padded batches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::prelude::*;
use burn::tensor::TensorData;
use signscope_corpus::manifest::{Record, Split, read_manifest};
use signscope_pose::augment::{AugmentConfig, Augmenter};
use signscope_pose::format::pose_file::{ReadOptions, ReadRange, read_pose_with};
use signscope_pose::preprocess::{
    FeatureStats, KeypointSeq, SCOPE_POINTS, ScopeConfig, StatsAccumulator, scope_features,
};

use crate::context::SentenceEmbedder;
use crate::model::SlrBatch;
use crate::vocab::GlossVocab;

/// One signed utterance ready for the recognizer.
#[derive(Debug, Clone)]
pub struct Utterance {
    pub id: String,
    /// SCOPE features `[T, 77, 2]`, scaled and centred but not standardized (augmentations
    /// are geometric and must run before standardization).
    pub features: KeypointSeq,
    pub glosses: Vec<String>,
    pub text: Option<String>,
    /// Texts of the earlier turns of the dialogue, oldest first.
    pub context: Vec<String>,
}

impl Utterance {
    pub fn frames(&self) -> usize {
        self.features.frames()
    }
}

/// Reads the records of `split` (all records when `None`) from a manifest and computes their
/// SCOPE features (without standardization) on `threads` threads.
pub fn load_utterances(
    manifest: &Path,
    split: Option<Split>,
    features: &ScopeConfig,
    threads: usize,
) -> anyhow::Result<Vec<Utterance>> {
    let records: Vec<Record> = read_manifest(manifest)
        .with_context(|| format!("reading manifest {}", manifest.display()))?
        .into_iter()
        .filter(|r| split.is_none() || r.split == split)
        .collect();
    if records.is_empty() {
        let which = split
            .map(|s| format!("{} ", s.as_str()))
            .unwrap_or_default();
        bail!("{}: no {which}records", manifest.display());
    }
    let base = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let config = features.unstandardized();
    let threads = threads.max(1).min(records.len());
    let chunk = records.len().div_ceil(threads);
    let loaded: Vec<anyhow::Result<Vec<Utterance>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                let base = &base;
                scope.spawn(move || {
                    part.iter()
                        .map(|r| utterance(r, base, manifest, &config))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("feature worker panicked"))
            .collect()
    });
    let mut utterances = Vec::with_capacity(records.len());
    for part in loaded {
        utterances.extend(part?);
    }
    Ok(utterances)
}

fn utterance(
    record: &Record,
    base: &Path,
    manifest: &Path,
    config: &ScopeConfig,
) -> anyhow::Result<Utterance> {
    let pose_path: PathBuf = record.resolved_pose(base).with_context(|| {
        format!(
            "{}: record {} has no pose file",
            manifest.display(),
            record.id
        )
    })?;
    let range = match record.frames {
        Some(f) => ReadRange::frames(f.start as usize, f.end as usize),
        None => ReadRange::all(),
    };
    let pose = read_pose_with(&pose_path, &ReadOptions::with_range(range))
        .with_context(|| format!("record {}", record.id))?;
    let features = scope_features(&pose, config, None).with_context(|| {
        format!(
            "record {}: SCOPE features of {}",
            record.id,
            pose_path.display()
        )
    })?;
    if features.frames() == 0 {
        bail!(
            "record {}: {} has no frames",
            record.id,
            pose_path.display()
        );
    }
    Ok(Utterance {
        id: record.id.clone(),
        features,
        glosses: record.glosses.clone(),
        text: record.text.clone(),
        context: record.context.clone(),
    })
}

/// Per-point standardization statistics over `utterances` (eq. 9).
pub fn feature_stats(
    utterances: &[Utterance],
    config: &ScopeConfig,
) -> anyhow::Result<FeatureStats> {
    let mut acc = StatsAccumulator::new(SCOPE_POINTS);
    for u in utterances {
        acc.add(&u.features)
            .with_context(|| format!("statistics of {}", u.id))?;
    }
    Ok(acc.finish(config))
}

/// Sentence embeddings of every target and context text, computed once.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingTable {
    pub dim: usize,
    vectors: HashMap<String, Vec<f32>>,
}

impl EmbeddingTable {
    /// Embeds the distinct texts of `texts` in batches of 64.
    pub fn build<'a>(
        embedder: &dyn SentenceEmbedder,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> anyhow::Result<Self> {
        let mut table = Self {
            dim: embedder.size(),
            vectors: HashMap::new(),
        };
        table.extend(embedder, texts)?;
        Ok(table)
    }

    pub fn extend<'a>(
        &mut self,
        embedder: &dyn SentenceEmbedder,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> anyhow::Result<()> {
        let mut missing: Vec<String> = texts
            .into_iter()
            .filter(|t| !self.vectors.contains_key(*t))
            .map(str::to_owned)
            .collect();
        missing.sort();
        missing.dedup();
        for batch in missing.chunks(64) {
            let vectors = embedder.embed(batch)?;
            if vectors.len() != batch.len() || vectors.iter().any(|v| v.len() != self.dim) {
                bail!(
                    "the sentence embedder returned {} vectors for {} texts (size {})",
                    vectors.len(),
                    batch.len(),
                    self.dim
                );
            }
            self.vectors.extend(batch.iter().cloned().zip(vectors));
        }
        Ok(())
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.vectors.get(text).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

/// Every text an utterance list needs embedded: targets (stage 1) and context turns.
pub fn texts_of(utterances: &[Utterance]) -> impl Iterator<Item = &str> {
    utterances
        .iter()
        .flat_map(|u| u.text.iter().chain(&u.context))
        .map(String::as_str)
}

/// How batches are assembled from utterances.
pub struct BatchBuilder<'a> {
    pub stats: Option<&'a FeatureStats>,
    pub vocab: &'a GlossVocab,
    pub embeddings: &'a EmbeddingTable,
    /// Feed earlier turns (false: every context slot is masked, the context-free model).
    pub use_context: bool,
    pub context_turns: usize,
    /// Longest sequence kept (frames beyond are cut; 0 = no limit).
    pub max_frames: usize,
}

impl BatchBuilder<'_> {
    /// Pads `utterances` into one batch on `device`, augmenting each when `augment` is given
    /// (seeded per utterance from `seed`).
    pub fn batch(
        &self,
        utterances: &[&Utterance],
        augment: Option<(&AugmentConfig, u64)>,
        device: &Device,
    ) -> anyhow::Result<SlrBatch> {
        let sequences: Vec<KeypointSeq> = utterances
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut seq = match augment {
                    Some((config, seed)) => {
                        let augmented = Augmenter::new(*config, seed.wrapping_add(i as u64), None)
                            .apply(&u.features);
                        if augmented.frames() == 0 {
                            u.features.clone()
                        } else {
                            augmented
                        }
                    }
                    None => u.features.clone(),
                };
                if self.max_frames > 0 && seq.frames() > self.max_frames {
                    seq = signscope_pose::augment::select_frames(
                        &seq,
                        &(0..self.max_frames).collect::<Vec<_>>(),
                    );
                }
                if let Some(stats) = self.stats {
                    stats
                        .apply(&mut seq)
                        .with_context(|| format!("standardizing {}", u.id))?;
                }
                Ok(seq)
            })
            .collect::<anyhow::Result<_>>()?;
        let frames: Vec<usize> = sequences.iter().map(KeypointSeq::frames).collect();
        let (b, t) = (utterances.len(), frames.iter().copied().max().unwrap_or(1));
        // [B, T, 77, 2], zero after each sequence's end
        let mut keypoints = vec![0f32; b * t * SCOPE_POINTS * 2];
        for (i, seq) in sequences.iter().enumerate() {
            let values = seq.data.as_standard_layout();
            let values = values.as_slice().expect("standard layout");
            keypoints[i * t * SCOPE_POINTS * 2..][..values.len()].copy_from_slice(values);
        }
        let e = self.embeddings.dim;
        let turns = self.context_turns;
        let mut sentence = vec![0f32; b * e];
        let mut context = vec![0f32; b * turns * e];
        let mut missing = vec![true; b * turns];
        let mut targets = Vec::with_capacity(b);
        for (i, u) in utterances.iter().enumerate() {
            if let Some(v) = u.text.as_deref().and_then(|text| self.embeddings.get(text)) {
                sentence[i * e..(i + 1) * e].copy_from_slice(v);
            }
            if self.use_context {
                // Most recent turn in the last slot; older slots stay masked when absent.
                for (slot, text) in (0..turns).rev().zip(u.context.iter().rev()) {
                    let v = self
                        .embeddings
                        .get(text)
                        .with_context(|| format!("{}: context turn not embedded", u.id))?;
                    context[(i * turns + slot) * e..][..e].copy_from_slice(v);
                    missing[i * turns + slot] = false;
                }
            }
            targets.push(self.vocab.encode(&u.glosses).0);
        }
        Ok(SlrBatch {
            keypoints: Tensor::from_data(
                TensorData::new(keypoints, [b, t, SCOPE_POINTS, 2]),
                device,
            ),
            frames,
            sentence: Tensor::from_data(TensorData::new(sentence, [b, e]), device),
            context: Tensor::from_data(TensorData::new(context, [b, turns, e]), device),
            context_missing: Tensor::from_data(TensorData::new(missing, [b, turns]), device),
            targets,
        })
    }
}
