//! Load time, prompt processing and decode speed of SmolLM2-135M-Instruct Q4_1 (and
//! Gemma-3-270m if fetched) on the SCOPE translation prompt with three worked examples.
//! Medians of several runs, each prompt processed from an empty cache.
//!
//!     cargo bench -p signscope-llm --bench generation
//!
//! Threads: candle uses all cores unless RAYON_NUM_THREADS says otherwise.

use std::time::{Duration, Instant};

use signscope_llm::{
    DialogueTurn, FewShotExample, GenerationConfig, GgufChatModel, GlossHypothesis, PromptOptions,
    assets, scope_prompt,
};

const RUNS: usize = 5;
const NEW_TOKENS: usize = 32;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn prompt_messages() -> Vec<signscope_llm::Message> {
    let example = |g: &str, t: &str| FewShotExample {
        glosses: g.split(' ').map(String::from).collect(),
        context: vec!["What is the weather going to be?".into()],
        text: t.into(),
    };
    scope_prompt(
        &[
            GlossHypothesis::parse("TOMORROW RAIN NORTH STRONG WIND", Some(-0.4)),
            GlossHypothesis::parse("TOMORROW RAIN NORTH WIND", Some(-1.1)),
            GlossHypothesis::parse("TOMORROW SUN NORTH STRONG WIND", Some(-2.3)),
        ],
        &[
            DialogueTurn::parse("Good evening, here is the weather."),
            DialogueTurn::parse("What about tomorrow?"),
            DialogueTurn::parse("It stays dry in the south."),
        ],
        &[
            example(
                "TODAY SUN SOUTH WARM",
                "Today it is sunny and warm in the south.",
            ),
            example(
                "NIGHT COLD FROST EAST",
                "The night will be cold with frost in the east.",
            ),
            example(
                "WEEKEND RAIN MUCH",
                "There will be a lot of rain at the weekend.",
            ),
        ],
        &PromptOptions {
            language: Some("English".into()),
            ..PromptOptions::default()
        },
    )
}

fn bench(name: &str, path: &std::path::Path) {
    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..3 {
        let start = Instant::now();
        model = Some(GgufChatModel::load(path).expect("model loads"));
        loads.push(start.elapsed().as_secs_f64());
    }
    let mut model = model.expect("loaded");
    let prompt = model.render(&prompt_messages());
    let tokens = model.encode(&prompt).expect("prompt encodes");
    // Up to NEW_TOKENS: the model's stop token may end the reply earlier.
    let config = GenerationConfig {
        max_new_tokens: NEW_TOKENS,
        ..GenerationConfig::default()
    };
    let (mut prompt_rates, mut decode_rates, mut decode_steps) = (Vec::new(), Vec::new(), 0);
    let mut warm_prompt = Duration::ZERO;
    for run in 0..=RUNS {
        model.clear_cache();
        model
            .generate_from_tokens(&tokens, &config)
            .expect("generates");
        let t = model.timings();
        if run == 0 {
            continue; // warm-up
        }
        prompt_rates.push(t.prompt_tokens_per_second());
        decode_rates.push(t.decode_tokens_per_second());
        decode_steps = t.generated_tokens;
        warm_prompt = t.prompt_time;
    }
    // The same prompt once more without clearing: the cache snapshot of the shared prefix.
    model
        .generate_from_tokens(&tokens, &config)
        .expect("generates");
    model
        .generate_from_tokens(&tokens, &config)
        .expect("generates");
    let cached = model.timings();
    println!(
        "{name}: load {:.2} s (median of 3) | prompt {} tokens: {:.0} tok/s | decode {} tokens: {:.1} tok/s (medians of {RUNS}) | repeated prompt with cache snapshot: {} of {} tokens reused, prompt time {:.0} ms vs {:.0} ms",
        median(loads),
        tokens.len(),
        median(prompt_rates),
        decode_steps,
        median(decode_rates),
        cached.cached_prompt_tokens,
        cached.prompt_tokens,
        cached.prompt_time.as_secs_f64() * 1e3,
        warm_prompt.as_secs_f64() * 1e3,
    );
}

fn main() {
    let dir = assets::assets_dir();
    match assets::smollm2_gguf(&dir) {
        Ok(path) => bench("SmolLM2-135M-Instruct Q4_1", &path),
        Err(e) => eprintln!("skip SmolLM2: {e}"),
    }
    match assets::gemma3_gguf(&dir) {
        Ok(path) => bench("Gemma-3-270m Q4_K_M", &path),
        Err(e) => eprintln!("skip Gemma: {e}"),
    }
}
