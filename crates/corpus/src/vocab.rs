//! Token vocabularies over a manifest: glosses (recognition targets), words and characters
//! (translation). Special tokens come first, then tokens by decreasing count, ties in
//! code-point order, so the same corpus always gives the same ids.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::{write_atomic, write_json_atomic};
use crate::error::{CorpusError, Result};
use crate::manifest::{Record, Split};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// `glosses` of each record
    Gloss,
    /// `text` split on whitespace, punctuation split off as separate tokens
    Word,
    /// `text` as Unicode characters, whitespace dropped (for Chinese)
    Char,
}

impl TokenKind {
    /// CTC recognition needs the blank at id 0; sequence-to-sequence text needs padding
    /// and sentence boundaries.
    pub fn default_specials(self) -> Vec<String> {
        let specials: &[&str] = match self {
            TokenKind::Gloss => &["<blank>", "<unk>"],
            TokenKind::Word | TokenKind::Char => &["<pad>", "<unk>", "<bos>", "<eos>"],
        };
        specials.iter().map(|s| s.to_string()).collect()
    }
}

/// Whitespace words with leading/trailing punctuation split off ("wetter." → "wetter", ".").
pub fn word_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let core_start = word
            .char_indices()
            .find(|(_, c)| !is_punctuation(*c))
            .map_or(word.len(), |(i, _)| i);
        let core_end = word
            .char_indices()
            .rev()
            .find(|(_, c)| !is_punctuation(*c))
            .map_or(core_start, |(i, c)| i + c.len_utf8());
        tokens.extend(word[..core_start].chars().map(String::from));
        if core_start < core_end {
            tokens.push(word[core_start..core_end].to_string());
        }
        tokens.extend(word[core_end.max(core_start)..].chars().map(String::from));
    }
    tokens
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '，' | '。'
                | '！'
                | '？'
                | '、'
                | '；'
                | '：'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '（'
                | '）'
                | '《'
                | '》'
                | '…'
                | '—'
        )
}

/// The tokens of `record` of the given kind.
pub fn record_tokens(record: &Record, kind: TokenKind, lowercase: bool) -> Vec<String> {
    let case = |s: String| if lowercase { s.to_lowercase() } else { s };
    let text = record.text.as_deref().unwrap_or("");
    match kind {
        TokenKind::Gloss => record.glosses.iter().cloned().map(case).collect(),
        TokenKind::Word => word_tokens(text).into_iter().map(case).collect(),
        TokenKind::Char => text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| case(c.to_string()))
            .collect(),
    }
}

#[derive(Clone, Debug)]
pub struct VocabConfig {
    pub kind: TokenKind,
    /// Tokens seen fewer times are left out (they map to `<unk>`).
    pub min_count: u64,
    /// Keep at most this many tokens besides the specials.
    pub max_size: Option<usize>,
    pub specials: Vec<String>,
    pub lowercase: bool,
    /// Count only records of these splits; empty = all records.
    pub splits: Vec<Split>,
}

impl VocabConfig {
    pub fn new(kind: TokenKind) -> Self {
        Self {
            kind,
            min_count: 1,
            max_size: None,
            specials: kind.default_specials(),
            lowercase: false,
            splits: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    pub kind: TokenKind,
    pub lowercase: bool,
    /// Number of leading entries of `tokens` that are special tokens.
    pub num_specials: usize,
    /// Id → token.
    pub tokens: Vec<String>,
    /// Id → count in the corpus (0 for specials).
    pub counts: Vec<u64>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocab {
    pub fn build<'a>(
        records: impl IntoIterator<Item = &'a Record>,
        config: &VocabConfig,
    ) -> Result<Self, String> {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for record in records {
            let in_splits = config.splits.is_empty()
                || record.split.is_some_and(|s| config.splits.contains(&s));
            if in_splits {
                for token in record_tokens(record, config.kind, config.lowercase) {
                    *counts.entry(token).or_default() += 1;
                }
            }
        }
        for special in &config.specials {
            counts.remove(special);
        }
        let mut counted: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= config.min_count)
            .collect();
        counted.sort_by(|(a, na), (b, nb)| nb.cmp(na).then_with(|| a.cmp(b)));
        if let Some(max) = config.max_size {
            counted.truncate(max);
        }
        let tokens = config
            .specials
            .iter()
            .cloned()
            .chain(counted.iter().map(|(t, _)| t.clone()))
            .collect();
        let counts = std::iter::repeat_n(0, config.specials.len())
            .chain(counted.iter().map(|(_, n)| *n))
            .collect();
        Self::from_parts(
            config.kind,
            config.lowercase,
            config.specials.len(),
            tokens,
            counts,
        )
    }

    fn from_parts(
        kind: TokenKind,
        lowercase: bool,
        num_specials: usize,
        tokens: Vec<String>,
        counts: Vec<u64>,
    ) -> Result<Self, String> {
        if tokens.len() != counts.len() {
            return Err(format!(
                "{} tokens but {} counts",
                tokens.len(),
                counts.len()
            ));
        }
        if num_specials > tokens.len() {
            return Err(format!(
                "{num_specials} specials but only {} tokens",
                tokens.len()
            ));
        }
        let mut index = HashMap::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(format!(
                    "token {id} {token:?} is empty or contains whitespace"
                ));
            }
            if index.insert(token.clone(), id as u32).is_some() {
                return Err(format!("token {token:?} appears twice"));
            }
        }
        Ok(Self {
            kind,
            lowercase,
            num_specials,
            tokens,
            counts,
            index,
        })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn unk_id(&self) -> Option<u32> {
        self.id("<unk>")
    }

