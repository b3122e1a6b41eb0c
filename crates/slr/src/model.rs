//! The SCOPE recognizer: motion feature extractor → Embedding Alignment Encoder → Gloss
//! Encoder (+ context) → classifier, with `L_emb`, `L_CTC` (burn's CTC) and `L_MWER`.

use burn::nn::loss::CTCLossConfig;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_softmax, softmax};

use crate::alignment::{AlignedMotion, EmbeddingAlignmentEncoder, embedding_loss};
use crate::config::SlrModelConfig;
use crate::decode::{BLANK, Hypothesis, beam_search};
use crate::gloss::GlossEncoder;
use crate::motion::MotionFeatureExtractor;

/// Which parameters a model instance trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Stage 1: motion extractor + alignment encoder with `L_emb`.
    Alignment,
    /// Stage 2: gloss encoder with CTC (+ MWER); stage 1 frozen (its outputs detached and its
    /// dropout off, so it behaves exactly as at inference) unless `freeze_stage1` is off.
    Gloss,
}

#[derive(Module, Debug)]
pub struct ScopeSlr {
    pub motion: MotionFeatureExtractor,
    pub alignment: EmbeddingAlignmentEncoder,
    pub gloss: GlossEncoder,
    freeze_stage1: bool,
}

/// A padded batch on one device.
#[derive(Debug, Clone)]
pub struct SlrBatch {
    /// SCOPE features J [B, T, 77, 2], zero-padded in time.
    pub keypoints: Tensor<4>,
    /// Real frames per sample.
    pub frames: Vec<usize>,
    /// Target sentence embeddings E_text [B, E] (stage 1).
    pub sentence: Tensor<2>,
    /// Previous-turn embeddings E_A [B, turns, E], most recent last, zero where missing.
    pub context: Tensor<3>,
    /// [B, turns], true where a turn is missing.
    pub context_missing: Tensor<2, Bool>,
    /// Gloss ids (1-based; 0 is the blank) per sample.
    pub targets: Vec<Vec<usize>>,
}

impl ScopeSlr {
    /// `classes` = glosses + 1 (blank).
    pub fn new(config: &SlrModelConfig, classes: usize, stage: Stage, device: &Device) -> Self {
        // Without the alignment encoder there is no stage 1: the motion extractor trains
        // with the gloss encoder.
        let freeze_stage1 =
            stage == Stage::Gloss && config.alignment_encoder && config.freeze_stage1;
        let stage1_dropout = if freeze_stage1 { 0.0 } else { config.dropout };
        Self {
            motion: MotionFeatureExtractor::new(config, device),
            alignment: EmbeddingAlignmentEncoder::new(config, stage1_dropout, device),
            gloss: GlossEncoder::new(config, classes, device),
            freeze_stage1,
        }
    }

    /// Motion padding mask [B, T'] (true = padded step) for the given frame counts.
    pub fn motion_padding(
        config_steps: impl Fn(usize) -> usize,
        frames: &[usize],
        steps: usize,
        device: &Device,
    ) -> Tensor<2, Bool> {
        let mut mask = Vec::with_capacity(frames.len() * steps);
        for &f in frames {
            let real = config_steps(f).min(steps);
            mask.extend((0..steps).map(|i| i >= real));
        }
        Tensor::from_data(TensorData::new(mask, [frames.len(), steps]), device)
    }

    /// Stage 1 on a batch: E_t, E_out and the motion padding mask.
    pub fn align(
        &self,
        config: &SlrModelConfig,
        batch: &SlrBatch,
    ) -> (AlignedMotion, Tensor<2, Bool>) {
        if self.freeze_stage1 && batch.keypoints.is_autodiff() {
            // The frozen stage 1 runs without autodiff. Detaching its outputs is not enough:
            // burn keeps the graph nodes of a branch that backward never reaches, and the
            // training process grew by ~20 MB a step (22 GB, killed, after 700 steps).
            let (aligned, padding) = Self::stage1(
                &self.motion.valid(),
                &self.alignment.valid(),
                config,
                batch.keypoints.clone().inner(),
                &batch.frames,
            );
            let aligned = AlignedMotion {
                hidden: aligned.hidden.autodiff(),
                embedding: aligned.embedding.autodiff(),
            };
            return (aligned, padding.autodiff());
        }
        // Training stage 1 (or inference, where nothing is tracked): the plain forward.
        Self::stage1(
            &self.motion,
            &self.alignment,
            config,
            batch.keypoints.clone(),
            &batch.frames,
        )
    }

    fn stage1(
        motion: &MotionFeatureExtractor,
        alignment: &EmbeddingAlignmentEncoder,
        config: &SlrModelConfig,
        keypoints: Tensor<4>,
        frames: &[usize],
    ) -> (AlignedMotion, Tensor<2, Bool>) {
        let motion = motion.forward(keypoints);
        let [b, steps, _] = motion.dims();
        let device = motion.device();
        let padding = Self::motion_padding(|f| config.motion_steps(f), frames, steps, &device);
        let aligned = if config.alignment_encoder {
            alignment.forward(motion, padding.clone())
        } else {
            // Ablation "w/o embedding encoder": the gloss encoder reads the motion input D.
            AlignedMotion {
                hidden: motion,
                embedding: Tensor::zeros([b, config.embedding_size], &device),
            }
        };
        (aligned, padding)
    }

    /// Gloss log-probabilities [B, T', classes] and the motion padding mask.
    pub fn gloss_log_probs(
        &self,
        config: &SlrModelConfig,
        batch: &SlrBatch,
    ) -> (Tensor<3>, Tensor<2, Bool>) {
        let (aligned, padding) = self.align(config, batch);
        let logits = self.gloss.forward(
            aligned.hidden,
            padding.clone(),
            aligned.embedding,
            batch.context.clone(),
            batch.context_missing.clone(),
        );
        (log_softmax(logits, 2), padding)
    }

