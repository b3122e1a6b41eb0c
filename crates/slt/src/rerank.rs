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

use signscope_metrics::BleuConfig;

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
    /// `score(y) + weight · reconstruction(y)` of every candidate; the beam scores alone when
    /// any candidate lacks a reconstruction score, so that all are compared on the same terms.
    fn combined(&self, weight: f64) -> Vec<f64> {
        let complete = self.reconstruction.iter().all(Option::is_some);
        self.candidates
            .iter()
            .zip(&self.reconstruction)
            .map(|(c, r)| match (complete, r) {
                (true, Some(r)) => c.score + weight * r,
                _ => c.score,
            })
            .collect()
    }

    /// Index of the candidate with the best combined score; ties keep the earlier (beam)
    /// order. When any candidate lacks a reconstruction score the beam's own best is kept.
    pub fn choose(&self, weight: f64) -> usize {
        first_max(&self.combined(weight))
    }

    /// Index of the candidate picked by `selection`.
    pub fn select(&self, selection: Selection, char_level: bool) -> usize {
        match selection.mbr_temperature {
            None => self.choose(selection.weight),
            Some(t) => self.choose_mbr(selection.weight, t, char_level),
        }
    }

    /// Minimum-Bayes-risk choice (Kumar & Byrne 2004): the candidate with the highest expected
    /// smoothed sentence BLEU against the list itself, each candidate weighted by
    /// `softmax(combined score / temperature)`. It prefers a translation that shares most of
    /// its words with the other likely ones over a lone best-scoring outlier; as the
    /// temperature goes to 0 it becomes [`Self::choose`]. Text is compared at the level it is
    /// scored at (characters for Chinese).
    pub fn choose_mbr(&self, weight: f64, temperature: f64, char_level: bool) -> usize {
        let combined = self.combined(weight);
        let top = combined.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let posterior: Vec<f64> = combined
            .iter()
            .map(|s| ((s - top) / temperature.max(1e-9)).exp())
            .collect();
        let bleu = BleuConfig {
            char_level,
            lowercase: true,
            ..BleuConfig::signjoey()
        };
        let expected: Vec<f64> = self
            .candidates
            .iter()
            .map(|hypothesis| {
                self.candidates
                    .iter()
                    .zip(&posterior)
                    .map(|(pseudo_reference, p)| {
                        p * bleu
                            .sentence_stats(&hypothesis.text, &pseudo_reference.text)
                            .smoothed_sentence_bleu()
                    })
                    .sum()
            })
            .collect();
        first_max(&expected)
    }
}

/// Index of the first largest value (0 for an empty slice).
fn first_max(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// How one translation is picked from a scored n-best list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    /// Weight of the reconstruction score (0: the translator's own beam score alone).
    pub weight: f64,
    /// `None`: the candidate with the best combined score. `Some(t)`: the minimum-Bayes-risk
    /// choice with posterior `softmax(combined / t)` ([`ScoredCandidates::choose_mbr`]).
    pub mbr_temperature: Option<f64>,
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "weight {}", self.weight)?;
        if let Some(t) = self.mbr_temperature {
            write!(f, ", MBR temperature {t}")?;
        }
        Ok(())
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

    /// Scores every candidate of `beams[i]` (translations of `sources[i]`) with the reverse
    /// model.
    pub fn score_beams(
        &self,
        sources: &[Vec<String>],
        beams: Vec<Vec<Translation>>,
    ) -> anyhow::Result<Vec<ScoredCandidates>> {
        if sources.len() != beams.len() {
            bail!(
                "{} sources and {} beams to score",
                sources.len(),
                beams.len()
            );
        }
        let (mut texts, mut glosses) = (Vec::new(), Vec::new());
        for (source, candidates) in sources.iter().zip(&beams) {
            for candidate in candidates {
                texts.push(candidate.text.as_str());
                glosses.push(source);
            }
        }
        let mut scores = self.per_gloss_scores(&texts, &glosses)?.into_iter();
        Ok(beams
            .into_iter()
            .map(|candidates| ScoredCandidates {
                reconstruction: scores.by_ref().take(candidates.len()).collect(),
                candidates,
            })
            .collect())
    }

    /// `log P(glosses[i] | texts[i]) / (|glosses[i]| + 1)` under the reverse model; `None`
    /// for a pair too long for it.
    fn per_gloss_scores(
        &self,
        texts: &[&str],
        glosses: &[&Vec<String>],
    ) -> anyhow::Result<Vec<Option<f64>>> {
        let sources: Vec<Vec<String>> = texts
            .iter()
            .map(|t| self.reverse.tokenize_source(t))
            .collect();
        let targets: Vec<Vec<String>> = glosses.iter().map(|g| g.to_vec()).collect();
        Ok(self
            .reverse
            .log_probs(&sources, &targets)?
            .into_iter()
            .zip(glosses)
            .map(|(lp, g)| lp.map(|lp| lp / (g.len() + 1) as f64))
            .collect())
    }
}

