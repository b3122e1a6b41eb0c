//! Reconstruction reranking of a translator's n-best list: each finished beam hypothesis `y`
//! for glosses `g` is scored again by a text→gloss model (`signscope train t2g`) as
//! `log P(g | y)`, and the list is re-ordered by
//!
//! `score(y) + weight · log P(g | y) / (|g| + 1)`
//!
//! where `score(y)` is the translator's own length-normalised beam score. The reverse model
//! penalizes fluent translations that drop or invent content: a sentence it cannot turn back
//! into the input glosses has probably lost some of them (the "reconstruction" or
//! noisy-channel idea of Tu et al. 2017 and Yee et al. 2019, applied as a reranker).
//! Dividing by the gloss count keeps one weight meaningful for short and long inputs; it
//! does not change the order within one list. `weight = 0` is plain beam search.

use std::path::Path;

use anyhow::bail;

use crate::config::Direction;
use crate::translator::{CandidateChoice, DecodeOptions, Translation, Translator};

/// A text→gloss model used to rescore translations.
pub struct ReconstructionReranker {
    reverse: Translator,
}

/// One source's n-best list with the reverse model's per-gloss log-probability of each
/// candidate (`None` where the candidate is too long for the reverse model).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCandidates {
    pub candidates: Vec<Translation>,
    pub reconstruction: Vec<Option<f64>>,
}

impl ScoredCandidates {
    /// Index of the candidate with the best combined score; ties keep the earlier (beam)
    /// order. When any candidate lacks a reconstruction score the beam's own best is kept, so
    /// that every candidate is compared on the same terms.
    pub fn choose(&self, weight: f64) -> usize {
        if self.reconstruction.iter().any(Option::is_none) {
            return 0;
        }
        let combined =
            |i: usize| self.candidates[i].score + weight * self.reconstruction[i].unwrap_or(0.0);
        let mut best = 0;
        for i in 1..self.candidates.len() {
            if combined(i) > combined(best) {
                best = i;
            }
        }
        best
    }

    pub fn chosen(&self, weight: f64) -> &Translation {
        &self.candidates[self.choose(weight)]
    }
}

impl ReconstructionReranker {
    /// Loads a model directory of `signscope train t2g`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            reverse: Translator::load_expecting(dir, Direction::TextToGloss)?,
        })
    }

    /// Checks that `translator` turns glosses into text at the level this reverse model reads.
    pub fn check_pair(&self, translator: &Translator) -> anyhow::Result<()> {
        if translator.config.data.direction != Direction::GlossToText {
            bail!("reconstruction reranking needs a gloss→text translator");
        }
        if translator.config.data.text_level != self.reverse.config.data.text_level {
            bail!(
                "the translator writes {:?}-level text but the reranker reads {:?}-level text",
                translator.config.data.text_level,
                self.reverse.config.data.text_level
            );
        }
        Ok(())
    }

    /// Translates `sources` (tokenized glosses) with `translator`'s beam search and scores
    /// every finished hypothesis with the reverse model.
    pub fn nbest(
        &self,
        translator: &Translator,
        sources: &[Vec<String>],
        options: DecodeOptions,
    ) -> anyhow::Result<Vec<ScoredCandidates>> {
        let nbest = translator.translate_nbest(sources, options)?;
        let (mut texts, mut glosses) = (Vec::new(), Vec::new());
        for (source, candidates) in sources.iter().zip(&nbest) {
            for candidate in candidates {
                texts.push(self.reverse.tokenize_source(&candidate.text));
                glosses.push(source.clone());
            }
        }
        let mut scores = self.reverse.log_probs(&texts, &glosses)?.into_iter();
        Ok(sources
            .iter()
            .zip(nbest)
            .map(|(source, candidates)| {
                let per_gloss = (source.len() + 1) as f64;
                let reconstruction = candidates
                    .iter()
                    .map(|_| scores.next().flatten().map(|lp| lp / per_gloss))
                    .collect();
                ScoredCandidates {
                    candidates,
                    reconstruction,
                }
            })
            .collect())
    }
}

