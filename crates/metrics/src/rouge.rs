//! Sentence-averaged ROUGE-L (×100) in the two forms the papers use.
//!
//! * [`RougeVariant::Mscoco`] — signjoey `external_metrics/mscoco_rouge.py` `calc_score`
//!   (also Sign2GPT): tokens are `s.split(" ")` (so a double space yields an empty token and
//!   an empty line is one empty token), `F = (1+β²)PR / (R + β²P)` with β = 1.2, 0 when P or
//!   R is 0; `rouge()` sums `score / n` over sentences.
//! * [`RougeVariant::TwoStream`] — TwoStream `utils/metrics.py` `rouge()` →
//!   `external_metrics/Rouge.py` `rouge_l_sentence_level`: tokens `' '.join(s.split())
//!   .split(" ")` (char level: `' '.join(list(s)).split(" ")`), β = P / (R + 1e-12),
//!   `F = (1+β²)RP / (R + β²P + 1e-12)`, averaged with `np.mean`.
//!
//! With β = P/R the TwoStream value is not an F-measure in the usual sense (it moves toward
//! the larger of P and R); it is reproduced as published.

use serde::Serialize;

/// Which ROUGE-L to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RougeVariant {
    /// mscoco `calc_score`, β = 1.2 (signjoey, Sign2GPT).
    #[default]
    Mscoco,
    /// TwoStream `rouge_l_sentence_level`, β = P/R.
    #[value(name = "twostream")]
    TwoStream,
}

pub const MSCOCO_BETA: f64 = 1.2;

/// Length of the longest common subsequence, O(|a|·|b|) time, O(|b|) memory.
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// mscoco `calc_score(hypotheses=[h], references=[r])` in [0, 1].
pub fn mscoco_sentence(hypothesis: &str, reference: &str, beta: f64) -> f64 {
    let c: Vec<&str> = hypothesis.split(' ').collect();
    let r: Vec<&str> = reference.split(' ').collect();
    let lcs = lcs_len(&r, &c) as f64;
    let precision = lcs / c.len() as f64;
    let recall = lcs / r.len() as f64;
    if precision != 0.0 && recall != 0.0 {
        ((1.0 + beta * beta) * precision * recall) / (recall + beta * beta * precision)
    } else {
        0.0
    }
}

/// TwoStream `_f_p_r_lcs` F value in [0, 1] for one pair of token lists.
fn twostream_f(evaluated: &[&str], reference: &[&str]) -> f64 {
    let lcs = lcs_len(evaluated, reference) as f64;
    let r_lcs = lcs / reference.len() as f64;
    let p_lcs = lcs / evaluated.len() as f64;
    let beta = p_lcs / (r_lcs + 1e-12);
    let num = (1.0 + beta * beta) * r_lcs * p_lcs;
    let denom = r_lcs + beta * beta * p_lcs;
    num / (denom + 1e-12)
}

/// TwoStream tokens of one line, joined back with single spaces.
fn twostream_text(s: &str, char_level: bool) -> String {
    if char_level {
        crate::text::char_level(s)
    } else {
        crate::text::collapse_spaces(s)
    }
}

/// TwoStream `rouge_l_sentence_level([h], [r])` F in [0, 1].
pub fn twostream_sentence(hypothesis: &str, reference: &str, char_level: bool) -> f64 {
    let h = twostream_text(hypothesis, char_level);
    let r = twostream_text(reference, char_level);
    let h: Vec<&str> = h.split(' ').collect();
    let r: Vec<&str> = r.split(' ').collect();
    twostream_f(&h, &r)
}

impl RougeVariant {
    /// Sentence score in [0, 1]. For `Mscoco` at character level the lines are first made
    /// `' '.join(list(s))` (TwoStream's `rouge_deprecated(level='char')`).
    pub fn sentence(self, hypothesis: &str, reference: &str, char_level: bool) -> f64 {
        match self {
            RougeVariant::Mscoco if char_level => mscoco_sentence(
                &crate::text::char_level(hypothesis),
                &crate::text::char_level(reference),
                MSCOCO_BETA,
            ),
            RougeVariant::Mscoco => mscoco_sentence(hypothesis, reference, MSCOCO_BETA),
            RougeVariant::TwoStream => twostream_sentence(hypothesis, reference, char_level),
        }
    }
}

/// Corpus ROUGE-L ×100 with its per-sentence scores (in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RougeReport {
    pub rouge_l: f64,
    pub sentences: Vec<f64>,
}

/// Sentence-averaged ROUGE-L ×100; summation order follows each reference so the last
/// digits agree too (signjoey adds `score / n`, TwoStream takes a mean).
pub fn corpus_rouge<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[H],
    references: &[R],
    variant: RougeVariant,
    char_level: bool,
) -> RougeReport {
    let sentences: Vec<f64> = hypotheses
        .iter()
        .zip(references)
        .map(|(h, r)| variant.sentence(h.as_ref(), r.as_ref(), char_level))
        .collect();
    RougeReport {
        rouge_l: average(&sentences, variant),
        sentences,
    }
}

/// Corpus ROUGE-L ×100 from sentence scores in [0, 1], summed as each reference does.
pub fn average(sentences: &[f64], variant: RougeVariant) -> f64 {
    if sentences.is_empty() {
        return 0.0;
    }
    let n = sentences.len() as f64;
    match variant {
        RougeVariant::Mscoco => sentences.iter().fold(0.0, |acc, s| acc + s / n) * 100.0,
        RougeVariant::TwoStream => sentences.iter().sum::<f64>() / n * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_examples() {
        assert_eq!(lcs_len(&["a", "b", "c", "d"], &["a", "c", "d", "b"]), 3);
        assert_eq!(lcs_len::<&str>(&[], &["a"]), 0);
    }

    #[test]
    fn mscoco_values() {
        // P = 2/3, R = 2/4.
        let (p, r, b2) = (2.0 / 3.0, 0.5, 1.44);
        let expected = (1.0 + b2) * p * r / (r + b2 * p);
        assert!((mscoco_sentence("a x c", "a b c d", 1.2) - expected).abs() < 1e-15);
        assert_eq!(mscoco_sentence("", "a b", 1.2), 0.0);
        // Both empty: [''] vs [''] share one (empty) token, so the reference scores 1.
        assert_eq!(mscoco_sentence("", "", 1.2), 1.0);
    }

    #[test]
    fn twostream_equal_sentences_score_one() {
        let s = twostream_sentence("a b c", "a  b c", false);
        assert!((s - 1.0).abs() < 1e-9);
        assert_eq!(twostream_sentence("", "a", false), 0.0);
    }
}
