//! Writes that never leave a half-written file behind: everything goes to a temporary
//! file in the destination's directory (so the final rename stays on one filesystem)
//! and replaces the destination only once it is complete and flushed.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{CorpusError, Result};

/// A buffered writer whose contents appear at `path` only after [`AtomicFile::commit`].
/// Dropping it without committing deletes the temporary file and leaves `path` untouched.
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if path.is_dir() {
            return Err(CorpusError::file(
                &path,
                "is a directory, expected a file path",
            ));
        }
        let temp = tempfile::Builder::new()
            .prefix(".signscope-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| CorpusError::io(&path, e))?;
        Ok(Self {
            path,
            writer: BufWriter::new(temp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let temp = self
            .writer
            .into_inner()
            .map_err(|e| CorpusError::io(&path, e.into_error()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| CorpusError::io(&path, e))?;
        temp.persist(&path)
            .map_err(|e| CorpusError::io(&path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: impl AsRef<Path>, contents: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents)
        .map_err(|e| CorpusError::io(file.path().to_path_buf(), e))?;
    file.commit()
}

/// Serializes `value` as pretty JSON (with a final newline) to `path` atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let path = path.as_ref();
    let mut json = serde_json::to_vec_pretty(value)
        .map_err(|e| CorpusError::file(path, format!("cannot serialize JSON: {e}")))?;
    json.push(b'\n');
    write_atomic(path, &json)
}
