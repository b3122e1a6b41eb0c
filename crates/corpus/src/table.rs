//! Delimited annotation files (PHOENIX `|`, CSL-Daily and How2Sign tab, lexicons comma)
//! read by header name, so that a column moved or missing gives an error naming the file
//! and the columns it does have, not a silently shifted field.

use std::path::{Path, PathBuf};

use crate::error::{CorpusError, Result};

/// Whether `"` starts a quoted field. PHOENIX and CSL-Daily use literal quote characters
/// inside unquoted fields; How2Sign and ordinary CSV files quote with `"` and `""`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    Literal,
    Csv,
}

pub struct Table {
    pub path: PathBuf,
    pub headers: Vec<String>,
    /// (1-based line number in the file, fields)
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    pub fn read(path: &Path, delimiter: u8, quoting: Quoting) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quoting(quoting == Quoting::Csv)
            .has_headers(true)
            .flexible(true)
            .from_path(path)
            .map_err(|e| csv_error(path, e))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(CorpusError::file(path, "empty file or empty header line"));
        }
        let mut rows = Vec::new();
        for row in reader.records() {
            let row = row.map_err(|e| csv_error(path, e))?;
            let line = row.position().map_or(0, |p| p.line() as usize);
            if row.iter().all(|field| field.trim().is_empty()) {
                continue;
            }
            if row.len() != headers.len() {
                return Err(CorpusError::line(
                    path,
                    line,
                    format!(
                        "{} fields, but the header has {} ({})",
                        row.len(),
                        headers.len(),
                        headers.join(", ")
                    ),
                ));
            }
            rows.push((line, row.iter().map(str::to_string).collect()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    /// `f(line, fields)` for every row, stopping at the first error.
    pub fn map_rows<T>(&self, mut f: impl FnMut(usize, &[String]) -> Result<T>) -> Result<Vec<T>> {
        self.rows.iter().map(|(line, row)| f(*line, row)).collect()
    }

    /// Index of the first of `names` present in the header (case-insensitive).
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|name| {
            self.headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }

    pub fn require(&self, names: &[&str]) -> Result<usize> {
        self.find(names).ok_or_else(|| {
            CorpusError::file(
                &self.path,
                format!(
                    "no column named {} (columns: {})",
                    names.join(" or "),
                    self.headers.join(", ")
                ),
            )
        })
    }
}

fn csv_error(path: &Path, error: csv::Error) -> CorpusError {
    let line = error.position().map(|p| p.line() as usize);
    let message = match error.into_kind() {
        csv::ErrorKind::Io(e) => return CorpusError::io(path, e),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8: {err}"),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, expected {expected_len}"),
        other => format!("{other:?}"),
    };
    match line {
        Some(line) => CorpusError::line(path, line, message),
        None => CorpusError::file(path, message),
    }
}

/// Non-empty field value, trimmed.
pub fn non_empty(field: &str) -> Option<String> {
    let field = field.trim();
    (!field.is_empty()).then(|| field.to_string())
}
