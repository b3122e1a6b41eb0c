//! Corpus BLEU as sacrebleu computes it, in two flavours:
//!
//! * [`BleuVariant::Signjoey`] — sacrebleu 1.4.2 `raw_corpus_bleu` (no tokenisation,
//!   `floor` smoothing with value 0, effective order) as vendored by signjoey, TwoStream and
//!   Sign2GPT, whose `compute_bleu` also returns the cumulative BLEU-1..4:
//!   `BLEU-n = BP · exp(Σ_{k≤n} log p_k / n)`, a zero precision giving 0.
//! * [`BleuVariant::Sacrebleu2`] — sacrebleu 2.x `BLEU()` defaults: `exp` smoothing, no
//!   effective order; BLEU-n is `BLEU(max_ngram_order=n)`. Usually paired with the `13a`
//!   tokenizer (sacrebleu's default) or `zh`.
//!
//! Sufficient statistics ([`BleuStats`]) add up over sentences, which is what the corpus
//! score, the per-sentence report and the paired bootstrap all build on.

use serde::Serialize;

use crate::text::{collapse_spaces, is_py_space, py_split, py_strip};

pub const MAX_ORDER: usize = 4;

/// Which sacrebleu behaviour to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BleuVariant {
    /// sacrebleu 1.4.2 `raw_corpus_bleu` with signjoey's cumulative BLEU-1..4.
    #[default]
    Signjoey,
    /// sacrebleu 2.x `corpus_bleu` defaults (exp smoothing, no effective order).
    Sacrebleu2,
}

/// sacrebleu tokenizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Tokenizer {
    /// Split on whitespace only (what `raw_corpus_bleu` does).
    #[default]
    None,
    /// mteval-v13a, sacrebleu's default.
    #[value(name = "13a")]
    #[serde(rename = "13a")]
    Tok13a,
    /// Chinese: every CJK character becomes a token, the rest as 13a.
    Zh,
}

/// The four substitutions of sacrebleu's `13a` post-tokenizer (also used by `zh`), each a
/// left-to-right, non-overlapping `re.sub`, then `' '.join(line.split())`:
///
/// 1. `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → `' \1 '`
/// 2. `([^0-9])([\.,])` → `'\1 \2 '`
/// 3. `([\.,])([^0-9])` → `' \1 \2'`
/// 4. `([0-9])(-)` → `'\1 \2 '`
///
/// Every pattern matches one or two fixed characters, so a character scan that tries the
/// pattern at each position and skips past a match is the same `re.sub`, without a regex.
fn mteval_post_tokenize(line: &str) -> String {
    let is_digit = |c: char| c.is_ascii_digit();
    let is_period_comma = |c: char| c == '.' || c == ',';
    let mut text = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if matches!(c, '\u{7b}'..='\u{7e}' | '\u{5b}'..='\u{60}' | '\u{20}'..='\u{26}' | '\u{28}'..='\u{2b}' | '\u{3a}'..='\u{40}' | '/')
        {
            text.push(' ');
            text.push(c);
            text.push(' ');
        } else {
            text.push(c);
        }
    }
    let text = substitute_pairs(
        &text,
        |a| !is_digit(a),
        is_period_comma,
        |a, b, out| {
            out.extend([a, ' ', b, ' ']);
        },
    );
    let text = substitute_pairs(
        &text,
        is_period_comma,
        |b| !is_digit(b),
        |a, b, out| {
            out.extend([' ', a, ' ', b]);
        },
    );
    let text = substitute_pairs(
        &text,
        is_digit,
        |b| b == '-',
        |a, b, out| {
            out.extend([a, ' ', b, ' ']);
        },
    );
    collapse_spaces(&text)
}

