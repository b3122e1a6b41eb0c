//! Fingerspelling: a word as a sequence of letter signs from a fingerspelling lexicon
//! (spoken-to-signed's layout: one entry per letter, `words` = the letter, some letters
//! several characters long, e.g. SGG's `SCH` and `CH`).

use std::sync::Arc;

use crate::lexicon::Lexicon;
use crate::text_to_gloss::LanguagePair;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpellError {
    #[error("no fingerspelling alphabet for {spoken}→{signed}")]
    NoAlphabet { spoken: String, signed: String },
    #[error("no letter for {0:?} in the {1} fingerspelling alphabet")]
    MissingLetter(String, String),
    #[error("nothing to spell")]
    Empty,
}

/// Spells words with a fingerspelling lexicon.
#[derive(Debug)]
pub struct Fingerspeller {
    pub lexicon: Arc<Lexicon>,
}

impl Fingerspeller {
    pub fn new(lexicon: Arc<Lexicon>) -> Fingerspeller {
        Fingerspeller { lexicon }
    }

    /// `(letter, entry id)` for each letter of `word`, matching the longest letter first
    /// at each position (so SGG spells "schal" as SCH-A-L). Whitespace, apostrophes and
    /// hyphens are skipped; any other character without a letter sign is an error.
    pub fn spell(
        &self,
        word: &str,
        languages: &LanguagePair,
    ) -> Result<Vec<(String, usize)>, SpellError> {
        let (spoken, signed) = (&languages.spoken, &languages.signed);
        let longest = self
            .lexicon
            .entries()
            .iter()
            .filter(|e| {
                e.spoken_language.eq_ignore_ascii_case(spoken)
                    && e.signed_language.eq_ignore_ascii_case(signed)
            })
            .map(|e| e.words.trim().chars().count())
            .max()
            .ok_or_else(|| SpellError::NoAlphabet {
                spoken: spoken.clone(),
                signed: signed.clone(),
            })?;
        let chars: Vec<char> = word
            .to_lowercase()
            .chars()
            .filter(|c| !(c.is_whitespace() || matches!(c, '\'' | '’' | '-')))
            .collect();
        if chars.is_empty() {
            return Err(SpellError::Empty);
        }
        let mut letters = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            let found = (1..=longest.min(chars.len() - i)).rev().find_map(|n| {
                let letter: String = chars[i..i + n].iter().collect();
                self.lexicon
                    .lookup_word(&letter, spoken, signed)
                    .map(|id| (n, letter, id))
            });
            match found {
                Some((n, letter, id)) => {
                    letters.push((letter, id));
                    i += n;
                }
                None => {
                    return Err(SpellError::MissingLetter(
                        chars[i].to_string(),
                        signed.clone(),
                    ));
                }
            }
        }
        Ok(letters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_letters_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut index =
            String::from("path,spoken_language,signed_language,start,end,words,glosses,priority\n");
        for letter in ["S", "C", "H", "SCH", "A", "L", "Ä"] {
            index.push_str(&format!("{letter}.pose,de,sgg,0,0,{letter},{letter},0\n"));
        }
        std::fs::write(dir.path().join("index.csv"), index).unwrap();
        let speller = Fingerspeller::new(Arc::new(Lexicon::open(dir.path()).unwrap()));
        let de = LanguagePair::new("de", "sgg");
        let letters: Vec<String> = speller
            .spell("Schäl", &de)
            .unwrap()
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(letters, ["sch", "ä", "l"]);
        assert_eq!(
            speller.spell("sx", &de),
            Err(SpellError::MissingLetter("x".into(), "sgg".into()))
        );
        assert!(matches!(
            speller.spell("a", &LanguagePair::new("en", "ase")),
            Err(SpellError::NoAlphabet { .. })
        ));
    }
}
