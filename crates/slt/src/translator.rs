//! The gloss→text translator: training task, model directory, and inference API.
//!
//! A model directory holds `config.toml` (the run configuration), `source_vocab.txt`,
//! `target_vocab.txt` and `model.bpk` (the parameters chosen after training: the better of
//! the best dev checkpoint and the average of the last checkpoints).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use signscope_corpus::Split;
use signscope_nn::burn::prelude::*;
use signscope_nn::checkpoint::{Storage, load_model, save_model, save_model_as};
use signscope_nn::loss::{TokenLoss, label_smoothed_cross_entropy};
use signscope_nn::search::{
    SearchConfig, beam_search_ensemble, greedy_search_ensemble, score_targets_ensemble,
};
use signscope_nn::seq2seq::{Seq2Seq, TokenBatch};
use signscope_nn::train::{
    Evaluation, TrainReport, TrainTask, averaged_model_path, best_model_path, train,
};
use signscope_nn::vocab::{BOS_ID, EOS_ID, PAD_ID, Vocabulary};

use crate::config::{DataConfig, Direction, SltConfig, TextLevel};
use crate::data::{
    Example, detokenize_text, epoch_batches, load_extra_train, load_split, model_source_tokens,
    tokenize_glosses, tokenize_text,
};
use crate::noise::{inject_errors, mask_unknown, restore_unknown};
use crate::subword::{Bpe, join_subwords};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use signscope_metrics::{BleuConfig, RougeVariant, corpus_bleu, corpus_rouge};

pub const CONFIG_FILE: &str = "config.toml";
pub const SOURCE_VOCAB_FILE: &str = "source_vocab.txt";
pub const TARGET_VOCAB_FILE: &str = "target_vocab.txt";
/// The target side's subword merges, present when `data.target_subwords > 0`.
pub const TARGET_BPE_FILE: &str = "target_bpe.txt";
pub const MODEL_FILE: &str = "model.bpk";

/// Length-penalty exponent for choosing among the translations of several hypotheses.
const RANK_ALPHA: f64 = 1.0;

/// Decoding settings for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// 1 = greedy search.
    pub beam_size: usize,
    /// GNMT length-penalty exponent.
    pub alpha: f64,
}

/// One translation with the model's own scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    pub text: String,
    pub tokens: Vec<String>,
    /// Sum of token log-probabilities (EOS included).
    pub log_prob: f64,
    /// Length-normalised score `log_prob / lp(n)` that beam search ranks by.
    pub score: f64,
}

/// Result of translating several recognizer hypotheses of the same sign sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateChoice {
    /// Index of the chosen hypothesis.
    pub chosen: usize,
    /// One translation per hypothesis, in input order.
    pub translations: Vec<Translation>,
}

impl CandidateChoice {
    /// Picks the translation of the hypothesis the translator finds most plausible (see
    /// [`Translator::translate_candidates`]).
    pub fn among(translations: Vec<Translation>) -> Self {
        // Ranked with α = 1 whatever α decoding used: a large decoding α (which fights short
        // outputs inside one beam) would otherwise make the longest translation win across
        // hypotheses, however unlikely its glosses.
        let rank = |t: &Translation| {
            signscope_nn::search::normalized_score(t.log_prob, t.tokens.len() + 1, RANK_ALPHA)
        };
        let mut chosen = 0;
        for (i, t) in translations.iter().enumerate() {
            if rank(t) > rank(&translations[chosen]) {
                chosen = i;
            }
        }
        Self {
            chosen,
            translations,
        }
    }
}

/// Dev-set scores with signjoey's scorers from `signscope-metrics`: sacrebleu 1.4.2
/// `raw_corpus_bleu` (lower-cased, whitespace tokens, no tokenizer) and mscoco ROUGE-L
/// (β = 1.2); character-level text is scored on `' '.join(list(s))` as for CSL-Daily.
#[derive(Debug, Clone, PartialEq)]
pub struct DevScores {
    pub bleu: [f64; 4],
    pub rouge_l: f64,
    pub sentences: usize,
    pub hypotheses: Vec<String>,
    pub references: Vec<String>,
}

impl DevScores {
    pub fn summary(&self) -> String {
        format!(
            "BLEU-1 {:.2} BLEU-2 {:.2} BLEU-3 {:.2} BLEU-4 {:.2} ROUGE-L {:.2} ({} sentences)",
            self.bleu[0], self.bleu[1], self.bleu[2], self.bleu[3], self.rouge_l, self.sentences
        )
    }
}

/// A trained translation model ready for inference.
pub struct Translator {
    pub config: SltConfig,
    /// The model, then any ensemble members ([`Translator::with_ensemble`]); search and
    /// scoring use their mean next-token distribution.
    models: Vec<Seq2Seq>,
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
    /// Subword merges of the target text (`data.target_subwords`); the vocabulary then holds
    /// pieces, while every text and token list the translator hands out holds whole words.
    target_bpe: Option<Bpe>,
    device: Device,
}

