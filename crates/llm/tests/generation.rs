//! Generation behaviour on the real models: KV-cache reuse gives the same tokens as a fresh
//! run, seeded sampling is reproducible, stop tokens/strings and the token limit end replies.

mod common;

use signscope_llm::{
    DialogueTurn, GenerationConfig, GgufChatModel, GlossHypothesis, Message, PromptOptions,
    scope_prompt,
};

fn request(glosses: &str) -> Vec<Message> {
    scope_prompt(
        &[
            GlossHypothesis::parse(glosses, Some(-0.3)),
            GlossHypothesis::parse("TOMORROW RAIN", Some(-1.2)),
        ],
        &[DialogueTurn::parse(
            "What will the weather be like tomorrow?",
        )],
        &[],
        &PromptOptions {
            language: Some("English".into()),
            ..PromptOptions::default()
        },
    )
}

fn greedy(n: usize) -> GenerationConfig {
    GenerationConfig {
        max_new_tokens: n,
        ..GenerationConfig::default()
    }
}

/// Prompts sharing a prefix (the snapshot path) and a conversation's next turn (the
/// cache-extension path) give exactly the tokens of a run from an empty cache.
fn cache_reuse_matches_fresh(model: &mut GgufChatModel) {
    let config = greedy(12);
    let first = model.render(&request("TOMORROW RAIN NORTH"));
    let second = model.render(&request("TOMORROW SUN SOUTH"));
    let tokens = |m: &GgufChatModel, p: &str| m.encode(p).unwrap();

    model.clear_cache();
    let a = model
        .generate_from_tokens(&tokens(model, &first), &config)
        .unwrap();
    let b = model
        .generate_from_tokens(&tokens(model, &second), &config)
        .unwrap();
    let reused = model.timings().cached_prompt_tokens;
    // A third prompt with the same prefix restarts from the snapshot.
    let a_again = model
        .generate_from_tokens(&tokens(model, &first), &config)
        .unwrap();
    assert!(
        model.timings().cached_prompt_tokens > 16,
        "snapshot not used"
    );
    model.clear_cache();
    let b_fresh = model
        .generate_from_tokens(&tokens(model, &second), &config)
        .unwrap();
    assert_eq!(reused, 0, "the second prompt only creates the snapshot");
    assert_eq!(b.ids, b_fresh.ids);
    assert_eq!(a.ids, a_again.ids);

    // A reply that ends on a stop token is fully cached; one cut by the limit or ending in
    // whitespace that merges with the next turn's tokens (SmolLM2: "\n\n" + "<|im_end|>")
    // cannot be extended, so the conversation starts with a short question.
    let mut conversation = vec![Message::user("Say hello.")];
    let config = greedy(48);
    model.clear_cache();
    let reply = model.chat_text(&conversation, &config);
    conversation.push(Message::assistant(reply));
    conversation.push(Message::user("And the day after?"));
    let next = model.render(&conversation);
    let continued = model
        .generate_from_tokens(&tokens(model, &next), &config)
        .unwrap();
    let cached = model.timings().cached_prompt_tokens;
    model.clear_cache();
    let fresh = model
        .generate_from_tokens(&tokens(model, &next), &config)
        .unwrap();
    assert_eq!(continued.ids, fresh.ids);
    assert!(cached > 0, "the next turn did not reuse the cache");
}

trait ChatText {
    fn chat_text(&mut self, messages: &[Message], config: &GenerationConfig) -> String;
}

impl ChatText for GgufChatModel {
    fn chat_text(&mut self, messages: &[Message], config: &GenerationConfig) -> String {
        signscope_llm::ChatBackend::chat(self, messages, config).unwrap()
    }
}

#[test]
fn smollm2_cache_reuse_matches_fresh_run() {
    let Some(path) = common::smollm2() else {
        return;
    };
    cache_reuse_matches_fresh(&mut GgufChatModel::load(&path).unwrap());
}

/// Also exercises the vendored Gemma masks after a cache prefix (upstream's were wrong).
#[test]
fn gemma3_cache_reuse_matches_fresh_run() {
    let Some(path) = common::gemma3() else { return };
    cache_reuse_matches_fresh(&mut GgufChatModel::load(&path).unwrap());
}

#[test]
fn smollm2_sampling_stops_and_limits() {
    let Some(path) = common::smollm2() else {
        return;
    };
    let mut model = GgufChatModel::load(&path).unwrap();
    assert_eq!(model.stop_tokens(), vec![2], "<|im_end|> is SmolLM2's EOS");
    let messages = request("TOMORROW RAIN NORTH");
    let sampled = |model: &mut GgufChatModel, seed| {
        let config = GenerationConfig {
            max_new_tokens: 16,
            temperature: 1.0,
            top_p: Some(0.95),
            seed,
            ..GenerationConfig::default()
        };
        model.chat_text(&messages, &config)
    };
    let one = sampled(&mut model, 1);
    assert_eq!(one, sampled(&mut model, 1), "same seed, same text");
    assert_ne!(one, sampled(&mut model, 2), "another seed, another text");

    model.chat_text(&messages, &greedy(5));
    assert_eq!(model.timings().generated_tokens, 5);

    let full = model.chat_text(&messages, &greedy(40));
    assert!(!full.contains("<|im_end|>"), "{full:?}");
    let cut_at = full.find(' ').expect("a reply with a space");
    let config = GenerationConfig {
        stop: vec![" ".into()],
        ..greedy(40)
    };
    assert_eq!(model.chat_text(&messages, &config), full[..cut_at]);

    // A reply that ends on its own stops at <|im_end|> before the limit.
    let short = vec![Message::user("Is the sky blue? Answer yes or no.")];
    let answer = model.chat_text(&short, &greedy(48));
    assert!(model.timings().generated_tokens < 48, "{answer:?}");

    let too_long = GenerationConfig {
        max_new_tokens: 5000,
        ..GenerationConfig::default()
    };
    let err = signscope_llm::ChatBackend::chat(&mut model, &messages, &too_long).unwrap_err();
    assert!(err.to_string().contains("exceeds the context"), "{err}");
}
