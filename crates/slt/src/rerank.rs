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
//!
//! A second feature is a fine-tuned LLM's log-probability of the candidate as the reply to
//! the translation prompt for `g` ([`TranslationScorer`], per reply token), weighted by
//! `llm_weight`: the corpus-trained seq2seq proposes, a pretrained language model of the
//! spoken language judges. slt does not depend on the LLM crates; the binary hands in the
//! LoRA-tuned Gemma of signscope-lora through the trait.

use std::path::Path;

use anyhow::bail;

use signscope_metrics::BleuConfig;

use crate::config::{Dataset, Direction};
use crate::translator::{CandidateChoice, DecodeOptions, Translation, Translator};

/// A text→gloss model used to rescore translations.
pub struct ReconstructionReranker {
    reverse: Translator,
}

/// A second opinion on a candidate translation: its log-probability under another model given
/// the glosses, e.g. signscope-lora's `LlmScorer` (the LoRA-tuned LLM with SCOPE's prompt).
pub trait TranslationScorer {
    /// The scorer's folder or name, for messages.
    fn name(&self) -> String;
    /// The corpus it was tuned on; a translator of another corpus is refused.
    fn dataset(&self) -> Dataset;
    /// Scores `texts[i]` as the translation of `glosses[i]`; `None` for a pair the model
    /// cannot take (longer than its context).
    fn score(
        &self,
        glosses: &[&[String]],
        texts: &[&str],
    ) -> anyhow::Result<Vec<Option<ReplyScore>>>;
    /// The scorer's own translation of each gloss sequence (the LLM's greedy reply to the
    /// same prompt), offered to the n-best lists as another system's candidate.
    fn translate(&self, glosses: &[&[String]]) -> anyhow::Result<Vec<String>>;
}

/// Opens a [`TranslationScorer`] from a folder for translations of a corpus, refusing one
/// tuned on another before it loads the weights (the binary passes the LLM scorer's loader).
pub type ScorerLoader<'a> =
    &'a dyn Fn(&Path, Dataset) -> anyhow::Result<Box<dyn TranslationScorer>>;

/// A candidate's score under a [`TranslationScorer`]: the summed log-probability of its reply
/// tokens (the end-of-turn token included) and how many there are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplyScore {
    pub log_prob: f64,
    pub tokens: usize,
}

impl ReplyScore {
    /// The log-probability per reply token: the form weighted in selections, so that one
    /// weight suits short and long sentences (on CSL-Daily it was steadier than the sum).
    pub fn per_token(&self) -> f64 {
        self.log_prob / self.tokens.max(1) as f64
    }
}

/// The models that score a translator's n-best lists besides the translator itself.
#[derive(Clone, Copy, Default)]
pub struct Rescorers<'a> {
    pub reconstruction: Option<&'a ReconstructionReranker>,
    pub llm: Option<&'a dyn TranslationScorer>,
}

impl<'a> Rescorers<'a> {
    /// The reverse model alone.
    pub fn reconstruction(reranker: &'a ReconstructionReranker) -> Self {
        Self {
            reconstruction: Some(reranker),
            llm: None,
        }
    }

    /// Checks that both rescorers suit `translator`.
    pub fn check_pair(&self, translator: &Translator) -> anyhow::Result<()> {
        if let Some(reranker) = self.reconstruction {
            reranker.check_pair(translator)?;
        }
        if let Some(llm) = self.llm {
            if translator.config.data.direction != Direction::GlossToText {
                bail!("LLM rescoring needs a gloss→text translator");
            }
            if llm.dataset() != translator.config.data.dataset {
                bail!(
                    "{} was tuned on {} but the translator on {}",
                    llm.name(),
                    llm.dataset().as_str(),
                    translator.config.data.dataset.as_str()
                );
            }
        }
        Ok(())
    }

    /// Scores `texts[i]` as translations of `glosses[i]` with each rescorer there is
    /// (reconstruction per gloss, LLM per reply), `None`s for one that is absent.
    #[allow(clippy::type_complexity)]
    fn score_texts(
        &self,
        texts: &[&str],
        glosses: &[&Vec<String>],
    ) -> anyhow::Result<(Vec<Option<f64>>, Vec<Option<ReplyScore>>)> {
        let reconstruction = match self.reconstruction {
            Some(reranker) => reranker.per_gloss_scores(texts, glosses)?,
            None => vec![None; texts.len()],
        };
        let llm = match self.llm {
            Some(llm) => llm_scores(llm, texts, glosses)?,
            None => vec![None; texts.len()],
        };
        Ok((reconstruction, llm))
    }

