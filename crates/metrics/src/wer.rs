//! Word error rate with sclite's weights, as signjoey / TwoStream `metrics.py` compute it.
//!
//! The dynamic programme charges substitution 4, deletion 3 and insertion 3; these weights
//! only choose the alignment. The reported rate counts every error once:
//! `WER = (S + D + I) / N` summed over the corpus, N = reference tokens.
//!
//! The backtrace walks from the bottom-right corner and prefers, in this order: correct
//! (diagonal, equal tokens, equal cost), substitution, insertion, deletion — exactly the
//! order of `get_alignment` in the reference, so S/D/I splits agree as well as totals.
//!
//! One deliberate difference: the reference stores the cost matrix as `np.uint8`, which wraps
//! once a cost passes 255 (3 × (|ref| + |hyp|) > 255, i.e. pairs of more than ~85 tokens).
//! We use `u32`; below that size the two agree bit for bit, above it the reference is wrong.

use serde::Serialize;

pub const COST_SUBSTITUTION: u32 = 4;
pub const COST_DELETION: u32 = 3;
pub const COST_INSERTION: u32 = 3;

/// One step of an alignment between a reference and a hypothesis token sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AlignOp {
    /// Reference and hypothesis token agree.
    Correct { token: String },
    /// The reference token was recognised as another one.
    Substitute {
        reference: String,
        hypothesis: String,
    },
    /// The hypothesis has a token the reference lacks.
    Insert { hypothesis: String },
    /// The hypothesis misses a reference token.
    Delete { reference: String },
}

impl AlignOp {
    /// sclite's one-letter code: C, S, I or D.
    pub fn code(&self) -> char {
        match self {
            AlignOp::Correct { .. } => 'C',
            AlignOp::Substitute { .. } => 'S',
            AlignOp::Insert { .. } => 'I',
            AlignOp::Delete { .. } => 'D',
        }
    }

    pub fn is_error(&self) -> bool {
        !matches!(self, AlignOp::Correct { .. })
    }
}

/// Error counts of one sentence or of a whole corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EditCounts {
    pub correct: usize,
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    /// Reference tokens (N).
    pub reference_len: usize,
}

impl EditCounts {
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// (S + D + I) / N × 100. An empty reference with errors gives infinity, an empty
    /// reference without errors 0 (the reference code divides by zero instead).
    pub fn rate(&self) -> f64 {
        ratio_percent(self.errors(), self.reference_len)
    }

    pub fn from_ops(ops: &[AlignOp]) -> Self {
        let mut counts = EditCounts::default();
        for op in ops {
            match op {
                AlignOp::Correct { .. } => counts.correct += 1,
                AlignOp::Substitute { .. } => counts.substitutions += 1,
                AlignOp::Insert { .. } => counts.insertions += 1,
                AlignOp::Delete { .. } => counts.deletions += 1,
            }
        }
        counts.reference_len = counts.correct + counts.substitutions + counts.deletions;
        counts
    }
}

impl std::ops::AddAssign for EditCounts {
    fn add_assign(&mut self, other: Self) {
        self.correct += other.correct;
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_len += other.reference_len;
    }
}

pub(crate) fn ratio_percent(errors: usize, reference_len: usize) -> f64 {
    if reference_len == 0 {
        if errors == 0 { 0.0 } else { f64::INFINITY }
    } else {
        100.0 * errors as f64 / reference_len as f64
    }
}

/// Cost matrix `d[i][j]` of aligning `reference[..i]` with `hypothesis[..j]`,
/// row-major with `hypothesis.len() + 1` columns.
fn cost_matrix<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> Vec<u32> {
    let columns = hypothesis.len() + 1;
    let mut d = vec![0u32; (reference.len() + 1) * columns];
    for (j, cell) in d.iter_mut().take(columns).enumerate() {
        *cell = j as u32 * COST_INSERTION;
    }
    for i in 1..=reference.len() {
        d[i * columns] = i as u32 * COST_DELETION;
        for j in 1..columns {
            d[i * columns + j] = if reference[i - 1] == hypothesis[j - 1] {
                d[(i - 1) * columns + j - 1]
            } else {
                let substitute = d[(i - 1) * columns + j - 1] + COST_SUBSTITUTION;
                let insert = d[i * columns + j - 1] + COST_INSERTION;
                let delete = d[(i - 1) * columns + j] + COST_DELETION;
                substitute.min(insert).min(delete)
            };
        }
    }
    d
}