/// The finished beam of each source, scored by `reranker` when there is one (without one,
/// every reconstruction score is `None` and selections use the beam scores alone).
pub fn nbest_lists(
    translator: &Translator,
    reranker: Option<&ReconstructionReranker>,
    sources: &[Vec<String>],
    options: DecodeOptions,
) -> anyhow::Result<Vec<ScoredCandidates>> {
    scored_beams(
        reranker,
        sources,
        translator.translate_nbest(sources, options)?,
    )
}

/// `beams` (the finished beams of `sources`) scored by `reranker`, or unscored without one.
pub fn scored_beams(
    reranker: Option<&ReconstructionReranker>,
    sources: &[Vec<String>],
    beams: Vec<Vec<Translation>>,
) -> anyhow::Result<Vec<ScoredCandidates>> {
    match reranker {
        Some(reranker) => reranker.score_beams(sources, beams),
        None => Ok(beams
            .into_iter()
            .map(|candidates| ScoredCandidates {
                reconstruction: vec![None; candidates.len()],
                candidates,
            })
            .collect()),
    }
}

/// Adds `texts[i]` (e.g. a text-correction model's rewrite of the chosen translation) to
/// `lists[i]` as one more candidate, scored as beam search scores its own hypotheses
/// (`log P(text | glosses) / lp(length + EOS)` at `options.alpha`) and, with a reranker, by
/// reconstruction, so that a selection can take or leave it on the translator's terms. A
/// text the list already holds is not added twice. Returns how many were added.
pub fn add_candidates(
    translator: &Translator,
    reranker: Option<&ReconstructionReranker>,
    sources: &[Vec<String>],
    lists: &mut [ScoredCandidates],
    texts: &[String],
    options: DecodeOptions,
) -> anyhow::Result<usize> {
    if sources.len() != lists.len() || texts.len() != lists.len() {
        bail!(
            "{} sources, {} n-best lists and {} texts to add",
            sources.len(),
            lists.len(),
            texts.len()
        );
    }
    let new: Vec<usize> = (0..lists.len())
        .filter(|&i| lists[i].candidates.iter().all(|c| c.text != texts[i]))
        .collect();
    let tokens: Vec<Vec<String>> = new
        .iter()
        .map(|&i| translator.tokenize_target(&texts[i]))
        .collect();
    let glosses: Vec<Vec<String>> = new.iter().map(|&i| sources[i].clone()).collect();
    let log_probs = translator.log_probs(&glosses, &tokens)?;
    let reconstruction = match reranker {
        Some(reranker) => {
            let new_texts: Vec<&str> = new.iter().map(|&i| texts[i].as_str()).collect();
            let new_glosses: Vec<&Vec<String>> = glosses.iter().collect();
            reranker.per_gloss_scores(&new_texts, &new_glosses)?
        }
        None => vec![None; new.len()],
    };
    let mut added = 0;
    for (k, &i) in new.iter().enumerate() {
        let Some(log_prob) = log_probs[k] else {
            continue;
        };
        let length = tokens[k].len() + 1;
        lists[i].candidates.push(Translation {
            text: texts[i].clone(),
            tokens: tokens[k].clone(),
            log_prob,
            score: signscope_nn::search::normalized_score(log_prob, length, options.alpha),
        });
        lists[i].reconstruction.push(reconstruction[k]);
        added += 1;
    }
    Ok(added)
}

