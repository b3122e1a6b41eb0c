//! Two-stage SCOPE training (Implementation Details): stage 1 trains the motion extractor and
//! the Embedding Alignment Encoder with `L_emb`; stage 2 freezes them and trains the Gloss
//! Encoder with `L_CTC` (+ `L_MWER`). Each stage is a resumable signscope-nn run.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use signscope_nn::checkpoint::{load_model, save_model};
use signscope_nn::loss::TokenLoss;
use signscope_nn::train::{
    Evaluation, TrainReport, TrainTask, averaged_model_path, best_model_path, load_state,
    train as run_stage,
};
use signscope_pose::preprocess::FeatureStats;

use crate::config::{SlrConfig, SlrModelConfig};
use crate::context::SentenceEmbedder;
use crate::data::{
    BatchBuilder, EmbeddingTable, Utterance, feature_stats, load_utterances, texts_of,
};
use crate::eval::{EvalReport, Recognizer};
use crate::model::{ScopeSlr, Stage, gloss_losses};
use crate::vocab::GlossVocab;

pub const CONFIG_FILE: &str = "config.toml";
pub const VOCAB_FILE: &str = "vocab.txt";
pub const STATS_FILE: &str = "stats.json";
pub const MODEL_FILE: &str = "model.bpk";
pub const DEV_REPORT_FILE: &str = "dev_report.json";

/// CTC needs one frame per label plus a blank between repeated labels.
pub fn ctc_frames_needed(classes: &[usize]) -> usize {
    classes.len() + classes.windows(2).filter(|w| w[0] == w[1]).count()
}

/// One batch of a training epoch: utterance indices and the augmentation seed.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    pub indices: Vec<usize>,
    pub seed: u64,
}

/// Batches of similar length (less padding): shuffle, sort pools of 20 batches by length,
/// cut, shuffle the batch order. Depends only on (`seed`, `epoch`).
pub fn plan_epoch(lengths: &[usize], batch_size: usize, epoch: usize, seed: u64) -> Vec<BatchPlan> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for pool in order.chunks(batch_size * 20) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| lengths[i]);
        batches.extend(pool.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
        .into_iter()
        .enumerate()
        .map(|(i, indices)| BatchPlan {
            indices,
            seed: seed
                .wrapping_mul(31)
                .wrapping_add((epoch * 1_000_003 + i) as u64),
        })
        .collect()
}

/// Everything both stages share.
pub struct Prepared {
    pub config: SlrConfig,
    pub train: Vec<Utterance>,
    pub dev: Vec<Utterance>,
    pub vocab: GlossVocab,
    pub stats: Option<FeatureStats>,
    pub embeddings: EmbeddingTable,
}

impl Prepared {
    fn builder(&self, use_context: bool) -> BatchBuilder<'_> {
        BatchBuilder {
            stats: self.stats.as_ref(),
            vocab: &self.vocab,
            embeddings: &self.embeddings,
            use_context,
            context_turns: self.config.model.context_turns,
            max_frames: self.config.max_frames(),
        }
    }

    fn batch(&self, plan: &BatchPlan, device: &Device) -> crate::model::SlrBatch {
        let utterances: Vec<&Utterance> = plan.indices.iter().map(|&i| &self.train[i]).collect();
        let augment = self
            .config
            .data
            .augment
            .then_some((&self.config.augment, plan.seed));
        // Every input was validated when loading (features finite, texts embedded).
        self.builder(self.config.data.use_context)
            .batch(&utterances, augment, device)
            .expect("validated training batch")
    }

    fn lengths(&self) -> Vec<usize> {
        self.train.iter().map(Utterance::frames).collect()
    }
}

struct AlignmentTask<'a> {
    data: &'a Prepared,
}

