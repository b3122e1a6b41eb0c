//! A tiny text-correction network (SignMST-C) trained on ten PHOENIX sentences with injected
//! errors learns to restore them: corrupted copies come back clean, a clean sentence stays
//! as it is.

use std::path::Path;

use signscope_slt::{DecodeOptions, SltConfig, Start, Translator, train_from_config};

fn tiny_correction_config(run_dir: &Path) -> SltConfig {
    let text = format!(
        r#"
[data]
dataset = "phoenix2014t"
direction = "text_correction"
text_level = "word"
data_dir = "{fixtures}"
max_length = 40
noise = {{ clean = 0.2, delete = 0.1, substitute = 0.1, insert = 0.05, shuffle = 0.3, shuffle_window = 2, unknown = 0.0 }}

[model]
d_model = 64
n_heads = 2
d_ff = 128
encoder_layers = 1
decoder_layers = 1
dropout = 0.1
attention_dropout = 0.0
max_positions = 64

[training]
run_dir = "{run_dir}"
batch_size = 10
epochs = 0
max_steps = 400
learning_rate = 3e-3
schedule = {{ kind = "warmup_cosine", warmup_steps = 30, min_learning_rate = 1e-4 }}
weight_decay = 0.0
eval_every = 200
keep_last = 2
average_last = 2
beam_size = 3
beam_alpha = 1.0
"#,
        fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny"),
        run_dir = run_dir.display()
    );
    SltConfig::parse(&text, Path::new("tiny_correction.toml")).unwrap()
}

#[test]
fn restores_corrupted_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_correction_config(&dir.path().join("run"));
    let (report, model_dir) = train_from_config(
        config,
        Path::new("tiny_correction.toml"),
        None,
        None,
        Start::Fresh,
    )
    .unwrap();
    let best = report.state.best.unwrap();
    // The dev summary carries the noisy input's own score: correction must beat it.
    let summary = &best.evaluation.summary;
    let noisy: f64 = summary
        .split("noisy input BLEU-4 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no noisy-input score in {summary}"));
    assert!(
        best.evaluation.score > noisy + 10.0,
        "corrected dev BLEU-4 vs its noisy input: {summary}"
    );

    let corrector = Translator::load(&model_dir).unwrap();
    let options = DecodeOptions {
        beam_size: 3,
        alpha: 1.0,
    };
    let inputs = [
        // a word dropped
        "größere wolkenlücken finden sich vor allem nordwesten",
        // two neighbours swapped
        "am ändert temperaturniveau sich wenig",
        // already clean
        "am temperaturniveau ändert sich wenig",
        // empty lines stay empty
        "",
    ];
    let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
    let out = corrector.correct(&inputs, options).unwrap();
    assert_eq!(
        out[0],
        "größere wolkenlücken finden sich vor allem im nordwesten"
    );
    assert_eq!(out[1], "am temperaturniveau ändert sich wenig");
    assert_eq!(out[2], "am temperaturniveau ändert sich wenig");
    assert_eq!(out[3], "");
}