/// `re.sub(r"(X)(Y)", replacement, text)` for single-character classes X and Y.
fn substitute_pairs(
    text: &str,
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    replace: impl Fn(char, char, &mut String),
) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            replace(chars[i], chars[i + 1], &mut out);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// sacrebleu `tokenize_13a` (1.4.2) = `Tokenizer13a` (2.x).
pub fn tokenize_13a(line: &str) -> String {
    let mut norm = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if norm.contains('&') {
        norm = norm
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    mteval_post_tokenize(&format!(" {norm} "))
}

/// The code-point ranges of sacrebleu's `is_chinese_char`, as Python evaluates them.
///
/// Two entries of the original are written `u'\u20000'`..`u'\u2a6d6'` and
/// `u'\u2f800'`..`u'\u2fa1d'`; `\u` takes exactly four hex digits, so they are the
/// two-character strings "\u2000"+"0" .. "\u2a6d"+"6". Comparing a single character with
/// them selects U+2001..=U+2A6D and U+2F81..=U+2FA1 — general punctuation, arrows, maths
/// symbols and more — and that is what sacrebleu really splits off, so we do too.
const ZH_RANGES: [(u32, u32); 22] = [
    (0x3400, 0x4db5),
    (0x4e00, 0x9fa5),
    (0x9fa6, 0x9fbb),
    (0xf900, 0xfa2d),
    (0xfa30, 0xfa6a),
    (0xfa70, 0xfad9),
    (0x2001, 0x2a6d),
    (0x2f81, 0x2fa1),
    (0xff00, 0xffef),
    (0x2e80, 0x2eff),
    (0x3000, 0x303f),
    (0x31c0, 0x31ef),
    (0x2f00, 0x2fdf),
    (0x2ff0, 0x2fff),
    (0x3100, 0x312f),
    (0x31a0, 0x31bf),
    (0xfe10, 0xfe1f),
    (0xfe30, 0xfe4f),
    (0x2600, 0x26ff),
    (0x2700, 0x27bf),
    (0x3200, 0x32ff),
    (0x3300, 0x33ff),
];

fn is_chinese_char(c: char) -> bool {
    let c = c as u32;
    ZH_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// sacrebleu `tokenize_zh` (1.4.2) = `TokenizerZh` (2.x).
pub fn tokenize_zh(line: &str) -> String {
    let mut spaced = String::with_capacity(line.len() * 2);
    for c in py_strip(line).chars() {
        if is_chinese_char(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    mteval_post_tokenize(&spaced)
}

impl Tokenizer {
    /// Tokenise one segment; the result is split on whitespace afterwards.
    pub fn apply(self, line: &str) -> String {
        match self {
            Tokenizer::None => line.to_owned(),
            Tokenizer::Tok13a => tokenize_13a(line),
            Tokenizer::Zh => tokenize_zh(line),
        }
    }
}

/// Sufficient statistics of BLEU for one sentence or a corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BleuStats {
    /// Clipped n-gram matches, n = 1..4.
    pub correct: [u64; MAX_ORDER],
    /// Hypothesis n-grams, n = 1..4.
    pub total: [u64; MAX_ORDER],
    pub sys_len: u64,
    /// Length of the (closest) reference.
    pub ref_len: u64,
}

impl BleuStats {
    /// Sentence BLEU-4 in [0, 1] with the 2..4-gram precisions add-one smoothed (Lin & Och
    /// 2004, "smoothed BLEU"): the utility of minimum-Bayes-risk decoding, where unsmoothed
    /// BLEU would be 0 for most pairs of short sentences. Not a corpus score.
    pub fn smoothed_sentence_bleu(&self) -> f64 {
        if self.sys_len == 0 || self.correct[0] == 0 {
            return 0.0;
        }
        let mut log_precision = (self.correct[0] as f64 / self.total[0] as f64).ln();
        for n in 1..MAX_ORDER {
            log_precision += ((self.correct[n] as f64 + 1.0) / (self.total[n] as f64 + 1.0)).ln();
        }
        brevity_penalty(self) * (log_precision / MAX_ORDER as f64).exp()
    }
}

impl std::ops::AddAssign for BleuStats {
    fn add_assign(&mut self, other: Self) {
        for n in 0..MAX_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
    }
}

impl std::ops::SubAssign for BleuStats {
    fn sub_assign(&mut self, other: Self) {
        for n in 0..MAX_ORDER {
            self.correct[n] -= other.correct[n];
            self.total[n] -= other.total[n];
        }
        self.sys_len -= other.sys_len;
        self.ref_len -= other.ref_len;
    }
}

/// Statistics of one already-tokenised pair (tokens = `split()` of the tokenised text).
///
/// N-grams are counted by sorting the windows and walking both sorted lists together,
/// which for sentence-length inputs is cheaper than hashing every window.
pub fn sentence_stats(hypothesis: &[&str], reference: &[&str]) -> BleuStats {
    let mut stats = BleuStats {
        sys_len: hypothesis.len() as u64,
        ref_len: reference.len() as u64,
        ..Default::default()
    };
    let mut hyp_ngrams: Vec<&[&str]> = Vec::with_capacity(hypothesis.len());
    let mut ref_ngrams: Vec<&[&str]> = Vec::with_capacity(reference.len());
    for n in 1..=MAX_ORDER {
        hyp_ngrams.clear();
        ref_ngrams.clear();
        hyp_ngrams.extend(hypothesis.windows(n));
        ref_ngrams.extend(reference.windows(n));
        hyp_ngrams.sort_unstable();
        ref_ngrams.sort_unstable();
        stats.total[n - 1] = hyp_ngrams.len() as u64;
        stats.correct[n - 1] = clipped_matches(&hyp_ngrams, &ref_ngrams);
    }
    stats
}

/// Σ over distinct n-grams of min(count in hypothesis, count in reference), both sorted.
fn clipped_matches(hyp: &[&[&str]], reference: &[&[&str]]) -> u64 {
    let (mut i, mut j, mut matches) = (0, 0, 0u64);
    while i < hyp.len() && j < reference.len() {
        match hyp[i].cmp(reference[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let ngram = hyp[i];
                let run_h = hyp[i..].iter().take_while(|g| **g == ngram).count();
                let run_r = reference[j..].iter().take_while(|g| **g == ngram).count();
                matches += run_h.min(run_r) as u64;
                i += run_h;
                j += run_r;
            }
        }
    }
    matches
}

/// A BLEU result; all scores and precisions in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BleuScore {
    /// Cumulative BLEU-1..4 (`bleu[3]` is "the" BLEU).
    pub bleu: [f64; MAX_ORDER],
    /// Modified n-gram precisions as the variant smooths them.
    pub precisions: [f64; MAX_ORDER],
    pub brevity_penalty: f64,
    pub stats: BleuStats,
}

impl BleuScore {
    pub fn bleu4(&self) -> f64 {
        self.bleu[MAX_ORDER - 1]
    }
}

/// sacrebleu's `my_log`: log with log(0) floored to -9999999999.
fn my_log(x: f64) -> f64 {
    if x == 0.0 { -9_999_999_999.0 } else { x.ln() }
}

fn brevity_penalty(stats: &BleuStats) -> f64 {
    if stats.sys_len < stats.ref_len {
        if stats.sys_len > 0 {
            (1.0 - stats.ref_len as f64 / stats.sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    }
}

/// sacrebleu 1.4.2 `compute_bleu(smooth_method='floor', smooth_value=0,
/// use_effective_order=True)` with signjoey's cumulative scores.
///
/// signjoey computes BLEU-n over `precisions[:n]` whatever the effective order; an order
/// without any hypothesis n-gram keeps precision 0, so its BLEU-n is 0. (Stock 1.4.2's
/// single `.score` would instead average over the effective order; the two agree whenever
/// some hypothesis has four tokens, i.e. on any real corpus.)
pub fn compute_signjoey(stats: &BleuStats) -> BleuScore {
    let mut precisions = [0.0; MAX_ORDER];
    for (n, precision) in precisions.iter_mut().enumerate() {
        if stats.total[n] == 0 {
            break;
        }
        // floor smoothing with value 0 leaves a zero precision at 0.
        if stats.correct[n] != 0 {
            *precision = 100.0 * stats.correct[n] as f64 / stats.total[n] as f64;
        }
    }
    let bp = brevity_penalty(stats);
    let mut bleu = [0.0; MAX_ORDER];
    for order in 1..=MAX_ORDER {
        let mean_log = precisions[..order].iter().map(|&p| my_log(p)).sum::<f64>() / order as f64;
        bleu[order - 1] = bp * mean_log.exp();
    }
    BleuScore {
        bleu,
        precisions,
        brevity_penalty: bp,
        stats: *stats,
    }
}

/// sacrebleu 2.x `BLEU.compute_bleu(smooth_method='exp', effective_order=False,
/// max_ngram_order=order)`; returns (score, smoothed precisions).
fn sacrebleu2_order(stats: &BleuStats, order: usize) -> (f64, [f64; MAX_ORDER]) {
    let mut precisions = [0.0; MAX_ORDER];
    if stats.correct[..order].iter().all(|&c| c == 0) {
        return (0.0, precisions);
    }
    let mut smooth_mteval = 1.0;
    for (n, precision) in precisions.iter_mut().enumerate().take(order) {
        if stats.total[n] == 0 {
            break;
        }
        *precision = if stats.correct[n] == 0 {
            smooth_mteval *= 2.0;
            100.0 / (smooth_mteval * stats.total[n] as f64)
        } else {
            100.0 * stats.correct[n] as f64 / stats.total[n] as f64
        };
    }
    let mean_log = precisions[..order].iter().map(|&p| my_log(p)).sum::<f64>() / order as f64;
    (brevity_penalty(stats) * mean_log.exp(), precisions)
}

/// sacrebleu 2.x defaults; BLEU-n = `BLEU(max_ngram_order=n)`.
pub fn compute_sacrebleu2(stats: &BleuStats) -> BleuScore {
    let mut bleu = [0.0; MAX_ORDER];
    for order in 1..=MAX_ORDER {
        bleu[order - 1] = sacrebleu2_order(stats, order).0;
    }
    let (_, precisions) = sacrebleu2_order(stats, MAX_ORDER);
    BleuScore {
        bleu,
        precisions,
        brevity_penalty: brevity_penalty(stats),
        stats: *stats,
    }
}

impl BleuVariant {
    pub fn compute(self, stats: &BleuStats) -> BleuScore {
        match self {
            BleuVariant::Signjoey => compute_signjoey(stats),
            BleuVariant::Sacrebleu2 => compute_sacrebleu2(stats),
        }
    }
}

/// Everything that turns raw lines into BLEU tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BleuConfig {
    pub variant: BleuVariant,
    pub tokenizer: Tokenizer,
    /// `' '.join(list(s))` before tokenising (CSL-Daily).
    pub char_level: bool,
    pub lowercase: bool,
}

impl BleuConfig {
    /// signjoey / TwoStream / Sign2GPT: raw corpus BLEU on whitespace tokens.
    pub fn signjoey() -> Self {
        Self::default()
    }

    /// sacrebleu 2.x command-line default (13a, exp smoothing).
    pub fn sacrebleu2() -> Self {
        Self {
            variant: BleuVariant::Sacrebleu2,
            tokenizer: Tokenizer::Tok13a,
            ..Self::default()
        }
    }

    /// A segment as sacrebleu sees it: lowercased (optional), `rstrip()`ped, tokenised.
    pub fn preprocess(&self, line: &str) -> String {
        let mut text = if self.char_level {
            crate::text::char_level(line)
        } else {
            line.to_owned()
        };
        if self.lowercase {
            text = text.to_lowercase();
        }
        self.tokenizer.apply(text.trim_end_matches(is_py_space))
    }

    pub fn sentence_stats(&self, hypothesis: &str, reference: &str) -> BleuStats {
        let hypothesis = self.preprocess(hypothesis);
        let reference = self.preprocess(reference);
        let h: Vec<&str> = py_split(&hypothesis).collect();
        let r: Vec<&str> = py_split(&reference).collect();
        sentence_stats(&h, &r)
    }
}

/// Corpus BLEU over aligned hypothesis/reference lines.
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[H],
    references: &[R],
    config: &BleuConfig,
) -> BleuScore {
    let mut total = BleuStats::default();
    for (h, r) in hypotheses.iter().zip(references) {
        total += config.sentence_stats(h.as_ref(), r.as_ref());
    }
    config.variant.compute(&total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_13a_examples() {
        // Expected strings: sacrebleu 2.6 Tokenizer13a / TokenizerZh on the same inputs.
        assert_eq!(
            tokenize_13a("Hello, world. It's 3.5-4 km!"),
            "Hello , world . It's 3.5 - 4 km !"
        );
        assert_eq!(tokenize_13a("a &amp; b"), "a & b");
    }

    #[test]
    fn tokenizer_zh_splits_cjk_and_the_quirk_range() {
        assert_eq!(tokenize_zh("他今年4岁。"), "他 今 年 4 岁 。");
        // U+2013 EN DASH lies in the accidental U+2001..U+2A6D range.
        assert_eq!(tokenize_zh("a–b"), "a – b");
    }

    #[test]
    fn perfect_match_is_100() {
        let s = corpus_bleu(&["a b c d e"], &["a b c d e"], &BleuConfig::signjoey());
        for b in s.bleu {
            assert!((b - 100.0).abs() < 1e-9);
        }
    }

    #[test]
    fn missing_higher_order_gives_zero_in_signjoey() {
        // No 4-gram in the hypothesis: BLEU-4 is 0 for signjoey, BLEU-1..3 are not.
        let s = corpus_bleu(&["a b c"], &["a b c"], &BleuConfig::signjoey());
        assert!((s.bleu[2] - 100.0).abs() < 1e-9);
        assert_eq!(s.bleu[3], 0.0);
    }

    #[test]
    fn empty_hypothesis_scores_zero() {
        let s = corpus_bleu(&[""], &["a b"], &BleuConfig::signjoey());
        assert_eq!(s.bleu, [0.0; 4]);
        let s = corpus_bleu(&[""], &["a b"], &BleuConfig::sacrebleu2());
        assert_eq!(s.bleu, [0.0; 4]);
    }

    #[test]
    fn smoothed_sentence_bleu_by_hand() {
        let stats = |h: &str, r: &str| BleuConfig::signjoey().sentence_stats(h, r);
        assert!((stats("a b c d", "a b c d").smoothed_sentence_bleu() - 1.0).abs() < 1e-12);
        // p1 = 3/3; p2..p4 = (2+1)/(2+1), (1+1)/(1+1), (0+1)/(0+1); BP = exp(1 - 4/3).
        let short = stats("a b c", "a b c d").smoothed_sentence_bleu();
        assert!((short - (-1.0f64 / 3.0).exp()).abs() < 1e-12, "{short}");
        // p1 = 2/4, p2 = (1+1)/(3+1), p3 = 1/3, p4 = 1/2; no brevity penalty.
        let mixed = stats("a b x y", "a b c d").smoothed_sentence_bleu();
        let want = (0.5f64 * 0.5 * (1.0 / 3.0) * 0.5).powf(0.25);
        assert!((mixed - want).abs() < 1e-12, "{mixed} vs {want}");
        assert_eq!(stats("x y", "a b").smoothed_sentence_bleu(), 0.0);
        assert_eq!(stats("", "a b").smoothed_sentence_bleu(), 0.0);
    }
}
