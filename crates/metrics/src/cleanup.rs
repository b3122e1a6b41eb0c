//! PHOENIX gloss cleanup before WER, ported rule by rule from signjoey
//! `phoenix_utils/phoenix_cleanup.py` (`clean_phoenix_2014`, `clean_phoenix_2014_trans`).
//!
//! Every rule is one Python `re.sub` applied to the whole line, in the original order; the
//! patterns are kept verbatim (Python and `fancy_regex` agree on the syntax used here:
//! look-behind, back-references, Unicode `\w` / `\b`, ASCII `[A-Z]`). Python's `\1` in a
//! replacement is written `${1}`. The rules are applied to reference and hypothesis alike.
//! CSL-Daily is scored without cleanup.

use std::sync::LazyLock;

use fancy_regex::Regex;
use serde::Serialize;

use crate::text::py_split;

/// Which cleanup the WER scorer applies to both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Cleanup {
    /// RWTH-PHOENIX-Weather-2014 (multisigner): `clean_phoenix_2014`.
    Phoenix2014,
    /// RWTH-PHOENIX-Weather-2014T: `clean_phoenix_2014_trans`.
    Phoenix2014t,
    /// No change at all (CSL-Daily, or text already cleaned).
    #[default]
    None,
}

impl Cleanup {
    pub fn apply(self, line: &str) -> String {
        match self {
            Cleanup::Phoenix2014 => clean_phoenix_2014(line),
            Cleanup::Phoenix2014t => clean_phoenix_2014_trans(line),
            Cleanup::None => line.to_owned(),
        }
    }
}

/// A compiled `re.sub(pattern, replacement, line)`.
struct Rule {
    pattern: Regex,
    replacement: &'static str,
    /// A literal every match contains; lines without it are skipped without running the
    /// (backtracking) regex. Purely a speed-up: it never changes a result.
    required: Option<&'static str>,
}

/// The longest literal run of a pattern outside groups, classes and escapes — only for
/// the plain patterns used here (it returns None when unsure).
fn required_literal(pattern: &'static str) -> Option<&'static str> {
    let literals = [
        "loc-",
        "cl-",
        "qu-",
        "poss-",
        "lh-",
        "S0NNE",
        "HABEN2",
        "__EMOTION__",
        "__PU__",
        "__LEFTHAND__",
        "__EPENTHESIS__",
        "WIE AUSSEHEN",
        "ZEIGEN",
        "RAUM",
        "-PLUSPLUS",
        "SCH",
        "NN",
        "__",
    ];
    literals
        .into_iter()
        .filter(|l| pattern.contains(l))
        .max_by_key(|l| l.len())
}

fn rules(table: &[(&'static str, &'static str)]) -> Vec<Rule> {
    table
        .iter()
        .map(|&(pattern, replacement)| Rule {
            pattern: Regex::new(pattern)
                .unwrap_or_else(|e| panic!("cleanup pattern {pattern:?} does not compile: {e}")),
            replacement,
            required: required_literal(pattern),
        })
        .collect()
}

/// Rules shared by both cleanups: spelled letters joined with `+`, then neighbouring
/// identical glosses collapsed (each dedup pass removes one repetition level, hence four).
const LETTER_JOINING: [(&str, &str); 9] = [
    (r"^([A-Z]) ([A-Z][+ ])", "${1}+${2}"),
    (r"[ +]([A-Z]) ([A-Z]) ", " ${1}+${2} "),
    (r"([ +][A-Z]) ([A-Z][ +])", "${1}+${2}"),
    (r"([ +][A-Z]) ([A-Z][ +])", "${1}+${2}"),
    (r"([ +][A-Z]) ([A-Z][ +])", "${1}+${2}"),
    (r"([ +]SCH) ([A-Z][ +])", "${1}+${2}"),
    (r"([ +]NN) ([A-Z][ +])", "${1}+${2}"),
    (r"([ +][A-Z]) (NN[ +])", "${1}+${2}"),
    (r"([ +][A-Z]) ([A-Z])$", "${1}+${2}"),
];

const REPEATED_GLOSS: &str = r"(?<![\w-])(\b[A-Z]+(?![\w-])) \1(?![\w-])";

const DEDUP: [(&str, &str); 6] = [
    (r" +", " "),
    (REPEATED_GLOSS, "${1}"),
    (REPEATED_GLOSS, "${1}"),
    (REPEATED_GLOSS, "${1}"),
    (REPEATED_GLOSS, "${1}"),
    (r" +", " "),
];

/// A necessary condition for `REPEATED_GLOSS` to match, checked without the backtracking
/// engine: group 1 cannot start after a letter (look-behind) nor end before one, so it is a
/// maximal `[A-Z]+` run right before a space, and `\1(?![\w-])` makes the maximal
/// `[A-Z]+` run right after that space the same string. Lines with no such space are left
/// alone — exactly what the regex would do.
fn may_repeat_gloss(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b' ' {
            return false;
        }
        let before = bytes[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_uppercase())
            .count();
        let after = bytes[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_uppercase())
            .count();
        before > 0 && before == after && bytes[i - before..i] == bytes[i + 1..i + 1 + after]
    })
}

