//! Text → gloss: what to sign for each token of a sentence.
//!
//! [`TextToGloss`] is the seam for translators. [`LexiconGlosser`] is the lexicon-driven
//! baseline: tokenize, lower-case, look words up (longest multi-word entry first, no
//! lemmatization), turn punctuation into pauses, and fall back for unknown words to
//! AuraLLM's retrieval (embed the word, take the lexicon entry with the highest cosine
//! similarity, Eq. 1, if above a threshold) and then to fingerspelling. A trained
//! translator (e.g. a seq2seq text→gloss model) plugs in through [`GlossModel`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use unicode_segmentation::UnicodeSegmentation;

use crate::fingerspell::Fingerspeller;
use crate::lexicon::Lexicon;

/// The spoken language of the text and the signed language to produce.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguagePair {
    pub spoken: String,
    pub signed: String,
}

impl LanguagePair {
    pub fn new(spoken: &str, signed: &str) -> LanguagePair {
        LanguagePair {
            spoken: spoken.to_lowercase(),
            signed: signed.to_lowercase(),
        }
    }
}

/// How a sign was chosen, for reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GlossSource {
    /// The word (or phrase) is a lexicon entry.
    Lexicon,
    /// Nearest lexicon entry by embedding similarity.
    Retrieved { similarity: f32 },
    /// Emitted by a translation model.
    Model,
}

/// One unit of the gloss sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum GlossItem {
    /// A lexicon sign: `gloss` is looked up among glosses, then words; `word` is the text
    /// it stands for.
    Sign {
        word: String,
        gloss: String,
        source: GlossSource,
    },
    /// Spell `word` with the fingerspelling alphabet.
    Fingerspell { word: String },
    /// Hold still (punctuation `mark`).
    Pause { mark: String, seconds: f32 },
}

/// A gloss sequence and what could not be translated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Glossed {
    pub items: Vec<GlossItem>,
    pub warnings: Vec<String>,
}

impl Glossed {
    /// `KINDER ESSEN PIZZA fs:TOM .`
    pub fn to_gloss_string(&self) -> String {
        self.items
            .iter()
            .map(|item| match item {
                GlossItem::Sign { gloss, .. } => gloss.clone(),
                GlossItem::Fingerspell { word } => format!("fs:{word}"),
                GlossItem::Pause { mark, .. } => mark.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Text → gloss sequence.
pub trait TextToGloss {
    fn text_to_gloss(&self, text: &str, languages: &LanguagePair) -> anyhow::Result<Glossed>;
}

/// A token of the input text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(String),
    Number(String),
    Punctuation(String),
}

/// Split `text` at Unicode word boundaries (UAX #29), keeping words (lower-cased), numbers
/// and pause-worthy punctuation; other symbols and whitespace are dropped.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for segment in text.split_word_bounds() {
        if segment.chars().any(char::is_alphanumeric) {
            let numeric = segment
                .chars()
                .all(|c| c.is_numeric() || c == '.' || c == ',');
            tokens.push(if numeric {
                Token::Number(segment.to_string())
            } else {
                Token::Word(segment.to_lowercase())
            });
        } else {
            for c in segment.chars().filter(|c| PauseDurations::is_pause(*c)) {
                tokens.push(Token::Punctuation(c.to_string()));
            }
        }
    }
    tokens
}

/// Pause lengths for punctuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PauseDurations {
    /// `. ! ? …`
    pub sentence_s: f32,
    /// `, ; : – —`
    pub clause_s: f32,
}

impl Default for PauseDurations {
    fn default() -> Self {
        PauseDurations {
            sentence_s: 0.5,
            clause_s: 0.25,
        }
    }
}

impl PauseDurations {
    const SENTENCE: [char; 6] = ['.', '!', '?', '…', '。', '？'];
    const CLAUSE: [char; 7] = [',', ';', ':', '–', '—', '，', '、'];

    pub fn is_pause(c: char) -> bool {
        PauseDurations::SENTENCE.contains(&c) || PauseDurations::CLAUSE.contains(&c)
    }

    pub fn seconds(&self, mark: &str) -> f32 {
        match mark.chars().next() {
            Some(c) if PauseDurations::SENTENCE.contains(&c) => self.sentence_s,
            Some(c) if PauseDurations::CLAUSE.contains(&c) => self.clause_s,
            _ => 0.0,
        }
    }
}

/// Sentence embeddings: texts → vectors (any norm; they are L2-normalized here).
/// Closures `Fn(&[&str]) -> Vec<Vec<f32>>` are embedders.
pub trait Embedder: Send + Sync {
    fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>>;
}

