//! Command-line entry points, wired by the `signscope` binary as `signscope train slt`,
//! `signscope translate` and `signscope eval slt`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use signscope_corpus::Split;
use signscope_nn::checkpoint::Storage;

use crate::config::{Direction, SltConfig};
use crate::data::{load_split, spell_as_output};
use crate::rerank::{
    ReconstructionReranker, Rescorers, ScoredCandidates, ScorerLoader, SelectedTranslations,
    Selection, TranslationScorer, add_candidates, cross_validated_choice,
    translate_candidates_selected,
};
use crate::translator::{
    DecodeOptions, DevScores, Start, Translator, score_outputs, train_from_config,
};

/// Train a gloss→text (or text→gloss) transformer from a TOML configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainSltArgs {
    /// Run configuration (`[data]`, `[model]`, `[training]`), e.g.
    /// crates/slt/configs/phoenix2014t_g2t.toml
    pub config: PathBuf,
    /// Continue the run in the configured run directory from its newest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start a new run from the parameters of this trained model directory (same [model]
    /// section and vocabularies) with a fresh optimizer and learning-rate schedule, e.g. to
    /// train a finished run for more epochs.
    #[arg(long, conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// Folder with the corpus folders (overrides data.data_dir; default
    /// $SIGNSCOPE_SHARED/data or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output folder (overrides training.run_dir).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Stop after this many optimizer steps (overrides training.max_steps; for smoke runs).
    #[arg(long)]
    pub max_steps: Option<usize>,
}

/// Translate a gloss sequence (or several recognizer hypotheses) with a trained model.
#[derive(Debug, Clone, clap::Args)]
pub struct TranslateArgs {
    /// Source sentence, e.g. "MORGEN REGEN". Repeat to pass the recognizer's top-k hypotheses
    /// of one sign sequence: each is translated and the one the model scores best (by its
    /// length-normalised log-probability) is printed.
    #[arg(long = "glosses", required = true)]
    pub glosses: Vec<String>,
    /// Model directory (config.toml, source_vocab.txt, target_vocab.txt, model.bpk).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub decode: TranslateDecodeArgs,
}

/// Beam settings of a seq2seq model, each defaulting to the model's own.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// seq2seq: beam width (1 = greedy); default from the model's training.beam_size.
    #[arg(long)]
    pub beam: Option<usize>,
    /// seq2seq: length-penalty exponent α; default from the model's training.beam_alpha.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// seq2seq: decode with these model folders too (comma-separated; trained on the same
    /// data, so with the same vocabularies), averaging the models' next-token probabilities.
    #[arg(long, value_delimiter = ',', value_name = "MODEL")]
    pub ensemble: Vec<PathBuf>,
}

impl SearchArgs {
    /// `translator` joined by the --ensemble members.
    pub fn with_ensemble(&self, translator: Translator) -> anyhow::Result<Translator> {
        translator.with_ensemble(&self.ensemble)
    }

    pub fn options(&self, translator: &Translator) -> DecodeOptions {
        let default = translator.default_options();
        DecodeOptions {
            beam_size: self.beam.unwrap_or(default.beam_size),
            alpha: self.alpha.unwrap_or(default.alpha),
        }
    }
}

/// How `translate` decodes with a seq2seq model (shared with `signscope translate`).
#[derive(Debug, Clone, clap::Args)]
pub struct TranslateDecodeArgs {
    #[command(flatten)]
    pub search: SearchArgs,
    /// seq2seq: also print every hypothesis's translation and scores.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub rerank: RerankArgs,
}

/// Reconstruction reranking of the seq2seq beam (see `signscope_slt::rerank`).
#[derive(Debug, Clone, clap::Args)]
pub struct RerankArgs {
    /// seq2seq: rerank the beam's translations by how well this text→gloss model
    /// (`signscope train t2g`, e.g. models/phoenix2014t_t2g) turns each back into the glosses.
    #[arg(long, value_name = "T2G_MODEL")]
    pub rerank: Option<PathBuf>,
    /// seq2seq: weight of the reverse model's per-gloss log-probability against the beam score
    /// (0 = plain beam search).
    #[arg(long, default_value_t = DEFAULT_RERANK_WEIGHT)]
    pub rerank_weight: f64,
    /// seq2seq: pick the translation from the beam by minimum Bayes risk (the candidate with
    /// the highest expected sentence BLEU against the others, weighted by softmax(score / T))
    /// at this temperature T, with or without --rerank.
    #[arg(long, value_name = "T")]
    pub mbr_temperature: Option<f64>,
    /// seq2seq: also rerank the beam by this LoRA-tuned LLM's log-probability of each
    /// translation as the reply to SCOPE's prompt (an adapter folder of `signscope train lora`,
    /// e.g. models/csl_daily_gemma3_lora, tuned on the translator's corpus). About 2 s per
    /// sentence at beam 8 on 2 cores.
    #[arg(long, value_name = "ADAPTERS")]
    pub llm_rescore: Option<PathBuf>,
    /// seq2seq: weight of the LLM's log-probability per reply token against the beam score.
    #[arg(long, default_value_t = DEFAULT_LLM_WEIGHT)]
    pub llm_weight: f64,
    /// seq2seq: also let the --llm-rescore LLM translate the glosses itself (greedy, SCOPE's
    /// prompt without worked examples) and add its translation to the beam as one more
    /// candidate, scored like the others (system combination; on CSL-Daily dev it raised
    /// BLEU-4 from 26.28 to 27.70). About 2 s more on 2 cores: 1 s to load the merged,
    /// quantized model and about 0.5 s per hypothesis to generate.
    #[arg(long, requires = "llm_rescore")]
    pub llm_candidate: bool,
}