static PHOENIX_2014: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let mut table: Vec<(&str, &'static str)> = vec![
        (r"loc-", ""),
        (r"cl-", ""),
        (r"qu-", ""),
        (r"poss-", ""),
        (r"lh-", ""),
        (r"S0NNE", "SONNE"),
        (r"HABEN2", "HABEN"),
        (r"__EMOTION__", ""),
        (r"__PU__", ""),
        (r"__LEFTHAND__", ""),
        (r"WIE AUSSEHEN", "WIE-AUSSEHEN"),
        (r"ZEIGEN ", "ZEIGEN-BILDSCHIRM "),
        (r"ZEIGEN$", "ZEIGEN-BILDSCHIRM"),
    ];
    table.extend(LETTER_JOINING);
    table.push((r"([A-Z][A-Z])RAUM", "${1}"));
    table.push((r"-PLUSPLUS", ""));
    table.extend(DEDUP);
    rules(&table)
});

static PHOENIX_2014T: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let mut table: Vec<(&str, &'static str)> = vec![
        (r"__LEFTHAND__", ""),
        (r"__EPENTHESIS__", ""),
        (r"__EMOTION__", ""),
        (r"\b__[^_ ]*__\b", ""),
        (r"\bloc-([^ ]*)\b", "${1}"),
        (r"\bcl-([^ ]*)\b", "${1}"),
        (r"\b([^ ]*)-PLUSPLUS\b", "${1}"),
        (r"\b([A-Z][A-Z]*)RAUM\b", "${1}"),
        (r"WIE AUSSEHEN", "WIE-AUSSEHEN"),
    ];
    table.extend(LETTER_JOINING);
    table.extend(DEDUP);
    rules(&table)
});

fn apply_rules(rules: &[Rule], line: &str) -> String {
    let mut text = crate::text::py_strip(line).to_owned();
    for rule in rules {
        if rule.required.is_some_and(|literal| !text.contains(literal)) {
            continue;
        }
        if rule.pattern.as_str() == REPEATED_GLOSS && !may_repeat_gloss(&text) {
            continue;
        }
        // A pattern that exhausts fancy_regex's backtracking limit leaves the text as it
        // is; with these short, anchored patterns and one-line inputs it never happens.
        if let Ok(std::borrow::Cow::Owned(replaced)) =
            rule.pattern.try_replacen(&text, 0, rule.replacement)
        {
            text = replaced;
        }
    }
    remove_repetitions(&text)
}

/// `" ".join(" ".join(i[0] for i in groupby(s.split(" "))).split()).strip()`:
/// consecutive identical space-separated tokens collapse, then whitespace is normalised.
fn remove_repetitions(text: &str) -> String {
    let mut deduplicated = String::with_capacity(text.len());
    let mut previous: Option<&str> = None;
    for token in text.split(' ') {
        if previous == Some(token) {
            continue;
        }
        if previous.is_some() {
            deduplicated.push(' ');
        }
        deduplicated.push_str(token);
        previous = Some(token);
    }
    let mut out = String::with_capacity(deduplicated.len());
    for token in py_split(&deduplicated) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

/// signjoey `clean_phoenix_2014` (PHOENIX-2014 multisigner).
pub fn clean_phoenix_2014(line: &str) -> String {
    apply_rules(&PHOENIX_2014, line)
}

/// signjoey `clean_phoenix_2014_trans` (PHOENIX-2014T).
pub fn clean_phoenix_2014_trans(line: &str) -> String {
    apply_rules(&PHOENIX_2014T, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Expected strings are the outputs of the Python original on the same inputs.
    fn phoenix_2014_rules() {
        assert_eq!(
            clean_phoenix_2014("loc-REGION cl-KOMMEN poss-SEIN"),
            "REGION KOMMEN SEIN"
        );
        assert_eq!(
            clean_phoenix_2014("S0NNE HABEN2 __EMOTION__ REGEN"),
            "SONNE HABEN REGEN"
        );
        assert_eq!(
            clean_phoenix_2014("WIE AUSSEHEN ZEIGEN"),
            "WIE-AUSSEHEN ZEIGEN-BILDSCHIRM"
        );
        assert_eq!(
            clean_phoenix_2014("WETTER A B C MORGEN"),
            "WETTER A+B+C MORGEN"
        );
        assert_eq!(clean_phoenix_2014("NORDRAUM REGEN-PLUSPLUS"), "NORD REGEN");
        assert_eq!(clean_phoenix_2014("REGEN REGEN REGEN SONNE"), "REGEN SONNE");
    }

    #[test]
    fn phoenix_2014t_rules() {
        assert_eq!(clean_phoenix_2014_trans("__ON__ REGEN __OFF__"), "REGEN");
        // poss- is kept in 2014T, loc- stripped.
        assert_eq!(
            clean_phoenix_2014_trans("poss-EUCH loc-NORD"),
            "poss-EUCH NORD"
        );
        assert_eq!(
            clean_phoenix_2014_trans("NORDRAUM WOLKE-PLUSPLUS"),
            "NORD WOLKE"
        );
        // The second joining rule rewrites the first "+" back to a space, as in Python.
        assert_eq!(clean_phoenix_2014_trans("K O E L N"), "K O+E+L+N");
        assert_eq!(clean_phoenix_2014_trans("  DANN   DANN  "), "DANN");
    }

    #[test]
    fn repeat_prefilter_never_hides_a_match() {
        let pattern = Regex::new(REPEATED_GLOSS).unwrap();
        for line in [
            "A A",
            "REGEN REGEN",
            "X+REGEN REGEN",
            "REGEN REGENX",
            "AB B",
            "ÄB B",
            "B B-X",
            "a a",
            "",
        ] {
            if pattern.is_match(line).unwrap() {
                assert!(may_repeat_gloss(line), "{line:?}");
            }
        }
        assert!(!may_repeat_gloss("REGEN SONNE"));
    }

    #[test]
    fn none_is_identity() {
        assert_eq!(Cleanup::None.apply(" 他  今天 "), " 他  今天 ");
    }
}
