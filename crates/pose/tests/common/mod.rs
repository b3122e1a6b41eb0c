//! Locating real data for integration tests (see HELPERS.md: env var, else beside the repo;
//! missing data fails under CI and is skipped otherwise).
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data/poses`, or `None` (after printing a skip line) when absent outside CI.
pub fn shared_poses() -> Option<PathBuf> {
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    present(shared.join("data/poses"), "shared data (../shared/data)")
}

/// The 600 fingerspelling `.pose` files of spoken-to-signed, or `None` when absent outside CI.
pub fn fingerspelling_dir() -> Option<PathBuf> {
    let assets = std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.assets")));
    present(
        assets.join("spoken-to-signed/spoken_to_signed/assets/fingerspelling_lexicon"),
        "assets (run scripts/fetch-assets.sh)",
    )
}

/// All `.pose` files under `dir`, sorted.
pub fn pose_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pose") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn present(dir: PathBuf, what: &str) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} missing at {}: run scripts/fetch-assets.sh",
            what,
            dir.display()
        );
    }
    eprintln!("skipping: {what} not found at {}", dir.display());
    None
}