impl RerankArgs {
    fn selection(&self) -> Selection {
        Selection {
            weight: if self.rerank.is_some() {
                self.rerank_weight
            } else {
                0.0
            },
            llm_weight: if self.llm_rescore.is_some() {
                self.llm_weight
            } else {
                0.0
            },
            mbr_temperature: self.mbr_temperature,
        }
    }

    fn reranks(&self) -> bool {
        self.rerank.is_some() || self.mbr_temperature.is_some() || self.llm_rescore.is_some()
    }
}

/// The weight `--rerank` uses unless told otherwise.
pub const DEFAULT_RERANK_WEIGHT: f64 = 1.0;

/// The LLM weight `--llm-rescore` uses unless told otherwise: on CSL-Daily dev (two-model
/// ensemble, beam 8, 8-bit committed adapters) every per-token weight from 0.1 to 0.5 scored
/// within 0.35 BLEU-4 of each other, and 2-fold cross-validation picked 0.2 and 0.3.
pub const DEFAULT_LLM_WEIGHT: f64 = 0.3;

/// The LLM weights `eval slt --llm-rescore` tries unless told otherwise (0: without the LLM,
/// so that cross-validation can also leave it out).
pub const DEFAULT_LLM_WEIGHTS: [f64; 5] = [0.0, 0.1, 0.2, 0.3, 0.5];

/// Score a trained model on a corpus split (BLEU-1..4, ROUGE-L).
#[derive(Debug, Clone, clap::Args)]
pub struct EvalSltArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "dev")]
    pub split: Split,
    /// Folder with the corpus folders (default: the model config's data_dir, else
    /// $SIGNSCOPE_SHARED/data or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub search: SearchArgs,
    /// Write "id<TAB>hypothesis<TAB>reference" lines here (with --correct, the corrected
    /// hypothesis is a fourth column before the reference).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also run this text-correction model (`signscope train correct`) over the
    /// translations and score them again, SignMST-C's ablation.
    #[arg(long)]
    pub correct: Option<PathBuf>,
    /// Rerank the beam's translations with this text→gloss model (`signscope train t2g`) and
    /// score them again; --correct and --output then use the reranked (or MBR-chosen)
    /// translations.
    #[arg(long, value_name = "T2G_MODEL")]
    pub rerank: Option<PathBuf>,
    /// Reranking weights, comma-separated. With several, each is scored, and the reported
    /// reranked translations use weights chosen by 2-fold cross-validation over the
    /// sentences (each half's weight is the one that scores best on the other half).
    #[arg(long, value_delimiter = ',', default_values_t = [DEFAULT_RERANK_WEIGHT])]
    pub rerank_weights: Vec<f64>,
    /// Also pick translations from the beam by minimum Bayes risk at these temperatures
    /// (comma-separated; see `translate --mbr-temperature`), for every reranking weight (or
    /// with the beam scores alone without --rerank); each is scored, and cross-validation
    /// chooses among all selections.
    #[arg(long, value_delimiter = ',', value_name = "T")]
    pub mbr_temperatures: Vec<f64>,
    /// Write every sentence's n-best list as JSON lines here ({"id", "text_level", "glosses",
    /// "reference", "candidates": [{"text", "log_prob", "score", "reconstruction"}]}, with
    /// --llm-rescore also "llm_log_prob" and "llm_tokens"), e.g. to rescore them with another
    /// model or sweep more weights (`signscope rescore-nbest`).
    #[arg(long, value_name = "FILE")]
    pub nbest_out: Option<PathBuf>,
    /// Also rerank the beam by this LoRA-tuned LLM's log-probability of each translation
    /// (see `translate --llm-rescore`), alone and with every reranking weight; the n-best file
    /// then carries `llm_log_prob` and `llm_tokens` for `signscope rescore-nbest`.
    #[arg(long, value_name = "ADAPTERS")]
    pub llm_rescore: Option<PathBuf>,
    /// Weights of the LLM's log-probability per reply token, comma-separated; each is scored
    /// and cross-validation chooses as for --rerank-weights.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_LLM_WEIGHTS)]
    pub llm_weights: Vec<f64>,
    /// Other systems' translations of the split to choose from as well (system combination):
    /// JSON lines with "id" and "text" (e.g. the --out FILE.jsonl of `signscope translate
    /// --backend gguf --manifest`), or one sentence per line in split order. Each joins its
    /// sentence's n-best list as one more candidate, scored by the translator, --rerank and
    /// --llm-rescore, and every selection then chooses among all. Repeat or comma-separate.
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    pub add_candidates: Vec<PathBuf>,
    /// Also let the --llm-rescore LLM translate every sentence itself (greedy, as
    /// `translate --llm-candidate` does) and add its translations as one more system's
    /// candidates, like --add-candidates (about 0.5 s per sentence on 2 cores).
    #[arg(long, requires = "llm_rescore")]
    pub llm_candidates: bool,
    /// Save the LLM's translations of --llm-candidates here (JSON lines with "id" and
    /// "text"), for a later --add-candidates FILE without translating again.
    #[arg(long, value_name = "FILE", requires = "llm_candidates")]
    pub llm_candidates_out: Option<PathBuf>,
    /// Score only the first N sentences of the split (quick checks; the figures are then not
    /// the split's).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Copy a trained model folder (config, vocabularies, chosen parameters) without its
