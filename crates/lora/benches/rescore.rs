//! Speed of LLM rescoring (`--llm-rescore`): loading the LoRA-tuned Gemma-3-270m into burn,
//! and scoring n-best lists with each source's prompt run once for all its candidates, and
//! with the prompts' common opening run once for all sources as `LlmScorer` does, against
//! the reference of running every candidate's whole sequence (how training computes the same
//! numbers), measured in the same run. Medians of 3 runs. Not a test.
//!
//!     cargo bench -p signscope-lora --bench rescore -- [ADAPTERS] [TRANSLATOR] [SENTENCES]
//!
//! Paths are relative to the workspace root. Defaults: the committed models/csl_daily_gemma3_lora, models/csl_daily_g2t (beam 8 n-best
//! lists of CSL-Daily dev sentences), 20 sentences. Needs the Gemma asset
//! (`scripts/fetch-assets.sh gemma`); skipped without it.

use std::path::PathBuf;
use std::time::Instant;

use signscope_corpus::Split;
use signscope_lora::rescore::{
    BATCH_SIZE, LlmScorer, SharedPrefix, score_replies, score_whole_sequences,
};
use signscope_slt::data::load_split;
use signscope_slt::translator::bundled_model_dir;
use signscope_slt::{DecodeOptions, Translator};

const RUNS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process so far, in GB (Linux; 0 elsewhere).
fn peak_rss_gb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1e6)
}

fn timed<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        // The previous result goes first, so that two loaded models never overlap.
        drop(last.take());
        let started = Instant::now();
        last = Some(f());
        times.push(started.elapsed().as_secs_f64());
    }
    (median(times), last.expect("RUNS > 0"))
}

fn main() -> anyhow::Result<()> {
    // cargo runs benches in the crate's folder; paths (the arguments, the corpus's
    // ../shared/data) are taken from the workspace root instead.
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Err(e) = signscope_llm::assets::gemma3_gguf(&signscope_llm::assets::assets_dir()) {
        eprintln!("skip: {e}");
        return Ok(());
    }
    let adapters = match args.first() {
        Some(dir) => PathBuf::from(dir),
        None => bundled_model_dir("csl_daily_g2t")?
            .parent()
            .expect("a models folder")
            .join("csl_daily_gemma3_lora"),
    };
    let translator_dir = match args.get(1) {
        Some(dir) => PathBuf::from(dir),
        None => bundled_model_dir("csl_daily_g2t")?,
    };
    let count: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(20);

    let translator = Translator::load(&translator_dir)?;
    let examples: Vec<_> = load_split(
        &translator.config.data,
        &translator.config.data_dir(),
        Split::Dev,
    )?
    .into_iter()
    .take(count)
    .collect();
    let sources: Vec<Vec<String>> = examples.iter().map(|e| e.source.clone()).collect();
    let nbest = translator.translate_nbest(
        &sources,
        DecodeOptions {
            beam_size: 8,
            ..translator.default_options()
        },
    )?;
    let mut glosses: Vec<&[String]> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for (source, list) in sources.iter().zip(&nbest) {
        for candidate in list {
            glosses.push(source);
            texts.push(&candidate.text);
        }
    }
    println!(
        "{} | {} dev sentences, {} beam-8 candidates of {} | {} CPUs visible",
        adapters.display(),
        sources.len(),
        texts.len(),
        translator_dir.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let (load_s, scorer) = timed(|| LlmScorer::load(&adapters));
    let scorer = scorer?;
    println!(
        "load (GGUF dequantized to f32, adapters): {load_s:.2} s, peak RSS {:.2} GB",
        peak_rss_gb()
    );

    let sequences = scorer.encode(&glosses, &texts)?;
    let rows: Vec<_> = sequences.iter().collect();
    let prompt: usize = rows.iter().map(|s| s.prompt.len()).sum();
    let reply: usize = rows.iter().map(|s| s.reply.len()).sum();
    println!(
        "tokens per candidate: prompt {:.1}, reply {:.1}",
        prompt as f64 / rows.len() as f64,
        reply as f64 / rows.len() as f64
    );
    let (base, lora) = scorer.model();
    let template = scorer.template();
    println!(
        "prompt opening shared by all sources: {} tokens",
        template.map_or(0, SharedPrefix::len)
    );
    let (shared_s, shared) = timed(|| score_replies(base, Some(lora), None, &rows, BATCH_SIZE));
    let (template_s, with_template) =
        timed(|| score_replies(base, Some(lora), template, &rows, BATCH_SIZE));
    let (whole_s, whole) = timed(|| score_whole_sequences(base, Some(lora), &rows, BATCH_SIZE));
    let largest_difference = shared
        .iter()
        .chain(&with_template)
        .zip(whole.iter().chain(&whole))
        .map(|(a, b)| (a.log_prob - b.log_prob).abs())
        .fold(0.0, f64::max);
    let per_sentence = |s: f64| 1000.0 * s / sources.len() as f64;
    println!(
        "whole sequences (reference): {whole_s:.2} s, {:.0} ms per sentence, {:.1} candidates/s",
        per_sentence(whole_s),
        rows.len() as f64 / whole_s
    );
    for (name, seconds) in [
        ("each source's prompt once: ", shared_s),
        ("+ the opening once (used): ", template_s),
    ] {
        println!(
            "{name} {seconds:.2} s, {:.0} ms per sentence, {:.1} candidates/s ({:.2}x the reference)",
            per_sentence(seconds),
            rows.len() as f64 / seconds,
            whole_s / seconds
        );
    }
    println!(
        "largest difference of a candidate's log-probability: {largest_difference:.2e}; peak RSS {:.2} GB",
        peak_rss_gb()
    );
    Ok(())
}
