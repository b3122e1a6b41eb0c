//! The gloss inventory of a recognizer: CTC class 0 is the blank, class `i + 1` is gloss `i`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::bail;

use crate::decode::BLANK;

/// Written as the first line of `vocab.txt`, so a file from another tool is not mistaken for
/// a gloss list.
const BLANK_TOKEN: &str = "<blank>";

#[derive(Debug, Clone, PartialEq)]
pub struct GlossVocab {
    glosses: Vec<String>,
    index: HashMap<String, usize>,
}

impl GlossVocab {
    /// Every gloss of `sequences`, sorted, so the same data gives the same class ids.
    pub fn build<'a>(sequences: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut glosses: Vec<String> = sequences.into_iter().flatten().cloned().collect();
        glosses.sort();
        glosses.dedup();
        Self::from_glosses(glosses)
    }

    fn from_glosses(glosses: Vec<String>) -> Self {
        let index = glosses
            .iter()
            .enumerate()
            .map(|(i, g)| (g.clone(), i + 1))
            .collect();
        Self { glosses, index }
    }

    /// Output classes of the classifier: glosses + the blank.
    pub fn classes(&self) -> usize {
        self.glosses.len() + 1
    }

    /// Class of `gloss`, or `None` when it was not seen in training.
    pub fn class(&self, gloss: &str) -> Option<usize> {
        self.index.get(gloss).copied()
    }

    pub fn gloss(&self, class: usize) -> Option<&str> {
        if class == BLANK {
            None
        } else {
            self.glosses.get(class - 1).map(String::as_str)
        }
    }

    /// Classes of the known glosses of `glosses`, and how many were unknown.
    pub fn encode(&self, glosses: &[String]) -> (Vec<usize>, usize) {
        let classes: Vec<usize> = glosses.iter().filter_map(|g| self.class(g)).collect();
        let unknown = glosses.len() - classes.len();
        (classes, unknown)
    }

    pub fn decode(&self, classes: &[usize]) -> Vec<String> {
        classes
            .iter()
            .filter_map(|&c| self.gloss(c).map(str::to_owned))
            .collect()
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        signscope_fsio::write_headed_lines(path, BLANK_TOKEN, &self.glosses)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let glosses = signscope_fsio::read_headed_lines(path, BLANK_TOKEN, "gloss vocabulary")?;
        for (i, g) in glosses.iter().enumerate() {
            if g.is_empty() || g.chars().any(char::is_whitespace) {
                bail!(
                    "{}: line {}: a gloss must be one non-empty token",
                    path.display(),
                    i + 2
                );
            }
        }
        let vocab = Self::from_glosses(glosses);
        if vocab.index.len() != vocab.glosses.len() {
            bail!("{}: duplicate glosses", path.display());
        }
        Ok(vocab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_skip_the_blank_and_round_trip() {
        let seqs = [
            vec!["B".to_string(), "A".into()],
            vec!["A".into(), "C".into()],
        ];
        let vocab = GlossVocab::build(seqs.iter().map(Vec::as_slice));
        assert_eq!(vocab.classes(), 4);
        assert_eq!(vocab.class("A"), Some(1));
        assert_eq!(vocab.gloss(BLANK), None);
        let (ids, unknown) = vocab.encode(&["C".into(), "Z".into(), "A".into()]);
        assert_eq!((ids.clone(), unknown), (vec![3, 1], 1));
        assert_eq!(vocab.decode(&ids), vec!["C", "A"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        vocab.save(&path).unwrap();
        assert_eq!(GlossVocab::load(&path).unwrap(), vocab);
        std::fs::write(&path, "A\nB\n").unwrap();
        assert!(
            GlossVocab::load(&path)
                .unwrap_err()
                .to_string()
                .contains("vocab.txt")
        );
    }
}
