//! A small, resumable training loop: AdamW, a step-indexed learning-rate schedule, global
//! gradient-norm clipping, periodic dev evaluation, best/last-N checkpoints and checkpoint
//! averaging.
//!
//! Run directory layout:
//! - `state.json`                    progress: step, epoch, best score, checkpoint list
//! - `checkpoints/step-XXXXXXXX.bpk` model parameters (the last `max(keep_last, average_last)`)
//! - `checkpoints/step-XXXXXXXX.optim.bpk` AdamW moments of the newest checkpoint
//! - `best.bpk`                      parameters with the best dev score
//! - `averaged.bpk`                  mean of the last `average_last` checkpoints
//! - `train.log`                     one line per evaluation
//! - `curves.svg`                    training loss and dev score per evaluation
//!
//! Every file is written to a temporary name and renamed, and `state.json` is written last,
//! so an interrupted run resumes from the last complete checkpoint. Dropout noise is seeded
//! from (seed, step), and epochs are shuffled from (seed, epoch), so a resumed run takes the
//! same steps as an uninterrupted one. (Flex keeps one process-wide generator: two trainings
//! running at once in one process disturb each other's noise.)

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::module::{ModuleVisitor, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{average_models, load_model, save_model, write_atomic};
use crate::config::{Schedule, TrainingConfig};
use crate::loss::TokenLoss;

/// What a task plugs into [`train`].
pub trait TrainTask {
    type Model: Module;
    type Batch;
    /// The batches of `epoch` in training order; must depend only on (`epoch`, `seed`).
    fn epoch_batches(&self, epoch: usize, seed: u64) -> Vec<Self::Batch>;
    /// Teacher-forced loss of one batch under `model` (on the autodiff device).
    fn loss(&self, model: &Self::Model, batch: &Self::Batch) -> TokenLoss;
    /// Dev evaluation of an inference copy of the model; higher `score` is better.
    fn evaluate(&mut self, model: &Self::Model) -> anyhow::Result<Evaluation>;
    /// How `curves.svg` labels the dev score, and the factor that turns `score` back into
    /// that metric (−1 when the score is a negated error rate).
    fn score_label(&self) -> (&str, f64) {
        ("dev score", 1.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub score: f64,
    /// Human-readable metrics, e.g. "BLEU-4 21.3 ROUGE-L 45.1".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    pub step: usize,
    pub epoch: usize,
    pub evaluation: Evaluation,
    pub train_loss: f64,
}

/// Progress persisted in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainState {
    /// Optimizer steps taken.
    pub step: usize,
    /// Epoch in progress and how many of its batches are done.
    pub epoch: usize,
    pub batch_in_epoch: usize,
    pub best: Option<EvalRecord>,
    pub evaluations: Vec<EvalRecord>,
    /// Steps of the checkpoints on disk, oldest first.
    pub checkpoints: Vec<usize>,
    pub evals_without_improvement: usize,
    pub finished: bool,
    pub train_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct TrainReport {
    pub state: TrainState,
    pub averaged: Option<Evaluation>,
    /// Mean wall-clock seconds per optimizer step in this invocation.
    pub seconds_per_step: f64,
}

/// Learning rate for (1-based) `step`.
pub fn learning_rate(
    config: &TrainingConfig,
    step: usize,
    total_steps: usize,
    d_model: usize,
) -> f64 {
    let step = step.max(1) as f64;
    match &config.schedule {
        Schedule::Constant => config.learning_rate,
        Schedule::Noam {
            warmup_steps,
            factor,
        } => {
            let warmup = (*warmup_steps).max(1) as f64;
            factor * (d_model as f64).powf(-0.5) * step.powf(-0.5).min(step * warmup.powf(-1.5))
        }
        Schedule::WarmupCosine {
            warmup_steps,
            min_learning_rate,
        } => {
            let warmup = *warmup_steps as f64;
            if step <= warmup {
                return config.learning_rate * step / warmup;
            }
            let span = (total_steps as f64 - warmup).max(1.0);
            let progress = ((step - warmup) / span).min(1.0);
            min_learning_rate
                + 0.5
                    * (config.learning_rate - min_learning_rate)
                    * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            self.sum += grad.square().sum().into_scalar::<f64>();
        }
    }
}

struct ParamIds(Vec<(ParamId, usize)>);

impl ModuleVisitor for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

fn scale_grad<const D: usize>(grads: &mut GradientsParams, id: ParamId, factor: f64) {
    if let Some(g) = grads.remove::<D>(id) {
        grads.register(id, g * factor);
    }
}

/// Scales all gradients so their joint L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`; burn's built-in clipping works per tensor). Returns the norm before.
pub fn clip_global_norm<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut norm = SquaredNorm { grads, sum: 0.0 };
    model.visit(&mut norm);
    let total = norm.sum.sqrt();
    if max_norm > 0.0 && total > max_norm {
        let factor = max_norm / (total + 1e-6);
        let mut ids = ParamIds(Vec::new());
        model.visit(&mut ids);
        for (id, rank) in ids.0 {
            match rank {
                1 => scale_grad::<1>(grads, id, factor),
                2 => scale_grad::<2>(grads, id, factor),
                3 => scale_grad::<3>(grads, id, factor),
                4 => scale_grad::<4>(grads, id, factor),
                r => panic!("unsupported parameter rank {r}"),
            }
        }
    }
    total
}

fn checkpoint_path(run_dir: &Path, step: usize) -> PathBuf {
    run_dir
        .join("checkpoints")
        .join(format!("step-{step:08}.bpk"))
}

fn optimizer_path(run_dir: &Path, step: usize) -> PathBuf {
    run_dir
        .join("checkpoints")
        .join(format!("step-{step:08}.optim.bpk"))
}

pub fn state_path(run_dir: &Path) -> PathBuf {
    run_dir.join("state.json")
}

pub fn best_model_path(run_dir: &Path) -> PathBuf {
    run_dir.join("best.bpk")
}

pub fn averaged_model_path(run_dir: &Path) -> PathBuf {
    run_dir.join("averaged.bpk")
}

pub fn load_state(run_dir: &Path) -> anyhow::Result<TrainState> {
    let path = state_path(run_dir);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: corrupt training state", path.display()))
}

fn save_state(run_dir: &Path, state: &TrainState) -> anyhow::Result<()> {
    write_atomic(
        &state_path(run_dir),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}

fn log_line(run_dir: &Path, line: &str) -> anyhow::Result<()> {
    let path = run_dir.join("train.log");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Trains `model` (created on an autodiff device) in `run_dir`.
///
/// Without `resume`, `run_dir` must not already hold a run (so nothing is overwritten); with
/// `resume`, training continues from the newest checkpoint listed in `state.json`.
pub fn train<T: TrainTask>(
    task: &mut T,
    model: T::Model,
    config: &TrainingConfig,
    d_model: usize,
    run_dir: &Path,
    resume: bool,
) -> anyhow::Result<TrainReport> {
    config.validate().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(run_dir.join("checkpoints"))
        .with_context(|| format!("creating {}", run_dir.display()))?;
    let device = model
        .devices()
        .into_iter()
        .next()
        .context("model has no parameters")?;
    anyhow::ensure!(
        device.is_autodiff(),
        "training needs the model on an autodiff device"
    );

    let mut optimizer = AdamWConfig::new()
        .with_beta_1(config.adam_beta1 as f32)
        .with_beta_2(config.adam_beta2 as f32)
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let (mut model, mut state) = if resume {
        let state = load_state(run_dir)
            .with_context(|| format!("nothing to resume in {}", run_dir.display()))?;
        if state.finished {
            bail!("{}: this run already finished", run_dir.display());
        }
        let model = if state.step == 0 {
            model
        } else {
            optimizer = optimizer
                .load(optimizer_path(run_dir, state.step))
                .map_err(|e| {
                    anyhow::anyhow!("{}: {e}", optimizer_path(run_dir, state.step).display())
                })?;
            load_model(model, &checkpoint_path(run_dir, state.step))?
        };
        eprintln!(
            "resuming {} at step {} (epoch {})",
            run_dir.display(),
            state.step,
            state.epoch + 1
        );
        (model, state)
    } else {
        if state_path(run_dir).exists() {
            bail!(
                "{} already holds a training run; pass --resume to continue it or choose another run_dir",
                run_dir.display()
            );
        }
        (model, TrainState::default())
    };

    let steps_per_epoch = task.epoch_batches(0, config.seed).len();
    anyhow::ensure!(steps_per_epoch > 0, "the training set yields no batches");
    let mut total_steps = steps_per_epoch * config.epochs.max(1);
    if config.max_steps > 0 && (config.epochs == 0 || config.max_steps < total_steps) {
        total_steps = config.max_steps;
    }
    let keep = config.keep_last.max(config.average_last);
    let started = Instant::now();
    let steps_at_start = state.step;
    let seconds_before = state.train_seconds;
    let mut window_loss = (0.0f64, 0usize);
    let mut stop = false;

    let progress = ProgressBar::new(total_steps as u64).with_position(state.step as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} steps ({eta}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );

    while !stop && state.step < total_steps && (config.epochs == 0 || state.epoch < config.epochs) {
        let batches = task.epoch_batches(state.epoch, config.seed);
        for batch in batches.iter().skip(state.batch_in_epoch) {
            // Dropout noise depends on the step only, so resumed runs repeat it exactly.
            device.seed(
                config
                    .seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(state.step as u64),
            );
            let loss = task.loss(&model, batch);
            let loss_value = loss.mean.clone().into_scalar::<f64>();
            anyhow::ensure!(
                loss_value.is_finite(),
                "training diverged at step {} (loss {loss_value})",
                state.step + 1
            );
            let mut grads = GradientsParams::from_grads(loss.mean.backward(), &model);
            if config.clip_grad_norm > 0.0 {
                clip_global_norm(&model, &mut grads, config.clip_grad_norm);
            }
            let lr = learning_rate(config, state.step + 1, total_steps, d_model);
            model = optimizer.step(lr, model, grads);
            state.step += 1;
            state.batch_in_epoch += 1;
            window_loss.0 += loss_value;
            window_loss.1 += 1;
            progress.set_position(state.step as u64);
            progress.set_message(format!(
                "epoch {} loss {loss_value:.3} lr {lr:.2e}",
                state.epoch + 1
            ));
            if progress.is_hidden() && state.step % 100 == 0 {
                let elapsed = started.elapsed().as_secs_f64();
                eprintln!(
                    "step {}/{} epoch {} loss {:.4} lr {lr:.2e} ({:.2} s/step)",
                    state.step,
                    total_steps,
                    state.epoch + 1,
                    window_loss.0 / window_loss.1.max(1) as f64,
                    elapsed / (state.step - steps_at_start) as f64
                );
            }

            let epoch_end = state.batch_in_epoch == batches.len();
            let eval_now = if config.eval_every > 0 {
                state.step % config.eval_every == 0
            } else {
                epoch_end
            } || state.step == total_steps;
            let checkpoint_now = eval_now
                || (config.checkpoint_every > 0 && state.step % config.checkpoint_every == 0);
            if epoch_end {
                state.epoch += 1;
                state.batch_in_epoch = 0;
            }
            if eval_now {
                let evaluation = task.evaluate(&model.valid())?;
                let train_loss = window_loss.0 / window_loss.1.max(1) as f64;
                window_loss = (0.0, 0);
                let record = EvalRecord {
                    step: state.step,
                    epoch: state.epoch,
                    evaluation,
                    train_loss,
                };
                let improved = state
                    .best
                    .as_ref()
                    .is_none_or(|b| record.evaluation.score > b.evaluation.score);
                let line = format!(
                    "step {} epoch {} train_loss {:.4} dev {}{}",
                    record.step,
                    record.epoch,
                    record.train_loss,
                    record.evaluation.summary,
                    if improved { " *best*" } else { "" }
                );
                progress.suspend(|| eprintln!("{line}"));
                log_line(run_dir, &line)?;
                if improved {
                    save_model(&model, &best_model_path(run_dir))?;
                    state.best = Some(record.clone());
                    state.evals_without_improvement = 0;
                } else {
                    state.evals_without_improvement += 1;
                }
                state.evaluations.push(record);
                let (score_name, score_sign) = task.score_label();
                crate::plot::write_curves(
                    &run_dir.join("curves.svg"),
                    &state.evaluations,
                    score_name,
                    score_sign,
                )?;
                if config.patience > 0 && state.evals_without_improvement >= config.patience {
                    progress.suspend(|| {
                        eprintln!(
                            "no improvement for {} evaluations: stopping",
                            config.patience
                        )
                    });
                    stop = true;
                }
            }
            if checkpoint_now {
                state.train_seconds = seconds_before + started.elapsed().as_secs_f64();
                write_checkpoint(run_dir, &model, &optimizer, &mut state, keep)?;
            }
            if stop || state.step >= total_steps {
                break;
            }
        }
    }
    progress.finish_and_clear();
    state.train_seconds = seconds_before + started.elapsed().as_secs_f64();
    let seconds_per_step =
        started.elapsed().as_secs_f64() / (state.step - steps_at_start).max(1) as f64;

    let mut averaged = None;
    if config.average_last >= 2 && state.checkpoints.len() >= 2 {
        let last: Vec<PathBuf> = state
            .checkpoints
            .iter()
            .rev()
            .take(config.average_last)
            .map(|&s| checkpoint_path(run_dir, s))
            .collect();
        let mean = average_models(model.clone(), &last)?;
        save_model(&mean, &averaged_model_path(run_dir))?;
        let evaluation = task.evaluate(&mean.valid())?;
        let line = format!(
            "averaged last {} checkpoints: dev {}",
            last.len(),
            evaluation.summary
        );
        eprintln!("{line}");
        log_line(run_dir, &line)?;
        averaged = Some(evaluation);
    }
    state.finished = true;
    save_state(run_dir, &state)?;
    Ok(TrainReport {
        state,
        averaged,
        seconds_per_step,
    })
}

fn write_checkpoint<M: Module>(
    run_dir: &Path,
    model: &M,
    optimizer: &burn::optim::ModuleOptimizer,
    state: &mut TrainState,
    keep: usize,
) -> anyhow::Result<()> {
    let step = state.step;
    save_model(model, &checkpoint_path(run_dir, step))?;
    let bytes = optimizer
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("serializing optimizer state: {e}"))?;
    write_atomic(&optimizer_path(run_dir, step), &bytes)?;
    let previous = state.checkpoints.clone();
    if state.checkpoints.last() != Some(&step) {
        state.checkpoints.push(step);
    }
    let excess = state.checkpoints.len().saturating_sub(keep.max(1));
    let dropped: Vec<usize> = state.checkpoints.drain(..excess).collect();
    save_state(run_dir, state)?;
    // Only after state.json points at the new checkpoint may older files go.
    for old in previous {
        if old != step {
            let _ = std::fs::remove_file(optimizer_path(run_dir, old));
        }
    }
    for old in dropped {
        let _ = std::fs::remove_file(checkpoint_path(run_dir, old));
    }
    Ok(())
}