/// checkpoints, optionally in half precision or 8-bit (`--q8`, the form in which models are
/// committed).
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Model directory of `signscope train slt|t2g|correct`, or a run folder of
    /// `signscope train lora` (its best adapters are exported as adapters.bpk).
    pub model: PathBuf,
    /// Destination folder (created; its model files are replaced atomically).
    pub out: PathBuf,
    /// Store the parameters as 16-bit floats (half the size; loading widens them to f32).
    #[arg(long, conflicts_with = "q8")]
    pub f16: bool,
    /// Store the weight matrices as 8-bit integers with an f16 scale per 32 values, the rest
    /// as f16 (about a quarter of the f32 size; loading dequantizes to f32).
    #[arg(long)]
    pub q8: bool,
}

/// Synthetic training pairs: translate a corpus split with trained models and write the
/// translations as a manifest for `[data] extra_train` (data diversification).
#[derive(Debug, Clone, clap::Args)]
pub struct AugmentArgs {
    /// Trained model directories, repeated or comma-separated: a gloss → text model gives
    /// forward pairs (the split's glosses, its text), a text → gloss model back-translated
    /// ones (its glosses, the split's text). Each reads the split its own config names.
    #[arg(long = "model", value_delimiter = ',', required = true)]
    pub models: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "train")]
    pub split: Split,
    /// Folder with the corpus folders (default: each model config's data_dir, else
    /// $SIGNSCOPE_SHARED/data or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Beam width (default: each model's configured one; at least --nbest).
    #[arg(long)]
    pub beam: Option<usize>,
    /// Keep each sentence's this many best translations from every model.
    #[arg(long, default_value_t = 1)]
    pub nbest: usize,
    /// Also write translations equal to the real side they replace (they only repeat a
    /// training pair, so they are left out by default).
    #[arg(long)]
    pub keep_copies: bool,
    /// Manifest to write (JSON lines; written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

/// Correct translated sentences with a text-correction model (SignMST-C).
#[derive(Debug, Clone, clap::Args)]
pub struct CorrectArgs {
    /// Model directory of `signscope train correct`.
    #[arg(long)]
    pub model: PathBuf,
    /// Sentences to correct (or use --input).
    #[arg(conflicts_with = "input")]
    pub sentences: Vec<String>,
    /// A file with one sentence per line, e.g. the --out of `signscope translate --manifest`.
    #[arg(long, requires = "out")]
    pub input: Option<PathBuf>,
    /// Where the corrected lines go (written atomically, same order).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub search: SearchArgs,
}

pub fn run_train(args: TrainSltArgs) -> anyhow::Result<()> {
    let mut config = SltConfig::load(&args.config)?;
    if let Some(steps) = args.max_steps {
        config.training.max_steps = steps;
    }
    let (report, run_dir) = train_from_config(
        config,
        &args.config,
        args.data_dir.as_deref(),
        args.run_dir.as_deref(),
        match (args.resume, args.init_from) {
            (true, _) => Start::Resume,
            (false, Some(dir)) => Start::InitFrom(dir),
            (false, None) => Start::Fresh,
        },
    )?;
    if let Some(best) = &report.state.best {
        println!("best dev (step {}): {}", best.step, best.evaluation.summary);
    }
    if let Some(avg) = &report.averaged {
        println!("averaged checkpoints: {}", avg.summary);
    }
    println!(
        "{} steps, {:.3} s/step, model in {}",
        report.state.step,
        report.seconds_per_step,
        run_dir.display()
    );
    Ok(())
}

