//! Translation speed of a trained model on PHOENIX-2014T dev sentences (not a test).
//!
//! cargo bench -p signscope-slt --bench translate -- [MODEL_DIR] [SENTENCES]
//! (default model dir: $SLT_BENCH_MODEL, else runs/slt/phoenix2014t_g2t; default 100 sentences)
//!
//! Reports the median over 3 runs of: per-sentence latency (batch of 1) with greedy search and
//! with the model's beam, and throughput with batches of 64.

use std::path::PathBuf;
use std::time::Instant;

use signscope_corpus::Split;
use signscope_slt::data::load_split;
use signscope_slt::{DecodeOptions, Translator};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let model_dir = args
        .first()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("SLT_BENCH_MODEL").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("runs/slt/phoenix2014t_g2t"));
    let count: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(100);
    if !model_dir.join("model.bpk").exists() {
        eprintln!(
            "skip: no trained model in {} (train one with `signscope train slt`)",
            model_dir.display()
        );
        return Ok(());
    }
    let translator = Translator::load(&model_dir)?;
    let data_dir = translator.config.data_dir();
    let examples: Vec<_> = load_split(&translator.config.data, &data_dir, Split::Dev)?
        .into_iter()
        .take(count)
        .collect();
    let sources: Vec<Vec<String>> = examples.iter().map(|e| e.source.clone()).collect();
    let beam = translator.default_options();
    println!(
        "model {} | {} dev sentences | threads: rayon default ({} CPUs visible)",
        model_dir.display(),
        sources.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for (name, options, batch) in [
        (
            "greedy, batch 1",
            DecodeOptions {
                beam_size: 1,
                alpha: beam.alpha,
            },
            1,
        ),
        ("beam, batch 1", beam, 1),
        (
            "greedy, batch 64",
            DecodeOptions {
                beam_size: 1,
                alpha: beam.alpha,
            },
            64,
        ),
        ("beam, batch 64", beam, 64),
    ] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            for chunk in sources.chunks(batch) {
                translator.translate_batch(chunk, options)?;
            }
            runs.push(started.elapsed().as_secs_f64());
        }
        let seconds = median(runs);
        println!(
            "{name:>17} (beam {}): {:7.1} ms/sentence, {:7.1} sentences/s (median of 3)",
            options.beam_size,
            1000.0 * seconds / sources.len() as f64,
            sources.len() as f64 / seconds
        );
    }
    Ok(())
}
