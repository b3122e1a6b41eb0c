//! Reading hypothesis and reference files.
//!
//! Accepted formats (chosen by extension unless given explicitly):
//! * plain text (`*` other than below): one sentence per line, UTF-8 (a BOM is skipped),
//!   `\n` or `\r\n` line ends; a final line end is optional; empty lines are empty sentences.
//! * STM (`.stm`): `id channel speaker start end [<label>] text…`, `;;` comment lines;
//!   the text keeps its inner spacing. An STM hypothesis against an STM reference is paired
//!   by segment id; against a plain reference, by order.
//! * CTM (`.ctm`, hypotheses only, paired with an STM reference): `id channel start
//!   duration word [confidence]`; words go to the STM segment of the same id whose time span
//!   holds their start (else the first segment of that id); segments without words are
//!   empty hypotheses.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Errors that name the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line} is not valid UTF-8")]
    Utf8 { path: PathBuf, line: usize },
    #[error("{path}: line {line}: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "line counts differ: hypothesis file {hyp} has {hyp_lines} sentences but reference file \
         {reference} has {ref_lines} (both must hold one sentence per line, in the same order)"
    )]
    LineCount {
        hyp: PathBuf,
        hyp_lines: usize,
        reference: PathBuf,
        ref_lines: usize,
    },
    #[error("{path}: {message}")]
    Pairing { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// By extension: .stm, .ctm, anything else plain text.
    #[default]
    Auto,
    Plain,
    Stm,
    Ctm,
}

impl FileFormat {
    pub fn resolve(self, path: &Path) -> FileFormat {
        if self != FileFormat::Auto {
            return self;
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("stm") => FileFormat::Stm,
            Some("ctm") => FileFormat::Ctm,
            _ => FileFormat::Plain,
        }
    }
}

/// One STM segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StmSegment {
    pub id: String,
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// Lines of a UTF-8 text file without their `\n` / `\r\n` ends.
pub fn read_lines(path: &Path) -> Result<Vec<String>, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| InputError::Utf8 {
        path: path.to_owned(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    Ok(split_lines(text))
}

/// Split text into lines as `read_lines` does.
pub fn split_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect()
}

/// Skip `n` whitespace-separated fields; returns them and the rest (leading space removed).
fn take_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut rest = line;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some((fields, rest.trim_start()))
}

fn parse_time(path: &Path, line: usize, field: &str, what: &str) -> Result<f64, InputError> {
    field.parse::<f64>().map_err(|_| InputError::Format {
        path: path.to_owned(),
        line,
        message: format!("{what} {field:?} is not a number"),
    })
}

pub fn read_stm(path: &Path) -> Result<Vec<StmSegment>, InputError> {
    let mut segments = Vec::new();
    for (i, line) in read_lines(path)?.iter().enumerate() {
        if line.starts_with(";;") || line.trim().is_empty() {
            continue;
        }
        let Some((fields, mut text)) = take_fields(line, 5) else {
            return Err(InputError::Format {
                path: path.to_owned(),
                line: i + 1,
                message: "an STM line needs `id channel speaker start end text…`".into(),
            });
        };
        if text.starts_with('<') {
            let label_end = text.find(char::is_whitespace).unwrap_or(text.len());
            if text[..label_end].ends_with('>') {
                text = text[label_end..].trim_start();
            }
        }
        segments.push(StmSegment {
            id: fields[0].to_owned(),
            start: parse_time(path, i + 1, fields[3], "start time")?,
            end: parse_time(path, i + 1, fields[4], "end time")?,
            text: text.to_owned(),
        });
    }
    Ok(segments)
}

