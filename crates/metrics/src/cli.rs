//! `signscope score`: score a hypothesis file against a reference file.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use crate::bleu::{BleuConfig, BleuVariant, Tokenizer};
use crate::bootstrap::{BootstrapResult, DEFAULT_SAMPLES, DEFAULT_SEED};
use crate::cleanup::Cleanup;
use crate::io::{FileFormat, read_corpus};
use crate::rouge::RougeVariant;
use crate::score::{
    CorpusScores, Level, Metric, ScoreOptions, SentenceLoss, compare, corpus_scores, prepare,
    sentence_stats, worst_sentences,
};

/// Score hypotheses against references with the papers' reference scorers.
///
/// Files: plain text (one sentence per line, UTF-8, LF or CRLF), STM (`.stm`, e.g. the
/// PHOENIX ground truth) or, for hypotheses with an STM reference, CTM (`.ctm`). Plain
/// files must have the same number of lines.
///
/// Examples:
///   signscope score --metric wer --cleanup phoenix2014t --hyp dev.hyp --ref phoenix2014-T-groundtruth-dev.stm
///   signscope score --metric bleu --metric rouge --hyp dev.de --ref dev.ref.de
///   signscope score --metric all --level char --hyp csl.zh --ref csl.ref.zh --json
///   signscope score --metric bleu --hyp a.txt --compare b.txt --ref ref.txt
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// Metric(s) to compute; repeat the flag for several.
    #[arg(long = "metric", value_enum, default_values_t = [Metric::All])]
    pub metrics: Vec<Metric>,
    /// Hypothesis file (system output).
    #[arg(long)]
    pub hyp: PathBuf,
    /// Reference file.
    #[arg(long = "ref")]
    pub reference: PathBuf,
    /// Token level for WER, BLEU and ROUGE: `char` turns each line into
    /// `' '.join(list(line))` first (CSL-Daily). CER always counts characters.
    #[arg(long, value_enum, default_value_t = Level::Word)]
    pub level: Level,
    /// Gloss cleanup applied to both sides before scoring (signjoey phoenix_cleanup.py).
    #[arg(long, value_enum, default_value_t = Cleanup::None)]
    pub cleanup: Cleanup,
    /// BLEU flavour: `signjoey` = sacrebleu 1.4.2 raw_corpus_bleu (floor 0, effective
    /// order, cumulative BLEU-1..4); `sacrebleu2` = sacrebleu 2.x defaults (exp smoothing).
    #[arg(long, value_enum, default_value_t = BleuVariant::Signjoey)]
    pub bleu_variant: BleuVariant,
    /// BLEU tokenizer; default `none` for signjoey, `13a` for sacrebleu2.
    #[arg(long, value_enum)]
    pub tokenize: Option<Tokenizer>,
    /// Lower-case both sides before BLEU.
    #[arg(long)]
    pub lowercase: bool,
    /// ROUGE-L flavour: `mscoco` (β = 1.2: signjoey, Sign2GPT) or `twostream` (β = P/R).
    #[arg(long, value_enum, default_value_t = RougeVariant::Mscoco)]
    pub rouge_variant: RougeVariant,
    /// Format of the hypothesis file.
    #[arg(long, value_enum, default_value_t = FileFormat::Auto)]
    pub hyp_format: FileFormat,
    /// Format of the reference file.
    #[arg(long, value_enum, default_value_t = FileFormat::Auto)]
    pub ref_format: FileFormat,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// List the N sentences that cost each metric most.
    #[arg(long, value_name = "N")]
    pub per_sentence: Option<usize>,
    /// A second hypothesis file: paired bootstrap test of it (system) against --hyp (baseline).
    #[arg(long, value_name = "OTHER_HYP")]
    pub compare: Option<PathBuf>,
    /// Bootstrap resamples for --compare.
    #[arg(long, default_value_t = DEFAULT_SAMPLES)]
    pub bootstrap_samples: usize,
    /// Random seed for --compare.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

impl ScoreArgs {
    pub fn options(&self) -> ScoreOptions {
        let tokenizer = self.tokenize.unwrap_or(match self.bleu_variant {
            BleuVariant::Signjoey => Tokenizer::None,
            BleuVariant::Sacrebleu2 => Tokenizer::Tok13a,
        });
        ScoreOptions {
            metrics: Metric::expand(&self.metrics),
            level: self.level,
            cleanup: self.cleanup,
            bleu: BleuConfig {
                variant: self.bleu_variant,
                tokenizer,
                char_level: self.level == Level::Char,
                lowercase: self.lowercase,
            },
            rouge: self.rouge_variant,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    pub metric: Metric,
    #[serde(flatten)]
    pub result: BootstrapResult,
}

/// Everything `signscope score` prints (as JSON with --json).
#[derive(Debug, Clone, Serialize)]
pub struct ScoreOutput {
    pub hyp: PathBuf,
    #[serde(rename = "ref")]
    pub reference: PathBuf,
    pub sentences: usize,
    pub options: ScoreOptions,
    pub scores: CorpusScores,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub worst: Vec<(Metric, Vec<SentenceLoss>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_scores: Option<CorpusScores>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bootstrap: Vec<MetricComparison>,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let output = evaluate(&args)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output).context("serialising scores")?
        );
    } else {
        print!("{}", render_text(&output));
    }
    Ok(())
}

