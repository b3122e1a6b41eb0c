//! `--llm-rescore` of `translate` and `eval slt`: the committed CSL-Daily seq2seq models'
//! beam reranked by the committed LoRA-tuned Gemma. Scoring needs the Gemma-3-270m asset
//! (`scripts/fetch-assets.sh gemma`): those tests are skipped locally without it and fail
//! under CI.

mod common;

use common::{refused, run_ok, stdout};

fn gemma_available() -> bool {
    match signscope_llm::assets::gemma3_gguf(&signscope_llm::assets::assets_dir()) {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIP: {e}");
            false
        }
        Err(e) => panic!("{e}"),
    }
}

/// The candidate lines of `translate --verbose` that carry an LLM score.
fn scored_candidates(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("LLM per token -"))
        .collect()
}

/// The CSL-Daily ensemble with reconstruction reranking, as README's Measured table runs it.
const ENSEMBLE: [&str; 11] = [
    "translate",
    "--model",
    "csl_daily_g2t",
    "--ensemble",
    "csl_daily_g2t_seed8",
    "--beam",
    "8",
    "--rerank",
    "models/csl_daily_t2g",
    "--rerank-weight",
    "0.25",
];

#[test]
fn the_llm_turns_down_a_garbled_beam_winner() {
    if !gemma_available() {
        return;
    }
    let glosses = ["--glosses", "他 年龄 4"];
    let without = run_ok(&[&ENSEMBLE[..], &glosses].concat());
    // "He four years four years old": the beam and the reverse model prefer it.
    assert_eq!(stdout(&without), "他四年四岁。");
    let with = run_ok(
        &[
            &ENSEMBLE[..],
            &glosses,
            &["--llm-rescore", "models/csl_daily_gemma3_lora", "--verbose"],
        ]
        .concat(),
    );
    assert_eq!(stdout(&with), "他四岁。");
    // --verbose lists the 8 candidates with both scores.
    let stderr = String::from_utf8_lossy(&with.stderr);
    let listed = scored_candidates(&stderr);
    assert_eq!(listed.len(), 8, "{stderr}");
    assert!(
        listed.iter().all(|l| l.contains("reconstruction -")),
        "{stderr}"
    );
}

#[test]
fn the_llms_own_translation_joins_the_beam_and_can_win() {
    if !gemma_available() {
        return;
    }
    let out = run_ok(
        &[
            &ENSEMBLE[..],
            &[
                "--glosses",
                "我 每天 早 6 起床",
                "--llm-rescore",
                "models/csl_daily_gemma3_lora",
                "--llm-candidate",
                "--verbose",
            ],
        ]
        .concat(),
    );
    // "I get up at six every morning": none of the beam's 8 candidates says it (without
    // --llm-candidate the rescored beam picks 我每天早六点起床。).
    assert_eq!(stdout(&out), "我每天早上六点起床。");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let listed = scored_candidates(&stderr);
    assert_eq!(listed.len(), 9, "{stderr}");
    assert!(
        listed[8].trim_start().starts_with("我每天早上六点起床。")
            && listed[8].ends_with("<- the LLM's own translation"),
        "{stderr}"
    );
}