/// CTM words as (id, start, word).
pub fn read_ctm(path: &Path) -> Result<Vec<(String, f64, String)>, InputError> {
    let mut words = Vec::new();
    for (i, line) in read_lines(path)?.iter().enumerate() {
        if line.starts_with(";;") || line.trim().is_empty() {
            continue;
        }
        let Some((fields, _confidence)) = take_fields(line, 5) else {
            return Err(InputError::Format {
                path: path.to_owned(),
                line: i + 1,
                message: "a CTM line needs `id channel start duration word [confidence]`".into(),
            });
        };
        let start = parse_time(path, i + 1, fields[2], "start time")?;
        words.push((fields[0].to_owned(), start, fields[4].to_owned()));
    }
    Ok(words)
}

/// Aligned sentence pairs ready for scoring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Corpus {
    /// Segment ids where the reference is an STM file.
    pub ids: Option<Vec<String>>,
    pub hypotheses: Vec<String>,
    pub references: Vec<String>,
}

fn check_counts(hyp: &Path, h: usize, reference: &Path, r: usize) -> Result<(), InputError> {
    if h == r {
        Ok(())
    } else {
        Err(InputError::LineCount {
            hyp: hyp.to_owned(),
            hyp_lines: h,
            reference: reference.to_owned(),
            ref_lines: r,
        })
    }
}

/// Read and pair a hypothesis and a reference file.
pub fn read_corpus(
    hyp_path: &Path,
    hyp_format: FileFormat,
    ref_path: &Path,
    ref_format: FileFormat,
) -> Result<Corpus, InputError> {
    let hyp_format = hyp_format.resolve(hyp_path);
    let ref_format = ref_format.resolve(ref_path);
    if ref_format == FileFormat::Ctm {
        return Err(InputError::Pairing {
            path: ref_path.to_owned(),
            message: "a CTM file can only be a hypothesis; give the reference as STM or text"
                .into(),
        });
    }
    let (ids, references, segments) = if ref_format == FileFormat::Stm {
        let segments = read_stm(ref_path)?;
        let ids = segments.iter().map(|s| s.id.clone()).collect();
        let texts = segments.iter().map(|s| s.text.clone()).collect();
        (Some(ids), texts, segments)
    } else {
        (None, read_lines(ref_path)?, Vec::new())
    };
    let hypotheses = match hyp_format {
        FileFormat::Ctm => {
            if ref_format != FileFormat::Stm {
                return Err(InputError::Pairing {
                    path: hyp_path.to_owned(),
                    message: "a CTM hypothesis needs an STM reference to pair segment ids".into(),
                });
            }
            ctm_to_segments(hyp_path, &read_ctm(hyp_path)?, &segments)?
        }
        FileFormat::Stm if ref_format == FileFormat::Stm => {
            stm_by_id(hyp_path, read_stm(hyp_path)?, &segments)?
        }
        FileFormat::Stm => read_stm(hyp_path)?.into_iter().map(|s| s.text).collect(),
        _ => read_lines(hyp_path)?,
    };
    check_counts(hyp_path, hypotheses.len(), ref_path, references.len())?;
    Ok(Corpus {
        ids,
        hypotheses,
        references,
    })
}

/// Hypothesis STM segments matched to the reference segments by id (the k-th segment of
/// an id to the k-th reference segment of that id), whatever their order in the file.
fn stm_by_id(
    path: &Path,
    hypotheses: Vec<StmSegment>,
    references: &[StmSegment],
) -> Result<Vec<String>, InputError> {
    let mut by_id: std::collections::HashMap<String, std::collections::VecDeque<String>> =
        Default::default();
    for segment in hypotheses {
        by_id.entry(segment.id).or_default().push_back(segment.text);
    }
    let mut texts = Vec::with_capacity(references.len());
    for reference in references {
        let Some(text) = by_id.get_mut(&reference.id).and_then(|q| q.pop_front()) else {
            return Err(InputError::Pairing {
                path: path.to_owned(),
                message: format!("no hypothesis segment for reference id {:?}", reference.id),
            });
        };
        texts.push(text);
    }
    if let Some((id, _)) = by_id.iter().find(|(_, q)| !q.is_empty()) {
        return Err(InputError::Pairing {
            path: path.to_owned(),
            message: format!("segment id {id:?} has more segments than the reference"),
        });
    }
    Ok(texts)
}