impl TrainTask for AlignmentTask<'_> {
    type Model = ScopeSlr;
    type Batch = BatchPlan;

    fn epoch_batches(&self, epoch: usize, seed: u64) -> Vec<BatchPlan> {
        plan_epoch(
            &self.data.lengths(),
            self.data.config.alignment.batch_size,
            epoch,
            seed,
        )
    }

    fn loss(&self, model: &ScopeSlr, plan: &BatchPlan) -> TokenLoss {
        let device = model_device(model);
        let batch = self.data.batch(plan, &device);
        let loss = model.alignment_loss(&self.data.config.model, &batch);
        TokenLoss {
            mean: loss.clone(),
            nll_sum: loss,
            tokens: plan.indices.len(),
        }
    }

    fn score_label(&self) -> (&str, f64) {
        ("dev L_emb", -1.0)
    }

    fn evaluate(&mut self, model: &ScopeSlr) -> anyhow::Result<Evaluation> {
        let data = self.data;
        let device = model_device(model);
        let builder = data.builder(false);
        let (mut total, mut cosine, mut n) = (0.0f64, 0.0f64, 0usize);
        for chunk in data.dev.chunks(32) {
            let refs: Vec<&Utterance> = chunk.iter().collect();
            let batch = builder.batch(&refs, None, &device)?;
            let (aligned, _) = model.align(&data.config.model, &batch);
            let predicted: Vec<f32> = aligned
                .embedding
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let target: Vec<f32> = batch
                .sentence
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let e = data.embeddings.dim;
            for (p, t) in predicted.chunks(e).zip(target.chunks(e)) {
                total += p
                    .iter()
                    .zip(t)
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let dot: f64 = p.iter().zip(t).map(|(a, b)| (a * b) as f64).sum();
                let norms = norm(p) * norm(t);
                cosine += if norms > 0.0 { dot / norms } else { 0.0 };
                n += 1;
            }
        }
        let (l_emb, cos) = (total / n.max(1) as f64, cosine / n.max(1) as f64);
        Ok(Evaluation {
            score: -l_emb,
            summary: format!("L_emb {l_emb:.4} cosine {cos:.4} ({n} utterances)"),
        })
    }
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

struct GlossTask<'a> {
    data: &'a Prepared,
}

impl TrainTask for GlossTask<'_> {
    type Model = ScopeSlr;
    type Batch = BatchPlan;

    fn epoch_batches(&self, epoch: usize, seed: u64) -> Vec<BatchPlan> {
        plan_epoch(
            &self.data.lengths(),
            self.data.config.gloss.batch_size,
            epoch,
            seed,
        )
    }

    fn loss(&self, model: &ScopeSlr, plan: &BatchPlan) -> TokenLoss {
        let config = &self.data.config;
        let device = model_device(model);
        let batch = self.data.batch(plan, &device);
        let (log_probs, _) = model.gloss_log_probs(&config.model, &batch);
        let n_best = if config.loss.mwer_weight > 0.0 {
            config.loss.mwer_n_best
        } else {
            0
        };
        let losses = gloss_losses(
            &config.model,
            log_probs,
            &batch,
            n_best,
            config.loss.beam_width,
        );
        let mean = match losses.mwer {
            Some(mwer) => losses.ctc.clone() + mwer.mul_scalar(config.loss.mwer_weight),
            None => losses.ctc.clone(),
        };
        TokenLoss {
            mean,
            nll_sum: losses.ctc,
            tokens: plan.indices.len(),
        }
    }

    fn score_label(&self) -> (&str, f64) {
        ("dev WER (%, greedy)", -1.0)
    }

    fn evaluate(&mut self, model: &ScopeSlr) -> anyhow::Result<Evaluation> {
        let data = self.data;
        let recognizer = Recognizer::from_parts(
            model.clone(),
            data.config.clone(),
            data.vocab.clone(),
            data.stats.clone(),
        );
        let limit = if data.config.gloss.eval_max_sentences > 0 {
            data.config.gloss.eval_max_sentences
        } else {
            data.dev.len()
        };
        // Greedy decoding during training: the beam is for the final evaluation.
        let report = recognizer.evaluate(
            &data.dev[..limit.min(data.dev.len())],
            &data.embeddings,
            data.config.data.use_context,
            1,
        )?;
        Ok(Evaluation {
            score: -report.wer,
            summary: report.summary(),
        })
    }
}

fn model_device(model: &ScopeSlr) -> Device {
    model
        .devices()
        .into_iter()
        .next()
        .expect("model has parameters")
}