/// Alignment as index steps (reference index, hypothesis index), in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Correct(usize, usize),
    Substitute(usize, usize),
    Insert(usize),
    Delete(usize),
}

pub(crate) fn align_steps<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> Vec<Step> {
    let d = cost_matrix(reference, hypothesis);
    let columns = hypothesis.len() + 1;
    let at = |x: usize, y: usize| d[x * columns + y];
    let (mut x, mut y) = (reference.len(), hypothesis.len());
    let mut steps = Vec::with_capacity(x + y);
    while x > 0 || y > 0 {
        if x >= 1 && y >= 1 && at(x, y) == at(x - 1, y - 1) && reference[x - 1] == hypothesis[y - 1]
        {
            steps.push(Step::Correct(x - 1, y - 1));
            x -= 1;
            y -= 1;
        } else if x >= 1 && y >= 1 && at(x, y) == at(x - 1, y - 1) + COST_SUBSTITUTION {
            steps.push(Step::Substitute(x - 1, y - 1));
            x -= 1;
            y -= 1;
        } else if y >= 1 && at(x, y) == at(x, y - 1) + COST_INSERTION {
            steps.push(Step::Insert(y - 1));
            y -= 1;
        } else {
            steps.push(Step::Delete(x - 1));
            x -= 1;
        }
    }
    steps.reverse();
    steps
}

/// sclite-weighted alignment of two token sequences (signjoey `get_alignment`).
///
/// ```
/// use signscope_metrics::{align, AlignOp};
/// let ops = align(&["A", "B", "C"], &["A", "X", "C", "D"]);
/// assert_eq!(ops[1], AlignOp::Substitute { reference: "B".into(), hypothesis: "X".into() });
/// assert_eq!(ops[3], AlignOp::Insert { hypothesis: "D".into() });
/// ```
pub fn align<S: AsRef<str>>(reference: &[S], hypothesis: &[S]) -> Vec<AlignOp> {
    let reference: Vec<&str> = reference.iter().map(AsRef::as_ref).collect();
    let hypothesis: Vec<&str> = hypothesis.iter().map(AsRef::as_ref).collect();
    align_steps(&reference, &hypothesis)
        .into_iter()
        .map(|step| match step {
            Step::Correct(i, _) => AlignOp::Correct {
                token: reference[i].to_owned(),
            },
            Step::Substitute(i, j) => AlignOp::Substitute {
                reference: reference[i].to_owned(),
                hypothesis: hypothesis[j].to_owned(),
            },
            Step::Insert(j) => AlignOp::Insert {
                hypothesis: hypothesis[j].to_owned(),
            },
            Step::Delete(i) => AlignOp::Delete {
                reference: reference[i].to_owned(),
            },
        })
        .collect()
}

/// Counts of the sclite-weighted alignment, without building the token strings.
pub fn edit_counts<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> EditCounts {
    let mut counts = EditCounts {
        reference_len: reference.len(),
        ..Default::default()
    };
    for step in align_steps(reference, hypothesis) {
        match step {
            Step::Correct(..) => counts.correct += 1,
            Step::Substitute(..) => counts.substitutions += 1,
            Step::Insert(_) => counts.insertions += 1,
            Step::Delete(_) => counts.deletions += 1,
        }
    }
    counts
}

/// Per-sentence counts and their corpus sum; sentences are whitespace-split
/// (`str.strip().split()` in the reference).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WerReport {
    pub total: EditCounts,
    pub sentences: Vec<EditCounts>,
}

impl WerReport {
    /// Corpus WER in percent.
    pub fn wer(&self) -> f64 {
        self.total.rate()
    }
}

