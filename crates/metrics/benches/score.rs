//! Speed of our scorers against the Python references on the full PHOENIX-2014T dev set
//! (519 sentences), measured in the same run.
//!
//!     cargo bench -p signscope-metrics --bench score
//!
//! Python side (optional; skipped when the interpreters are missing): set
//! `SIGNSCOPE_PY_METRICS` (default /work/venvs/metrics/bin/python, sacrebleu 2.x),
//! `SIGNSCOPE_PY_SACREBLEU14` (default /work/venvs/sacrebleu14/bin/python, sacrebleu 1.4.2)
//! and `SIGNSCOPE_REFCODE` (default /work/venvs/refcode: signjoey metrics + mscoco_rouge, see
//! scripts/make_fixture.py). Python times are taken inside the interpreter with
//! `time.perf_counter`, so start-up and imports are excluded.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use signscope_metrics::io::{read_lines, read_stm};
use signscope_metrics::{BleuConfig, Cleanup, RougeVariant, corpus_bleu, corpus_rouge, corpus_wer};

const RUNS: usize = 15;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time_ms(mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn env_path(key: &str, default: &str) -> PathBuf {
    std::env::var_os(key)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Median milliseconds of `stmt` in Python after `setup`, or None if Python is unavailable.
fn python_ms(python: &Path, setup: &str, stmt: &str) -> Option<f64> {
    if !python.exists() {
        return None;
    }
    let script = format!(
        "import time, statistics\n{setup}\n{stmt}\nts = []\nfor _ in range({RUNS}):\n    t = time.perf_counter()\n    {stmt}\n    ts.append((time.perf_counter() - t) * 1e3)\nprint(statistics.median(ts))\n"
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(&script)
        .current_dir("/tmp")
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("python failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../shared"));
    let data = shared.join("data/phoenix-2014t");
    let csv = data.join("PHOENIX-2014-T.dev.corpus.csv");
    let stm = data.join("phoenix2014-T-groundtruth-dev.stm");
    let fixtures = manifest.join("tests/fixtures/hyp");
    let Ok(lines) = read_lines(&csv) else {
        eprintln!(
            "shared data missing at {}; nothing to benchmark",
            data.display()
        );
        return;
    };
    let refs: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split('|').nth(6).unwrap().to_owned())
        .collect();
    let hyps = read_lines(&fixtures.join("p14t_text_a.txt")).unwrap();
    let gloss_refs: Vec<String> = read_stm(&stm)
        .unwrap()
        .into_iter()
        .map(|s| s.text)
        .collect();
    let gloss_hyps = read_lines(&fixtures.join("p14t_gloss.txt")).unwrap();

    let py = env_path("SIGNSCOPE_PY_METRICS", "/work/venvs/metrics/bin/python");
    let py14 = env_path(
        "SIGNSCOPE_PY_SACREBLEU14",
        "/work/venvs/sacrebleu14/bin/python",
    );
    let refcode = env_path("SIGNSCOPE_REFCODE", "/work/venvs/refcode");
    let load = format!(
        "import sys\nsys.path.insert(0, {refcode:?})\nrefs = [l.split('|')[6] for l in open({csv:?}, encoding='utf-8').read().split('\\n')[1:] if l]\nhyps = open({hyp:?}, encoding='utf-8').read().split('\\n')[:-1]\n",
        refcode = refcode.display().to_string(),
        csv = csv.display().to_string(),
        hyp = fixtures.join("p14t_text_a.txt").display().to_string(),
    );
    let load_gloss = format!(
        "import sys\nsys.path.insert(0, {refcode:?})\nfrom phoenix_cleanup import clean_phoenix_2014_trans as c\nrefs = [l.split(None, 5)[5] for l in open({stm:?}, encoding='utf-8').read().split('\\n') if l]\nhyps = open({hyp:?}, encoding='utf-8').read().split('\\n')[:-1]\nimport signjoey_metrics as sm\n",
        refcode = refcode.display().to_string(),
        stm = stm.display().to_string(),
        hyp = fixtures.join("p14t_gloss.txt").display().to_string(),
    );

    let signjoey = BleuConfig::signjoey();
    let sacrebleu2 = BleuConfig::sacrebleu2();
    let rows: Vec<(&str, f64, Option<f64>)> = vec![
        (
            "BLEU signjoey (sacrebleu 1.4.2 raw_corpus_bleu)",
            time_ms(|| {
                black_box(corpus_bleu(&hyps, &refs, &signjoey));
            }),
            python_ms(
                &py14,
                &format!("{load}import sacrebleu"),
                "sacrebleu.raw_corpus_bleu(hyps, [refs])",
            ),
        ),
        (
            "BLEU sacrebleu 2.x (13a, exp)",
            time_ms(|| {
                black_box(corpus_bleu(&hyps, &refs, &sacrebleu2));
            }),
            // A fresh BLEU object per run: sacrebleu caches tokenised lines per instance.
            python_ms(
                &py,
                &format!("{load}from sacrebleu.metrics import BLEU"),
                "BLEU().corpus_score(hyps, [refs])",
            ),
        ),
        (
            "ROUGE-L mscoco (signjoey rouge)",
            time_ms(|| {
                black_box(corpus_rouge(&hyps, &refs, RougeVariant::Mscoco, false));
            }),
            python_ms(
                &py,
                &format!("{load}import signjoey_metrics as sm"),
                "sm.rouge(references=refs, hypotheses=hyps)",
            ),
        ),
        (
            "WER glosses, 2014T cleanup (signjoey wer_list)",
            time_ms(|| {
                let h: Vec<String> = gloss_hyps
                    .iter()
                    .map(|l| Cleanup::Phoenix2014t.apply(l))
                    .collect();
                let r: Vec<String> = gloss_refs
                    .iter()
                    .map(|l| Cleanup::Phoenix2014t.apply(l))
                    .collect();
                black_box(corpus_wer(&h, &r));
            }),
            python_ms(
                &py,
                &load_gloss,
                "sm.wer_list(references=[c(x) for x in refs], hypotheses=[c(x) for x in hyps])",
            ),
        ),
    ];
    println!(
        "PHOENIX-2014T dev, {} sentences; median of {RUNS} runs after one warm-up",
        refs.len()
    );
    println!(
        "{:<50} {:>10} {:>12} {:>8}",
        "scorer", "ours ms", "python ms", "ratio"
    );
    for (name, ours, theirs) in rows {
        match theirs {
            Some(t) => println!("{name:<50} {ours:>10.3} {t:>12.3} {:>7.1}x", t / ours),
            None => println!("{name:<50} {ours:>10.3} {:>12} {:>8}", "n/a", "n/a"),
        }
    }
}
