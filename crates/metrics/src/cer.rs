//! Character error rate, and word error rate with uniform weights, as jiwer computes them:
//! Levenshtein distance with unit costs summed over sentences, divided by the number of
//! reference units. jiwer's `cer` strips each line (`str.strip()`) and keeps inner spaces
//! as characters; its `wer` splits on whitespace.

use serde::Serialize;

use crate::text::{py_split, py_strip};

/// Unit-cost edit distance.
pub fn levenshtein<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if r == h {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[hypothesis.len()]
}

/// Edit distance and reference length of one sentence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Distance {
    pub edits: usize,
    pub reference_len: usize,
}

impl std::ops::AddAssign for Distance {
    fn add_assign(&mut self, other: Self) {
        self.edits += other.edits;
        self.reference_len += other.reference_len;
    }
}

impl Distance {
    pub fn rate(&self) -> f64 {
        crate::wer::ratio_percent(self.edits, self.reference_len)
    }
}

/// Corpus rate in percent plus the per-sentence distances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateReport {
    pub rate: f64,
    pub edits: usize,
    pub reference_len: usize,
    pub sentences: Vec<Distance>,
}

fn corpus_rate<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[H],
    references: &[R],
    distance: impl Fn(&str, &str) -> Distance,
) -> RateReport {
    let sentences: Vec<Distance> = hypotheses
        .iter()
        .zip(references)
        .map(|(h, r)| distance(h.as_ref(), r.as_ref()))
        .collect();
    let edits = sentences.iter().map(|d| d.edits).sum();
    let reference_len = sentences.iter().map(|d| d.reference_len).sum();
    RateReport {
        rate: crate::wer::ratio_percent(edits, reference_len),
        edits,
        reference_len,
        sentences,
    }
}

pub fn char_distance(hypothesis: &str, reference: &str) -> Distance {
    let h: Vec<char> = py_strip(hypothesis).chars().collect();
    let r: Vec<char> = py_strip(reference).chars().collect();
    Distance {
        edits: levenshtein(&r, &h),
        reference_len: r.len(),
    }
}

pub fn word_distance(hypothesis: &str, reference: &str) -> Distance {
    let h: Vec<&str> = py_split(hypothesis).collect();
    let r: Vec<&str> = py_split(reference).collect();
    Distance {
        edits: levenshtein(&r, &h),
        reference_len: r.len(),
    }
}

/// jiwer `cer(reference, hypothesis)` × 100.
pub fn corpus_cer<H: AsRef<str>, R: AsRef<str>>(hypotheses: &[H], references: &[R]) -> RateReport {
    corpus_rate(hypotheses, references, char_distance)
}

/// jiwer `wer(reference, hypothesis)` × 100 (unit costs, not sclite's).
pub fn corpus_wer_uniform<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[H],
    references: &[R],
) -> RateReport {
    corpus_rate(hypotheses, references, word_distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_examples() {
        let a: Vec<char> = "kitten".chars().collect();
        let b: Vec<char> = "sitting".chars().collect();
        assert_eq!(levenshtein(&a, &b), 3);
        assert_eq!(levenshtein::<char>(&[], &['x']), 1);
    }

    #[test]
    fn cer_counts_unicode_characters_not_bytes() {
        let r = corpus_cer(&["schöne grüße"], &["schone grüße"]);
        assert_eq!((r.edits, r.reference_len), (1, 12));
        let r = corpus_cer(&["他今年四岁"], &["他今年四岁。"]);
        assert_eq!((r.edits, r.reference_len), (1, 6));
    }
}