    /// Every candidate of `beams[i]` (translations of `sources[i]`) scored by the rescorers.
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
        let (reconstruction, llm) = self.score_texts(&texts, &glosses)?;
        let (mut reconstruction, mut llm) = (reconstruction.into_iter(), llm.into_iter());
        Ok(beams
            .into_iter()
            .map(|candidates| ScoredCandidates {
                reconstruction: reconstruction.by_ref().take(candidates.len()).collect(),
                llm: llm.by_ref().take(candidates.len()).collect(),
                candidates,
            })
            .collect())
    }

    /// The LLM's own translation of each source, spelled as `translator` writes (so that it
    /// can join the source's n-best list through [`add_candidates`]); asked for in chunks so
    /// that a long run reports its progress.
    pub fn llm_translations(
        &self,
        translator: &Translator,
        sources: &[Vec<String>],
    ) -> anyhow::Result<Vec<String>> {
        let Some(llm) = self.llm else {
            bail!("the LLM's own translations need an LLM (--llm-rescore)");
        };
        let texts = in_chunks(
            llm,
            sources.len(),
            32,
            ("translations", "gloss sequences", "sentences translated"),
            |range| {
                let glosses: Vec<&[String]> = sources[range].iter().map(Vec::as_slice).collect();
                llm.translate(&glosses)
            },
        )?;
        Ok(texts
            .iter()
            .map(|t| translator.spell_as_output(t))
            .collect())
    }
}

/// `llm`'s scores of `texts[i]` for `glosses[i]`.
fn llm_scores(
    llm: &dyn TranslationScorer,
    texts: &[&str],
    glosses: &[&Vec<String>],
) -> anyhow::Result<Vec<Option<ReplyScore>>> {
    in_chunks(
        llm,
        texts.len(),
        256,
        ("scores", "texts", "candidates scored"),
        |range| {
            let g: Vec<&[String]> = glosses[range.clone()]
                .iter()
                .map(|g| g.as_slice())
                .collect();
            llm.score(&g, &texts[range])
        },
    )
}

/// `ask`'s answers for items `0..len`, asked for `chunk` at a time so that a long run (an LLM
/// takes seconds per sentence) reports its progress; each chunk must get one answer per item.
/// `words` name the answers, the items and the progress, e.g. ("scores", "texts",
/// "candidates scored").
fn in_chunks<T>(
    llm: &dyn TranslationScorer,
    len: usize,
    chunk: usize,
    words: (&str, &str, &str),
    mut ask: impl FnMut(std::ops::Range<usize>) -> anyhow::Result<Vec<T>>,
) -> anyhow::Result<Vec<T>> {
    let (answers, items, progress) = words;
    let started = std::time::Instant::now();
    let mut all = Vec::with_capacity(len);
    for begin in (0..len).step_by(chunk) {
        let range = begin..(begin + chunk).min(len);
        let wanted = range.len();
        let got = ask(range)?;
        if got.len() != wanted {
            bail!(
                "{} returned {} {answers} for {wanted} {items}",
                llm.name(),
                got.len()
            );
        }
        all.extend(got);
        if len > chunk {
            eprintln!(
                "{}: {} of {len} {progress}, {:.0} s",
                llm.name(),
                all.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(all)
}

/// One source's n-best list with the reverse model's per-gloss log-probability of each
/// candidate (`None` where the candidate is too long for the reverse model, or without one)
/// and the LLM's score of it (`None` likewise).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCandidates {
    pub candidates: Vec<Translation>,
    pub reconstruction: Vec<Option<f64>>,
    pub llm: Vec<Option<ReplyScore>>,
}

impl ScoredCandidates {
    /// `score(y) + weight · reconstruction(y) + llm_weight · llm(y) / tokens` of every
    /// candidate. A term is left out of the whole list when any candidate lacks it, so that
    /// all are compared on the same terms.
    fn combined(&self, selection: Selection) -> Vec<f64> {
        let with_reconstruction =
            selection.weight != 0.0 && self.reconstruction.iter().all(Option::is_some);
        let with_llm = selection.llm_weight != 0.0 && self.llm.iter().all(Option::is_some);
        self.candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut score = c.score;
                if let (true, Some(r)) = (with_reconstruction, self.reconstruction[i]) {
                    score += selection.weight * r;
                }
                if let (true, Some(l)) = (with_llm, self.llm[i]) {
                    score += selection.llm_weight * l.per_token();
                }
                score
            })
            .collect()
    }

    /// Index of the candidate with the best combined score under reconstruction weight
    /// `weight` alone; ties keep the earlier (beam) order.
    pub fn choose(&self, weight: f64) -> usize {
        self.select(Selection::reconstruction(weight), false)
    }

    /// Index of the candidate picked by `selection`: the best combined score (ties keep the
    /// beam order), or the minimum-Bayes-risk choice under it.
    pub fn select(&self, selection: Selection, char_level: bool) -> usize {
        let combined = self.combined(selection);
        match selection.mbr_temperature {
            None => first_max(&combined),
            Some(t) => self.choose_mbr(&combined, t, char_level),
        }
    }

    /// Minimum-Bayes-risk choice (Kumar & Byrne 2004): the candidate with the highest expected
    /// smoothed sentence BLEU against the list itself, each candidate weighted by
    /// `softmax(combined score / temperature)`. It prefers a translation that shares most of
    /// its words with the other likely ones over a lone best-scoring outlier; as the
    /// temperature goes to 0 it becomes the best combined score. Text is compared at the
    /// level it is scored at (characters for Chinese).
    fn choose_mbr(&self, combined: &[f64], temperature: f64, char_level: bool) -> usize {
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
    /// Weight of the LLM's log-probability per reply token (0: no LLM).
    pub llm_weight: f64,
    /// `None`: the candidate with the best combined score. `Some(t)`: the minimum-Bayes-risk
    /// choice with posterior `softmax(combined / t)` (see [`ScoredCandidates::select`]).
    pub mbr_temperature: Option<f64>,
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "weight {}", self.weight)?;
        if self.llm_weight != 0.0 {
            write!(f, ", LLM weight {}", self.llm_weight)?;
        }
        if let Some(t) = self.mbr_temperature {
            write!(f, ", MBR temperature {t}")?;
        }
        Ok(())
    }
}

