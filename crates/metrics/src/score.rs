//! Scoring a paired corpus with several metrics at once, keeping the per-sentence
//! sufficient statistics that the per-sentence report and the paired bootstrap need.

use serde::Serialize;

use crate::bleu::{BleuConfig, BleuScore, BleuStats};
use crate::bootstrap::{BootstrapResult, MeanStat, paired_bootstrap};
use crate::cer::{Distance, char_distance};
use crate::cleanup::Cleanup;
use crate::rouge::RougeVariant;
use crate::text::{char_level, py_split};
use crate::wer::{EditCounts, edit_counts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// sclite-weighted WER (signjoey / TwoStream).
    Wer,
    /// Corpus BLEU-1..4.
    Bleu,
    /// Sentence-averaged ROUGE-L.
    Rouge,
    /// Character error rate (jiwer).
    Cer,
    /// All of the above.
    All,
}

impl Metric {
    /// Name for reports.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Wer => "WER",
            Metric::Bleu => "BLEU-4",
            Metric::Rouge => "ROUGE-L",
            Metric::Cer => "CER",
            Metric::All => "all",
        }
    }

    /// `All` expanded, duplicates removed, in a fixed order.
    pub fn expand(selected: &[Metric]) -> Vec<Metric> {
        let mut out: Vec<Metric> = if selected.is_empty() || selected.contains(&Metric::All) {
            vec![Metric::Wer, Metric::Bleu, Metric::Rouge, Metric::Cer]
        } else {
            selected.to_vec()
        };
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Whitespace-separated tokens.
    #[default]
    Word,
    /// Every character a token: `' '.join(list(s))` (CSL-Daily).
    Char,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreOptions {
    pub metrics: Vec<Metric>,
    pub level: Level,
    pub cleanup: Cleanup,
    pub bleu: BleuConfig,
    pub rouge: RougeVariant,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            metrics: Metric::expand(&[]),
            level: Level::Word,
            cleanup: Cleanup::None,
            bleu: BleuConfig::signjoey(),
            rouge: RougeVariant::Mscoco,
        }
    }
}

/// Per-sentence statistics of every selected metric (empty vectors for the others).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SentenceStats {
    pub wer: Vec<EditCounts>,
    pub bleu: Vec<BleuStats>,
    pub rouge: Vec<MeanStat>,
    pub cer: Vec<Distance>,
}

/// Corpus scores; `None` for metrics not asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusScores {
    pub wer: Option<EditCountsSummary>,
    pub bleu: Option<BleuScore>,
    /// ROUGE-L × 100.
    pub rouge: Option<f64>,
    pub cer: Option<DistanceSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EditCountsSummary {
    /// (S + D + I) / N × 100.
    pub wer: f64,
    #[serde(flatten)]
    pub counts: EditCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DistanceSummary {
    /// Edits / reference characters × 100.
    pub cer: f64,
    #[serde(flatten)]
    pub distance: Distance,
}

/// Lines after cleanup (and for WER/BLEU/ROUGE the level), as every metric sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prepared {
    pub hypotheses: Vec<String>,
    pub references: Vec<String>,
}

pub fn prepare<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[H],
    references: &[R],
    cleanup: Cleanup,
) -> Prepared {
    Prepared {
        hypotheses: hypotheses
            .iter()
            .map(|h| cleanup.apply(h.as_ref()))
            .collect(),
        references: references
            .iter()
            .map(|r| cleanup.apply(r.as_ref()))
            .collect(),
    }
}

fn wer_tokens(line: &str, level: Level) -> Vec<String> {
    match level {
        Level::Word => py_split(line).map(str::to_owned).collect(),
        Level::Char => py_split(&char_level(line)).map(str::to_owned).collect(),
    }
}

/// Per-sentence statistics of the selected metrics.
pub fn sentence_stats(prepared: &Prepared, options: &ScoreOptions) -> SentenceStats {
    let metrics = Metric::expand(&options.metrics);
    let pairs = prepared.hypotheses.iter().zip(&prepared.references);
    let char_level = options.level == Level::Char;
    let mut stats = SentenceStats::default();
    if metrics.contains(&Metric::Wer) {
        stats.wer = pairs
            .clone()
            .map(|(h, r)| edit_counts(&wer_tokens(r, options.level), &wer_tokens(h, options.level)))
            .collect();
    }
    if metrics.contains(&Metric::Bleu) {
        let config = BleuConfig {
            char_level,
            ..options.bleu
        };
        stats.bleu = pairs
            .clone()
            .map(|(h, r)| config.sentence_stats(h, r))
            .collect();
    }
    if metrics.contains(&Metric::Rouge) {
        stats.rouge = pairs
            .clone()
            .map(|(h, r)| MeanStat::one(options.rouge.sentence(h, r, char_level)))
            .collect();
    }
    if metrics.contains(&Metric::Cer) {
        stats.cer = pairs.map(|(h, r)| char_distance(h, r)).collect();
    }
    stats
}

fn sum<S: Copy + Default + std::ops::AddAssign>(items: &[S]) -> S {
    let mut total = S::default();
    for &s in items {
        total += s;
    }
    total
}