impl<F> Embedder for F
where
    F: Fn(&[&str]) -> Vec<Vec<f32>> + Send + Sync,
{
    fn embed(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        Ok(self(texts))
    }
}

/// The embedded vocabulary of one language pair.
#[derive(Debug, Clone)]
pub struct VocabularyEmbeddings {
    pub terms: Vec<String>,
    /// L2-normalized, one per term.
    pub vectors: Vec<Vec<f32>>,
}

fn l2_normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// AuraLLM's retrieval for out-of-lexicon words: the lexicon term whose embedding has the
/// highest cosine similarity with the word's, accepted at or above `threshold`.
pub struct Retrieval {
    embedder: Box<dyn Embedder>,
    pub threshold: f32,
    /// Vocabulary embeddings per language pair, computed once.
    cache: Mutex<HashMap<LanguagePair, Arc<VocabularyEmbeddings>>>,
}

impl std::fmt::Debug for Retrieval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrieval")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// Texts embedded per call, to bound the embedder's batch memory.
const EMBED_BATCH: usize = 64;

impl Retrieval {
    pub fn new(embedder: impl Embedder + 'static, threshold: f32) -> Retrieval {
        Retrieval {
            embedder: Box::new(embedder),
            threshold,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn embed_all(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            let vectors = self.embedder.embed(batch)?;
            anyhow::ensure!(
                vectors.len() == batch.len(),
                "embedder returned {} vectors for {} texts",
                vectors.len(),
                batch.len()
            );
            out.extend(vectors.into_iter().map(l2_normalized));
        }
        Ok(out)
    }

    /// The lexicon vocabulary's embeddings for `languages` (computed on first use).
    pub fn vocabulary(
        &self,
        lexicon: &Lexicon,
        languages: &LanguagePair,
    ) -> anyhow::Result<Arc<VocabularyEmbeddings>> {
        if let Some(v) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(languages).cloned())
        {
            return Ok(v);
        }
        let terms = lexicon.vocabulary(&languages.spoken, &languages.signed);
        let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
        let vectors = self.embed_all(&refs)?;
        let embedded = Arc::new(VocabularyEmbeddings { terms, vectors });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(languages.clone(), embedded.clone());
        }
        Ok(embedded)
    }

    /// The most similar vocabulary term and its cosine similarity (no threshold applied).
    pub fn nearest(
        &self,
        lexicon: &Lexicon,
        word: &str,
        languages: &LanguagePair,
    ) -> anyhow::Result<Option<(String, f32)>> {
        let vocabulary = self.vocabulary(lexicon, languages)?;
        let query = self
            .embed_all(&[word])?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("embedder returned no vector"))?;
        let best = vocabulary
            .vectors
            .iter()
            .zip(&vocabulary.terms)
            .map(|(v, term)| (term, v.iter().zip(&query).map(|(a, b)| a * b).sum::<f32>()))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        Ok(best.map(|(term, similarity)| (term.clone(), similarity)))
    }
}

/// The lexicon-driven baseline glosser, optionally with retrieval.
#[derive(Debug)]
pub struct LexiconGlosser {
    pub lexicon: Arc<Lexicon>,
    pub fingerspeller: Option<Arc<Fingerspeller>>,
    pub retrieval: Option<Retrieval>,
    pub pauses: PauseDurations,
}

impl LexiconGlosser {
    pub fn new(lexicon: Arc<Lexicon>, fingerspeller: Option<Arc<Fingerspeller>>) -> Self {
        LexiconGlosser {
            lexicon,
            fingerspeller,
            retrieval: None,
            pauses: PauseDurations::default(),
        }
    }

    pub fn with_retrieval(mut self, retrieval: Retrieval) -> Self {
        self.retrieval = Some(retrieval);
        self
    }

    fn sign_for(&self, id: usize, word: &str, source: GlossSource) -> GlossItem {
        let entry = self.lexicon.entry(id);
        let gloss = if entry.glosses.trim().is_empty() {
            entry.words.trim()
        } else {
            entry.glosses.trim()
        };
        GlossItem::Sign {
            word: word.to_string(),
            gloss: gloss.to_string(),
            source,
        }
    }

    fn can_spell(&self, word: &str, languages: &LanguagePair) -> bool {
        self.fingerspeller
            .as_ref()
            .is_some_and(|f| f.spell(word, languages).is_ok())
    }