/// signjoey `wer_list(references, hypotheses)`: sentence pairs are aligned one by one, counts
/// summed. Arguments in the order of the other `corpus_*` functions (hypotheses first).
pub fn corpus_wer<H: AsRef<str>, R: AsRef<str>>(hypotheses: &[H], references: &[R]) -> WerReport {
    let mut total = EditCounts::default();
    let sentences: Vec<EditCounts> = references
        .iter()
        .zip(hypotheses)
        .map(|(r, h)| {
            let r: Vec<&str> = crate::text::py_split(r.as_ref()).collect();
            let h: Vec<&str> = crate::text::py_split(h.as_ref()).collect();
            let counts = edit_counts(&r, &h);
            total += counts;
            counts
        })
        .collect();
    WerReport { total, sentences }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(ops: &[AlignOp]) -> String {
        ops.iter().map(AlignOp::code).collect()
    }

    #[test]
    fn identical_sequences_are_all_correct() {
        let ops = align(&["A", "B"], &["A", "B"]);
        assert_eq!(codes(&ops), "CC");
        assert_eq!(EditCounts::from_ops(&ops).rate(), 0.0);
    }

    #[test]
    fn substitution_preferred_over_delete_plus_insert() {
        // 4 < 3 + 3: one substitution, not a deletion and an insertion.
        assert_eq!(codes(&align(&["A"], &["B"])), "S");
    }

    #[test]
    fn empty_sides() {
        assert_eq!(codes(&align::<&str>(&[], &["A", "B"])), "II");
        assert_eq!(codes(&align::<&str>(&["A", "B"], &[])), "DD");
        assert!(align::<&str>(&[], &[]).is_empty());
        let counts = edit_counts::<&str>(&[], &["A"]);
        assert_eq!(counts.rate(), f64::INFINITY);
    }

    #[test]
    fn shifted_sequence_uses_delete_and_insert() {
        // "A B C" vs "B C D": deleting A and inserting D costs 6 < 3 substitutions (12).
        let ops = align(&["A", "B", "C"], &["B", "C", "D"]);
        assert_eq!(codes(&ops), "DCCI");
        let c = EditCounts::from_ops(&ops);
        assert_eq!(
            (c.substitutions, c.deletions, c.insertions, c.reference_len),
            (0, 1, 1, 3)
        );
    }

    #[test]
    fn backtrace_takes_insertion_before_deletion() {
        // r = "A B", h = "B A": the cheapest cost is 6 (one deletion, one insertion). From
        // the end: B≠A so no C, S would need 8, I matches d(2,1) + 3 = 6, so the final A is
        // an insertion, then B is correct and A deleted.
        let ops = align(&["A", "B"], &["B", "A"]);
        assert_eq!(codes(&ops), "DCI");
    }

    use proptest::prelude::*;

    proptest! {
        /// The alignment spells out both sequences, and its weighted cost is the minimum of
        /// the dynamic programme (so the backtrace never takes a wrong branch).
        #[test]
        fn alignment_is_consistent_and_optimal(
            reference in proptest::collection::vec("[ABC]", 0..9),
            hypothesis in proptest::collection::vec("[ABC]", 0..9),
        ) {
            let ops = align(&reference, &hypothesis);
            let mut r_side = Vec::new();
            let mut h_side = Vec::new();
            for op in &ops {
                match op {
                    AlignOp::Correct { token } => { r_side.push(token.clone()); h_side.push(token.clone()); }
                    AlignOp::Substitute { reference, hypothesis } => {
                        prop_assert_ne!(reference, hypothesis);
                        r_side.push(reference.clone());
                        h_side.push(hypothesis.clone());
                    }
                    AlignOp::Insert { hypothesis } => h_side.push(hypothesis.clone()),
                    AlignOp::Delete { reference } => r_side.push(reference.clone()),
                }
            }
            prop_assert_eq!(&r_side, &reference);
            prop_assert_eq!(&h_side, &hypothesis);
            let c = EditCounts::from_ops(&ops);
            let cost = COST_SUBSTITUTION as usize * c.substitutions
                + COST_DELETION as usize * c.deletions
                + COST_INSERTION as usize * c.insertions;
            let d = cost_matrix(&reference, &hypothesis);
            prop_assert_eq!(cost, *d.last().unwrap() as usize);
            prop_assert!(c.errors() >= crate::cer::levenshtein(&reference, &hypothesis));
        }
    }
}
