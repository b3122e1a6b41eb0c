//! Sign lexicons in the spoken-to-signed layout: a folder with `index.csv`
//! (`path,spoken_language,signed_language,start,end,words,glosses,priority`; start/end in
//! milliseconds, end 0 = whole file; lower priority wins) and the `.pose` files it names.
//!
//! Opening reads `index.csv` only and builds in-memory indices by lower-cased word and
//! gloss per language pair; poses are read on first use (only the entry's time range) and
//! cached, so a 600-file lexicon opens in milliseconds.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use signscope_pose::format::{ReadOptions, ReadRange, read_pose_with};
use signscope_pose::{Pose, PoseError, write_pose};

/// The columns spoken-to-signed's `index.csv` has, in its order.
pub const INDEX_COLUMNS: [&str; 8] = [
    "path",
    "spoken_language",
    "signed_language",
    "start",
    "end",
    "words",
    "glosses",
    "priority",
];

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("{path}: {message}")]
    Index { path: PathBuf, message: String },
    // The inner errors are part of the message (not chained as sources), so reports that
    // print the chain do not repeat them.
    #[error("lexicon entry {entry} ({file}): {error}")]
    Pose {
        entry: String,
        file: PathBuf,
        error: PoseError,
    },
    #[error("lexicon entry {entry}: file {file} does not exist")]
    MissingFile { entry: String, file: PathBuf },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// One row of `index.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconEntry {
    /// As written in `index.csv`, relative to the lexicon folder.
    pub path: String,
    pub spoken_language: String,
    pub signed_language: String,
    pub start_ms: u64,
    /// 0 = to the end of the file.
    pub end_ms: u64,
    pub words: String,
    pub glosses: String,
    pub priority: i64,
    /// The lexicon folder the entry belongs to.
    pub dir: PathBuf,
    /// 1-based line in `index.csv` (header = line 1), for messages.
    pub line: usize,
}

impl LexiconEntry {
    /// `gloss "KINDER" (de→sgg, index.csv line 3)`, for messages.
    pub fn describe(&self) -> String {
        let name = if self.glosses.is_empty() {
            &self.words
        } else {
            &self.glosses
        };
        format!(
            "{name:?} ({}→{}, {} line {})",
            self.spoken_language,
            self.signed_language,
            self.dir.join("index.csv").display(),
            self.line
        )
    }

    /// The `.pose` file. spoken-to-signed's dummy lexicon is shipped with `index.csv` paths
    /// one folder deeper than the files (`sgg/kinder.pose` beside `kinder.pose`), so when
    /// the path does not exist the bare file name in the lexicon folder is tried.
    pub fn file(&self) -> PathBuf {
        let direct = self.dir.join(&self.path);
        if direct.exists() {
            return direct;
        }
        match Path::new(&self.path).file_name() {
            Some(name) if self.dir.join(name).exists() => self.dir.join(name),
            _ => direct,
        }
    }
}

/// Index of entry ids by lower-cased term, per (spoken, signed) pair.
type TermIndex = HashMap<(String, String), HashMap<String, Vec<usize>>>;

/// One or more lexicon folders, indexed.
#[derive(Debug, Default)]
pub struct Lexicon {
    entries: Vec<LexiconEntry>,
    words: TermIndex,
    glosses: TermIndex,
    /// Longest multi-word `words` entry per pair, in words.
    max_phrase: HashMap<(String, String), usize>,
    cache: Mutex<HashMap<usize, Arc<Pose>>>,
    /// Rows that were skipped, with the reason.
    pub warnings: Vec<String>,
}

fn key(spoken: &str, signed: &str) -> (String, String) {
    (spoken.to_lowercase(), signed.to_lowercase())
}