    /// Unknown word: retrieval, then fingerspelling, else a warning.
    fn fallback(&self, word: &str, languages: &LanguagePair, out: &mut Glossed) {
        if let Some(retrieval) = &self.retrieval {
            match retrieval.nearest(&self.lexicon, word, languages) {
                Ok(Some((term, similarity))) if similarity >= retrieval.threshold => {
                    if let Some(id) =
                        self.lexicon
                            .lookup(&term, &languages.spoken, &languages.signed)
                    {
                        out.items.push(self.sign_for(
                            id,
                            word,
                            GlossSource::Retrieved { similarity },
                        ));
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => out
                    .warnings
                    .push(format!("retrieval for {word:?} failed: {e:#}")),
            }
        }
        if self.can_spell(word, languages) {
            out.items.push(GlossItem::Fingerspell {
                word: word.to_string(),
            });
            return;
        }
        let reason = match &self.fingerspeller {
            Some(f) => match f.spell(word, languages) {
                Err(e) => e.to_string(),
                Ok(_) => unreachable!("checked above"),
            },
            None => "no fingerspelling lexicon".to_string(),
        };
        out.warnings.push(format!(
            "{word:?}: no sign in the lexicon for {}→{} and it cannot be fingerspelled ({reason}); skipped",
            languages.spoken, languages.signed
        ));
    }
}

impl TextToGloss for LexiconGlosser {
    fn text_to_gloss(&self, text: &str, languages: &LanguagePair) -> anyhow::Result<Glossed> {
        let (spoken, signed) = (&languages.spoken, &languages.signed);
        let tokens = tokenize(text);
        let mut out = Glossed::default();
        let max_phrase = self.lexicon.max_phrase_words(spoken, signed);
        let mut i = 0;
        while i < tokens.len() {
            let word = match &tokens[i] {
                Token::Punctuation(mark) => {
                    let seconds = self.pauses.seconds(mark);
                    match out.items.last_mut() {
                        // No pause before the first sign; repeated marks keep the longest.
                        None => {}
                        Some(GlossItem::Pause { seconds: s, .. }) => *s = s.max(seconds),
                        Some(_) => out.items.push(GlossItem::Pause {
                            mark: mark.clone(),
                            seconds,
                        }),
                    }
                    i += 1;
                    continue;
                }
                Token::Word(w) | Token::Number(w) => w.clone(),
            };
            // Longest multi-word entry starting here.
            let run = tokens[i..]
                .iter()
                .take_while(|t| !matches!(t, Token::Punctuation(_)))
                .count();
            let phrase = (2..=max_phrase.min(run)).rev().find_map(|n| {
                let words: Vec<&str> = tokens[i..i + n]
                    .iter()
                    .map(|t| match t {
                        Token::Word(w) | Token::Number(w) => w.as_str(),
                        Token::Punctuation(_) => "",
                    })
                    .collect();
                let phrase = words.join(" ");
                self.lexicon
                    .lookup_word(&phrase, spoken, signed)
                    .map(|id| (n, id, phrase))
            });
            if let Some((n, id, phrase)) = phrase {
                out.items
                    .push(self.sign_for(id, &phrase, GlossSource::Lexicon));
                i += n;
                continue;
            }
            if let Some(id) = self.lexicon.lookup(&word, spoken, signed) {
                out.items
                    .push(self.sign_for(id, &word, GlossSource::Lexicon));
            } else if matches!(tokens[i], Token::Number(_)) {
                // Numbers: digit signs from the lexicon, else spelled digits.
                let digits: Option<Vec<usize>> = word
                    .chars()
                    .filter(char::is_ascii_digit)
                    .map(|d| self.lexicon.lookup(&d.to_string(), spoken, signed))
                    .collect();
                match digits {
                    Some(ids) if !ids.is_empty() => {
                        for (id, d) in ids
                            .into_iter()
                            .zip(word.chars().filter(char::is_ascii_digit))
                        {
                            out.items
                                .push(self.sign_for(id, &d.to_string(), GlossSource::Lexicon));
                        }
                    }
                    _ => self.fallback(&word, languages, &mut out),
                }
            } else {
                self.fallback(&word, languages, &mut out);
            }
            i += 1;
        }
        Ok(out)
    }
}

/// A translation model as a glosser: `translate(text, languages)` returns glosses, which
/// the pose step looks up (and fingerspells when the lexicon lacks them).
pub struct GlossModel<F>(pub F);

impl<F> TextToGloss for GlossModel<F>
where
    F: Fn(&str, &LanguagePair) -> anyhow::Result<Vec<String>>,
{
    fn text_to_gloss(&self, text: &str, languages: &LanguagePair) -> anyhow::Result<Glossed> {
        let glosses = (self.0)(text, languages)?;
        Ok(Glossed {
            items: glosses
                .into_iter()
                .map(|gloss| GlossItem::Sign {
                    word: gloss.clone(),
                    gloss,
                    source: GlossSource::Model,
                })
                .collect(),
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const INDEX: &str = "path,spoken_language,signed_language,start,end,words,glosses,priority\n\
        kinder.pose,de,sgg,0,0,kinder,KINDER,0\n\
        essen.pose,de,sgg,0,0,essen,ESSEN,0\n\
        pizza.pose,de,sgg,0,0,pizza,PIZZA,0\n\
        eis.pose,de,sgg,0,0,ice cream,EIS,0\n\
        zwei.pose,de,sgg,0,0,2,ZWEI,0\n";
    const LETTERS: &str = "path,spoken_language,signed_language,start,end,words,glosses,priority\n\
        t.pose,de,sgg,0,0,T,T,0\n\
        o.pose,de,sgg,0,0,O,O,0\n\
        m.pose,de,sgg,0,0,M,M,0\n\
        sch.pose,de,sgg,0,0,SCH,SCH,0\n\
        s.pose,de,sgg,0,0,S,S,0\n";

    fn glosser() -> (tempfile::TempDir, LexiconGlosser) {
        let dir = tempfile::tempdir().unwrap();
        let signs = dir.path().join("signs");
        let letters = dir.path().join("letters");
        fs::create_dir_all(&signs).unwrap();
        fs::create_dir_all(&letters).unwrap();
        fs::write(signs.join("index.csv"), INDEX).unwrap();
        fs::write(letters.join("index.csv"), LETTERS).unwrap();
        let lexicon = Arc::new(Lexicon::open(&signs).unwrap());
        let spelling = Arc::new(Fingerspeller::new(Arc::new(
            Lexicon::open(&letters).unwrap(),
        )));
        (dir, LexiconGlosser::new(lexicon, Some(spelling)))
    }

    fn de() -> LanguagePair {
        LanguagePair::new("de", "sgg")
    }

    #[test]
    fn tokenizer_keeps_words_numbers_and_pauses() {
        assert_eq!(
            tokenize("Kinder, essen 2 Pizzas!  (x)"),
            vec![
                Token::Word("kinder".into()),
                Token::Punctuation(",".into()),
                Token::Word("essen".into()),
                Token::Number("2".into()),
                Token::Word("pizzas".into()),
                Token::Punctuation("!".into()),
                Token::Word("x".into()),
            ]
        );
        assert!(tokenize("  ").is_empty());
    }

    #[test]
    fn baseline_glosses_phrases_numbers_and_spells_unknown_words() {
        let (_dir, g) = glosser();
        let out = g
            .text_to_gloss("Kinder essen Ice Cream, Tom! 2 Xylo.", &de())
            .unwrap();
        assert_eq!(out.to_gloss_string(), "KINDER ESSEN EIS , fs:tom ! ZWEI .");
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(out.warnings[0].contains("xylo"), "{:?}", out.warnings);
        let empty = g.text_to_gloss("", &de()).unwrap();
        assert!(empty.items.is_empty() && empty.warnings.is_empty());
    }

    #[test]
    fn retrieval_picks_the_nearest_entry_above_threshold() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (_dir, g) = glosser();
        let embedded = Arc::new(AtomicUsize::new(0));
        let counter = embedded.clone();
        // A toy embedding: "kids" points almost the same way as "kinder".
        let embed = move |texts: &[&str]| -> Vec<Vec<f32>> {
            counter.fetch_add(texts.len(), Ordering::Relaxed);
            texts
                .iter()
                .map(|t| match *t {
                    "kinder" => vec![1.0, 0.0, 0.0],
                    "kids" => vec![0.9, 0.1, 0.0],
                    "tom" => vec![0.0, 0.0, 1.0],
                    _ => vec![0.0, 1.0, -1.0],
                })
                .collect()
        };
        let g = g.with_retrieval(Retrieval::new(embed, 0.8));
        let out = g.text_to_gloss("kids tom", &de()).unwrap();
        assert_eq!(out.to_gloss_string(), "KINDER fs:tom");
        match &out.items[0] {
            GlossItem::Sign {
                source: GlossSource::Retrieved { similarity },
                ..
            } => assert!(*similarity > 0.99),
            other => panic!("{other:?}"),
        }
        // 5 vocabulary terms once, plus one query per unknown word.
        assert_eq!(embedded.load(Ordering::Relaxed), 5 + 2);
        g.text_to_gloss("kids", &de()).unwrap();
        assert_eq!(embedded.load(Ordering::Relaxed), 5 + 3);
    }

    #[test]
    fn model_glosses_pass_through() {
        let model = GlossModel(|_: &str, _: &LanguagePair| Ok(vec!["KINDER".into(), "X".into()]));
        let out = model.text_to_gloss("whatever", &de()).unwrap();
        assert_eq!(out.to_gloss_string(), "KINDER X");
    }
}