    /// Ids of `tokens`; out-of-vocabulary tokens map to `<unk>`, or give `None` without one.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Option<Vec<u32>> {
        let unk = self.unk_id();
        tokens.iter().map(|t| self.id(t.as_ref()).or(unk)).collect()
    }

    /// `.json`: the whole struct; anything else: one `token<TAB>count` line per id.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if is_json(path) {
            return write_json_atomic(path, self);
        }
        let mut text = String::new();
        for (token, count) in self.tokens.iter().zip(&self.counts) {
            text.push_str(&format!("{token}\t{count}\n"));
        }
        write_atomic(path, text.as_bytes())
    }

    /// Reads what [`save`](Self::save) wrote. A text vocabulary carries no kind or specials:
    /// `kind` is taken from the caller and the leading zero-count tokens are the specials.
    pub fn load(path: impl AsRef<Path>, kind_for_text: TokenKind) -> Result<Self> {
        let path = path.as_ref();
        let content = std::fs::read_to_string(path).map_err(|e| CorpusError::io(path, e))?;
        if is_json(path) {
            let raw: Vocab = serde_json::from_str(&content)
                .map_err(|e| CorpusError::file(path, format!("invalid vocabulary JSON: {e}")))?;
            return Self::from_parts(
                raw.kind,
                raw.lowercase,
                raw.num_specials,
                raw.tokens,
                raw.counts,
            )
            .map_err(|m| CorpusError::file(path, m));
        }
        let mut tokens = Vec::new();
        let mut counts = Vec::new();
        for (i, line) in content.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let (token, count) = match line.split_once('\t') {
                Some((token, count)) => {
                    let count = count.trim().parse::<u64>().map_err(|_| {
                        CorpusError::line(path, i + 1, format!("count {count:?} is not a number"))
                    })?;
                    (token, count)
                }
                None => (line, 0),
            };
            tokens.push(token.to_string());
            counts.push(count);
        }
        let num_specials = counts.iter().take_while(|&&n| n == 0).count();
        Self::from_parts(kind_for_text, false, num_specials, tokens, counts)
            .map_err(|m| CorpusError::file(path, m))
    }
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(split: Split, glosses: &str, text: &str) -> Record {
        Record {
            id: format!("{glosses}/{text}"),
            split: Some(split),
            glosses: glosses.split_whitespace().map(String::from).collect(),
            text: Some(text.into()),
            ..Record::default()
        }
    }

    #[test]
    fn words_split_off_punctuation() {
        assert_eq!(
            word_tokens("Hello, \"world\" we're here."),
            ["Hello", ",", "\"", "world", "\"", "we're", "here", "."]
        );
        assert_eq!(word_tokens("... ok"), [".", ".", ".", "ok"]);
    }

    #[test]
    fn order_cutoffs_and_splits() {
        let records = [
            record(Split::Train, "B A A", "x y"),
            record(Split::Train, "C B", "y"),
            record(Split::Dev, "D D D D", "z"),
        ];
        let mut config = VocabConfig::new(TokenKind::Gloss);
        config.splits = vec![Split::Train];
        let vocab = Vocab::build(&records, &config).unwrap();
        assert_eq!(vocab.tokens, ["<blank>", "<unk>", "A", "B", "C"]);
        assert_eq!(vocab.counts, [0, 0, 2, 2, 1]);
        assert_eq!(vocab.encode(&["C", "D"]), Some(vec![4, 1]));

        config.min_count = 2;
        config.splits.clear();
        let vocab = Vocab::build(&records, &config).unwrap();
        assert_eq!(vocab.tokens, ["<blank>", "<unk>", "D", "A", "B"]);

        let mut chars = VocabConfig::new(TokenKind::Char);
        chars.max_size = Some(1);
        chars.specials = vec![];
        let vocab = Vocab::build(&records, &chars).unwrap();
        assert_eq!(vocab.tokens, ["y"]);
        assert_eq!(vocab.encode(&["x"]), None);
    }

    #[test]
    fn save_and_load_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        let records = [record(Split::Train, "WETTER MORGEN", "und nun das wetter")];
        let vocab = Vocab::build(&records, &VocabConfig::new(TokenKind::Word)).unwrap();
        for name in ["v.json", "v.txt"] {
            let path = dir.path().join(name);
            vocab.save(&path).unwrap();
            let loaded = Vocab::load(&path, TokenKind::Word).unwrap();
            assert_eq!(loaded, vocab, "{name}");
            assert_eq!(loaded.id("wetter"), vocab.id("wetter"));
        }
        std::fs::write(dir.path().join("bad.txt"), "<pad>\t0\nA\tmany\n").unwrap();
        let message = Vocab::load(dir.path().join("bad.txt"), TokenKind::Gloss)
            .unwrap_err()
            .to_string();
        assert!(message.contains("bad.txt:2:"), "{message}");
    }
}
