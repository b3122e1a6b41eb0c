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
    ///
    /// With C classes there are B·C candidate prefixes per frame (1085 glosses × beam 8 on
    /// PHOENIX). Only the B survivors are materialized: candidates are scored as (beam, class)
    /// pairs, the best B selected in linear time, and the rest never allocated. The result is
    /// exactly that of merging all B·C extended prefixes in a map (the test module keeps that
    /// version as the reference), ties included.
    pub fn step(&mut self, frame: &[f32]) {
        let beam = &self.beam;
        // An extension p + [c] that is itself a surviving prefix merges into that prefix:
        // `children[i]` lists (c, j) with beam[j] = beam[i] + [c].
        let index: HashMap<&[usize], usize> = beam
            .iter()
            .enumerate()
            .map(|(j, (prefix, _))| (prefix.as_slice(), j))
            .collect();
        let mut children: Vec<Vec<(usize, usize)>> = vec![Vec::new(); beam.len()];
        for (j, (prefix, _)) in beam.iter().enumerate() {
            if let Some((&last, parent)) = prefix.split_last()
                && let Some(&i) = index.get(parent)
            {
                children[i].push((last, j));
            }
        }
        let lp_of = |c: usize| frame.get(c).map_or(f64::NEG_INFINITY, |&lp| lp as f64);
        let blank_lp = lp_of(BLANK);

        // Each surviving prefix carried over ("stay"): ends in a blank, or repeats its label.
        let mut stay: Vec<(PrefixScore, bool)> = beam
            .iter()
            .map(|(prefix, score)| {
                let mut next = PrefixScore::ZERO;
                let mut exists = false;
                if blank_lp != f64::NEG_INFINITY {
                    next.blank = score.total() + blank_lp;
                    exists = true;
                }
                if let Some(&last) = prefix.last() {
                    let lp = lp_of(last);
                    if lp != f64::NEG_INFINITY {
                        next.label = score.label + lp;
                        exists = true;
                    }
                }
                (next, exists)
            })
            .collect();
        // New prefixes beam[i] + [c]: (log-probability, i, c).
        let mut extended: Vec<(f64, usize, usize)> =
            Vec::with_capacity(beam.len() * frame.len().saturating_sub(1));
        for (i, (prefix, score)) in beam.iter().enumerate() {
            let total = score.total();
            let last = prefix.last().copied();
            for (c, &lp) in frame.iter().enumerate().skip(BLANK + 1) {
                let lp = lp as f64;
                if lp == f64::NEG_INFINITY {
                    continue;
                }
                // A repeated label needs a blank in between to count twice.
                let p = if last == Some(c) { score.blank } else { total } + lp;
                match children[i].iter().find(|&&(label, _)| label == c) {
                    Some(&(_, j)) => {
                        let (into, exists) = &mut stay[j];
                        into.label = log_add(into.label, p);
                        *exists = true;
                    }
                    None => extended.push((p, i, c)),
                }
            }
        }

        enum Candidate {
            Stay(usize, PrefixScore),
            Extend(usize, usize, f64),
        }
        let mut candidates: Vec<(f64, Candidate)> = stay
            .into_iter()
            .enumerate()
            .filter(|(_, (_, exists))| *exists)
            .map(|(j, (score, _))| (score.total(), Candidate::Stay(j, score)))
            .chain(
                extended
                    .into_iter()
                    .map(|(p, i, c)| (p, Candidate::Extend(i, c, p))),
            )
            .collect();
        let labels = |candidate: &Candidate| match *candidate {
            Candidate::Stay(j, _) => (beam[j].0.as_slice(), None),
            Candidate::Extend(i, c, _) => (beam[i].0.as_slice(), Some(c)),
        };
        // Most probable first; ties broken by the label sequence so results never depend on
        // iteration order.
        let order = |a: &(f64, Candidate), b: &(f64, Candidate)| {
            b.0.total_cmp(&a.0).then_with(|| {
                let (pa, ca) = labels(&a.1);
                let (pb, cb) = labels(&b.1);
                pa.iter().chain(ca.iter()).cmp(pb.iter().chain(cb.iter()))
            })
        };
        if candidates.len() > self.beam_width {
            candidates.select_nth_unstable_by(self.beam_width - 1, order);
            candidates.truncate(self.beam_width);
        }
        candidates.sort_by(order);
        self.beam = candidates
            .into_iter()
            .map(|(_, candidate)| match candidate {
                Candidate::Stay(j, score) => (beam[j].0.clone(), score),
                Candidate::Extend(i, c, p) => {
                    let mut prefix = Vec::with_capacity(beam[i].0.len() + 1);
                    prefix.extend_from_slice(&beam[i].0);
                    prefix.push(c);
                    (
                        prefix,
                        PrefixScore {
                            blank: f64::NEG_INFINITY,
                            label: p,
                        },
                    )
                }
            })
            .collect();
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

    /// The straightforward prefix beam step: every extended prefix materialized and merged
    /// in a map, then sorted. [`PrefixBeam::step`] must give exactly this.
    fn reference_step(beam: &mut PrefixBeam, frame: &[f32]) {
        let mut next: HashMap<Vec<usize>, PrefixScore> = HashMap::new();
        for (prefix, score) in &beam.beam {
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
                    entry.label = log_add(entry.label, score.blank + lp);
                    let same = next.entry(prefix.clone()).or_insert(PrefixScore::ZERO);
                    same.label = log_add(same.label, score.label + lp);
                } else {
                    entry.label = log_add(entry.label, total + lp);
                }
            }
        }
        let mut ranked: Vec<(Vec<usize>, PrefixScore)> = next.into_iter().collect();
        ranked.sort_by(|a, b| {
            b.1.total()
                .total_cmp(&a.1.total())
                .then_with(|| a.0.cmp(&b.0))
        });
        ranked.truncate(beam.beam_width);
        beam.beam = ranked;
        beam.frames += 1;
    }

    #[test]
    fn step_equals_the_map_based_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        for case in 0..200 {
            let c = rng.random_range(2..40);
            let t = rng.random_range(1..30);
            let width = rng.random_range(1..12);
            let mut lp = random_log_probs(&mut rng, t, c);
            // Peaked frames make repeats and merges common; impossible classes (-inf) and
            // exact ties exercise the edge cases.
            for frame in lp.iter_mut() {
                let hot = rng.random_range(0..c);
                frame[hot] += 3.0;
                if rng.random_bool(0.2) {
                    frame[rng.random_range(0..c)] = f32::NEG_INFINITY;
                }
                if rng.random_bool(0.2) {
                    let (a, b) = (rng.random_range(0..c), rng.random_range(0..c));
                    frame[a] = frame[b];
                }
            }
            let mut fast = PrefixBeam::new(width);
            let mut reference = PrefixBeam::new(width);
            for frame in &lp {
                fast.step(frame);
                reference_step(&mut reference, frame);
                let f: Vec<_> = fast
                    .beam
                    .iter()
                    .map(|(p, s)| (p, s.blank, s.label))
                    .collect();
                let r: Vec<_> = reference
                    .beam
                    .iter()
                    .map(|(p, s)| (p, s.blank, s.label))
                    .collect();
                assert_eq!(f, r, "case {case}: T={t} C={c} beam {width}");
            }
        }
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
