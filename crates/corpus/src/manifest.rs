//! The corpus manifest: JSON Lines, one [`Record`] (one signed utterance) per line.
//!
//! Every importer writes this format and every consumer (training, splitting, the
//! synthetic generator, evaluation) reads it, so dataset quirks stop at the importers.
//! The format is described with an example in the crate's README.md.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::atomic::AtomicFile;
use crate::error::{CorpusError, Result};

/// Which partition of a corpus a record belongs to.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    #[value(alias = "val")]
    Dev,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = String;

    /// Accepts the names the public corpora use: train, dev/val/validation, test.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Ok(Split::Train),
            "dev" | "val" | "valid" | "validation" => Ok(Split::Dev),
            "test" => Ok(Split::Test),
            other => Err(format!(
                "unknown split {other:?} (expected train, dev/val or test)"
            )),
        }
    }
}

/// Half-open frame interval `[start, end)` inside a pose file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRange {
    pub start: u64,
    pub end: u64,
}

/// Interval in seconds `[start, end)` inside the source recording (How2Sign and lexicons
/// give times rather than frames; the pose file's fps turns it into frames).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: f64,
    pub end: f64,
}

/// One signed utterance: a turn of a dialogue, or a stand-alone sentence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Unique within the manifest.
    pub id: String,
    /// Unassigned until a corpus's own split or [`crate::split`] sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Records sharing a dialogue id are turns of one conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialogue: Option<String>,
    /// 0-based position of this turn inside its dialogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// Speaker role inside the dialogue (e.g. "customer", "doctor", "A").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Keypoint file; relative paths are relative to the manifest's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pose: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<FrameRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<TimeRange>,
    /// Gloss annotation, one token per sign; empty for corpora without glosses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub glosses: Vec<String>,
    /// Spoken-language sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Spoken language of `text` (BCP 47, e.g. "de", "zh", "en").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Sign language of the glosses/poses (ISO 639-3, e.g. "gsg", "csl", "ase").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_language: Option<String>,
    /// Texts of the earlier turns of the dialogue, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// Corpus-specific columns kept verbatim (e.g. CSL-Daily `postag`, `text_en`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Record {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// The pose path resolved against the directory of the manifest that holds this record.
    pub fn resolved_pose(&self, manifest_dir: &Path) -> Option<PathBuf> {
        self.pose.as_ref().map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                manifest_dir.join(p)
            }
        })
    }

    /// Checks what serde cannot: a non-empty id, well-formed gloss tokens and ranges.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("record has an empty id".into());
        }
        if let Some(bad) = self
            .glosses
            .iter()
            .find(|g| g.is_empty() || g.chars().any(char::is_whitespace))
        {
            return Err(format!(
                "record {:?}: gloss {bad:?} is empty or contains whitespace (one token per gloss)",
                self.id
            ));
        }
        if let Some(FrameRange { start, end }) = self.frames
            && start > end
        {
            return Err(format!(
                "record {:?}: frame range start {start} > end {end}",
                self.id
            ));
        }
        if let Some(TimeRange { start, end }) = self.seconds
            && (!start.is_finite() || !end.is_finite() || start > end)
        {
            return Err(format!(
                "record {:?}: time range [{start}, {end}) is not a finite increasing interval",
                self.id
            ));
        }
        Ok(())
    }
}

/// Streams records from a manifest, skipping blank lines. Each item's error names the
/// file and the 1-based line.
pub struct ManifestReader<R> {
    path: PathBuf,
    lines: std::io::Lines<R>,
    line_number: usize,
}

impl ManifestReader<BufReader<File>> {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| CorpusError::io(path, e))?;
        Ok(Self::new(path, BufReader::new(file)))
    }
}

impl<R: BufRead> ManifestReader<R> {
    /// `path` is only used to name the source in errors.
    pub fn new(path: impl Into<PathBuf>, reader: R) -> Self {
        Self {
            path: path.into(),
            lines: reader.lines(),
            line_number: 0,
        }
    }
}

impl<R: BufRead> Iterator for ManifestReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = self.lines.next()?;
            self.line_number += 1;
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    return Some(Err(CorpusError::line(
                        &self.path,
                        self.line_number,
                        format!("cannot read line: {e}"),
                    )));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str::<Record>(&line)
                .map_err(|e| format!("invalid record: {e}"))
                .and_then(|r| r.validate().map(|()| r));
            return Some(
                record.map_err(|message| CorpusError::line(&self.path, self.line_number, message)),
            );
        }
    }
}