/// The subword merges of the model directory `dir`, when its config asks for them.
fn load_target_bpe(dir: &Path, config: &SltConfig) -> anyhow::Result<Option<Bpe>> {
    if config.data.target_subwords == 0 {
        return Ok(None);
    }
    Ok(Some(Bpe::load(&dir.join(TARGET_BPE_FILE))?))
}

/// Target words → ids, split into subwords first when the model uses them.
fn encode_target(vocab: &Vocabulary, bpe: Option<&Bpe>, words: &[String]) -> Vec<u32> {
    match bpe {
        Some(bpe) => vocab.encode(&bpe.segment(words)),
        None => vocab.encode(words),
    }
}

fn search_config(model: &SltConfig, beam_size: usize, alpha: f64) -> SearchConfig {
    SearchConfig {
        beam_size,
        alpha,
        bos_id: BOS_ID,
        eos_id: EOS_ID,
        pad_id: PAD_ID,
        // Text is up to ~3× longer than its glosses (characters for Chinese); glosses are shorter.
        // Subword pieces outnumber the words they spell.
        max_length_a: match model.data.direction {
            Direction::GlossToText if model.data.target_subwords > 0 => 4.5,
            Direction::GlossToText => 3.0,
            Direction::TextToGloss | Direction::TextCorrection => 1.5,
        },
        max_length_b: 10,
    }
}

