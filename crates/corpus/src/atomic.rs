//! Atomic writes (see `signscope_fsio`) with errors that name the corpus file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CorpusError, Result};

/// A buffered writer whose contents appear at `path` only after [`AtomicFile::commit`].
/// Dropping it without committing leaves `path` untouched.
pub struct AtomicFile {
    path: PathBuf,
    inner: signscope_fsio::AtomicFile,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let inner =
            signscope_fsio::AtomicFile::create(&path).map_err(|e| CorpusError::io(&path, e))?;
        Ok(Self { path, inner })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.inner.commit().map_err(|e| CorpusError::io(&path, e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: impl AsRef<Path>, contents: &[u8]) -> Result<()> {
    let path = path.as_ref();
    signscope_fsio::write_atomic(path, contents).map_err(|e| CorpusError::io(path, e))
}

/// Serializes `value` as pretty JSON (with a final newline) to `path` atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: impl AsRef<Path>, value: &T) -> Result<()> {
    let path = path.as_ref();
    let mut json = serde_json::to_vec_pretty(value)
        .map_err(|e| CorpusError::file(path, format!("cannot serialize JSON: {e}")))?;
    json.push(b'\n');
    write_atomic(path, &json)
}
