//! On-disk embedding cache keyed by (model id, text).
//!
//! One file per model id in the cache directory, an append-only log:
//!
//! ```text
//! header  b"SSEMBED1" | u32 dim | u32 id length | id (UTF-8)
//! record  u32 text length | text (UTF-8) | f32 × dim | u64 FNV-1a of the preceding record bytes
//! ```
//!
//! (little-endian). The header is written to a temporary file and renamed into place, so it
//! is never partial. Records are appended with one `write` per batch; a process killed
//! mid-append leaves a short or garbled tail, which the checksum exposes: loading keeps every
//! record before it and rewrites the file without it (temp file + rename), never failing on it.
//! Concurrent writers are safe on local file systems as long as each batch's single
//! `O_APPEND` write lands whole, which Linux guarantees for regular files.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::pooling::fnv1a64;
use crate::{EmbedError, SentenceEmbedder, check_texts};

const MAGIC: &[u8; 8] = b"SSEMBED1";

pub struct EmbeddingCache {
    path: PathBuf,
    dim: usize,
    entries: HashMap<String, Vec<f32>>,
    log: Option<File>,
}

impl EmbeddingCache {
    /// Opens (creating if needed) the cache file of `model_id` inside `dir`.
    pub fn open(dir: &Path, model_id: &str, dim: usize) -> Result<Self, EmbedError> {
        if dim == 0 {
            return Err(EmbedError::Config(
                "cache dimension must be positive".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| EmbedError::io(dir, e))?;
        let path = dir.join(file_name(model_id));
        let mut cache = Self {
            path,
            dim,
            entries: HashMap::new(),
            log: None,
        };
        match std::fs::read(&cache.path) {
            Ok(bytes) => cache.load(&bytes, model_id)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cache.replace_file(&header(model_id, dim))?;
            }
            Err(e) => return Err(EmbedError::io(&cache.path, e)),
        }
        Ok(cache)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.entries.get(text).map(Vec::as_slice)
    }

    /// Stores vectors (each of length `dim`) and appends them to the file in one write.
    pub fn insert_many(&mut self, items: &[(&str, &[f32])]) -> Result<(), EmbedError> {
        let mut buf = Vec::new();
        for (text, vector) in items {
            if vector.len() != self.dim {
                return Err(EmbedError::Dimension {
                    backend: format!("cache {}", self.path.display()),
                    expected: self.dim,
                    got: vector.len(),
                });
            }
            encode_record(&mut buf, text, vector);
        }
        if buf.is_empty() {
            return Ok(());
        }
        if self.log.is_none() {
            let file = OpenOptions::new()
                .append(true)
                .open(&self.path)
                .map_err(|e| EmbedError::io(&self.path, e))?;
            self.log = Some(file);
        }
        let log = self.log.as_mut().expect("opened above");
        log.write_all(&buf)
            .map_err(|e| EmbedError::io(&self.path, e))?;
        for (text, vector) in items {
            self.entries.insert(text.to_string(), vector.to_vec());
        }
        Ok(())
    }

    fn load(&mut self, bytes: &[u8], model_id: &str) -> Result<(), EmbedError> {
        let expected = header(model_id, self.dim);
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(EmbedError::format(
                &self.path,
                "not an embedding cache file (bad magic)",
            ));
        }
        if !bytes.starts_with(&expected) {
            let dim = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
            return Err(EmbedError::format(
                &self.path,
                format!(
                    "cache file belongs to another model or dimension ({dim}); expected '{model_id}' with {}",
                    self.dim
                ),
            ));
        }
        let mut pos = expected.len();
        while let Some((text, vector, next)) = decode_record(bytes, pos, self.dim) {
            self.entries.insert(text, vector);
            pos = next;
        }
        if pos < bytes.len() {
            tracing::warn!(
                "{}: dropping {} bytes of an incomplete or damaged tail record (kept {} entries)",
                self.path.display(),
                bytes.len() - pos,
                self.entries.len()
            );
            self.replace_file(&bytes[..pos])?;
        }
        Ok(())
    }