/// Corpus scores from per-sentence statistics.
pub fn corpus_scores(stats: &SentenceStats, options: &ScoreOptions) -> CorpusScores {
    let metrics = Metric::expand(&options.metrics);
    let mut scores = CorpusScores::default();
    if metrics.contains(&Metric::Wer) {
        let counts = sum(&stats.wer);
        scores.wer = Some(EditCountsSummary {
            wer: counts.rate(),
            counts,
        });
    }
    if metrics.contains(&Metric::Bleu) {
        scores.bleu = Some(options.bleu.variant.compute(&sum(&stats.bleu)));
    }
    if metrics.contains(&Metric::Rouge) {
        // Same summation as the references (see `rouge::corpus_rouge`).
        let sentences: Vec<f64> = stats.rouge.iter().map(|m| m.sum).collect();
        let rouge = crate::rouge::average(&sentences, options.rouge);
        scores.rouge = Some(rouge);
    }
    if metrics.contains(&Metric::Cer) {
        let distance = sum(&stats.cer);
        scores.cer = Some(DistanceSummary {
            cer: distance.rate(),
            distance,
        });
    }
    scores
}

/// One sentence of the "which sentences lost most" report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceLoss {
    pub index: usize,
    pub id: Option<String>,
    pub hypothesis: String,
    pub reference: String,
    /// The sentence's own score (WER/CER %, ROUGE-L ×100, BLEU-4 of the sentence alone).
    pub score: f64,
    /// Corpus points this sentence costs: how much the corpus score would improve if
    /// this hypothesis were perfect (WER/CER: its errors / all reference units × 100;
    /// ROUGE-L: (1 − its score) / n × 100; BLEU-4: BLEU with its statistics replaced by a
    /// perfect match minus BLEU).
    pub loss: f64,
}

/// The `top` sentences that cost `metric` most, worst first.
pub fn worst_sentences(
    metric: Metric,
    stats: &SentenceStats,
    prepared: &Prepared,
    ids: Option<&[String]>,
    options: &ScoreOptions,
    top: usize,
) -> Vec<SentenceLoss> {
    let n = prepared.hypotheses.len();
    let scored: Vec<(f64, f64)> = match metric {
        Metric::Wer => {
            let total = sum(&stats.wer).reference_len.max(1) as f64;
            stats
                .wer
                .iter()
                .map(|c| (c.rate(), 100.0 * c.errors() as f64 / total))
                .collect()
        }
        Metric::Cer => {
            let total = sum(&stats.cer).reference_len.max(1) as f64;
            stats
                .cer
                .iter()
                .map(|d| (d.rate(), 100.0 * d.edits as f64 / total))
                .collect()
        }
        Metric::Rouge => stats
            .rouge
            .iter()
            .map(|m| (100.0 * m.sum, 100.0 * (1.0 - m.sum) / n.max(1) as f64))
            .collect(),
        Metric::Bleu => {
            let variant = options.bleu.variant;
            let config = BleuConfig {
                char_level: options.level == Level::Char,
                ..options.bleu
            };
            let total = sum(&stats.bleu);
            let corpus = variant.compute(&total).bleu4();
            stats
                .bleu
                .iter()
                .zip(&prepared.references)
                .map(|(s, r)| {
                    let mut oracle = total;
                    oracle -= *s;
                    oracle += config.sentence_stats(r, r);
                    (
                        variant.compute(s).bleu4(),
                        variant.compute(&oracle).bleu4() - corpus,
                    )
                })
                .collect()
        }
        Metric::All => return Vec::new(),
    };
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| scored[b].1.total_cmp(&scored[a].1).then(a.cmp(&b)));
    order
        .into_iter()
        .take(top)
        .map(|i| SentenceLoss {
            index: i,
            id: ids.map(|ids| ids[i].clone()),
            hypothesis: prepared.hypotheses[i].clone(),
            reference: prepared.references[i].clone(),
            score: scored[i].0,
            loss: scored[i].1,
        })
        .collect()
}

/// Paired bootstrap of `metric` between a baseline and a system (same references).
pub fn compare(
    metric: Metric,
    baseline: &SentenceStats,
    system: &SentenceStats,
    options: &ScoreOptions,
    samples: usize,
    seed: u64,
) -> Option<BootstrapResult> {
    Some(match metric {
        Metric::Wer => {
            paired_bootstrap(&baseline.wer, &system.wer, EditCounts::rate, samples, seed)
        }
        Metric::Cer => paired_bootstrap(&baseline.cer, &system.cer, Distance::rate, samples, seed),
        Metric::Rouge => paired_bootstrap(
            &baseline.rouge,
            &system.rouge,
            |m: &MeanStat| 100.0 * m.mean(),
            samples,
            seed,
        ),
        Metric::Bleu => {
            let variant = options.bleu.variant;
            paired_bootstrap(
                &baseline.bleu,
                &system.bleu,
                |s| variant.compute(s).bleu4(),
                samples,
                seed,
            )
        }
        Metric::All => return None,
    })
}
