//! Tokenizers and greedy generation against llama.cpp (llama-cpp-python 0.3.36), from the
//! fixtures that scripts/make_fixtures.py wrote.

mod common;

use std::fs::File;

use candle_core::quantized::gguf_file;
use signscope_llm::tokenizer::tokenizer_from_gguf;
use signscope_llm::{GenerationConfig, GgufChatModel};

fn check_tokenizer(path: &std::path::Path, fixture: &str, round_trip: bool) {
    let mut file = File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let tokenizer = tokenizer_from_gguf(&content).unwrap();
    let reference = common::fixture(fixture);
    for item in reference["tokenize"].as_array().unwrap() {
        let text = item["text"].as_str().unwrap();
        let expected = common::ids(&item["ids"]);
        let got = tokenizer.encode(text, true).unwrap().get_ids().to_vec();
        assert_eq!(got, expected, "{fixture}: ids of {text:?}");
        if round_trip {
            let decoded = tokenizer.decode(&got, false).unwrap();
            assert_eq!(decoded, text, "{fixture}: round trip");
        }
    }
}

#[test]
fn smollm2_tokenizer_matches_llama_cpp() {
    let Some(path) = common::smollm2() else {
        return;
    };
    check_tokenizer(&path, "smollm2_reference.json", true);
}

#[test]
fn gemma3_tokenizer_matches_llama_cpp() {
    let Some(path) = common::gemma3() else { return };
    // Decoding drops the <bos> the post-processor added, so no exact round trip here.
    check_tokenizer(&path, "gemma3_reference.json", false);
}

fn check_greedy(model: &mut GgufChatModel, fixture: &str) {
    let reference = common::fixture(fixture);
    for item in reference["generation"].as_array().unwrap() {
        let prompt = item["prompt"].as_str().unwrap();
        let prompt_ids = common::ids(&item["prompt_ids"]);
        assert_eq!(
            model.encode(prompt).unwrap(),
            prompt_ids,
            "{fixture}: prompt ids"
        );
        let expected = common::ids(&item["ids"]);
        let config = GenerationConfig {
            max_new_tokens: expected.len(),
            ..GenerationConfig::default()
        };
        model.clear_cache();
        let got = model.generate_from_tokens(&prompt_ids, &config).unwrap();
        assert_eq!(
            got.ids, expected,
            "{fixture}: greedy continuation of {prompt:?}\n got {:?}\nwant {:?}",
            got.text, item["text"]
        );
    }
}

#[test]
fn smollm2_greedy_matches_llama_cpp() {
    let Some(path) = common::smollm2() else {
        return;
    };
    let mut model = GgufChatModel::load(&path).unwrap();
    check_greedy(&mut model, "smollm2_reference.json");
}

/// Largest logit gap at which llama.cpp's token may differ from our argmax. The two
/// implementations' raw logits differ by 0.1–0.6 on these prompts (different quantized
/// kernels and summation orders over 18 layers), so near-ties flip: in the second prompt's
/// garbled stretch (max logit ≈ 3) llama.cpp's token trails ours by 0.39. Upstream candle's SiLU-gated Gemma misses by far
/// more: 3.6 (see `upstream_gemma3_silu_gate_fails_the_reference`).
const TIE_TOLERANCE: f32 = 0.5;

/// Teacher-forced along llama.cpp's greedy continuation: at every step llama.cpp's token is
/// our argmax or within [`TIE_TOLERANCE`] of it. Returns the steps where it was not the
/// argmax and the largest gap seen.
fn teacher_forced_gaps(
    logits_after: &mut dyn FnMut(&[u32]) -> Vec<f32>,
    prompt: &[u32],
    reference: &[u32],
) -> (usize, f32, Option<usize>) {
    let mut not_argmax = 0;
    let mut worst = 0f32;
    let mut first_gap = None;
    for i in 0..reference.len() {
        let context = [prompt, &reference[..i]].concat();
        let logits = logits_after(&context);
        let best = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let gap = best - logits[reference[i] as usize];
        if gap > 0.0 {
            not_argmax += 1;
            first_gap.get_or_insert(i);
        }
        worst = worst.max(gap);
    }
    (not_argmax, worst, first_gap)
}

/// The vendored Gemma 3 (GELU gate) follows llama.cpp: greedy decoding agrees for the first
/// 18 tokens of "The capital of France is" (the 19th is a near-tie: our top-2 margin is
/// 0.004), and teacher-forced along llama.cpp's 32 tokens of both prompts its choice is
/// always within TIE_TOLERANCE of our argmax (worst seen: 0.39).
#[test]
fn gemma3_matches_llama_cpp() {
    let Some(path) = common::gemma3() else { return };
    let mut model = GgufChatModel::load(&path).unwrap();
    let reference = common::fixture("gemma3_reference.json");
    for (n, item) in reference["generation"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let prompt = item["prompt"].as_str().unwrap();
        let prompt_ids = common::ids(&item["prompt_ids"]);
        assert_eq!(model.encode(prompt).unwrap(), prompt_ids, "prompt ids");
        let expected = common::ids(&item["ids"]);
        model.clear_cache();
        let mut logits_after = |tokens: &[u32]| model.logits(tokens).unwrap();
        let (not_argmax, worst, first_gap) =
            teacher_forced_gaps(&mut logits_after, &prompt_ids, &expected);
        assert!(
            worst <= TIE_TOLERANCE,
            "{prompt:?}: llama.cpp's token trails our best by up to {worst} ({not_argmax} steps)"
        );
        if n == 0 {
            model.clear_cache();
            let config = GenerationConfig {
                max_new_tokens: 18,
                ..GenerationConfig::default()
            };
            let got = model.generate_from_tokens(&prompt_ids, &config).unwrap();
            // Greedy paths may part only where llama.cpp's token is not our argmax (a
            // near-tie, already bounded by TIE_TOLERANCE above); up to there they must agree.
            let agree = first_gap.unwrap_or(18).min(18);
            assert_eq!(
                got.ids[..agree],
                expected[..agree],
                "greedy: {:?}",
                got.text
            );
        }
    }
}

/// candle 0.11.1's own quantized_gemma3 (SiLU gate) fails the same check: the reference
/// can tell the bug apart from rounding.
#[test]
fn upstream_gemma3_silu_gate_fails_the_reference() {
    let Some(path) = common::gemma3() else { return };
    let mut file = File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let device = candle_core::Device::Cpu;
    let mut upstream = candle_transformers::models::quantized_gemma3::ModelWeights::from_gguf(
        content, &mut file, &device,
    )
    .unwrap();
    let reference = common::fixture("gemma3_reference.json");
    let item = &reference["generation"][0];
    let prompt_ids = common::ids(&item["prompt_ids"]);
    let expected = common::ids(&item["ids"]);
    // Upstream's multi-token masks are wrong after a cache prefix, so run each step from 0.
    let mut logits_after = |tokens: &[u32]| {
        let input = candle_core::Tensor::new(tokens, &device)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        upstream
            .forward(&input, 0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let (_, worst, _) = teacher_forced_gaps(&mut logits_after, &prompt_ids, &expected);
    eprintln!("upstream SiLU gate: llama.cpp's token trails by up to {worst}");
    assert!(worst > TIE_TOLERANCE, "upstream gap only {worst}");
}