impl Selection {
    /// The combined score with reconstruction weight `weight`, no LLM, no MBR.
    pub fn reconstruction(weight: f64) -> Self {
        Self {
            weight,
            llm_weight: 0.0,
            mbr_temperature: None,
        }
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

/// The finished beam of each source, scored by the rescorers there are (without any, every
/// extra score is `None` and selections use the beam scores alone).
pub fn nbest_lists(
    translator: &Translator,
    rescorers: Rescorers,
    sources: &[Vec<String>],
    options: DecodeOptions,
) -> anyhow::Result<Vec<ScoredCandidates>> {
    rescorers.score_beams(sources, translator.translate_nbest(sources, options)?)
}

/// Adds `texts[i]` (e.g. a text-correction model's rewrite of the chosen translation) to
/// `lists[i]` as one more candidate, scored as beam search scores its own hypotheses
/// (`log P(text | glosses) / lp(length + EOS)` at `options.alpha`) and by the rescorers, so
/// that a selection can take or leave it on the translator's terms. A text the list already
/// holds is not added twice. Returns how many were added.
pub fn add_candidates(
    translator: &Translator,
    rescorers: Rescorers,
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
    let new_texts: Vec<&str> = new.iter().map(|&i| texts[i].as_str()).collect();
    let new_glosses: Vec<&Vec<String>> = glosses.iter().collect();
    let (reconstruction, llm) = rescorers.score_texts(&new_texts, &new_glosses)?;
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
        lists[i].llm.push(llm[k]);
        added += 1;
    }
    Ok(added)
}

/// The outcome of [`translate_candidates_selected`].
pub struct SelectedTranslations {
    /// The translation picked for each recognizer hypothesis, and which of them is best.
    pub choice: CandidateChoice,
    /// Each hypothesis's scored n-best list, the LLM's translation included where it was
    /// added.
    pub lists: Vec<ScoredCandidates>,
    /// The LLM's own translation of each hypothesis (empty without `llm_candidates`).
    pub llm_translations: Vec<String>,
}

/// [`Translator::translate_candidates`] with each recognizer hypothesis's translation picked
/// from its n-best list by `selection`; with `llm_candidates`, the LLM's own translation of
/// each hypothesis joins its list first (system combination).
pub fn translate_candidates_selected(
    translator: &Translator,
    rescorers: Rescorers,
    hypotheses: &[Vec<String>],
    options: DecodeOptions,
    selection: Selection,
    llm_candidates: bool,
) -> anyhow::Result<SelectedTranslations> {
    if hypotheses.is_empty() {
        bail!("no recognizer hypotheses to translate");
    }
    let char_level = translator.target_is_char_level();
    let mut lists = nbest_lists(translator, rescorers, hypotheses, options)?;
    let mut llm_translations = Vec::new();
    if llm_candidates {
        llm_translations = rescorers.llm_translations(translator, hypotheses)?;
        add_candidates(
            translator,
            rescorers,
            hypotheses,
            &mut lists,
            &llm_translations,
            options,
        )?;
    }
    let translations = lists
        .iter()
        .map(|list| list.candidates[list.select(selection, char_level)].clone())
        .collect();
    Ok(SelectedTranslations {
        choice: CandidateChoice::among(translations),
        lists,
        llm_translations,
    })
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
            llm: vec![None; scores.len()],
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

    fn reply(log_prob: f64, tokens: usize) -> Option<ReplyScore> {
        Some(ReplyScore { log_prob, tokens })
    }

    #[test]
    fn llm_weight_adds_the_per_token_log_probability() {
        let mut l = list(&[(-1.0, Some(-2.0)), (-1.2, Some(-0.5)), (-1.5, Some(-0.5))]);
        // Per token: -3.0, -1.0, -0.5 (the last one's sum is the lowest).
        l.llm = vec![reply(-6.0, 2), reply(-4.0, 4), reply(-4.5, 9)];
        let llm = |llm_weight: f64, weight: f64| Selection {
            llm_weight,
            ..Selection::reconstruction(weight)
        };
        assert_eq!(l.select(llm(0.0, 0.0), false), 0);
        // -1.0 - 0.3·3 = -1.9 < -1.2 - 0.3 = -1.5 > -1.5 - 0.15 = -1.65
        assert_eq!(l.select(llm(0.3, 0.0), false), 1);
        // -1.2 - 2 = -3.2 < -1.5 - 1 = -2.5
        assert_eq!(l.select(llm(2.0, 0.0), false), 2);
        // With reconstruction 1: -4.0 - 0.3·3, -1.7 - 0.3, -2.0 - 0.15 → candidate 1.
        assert_eq!(l.select(llm(0.3, 1.0), false), 1);
        assert_eq!(llm(0.3, 1.0).to_string(), "weight 1, LLM weight 0.3");
        // One candidate the LLM could not score: the term is dropped for the whole list,
        // the reconstruction term stays.
        l.llm[0] = None;
        assert_eq!(l.select(llm(2.0, 0.0), false), 0);
        assert_eq!(l.select(llm(2.0, 1.0), false), 1);
    }

    /// Scores a text by minus its length in characters, over as many "tokens" as glosses.
    struct LengthScorer;

    impl TranslationScorer for LengthScorer {
        fn name(&self) -> String {
            "length scorer".into()
        }
        fn dataset(&self) -> Dataset {
            Dataset::Phoenix2014t
        }
        fn score(
            &self,
            glosses: &[&[String]],
            texts: &[&str],
        ) -> anyhow::Result<Vec<Option<ReplyScore>>> {
            Ok(glosses
                .iter()
                .zip(texts)
                .map(|(g, t)| {
                    (t.len() < 10).then_some(ReplyScore {
                        log_prob: -(t.len() as f64),
                        tokens: g.len(),
                    })
                })
                .collect())
        }
        fn translate(&self, glosses: &[&[String]]) -> anyhow::Result<Vec<String>> {
            Ok(glosses.iter().map(|g| g.join(" ").to_lowercase()).collect())
        }
    }

    #[test]
    fn rescorers_score_every_candidate_of_every_beam() {
        let sources = vec![vec!["A".to_string()], vec!["B".into(), "C".into()]];
        let beams = vec![
            vec![candidate("ab", -1.0), candidate("abcdefghijk", -2.0)],
            vec![candidate("abc", -1.0)],
        ];
        let rescorers = Rescorers {
            reconstruction: None,
            llm: Some(&LengthScorer),
        };
        let lists = rescorers.score_beams(&sources, beams).unwrap();
        assert_eq!(lists[0].llm, vec![reply(-2.0, 1), None]);
        assert_eq!(lists[1].llm, vec![reply(-3.0, 2)]);
        assert_eq!(lists[1].reconstruction, vec![None]);
        let err = rescorers
            .score_beams(&sources[..1], vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 sources and 0 beams"), "{err}");
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
            llm: vec![None; candidates.len()],
        }
    }

    fn mbr(temperature: f64) -> Selection {
        Selection {
            mbr_temperature: Some(temperature),
            ..Selection::reconstruction(0.0)
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
        assert_eq!(l.select(mbr(1.0), false), 1);
        let cold = mbr(0.001);
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
        assert_eq!(l.select(mbr(1.0), false), 0);
        assert_eq!(l.select(mbr(1.0), true), 1);
    }
}