impl ReconstructionReranker {
    /// [`Translator::translate_candidates`] with each recognizer hypothesis's translation
    /// chosen from its reranked n-best list.
    pub fn translate_candidates(
        &self,
        translator: &Translator,
        hypotheses: &[Vec<String>],
        options: DecodeOptions,
        weight: f64,
    ) -> anyhow::Result<CandidateChoice> {
        if hypotheses.is_empty() {
            bail!("no recognizer hypotheses to translate");
        }
        let translations = self
            .nbest(translator, hypotheses, options)?
            .into_iter()
            .map(|list| {
                let i = list.choose(weight);
                list.candidates
                    .into_iter()
                    .nth(i)
                    .expect("chosen index is in the list")
            })
            .collect();
        Ok(CandidateChoice::among(translations))
    }
}

/// Picks a reranking weight without looking at the sentences it is applied to: the sentences
/// are split into two folds (even and odd positions), the weight that maximises `score` on one
/// fold chooses the outputs of the other. Returns the chosen candidate index of every
/// sentence and the weight each fold received (`[for even, for odd]`).
pub fn cross_validated_choice(
    lists: &[ScoredCandidates],
    weights: &[f64],
    score: impl Fn(&[usize], &[usize]) -> f64,
) -> (Vec<usize>, [f64; 2]) {
    let folds: [Vec<usize>; 2] = [
        (0..lists.len()).step_by(2).collect(),
        (1..lists.len()).step_by(2).collect(),
    ];
    let mut chosen = vec![0; lists.len()];
    let mut applied = [0.0; 2];
    for (target, tune) in [(0, 1), (1, 0)] {
        let mut best = (f64::NEG_INFINITY, weights.first().copied().unwrap_or(0.0));
        for &w in weights {
            let picks: Vec<usize> = folds[tune].iter().map(|&i| lists[i].choose(w)).collect();
            let s = score(&folds[tune], &picks);
            if s > best.0 {
                best = (s, w);
            }
        }
        applied[target] = best.1;
        for &i in &folds[target] {
            chosen[i] = lists[i].choose(best.1);
        }
    }
    (chosen, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(text: &str, score: f64) -> Translation {
        Translation {
            text: text.into(),
            tokens: text.split(' ').map(String::from).collect(),
            log_prob: score,
            score,
        }
    }

    fn list(scores: &[(f64, Option<f64>)]) -> ScoredCandidates {
        ScoredCandidates {
            candidates: scores
                .iter()
                .enumerate()
                .map(|(i, &(s, _))| candidate(&format!("c{i}"), s))
                .collect(),
            reconstruction: scores.iter().map(|&(_, r)| r).collect(),
        }
    }

    #[test]
    fn weight_trades_beam_score_for_reconstruction() {
        let l = list(&[(-1.0, Some(-3.0)), (-1.5, Some(-0.5)), (-4.0, Some(0.0))]);
        assert_eq!(l.choose(0.0), 0);
        // -1.0 - 0.5·3 = -2.5 < -1.5 - 0.25 = -1.75 > -4.0
        assert_eq!(l.choose(0.5), 1);
        assert_eq!(l.choose(10.0), 2);
    }

    #[test]
    fn a_missing_reconstruction_keeps_the_beam_order() {
        let l = list(&[(-1.0, Some(-3.0)), (-1.5, None)]);
        assert_eq!(l.choose(5.0), 0);
    }

    #[test]
    fn cross_validation_tunes_each_fold_on_the_other() {
        // Candidate 1 wins with weight 1, candidate 0 with weight 0. The scorer rewards
        // candidate 1 on even sentences and candidate 0 on odd ones, so the even fold, tuned on
        // the odd one, gets weight 0 and the odd fold weight 1.
        let lists: Vec<ScoredCandidates> = (0..4)
            .map(|_| list(&[(-1.0, Some(-2.0)), (-1.2, Some(-0.5))]))
            .collect();
        let score = |sentences: &[usize], picks: &[usize]| {
            let good = |(&i, &p): (&usize, &usize)| (i % 2 == 0) == (p == 1);
            sentences
                .iter()
                .zip(picks)
                .filter(|&pair| good(pair))
                .count() as f64
        };
        let (chosen, applied) = cross_validated_choice(&lists, &[0.0, 1.0], score);
        assert_eq!(applied, [0.0, 1.0]);
        assert_eq!(chosen, vec![0, 1, 0, 1]);
    }
}