pub fn run_translate(args: TranslateArgs, load_scorer: ScorerLoader) -> anyhow::Result<()> {
    let translator = args
        .decode
        .search
        .with_ensemble(Translator::load(&args.model)?)?;
    let options = args.decode.search.options(&translator);
    let sources: Vec<Vec<String>> = args
        .glosses
        .iter()
        .map(|g| translator.tokenize_source(g))
        .collect();
    let rerank = &args.decode.rerank;
    let SelectedTranslations {
        choice,
        lists,
        llm_translations,
    } = if rerank.reranks() {
        let rescorers = LoadedRescorers::load(
            rerank.rerank.as_deref(),
            rerank.llm_rescore.as_deref(),
            &translator,
            load_scorer,
        )?;
        translate_candidates_selected(
            &translator,
            rescorers.view(),
            &sources,
            options,
            rerank.selection(),
            rerank.llm_candidate,
        )?
    } else {
        SelectedTranslations {
            choice: translator.translate_candidates(&sources, options)?,
            lists: vec![],
            llm_translations: vec![],
        }
    };
    if args.decode.verbose {
        for (i, t) in choice.translations.iter().enumerate() {
            eprintln!(
                "[{i}] {} -> {} (log P {:.3}, score {:.3})",
                args.glosses[i], t.text, t.log_prob, t.score
            );
            if let Some(list) = lists.get(i) {
                print_candidates(list, llm_translations.get(i).map(String::as_str));
            }
        }
    }
    println!("{}", choice.translations[choice.chosen].text);
    Ok(())
}

/// The scored n-best list of one hypothesis, for `translate --verbose`; the LLM's own
/// translation (`--llm-candidate`) is marked.
fn print_candidates(list: &ScoredCandidates, llm_translation: Option<&str>) {
    let optional = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.3}"));
    for ((c, r), l) in list
        .candidates
        .iter()
        .zip(&list.reconstruction)
        .zip(&list.llm)
    {
        eprintln!(
            "      {} (score {:.3}, reconstruction {}, LLM per token {}){}",
            c.text,
            c.score,
            optional(*r),
            optional(l.map(|l| l.per_token())),
            if llm_translation == Some(c.text.as_str()) {
                " <- the LLM's own translation"
            } else {
                ""
            }
        );
    }
    if let Some(text) = llm_translation
        && list.candidates.iter().all(|c| c.text != text)
    {
        eprintln!(
            "      {text} <- the LLM's own translation, too long for the translator to score"
        );
    }
}

