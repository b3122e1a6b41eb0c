//! Token vocabularies: a list of strings whose positions are the ids. The first four entries
//! are always the specials, in joeynmt's order.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};

pub const UNK: &str = "<unk>";
pub const PAD: &str = "<pad>";
pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";
pub const UNK_ID: u32 = 0;
pub const PAD_ID: u32 = 1;
pub const BOS_ID: u32 = 2;
pub const EOS_ID: u32 = 3;
const SPECIALS: [&str; 4] = [UNK, PAD, BOS, EOS];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Vocabulary {
    /// Tokens seen at least `min_freq` times, most frequent first (ties alphabetically, so the
    /// result does not depend on corpus order), at most `max_size` of them besides the specials.
    pub fn build<'a>(
        sentences: impl IntoIterator<Item = &'a [String]>,
        min_freq: usize,
        max_size: usize,
    ) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for sentence in sentences {
            for token in sentence {
                *counts.entry(token.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|(t, c)| *c >= min_freq.max(1) && !SPECIALS.contains(t))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if max_size > 0 {
            ranked.truncate(max_size);
        }
        Self::from_tokens(
            SPECIALS
                .iter()
                .copied()
                .chain(ranked.into_iter().map(|(t, _)| t))
                .map(String::from)
                .collect(),
        )
        .expect("built vocabulary is consistent")
    }

    fn from_tokens(tokens: Vec<String>) -> anyhow::Result<Self> {
        for (i, special) in SPECIALS.iter().enumerate() {
            if tokens.get(i).map(String::as_str) != Some(*special) {
                bail!("entry {} must be the special token {special}", i + 1);
            }
        }
        let mut ids = HashMap::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                bail!(
                    "entry {} ({token:?}) is empty or contains whitespace",
                    i + 1
                );
            }
            if ids.insert(token.clone(), i as u32).is_some() {
                bail!("entry {} ({token}) is a duplicate", i + 1);
            }
        }
        Ok(Self { tokens, ids })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNK_ID)
    }

    pub fn token(&self, id: u32) -> &str {
        self.tokens
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or(UNK)
    }

    /// Tokens to ids with EOS appended (sources and targets alike end in EOS).
    pub fn encode(&self, tokens: &[String]) -> Vec<u32> {
        tokens
            .iter()
            .map(|t| self.id(t))
            .chain(std::iter::once(EOS_ID))
            .collect()
    }

    /// Ids to tokens, stopping at EOS and skipping the other specials.
    pub fn decode(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .take_while(|&&i| i != EOS_ID)
            .filter(|&&i| i != PAD_ID && i != BOS_ID)
            .map(|&i| self.token(i).to_string())
            .collect()
    }

    /// One token per line (atomically written).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = self.tokens.join("\n");
        text.push('\n');
        crate::checkpoint::write_atomic(path, text.as_bytes())
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading vocabulary {}", path.display()))?;
        Self::from_tokens(text.lines().map(String::from).collect())
            .with_context(|| format!("{}: not a valid vocabulary file", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn build_encode_decode_save_load() {
        let corpus = [toks("a b b c"), toks("b c c c")];
        let vocab = Vocabulary::build(corpus.iter().map(Vec::as_slice), 2, 0);
        assert_eq!(vocab.len(), 6);
        assert_eq!(vocab.token(4), "c");
        assert_eq!(vocab.encode(&toks("a c")), vec![UNK_ID, 4, EOS_ID]);
        assert_eq!(vocab.decode(&[5, 4, EOS_ID, 5]), toks("b c"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.txt");
        vocab.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o644,
                "atomic writes must not leave owner-only files"
            );
        }
        assert_eq!(Vocabulary::load(&path).unwrap(), vocab);
    }

    #[test]
    fn corrupt_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, "<unk>\n<pad>\nx\n").unwrap();
        let msg = format!("{:#}", Vocabulary::load(&path).unwrap_err());
        assert!(msg.contains("bad.txt") && msg.contains("<s>"), "{msg}");
    }
}
