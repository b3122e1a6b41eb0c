//! Greedy and beam search over a [`Seq2Seq`] model, batched over sentences.
//!
//! Beam search follows fairseq: per sentence, the `2K` best continuations of the `K` live
//! beams are ranked by raw log-probability; EOS continuations among the best `K` move to the
//! finished list (scored with the length penalty), the best `K` others stay live. A sentence is done
//! when it has `K` finished hypotheses or reaches its length limit (live beams are then
//! finished as they are). The length penalty is GNMT's (Wu et al. 2016):
//! `lp(n) = ((5 + n) / 6)^α`, `score = log P / lp(n)`, with `n` counting EOS.
//!
//! Each search also runs over an ensemble of models that share their vocabularies: at every
//! step the members' next-token distributions are averaged (probabilities, not log-probabilities,
//! as fairseq's `EnsembleModel` does) and the search proceeds on that mean distribution.

use burn::prelude::*;

use crate::seq2seq::{DecoderState, Seq2Seq, TokenBatch};

#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    pub beam_size: usize,
    /// Length-penalty exponent α (0 = raw log-probability).
    pub alpha: f64,
    pub bos_id: u32,
    pub eos_id: u32,
    pub pad_id: u32,
    /// Output length limit `a · source_length + b` (tokens, EOS excluded), also capped by the
    /// model's position table.
    pub max_length_a: f64,
    pub max_length_b: usize,
}

/// One output sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Output tokens without BOS/EOS.
    pub tokens: Vec<u32>,
    /// Sum of token log-probabilities, EOS included when the hypothesis ended with it.
    pub log_prob: f64,
    /// `log_prob / lp(n)`; the quantity beam search maximises.
    pub score: f64,
}

pub fn length_penalty(length: usize, alpha: f64) -> f64 {
    ((5.0 + length as f64) / 6.0).powf(alpha)
}

/// `log_prob / lp(length)`: the score beam search ranks a hypothesis of `length` tokens (EOS
/// included when it ended with one) by.
pub fn normalized_score(log_prob: f64, length: usize, alpha: f64) -> f64 {
    log_prob / length_penalty(length.max(1), alpha)
}

fn length_limits(models: &[Seq2Seq], sources: &[Vec<u32>], config: &SearchConfig) -> Vec<usize> {
    // The position table has to hold BOS + output tokens.
    let positions = models.iter().map(Seq2Seq::max_positions).min().unwrap_or(1);
    let cap = positions.saturating_sub(1).max(1);
    sources
        .iter()
        .map(|s| {
            ((config.max_length_a * s.len() as f64) as usize + config.max_length_b).clamp(1, cap)
        })
        .collect()
}

fn host_rows(log_probs: Tensor<2>) -> (Vec<f32>, usize) {
    let [_, v] = log_probs.dims();
    let data = log_probs
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("log-probabilities convert to f32");
    (data, v)
}

/// `log(mean_m exp(members[m][i]))` for every position `i`: the log of the members' mean
/// probability. One member is returned as it is.
fn log_mean_exp(mut members: Vec<Vec<f32>>) -> Vec<f32> {
    if members.len() == 1 {
        return members.pop().unwrap_or_default();
    }
    let log_count = (members.len() as f32).ln();
    (0..members.first().map_or(0, Vec::len))
        .map(|i| {
            let max = members
                .iter()
                .map(|m| m[i])
                .fold(f32::NEG_INFINITY, f32::max);
            if max == f32::NEG_INFINITY {
                return max;
            }
            let sum: f32 = members.iter().map(|m| (m[i] - max).exp()).sum();
            max + sum.ln() - log_count
        })
        .collect()
}

/// Incremental decoding with every member of an ensemble in step.
struct EnsembleDecoder<'a> {
    models: &'a [Seq2Seq],
    states: Vec<DecoderState>,
}

impl<'a> EnsembleDecoder<'a> {
    fn start(models: &'a [Seq2Seq], batch: &TokenBatch) -> Self {
        assert!(!models.is_empty(), "an ensemble needs at least one model");
        Self {
            models,
            states: models.iter().map(|m| m.start_decoding(batch)).collect(),
        }
    }

    /// Host copy of the next-token log-probabilities, `[rows × vocabulary]`, and the vocabulary
    /// size.
    fn step(&mut self, last_tokens: &[u32]) -> (Vec<f32>, usize) {
        let mut vocabulary = 0;
        let members = self
            .models
            .iter()
            .zip(&mut self.states)
            .map(|(model, state)| {
                let (lp, v) = host_rows(model.decode_step(state, last_tokens));
                vocabulary = v;
                lp
            })
            .collect();
        (log_mean_exp(members), vocabulary)
    }

