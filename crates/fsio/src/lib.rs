//! Writes that never leave a half-written file behind and never lose the previous
//! version: everything goes to a temporary file in the destination's directory (so the
//! final rename stays on one filesystem) and replaces the destination only once it is
//! complete and synced.
//!
//! Every crate writes user files through here, so all outputs get the same guarantees and
//! the same permissions: those of the file being replaced, else `0o644` (tempfile creates
//! `0o600` files, which would surprise a user sharing results).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::NamedTempFile;

/// A buffered writer whose contents appear at `path` only after [`AtomicFile::commit`].
/// Dropping it without committing deletes the temporary file and leaves `path` untouched.
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let path = path.as_ref().to_path_buf();
        let temp = temp_beside(&path, ".tmp")?;
        Ok(AtomicFile {
            path,
            writer: BufWriter::new(temp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, sync and move the finished file into place.
    pub fn commit(self) -> io::Result<()> {
        let temp = self.writer.into_inner().map_err(|e| e.into_error())?;
        persist(temp, &self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// An empty temporary file next to `path`, for writers that need a real path (e.g. an
/// external program such as ffmpeg); finish with [`persist`].
pub fn temp_beside(path: &Path, suffix: &str) -> io::Result<NamedTempFile> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!("{} is a directory, expected a file path", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(suffix)
        .tempfile_in(dir)
}

/// Sync `temp`, give it the replaced file's permissions (or `0o644`), and rename it to `path`.
pub fn persist(temp: NamedTempFile, path: &Path) -> io::Result<()> {
    temp.as_file().sync_all()?;
    set_permissions(temp.as_file(), path)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_permissions(file: &File, replaced: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = match std::fs::metadata(replaced) {
        Ok(meta) => meta.permissions(),
        Err(_) => std::fs::Permissions::from_mode(0o644),
    };
    file.set_permissions(permissions)
}

#[cfg(not(unix))]
fn set_permissions(_file: &File, _replaced: &Path) -> io::Result<()> {
    Ok(())
}

/// Writes `header`, then one line per entry, atomically: the layout of signscope's small list
/// files (gloss vocabularies, subword merges), whose first line says what they are.
pub fn write_headed_lines<S: AsRef<str>>(
    path: &Path,
    header: &str,
    lines: impl IntoIterator<Item = S>,
) -> anyhow::Result<()> {
    let mut text = format!("{header}\n");
    for line in lines {
        text.push_str(line.as_ref());
        text.push('\n');
    }
    write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// The lines after the first of a file written by [`write_headed_lines`]; a first line other
/// than `header` is refused as "not a `what`".
pub fn read_headed_lines(path: &Path, header: &str, what: &str) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        anyhow::bail!(
            "{}: not a {what} (first line must be {header})",
            path.display()
        );
    }
    Ok(lines.map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left behind"
        );
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_world_readable_and_replacements_keep_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"1").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"2").unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn a_directory_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
