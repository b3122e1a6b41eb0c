//! `signscope embed` end to end through `cli::run`, with a cache directory.

mod common;

use clap::Parser;
use signscope_embed::cli::{EmbedArgs, run};
use signscope_embed::{E5Prefix, E5Small, EmbeddingCache, SentenceEmbedder};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: EmbedArgs,
}

#[test]
fn e5_with_cache_and_file_input() {
    let Some(model) = common::e5_file() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.txt");
    std::fs::write(&lines, "das wetter morgen\n\n明天北方下雨。\n").unwrap();
    let cache = dir.path().join("cache");
    let argv = |extra: &[&str]| {
        let mut v = vec!["signscope-embed", "--backend", "e5", "--model-dir"];
        v.push(model.to_str().unwrap());
        v.extend([
            "--cache",
            cache.to_str().unwrap(),
            "--file",
            lines.to_str().unwrap(),
        ]);
        v.extend(extra);
        Cli::parse_from(v).args
    };
    run(argv(&["Morgen regnet es im Norden."])).unwrap();
    run(argv(&["--json", "Morgen regnet es im Norden."])).unwrap();

    let e5 = E5Small::load(&model, E5Prefix::Query).unwrap();
    let stored = EmbeddingCache::open(&cache, e5.id(), e5.dim()).unwrap();
    assert_eq!(
        stored.len(),
        3,
        "blank lines skipped, repeated texts cached once"
    );
    let v = e5.embed("明天北方下雨。").unwrap();
    let cached = stored.get("明天北方下雨。").unwrap();
    assert!(common::max_abs_diff(cached, &v) < 1e-5);

    let err = run(Cli::parse_from([
        "x",
        "--backend",
        "minilm",
        "--model-dir",
        "/nonexistent",
        "hi",
    ])
    .args)
    .unwrap_err();
    assert!(err.to_string().contains("fetch-assets.sh"), "{err}");
}
