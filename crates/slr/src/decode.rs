//! CTC decoding over per-frame log-probabilities `[T][C]` (class 0 is the blank).
//!
//! - [`greedy`]: best path, repeats collapsed, blanks removed
//! - [`PrefixBeam`]: CTC prefix beam search (Graves 2012, §7.5; Hannun et al. 2014) that
//!   consumes one frame at a time, so the same state serves whole-utterance decoding
//!   ([`beam_search`]) and streaming ([`StreamingDecoder`]).

use std::collections::HashMap;

/// Index of the CTC blank in every output distribution.
pub const BLANK: usize = 0;

/// One decoded label sequence with its log-probability (summed over all alignments kept in
/// the beam).
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    pub labels: Vec<usize>,
    pub log_prob: f64,
}

/// `log(exp(a) + exp(b))` without overflow; `-inf` is the identity.
pub fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// Best-path decoding: per-frame argmax, repeats merged, blanks dropped.
pub fn greedy(log_probs: &[Vec<f32>]) -> Vec<usize> {
    let mut labels = Vec::new();
    let mut previous = BLANK;
    for frame in log_probs {
        let best = frame
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(BLANK);
        if best != BLANK && best != previous {
            labels.push(best);
        }
        previous = best;
    }
    labels
}

/// Probabilities of one prefix: ending in a blank (`blank`) or in its last label (`label`).
#[derive(Debug, Clone, Copy)]
struct PrefixScore {
    blank: f64,
    label: f64,
}

impl PrefixScore {
    const ZERO: PrefixScore = PrefixScore {
        blank: f64::NEG_INFINITY,
        label: f64::NEG_INFINITY,
    };

    fn total(&self) -> f64 {
        log_add(self.blank, self.label)
    }
}

/// Incremental CTC prefix beam search state.
#[derive(Debug, Clone)]
pub struct PrefixBeam {
    beam_width: usize,
    /// Surviving prefixes; the empty prefix starts with probability 1 of "ending in blank".
    beam: Vec<(Vec<usize>, PrefixScore)>,
    frames: usize,
}

impl PrefixBeam {
    pub fn new(beam_width: usize) -> Self {
        Self {
            beam_width: beam_width.max(1),
            beam: vec![(
                Vec::new(),
                PrefixScore {
                    blank: 0.0,
                    label: f64::NEG_INFINITY,
                },
            )],
            frames: 0,
        }
    }

    /// Frames consumed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Extends every prefix by one frame of log-probabilities `[C]`, then prunes to the beam.
    pub fn step(&mut self, frame: &[f32]) {
        let mut next: HashMap<Vec<usize>, PrefixScore> =
            HashMap::with_capacity(self.beam.len() * 4);
        for (prefix, score) in &self.beam {
            let total = score.total();
            for (c, &lp) in frame.iter().enumerate() {
                let lp = lp as f64;
                if lp == f64::NEG_INFINITY {
                    continue;
                }
                if c == BLANK {
                    let entry = next.entry(prefix.clone()).or_insert(PrefixScore::ZERO);
                    entry.blank = log_add(entry.blank, total + lp);
                    continue;
                }
                let last = prefix.last().copied();
                let mut extended = prefix.clone();
                extended.push(c);
                let entry = next.entry(extended).or_insert(PrefixScore::ZERO);
                if last == Some(c) {
                    // A repeated label needs a blank in between to count twice ...
                    entry.label = log_add(entry.label, score.blank + lp);
                    // ... otherwise it merges into the same prefix.
                    let same = next.entry(prefix.clone()).or_insert(PrefixScore::ZERO);
                    same.label = log_add(same.label, score.label + lp);
                } else {
                    entry.label = log_add(entry.label, total + lp);
                }
            }
        }
        let mut ranked: Vec<(Vec<usize>, PrefixScore)> = next.into_iter().collect();
        // Ties are broken by the label sequence so results never depend on hash order.
        ranked.sort_by(|a, b| {
            b.1.total()
                .total_cmp(&a.1.total())
                .then_with(|| a.0.cmp(&b.0))
        });
        ranked.truncate(self.beam_width);
        self.beam = ranked;
        self.frames += 1;
    }

    /// The `k` most probable prefixes so far, best first.
    pub fn top_k(&self, k: usize) -> Vec<Hypothesis> {
        self.beam
            .iter()
            .take(k)
            .map(|(labels, score)| Hypothesis {
                labels: labels.clone(),
                log_prob: score.total(),
            })
            .collect()
    }
}

/// Whole-utterance prefix beam search: the `k` best label sequences with log-probabilities.
pub fn beam_search(log_probs: &[Vec<f32>], beam_width: usize, k: usize) -> Vec<Hypothesis> {
    let mut beam = PrefixBeam::new(beam_width.max(k));
    for frame in log_probs {
        beam.step(frame);
    }
    beam.top_k(k)
}