/// Loads data, vocabulary, statistics and embeddings for `config` (writing the vocabulary
/// and statistics into the run folder, or checking them when resuming).
pub fn prepare(
    config: SlrConfig,
    embedder: &dyn SentenceEmbedder,
    resume: bool,
) -> anyhow::Result<Prepared> {
    let run_dir = config.run_dir.clone();
    let threads = if config.data.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        config.data.threads
    };
    let mut train = load_utterances(
        &config.data.train,
        config.data.train_split.split(),
        &config.features,
        threads,
    )?;
    let dev = load_utterances(
        &config.data.dev,
        config.data.dev_split.split(),
        &config.features,
        threads,
    )?;
    let vocab_path = run_dir.join(VOCAB_FILE);
    let vocab = if resume && vocab_path.exists() {
        GlossVocab::load(&vocab_path)?
    } else {
        GlossVocab::build(train.iter().map(|u| u.glosses.as_slice()))
    };
    if vocab.classes() < 2 {
        bail!(
            "{}: the training records have no glosses",
            config.data.train.display()
        );
    }
    // CTC cannot emit more labels than the motion sequence has steps; SCOPE drops such samples.
    let before = train.len();
    train.retain(|u| {
        let steps = config
            .model
            .motion_steps(u.frames().min(config.max_frames()));
        steps >= ctc_frames_needed(&vocab.encode(&u.glosses).0)
            && !u.glosses.is_empty()
            && u.text.is_some()
    });
    if train.len() < before {
        eprintln!(
            "dropped {} of {before} training utterances (no text/glosses, or fewer motion steps than CTC needs)",
            before - train.len()
        );
    }
    if train.is_empty() {
        bail!(
            "{}: no usable training utterances",
            config.data.train.display()
        );
    }
    let stats_path = run_dir.join(STATS_FILE);
    let stats = if !config.features.standardize {
        None
    } else if resume && stats_path.exists() {
        Some(FeatureStats::load(&stats_path)?)
    } else {
        Some(feature_stats(&train, &config.features)?)
    };
    if embedder.size() != config.model.embedding_size {
        bail!(
            "the embedder gives {}-d vectors but [model] embedding_size = {}",
            embedder.size(),
            config.model.embedding_size
        );
    }
    let embeddings = EmbeddingTable::build(embedder, texts_of(&train).chain(texts_of(&dev)))?;
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    vocab.save(&vocab_path)?;
    if let Some(stats) = &stats {
        stats
            .save(&stats_path)
            .with_context(|| format!("writing {}", stats_path.display()))?;
    }
    let text = toml::to_string_pretty(&config).context("serializing the config")?;
    signscope_fsio::write_atomic(run_dir.join(CONFIG_FILE), text.as_bytes())
        .with_context(|| format!("writing {}", run_dir.join(CONFIG_FILE).display()))?;
    Ok(Prepared {
        config,
        train,
        dev,
        vocab,
        stats,
        embeddings,
    })
}

/// What [`train`] produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub train_utterances: usize,
    pub dev_utterances: usize,
    pub glosses: usize,
    pub alignment_seconds_per_step: Option<f64>,
    pub gloss_seconds_per_step: Option<f64>,
    /// Which checkpoint became `model.bpk` (`best` or `averaged`).
    pub chosen: String,
    /// Dev WER of `model.bpk` with beam search.
    pub dev: EvalReport,
}

fn stage_finished(dir: &Path) -> bool {
    load_state(dir).map(|s| s.finished).unwrap_or(false)
}

fn stage_started(dir: &Path) -> bool {
    dir.join("state.json").exists()
}