/// Reads a whole manifest, rejecting duplicate ids.
pub fn read_manifest(path: impl AsRef<Path>) -> Result<Vec<Record>> {
    let path = path.as_ref();
    let mut records = Vec::new();
    let mut first_line_of_id: HashMap<String, usize> = HashMap::new();
    let mut reader = ManifestReader::open(path)?;
    while let Some(record) = reader.next() {
        let record = record?;
        if let Some(first) = first_line_of_id.insert(record.id.clone(), reader.line_number) {
            return Err(CorpusError::line(
                path,
                reader.line_number,
                format!("duplicate id {:?} (first used on line {first})", record.id),
            ));
        }
        records.push(record);
    }
    Ok(records)
}

/// Writes records one by one; the manifest appears at its path only on [`finish`](Self::finish).
pub struct ManifestWriter {
    file: AtomicFile,
    written: usize,
}

impl ManifestWriter {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: AtomicFile::create(path)?,
            written: 0,
        })
    }

    pub fn write(&mut self, record: &Record) -> Result<()> {
        let path = self.file.path().to_path_buf();
        record
            .validate()
            .map_err(|message| CorpusError::file(&path, format!("refusing to write: {message}")))?;
        serde_json::to_writer(&mut self.file, record)
            .map_err(|e| CorpusError::file(&path, format!("cannot serialize record: {e}")))?;
        self.file
            .write_all(b"\n")
            .map_err(|e| CorpusError::io(&path, e))?;
        self.written += 1;
        Ok(())
    }

    /// Number of records written so far.
    pub fn len(&self) -> usize {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    pub fn finish(self) -> Result<()> {
        self.file.commit()
    }
}

/// Writes a whole manifest atomically (temporary file in the same directory, then rename).
pub fn write_manifest<'a>(
    path: impl AsRef<Path>,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<()> {
    let mut writer = ManifestWriter::create(path)?;
    for record in records {
        writer.write(record)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialogue_turn() -> Record {
        Record {
            id: "shop-0001-t02".into(),
            split: Some(Split::Train),
            signer: Some("S03".into()),
            dialogue: Some("shop-0001".into()),
            turn: Some(2),
            role: Some("customer".into()),
            pose: Some("poses/shop-0001-t02.pose".into()),
            frames: Some(FrameRange { start: 10, end: 95 }),
            glosses: vec!["我".into(), "买".into(), "苹果".into()],
            text: Some("我想买苹果。".into()),
            language: Some("zh".into()),
            sign_language: Some("csl".into()),
            context: vec!["你好！".into(), "你想买什么？".into()],
            ..Record::default()
        }
    }

    #[test]
    fn round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut plain = Record::new("plain");
        plain.glosses = vec!["A".into()];
        let records = vec![dialogue_turn(), plain];
        write_manifest(&path, &records).unwrap();
        assert_eq!(read_manifest(&path).unwrap(), records);
        // Only the real file remains: the temporary file was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn optional_fields_are_omitted() {
        let json = serde_json::to_string(&Record::new("x")).unwrap();
        assert_eq!(json, r#"{"id":"x"}"#);
    }

    #[test]
    fn errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"id\":\"a\"}\n\n{\"id\":\"b\",\"glosess\":[]}\n").unwrap();
        let message = read_manifest(&path).unwrap_err().to_string();
        assert!(message.contains("bad.jsonl:3:"), "{message}");
        assert!(message.contains("glosess"), "{message}");

        std::fs::write(&path, "{\"id\":\"a\"}\n{\"id\":\"a\"}\n").unwrap();
        let message = read_manifest(&path).unwrap_err().to_string();
        assert!(
            message.contains(":2:") && message.contains("line 1"),
            "{message}"
        );

        std::fs::write(&path, "{\"id\":\"a\",\"glosses\":[\"A B\"]}\n").unwrap();
        let message = read_manifest(&path).unwrap_err().to_string();
        assert!(
            message.contains(":1:") && message.contains("whitespace"),
            "{message}"
        );
    }

    #[test]
    fn failed_write_keeps_the_old_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        write_manifest(&path, &[dialogue_turn()]).unwrap();
        let before = std::fs::read(&path).unwrap();
        let bad = Record::new(" ");
        assert!(write_manifest(&path, &[dialogue_turn(), bad]).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn split_names() {
        assert_eq!("val".parse::<Split>().unwrap(), Split::Dev);
        assert_eq!("Train".parse::<Split>().unwrap(), Split::Train);
        assert!("holdout".parse::<Split>().is_err());
    }
}