/// [`Translator::translate_candidates`] with each recognizer hypothesis's translation picked
/// from its n-best list by `selection`.
pub fn translate_candidates_selected(
    translator: &Translator,
    reranker: Option<&ReconstructionReranker>,
    hypotheses: &[Vec<String>],
    options: DecodeOptions,
    selection: Selection,
) -> anyhow::Result<CandidateChoice> {
    if hypotheses.is_empty() {
        bail!("no recognizer hypotheses to translate");
    }
    let char_level = translator.target_is_char_level();
    let translations = nbest_lists(translator, reranker, hypotheses, options)?
        .into_iter()
        .map(|list| {
            let i = list.select(selection, char_level);
            list.candidates
                .into_iter()
                .nth(i)
                .expect("chosen index is in the list")
        })
        .collect();
    Ok(CandidateChoice::among(translations))
}

/// Picks a selection (a reranking weight, an MBR temperature) without looking at the
/// sentences it is applied to: the sentences are split into two folds (even and odd
/// positions), and the selection that maximises `score` on one fold chooses the outputs of the
/// other (the first of equally good selections). Returns the chosen candidate index of every
/// sentence and the selection each fold received (`[for even, for odd]`).
pub fn cross_validated_choice<L, S: Copy>(
    lists: &[L],
    selections: &[S],
    pick: impl Fn(&L, S) -> usize,
    score: impl Fn(&[usize], &[usize]) -> f64,
) -> (Vec<usize>, [S; 2]) {
    assert!(!selections.is_empty(), "no selections to choose from");
    let folds: [Vec<usize>; 2] = [
        (0..lists.len()).step_by(2).collect(),
        (1..lists.len()).step_by(2).collect(),
    ];
    let mut chosen = vec![0; lists.len()];
    let mut applied = [selections[0]; 2];
    for (target, tune) in [(0, 1), (1, 0)] {
        let mut best = (f64::NEG_INFINITY, selections[0]);
        for &selection in selections {
            let picks: Vec<usize> = folds[tune]
                .iter()
                .map(|&i| pick(&lists[i], selection))
                .collect();
            let s = score(&folds[tune], &picks);
            if s > best.0 {
                best = (s, selection);
            }
        }
        applied[target] = best.1;
        for &i in &folds[target] {
            chosen[i] = pick(&lists[i], best.1);
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
        let (chosen, applied) =
            cross_validated_choice(&lists, &[0.0, 1.0], |l, w| l.choose(w), score);
        assert_eq!(applied, [0.0, 1.0]);
        assert_eq!(chosen, vec![0, 1, 0, 1]);
    }

    fn texts(candidates: &[(&str, f64)]) -> ScoredCandidates {
        ScoredCandidates {
            candidates: candidates.iter().map(|&(t, s)| candidate(t, s)).collect(),
            reconstruction: vec![None; candidates.len()],
        }
    }

    #[test]
    fn mbr_prefers_the_consensus_and_tends_to_argmax_when_cold() {
        // The best-scoring candidate shares no words with the three others, which agree on
        // four of their five words.
        let l = texts(&[
            ("der wind weht heute stark", -1.0),
            ("morgen regnet es im sueden", -1.1),
            ("morgen regnet es im norden", -1.1),
            ("morgen regnet es im osten", -1.2),
        ]);
        assert_eq!(l.choose(0.0), 0);
        assert_eq!(l.choose_mbr(0.0, 1.0, false), 1);
        assert_eq!(l.choose_mbr(0.0, 0.001, false), 0);
        let cold = Selection {
            weight: 0.0,
            mbr_temperature: Some(0.001),
        };
        assert_eq!(l.select(cold, false), 0);
        assert_eq!(cold.to_string(), "weight 0, MBR temperature 0.001");
    }

    #[test]
    fn mbr_compares_chinese_per_character() {
        // Word level, the three sentences share no token; per character the last two agree.
        let l = texts(&[
            ("今天下雨", -1.0),
            ("明天天气好", -1.05),
            ("明天天气很好", -1.05),
        ]);
        assert_eq!(l.choose_mbr(0.0, 1.0, false), 0);
        assert_eq!(l.choose_mbr(0.0, 1.0, true), 1);
    }
}