/// Streaming recognition over a growing window: frames of log-probabilities arrive in chunks
/// and the current N-best is available after each chunk, without re-decoding earlier frames.
#[derive(Debug, Clone)]
pub struct StreamingDecoder {
    beam: PrefixBeam,
    k: usize,
}

impl StreamingDecoder {
    pub fn new(beam_width: usize, k: usize) -> Self {
        Self {
            beam: PrefixBeam::new(beam_width.max(k)),
            k,
        }
    }

    /// Consumes newly available frames and returns the current top-k.
    pub fn push(&mut self, frames: &[Vec<f32>]) -> Vec<Hypothesis> {
        for frame in frames {
            self.beam.step(frame);
        }
        self.beam.top_k(self.k)
    }

    pub fn frames(&self) -> usize {
        self.beam.frames()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_log_probs(rng: &mut ChaCha8Rng, t: usize, c: usize) -> Vec<Vec<f32>> {
        (0..t)
            .map(|_| {
                let logits: Vec<f64> = (0..c).map(|_| rng.random_range(-2.0..2.0)).collect();
                let norm = logits.iter().fold(f64::NEG_INFINITY, |a, &b| log_add(a, b));
                logits.iter().map(|l| (l - norm) as f32).collect()
            })
            .collect()
    }

    /// Sums the probability of every alignment path per collapsed labelling.
    fn brute_force(log_probs: &[Vec<f32>]) -> Vec<Hypothesis> {
        let t = log_probs.len();
        let c = log_probs[0].len();
        let mut totals: HashMap<Vec<usize>, f64> = HashMap::new();
        for code in 0..c.pow(t as u32) {
            let mut rest = code;
            let mut path = Vec::with_capacity(t);
            let mut lp = 0.0;
            for frame in log_probs {
                let s = rest % c;
                rest /= c;
                path.push(s);
                lp += frame[s] as f64;
            }
            let mut labels = Vec::new();
            let mut previous = BLANK;
            for &s in &path {
                if s != BLANK && s != previous {
                    labels.push(s);
                }
                previous = s;
            }
            let entry = totals.entry(labels).or_insert(f64::NEG_INFINITY);
            *entry = log_add(*entry, lp);
        }
        let mut ranked: Vec<Hypothesis> = totals
            .into_iter()
            .map(|(labels, log_prob)| Hypothesis { labels, log_prob })
            .collect();
        ranked.sort_by(|a, b| {
            b.log_prob
                .total_cmp(&a.log_prob)
                .then_with(|| a.labels.cmp(&b.labels))
        });
        ranked
    }

    #[test]
    fn wide_beam_matches_brute_force_top_k() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (t, c) in [(1, 3), (3, 3), (4, 3), (5, 3), (4, 4), (6, 2)] {
            let lp = random_log_probs(&mut rng, t, c);
            let exact = brute_force(&lp);
            // A beam at least as wide as the number of labellings is exact.
            let got = beam_search(&lp, exact.len(), 3);
            assert_eq!(got.len(), 3.min(exact.len()));
            for (g, e) in got.iter().zip(&exact) {
                assert_eq!(g.labels, e.labels, "T={t} C={c}");
                assert!(
                    (g.log_prob - e.log_prob).abs() < 1e-9,
                    "T={t} C={c}: {} vs {}",
                    g.log_prob,
                    e.log_prob
                );
            }
            let total = exact
                .iter()
                .fold(f64::NEG_INFINITY, |a, h| log_add(a, h.log_prob));
            assert!(total.abs() < 1e-6, "labelling probabilities sum to 1");
        }
    }

    #[test]
    fn narrow_beam_scores_are_lower_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let lp = random_log_probs(&mut rng, 6, 4);
        let exact: HashMap<Vec<usize>, f64> = brute_force(&lp)
            .into_iter()
            .map(|h| (h.labels, h.log_prob))
            .collect();
        for h in beam_search(&lp, 2, 2) {
            assert!(h.log_prob <= exact[&h.labels] + 1e-9);
        }
    }

    #[test]
    fn greedy_collapses_repeats_and_blanks() {
        let one_hot = |i: usize| {
            (0..4)
                .map(|c| if c == i { 0.0 } else { -10.0 })
                .collect::<Vec<f32>>()
        };
        let lp: Vec<Vec<f32>> = [1, 1, 0, 1, 2, 2, 0, 0, 3]
            .iter()
            .map(|&i| one_hot(i))
            .collect();
        assert_eq!(greedy(&lp), vec![1, 1, 2, 3]);
    }

    #[test]
    fn streaming_equals_whole_utterance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let lp = random_log_probs(&mut rng, 12, 5);
        let whole = beam_search(&lp, 8, 3);
        let mut stream = StreamingDecoder::new(8, 3);
        let mut last = Vec::new();
        for chunk in lp.chunks(5) {
            last = stream.push(chunk);
        }
        assert_eq!(stream.frames(), 12);
        assert_eq!(last, whole);
    }
}