fn normalize_term(term: &str) -> String {
    term.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Lexicon {
    /// Open one lexicon folder.
    pub fn open(dir: impl AsRef<Path>) -> Result<Lexicon, LexiconError> {
        let mut lexicon = Lexicon::default();
        lexicon.add_dir(dir)?;
        Ok(lexicon)
    }

    /// Open several folders as one lexicon (their entries compete by priority).
    pub fn open_all<P: AsRef<Path>>(dirs: &[P]) -> Result<Lexicon, LexiconError> {
        let mut lexicon = Lexicon::default();
        for dir in dirs {
            lexicon.add_dir(dir)?;
        }
        Ok(lexicon)
    }

    /// Add the entries of another folder.
    pub fn add_dir(&mut self, dir: impl AsRef<Path>) -> Result<(), LexiconError> {
        let dir = dir.as_ref();
        let index = dir.join("index.csv");
        let text = fs::read_to_string(&index).map_err(|error| LexiconError::Io {
            path: index.clone(),
            error,
        })?;
        let index_error = |message: String| LexiconError::Index {
            path: index.clone(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| index_error(format!("unreadable header: {e}")))?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h.trim() == name);
        let mut columns = [0usize; 8];
        for (slot, name) in columns.iter_mut().zip(INDEX_COLUMNS) {
            *slot = column(name).ok_or_else(|| {
                index_error(format!(
                    "missing column {name:?} (expected {})",
                    INDEX_COLUMNS.join(",")
                ))
            })?;
        }
        let [
            c_path,
            c_spoken,
            c_signed,
            c_start,
            c_end,
            c_words,
            c_glosses,
            c_priority,
        ] = columns;
        for (row, record) in reader.records().enumerate() {
            let line = row + 2;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    self.warnings
                        .push(format!("{} line {line}: skipped: {e}", index.display()));
                    continue;
                }
            };
            let field = |c: usize| record.get(c).unwrap_or("").trim().to_string();
            let number = |c: usize, name: &str| -> Result<i64, String> {
                let v = field(c);
                if v.is_empty() {
                    return Ok(0);
                }
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(|x| x as i64)
                    .ok_or_else(|| format!("{name} {v:?} is not a number"))
            };
            let parsed = (|| -> Result<LexiconEntry, String> {
                let path = field(c_path);
                if path.is_empty() {
                    return Err("empty path".into());
                }
                let (start, end) = (number(c_start, "start")?, number(c_end, "end")?);
                if start < 0 || end < 0 || (end > 0 && end <= start) {
                    return Err(format!("bad time range start={start} end={end} (ms)"));
                }
                Ok(LexiconEntry {
                    path,
                    spoken_language: field(c_spoken),
                    signed_language: field(c_signed),
                    start_ms: start as u64,
                    end_ms: end as u64,
                    words: field(c_words),
                    glosses: field(c_glosses),
                    priority: number(c_priority, "priority")?,
                    dir: dir.to_path_buf(),
                    line,
                })
            })();
            match parsed {
                Ok(entry) => self.insert(entry),
                Err(message) => self.warnings.push(format!(
                    "{} line {line}: skipped: {message}",
                    index.display()
                )),
            }
        }
        Ok(())
    }

    fn insert(&mut self, entry: LexiconEntry) {
        let id = self.entries.len();
        let pair = key(&entry.spoken_language, &entry.signed_language);
        let word = normalize_term(&entry.words);
        let gloss = normalize_term(&entry.glosses);
        if !word.is_empty() {
            let n = word.split(' ').count();
            let longest = self.max_phrase.entry(pair.clone()).or_insert(1);
            *longest = (*longest).max(n);
            self.words
                .entry(pair.clone())
                .or_default()
                .entry(word)
                .or_default()
                .push(id);
        }
        if !gloss.is_empty() {
            self.glosses
                .entry(pair)
                .or_default()
                .entry(gloss)
                .or_default()
                .push(id);
        }
        self.entries.push(entry);
    }

    pub fn entries(&self) -> &[LexiconEntry] {
        &self.entries
    }

    pub fn entry(&self, id: usize) -> &LexiconEntry {
        &self.entries[id]
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Language pairs `(spoken, signed)` present, sorted.
    pub fn language_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = self
            .entries
            .iter()
            .map(|e| key(&e.spoken_language, &e.signed_language))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// Longest `words` phrase (in words) for the pair; 0 when the pair is absent.
    pub fn max_phrase_words(&self, spoken: &str, signed: &str) -> usize {
        self.max_phrase
            .get(&key(spoken, signed))
            .copied()
            .unwrap_or(0)
    }

    fn best(&self, ids: &[usize], term: &str) -> usize {
        // Lowest priority wins; among equals, an exact-case match, then file order.
        *ids.iter()
            .min_by_key(|&&id| {
                let e = &self.entries[id];
                let exact = e.words.trim() == term || e.glosses.trim() == term;
                (e.priority, !exact, id)
            })
            .expect("index lists are never empty")
    }

    /// The entry whose `words` equal `word` (case-insensitive, whitespace-normalized).
    pub fn lookup_word(&self, word: &str, spoken: &str, signed: &str) -> Option<usize> {
        let ids = self
            .words
            .get(&key(spoken, signed))?
            .get(&normalize_term(word))?;
        Some(self.best(ids, word))
    }

    /// The entry whose `glosses` equal `gloss` (case-insensitive).
    pub fn lookup_gloss(&self, gloss: &str, spoken: &str, signed: &str) -> Option<usize> {
        let ids = self
            .glosses
            .get(&key(spoken, signed))?
            .get(&normalize_term(gloss))?;
        Some(self.best(ids, gloss))
    }

    /// By word, then by gloss.
    pub fn lookup(&self, term: &str, spoken: &str, signed: &str) -> Option<usize> {
        self.lookup_word(term, spoken, signed)
            .or_else(|| self.lookup_gloss(term, spoken, signed))
    }

    /// The distinct lower-cased `words` (or, where empty, glosses) of the pair, sorted:
    /// the vocabulary retrieval matches unknown words against.
    pub fn vocabulary(&self, spoken: &str, signed: &str) -> Vec<String> {
        let pair = key(spoken, signed);
        let mut terms: Vec<String> = self
            .words
            .get(&pair)
            .into_iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        if let Some(glosses) = self.glosses.get(&pair) {
            for (gloss, ids) in glosses {
                if ids
                    .iter()
                    .any(|&id| self.entries[id].words.trim().is_empty())
                {
                    terms.push(gloss.clone());
                }
            }
        }
        terms.sort();
        terms.dedup();
        terms
    }

    /// The entry's pose (its time range only), read on first use and cached.
    pub fn load(&self, id: usize) -> Result<Arc<Pose>, LexiconError> {
        if let Some(pose) = self.cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
            return Ok(pose);
        }
        let entry = &self.entries[id];
        let file = entry.file();
        if !file.exists() {
            return Err(LexiconError::MissingFile {
                entry: entry.describe(),
                file,
            });
        }
        let range = ReadRange {
            start_ms: (entry.start_ms > 0).then_some(entry.start_ms as f64),
            end_ms: (entry.end_ms > 0).then_some(entry.end_ms as f64),
            ..ReadRange::default()
        };
        let pose = read_pose_with(&file, &ReadOptions::with_range(range)).map_err(|error| {
            LexiconError::Pose {
                entry: entry.describe(),
                file: file.clone(),
                error,
            }
        })?;
        if pose.body.frames() == 0 || pose.body.people() == 0 {
            return Err(LexiconError::Pose {
                entry: entry.describe(),
                file,
                error: PoseError::Invalid("no frames in the entry's time range".into()),
            });
        }
        let pose = Arc::new(pose);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(id, pose.clone());
        }
        Ok(pose)
    }
}

