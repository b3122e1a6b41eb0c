//! End-to-end text → `.pose` latency against spoken-to-signed 0.4.0's Python pipeline on the
//! same lexicon and sentences, plus the time to open the 626-row fingerspelling lexicon.
//!
//!     cargo bench -p signscope-slp --bench produce
//!
//! Python: `$SLP_PYTHON`, else /work/venvs/slp/bin/python (with `spoken-to-signed==0.4.0`);
//! `SLP_BENCH_PY_RUNS` runs of it (default 3, each ~45 s), `SLP_BENCH_RUNS` of Rust (default 7).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use signscope_slp::{Fingerspeller, LanguagePair, Lexicon, LexiconGlosser, Producer};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One cold run: open the lexicon, produce and write every sentence. Returns seconds.
fn rust_run(lexicon_dir: &Path, sentences: &[&str], out_dir: &Path) -> (f64, usize) {
    let start = Instant::now();
    let lexicon = Arc::new(Lexicon::open(lexicon_dir).expect("lexicon"));
    let speller = Arc::new(Fingerspeller::new(lexicon.clone()));
    let glosser = LexiconGlosser::new(lexicon.clone(), Some(speller.clone()));
    let producer = Producer::new(lexicon, Some(speller));
    let en = LanguagePair::new("en", "ase");
    let mut frames = 0;
    for (k, sentence) in sentences.iter().enumerate() {
        let production = producer.produce(&glosser, sentence, &en).expect("produce");
        frames += production.pose.body.frames();
        signscope_pose::write_pose(out_dir.join(format!("{k}.pose")), &production.pose)
            .expect("write");
    }
    (start.elapsed().as_secs_f64(), frames)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too: run only when benched.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(lexicon_dir) = signscope_slp::cli::default_fingerspelling_lexicon() else {
        eprintln!("fingerspelling lexicon missing (scripts/fetch-assets.sh or SIGNSCOPE_ASSETS)");
        return;
    };
    let sentences_path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sentences_en.txt"
    ));
    let text = std::fs::read_to_string(&sentences_path).expect("sentences");
    let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();

    // Opening the lexicon (index.csv only).
    let opens: Vec<f64> = (0..50)
        .map(|_| {
            let start = Instant::now();
            let lexicon = Lexicon::open(&lexicon_dir).expect("lexicon");
            assert_eq!(lexicon.len(), 626);
            start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "open fingerspelling lexicon (626 rows, 600 files): median {:.3} ms over 50",
        median(opens) * 1e3
    );

    let out = tempfile::tempdir().expect("tempdir");
    let runs = env_usize("SLP_BENCH_RUNS", 7);
    let mut times = Vec::new();
    let mut frames = 0;
    for _ in 0..runs {
        let (seconds, f) = rust_run(&lexicon_dir, &sentences, out.path());
        times.push(seconds);
        frames = f;
    }
    let rust = median(times.clone());
    println!(
        "signscope-slp: {} sentences → .pose, cold (fresh lexicon each run): median {:.3} s over {runs} runs {:?} ({frames} frames)",
        sentences.len(),
        rust,
        times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>()
    );

    let python = std::env::var_os("SLP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/venvs/slp/bin/python"));
    if !python.is_file() {
        println!(
            "spoken-to-signed reference skipped: {} not found",
            python.display()
        );
        return;
    }
    let script = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/bench_spoken_to_signed.py"
    ));
    let py_runs = env_usize("SLP_BENCH_PY_RUNS", 3);
    let output = Command::new(&python)
        .arg(&script)
        .arg("--lexicon")
        .arg(&lexicon_dir)
        .arg("--sentences")
        .arg(&sentences_path)
        .args(["--runs", &py_runs.to_string()])
        .output()
        .expect("run python");
    if !output.status.success() {
        println!(
            "spoken-to-signed reference failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let median_s = line
        .split("\"median_s\": ")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|v| v.trim().parse::<f64>().ok());
    println!("spoken-to-signed 0.4.0 (Python): {line}");
    if let Some(py) = median_s {
        println!("speed-up (median Python / median Rust): {:.1}×", py / rust);
    }
}