/// Seeds `config.run_dir` with the finished stage 1 of another run (its `alignment/` run, gloss
/// vocabulary and feature statistics), so that stage-2 ablations (no context, no MWER) share
/// one stage 1 and differ only in what they ablate. Everything stage 1 depends on must be
/// identical: the model, features, augmentation, embedding, stage-1 schedule and training
/// data. Afterwards call [`train`] with `resume = true`.
pub fn reuse_stage1(from: &Path, config: &SlrConfig) -> anyhow::Result<()> {
    let source_config = from.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&source_config)
        .with_context(|| format!("reading {}", source_config.display()))?;
    let source: SlrConfig =
        toml::from_str(&text).with_context(|| format!("parsing {}", source_config.display()))?;
    let alignment = from.join("alignment");
    if !stage_finished(&alignment) {
        bail!(
            "{}: stage 1 has not finished there (no finished alignment/ run)",
            from.display()
        );
    }
    let section = |c: &SlrConfig| -> anyhow::Result<Vec<(&'static str, String)>> {
        Ok(vec![
            (
                "model",
                // Whether stage 2 freezes stage 1 does not change stage 1 itself.
                toml::to_string(&SlrModelConfig {
                    freeze_stage1: true,
                    ..c.model.clone()
                })?,
            ),
            ("features", toml::to_string(&c.features)?),
            ("augment", toml::to_string(&c.augment)?),
            ("embedding", toml::to_string(&c.embedding)?),
            ("alignment", toml::to_string(&c.alignment)?),
            (
                "data (training set)",
                format!(
                    "{} {:?} {}",
                    c.data.train.display(),
                    c.data.train_split,
                    c.data.augment
                ),
            ),
        ])
    };
    for ((name, ours), (_, theirs)) in section(config)?.into_iter().zip(section(&source)?) {
        if ours != theirs {
            bail!(
                "cannot reuse stage 1 of {}: its [{name}] differs from this config's",
                from.display()
            );
        }
    }
    let run_dir = &config.run_dir;
    if run_dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a recognizer run; choose another run_dir",
            run_dir.display()
        );
    }
    copy_dir(&alignment, &run_dir.join("alignment"))?;
    for file in [VOCAB_FILE, STATS_FILE] {
        let source = from.join(file);
        if source.exists() {
            std::fs::copy(&source, run_dir.join(file))
                .with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Trains both stages (skipping a finished one when resuming), then picks the best or the
/// averaged stage-2 model by dev WER with beam search and writes it as `model.bpk`.
pub fn train(
    config: SlrConfig,
    embedder: &dyn SentenceEmbedder,
    resume: bool,
) -> anyhow::Result<TrainOutcome> {
    let run_dir = config.run_dir.clone();
    if !resume && run_dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a recognizer run; pass --resume to continue it or choose another run_dir",
            run_dir.display()
        );
    }
    let data = prepare(config, embedder, resume)?;
    let config = &data.config;
    let device = signscope_nn::training_device();
    let classes = data.vocab.classes();
    let (alignment_dir, gloss_dir) = (run_dir.join("alignment"), run_dir.join("gloss"));
    eprintln!(
        "{} training / {} dev utterances, {} glosses, {} embedded texts",
        data.train.len(),
        data.dev.len(),
        classes - 1,
        data.embeddings.len()
    );

    let mut alignment_report: Option<TrainReport> = None;
    if config.model.alignment_encoder && !stage_finished(&alignment_dir) {
        eprintln!("stage 1: embedding alignment (L_emb)");
        let model = ScopeSlr::new(&config.model, classes, Stage::Alignment, &device);
        let mut task = AlignmentTask { data: &data };
        let resume_stage = resume && stage_started(&alignment_dir);
        alignment_report = Some(run_stage(
            &mut task,
            model,
            &config.alignment,
            config.model.d_model,
            &alignment_dir,
            resume_stage,
        )?);
    }

    let mut gloss_report: Option<TrainReport> = None;
    if !stage_finished(&gloss_dir) {
        eprintln!(
            "stage 2: gloss encoder (CTC{})",
            if config.loss.mwer_weight > 0.0 {
                " + MWER"
            } else {
                ""
            }
        );
        let template = ScopeSlr::new(&config.model, classes, Stage::Gloss, &device);
        let model = if config.model.alignment_encoder {
            load_model(template, &best_model_path(&alignment_dir))?
        } else {
            template
        };
        let mut task = GlossTask { data: &data };
        let resume_stage = resume && stage_started(&gloss_dir);
        gloss_report = Some(run_stage(
            &mut task,
            model,
            &config.gloss,
            config.model.d_model,
            &gloss_dir,
            resume_stage,
        )?);
    }

    // Final choice by dev WER with the configured beam.
    let inference = signscope_nn::cpu_device();
    let template = ScopeSlr::new(&config.model, classes, Stage::Gloss, &inference);
    let mut candidates = vec![("best", best_model_path(&gloss_dir))];
    if averaged_model_path(&gloss_dir).exists() {
        candidates.push(("averaged", averaged_model_path(&gloss_dir)));
    }
    let mut chosen: Option<(String, ScopeSlr, EvalReport)> = None;
    for (name, path) in candidates {
        let model = load_model(template.clone(), &path)?;
        let recognizer = Recognizer::from_parts(
            model.clone(),
            config.clone(),
            data.vocab.clone(),
            data.stats.clone(),
        );
        let report = recognizer.evaluate(
            &data.dev,
            &data.embeddings,
            config.data.use_context,
            config.loss.beam_width,
        )?;
        eprintln!("{name}: dev {}", report.summary());
        if chosen.as_ref().is_none_or(|c| report.wer < c.2.wer) {
            chosen = Some((name.to_string(), model, report));
        }
    }
    let (name, model, dev) = chosen.expect("at least the best checkpoint");
    save_model(&model, &run_dir.join(MODEL_FILE))?;
    let outcome = TrainOutcome {
        run_dir: run_dir.clone(),
        train_utterances: data.train.len(),
        dev_utterances: data.dev.len(),
        glosses: classes - 1,
        alignment_seconds_per_step: alignment_report.map(|r| r.seconds_per_step),
        gloss_seconds_per_step: gloss_report.map(|r| r.seconds_per_step),
        chosen: name,
        dev,
    };
    let json = serde_json::to_vec_pretty(&outcome)?;
    signscope_fsio::write_atomic(run_dir.join(DEV_REPORT_FILE), &json)
        .with_context(|| format!("writing {}", run_dir.join(DEV_REPORT_FILE).display()))?;
    Ok(outcome)
}
