//! Finding the model assets for integration tests: a missing one skips the test locally and
//! fails it under CI (env `CI` set).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use signscope_llm::assets;

fn skip_or_fail(message: String) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIP: {message}");
    None
}

/// SmolLM2-135M-Instruct Q4_1 (`scripts/fetch-assets.sh smollm2`).
pub fn smollm2() -> Option<PathBuf> {
    assets::smollm2_gguf(&assets::assets_dir())
        .or_else(|e| skip_or_fail(e.to_string()).ok_or(()))
        .ok()
}

/// Gemma-3-270m Q4_K_M (`scripts/fetch-assets.sh gemma`), assembled on first use.
pub fn gemma3() -> Option<PathBuf> {
    assets::gemma3_gguf(&assets::assets_dir())
        .or_else(|e| skip_or_fail(e.to_string()).ok_or(()))
        .ok()
}

/// A committed reference fixture (tests/fixtures/*.json, made by scripts/make_fixtures.py).
pub fn fixture(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}
