//! End to end on a small generated dialogue corpus: both training stages, resuming, the
//! final model, WER with and without context, top-k recognition.

use std::path::Path;

use signscope_slr::config::{EmbeddingConfig, SlrConfig};
use signscope_slr::context::HashedBagOfWords;
use signscope_slr::data::{EmbeddingTable, load_utterances, texts_of};
use signscope_slr::eval::Recognizer;
use signscope_slr::train::{MODEL_FILE, plan_epoch, reuse_stage1, train};

fn synth_corpus(out: &Path) {
    let args = signscope_synth::cli::SynthArgs {
        glosses: signscope_synth::GlossSource::Dialogue,
        data_dir: None,
        splits: vec![
            signscope_corpus::manifest::Split::Train,
            signscope_corpus::manifest::Split::Dev,
        ],
        out: out.to_path_buf(),
        signers: 3,
        renderings: 1,
        seed: 7,
        limit: None,
        fps: 25.0,
        width: 640,
        height: 480,
        dialogues: 60,
        threads: Some(2),
        quiet: true,
        lexicon: None,
    };
    signscope_synth::cli::run(args).expect("synthetic corpus");
}

fn tiny_config(dir: &Path) -> SlrConfig {
    let text = format!(
        r#"
run_dir = "{run}"
[data]
train = "{manifest}"
dev = "{manifest}"
augment = true
[embedding]
backend = "hashed"
size = 16
[model]
d_model = 32
n_heads = 2
d_ff = 64
mlp_hidden = 32
alignment_layers = 1
gloss_layers = 1
embedding_size = 16
dropout = 0.0
[loss]
mwer_weight = 0.5
mwer_n_best = 2
beam_width = 4
[alignment]
batch_size = 16
max_steps = 6
epochs = 0
learning_rate = 3e-3
schedule = {{ kind = "constant" }}
keep_last = 1
average_last = 0
[gloss]
batch_size = 16
max_steps = 40
epochs = 0
learning_rate = 3e-3
schedule = {{ kind = "constant" }}
eval_every = 20
keep_last = 2
average_last = 2
"#,
        run = dir.join("run").display(),
        manifest = dir.join("corpus/manifest.jsonl").display()
    );
    let path = dir.join("slr.toml");
    std::fs::write(&path, text).unwrap();
    SlrConfig::load(&path).unwrap()
}

#[test]
fn trains_resumes_and_recognizes() {
    let dir = tempfile::tempdir().unwrap();
    synth_corpus(&dir.path().join("corpus"));
    let config = tiny_config(dir.path());
    let embedder = HashedBagOfWords { size: 16 };
    let outcome = train(config.clone(), &embedder, false).expect("training");
    let run = dir.path().join("run");
    assert!(run.join(MODEL_FILE).exists());
    assert!(outcome.dev.wer.is_finite() && outcome.dev.counts.reference_len > 0);

    // CTC training moves the loss: the stage-2 log shows a lower training loss at the end.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("gloss/state.json")).unwrap()).unwrap();
    let losses: Vec<f64> = state["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["train_loss"].as_f64().unwrap())
        .collect();
    assert!(
        losses.len() >= 2 && losses[losses.len() - 1] < losses[0],
        "train losses {losses:?}"
    );

    // A second run into the same folder must not overwrite it; resuming a finished run reuses it.
    let err = train(config.clone(), &embedder, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--resume"), "{err}");
    let again = train(config.clone(), &embedder, true).expect("resume of finished stages");
    assert_eq!(
        again.dev.wer, outcome.dev.wer,
        "finished stages are not retrained"
    );

    // The saved recognizer reproduces the training-time evaluation.
    let recognizer = Recognizer::load(&run, None).unwrap();
    let dev = load_utterances(
        &config.data.dev,
        config.data.dev_split.split(),
        &config.features,
        2,
    )
    .unwrap();
    let embeddings = EmbeddingTable::build(&embedder, texts_of(&dev)).unwrap();
    let with = recognizer
        .evaluate(&dev, &embeddings, true, config.loss.beam_width)
        .unwrap();
    assert_eq!(with.wer, outcome.dev.wer);
    let without = recognizer
        .evaluate(&dev, &embeddings, false, config.loss.beam_width)
        .unwrap();
    assert_eq!(without.counts.reference_len, with.counts.reference_len);

    // Top-k from a pose file: distinct hypotheses, best first.
    let record = &signscope_corpus::manifest::read_manifest(&config.data.dev).unwrap()[1];
    let pose = signscope_pose::read_pose(record.resolved_pose(&dir.path().join("corpus")).unwrap())
        .unwrap();
    let top = recognizer
        .recognize(&pose, &record.context, &embedder, 6, 3)
        .unwrap();
    assert!(!top.is_empty() && top.len() <= 3);
    assert!(
        top.windows(2)
            .all(|w| w[0].log_prob >= w[1].log_prob && w[0].glosses != w[1].glosses)
    );
    let _ = EmbeddingConfig::default();

    // A stage-2 ablation started from this run's stage 1 trains no stage-1 step of its own
    // and keeps its stage-1 weights; a config whose stage 1 differs is refused.
    let mut ablation = config.clone();
    ablation.run_dir = dir.path().join("no-mwer");
    ablation.loss.mwer_weight = 0.0;
    reuse_stage1(&run, &ablation).expect("same stage 1");
    let reused = train(ablation.clone(), &embedder, true).expect("stage 2 only");
    assert!(
        reused.alignment_seconds_per_step.is_none(),
        "stage 1 was retrained"
    );
    assert!(reused.gloss_seconds_per_step.is_some());
    assert_eq!(
        std::fs::read(dir.path().join("no-mwer/alignment/state.json")).unwrap(),
        std::fs::read(run.join("alignment/state.json")).unwrap()
    );
    let mut different = config.clone();
    different.run_dir = dir.path().join("other");
    different.model.d_model = 48;
    let err = reuse_stage1(&run, &different).unwrap_err().to_string();
    assert!(err.contains("[model] differs"), "{err}");
    let err = reuse_stage1(&dir.path().join("no-such-run"), &ablation)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-run"), "{err}");
}

#[test]
fn epochs_cover_every_utterance_once_and_repeat_with_the_seed() {
    let lengths: Vec<usize> = (0..103).map(|i| (i * 37) % 91 + 5).collect();
    let plan = plan_epoch(&lengths, 8, 3, 42);
    let mut seen: Vec<usize> = plan.iter().flat_map(|b| b.indices.clone()).collect();
    seen.sort();
    assert_eq!(seen, (0..103).collect::<Vec<_>>());
    let again = plan_epoch(&lengths, 8, 3, 42);
    assert_eq!(
        plan.iter().map(|b| &b.indices).collect::<Vec<_>>(),
        again.iter().map(|b| &b.indices).collect::<Vec<_>>()
    );
    let other = plan_epoch(&lengths, 8, 4, 42);
    assert_ne!(
        plan.iter().map(|b| &b.indices).collect::<Vec<_>>(),
        other.iter().map(|b| &b.indices).collect::<Vec<_>>()
    );
}