pub fn run_eval(args: EvalSltArgs, load_scorer: ScorerLoader) -> anyhow::Result<()> {
    let translator = args.search.with_ensemble(Translator::load(&args.model)?)?;
    let options = args.search.options(&translator);
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| translator.config.data_dir());
    let corrector = args
        .correct
        .as_deref()
        .map(|dir| Translator::load_expecting(dir, Direction::TextCorrection))
        .transpose()?;
    let loaded = LoadedRescorers::load(
        args.rerank.as_deref(),
        args.llm_rescore.as_deref(),
        &translator,
        load_scorer,
    )?;
    let rescorers = loaded.view();
    let (reconstruction, llm) = (rescorers.reconstruction.is_some(), rescorers.llm.is_some());
    let selections = eval_selections(&args, reconstruction, llm)?;
    // With other systems' candidates, even the beam score alone chooses among more.
    let reranking = reconstruction || llm || !args.add_candidates.is_empty() || args.llm_candidates;
    let mut examples = load_split(&translator.config.data, &data_dir, args.split)?;
    let split_len = examples.len();
    if let Some(limit) = args.limit {
        examples.truncate(limit);
    }
    let sources: Vec<Vec<String>> = examples.iter().map(|e| e.source.clone()).collect();
    let started = std::time::Instant::now();
    let mut beams = Vec::with_capacity(examples.len());
    for chunk in sources.chunks(64) {
        beams.extend(translator.translate_nbest(chunk, options)?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let best = beams.iter().map(|beam| beam[0].text.clone()).collect();
    let scores = translator.score_against(&examples, best);
    let char_level = translator.target_is_char_level();
    let score_texts = |texts: &[String]| {
        score_outputs(texts.to_vec(), scores.references.clone(), char_level).summary()
    };
    let per_sentence = |seconds: f64| {
        format!(
            "{:.1} s, {:.1} ms/sentence",
            seconds,
            1000.0 * seconds / examples.len() as f64
        )
    };
    let models = std::iter::once(&args.model)
        .chain(&args.search.ensemble)
        .map(|dir| dir.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    println!(
        "{models} {} (beam {}, alpha {}): {} [{}]",
        args.split.as_str(),
        options.beam_size,
        options.alpha,
        scores.summary(),
        per_sentence(seconds)
    );

    // The beams' n-best lists, when a selection (reranking, MBR) or the gated correction
    // needs them.
    let mut nbest = None;
    if !selections.is_empty() || corrector.is_some() || args.nbest_out.is_some() {
        let started = std::time::Instant::now();
        let mut lists = rescorers.score_beams(&sources, beams)?;
        let mut systems = Vec::new();
        for path in &args.add_candidates {
            let texts = read_candidates(
                path,
                &examples,
                split_len,
                translator.config.data.text_level,
                translator.config.data.lowercase_text,
            )?;
            systems.push((path.display().to_string(), texts));
        }
        if args.llm_candidates {
            let started = std::time::Instant::now();
            let texts = rescorers.llm_translations(&translator, &sources)?;
            let name = format!(
                "{} (own translations, {})",
                args.llm_rescore
                    .as_deref()
                    .expect("clap requires --llm-rescore")
                    .display(),
                per_sentence(started.elapsed().as_secs_f64())
            );
            if let Some(path) = &args.llm_candidates_out {
                write_candidates(path, &examples, &texts)?;
            }
            systems.push((name, texts));
        }
        for (name, texts) in &systems {
            let differ = texts
                .iter()
                .zip(&scores.hypotheses)
                .filter(|(a, b)| a != b)
                .count();
            let added =
                add_candidates(&translator, rescorers, &sources, &mut lists, texts, options)?;
            println!(
                "  {name}: {} (differs from the beam's best in {differ} sentences; {added} new candidates)",
                score_texts(texts),
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        let chosen = if selections.is_empty() {
            vec![BEAM_SEARCH; lists.len()]
        } else {
            let chosen = report_selections(
                &lists,
                &selections,
                reranking,
                char_level,
                |sentences, picks| {
                    let hypotheses = sentences
                        .iter()
                        .zip(picks)
                        .map(|(&i, &p)| lists[i].candidates[p].text.clone())
                        .collect();
                    let references = sentences
                        .iter()
                        .map(|&i| scores.references[i].clone())
                        .collect();
                    score_outputs(hypotheses, references, char_level)
                },
            );
            let scorers: Vec<String> = args
                .rerank
                .iter()
                .chain(&args.llm_rescore)
                .map(|dir| dir.display().to_string())
                .collect();
            if !scorers.is_empty() {
                println!(
                    "    rescoring with {}: {}",
                    scorers.join(" and "),
                    per_sentence(seconds)
                );
            }
            chosen
        };
        if let Some(path) = &args.nbest_out {
            write_nbest(path, &examples, &scores.references, &lists, char_level)?;
        }
        nbest = Some((lists, chosen));
    }
    let hypotheses = match &nbest {
        Some((lists, chosen)) if !selections.is_empty() => {
            selected_texts(lists, chosen, char_level)
        }
        _ => scores.hypotheses.clone(),
    };

    let mut corrected = None;
    if let (Some(corrector), Some(dir)) = (&corrector, &args.correct) {
        let started = std::time::Instant::now();
        let fixed = corrector.correct(&hypotheses, corrector.default_options())?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "  + text correction {}: {} [{}]",
            dir.display(),
            score_texts(&fixed),
            per_sentence(seconds)
        );
        // SignMST-C applies the correction unconditionally; here the rewrite also joins the
        // translator's n-best list and is kept only where the same selection prefers it.
        let (mut lists, chosen) = nbest.take().expect("n-best lists are built with --correct");
        let added = add_candidates(
            &translator,
            rescorers,
            &sources,
            &mut lists,
            &fixed,
            options,
        )?;
        let gated = selected_texts(&lists, &chosen, char_level);
        let changed: Vec<usize> = (0..fixed.len())
            .filter(|&i| hypotheses[i] != fixed[i])
            .collect();
        let taken = changed.iter().filter(|&&i| gated[i] == fixed[i]).count();
        println!(
            "  + text correction as an n-best candidate ({added} new candidates; {taken} of {} changed sentences taken): {}",
            changed.len(),
            score_texts(&gated)
        );
        corrected = Some(fixed);
    }
    if let Some(path) = &args.output {
        let mut text = String::new();
        for (i, ((e, h), r)) in examples
            .iter()
            .zip(&hypotheses)
            .zip(&scores.references)
            .enumerate()
        {
            match &corrected {
                Some(fixed) => text.push_str(&format!("{}\t{h}\t{}\t{r}\n", e.id, fixed[i])),
                None => text.push_str(&format!("{}\t{h}\t{r}\n", e.id)),
            }
        }
        signscope_nn::checkpoint::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The translations of `examples` in a candidates file (see `EvalSltArgs::add_candidates`),
/// spelled as the translator's own output (lower-cased when it is, characters joined).
fn read_candidates(
    path: &std::path::Path,
    examples: &[crate::data::Example],
    split_len: usize,
    level: crate::config::TextLevel,
    lowercase: bool,
) -> anyhow::Result<Vec<String>> {
    let content =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<&str> = content.lines().collect();
    let texts: Vec<String> = if path.extension().is_some_and(|e| e == "jsonl") {
        let mut by_id = std::collections::HashMap::new();
        for (n, line) in lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let record: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}: line {}: not JSON", path.display(), n + 1))?;
            let (Some(id), Some(text)) = (record["id"].as_str(), record["text"].as_str()) else {
                bail!(
                    "{}: line {}: needs string fields \"id\" and \"text\"",
                    path.display(),
                    n + 1
                );
            };
            by_id.insert(id.to_string(), text.to_string());
        }
        examples
            .iter()
            .map(|e| {
                by_id.remove(&e.id).with_context(|| {
                    format!("{}: no translation of sentence {:?}", path.display(), e.id)
                })
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        if lines.len() != split_len {
            bail!(
                "{}: {} lines for {split_len} sentences (one translation per line, in split order)",
                path.display(),
                lines.len(),
            );
        }
        lines[..examples.len()]
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    Ok(texts
        .iter()
        .map(|t| spell_as_output(t, level, lowercase))
        .collect())
}

/// `texts[i]`, the translation of `examples[i]`, as a candidates file that
/// `--add-candidates` reads back (JSON lines with "id" and "text"); written atomically.
fn write_candidates(
    path: &std::path::Path,
    examples: &[crate::data::Example],
    texts: &[String],
) -> anyhow::Result<()> {
    let mut lines = String::new();
    for (example, text) in examples.iter().zip(texts) {
        lines.push_str(&serde_json::to_string(
            &serde_json::json!({"id": example.id, "text": text}),
        )?);
        lines.push('\n');
    }
    signscope_nn::checkpoint::write_atomic(path, lines.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// One JSON line per sentence: its glosses, reference and scored n-best list.
fn write_nbest(
    path: &std::path::Path,
    examples: &[crate::data::Example],
    references: &[String],
    lists: &[ScoredCandidates],
    char_level: bool,
) -> anyhow::Result<()> {
    let mut text = String::new();
    for ((example, reference), list) in examples.iter().zip(references).zip(lists) {
        let line = NbestLine {
            id: &example.id,
            text_level: if char_level { "char" } else { "word" },
            glosses: &example.source,
            reference,
            candidates: list
                .candidates
                .iter()
                .zip(&list.reconstruction)
                .zip(&list.llm)
                .map(|((c, r), l)| NbestCandidate {
                    text: &c.text,
                    log_prob: c.log_prob,
                    score: c.score,
                    reconstruction: *r,
                    llm_log_prob: l.map(|l| l.log_prob),
                    llm_tokens: l.map(|l| l.tokens),
                })
                .collect(),
        };
        text.push_str(&serde_json::to_string(&line)?);
        text.push('\n');
    }
    signscope_nn::checkpoint::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(serde::Serialize)]
struct NbestLine<'a> {
    id: &'a str,
    /// How the texts are scored: "word", or "char" (per character, e.g. Chinese).
    text_level: &'static str,
    glosses: &'a [String],
    reference: &'a str,
    candidates: Vec<NbestCandidate<'a>>,
}

#[derive(serde::Serialize)]
struct NbestCandidate<'a> {
    text: &'a str,
    log_prob: f64,
    score: f64,
    reconstruction: Option<f64>,
    /// The LLM's summed log-probability of the reply and its token count (`--llm-rescore`).
    #[serde(skip_serializing_if = "Option::is_none")]
    llm_log_prob: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    llm_tokens: Option<usize>,
}

/// The rescorers a command was given, loaded and checked to read what the translator writes.
struct LoadedRescorers {
    reconstruction: Option<ReconstructionReranker>,
    llm: Option<Box<dyn TranslationScorer>>,
}

impl LoadedRescorers {
    fn load(
        reconstruction: Option<&std::path::Path>,
        llm: Option<&std::path::Path>,
        translator: &Translator,
        load_scorer: ScorerLoader,
    ) -> anyhow::Result<Self> {
        let loaded = Self {
            reconstruction: reconstruction
                .map(ReconstructionReranker::load)
                .transpose()?,
            llm: llm
                .map(|dir| load_scorer(dir, translator.config.data.dataset))
                .transpose()?,
        };
        loaded.view().check_pair(translator)?;
        Ok(loaded)
    }

    fn view(&self) -> Rescorers<'_> {
        Rescorers {
            reconstruction: self.reconstruction.as_ref(),
            llm: self.llm.as_deref(),
        }
    }
}

/// For binaries that cannot load an LLM (the `slt` example): `--llm-rescore` is refused.
pub fn no_llm_scorer(
    dir: &std::path::Path,
    _: crate::config::Dataset,
) -> anyhow::Result<Box<dyn TranslationScorer>> {
    bail!(
        "--llm-rescore {}: this binary cannot load LLMs; use `signscope`",
        dir.display()
    )
}

/// The plain beam search's choice: its best hypothesis.
const BEAM_SEARCH: Selection = Selection {
    weight: 0.0,
    llm_weight: 0.0,
    mbr_temperature: None,
};

/// Every selection `eval slt` scores: each pair of a reranking weight (with --rerank) and an
/// LLM weight (with --llm-rescore), each alone (also without either, with --add-candidates)
/// and with each MBR temperature.
fn eval_selections(
    args: &EvalSltArgs,
    reconstruction: bool,
    llm: bool,
) -> anyhow::Result<Vec<Selection>> {
    if let Some(t) = args
        .mbr_temperatures
        .iter()
        .find(|t| t.is_nan() || **t <= 0.0)
    {
        bail!("MBR temperatures must be positive, got {t}");
    }
    if let Some(w) = args.llm_weights.iter().find(|w| !w.is_finite()) {
        bail!("LLM weights must be finite numbers, got {w}");
    }
    let weights = if reconstruction {
        args.rerank_weights.clone()
    } else {
        vec![0.0]
    };
    let alone = reconstruction || llm || !args.add_candidates.is_empty();
    let llm_weights = if llm {
        args.llm_weights.clone()
    } else {
        vec![0.0]
    };
    let mut selections = Vec::new();
    for weight in weights {
        for &llm_weight in &llm_weights {
            let selection = Selection {
                weight,
                llm_weight,
                mbr_temperature: None,
            };
            if alone {
                selections.push(selection);
            }
            for &t in &args.mbr_temperatures {
                selections.push(Selection {
                    mbr_temperature: Some(t),
                    ..selection
                });
            }
        }
    }
    Ok(selections)
}

/// The text each list's selection picks.
fn selected_texts(
    lists: &[ScoredCandidates],
    selections: &[Selection],
    char_level: bool,
) -> Vec<String> {
    lists
        .iter()
        .zip(selections)
        .map(|(l, s)| l.candidates[l.select(*s, char_level)].text.clone())
        .collect()
}

/// Prints the scores of every selection and, with several, of the one chosen for each half
/// of the sentences by 2-fold cross-validation; returns the selection applied to each
/// sentence. `score_picks(sentences, picks)` scores the chosen candidates of those sentences.
fn report_selections(
    lists: &[ScoredCandidates],
    selections: &[Selection],
    reranking: bool,
    char_level: bool,
    score_picks: impl Fn(&[usize], &[usize]) -> DevScores,
) -> Vec<Selection> {
    let label = |s: &Selection| match s.mbr_temperature {
        _ if reranking => format!("reranked ({s})"),
        Some(t) => format!("MBR (temperature {t})"),
        None => "beam search".to_string(),
    };
    let all: Vec<usize> = (0..lists.len()).collect();
    for selection in selections {
        let picks: Vec<usize> = lists
            .iter()
            .map(|l| l.select(*selection, char_level))
            .collect();
        println!(
            "  + {}: {}",
            label(selection),
            score_picks(&all, &picks).summary()
        );
    }
    if let [only] = selections {
        return vec![*only; lists.len()];
    }
    let (picks, applied) = cross_validated_choice(
        lists,
        selections,
        |l, s| l.select(s, char_level),
        |sentences, picks| score_picks(sentences, picks).bleu[3],
    );
    println!(
        "  + selection by 2-fold cross-validation (even sentences: {}; odd: {}): {}",
        applied[0],
        applied[1],
        score_picks(&all, &picks).summary()
    );
    (0..lists.len()).map(|i| applied[i % 2]).collect()
}

impl ExportArgs {
    pub fn storage(&self) -> Storage {
        match (self.f16, self.q8) {
            (_, true) => Storage::Q8,
            (true, false) => Storage::F16,
            (false, false) => Storage::F32,
        }
    }
}

pub fn run_augment(args: AugmentArgs) -> anyhow::Result<()> {
    if args.nbest == 0 {
        bail!("--nbest must be at least 1");
    }
    // Pair ids carry the model's path; a model named twice would give clashing ids.
    for (i, dir) in args.models.iter().enumerate() {
        if args.models[..i].contains(dir) {
            bail!("{}: named twice in --model", dir.display());
        }
    }
    let mut records = Vec::new();
    for dir in &args.models {
        let translator = Translator::load(dir)?;
        let data_dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| translator.config.data_dir());
        let examples = load_split(&translator.config.data, &data_dir, args.split)?;
        let mut options = translator.default_options();
        if let Some(beam) = args.beam {
            options.beam_size = beam;
        }
        let started = std::time::Instant::now();
        let tag = dir.display().to_string();
        let (found, counts) = crate::augment::synthetic_pairs(
            &translator,
            &examples,
            options,
            args.nbest,
            args.keep_copies,
            &tag,
        )
        .with_context(|| format!("translating the {} split with {tag}", args.split.as_str()))?;
        eprintln!(
            "{tag}: {} sentences, {} synthetic pairs ({} translations equal the real side{}), {:.1} s",
            examples.len(),
            counts.written,
            counts.copies,
            if args.keep_copies {
                ", kept"
            } else {
                ", left out"
            },
            started.elapsed().as_secs_f64()
        );
        records.extend(found);
    }
    signscope_corpus::write_manifest(&args.out, &records)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}: {} synthetic pairs", args.out.display(), records.len());
    Ok(())
}

pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let written = crate::translator::export_model(&args.model, &args.out, args.storage())?;
    println!("{} ({:.1} MB)", args.out.display(), written as f64 / 1e6);
    Ok(())
}

pub fn run_correct(args: CorrectArgs) -> anyhow::Result<()> {
    let corrector = args.search.with_ensemble(Translator::load_expecting(
        &args.model,
        Direction::TextCorrection,
    )?)?;
    let options = args.search.options(&corrector);
    let sentences: Vec<String> = match &args.input {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(String::from)
            .collect(),
        None if args.sentences.is_empty() => bail!("give sentences to correct or --input FILE"),
        None => args.sentences.clone(),
    };
    let corrected = corrector
        .correct(&sentences, options)
        .with_context(|| format!("correcting with {}", args.model.display()))?;
    match &args.out {
        Some(path) => {
            let mut text = corrected.join("\n");
            text.push('\n');
            signscope_nn::checkpoint::write_atomic(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            let changed = sentences
                .iter()
                .zip(&corrected)
                .filter(|(a, b)| a != b)
                .count();
            eprintln!(
                "{}: {} of {} sentences changed",
                path.display(),
                changed,
                sentences.len()
            );
        }
        None => {
            for line in corrected {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// The three commands together, for binaries that want them under one subcommand
/// (the `slt` example uses this).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SltCommand {
    /// Train from a TOML configuration.
    Train(TrainSltArgs),
    /// Translate glosses with a trained model.
    Translate(TranslateArgs),
    /// Score a trained model on a split.
    Eval(EvalSltArgs),
    /// Correct translations with a text-correction model.
    Correct(CorrectArgs),
    /// Copy a model folder without checkpoints, optionally as f16 or 8-bit.
    Export(ExportArgs),
}

pub fn run(command: SltCommand) -> anyhow::Result<()> {
    match command {
        SltCommand::Train(args) => run_train(args),
        SltCommand::Translate(args) => run_translate(args, &no_llm_scorer),
        SltCommand::Eval(args) => run_eval(args, &no_llm_scorer),
        SltCommand::Correct(args) => run_correct(args),
        SltCommand::Export(args) => run_export(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Example;
    use crate::translator::Translation;

    #[test]
    fn nbest_lines_carry_glosses_reference_and_scored_candidates() {
        let examples = vec![Example {
            id: "s1".into(),
            source: vec!["MORGEN".into(), "REGEN".into()],
            target: vec!["morgen".into(), "regen".into()],
        }];
        let candidate = |text: &str, score: f64| Translation {
            text: text.into(),
            tokens: text.split(' ').map(String::from).collect(),
            log_prob: 2.0 * score,
            score,
        };
        let lists = vec![ScoredCandidates {
            candidates: vec![candidate("morgen regen", -0.5), candidate("regen", -1.5)],
            reconstruction: vec![Some(-0.25), None],
            llm: vec![
                None,
                Some(crate::rerank::ReplyScore {
                    log_prob: -7.5,
                    tokens: 3,
                }),
            ],
        }];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nbest.jsonl");
        write_nbest(
            &path,
            &examples,
            &["morgen regnet es".into()],
            &lists,
            false,
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["id"], "s1");
        assert_eq!(line["text_level"], "word");
        assert_eq!(line["glosses"], serde_json::json!(["MORGEN", "REGEN"]));
        assert_eq!(line["reference"], "morgen regnet es");
        let candidates = line["candidates"].as_array().unwrap();
        assert_eq!(candidates[0]["text"], "morgen regen");
        assert_eq!(candidates[0]["score"], -0.5);
        assert_eq!(candidates[0]["log_prob"], -1.0);
        assert_eq!(candidates[0]["reconstruction"], -0.25);
        assert!(candidates[1]["reconstruction"].is_null());
        // LLM scores where there are some, no fields where there are none.
        assert!(candidates[0].get("llm_log_prob").is_none());
        assert_eq!(candidates[1]["llm_log_prob"], -7.5);
        assert_eq!(candidates[1]["llm_tokens"], 3);
        // An unwritable path is an error naming it.
        let err = write_nbest(dir.path(), &examples, &["x".into()], &lists, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn candidate_files_are_read_by_id_or_by_line_and_spelled_like_the_translator() {
        use crate::config::TextLevel;
        let example = |id: &str| Example {
            id: id.into(),
            source: vec![],
            target: vec![],
        };
        let examples = vec![example("a"), example("b")];
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("llm.jsonl");
        std::fs::write(
            &jsonl,
            "{\"id\": \"b\", \"text\": \"他 四岁。\"}\n{\"id\": \"a\", \"text\": \"你好\", \"raw\": \"x\"}\n",
        )
        .unwrap();
        let texts = read_candidates(&jsonl, &examples, 2, TextLevel::Char, true).unwrap();
        assert_eq!(texts, vec!["你好", "他四岁。"]);
        // Only the first sentence (--limit 1).
        let texts = read_candidates(&jsonl, &examples[..1], 2, TextLevel::Char, true).unwrap();
        assert_eq!(texts, vec!["你好"]);
        let plain = dir.path().join("hyp.txt");
        std::fs::write(&plain, "Morgen  Regen\nSonne\n").unwrap();
        let texts = read_candidates(&plain, &examples, 2, TextLevel::Word, true).unwrap();
        assert_eq!(texts, vec!["morgen regen", "sonne"]);
        // Errors name the file and the problem.
        let err = read_candidates(&plain, &examples, 3, TextLevel::Word, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hyp.txt") && err.contains("2 lines for 3 sentences"),
            "{err}"
        );
        let missing = vec![example("a"), example("c")];
        let err = read_candidates(&jsonl, &missing, 2, TextLevel::Char, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("llm.jsonl") && err.contains("\"c\""), "{err}");
        std::fs::write(&jsonl, "{\"id\": \"a\"}\n").unwrap();
        let err = read_candidates(&jsonl, &examples, 2, TextLevel::Char, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("\"text\""), "{err}");
    }
}
