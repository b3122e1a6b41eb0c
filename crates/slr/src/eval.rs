//! Inference with a trained recognizer: batched gloss posteriors, greedy or prefix-beam
//! decoding, top-k hypotheses for the translator, and WER on a set of utterances.

use std::path::Path;

use anyhow::Context;
use burn::prelude::*;
use clap::ValueEnum;
use serde::Serialize;
use signscope_metrics::cleanup::Cleanup;
use signscope_metrics::wer::{EditCounts, corpus_wer};
use signscope_nn::checkpoint::load_model;
use signscope_pose::Pose;
use signscope_pose::preprocess::{FeatureStats, scope_features};

use crate::config::SlrConfig;
use crate::context::SentenceEmbedder;
use crate::data::{BatchBuilder, EmbeddingTable, Utterance};
use crate::decode::{Hypothesis, beam_search, greedy};
use crate::model::{ScopeSlr, Stage, rows};
use crate::train::{CONFIG_FILE, MODEL_FILE, STATS_FILE, VOCAB_FILE};
use crate::vocab::GlossVocab;

/// One recognized gloss sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recognition {
    pub glosses: Vec<String>,
    /// log P(glosses | keypoints) summed over the alignments kept by the beam (greedy: the
    /// best path's log-probability).
    pub log_prob: f64,
}

/// Corpus WER of a set of utterances, with the hypotheses.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub utterances: usize,
    pub with_context: bool,
    pub beam: usize,
    pub wer: f64,
    #[serde(flatten)]
    pub counts: EditCounts,
    /// (id, hypothesis, reference) after cleanup, in input order.
    #[serde(skip)]
    pub hypotheses: Vec<(String, String, String)>,
}

impl EvalReport {
    pub fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "WER {:.2} (S {} D {} I {} / N {}; {} utterances, {}, {})",
            self.wer,
            c.substitutions,
            c.deletions,
            c.insertions,
            c.reference_len,
            self.utterances,
            if self.with_context {
                "with context"
            } else {
                "no context"
            },
            if self.beam <= 1 {
                "greedy".to_string()
            } else {
                format!("beam {}", self.beam)
            }
        )
    }
}

/// A trained SCOPE recognizer on the CPU.
pub struct Recognizer {
    pub model: ScopeSlr,
    pub config: SlrConfig,
    pub vocab: GlossVocab,
    pub stats: Option<FeatureStats>,
    device: Device,
}

impl Recognizer {
    pub fn from_parts(
        model: ScopeSlr,
        config: SlrConfig,
        vocab: GlossVocab,
        stats: Option<FeatureStats>,
    ) -> Self {
        let device = model
            .devices()
            .into_iter()
            .next()
            .expect("model has parameters");
        Self {
            model,
            config,
            vocab,
            stats,
            device,
        }
    }