    /// Atomically replaces the cache file with `contents`.
    fn replace_file(&mut self, contents: &[u8]) -> Result<(), EmbedError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| EmbedError::io(dir, e))?;
        tmp.write_all(contents)
            .map_err(|e| EmbedError::io(tmp.path(), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| EmbedError::io(tmp.path(), e))?;
        tmp.persist(&self.path)
            .map_err(|e| EmbedError::io(&self.path, e.error))?;
        self.log = None;
        Ok(())
    }
}

fn header(model_id: &str, dim: usize) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&(dim as u32).to_le_bytes());
    h.extend_from_slice(&(model_id.len() as u32).to_le_bytes());
    h.extend_from_slice(model_id.as_bytes());
    h
}

fn encode_record(buf: &mut Vec<u8>, text: &str, vector: &[f32]) {
    let start = buf.len();
    buf.extend_from_slice(&(text.len() as u32).to_le_bytes());
    buf.extend_from_slice(text.as_bytes());
    for x in vector {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    let checksum = fnv1a64(&[&buf[start..]]);
    buf.extend_from_slice(&checksum.to_le_bytes());
}

/// The record at `pos`, or `None` if it is incomplete or fails its checksum.
fn decode_record(bytes: &[u8], pos: usize, dim: usize) -> Option<(String, Vec<f32>, usize)> {
    let text_len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
    let text_end = pos.checked_add(4 + text_len)?;
    let vec_end = text_end.checked_add(dim * 4)?;
    let end = vec_end.checked_add(8)?;
    let record = bytes.get(pos..end)?;
    let stored = u64::from_le_bytes(record[record.len() - 8..].try_into().ok()?);
    if fnv1a64(&[&record[..record.len() - 8]]) != stored {
        return None;
    }
    let text = std::str::from_utf8(&bytes[pos + 4..text_end])
        .ok()?
        .to_string();
    let vector = bytes[text_end..vec_end]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Some((text, vector, end))
}

/// A readable, file-system-safe name for a model id, made unique by the id's hash.
fn file_name(model_id: &str) -> String {
    let readable: String = model_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!(
        "{readable}-{:016x}.embcache",
        fnv1a64(&[model_id.as_bytes()])
    )
}

/// Wraps an embedder with an [`EmbeddingCache`]: texts seen before (by any process using the
/// same directory and model id) are read from disk; only new texts reach the model.
pub struct CachedEmbedder<E> {
    inner: E,
    cache: Mutex<EmbeddingCache>,
}

impl<E: SentenceEmbedder> CachedEmbedder<E> {
    pub fn new(inner: E, dir: &Path) -> Result<Self, EmbedError> {
        let cache = EmbeddingCache::open(dir, inner.id(), inner.dim())?;
        Ok(Self {
            inner,
            cache: Mutex::new(cache),
        })
    }

    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// Number of cached texts.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    pub fn cache_path(&self) -> PathBuf {
        self.lock().path().to_path_buf()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EmbeddingCache> {
        // A panic while holding the lock cannot leave the map inconsistent with the file
        // (entries are inserted only after a successful append), so poisoning is harmless.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<E: SentenceEmbedder> SentenceEmbedder for CachedEmbedder<E> {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        check_texts(texts)?;
        // The lock is held while the model runs so that concurrent callers never embed the
        // same new text twice.
        let mut cache = self.lock();
        let mut seen = HashSet::new();
        let missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| cache.get(t).is_none() && seen.insert(*t))
            .collect();
        if !missing.is_empty() {
            let vectors = self.inner.embed_batch(&missing)?;
            if vectors.len() != missing.len() {
                return Err(EmbedError::backend(
                    self.inner.id(),
                    format!(
                        "returned {} vectors for {} texts",
                        vectors.len(),
                        missing.len()
                    ),
                ));
            }
            let items: Vec<(&str, &[f32])> = missing
                .iter()
                .copied()
                .zip(vectors.iter().map(Vec::as_slice))
                .collect();
            cache.insert_many(&items)?;
        }
        Ok(texts
            .iter()
            .map(|t| cache.get(t).expect("every text is cached now").to_vec())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A deterministic embedder that counts how many texts it was asked for.
    struct Counting {
        calls: Cell<usize>,
    }

    impl SentenceEmbedder for Counting {
        fn id(&self) -> &str {
            "counting/test"
        }
        fn dim(&self) -> usize {
            3
        }
        fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.calls.set(self.calls.get() + texts.len());
            Ok(texts
                .iter()
                .map(|t| vec![t.len() as f32, 1.0, -2.0])
                .collect())
        }
    }

    fn counting() -> Counting {
        Counting {
            calls: Cell::new(0),
        }
    }

    #[test]
    fn second_process_reads_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let first = CachedEmbedder::new(counting(), dir.path()).unwrap();
        let v = first.embed_batch(&["hallo", "welt", "hallo"]).unwrap();
        assert_eq!(first.inner().calls.get(), 2, "duplicates are embedded once");
        assert_eq!(v[0], v[2]);
        drop(first);

        let second = CachedEmbedder::new(counting(), dir.path()).unwrap();
        assert_eq!(second.cached(), 2);
        assert_eq!(
            second.embed_batch(&["welt", "hallo"]).unwrap(),
            vec![v[1].clone(), v[0].clone()]
        );
        assert_eq!(second.inner().calls.get(), 0);
        second.embed_batch(&["neu"]).unwrap();
        assert_eq!(second.inner().calls.get(), 1);
    }

    #[test]
    fn truncated_or_garbled_tail_is_dropped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let c = CachedEmbedder::new(counting(), dir.path()).unwrap();
            c.embed_batch(&["eins"]).unwrap();
            c.embed_batch(&["zwei", "drei"]).unwrap();
            c.cache_path()
        };
        let full = std::fs::read(&path).unwrap();
        let record = 4 + 4 + 3 * 4 + 8; // "drei"
        // Every cut inside the last record keeps exactly the first two.
        for cut in 1..record {
            std::fs::write(&path, &full[..full.len() - cut]).unwrap();
            let cache = EmbeddingCache::open(dir.path(), "counting/test", 3).unwrap();
            assert_eq!(cache.len(), 2, "cut {cut}");
            assert!(cache.get("drei").is_none());
            assert_eq!(
                std::fs::metadata(&path).unwrap().len() as usize,
                full.len() - record,
                "tail removed"
            );
        }
        // A flipped byte in the last vector fails its checksum.
        let mut bad = full.clone();
        let n = bad.len();
        bad[n - 10] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let cache = EmbeddingCache::open(dir.path(), "counting/test", 3).unwrap();
        assert_eq!(cache.len(), 2);
        // Appending after the repair gives a file that loads completely.
        let mut cache = cache;
        cache.insert_many(&[("vier", &[4.0, 1.0, -2.0])]).unwrap();
        let reopened = EmbeddingCache::open(dir.path(), "counting/test", 3).unwrap();
        assert_eq!(reopened.len(), 3);
        assert_eq!(reopened.get("vier"), Some(&[4.0f32, 1.0, -2.0][..]));
    }

    #[test]
    fn wrong_model_or_dimension_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        EmbeddingCache::open(dir.path(), "m", 3).unwrap();
        let err = EmbeddingCache::open(dir.path(), "m", 4).err().unwrap();
        assert!(
            err.to_string().contains("another model or dimension"),
            "{err}"
        );
        let path = dir.path().join(file_name("m"));
        std::fs::write(&path, b"garbage!garbage!").unwrap();
        let err = EmbeddingCache::open(dir.path(), "m", 3).err().unwrap();
        assert!(err.to_string().contains("bad magic"), "{err}");
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let a = file_name(
            "openai-compatible/text-embedding-ada-002@https://api.openai.com/v1/embeddings",
        );
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{a}"
        );
        assert_ne!(file_name("a/b"), file_name("a_b"));
    }
}