#[test]
fn eval_scores_every_llm_weight_and_writes_the_scores() {
    if !gemma_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nbest = dir.path().join("nbest.jsonl");
    let own = dir.path().join("own.jsonl");
    let out = run_ok(&[
        "eval",
        "slt",
        "--model",
        "csl_daily_g2t",
        "--beam",
        "4",
        "--limit",
        "6",
        "--llm-rescore",
        "models/csl_daily_gemma3_lora",
        "--llm-weights",
        "0,0.3",
        "--nbest-out",
        nbest.to_str().unwrap(),
        "--llm-candidates",
        "--llm-candidates-out",
        own.to_str().unwrap(),
    ]);
    let stdout = stdout(&out);
    assert!(stdout.contains("(6 sentences)"), "{stdout}");
    assert!(
        stdout.contains("models/csl_daily_gemma3_lora (own translations, "),
        "{stdout}"
    );
    assert!(stdout.contains("reranked (weight 0): "), "{stdout}");
    assert!(
        stdout.contains("reranked (weight 0, LLM weight 0.3): "),
        "{stdout}"
    );
    assert!(
        stdout.contains("selection by 2-fold cross-validation"),
        "{stdout}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&nbest)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for line in &lines {
        for c in line["candidates"].as_array().unwrap() {
            let (lp, tokens) = (
                c["llm_log_prob"].as_f64().unwrap(),
                c["llm_tokens"].as_u64().unwrap(),
            );
            assert!(lp < 0.0 && tokens >= 2, "{c}");
        }
    }
    // The LLM's translations were saved for --add-candidates, and every one is in its
    // sentence's n-best list.
    let own: Vec<serde_json::Value> = std::fs::read_to_string(&own)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(own.len(), 6);
    for (line, record) in lines.iter().zip(&own) {
        assert_eq!(line["id"], record["id"]);
        let text = record["text"].as_str().unwrap();
        assert!(!text.is_empty());
        assert!(
            line["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["text"] == text),
            "{line}"
        );
    }
    // The file re-sweeps without the LLM.
    let sweep = run_ok(&["rescore-nbest", nbest.to_str().unwrap()]);
    assert!(common::stdout(&sweep).contains("2-fold cross-validation"));
}

#[test]
fn adapters_of_another_corpus_are_refused_before_loading() {
    // No Gemma needed: the adapters' config is read first.
    let stderr = refused(&[
        "translate",
        "--model",
        "csl_daily_g2t",
        "--llm-rescore",
        "models/phoenix2014t_gemma3_lora",
        "--glosses",
        "他 年龄 4",
    ]);
    assert!(
        stderr.contains("models/phoenix2014t_gemma3_lora")
            && stderr.contains("tuned on phoenix2014t")
            && stderr.contains("csl_daily"),
        "{stderr}"
    );
    // A translation model is not an adapter folder.
    let stderr = refused(&[
        "eval",
        "slt",
        "--model",
        "csl_daily_g2t",
        "--llm-rescore",
        "models/csl_daily_t2g",
    ]);
    assert!(
        stderr.contains("models/csl_daily_t2g") && stderr.contains("not a LoRA adapter folder"),
        "{stderr}"
    );
    // The LLM's own translation needs the LLM.
    let stderr = refused(&[
        "translate",
        "--model",
        "csl_daily_g2t",
        "--llm-candidate",
        "--glosses",
        "他 年龄 4",
    ]);
    assert!(stderr.contains("--llm-rescore"), "{stderr}");
}

#[test]
fn another_systems_translations_join_the_beam() {
    // The references of the first 4 dev sentences, as if another system had written them.
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("out.tsv");
    let plain = [
        "eval",
        "slt",
        "--model",
        "csl_daily_g2t",
        "--limit",
        "4",
        "--output",
        tsv.to_str().unwrap(),
    ];
    run_ok(&plain);
    let mut jsonl = String::new();
    for line in std::fs::read_to_string(&tsv).unwrap().lines() {
        let columns: Vec<&str> = line.split('\t').collect();
        let record = serde_json::json!({"id": columns[0], "text": columns[2]});
        jsonl.push_str(&format!("{record}\n"));
    }
    let candidates = dir.path().join("other.jsonl");
    std::fs::write(&candidates, jsonl).unwrap();
    let combined = [
        &plain[..6],
        &["--add-candidates", candidates.to_str().unwrap()],
    ]
    .concat();
    let stdout = stdout(&run_ok(&combined));
    let line = stdout
        .lines()
        .find(|l| l.contains("other.jsonl"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("BLEU-4 100.00"), "{line}");
    // A reference the beam already holds is not added twice.
    assert!(line.contains(" new candidates)"), "{line}");
    assert!(stdout.contains("reranked (weight 0): "), "{stdout}");
    // A file that lacks a sentence is refused, naming both.
    std::fs::write(&candidates, "{\"id\": \"nope\", \"text\": \"x\"}\n").unwrap();
    let stderr = refused(&combined);
    assert!(
        stderr.contains("other.jsonl") && stderr.contains("no translation of sentence"),
        "{stderr}"
    );
}