/// Read, score and compare, without printing.
pub fn evaluate(args: &ScoreArgs) -> anyhow::Result<ScoreOutput> {
    let options = args.options();
    let corpus = read_corpus(&args.hyp, args.hyp_format, &args.reference, args.ref_format)?;
    let prepared = prepare(&corpus.hypotheses, &corpus.references, options.cleanup);
    let stats = sentence_stats(&prepared, &options);
    let scores = corpus_scores(&stats, &options);

    let mut worst = Vec::new();
    if let Some(top) = args.per_sentence {
        for &metric in &options.metrics {
            let ids = corpus.ids.as_deref();
            worst.push((
                metric,
                worst_sentences(metric, &stats, &prepared, ids, &options, top),
            ));
        }
    }

    let (mut compare_scores, mut bootstrap) = (None, Vec::new());
    if let Some(other) = &args.compare {
        let other_corpus = read_corpus(other, args.hyp_format, &args.reference, args.ref_format)?;
        let other_prepared = prepare(
            &other_corpus.hypotheses,
            &other_corpus.references,
            options.cleanup,
        );
        anyhow::ensure!(
            !prepared.hypotheses.is_empty(),
            "--compare needs at least one sentence; {} is empty",
            args.reference.display()
        );
        let other_stats = sentence_stats(&other_prepared, &options);
        compare_scores = Some(corpus_scores(&other_stats, &options));
        for &metric in &options.metrics {
            if let Some(result) = compare(
                metric,
                &stats,
                &other_stats,
                &options,
                args.bootstrap_samples,
                args.seed,
            ) {
                bootstrap.push(MetricComparison { metric, result });
            }
        }
    }

    Ok(ScoreOutput {
        hyp: args.hyp.clone(),
        reference: args.reference.clone(),
        sentences: prepared.hypotheses.len(),
        options,
        scores,
        worst,
        compare: args.compare.clone(),
        compare_scores,
        bootstrap,
    })
}

fn cleanup_name(cleanup: Cleanup) -> &'static str {
    match cleanup {
        Cleanup::Phoenix2014 => "phoenix2014",
        Cleanup::Phoenix2014t => "phoenix2014t",
        Cleanup::None => "none",
    }
}

fn describe_bleu(options: &ScoreOptions) -> String {
    let variant = match options.bleu.variant {
        BleuVariant::Signjoey => "sacrebleu 1.4.2 raw_corpus_bleu (signjoey)",
        BleuVariant::Sacrebleu2 => "sacrebleu 2.x, exp smoothing",
    };
    let tokenizer = match options.bleu.tokenizer {
        Tokenizer::None => "none",
        Tokenizer::Tok13a => "13a",
        Tokenizer::Zh => "zh",
    };
    let level = if options.bleu.char_level {
        "char"
    } else {
        "word"
    };
    format!("{variant}, tokenize {tokenizer}, {level} level")
}

fn render_scores(out: &mut String, scores: &CorpusScores, options: &ScoreOptions) {
    if let Some(w) = &scores.wer {
        let c = &w.counts;
        let _ = writeln!(
            out,
            "WER      {:6.2}  (S {} D {} I {} / N {}; sclite weights 4/3/3; cleanup {})",
            w.wer,
            c.substitutions,
            c.deletions,
            c.insertions,
            c.reference_len,
            cleanup_name(options.cleanup)
        );
    }
    if let Some(b) = &scores.bleu {
        let ratio = b.stats.sys_len as f64 / b.stats.ref_len.max(1) as f64;
        let _ = writeln!(
            out,
            "BLEU-1..4 {:6.2} {:6.2} {:6.2} {:6.2}  (BP {:.3}, ratio {:.3}, hyp_len {}, ref_len {}; {})",
            b.bleu[0],
            b.bleu[1],
            b.bleu[2],
            b.bleu[3],
            b.brevity_penalty,
            ratio,
            b.stats.sys_len,
            b.stats.ref_len,
            describe_bleu(options)
        );
    }
    if let Some(r) = scores.rouge {
        let variant = match options.rouge {
            RougeVariant::Mscoco => "mscoco, beta 1.2",
            RougeVariant::TwoStream => "TwoStream, beta P/R",
        };
        let _ = writeln!(out, "ROUGE-L  {r:6.2}  ({variant}, sentence average)");
    }
    if let Some(c) = &scores.cer {
        let _ = writeln!(
            out,
            "CER      {:6.2}  ({} edits / {} reference characters)",
            c.cer, c.distance.edits, c.distance.reference_len
        );
    }
}

/// The plain-text report.
pub fn render_text(output: &ScoreOutput) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} vs {} ({} sentences)",
        output.hyp.display(),
        output.reference.display(),
        output.sentences
    );
    render_scores(&mut out, &output.scores, &output.options);
    for (metric, worst) in &output.worst {
        let _ = writeln!(
            out,
            "\nsentences that cost {} most (loss = corpus points):",
            metric.label()
        );
        for s in worst {
            let id =
                s.id.as_deref()
                    .map(|id| format!(" {id}"))
                    .unwrap_or_default();
            let _ = writeln!(
                out,
                "  #{}{id}  loss {:.3}  score {:.2}\n    ref: {}\n    hyp: {}",
                s.index + 1,
                s.loss,
                s.score,
                s.reference,
                s.hypothesis
            );
        }
    }
    if let (Some(other), Some(scores)) = (&output.compare, &output.compare_scores) {
        let _ = writeln!(
            out,
            "\n{} (system) vs {} (baseline):",
            other.display(),
            output.hyp.display()
        );
        render_scores(&mut out, scores, &output.options);
        for c in &output.bootstrap {
            let r = &c.result;
            let _ = writeln!(
                out,
                "paired bootstrap {}: baseline {:.2} ({:.2} ± {:.2}), system {:.2} ({:.2} ± {:.2}), p = {:.4}  ({} resamples, seed {})",
                c.metric.label(),
                r.baseline_score,
                r.baseline_mean,
                r.baseline_ci,
                r.system_score,
                r.system_mean,
                r.system_ci,
                r.p_value,
                r.samples,
                r.seed
            );
        }
    }
    out
}