/// A file name for `gloss` that is safe on every filesystem.
fn file_stem(gloss: &str) -> String {
    let stem: String = gloss
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() { "sign".into() } else { stem }
}

/// Write a lexicon folder from `(gloss, pose)` pairs: one `.pose` file per clip and an
/// `index.csv` whose `words` are the lower-cased gloss (with `-`/`_` read as spaces) and
/// whose `glosses` are the gloss. Repeated glosses get increasing priority (the first
/// wins). `index.csv` is written to a temporary file and renamed, so a crash never leaves
/// a half-written index. Returns the index path.
pub fn write_lexicon<'a>(
    dir: impl AsRef<Path>,
    spoken_language: &str,
    signed_language: &str,
    clips: impl IntoIterator<Item = (&'a str, &'a Pose)>,
) -> Result<PathBuf, LexiconError> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(|error| LexiconError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| LexiconError::Index {
        path: dir.join("index.csv"),
        message: e.to_string(),
    };
    writer.write_record(INDEX_COLUMNS).map_err(csv_error)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Distinct glosses can share a file stem ("A+B", "A_B"): every clip gets its own file.
    let mut names: HashSet<String> = HashSet::new();
    for (gloss, pose) in clips {
        let count = seen.entry(gloss.to_string()).or_insert(0);
        let priority = *count;
        *count += 1;
        let stem = file_stem(gloss);
        let mut name = format!("{stem}.pose");
        let mut n = 0;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{stem}_{n}.pose");
        }
        let file = dir.join(&name);
        write_pose(&file, pose).map_err(|error| LexiconError::Pose {
            entry: format!("{gloss:?}"),
            file: file.clone(),
            error,
        })?;
        let words = gloss.replace(['-', '_'], " ").to_lowercase();
        writer
            .write_record([
                name.as_str(),
                spoken_language,
                signed_language,
                "0",
                "0",
                words.as_str(),
                gloss,
                &priority.to_string(),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| LexiconError::Index {
        path: dir.join("index.csv"),
        message: e.to_string(),
    })?;
    let index = dir.join("index.csv");
    let io = |error| LexiconError::Io {
        path: index.clone(),
        error,
    };
    signscope_fsio::write_atomic(&index, &bytes).map_err(io)?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "path,spoken_language,signed_language,start,end,words,glosses,priority\n\
        a.pose,de,sgg,0,0,kinder,KINDER,1\n\
        b.pose,de,sgg,0,0,Kinder,KIND,0\n\
        c.pose,de,sgg,0,0,ice cream,EIS,0\n\
        d.pose,en,ase,0,0,kinder,KIND-ASE,0\n\
        e.pose,de,sgg,500,100,broken,BROKEN,0\n\
        f.pose,de,sgg,0,0,,HAUS,0\n";

    fn lexicon() -> (tempfile::TempDir, Lexicon) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.csv"), INDEX).unwrap();
        let lexicon = Lexicon::open(dir.path()).unwrap();
        (dir, lexicon)
    }

    #[test]
    fn lookup_is_case_insensitive_and_lowest_priority_wins() {
        let (_dir, lex) = lexicon();
        let id = lex.lookup("KINDER", "de", "sgg").unwrap();
        assert_eq!(lex.entry(id).path, "b.pose");
        let id = lex.lookup("kinder", "en", "ase").unwrap();
        assert_eq!(lex.entry(id).path, "d.pose");
        assert_eq!(lex.lookup("kinder", "de", "gsg"), None);
        // Gloss lookup after word lookup.
        let id = lex.lookup("kind", "de", "sgg").unwrap();
        assert_eq!(lex.entry(id).path, "b.pose");
        let id = lex.lookup("haus", "de", "sgg").unwrap();
        assert_eq!(lex.entry(id).path, "f.pose");
    }

    #[test]
    fn multi_word_entries_and_vocabulary() {
        let (_dir, lex) = lexicon();
        assert_eq!(lex.max_phrase_words("de", "sgg"), 2);
        assert!(lex.lookup_word("Ice  Cream", "de", "sgg").is_some());
        assert_eq!(lex.vocabulary("de", "sgg"), ["haus", "ice cream", "kinder"]);
        assert_eq!(
            lex.language_pairs(),
            [("de".into(), "sgg".into()), ("en".into(), "ase".into())]
        );
    }

    #[test]
    fn bad_rows_are_skipped_with_a_warning_naming_the_line() {
        let (_dir, lex) = lexicon();
        assert_eq!(lex.len(), 5);
        assert_eq!(lex.warnings.len(), 1);
        assert!(lex.warnings[0].contains("line 6"), "{}", lex.warnings[0]);
    }

    #[test]
    fn missing_file_error_names_entry_and_file() {
        let (_dir, lex) = lexicon();
        let id = lex.lookup("haus", "de", "sgg").unwrap();
        let err = lex.load(id).unwrap_err().to_string();
        assert!(err.contains("HAUS") && err.contains("f.pose"), "{err}");
    }

    #[test]
    fn missing_column_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.csv"), "path,words\na.pose,x\n").unwrap();
        let err = Lexicon::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("spoken_language") && err.contains("index.csv"),
            "{err}"
        );
    }

    #[test]
    fn written_lexicon_opens_and_loads() {
        use ndarray::{Array3, Array4};
        use signscope_pose::PoseBody;
        use signscope_pose::skeleton::Layout;
        let header = Layout::HolisticReduced178.header(512, 512, 0);
        let pose = |frames: usize, value: f32| Pose {
            header: header.clone().into(),
            body: PoseBody {
                fps: 25.0,
                data: Array4::from_elem((frames, 1, 178, 3), value),
                confidence: Array3::ones((frames, 1, 178)),
            },
        };
        let (hello, hello2, ice) = (pose(3, 1.0), pose(4, 2.0), pose(5, 3.0));
        let dir = tempfile::tempdir().unwrap();
        let index = write_lexicon(
            dir.path(),
            "en",
            "ase",
            [("HELLO", &hello), ("HELLO", &hello2), ("ICE-CREAM", &ice)],
        )
        .unwrap();
        assert_eq!(index, dir.path().join("index.csv"));
        let lex = Lexicon::open(dir.path()).unwrap();
        assert_eq!(lex.len(), 3);
        let id = lex.lookup("hello", "en", "ase").unwrap();
        assert_eq!(*lex.load(id).unwrap(), hello);
        let id = lex.lookup_word("ice cream", "en", "ase").unwrap();
        assert_eq!(lex.load(id).unwrap().body.frames(), 5);
        // Loads are cached: the same Arc comes back.
        assert!(Arc::ptr_eq(&lex.load(id).unwrap(), &lex.load(id).unwrap()));
    }

    #[test]
    fn glosses_with_the_same_file_stem_keep_their_own_files() {
        use ndarray::{Array3, Array4};
        use signscope_pose::PoseBody;
        use signscope_pose::skeleton::Layout;
        let header = Layout::HolisticReduced178.header(512, 512, 0);
        let pose = |frames: usize| Pose {
            header: header.clone().into(),
            body: PoseBody {
                fps: 25.0,
                data: Array4::zeros((frames, 1, 178, 3)),
                confidence: Array3::ones((frames, 1, 178)),
            },
        };
        let dir = tempfile::tempdir().unwrap();
        write_lexicon(
            dir.path(),
            "en",
            "ase",
            [("A+B", &pose(2)), ("A_B", &pose(3)), ("A B", &pose(4))],
        )
        .unwrap();
        let lex = Lexicon::open(dir.path()).unwrap();
        for (gloss, frames) in [("A+B", 2), ("A_B", 3), ("A B", 4)] {
            let id = lex.lookup_gloss(gloss, "en", "ase").unwrap();
            assert_eq!(lex.load(id).unwrap().body.frames(), frames, "{gloss}");
        }
    }
}