    /// Loads `config.toml`, `vocab.txt`, `stats.json` and `model.bpk` (or `model_file`) from
    /// a run folder written by `signscope slr train`.
    pub fn load(run_dir: &Path, model_file: Option<&Path>) -> anyhow::Result<Self> {
        let config_path = run_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).with_context(|| {
            format!(
                "reading {} (is {} a recognizer run folder?)",
                config_path.display(),
                run_dir.display()
            )
        })?;
        let config: SlrConfig = signscope_nn::config::parse_toml(&text, &config_path)?;
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
        let vocab = GlossVocab::load(&run_dir.join(VOCAB_FILE))?;
        let stats = if config.features.standardize {
            let path = run_dir.join(STATS_FILE);
            Some(FeatureStats::load(&path).with_context(|| format!("reading {}", path.display()))?)
        } else {
            None
        };
        let device = signscope_nn::cpu_device();
        let template = ScopeSlr::new(&config.model, vocab.classes(), Stage::Gloss, &device);
        let default_model = run_dir.join(MODEL_FILE);
        let model = load_model(template, model_file.unwrap_or(&default_model))?;
        Ok(Self {
            model,
            config,
            vocab,
            stats,
            device,
        })
    }

    fn cleanup(&self) -> Cleanup {
        Cleanup::from_str(&self.config.data.cleanup, true).unwrap_or_default()
    }

    fn builder<'a>(
        &'a self,
        embeddings: &'a EmbeddingTable,
        use_context: bool,
    ) -> BatchBuilder<'a> {
        BatchBuilder {
            stats: self.stats.as_ref(),
            vocab: &self.vocab,
            embeddings,
            use_context,
            context_turns: self.config.model.context_turns,
            max_frames: self.config.max_frames(),
        }
    }

    /// Per utterance the gloss log-posteriors `[T'][classes]` of its real motion steps.
    pub fn posteriors(
        &self,
        utterances: &[&Utterance],
        embeddings: &EmbeddingTable,
        use_context: bool,
    ) -> anyhow::Result<Vec<Vec<Vec<f32>>>> {
        let batch = self
            .builder(embeddings, use_context)
            .batch(utterances, None, &self.device)?;
        let (log_probs, _) = self.model.gloss_log_probs(&self.config.model, &batch);
        let lengths: Vec<usize> = batch
            .frames
            .iter()
            .map(|&f| self.config.model.motion_steps(f))
            .collect();
        Ok(rows(log_probs, &lengths))
    }

    /// The `top_k` best gloss sequences of each utterance (beam ≤ 1: greedy, one result).
    pub fn decode(&self, posteriors: &[Vec<f32>], beam: usize, top_k: usize) -> Vec<Recognition> {
        if beam <= 1 {
            let labels = greedy(posteriors);
            let log_prob = posteriors
                .iter()
                .map(|f| f.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64)
                .sum();
            return vec![Recognition {
                glosses: self.vocab.decode(&labels),
                log_prob,
            }];
        }
        beam_search(posteriors, beam, top_k.max(1))
            .into_iter()
            .map(|Hypothesis { labels, log_prob }| Recognition {
                glosses: self.vocab.decode(&labels),
                log_prob,
            })
            .collect()
    }

    /// Recognizes one pose with the texts of the previous turns (oldest first).
    pub fn recognize(
        &self,
        pose: &Pose,
        context: &[String],
        embedder: &dyn SentenceEmbedder,
        beam: usize,
        top_k: usize,
    ) -> anyhow::Result<Vec<Recognition>> {
        let features = scope_features(pose, &self.config.features.unstandardized(), None)?;
        anyhow::ensure!(features.frames() > 0, "the pose has no frames");
        let utterance = Utterance {
            id: "input".into(),
            features,
            glosses: Vec::new(),
            text: None,
            context: context.to_vec(),
        };
        let embeddings = EmbeddingTable::build(embedder, context.iter().map(String::as_str))?;
        let posteriors = self.posteriors(&[&utterance], &embeddings, !context.is_empty())?;
        Ok(self.decode(&posteriors[0], beam, top_k))
    }

    /// Corpus WER over `utterances` (batches of 16 of similar length).
    pub fn evaluate(
        &self,
        utterances: &[Utterance],
        embeddings: &EmbeddingTable,
        use_context: bool,
        beam: usize,
    ) -> anyhow::Result<EvalReport> {
        let mut order: Vec<usize> = (0..utterances.len()).collect();
        order.sort_by_key(|&i| utterances[i].frames());
        let mut hypotheses = vec![String::new(); utterances.len()];
        for chunk in order.chunks(16) {
            let batch: Vec<&Utterance> = chunk.iter().map(|&i| &utterances[i]).collect();
            let posteriors = self.posteriors(&batch, embeddings, use_context)?;
            for (&i, p) in chunk.iter().zip(&posteriors) {
                let best = self
                    .decode(p, beam, 1)
                    .into_iter()
                    .next()
                    .map(|r| r.glosses)
                    .unwrap_or_default();
                hypotheses[i] = best.join(" ");
            }
        }
        let cleanup = self.cleanup();
        let hyps: Vec<String> = hypotheses.iter().map(|h| cleanup.apply(h)).collect();
        let refs: Vec<String> = utterances
            .iter()
            .map(|u| cleanup.apply(&u.glosses.join(" ")))
            .collect();
        let report = corpus_wer(&hyps, &refs);
        Ok(EvalReport {
            utterances: utterances.len(),
            with_context: use_context,
            beam,
            wer: report.wer(),
            counts: report.total,
            hypotheses: utterances
                .iter()
                .zip(hyps)
                .zip(refs)
                .map(|((u, h), r)| (u.id.clone(), h, r))
                .collect(),
        })
    }
}