fn ctm_to_segments(
    path: &Path,
    words: &[(String, f64, String)],
    segments: &[StmSegment],
) -> Result<Vec<String>, InputError> {
    let mut by_id: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (k, s) in segments.iter().enumerate() {
        by_id.entry(s.id.as_str()).or_default().push(k);
    }
    let mut texts = vec![String::new(); segments.len()];
    for (id, start, word) in words {
        let Some(candidates) = by_id.get(id.as_str()) else {
            return Err(InputError::Pairing {
                path: path.to_owned(),
                message: format!("segment id {id:?} does not occur in the STM reference"),
            });
        };
        let k = candidates
            .iter()
            .copied()
            .find(|&k| segments[k].start <= *start && *start < segments[k].end)
            .unwrap_or(candidates[0]);
        if !texts[k].is_empty() {
            texts[k].push(' ');
        }
        texts[k].push_str(word);
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitting() {
        assert_eq!(split_lines("a\r\nb\n"), ["a", "b"]);
        assert_eq!(split_lines("a\nb"), ["a", "b"]);
        assert_eq!(split_lines("\u{feff}x\n\n"), ["x", ""]);
        assert!(split_lines("").is_empty());
        assert_eq!(split_lines("\n"), [""]);
    }

    #[test]
    fn stm_and_ctm_pairing() {
        let dir = tempfile::tempdir().unwrap();
        let stm = dir.path().join("ref.stm");
        let ctm = dir.path().join("hyp.ctm");
        std::fs::write(
            &stm,
            ";; comment\nutt1 1 S1 0.0 1.79769e+308 REGEN  SONNE\nutt2 1 S1 0.0 9 <o> WIND\n",
        )
        .unwrap();
        std::fs::write(&ctm, "utt1 1 0.00 0.10 REGEN\nutt1 1 0.10 0.10 WOLKE 0.9\n").unwrap();
        let corpus = read_corpus(&ctm, FileFormat::Auto, &stm, FileFormat::Auto).unwrap();
        assert_eq!(corpus.references, ["REGEN  SONNE", "WIND"]);
        assert_eq!(corpus.hypotheses, ["REGEN WOLKE", ""]);
        assert_eq!(corpus.ids.unwrap(), ["utt1", "utt2"]);
    }

    #[test]
    fn stm_hypothesis_pairs_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("ref.stm");
        let hyp = dir.path().join("hyp.stm");
        std::fs::write(&reference, "a 1 S 0 1 REGEN\nb 1 S 0 1 SONNE\n").unwrap();
        std::fs::write(&hyp, "b 1 S 0 1 WOLKE\na 1 S 0 1 REGEN\n").unwrap();
        let corpus = read_corpus(&hyp, FileFormat::Auto, &reference, FileFormat::Auto).unwrap();
        assert_eq!(corpus.hypotheses, ["REGEN", "WOLKE"]);
        std::fs::write(&hyp, "a 1 S 0 1 REGEN\nc 1 S 0 1 X\n").unwrap();
        let err = read_corpus(&hyp, FileFormat::Auto, &reference, FileFormat::Auto).unwrap_err();
        assert!(err.to_string().contains("\"b\""), "{err}");
    }

    #[test]
    fn mismatched_counts_name_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let hyp = dir.path().join("hyp.txt");
        let reference = dir.path().join("ref.txt");
        std::fs::write(&hyp, "a\n").unwrap();
        std::fs::write(&reference, "a\nb\n").unwrap();
        let err = read_corpus(&hyp, FileFormat::Auto, &reference, FileFormat::Auto).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("hyp.txt") && message.contains("ref.txt"),
            "{message}"
        );
        assert!(
            message.contains("1 sentences") && message.contains("has 2"),
            "{message}"
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, b"ok\n\xff\n").unwrap();
        let err = read_lines(&path).unwrap_err().to_string();
        assert!(err.contains("bad.txt") && err.contains("line 2"), "{err}");
    }
}