    /// `L_emb` of a batch.
    pub fn alignment_loss(&self, config: &SlrModelConfig, batch: &SlrBatch) -> Tensor<1> {
        let (aligned, _) = self.align(config, batch);
        embedding_loss(aligned.embedding, batch.sentence.clone())
    }
}

/// Per-sample CTC negative log-likelihoods [N] of `targets` under log_probs [T', N, C].
fn ctc_nll(log_probs: Tensor<3>, targets: &[Vec<usize>], input_lengths: &[usize]) -> Tensor<1> {
    let device = log_probs.device();
    let n = targets.len();
    let width = targets.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut flat = vec![0i64; n * width];
    for (i, t) in targets.iter().enumerate() {
        for (j, &g) in t.iter().enumerate() {
            flat[i * width + j] = g as i64;
        }
    }
    let targets_t = Tensor::<2, Int>::from_data(TensorData::new(flat, [n, width]), &device);
    let lengths = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device);
    let input_lengths = lengths(input_lengths.iter().map(|&l| l as i64).collect());
    let target_lengths = lengths(targets.iter().map(|t| t.len() as i64).collect());
    CTCLossConfig::new()
        .with_blank(BLANK)
        .with_zero_infinity(true)
        .init()
        .forward(log_probs, targets_t, input_lengths, target_lengths)
}

/// Stage-2 losses of one batch.
#[derive(Debug, Clone)]
pub struct GlossLosses {
    /// Scalar [1]: mean over the batch of CTC NLL / target length (PyTorch's `mean`).
    pub ctc: Tensor<1>,
    /// Scalar [1]: mean expected word errors over the re-normalized N-best (eq. 5).
    pub mwer: Option<Tensor<1>>,
}

/// `L_CTC` (eq. 4) and, when `n_best > 0`, `L_MWER` (eq. 5).
///
/// MWER: the N-best come from prefix beam search on the (detached) posteriors; each
/// hypothesis' probability `P(Yⁿ|J)` is its full CTC probability (all alignments), computed
/// differentiably with the CTC forward pass, re-normalized over the N-best with a softmax,
/// and weighted by its word errors against the reference.
pub fn gloss_losses(
    config: &SlrModelConfig,
    log_probs: Tensor<3>,
    batch: &SlrBatch,
    n_best: usize,
    beam_width: usize,
) -> GlossLosses {
    let [b, steps, classes] = log_probs.dims();
    let device = log_probs.device();
    let input_lengths: Vec<usize> = batch
        .frames
        .iter()
        .map(|&f| config.motion_steps(f).min(steps))
        .collect();
    // burn's CTC wants [T', B, C]
    let time_major = log_probs.clone().swap_dims(0, 1);
    let nll = ctc_nll(time_major.clone(), &batch.targets, &input_lengths);
    let target_lengths: Vec<f32> = batch
        .targets
        .iter()
        .map(|t| t.len().max(1) as f32)
        .collect();
    let ctc = (nll / Tensor::<1>::from_data(TensorData::new(target_lengths, [b]), &device)).mean();
    if n_best == 0 {
        return GlossLosses { ctc, mwer: None };
    }
    let per_sample = rows(log_probs, &input_lengths);
    let mut hyps: Vec<Vec<usize>> = Vec::new();
    let mut owner: Vec<i64> = Vec::new();
    let mut errors: Vec<f32> = Vec::new();
    let mut counts = Vec::with_capacity(b);
    for (i, frames) in per_sample.iter().enumerate() {
        let nbest: Vec<Hypothesis> = beam_search(frames, beam_width, n_best);
        counts.push(nbest.len());
        for h in nbest {
            errors.push(
                signscope_metrics::wer::edit_counts(&batch.targets[i], &h.labels).errors() as f32,
            );
            hyps.push(h.labels);
            owner.push(i as i64);
        }
    }
    let total = hyps.len();
    // Every sample's posteriors repeated once per hypothesis: [T', Σn, C]
    let index = Tensor::<1, Int>::from_data(TensorData::new(owner.clone(), [total]), &device);
    let repeated = time_major.select(1, index);
    let hyp_lengths: Vec<usize> = owner.iter().map(|&o| input_lengths[o as usize]).collect();
    let log_p = ctc_nll(repeated, &hyps, &hyp_lengths).neg(); // [Σn]
    let errors = Tensor::<1>::from_data(TensorData::new(errors, [total]), &device);
    let mut expected = Vec::with_capacity(b);
    let mut start = 0;
    for n in counts {
        if n == 0 {
            continue;
        }
        let p_bar = softmax(log_p.clone().slice(start..start + n), 0);
        expected.push((p_bar * errors.clone().slice(start..start + n)).sum());
        start += n;
    }
    let _ = classes;
    let mwer = (!expected.is_empty()).then(|| Tensor::cat(expected, 0).mean());
    GlossLosses { ctc, mwer }
}

/// log_probs [B, T', C] -> per sample the first `lengths[i]` frames as plain vectors.
pub fn rows(log_probs: Tensor<3>, lengths: &[usize]) -> Vec<Vec<Vec<f32>>> {
    let [b, steps, classes] = log_probs.dims();
    let values = log_probs
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float log-probs");
    (0..b)
        .map(|i| {
            (0..lengths[i].min(steps))
                .map(|t| values[(i * steps + t) * classes..(i * steps + t + 1) * classes].to_vec())
                .collect()
        })
        .collect()
}
