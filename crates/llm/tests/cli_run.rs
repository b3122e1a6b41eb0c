//! `signscope translate-llm` through `cli::run`: one utterance and a manifest batch.

mod common;

use clap::Parser;
use signscope_llm::cli::{Args, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn args(v: &[&str]) -> Args {
    Cli::parse_from(std::iter::once("translate-llm").chain(v.iter().copied())).args
}

#[test]
fn bad_inputs_fail_before_loading_a_model() {
    let err = run(args(&["--model", "/nonexistent.gguf"])).unwrap_err();
    assert!(err.to_string().contains("--glosses"), "{err}");
    let err = run(args(&["--glosses", "A B", "--hyp", "A", "--score", "-1"])).unwrap_err();
    assert!(err.to_string().contains("one per hypothesis"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("in.jsonl");
    std::fs::write(
        &manifest,
        "{\"id\":\"a\",\"glosses\":\"A\"}\n{\"id\":\"b\"}\n",
    )
    .unwrap();
    let out = dir.path().join("hyp.txt");
    let err = run(args(&[
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("in.jsonl: line 2"), "{err}");
    assert!(!out.exists());
    let err = run(args(&["--glosses", "A", "--model", "/nonexistent.gguf"])).unwrap_err();
    assert!(err.to_string().contains("fetch-assets.sh"), "{err}");
}

#[test]
fn manifest_batch_writes_one_line_per_record() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("in.jsonl");
    std::fs::write(
        &manifest,
        concat!(
            r#"{"id":"u1","hypotheses":[{"glosses":"TOMORROW RAIN","score":-0.2},{"glosses":["TOMORROW","SUN"],"score":-1.9}],"context":["What about tomorrow?"],"text":"It will rain tomorrow."}"#,
            "\n",
            r#"{"id":"u2","glosses":["HELLO","HOW","YOU"],"text":"Hello, how are you?","split":"test"}"#,
            "\n"
        ),
    )
    .unwrap();
    let few_shot = dir.path().join("train.jsonl");
    std::fs::write(
        &few_shot,
        r#"{"id":"t1","split":"train","glosses":["TODAY","SUN"],"text":"It is sunny today."}"#,
    )
    .unwrap();
    let out = dir.path().join("hyp.txt");
    let refs = dir.path().join("ref.txt");
    run(args(&[
        "--model",
        model.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--ref-out",
        refs.to_str().unwrap(),
        "--few-shot",
        few_shot.to_str().unwrap(),
        "--shots",
        "1",
        "--max-tokens",
        "16",
        "--language",
        "English",
    ]))
    .unwrap();
    let hyp = std::fs::read_to_string(&out).unwrap();
    assert_eq!(hyp.lines().count(), 2, "{hyp:?}");
    assert!(hyp.lines().all(|l| !l.trim().is_empty()), "{hyp:?}");
    assert_eq!(
        std::fs::read_to_string(&refs).unwrap(),
        "It will rain tomorrow.\nHello, how are you?\n"
    );
}
