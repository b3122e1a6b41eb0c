//! Byte-pair-encoding subwords for the text side (Sennrich et al. 2016, as subword-nmt learns
//! and applies them): the most frequent adjacent symbol pair of the training words is merged,
//! again and again, and a word is split by replaying those merges in order. Pieces that do not
//! end a word carry a trailing `@@`, so `["wetter@@", "lage"]` joins back to `wetterlage`.
//!
//! Why: German weather reports are full of compounds (`sturmböen`, `gewitterwolken`) that a
//! word vocabulary sees once or never; split into pieces, a rare compound shares its
//! embeddings with its parts.

use std::collections::HashMap;
use std::path::Path;

use anyhow::bail;

/// Marks the last symbol of a word while merges are learned and replayed.
const END_OF_WORD: &str = "</w>";
/// Ends every piece that is not the last of its word.
pub const CONTINUATION: &str = "@@";
const HEADER: &str = "#signscope bpe v1";

/// Learned merges, in the order they were learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bpe {
    merges: Vec<(String, String)>,
    ranks: HashMap<(String, String), usize>,
}

impl Bpe {
    /// Learns up to `merges` merges from `words` (each occurrence counts); stops early when
    /// no pair occurs twice.
    pub fn learn<'a>(words: impl IntoIterator<Item = &'a str>, merges: usize) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for word in words {
            *counts.entry(word).or_default() += 1;
        }
        // Sorted, so that ties between equally frequent pairs break the same way every run.
        let mut types: Vec<(Vec<String>, usize)> = counts
            .into_iter()
            .map(|(w, c)| (initial_symbols(w), c))
            .collect();
        types.sort();
        let mut learned = Vec::with_capacity(merges);
        for _ in 0..merges {
            let mut pairs: HashMap<(&str, &str), usize> = HashMap::new();
            for (symbols, count) in &types {
                for pair in symbols.windows(2) {
                    *pairs.entry((&pair[0], &pair[1])).or_default() += count;
                }
            }
            let Some(((a, b), count)) = pairs
                .into_iter()
                .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)))
            else {
                break;
            };
            if count < 2 {
                break;
            }
            let pair = (a.to_string(), b.to_string());
            for (symbols, _) in &mut types {
                merge_pair(symbols, &pair);
            }
            learned.push(pair);
        }
        Self::from_merges(learned)
    }

    fn from_merges(merges: Vec<(String, String)>) -> Self {
        let ranks = merges
            .iter()
            .enumerate()
            .map(|(i, pair)| (pair.clone(), i))
            .collect();
        Self { merges, ranks }
    }

    pub fn len(&self) -> usize {
        self.merges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.merges.is_empty()
    }

    /// Splits one word into pieces: the earliest-learned applicable merge first, as
    /// subword-nmt's `apply_bpe` does.
    pub fn segment_word(&self, word: &str) -> Vec<String> {
        if word.is_empty() {
            return Vec::new();
        }
        let mut symbols = initial_symbols(word);
        loop {
            let best = symbols
                .windows(2)
                .filter_map(|p| self.ranks.get(&(p[0].clone(), p[1].clone())))
                .min();
            let Some(&rank) = best else { break };
            merge_pair(&mut symbols, &self.merges[rank]);
        }
        let last = symbols.len() - 1;
        symbols
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                if i == last {
                    s.trim_end_matches(END_OF_WORD).to_string()
                } else {
                    s + CONTINUATION
                }
            })
            .collect()
    }

    /// Splits every word of a tokenized sentence.
    pub fn segment(&self, words: &[String]) -> Vec<String> {
        words.iter().flat_map(|w| self.segment_word(w)).collect()
    }

    /// `#signscope bpe v1`, then one merge per line (`left right`).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let lines = self.merges.iter().map(|(a, b)| format!("{a} {b}"));
        signscope_fsio::write_headed_lines(path, HEADER, lines)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let lines = signscope_fsio::read_headed_lines(path, HEADER, "signscope BPE file")?;
        let mut merges = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty() => {
                    merges.push((a.to_string(), b.to_string()))
                }
                _ => bail!(
                    "{}: line {}: expected two symbols separated by one space, got {line:?}",
                    path.display(),
                    i + 2
                ),
            }
        }
        Ok(Self::from_merges(merges))
    }
}

/// Joins pieces back into words: a piece ending in `@@` continues into the next one.
pub fn join_subwords(pieces: &[String]) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        match piece.strip_suffix(CONTINUATION) {
            Some(stem) => current.push_str(stem),
            None => {
                current.push_str(piece);
                words.push(std::mem::take(&mut current));
            }
        }
    }
    // A sentence cut off after a continuation piece still keeps what it wrote.
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The characters of `word`, the last one marked as ending it.
fn initial_symbols(word: &str) -> Vec<String> {
    let mut symbols: Vec<String> = word.chars().map(String::from).collect();
    if let Some(last) = symbols.last_mut() {
        last.push_str(END_OF_WORD);
    }
    symbols
}

/// Replaces every non-overlapping occurrence of `pair` (left to right) by its concatenation.
fn merge_pair(symbols: &mut Vec<String>, pair: &(String, String)) {
    let mut i = 0;
    while i + 1 < symbols.len() {
        if symbols[i] == pair.0 && symbols[i + 1] == pair.1 {
            let right = symbols.remove(i + 1);
            symbols[i].push_str(&right);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn frequent_pairs_merge_first_and_pieces_join_back() {
        // "low" is frequent, so l+o then lo+w</w> merge before anything in "newest".
        let corpus = "low low low low low lower lower newest newest widest";
        let bpe = Bpe::learn(corpus.split(' '), 4);
        assert_eq!(bpe.merges[0], ("l".into(), "o".into()));
        assert_eq!(bpe.segment_word("low"), ["low"]);
        let lowest = bpe.segment_word("lowest");
        assert!(
            lowest.len() > 1 && lowest[0].ends_with(CONTINUATION),
            "{lowest:?}"
        );
        for sentence in ["lowest newer widest low", "x", "übermorgen sturmböen"] {
            let pieces = bpe.segment(&words(sentence));
            assert_eq!(join_subwords(&pieces), words(sentence), "{pieces:?}");
        }
    }

    #[test]
    fn merges_stop_when_no_pair_repeats_and_survive_a_round_trip() {
        let bpe = Bpe::learn(["ab", "cd"], 10);
        assert!(bpe.is_empty());
        assert_eq!(bpe.segment_word("ab"), ["a@@", "b"]);
        assert!(bpe.segment_word("").is_empty());

        let bpe = Bpe::learn("regen regen regnet gewitter gewitter".split(' '), 6);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bpe.txt");
        bpe.save(&path).unwrap();
        assert_eq!(Bpe::load(&path).unwrap(), bpe);
        std::fs::write(&path, "a b\n").unwrap();
        let err = Bpe::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("bpe.txt") && err.contains("first line"),
            "{err}"
        );
        std::fs::write(&path, format!("{HEADER}\na b c\n")).unwrap();
        let err = Bpe::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_dangling_continuation_keeps_its_text() {
        assert_eq!(
            join_subwords(&words("wet@@ ter lage@@")),
            ["wetter", "lage"]
        );
    }
}