impl Translator {
    /// Loads `dir/config.toml`, the two vocabularies and `dir/model.bpk`. A bare name that is
    /// not a folder here (e.g. `csl_daily_g2t`) names a committed model: see
    /// [`bundled_model_dir`].
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Self::load_with(dir, &dir.join(MODEL_FILE))
    }

    /// [`Self::load`] with the parameters read from `model_file` (e.g. a checkpoint).
    pub fn load_with(dir: &Path, model_file: &Path) -> anyhow::Result<Self> {
        let bundled;
        let (dir, model_file) = if !dir.is_dir() && is_bare_name(dir) {
            bundled = bundled_model_dir(&dir.to_string_lossy())
                .with_context(|| format!("{}: model directory not found", dir.display()))?;
            let file = match model_file.strip_prefix(dir) {
                Ok(rest) => bundled.join(rest),
                Err(_) => model_file.to_path_buf(),
            };
            (bundled.as_path(), file)
        } else {
            (dir, model_file.to_path_buf())
        };
        let model_file = model_file.as_path();
        if !dir.is_dir() {
            bail!("{}: model directory not found", dir.display());
        }
        let config = SltConfig::load(&dir.join(CONFIG_FILE))?;
        let source_vocab = Vocabulary::load(&dir.join(SOURCE_VOCAB_FILE))?;
        let target_vocab = Vocabulary::load(&dir.join(TARGET_VOCAB_FILE))?;
        if config.model.tie_source_embedding && source_vocab != target_vocab {
            bail!(
                "{}: model.tie_source_embedding needs {SOURCE_VOCAB_FILE} and {TARGET_VOCAB_FILE} to be one vocabulary; they differ ({} and {} tokens)",
                dir.display(),
                source_vocab.len(),
                target_vocab.len()
            );
        }
        let device = signscope_nn::cpu_device();
        let template = Seq2Seq::new(
            &config.model,
            source_vocab.len(),
            target_vocab.len(),
            &device,
        );
        let model = load_model(template, model_file)?;
        let target_bpe = load_target_bpe(dir, &config)?;
        Ok(Self {
            config,
            models: vec![model],
            source_vocab,
            target_vocab,
            target_bpe,
            device,
        })
    }

    /// [`load`](Self::load), refusing a model trained for another direction (so a wrong
    /// folder fails before any work is done).
    pub fn load_expecting(dir: &Path, direction: Direction) -> anyhow::Result<Self> {
        let translator = Self::load(dir)?;
        if translator.config.data.direction != direction {
            bail!(
                "{}: this model has data.direction = \"{}\"; \"{}\" is needed here",
                dir.display(),
                translator.config.data.direction.as_str(),
                direction.as_str()
            );
        }
        Ok(translator)
    }

    /// Adds the models in `dirs` as ensemble members: from then on beam search, greedy search
    /// and [`Self::log_probs`] use the mean next-token distribution of this model and theirs.
    /// Each member must translate the same way (direction, text level, case) with the same
    /// source and target vocabularies, i.e. be trained on the same data; its architecture may
    /// differ.
    pub fn with_ensemble(mut self, dirs: &[PathBuf]) -> anyhow::Result<Self> {
        for dir in dirs {
            let member = Self::load(dir)?;
            let (ours, theirs) = (&self.config.data, &member.config.data);
            if (ours.direction, ours.text_level, ours.lowercase_text)
                != (theirs.direction, theirs.text_level, theirs.lowercase_text)
            {
                bail!(
                    "{}: an ensemble member must translate like the first model ({} at {:?} level, lowercase {}); it has {} at {:?} level, lowercase {}",
                    dir.display(),
                    ours.direction.as_str(),
                    ours.text_level,
                    ours.lowercase_text,
                    theirs.direction.as_str(),
                    theirs.text_level,
                    theirs.lowercase_text
                );
            }
            for (what, ours, theirs) in [
                ("source", &self.source_vocab, &member.source_vocab),
                ("target", &self.target_vocab, &member.target_vocab),
            ] {
                if ours != theirs {
                    bail!(
                        "{}: an ensemble member needs the first model's {what} vocabulary ({} tokens); it has another ({} tokens), so it was trained on other data",
                        dir.display(),
                        ours.len(),
                        theirs.len()
                    );
                }
            }
            if self.target_bpe != member.target_bpe {
                bail!(
                    "{}: an ensemble member needs the first model's target subwords ({} merges); it has {} merges",
                    dir.display(),
                    self.target_bpe.as_ref().map_or(0, Bpe::len),
                    member.target_bpe.as_ref().map_or(0, Bpe::len)
                );
            }
            self.models.extend(member.models);
        }
        Ok(self)
    }

    /// How many models decode together (1 without an ensemble).
    pub fn ensemble_size(&self) -> usize {
        self.models.len()
    }

    fn max_positions(&self) -> usize {
        self.models
            .iter()
            .map(Seq2Seq::max_positions)
            .min()
            .unwrap_or(1)
    }

    pub fn default_options(&self) -> DecodeOptions {
        DecodeOptions {
            beam_size: self.config.training.beam_size,
            alpha: self.config.training.beam_alpha,
        }
    }

    /// Splits a source string the way training did (glosses verbatim, or text per `text_level`).
    pub fn tokenize_source(&self, source: &str) -> Vec<String> {
        self.tokenize(source, self.config.data.direction == Direction::GlossToText)
    }

    /// Splits a target string the way training did: the form [`Self::log_probs`] scores.
    pub fn tokenize_target(&self, target: &str) -> Vec<String> {
        self.tokenize(target, self.config.data.direction == Direction::TextToGloss)
    }

    /// `text` (e.g. another system's translation) spelled the way this translator writes.
    pub fn spell_as_output(&self, text: &str) -> String {
        crate::data::spell_as_output(
            text,
            self.config.data.text_level,
            self.config.data.lowercase_text,
        )
    }

    fn tokenize(&self, s: &str, glosses: bool) -> Vec<String> {
        if glosses {
            tokenize_glosses(s)
        } else {
            tokenize_text(
                s,
                self.config.data.text_level,
                self.config.data.lowercase_text,
            )
        }
    }

    fn detokenize_target(&self, tokens: &[String]) -> String {
        match self.config.data.direction {
            Direction::GlossToText | Direction::TextCorrection => {
                detokenize_text(tokens, self.config.data.text_level)
            }
            Direction::TextToGloss => tokens.join(" "),
        }
    }

    /// `translate("MORGEN REGEN")` → "morgen regnet es" (with the default beam).
    pub fn translate(&self, source: &str) -> anyhow::Result<String> {
        let tokens = self.tokenize_source(source);
        Ok(self
            .translate_batch(&[tokens], self.default_options())?
            .remove(0)
            .text)
    }

    /// Translates tokenized sources; sources longer than the model's position table are refused.
    pub fn translate_batch(
        &self,
        sources: &[Vec<String>],
        options: DecodeOptions,
    ) -> anyhow::Result<Vec<Translation>> {
        Ok(self
            .translate_nbest(sources, options)?
            .into_iter()
            .map(|mut nbest| nbest.swap_remove(0))
            .collect())
    }

    /// The finished beam of each source, best first (up to `beam_size` translations; greedy
    /// search gives one).
    pub fn translate_nbest(
        &self,
        sources: &[Vec<String>],
        options: DecodeOptions,
    ) -> anyhow::Result<Vec<Vec<Translation>>> {
        let ids = self.encode_sources(sources)?;
        let search = search_config(&self.config, options.beam_size.max(1), options.alpha);
        let nbest = if options.beam_size <= 1 {
            greedy_search_ensemble(&self.models, &ids, &search, &self.device)
                .into_iter()
                .map(|h| vec![h])
                .collect()
        } else {
            beam_search_ensemble(&self.models, &ids, &search, &self.device)
        };
        Ok(nbest
            .into_iter()
            .map(|hyps| {
                hyps.into_iter()
                    .map(|h| {
                        let tokens = self.target_vocab.decode(&h.tokens);
                        let tokens = match self.target_bpe {
                            Some(_) => join_subwords(&tokens),
                            None => tokens,
                        };
                        Translation {
                            text: self.detokenize_target(&tokens),
                            tokens,
                            log_prob: h.log_prob,
                            score: h.score,
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Source tokens as written (glosses, or text) → the model's ids, EOS appended.
    fn source_ids(&self, source: &[String]) -> Vec<u32> {
        self.source_vocab
            .encode(&model_source_tokens(&self.config.data, source))
    }

    fn encode_sources(&self, sources: &[Vec<String>]) -> anyhow::Result<Vec<Vec<u32>>> {
        let limit = self.max_positions() - 1;
        let ids: Vec<Vec<u32>> = sources.iter().map(|s| self.source_ids(s)).collect();
        if let Some((i, s)) = ids.iter().enumerate().find(|(_, s)| s.len() > limit) {
            bail!(
                "source {} has {} tokens; this model accepts at most {}",
                i + 1,
                s.len() - 1,
                limit - 1
            );
        }
        Ok(ids)
    }

    /// Teacher-forced `log P(target | source)` (EOS counted) of each pair of token sequences,
    /// in batches of 64; `None` for a pair too long for the model's position table.
    pub fn log_probs(
        &self,
        sources: &[Vec<String>],
        targets: &[Vec<String>],
    ) -> anyhow::Result<Vec<Option<f64>>> {
        if sources.len() != targets.len() {
            bail!(
                "{} sources but {} targets to score",
                sources.len(),
                targets.len()
            );
        }
        let limit = self.max_positions() - 1;
        let search = search_config(&self.config, 1, 0.0);
        let mut scores = vec![None; sources.len()];
        let all_source_ids: Vec<Vec<u32>> = sources.iter().map(|s| self.source_ids(s)).collect();
        let fits: Vec<usize> = (0..sources.len())
            .filter(|&i| all_source_ids[i].len() <= limit && targets[i].len() < limit)
            .collect();
        for chunk in fits.chunks(64) {
            let source_ids: Vec<Vec<u32>> =
                chunk.iter().map(|&i| all_source_ids[i].clone()).collect();
            let target_ids: Vec<Vec<u32>> = chunk
                .iter()
                .map(|&i| {
                    let mut ids =
                        encode_target(&self.target_vocab, self.target_bpe.as_ref(), &targets[i]);
                    ids.pop(); // score_targets appends EOS itself
                    ids
                })
                .collect();
            let lp = score_targets_ensemble(
                &self.models,
                &source_ids,
                &target_ids,
                &search,
                &self.device,
            );
            for (&i, lp) in chunk.iter().zip(lp) {
                scores[i] = Some(lp);
            }
        }
        Ok(scores)
    }

    /// Translates each of the recognizer's hypotheses (e.g. its top 3) and picks the one whose
    /// translation the model scores highest by its own length-normalised log-probability
    /// `log P(text | glosses) / lp(|text|)` with α = 1. The recognizer's own scores are not mixed in: a
    /// hypothesis the translator finds easy to render fluently is taken as the more plausible
    /// gloss sequence. Ties keep the earlier (higher-ranked) hypothesis.
    pub fn translate_candidates(
        &self,
        hypotheses: &[Vec<String>],
        options: DecodeOptions,
    ) -> anyhow::Result<CandidateChoice> {
        if hypotheses.is_empty() {
            bail!("no recognizer hypotheses to translate");
        }
        let translations = self.translate_batch(hypotheses, options)?;
        Ok(CandidateChoice::among(translations))
    }

    /// Translates a whole split and scores it against the references.
    pub fn evaluate(
        &self,
        examples: &[Example],
        options: DecodeOptions,
        batch_size: usize,
    ) -> anyhow::Result<DevScores> {
        let mut hypotheses = Vec::with_capacity(examples.len());
        for chunk in examples.chunks(batch_size.max(1)) {
            let sources: Vec<Vec<String>> = chunk.iter().map(|e| e.source.clone()).collect();
            hypotheses.extend(
                self.translate_batch(&sources, options)?
                    .into_iter()
                    .map(|t| t.text),
            );
        }
        Ok(self.score_against(examples, hypotheses))
    }

    /// Scores `hypotheses` (one per example) against the examples' references.
    pub fn score_against(&self, examples: &[Example], hypotheses: Vec<String>) -> DevScores {
        let references: Vec<String> = examples
            .iter()
            .map(|e| self.detokenize_target(&e.target))
            .collect();
        score_outputs(hypotheses, references, self.target_is_char_level())
    }

    /// Runs a text-correction model over finished translations (SignMST-C). The network only
    /// knows its training vocabulary: it is trained to pass masked words through as `<unk>`
    /// (`data.noise.unknown`), and each `<unk>` it writes is replaced by the input's unknown
    /// words in order, so a name or number the translator produced can survive correction.
    /// Empty sentences stay empty.
    pub fn correct(
        &self,
        sentences: &[String],
        options: DecodeOptions,
    ) -> anyhow::Result<Vec<String>> {
        if self.config.data.direction != Direction::TextCorrection {
            bail!(
                "this model translates {:?}; a text-correction model has data.direction = \"text_correction\"",
                self.config.data.direction
            );
        }
        let sources: Vec<Vec<String>> = sentences.iter().map(|s| self.tokenize_source(s)).collect();
        let todo: Vec<usize> = (0..sources.len())
            .filter(|&i| !sources[i].is_empty())
            .collect();
        let mut corrected: Vec<String> = vec![String::new(); sentences.len()];
        for chunk in todo.chunks(64) {
            let batch: Vec<Vec<String>> = chunk.iter().map(|&i| sources[i].clone()).collect();
            for (&i, t) in chunk.iter().zip(self.translate_batch(&batch, options)?) {
                let tokens = restore_unknown(
                    &sources[i],
                    &t.tokens,
                    |w| self.source_vocab.id(w) == signscope_nn::vocab::UNK_ID,
                    signscope_nn::vocab::UNK,
                );
                corrected[i] = self.detokenize_target(&tokens);
            }
        }
        Ok(corrected)
    }

    /// Whether the target side is scored per character (Chinese text).
    pub fn target_is_char_level(&self) -> bool {
        self.config.data.direction != Direction::TextToGloss
            && self.config.data.text_level == TextLevel::Char
    }
}

/// BLEU-1..4 and ROUGE-L of detokenized outputs against references.
pub fn score_outputs(
    hypotheses: Vec<String>,
    references: Vec<String>,
    char_level: bool,
) -> DevScores {
    let bleu_config = BleuConfig {
        char_level,
        lowercase: true,
        ..BleuConfig::signjoey()
    };
    let bleu = corpus_bleu(&hypotheses, &references, &bleu_config);
    let rouge = corpus_rouge(&hypotheses, &references, RougeVariant::Mscoco, char_level);
    DevScores {
        bleu: bleu.bleu,
        rouge_l: rouge.rouge_l,
        sentences: hypotheses.len(),
        hypotheses,
        references,
    }
}

/// An example's source as the model's vocabulary holds it and its target words, or `None`
/// when a side is longer than `data.max_length` (such pairs are not trained on).
fn model_pair<'a>(data: &DataConfig, example: &'a Example) -> Option<(Vec<String>, &'a [String])> {
    let source = model_source_tokens(data, &example.source).into_owned();
    (source.len() <= data.max_length && example.target.len() <= data.max_length)
        .then_some((source, &example.target[..]))
}

/// Target words as the model's vocabulary holds them: split into subwords where it has them.
fn model_target_tokens(bpe: Option<&Bpe>, words: &[String]) -> Vec<String> {
    match bpe {
        Some(bpe) => bpe.segment(words),
        None => words.to_vec(),
    }
}

/// Training data and dev evaluation plugged into the generic loop.
pub struct SltTask {
    train: Vec<(Vec<u32>, Vec<u32>)>,
    /// Text correction: the training targets' tokens (EOS excluded) to draw substitutions and
    /// insertions from; empty for translation.
    unigram: Vec<u32>,
    dev: Vec<Example>,
    /// Text correction: the noisy dev input scored as it is, what the corrector starts from.
    dev_input_summary: Option<String>,
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
    target_bpe: Option<Bpe>,
    config: SltConfig,
    device: Device,
}

impl SltTask {
    pub fn new(config: SltConfig, train: &[Example], dev: Vec<Example>, device: Device) -> Self {
        let data = &config.data;
        let (sources, words): (Vec<Vec<String>>, Vec<&[String]>) =
            train.iter().filter_map(|e| model_pair(data, e)).unzip();
        let correction = data.direction == Direction::TextCorrection;
        let target_bpe = (data.target_subwords > 0).then(|| {
            Bpe::learn(
                words.iter().flat_map(|t| t.iter().map(String::as_str)),
                data.target_subwords,
            )
        });
        let targets: Vec<Vec<String>> = words
            .iter()
            .map(|t| model_target_tokens(target_bpe.as_ref(), t))
            .collect();
        // A corrector reads and writes the same language: one vocabulary, so substituted
        // and inserted words are tokens it can also produce. A shared gloss → text vocabulary
        // holds both sides' tokens (counted together against target_min_freq).
        let (source_vocab, target_vocab) = if correction || data.shared_vocabulary {
            let both = targets
                .iter()
                .chain(if correction { &[][..] } else { &sources[..] });
            let vocab = Vocabulary::build(both.map(Vec::as_slice), data.target_min_freq, 0);
            (vocab.clone(), vocab)
        } else {
            (
                Vocabulary::build(sources.iter().map(Vec::as_slice), data.source_min_freq, 0),
                Vocabulary::build(targets.iter().map(Vec::as_slice), data.target_min_freq, 0),
            )
        };
        let train: Vec<(Vec<u32>, Vec<u32>)> = sources
            .iter()
            .zip(&targets)
            .map(|(source, target)| (source_vocab.encode(source), target_vocab.encode(target)))
            .collect();
        let unigram = if correction {
            train
                .iter()
                .flat_map(|(_, t)| t[..t.len() - 1].iter().copied())
                .filter(|&id| id != signscope_nn::vocab::UNK_ID)
                .collect()
        } else {
            Vec::new()
        };
        let mut dev: Vec<Example> = if config.training.eval_max_sentences > 0 {
            dev.into_iter()
                .take(config.training.eval_max_sentences)
                .collect()
        } else {
            dev
        };
        if correction {
            // Dev sources get one fixed draw of noise, so dev scores compare across steps.
            let mut rng = ChaCha8Rng::seed_from_u64(config.training.seed ^ DEV_NOISE_SEED);
            for example in &mut dev {
                let ids: Vec<u32> = example.target.iter().map(|w| target_vocab.id(w)).collect();
                let noisy = inject_errors(&ids, &data.noise, &unigram, &mut rng);
                // Words unknown to the vocabulary come back as `<unk>`, as they would
                // from a translator trained on the same data.
                example.source = noisy
                    .iter()
                    .map(|&id| target_vocab.token(id).to_string())
                    .collect();
            }
        }
        let dev_input_summary = correction.then(|| {
            let input = score_outputs(
                dev.iter()
                    .map(|e| detokenize_text(&e.source, data.text_level))
                    .collect(),
                dev.iter()
                    .map(|e| detokenize_text(&e.target, data.text_level))
                    .collect(),
                data.text_level == TextLevel::Char,
            );
            format!(
                "; noisy input BLEU-4 {:.2} ROUGE-L {:.2}",
                input.bleu[3], input.rouge_l
            )
        });
        Self {
            train,
            unigram,
            dev,
            dev_input_summary,
            source_vocab,
            target_vocab,
            target_bpe,
            config,
            device,
        }
    }

    pub fn source_vocab(&self) -> &Vocabulary {
        &self.source_vocab
    }

    pub fn target_vocab(&self) -> &Vocabulary {
        &self.target_vocab
    }

    pub fn train_pairs(&self) -> usize {
        self.train.len()
    }

    /// Appends more training pairs (e.g. `data.extra_train`'s synthetic ones), encoded with the
    /// vocabularies the train split gave; tokens outside them become `<unk>`, and pairs with a
    /// side longer than `data.max_length` are skipped as in [`Self::new`]. Returns how many
    /// were added.
    pub fn extend_train(&mut self, extra: &[Example]) -> usize {
        let before = self.train.len();
        for example in extra {
            let Some((source, target)) = model_pair(&self.config.data, example) else {
                continue;
            };
            let target = model_target_tokens(self.target_bpe.as_ref(), target);
            self.train.push((
                self.source_vocab.encode(&source),
                self.target_vocab.encode(&target),
            ));
        }
        self.train.len() - before
    }

    fn translator(&self, model: &Seq2Seq) -> Translator {
        Translator {
            config: self.config.clone(),
            models: vec![model.clone()],
            source_vocab: self.source_vocab.clone(),
            target_vocab: self.target_vocab.clone(),
            target_bpe: self.target_bpe.clone(),
            device: self.device.clone().inner(),
        }
    }
}

/// Seeds the fixed noise of the text-correction dev set and, mixed with the epoch, the fresh
/// noise of each training epoch.
const DEV_NOISE_SEED: u64 = 0x6e6f_6973_6564_6576;
const TRAIN_NOISE_SEED: u64 = 0x6e6f_6973_6574_726e;
/// Seeds, mixed with the epoch, the source word dropout of gloss → text training.
const WORD_DROPOUT_SEED: u64 = 0x776f_7264_6472_6f70;

/// One batch: (source ids, target ids) pairs, both ending in EOS.
pub type PairBatch = Vec<(Vec<u32>, Vec<u32>)>;

impl TrainTask for SltTask {
    type Model = Seq2Seq;
    type Batch = PairBatch;

    fn epoch_batches(&self, epoch: usize, seed: u64) -> Vec<PairBatch> {
        let lengths: Vec<usize> = self
            .train
            .iter()
            .map(|(s, t)| s.len().max(t.len()))
            .collect();
        let batches = epoch_batches(&lengths, self.config.training.batch_size, epoch, seed);
        if self.config.data.direction != Direction::TextCorrection {
            let dropout = self.config.data.source_word_dropout;
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ WORD_DROPOUT_SEED ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            return batches
                .into_iter()
                .map(|b| {
                    b.into_iter()
                        .map(|i| {
                            let (mut source, target) = self.train[i].clone();
                            if dropout > 0.0 {
                                let glosses = source.len() - 1; // EOS stays
                                for id in &mut source[..glosses] {
                                    if rng.random_bool(dropout) {
                                        *id = signscope_nn::vocab::UNK_ID;
                                    }
                                }
                            }
                            (source, target)
                        })
                        .collect()
                })
                .collect();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(
            seed ^ TRAIN_NOISE_SEED ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let limit = self.config.data.max_length;
        let noise = &self.config.data.noise;
        batches
            .into_iter()
            .map(|b| {
                b.into_iter()
                    .map(|i| {
                        let target = &self.train[i].1;
                        let mut clean = mask_unknown(
                            &target[..target.len() - 1],
                            noise.unknown,
                            signscope_nn::vocab::UNK_ID,
                            &mut rng,
                        );
                        let mut source = inject_errors(&clean, noise, &self.unigram, &mut rng);
                        source.truncate(limit);
                        source.push(EOS_ID);
                        clean.push(EOS_ID);
                        (source, clean)
                    })
                    .collect()
            })
            .collect()
    }

    fn loss(&self, model: &Seq2Seq, batch: &PairBatch) -> TokenLoss {
        let sources: Vec<Vec<u32>> = batch.iter().map(|(s, _)| s.clone()).collect();
        // Target ids end with EOS; the decoder input is BOS + all but EOS.
        let outputs: Vec<Vec<u32>> = batch.iter().map(|(_, t)| t.clone()).collect();
        let inputs: Vec<Vec<u32>> = outputs
            .iter()
            .map(|t| {
                std::iter::once(BOS_ID)
                    .chain(t[..t.len() - 1].iter().copied())
                    .collect()
            })
            .collect();
        let source = TokenBatch::from_sequences(&sources, PAD_ID, &self.device);
        let input = TokenBatch::from_sequences(&inputs, PAD_ID, &self.device);
        let output = TokenBatch::from_sequences(&outputs, PAD_ID, &self.device);
        let logits = model.forward(&source, &input);
        label_smoothed_cross_entropy(
            logits,
            output.ids,
            PAD_ID,
            self.config.training.label_smoothing,
        )
    }

    fn score_label(&self) -> (&str, f64) {
        ("dev BLEU-4", 1.0)
    }

    fn evaluate(&mut self, model: &Seq2Seq) -> anyhow::Result<Evaluation> {
        let translator = self.translator(model);
        let scores = translator.evaluate(&self.dev, translator.default_options(), 64)?;
        let mut summary = scores.summary();
        if let Some(input) = &self.dev_input_summary {
            summary.push_str(input);
        }
        Ok(Evaluation {
            score: scores.bleu[3],
            summary,
        })
    }
}

/// One path component without separators, e.g. `csl_daily_g2t`.
fn is_bare_name(path: &Path) -> bool {
    let mut components = path.components();
    matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(_)), None)
    )
}

/// The committed model `name` (e.g. "phoenix2014t_g2t"): under `$SIGNSCOPE_MODELS`, else
/// `./models`, else the `models/` folder of the checkout this binary was built from.
pub fn bundled_model_dir(name: &str) -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("SIGNSCOPE_MODELS") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from("models"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    for dir in &candidates {
        let model = dir.join(name);
        if model.join(MODEL_FILE).is_file() {
            return Ok(model);
        }
    }
    bail!(
        "the bundled model {name} was not found (looked in {}); pass --model DIR or set SIGNSCOPE_MODELS",
        candidates
            .iter()
            .map(|d| d.join(name).display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Writes `dir`'s model (config, vocabularies, `model.bpk`) to `out`, the parameters stored
/// as `storage` says; returns the bytes of the model file. The model is loaded first, so a
/// broken folder is reported before anything is written.
pub fn export_model(dir: &Path, out: &Path, storage: Storage) -> anyhow::Result<u64> {
    let translator = Translator::load(dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bpe = translator.target_bpe.is_some().then_some(TARGET_BPE_FILE);
    for name in [CONFIG_FILE, SOURCE_VOCAB_FILE, TARGET_VOCAB_FILE]
        .into_iter()
        .chain(bpe)
    {
        let bytes = std::fs::read(dir.join(name))
            .with_context(|| format!("reading {}", dir.join(name).display()))?;
        signscope_nn::checkpoint::write_atomic(&out.join(name), &bytes)?;
    }
    let model_path = out.join(MODEL_FILE);
    save_model_as(&translator.models[0], &model_path, storage)?;
    Ok(std::fs::metadata(&model_path)
        .with_context(|| format!("reading {}", model_path.display()))?
        .len())
}

/// How a training run begins.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Start {
    /// Random initialization in an empty run directory.
    #[default]
    Fresh,
    /// Continue the run in the run directory from its newest checkpoint.
    Resume,
    /// A new run (fresh optimizer, schedule and step count) whose parameters start from the
    /// `model.bpk` of this model directory, e.g. to train a finished run further with a new
    /// learning-rate schedule. The model must have the same `[model]` section, direction and
    /// vocabularies.
    InitFrom(PathBuf),
}

/// The parameters of the model directory `dir`, checked to fit the run being started.
fn initial_parameters(
    dir: &Path,
    config: &SltConfig,
    task: &SltTask,
    template: Seq2Seq,
) -> anyhow::Result<Seq2Seq> {
    let theirs = SltConfig::load(&dir.join(CONFIG_FILE))?;
    if theirs.model != config.model {
        bail!(
            "{}: its [model] section differs from this run's, so its parameters do not fit",
            dir.display()
        );
    }
    if theirs.data.direction != config.data.direction {
        bail!(
            "{}: it translates {:?}, this run trains {:?}",
            dir.display(),
            theirs.data.direction,
            config.data.direction
        );
    }
    for (name, vocab) in [
        (SOURCE_VOCAB_FILE, &task.source_vocab),
        (TARGET_VOCAB_FILE, &task.target_vocab),
    ] {
        if Vocabulary::load(&dir.join(name))? != *vocab {
            bail!(
                "{}: differs from the vocabulary this run's data gives, so the embeddings would not line up",
                dir.join(name).display()
            );
        }
    }
    if load_target_bpe(dir, &theirs)? != task.target_bpe {
        bail!(
            "{}: its target subwords differ from this run's, so the embeddings would not line up",
            dir.display()
        );
    }
    load_model(template, &dir.join(MODEL_FILE))
}

/// Trains the configured model; the run directory becomes a model directory (see module docs).
pub fn train_from_config(
    config: SltConfig,
    config_path: &Path,
    data_dir: Option<&Path>,
    run_dir: Option<&Path>,
    start: Start,
) -> anyhow::Result<(TrainReport, PathBuf)> {
    let resume = start == Start::Resume;
    let data_dir = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.data_dir());
    let run_dir = run_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(&config.training.run_dir));
    let train_set = load_split(&config.data, &data_dir, Split::Train)?;
    let dev_set = load_split(&config.data, &data_dir, Split::Dev)?;
    let device = signscope_nn::training_device();
    device.seed(config.training.seed);
    let extra = load_extra_train(&config.data)?;
    let mut task = SltTask::new(config.clone(), &train_set, dev_set, device.clone());
    if !extra.is_empty() {
        let added = task.extend_train(&extra);
        eprintln!(
            "{}: {added} extra training pairs from {} (of {} read)",
            config_path.display(),
            config
                .data
                .extra_train
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            extra.len()
        );
    }
    eprintln!(
        "{}: {} training pairs, {} dev pairs, vocabularies {} source / {} target",
        config_path.display(),
        task.train_pairs(),
        task.dev.len(),
        task.source_vocab.len(),
        task.target_vocab.len()
    );
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    if resume {
        // The vocabularies of a resumed run must be the ones its checkpoints were trained with.
        let saved = Vocabulary::load(&run_dir.join(SOURCE_VOCAB_FILE))?;
        let saved_target = Vocabulary::load(&run_dir.join(TARGET_VOCAB_FILE))?;
        let saved_bpe = load_target_bpe(&run_dir, &config)?;
        if saved != task.source_vocab
            || saved_target != task.target_vocab
            || saved_bpe != task.target_bpe
        {
            bail!(
                "{}: the data now gives different vocabularies than the run was started with",
                run_dir.display()
            );
        }
    } else {
        if signscope_nn::train::state_path(&run_dir).exists() {
            bail!(
                "{} already holds a training run; pass --resume to continue it or choose another run_dir",
                run_dir.display()
            );
        }
        signscope_nn::checkpoint::write_atomic(
            &run_dir.join(CONFIG_FILE),
            config.to_toml().as_bytes(),
        )?;
        task.source_vocab.save(&run_dir.join(SOURCE_VOCAB_FILE))?;
        task.target_vocab.save(&run_dir.join(TARGET_VOCAB_FILE))?;
        if let Some(bpe) = &task.target_bpe {
            bpe.save(&run_dir.join(TARGET_BPE_FILE))?;
        }
    }
    let mut model = Seq2Seq::new(
        &config.model,
        task.source_vocab.len(),
        task.target_vocab.len(),
        &device,
    );
    if let Start::InitFrom(dir) = &start {
        model = initial_parameters(dir, &config, &task, model)?;
        let origin = format!(
            "parameters initialized from {}",
            dir.join(MODEL_FILE).display()
        );
        eprintln!("{origin}");
        signscope_nn::checkpoint::write_atomic(
            &run_dir.join("init_from.txt"),
            format!("{origin}\n").as_bytes(),
        )?;
    }
    let report = train(
        &mut task,
        model,
        &config.training,
        config.model.d_model,
        &run_dir,
        resume,
    )?;

    // model.bpk: the averaged parameters when they beat the best single checkpoint on dev.
    let best_score = report.state.best.as_ref().map(|b| b.evaluation.score);
    let use_average = matches!((&report.averaged, best_score), (Some(a), Some(b)) if a.score > b);
    let chosen = if use_average {
        averaged_model_path(&run_dir)
    } else {
        best_model_path(&run_dir)
    };
    let template = Seq2Seq::new(
        &config.model,
        task.source_vocab.len(),
        task.target_vocab.len(),
        &device.clone().inner(),
    );
    let model = load_model(template, &chosen)?;
    save_model(&model, &run_dir.join(MODEL_FILE))?;
    eprintln!(
        "{} <- {}",
        run_dir.join(MODEL_FILE).display(),
        chosen.display()
    );
    Ok((report, run_dir))
}