    fn select_rows(&mut self, rows: &[usize]) {
        for state in &mut self.states {
            state.select_rows(rows);
        }
    }
}

/// Greedy decoding of each source sequence (ids already include EOS if the model was trained so).
pub fn greedy_search(
    model: &Seq2Seq,
    sources: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<Hypothesis> {
    greedy_search_ensemble(std::slice::from_ref(model), sources, config, device)
}

/// [`greedy_search`] over the mean distribution of `models` (which share their vocabularies).
pub fn greedy_search_ensemble(
    models: &[Seq2Seq],
    sources: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<Hypothesis> {
    if sources.is_empty() {
        return Vec::new();
    }
    let limits = length_limits(models, sources, config);
    let batch = TokenBatch::from_sequences(sources, config.pad_id, device);
    let mut state = EnsembleDecoder::start(models, &batch);
    let n = sources.len();
    let mut outputs: Vec<Hypothesis> = (0..n)
        .map(|_| Hypothesis {
            tokens: vec![],
            log_prob: 0.0,
            score: 0.0,
        })
        .collect();
    let mut done = vec![false; n];
    let mut ended_with_eos = vec![false; n];
    let mut last = vec![config.bos_id; n];
    for step in 0..*limits.iter().max().unwrap() {
        let (lp, v) = state.step(&last);
        for row in 0..n {
            if done[row] {
                last[row] = config.eos_id;
                continue;
            }
            let scores = &lp[row * v..(row + 1) * v];
            let (best, &best_lp) = scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("non-empty vocabulary");
            let out = &mut outputs[row];
            out.log_prob += best_lp as f64;
            if best as u32 == config.eos_id {
                done[row] = true;
                ended_with_eos[row] = true;
            } else {
                out.tokens.push(best as u32);
                if step + 1 >= limits[row] {
                    done[row] = true;
                }
            }
            last[row] = best as u32;
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    for (out, eos) in outputs.iter_mut().zip(ended_with_eos) {
        let length = out.tokens.len() + usize::from(eos);
        out.score = normalized_score(out.log_prob, length, config.alpha);
    }
    outputs
}

struct Beam {
    tokens: Vec<u32>,
    log_prob: f64,
}

/// Beam search; returns, per source, up to `beam_size` hypotheses, best first.
pub fn beam_search(
    model: &Seq2Seq,
    sources: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<Vec<Hypothesis>> {
    beam_search_ensemble(std::slice::from_ref(model), sources, config, device)
}

/// [`beam_search`] over the mean distribution of `models` (which share their vocabularies).
pub fn beam_search_ensemble(
    models: &[Seq2Seq],
    sources: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<Vec<Hypothesis>> {
    let k = config.beam_size.max(1);
    let n = sources.len();
    if n == 0 {
        return Vec::new();
    }
    let limits = length_limits(models, sources, config);
    let batch = TokenBatch::from_sequences(sources, config.pad_id, device);
    let mut state = EnsembleDecoder::start(models, &batch);
    // Start with a single live beam per sentence: rows of `state` follow `live` order.
    let mut live: Vec<(usize, Vec<Beam>)> = (0..n)
        .map(|s| {
            (
                s,
                vec![Beam {
                    tokens: vec![],
                    log_prob: 0.0,
                }],
            )
        })
        .collect();
    let mut finished: Vec<Vec<Hypothesis>> = (0..n).map(|_| Vec::new()).collect();
    let finish = |beam_tokens: &[u32], log_prob: f64, with_eos: bool| {
        let length = beam_tokens.len() + usize::from(with_eos);
        Hypothesis {
            tokens: beam_tokens.to_vec(),
            log_prob,
            score: normalized_score(log_prob, length, config.alpha),
        }
    };

    let mut step = 0usize;
    while !live.is_empty() {
        let last: Vec<u32> = live
            .iter()
            .flat_map(|(_, beams)| {
                beams
                    .iter()
                    .map(|b| *b.tokens.last().unwrap_or(&config.bos_id))
            })
            .collect();
        let (lp, v) = state.step(&last);
        let mut next_live = Vec::with_capacity(live.len());
        let mut next_rows = Vec::new();
        let mut row = 0usize;
        for (sentence, beams) in live {
            // (total log-prob, beam index, token) over all beams × vocabulary.
            let mut candidates: Vec<(f64, usize, u32)> = Vec::with_capacity(beams.len() * v);
            for (b, beam) in beams.iter().enumerate() {
                let scores = &lp[(row + b) * v..(row + b + 1) * v];
                candidates.extend(
                    scores
                        .iter()
                        .enumerate()
                        .map(|(t, &s)| (beam.log_prob + s as f64, b, t as u32)),
                );
            }
            let take = (2 * k).min(candidates.len());
            candidates.select_nth_unstable_by(take - 1, |a, b| b.0.total_cmp(&a.0));
            candidates.truncate(take);
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0));

            let at_limit = step + 1 >= limits[sentence];
            let mut kept = Vec::with_capacity(k);
            for (rank, (log_prob, b, token)) in candidates.into_iter().enumerate() {
                if !log_prob.is_finite() {
                    continue;
                }
                if token == config.eos_id {
                    // As fairseq: only an EOS among the K best continuations ends a hypothesis,
                    // otherwise unlikely early stops would fill the finished list.
                    if rank < k && finished[sentence].len() < k {
                        finished[sentence].push(finish(&beams[b].tokens, log_prob, true));
                    }
                } else if kept.len() < k {
                    let mut tokens = beams[b].tokens.clone();
                    tokens.push(token);
                    kept.push((row + b, Beam { tokens, log_prob }));
                }
                if kept.len() == k && finished[sentence].len() >= k {
                    break;
                }
            }
            row += beams.len();
            if finished[sentence].len() >= k || at_limit || kept.is_empty() {
                if finished[sentence].is_empty() || at_limit {
                    // Length limit: live beams end here without EOS.
                    for (_, beam) in &kept {
                        finished[sentence].push(finish(&beam.tokens, beam.log_prob, false));
                    }
                }
                continue;
            }
            next_rows.extend(kept.iter().map(|(r, _)| *r));
            next_live.push((sentence, kept.into_iter().map(|(_, b)| b).collect()));
        }
        live = next_live;
        if !live.is_empty() {
            state.select_rows(&next_rows);
        }
        step += 1;
    }
    finished
        .into_iter()
        .map(|mut hyps| {
            hyps.sort_by(|a, b| b.score.total_cmp(&a.score));
            hyps.truncate(k);
            hyps
        })
        .collect()
}

/// Teacher-forced log-probability of each `target` (without BOS; EOS appended here) given its
/// source: what the model thinks of an externally proposed output.
pub fn score_targets(
    model: &Seq2Seq,
    sources: &[Vec<u32>],
    targets: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<f64> {
    score_targets_ensemble(
        std::slice::from_ref(model),
        sources,
        targets,
        config,
        device,
    )
}

/// [`score_targets`] under the mean distribution of `models`, the one their ensemble search
/// decodes with.
pub fn score_targets_ensemble(
    models: &[Seq2Seq],
    sources: &[Vec<u32>],
    targets: &[Vec<u32>],
    config: &SearchConfig,
    device: &Device,
) -> Vec<f64> {
    assert_eq!(sources.len(), targets.len());
    if sources.is_empty() {
        return Vec::new();
    }
    let inputs: Vec<Vec<u32>> = targets
        .iter()
        .map(|t| {
            std::iter::once(config.bos_id)
                .chain(t.iter().copied())
                .collect()
        })
        .collect();
    let outputs: Vec<Vec<u32>> = targets
        .iter()
        .map(|t| {
            t.iter()
                .copied()
                .chain(std::iter::once(config.eos_id))
                .collect()
        })
        .collect();
    let source = TokenBatch::from_sequences(sources, config.pad_id, device);
    let input = TokenBatch::from_sequences(&inputs, config.pad_id, device);
    // Per member, the log-probability of every output token, row by row.
    let members: Vec<Vec<f32>> = models
        .iter()
        .map(|model| {
            let logits = model.forward(&source, &input);
            let [b, t, v] = logits.dims();
            let (lp, _) = host_rows(burn::tensor::activation::log_softmax(
                logits.reshape([b * t, v]),
                1,
            ));
            outputs
                .iter()
                .enumerate()
                .flat_map(|(row, out)| {
                    let lp = &lp;
                    out.iter()
                        .enumerate()
                        .map(move |(pos, &tok)| lp[(row * t + pos) * v + tok as usize])
                })
                .collect()
        })
        .collect();
    let mut tokens = log_mean_exp(members).into_iter();
    outputs
        .iter()
        .map(|out| tokens.by_ref().take(out.len()).map(f64::from).sum())
        .collect()
}
