//! A tiny gloss→text model trained through the public entry point overfits ten PHOENIX
//! sentences, translates them back, and its model directory round-trips through `Translator`.

use std::path::Path;

use signscope_slt::{DecodeOptions, SltConfig, Start, Translator, train_from_config};

fn tiny_config(run_dir: &Path) -> SltConfig {
    let text = format!(
        r#"
[data]
dataset = "phoenix2014t"
direction = "gloss_to_text"
text_level = "word"
data_dir = "{fixtures}"
max_length = 40

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
batch_size = 5
epochs = 0
max_steps = 300
learning_rate = 3e-3
schedule = {{ kind = "warmup_cosine", warmup_steps = 30, min_learning_rate = 1e-4 }}
weight_decay = 0.0
eval_every = 150
keep_last = 2
average_last = 2
beam_size = 3
beam_alpha = 1.0
"#,
        fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny"),
        run_dir = run_dir.display()
    );
    SltConfig::parse(&text, Path::new("tiny.toml")).unwrap()
}

#[test]
fn overfits_ten_sentences_and_translates_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let config = tiny_config(&run_dir);
    let (report, model_dir) = train_from_config(
        config.clone(),
        Path::new("tiny.toml"),
        None,
        None,
        Start::Fresh,
    )
    .unwrap();
    assert_eq!(report.state.step, 300);
    let best = report.state.best.unwrap();
    assert!(
        best.evaluation.score > 95.0,
        "dev BLEU-4 on the training sentences: {}",
        best.evaluation.summary
    );

    let translator = Translator::load(&model_dir).unwrap();
    assert_eq!(
        translator
            .translate("GUT ABEND LIEB ZUSCHAUER poss-EUCH")
            .unwrap(),
        "guten abend liebe zuschauer"
    );
    let greedy = DecodeOptions {
        beam_size: 1,
        alpha: 1.0,
    };
    let out = translator
        .translate_batch(
            &[translator.tokenize_source("SAMSTAG AUCH FREUNDLICH")],
            greedy,
        )
        .unwrap();
    assert_eq!(out[0].text, "auch am samstag teilweise freundlich");

    // Of a garbled and a clean hypothesis, the clean one translates with the higher score.
    let candidates = [
        translator.tokenize_source("ABEND SAMSTAG FLUSS ZUSCHAUER DREI NEBEL"),
        translator.tokenize_source("TEMPERATUR BLEIBEN GLEICH"),
    ];
    let choice = translator
        .translate_candidates(&candidates, translator.default_options())
        .unwrap();
    assert_eq!(choice.chosen, 1, "{:?}", choice.translations);
    assert_eq!(
        choice.translations[1].text,
        "am temperaturniveau ändert sich wenig"
    );

    // The half-precision export (how committed models are stored) translates the same.
    let exported = dir.path().join("exported");
    let bytes = signscope_slt::translator::export_model(
        &model_dir,
        &exported,
        signscope_nn::checkpoint::Storage::F16,
    )
    .unwrap();
    let full = std::fs::metadata(model_dir.join("model.bpk"))
        .unwrap()
        .len();
    assert!((bytes as f64) < 0.6 * full as f64, "{bytes} vs {full}");
    assert!(!exported.join("state.json").exists());
    let half = Translator::load(&exported).unwrap();
    assert_eq!(
        half.translate("GUT ABEND LIEB ZUSCHAUER poss-EUCH")
            .unwrap(),
        "guten abend liebe zuschauer"
    );
    // 8-bit weights: about a quarter of the f32 file, and still the same translation.
    let quantized = dir.path().join("quantized");
    let bytes = signscope_slt::translator::export_model(
        &model_dir,
        &quantized,
        signscope_nn::checkpoint::Storage::Q8,
    )
    .unwrap();
    assert!((bytes as f64) < 0.35 * full as f64, "{bytes} vs {full}");
    assert_eq!(
        Translator::load(&quantized)
            .unwrap()
            .translate("GUT ABEND LIEB ZUSCHAUER poss-EUCH")
            .unwrap(),
        "guten abend liebe zuschauer"
    );

    // A new run initialized from the trained model starts where it ended: one step at a
    // negligible learning rate still translates like the trained model (a random start would not).
    // It starts from the half-precision export, as `--init-from models/...` does: the widened
    // parameters must still be trainable.
    let mut warm = tiny_config(&dir.path().join("warm"));
    warm.training.max_steps = 1;
    warm.training.learning_rate = 1e-9;
    warm.training.schedule = signscope_nn::config::Schedule::Constant;
    warm.training.eval_every = 0;
    warm.training.average_last = 0;
    let (warm_report, warm_dir) = train_from_config(
        warm.clone(),
        Path::new("warm.toml"),
        None,
        None,
        Start::InitFrom(exported.clone()),
    )
    .unwrap();
    assert_eq!(warm_report.state.step, 1);
    assert!(
        warm_report.state.best.unwrap().evaluation.score > 95.0,
        "the initialized model scores like the trained one"
    );
    assert_eq!(
        Translator::load(&warm_dir)
            .unwrap()
            .translate("GUT ABEND LIEB ZUSCHAUER poss-EUCH")
            .unwrap(),
        "guten abend liebe zuschauer"
    );
    // Parameters of another architecture are refused, naming the model directory.
    let mut other = tiny_config(&dir.path().join("other"));
    other.model.d_ff = 256;
    let refused = train_from_config(
        other,
        Path::new("other.toml"),
        None,
        None,
        Start::InitFrom(model_dir.clone()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("[model]") && refused.contains("run"),
        "{refused}"
    );

    // Synthetic pairs (`signscope augment`): the overfit model's best translations of its own
    // training glosses mostly repeat the references and are left out; its second-best ones
    // differ and become forward pairs with the real glosses.
    let train = signscope_slt::data::load_split(
        &config.data,
        config.data.data_dir.as_deref().unwrap(),
        signscope_corpus::Split::Train,
    )
    .unwrap();
    let (records, counts) = signscope_slt::augment::synthetic_pairs(
        &translator,
        &train,
        translator.default_options(),
        2,
        false,
        "tiny",
    )
    .unwrap();
    assert!(counts.copies >= 8, "{counts:?}");
    assert_eq!(
        counts.written + counts.copies,
        2 * train.len(),
        "{counts:?}"
    );
    assert_eq!(records.len(), counts.written);
    for record in &records {
        let real = train
            .iter()
            .find(|e| record.id.ends_with(&format!(":{}", e.id)))
            .unwrap();
        assert_eq!(record.glosses, real.source);
        assert_ne!(record.text.as_deref(), Some(real.target.join(" ").as_str()));
        assert_eq!(record.extra["synthetic"], "forward");
    }
    let manifest = dir.path().join("synthetic.jsonl");
    signscope_corpus::write_manifest(&manifest, &records).unwrap();
    // A config's data.extra_train adds them to the train split's pairs, with the same
    // vocabularies.
    let mut augmented = config.clone();
    augmented.data.extra_train = vec![manifest.clone()];
    let extra = signscope_slt::data::load_extra_train(&augmented.data).unwrap();
    assert_eq!(extra.len(), records.len());
    let device = signscope_nn::cpu_device();
    let mut task =
        signscope_slt::translator::SltTask::new(augmented.clone(), &train, train.clone(), device);
    let (pairs, source_vocab) = (task.train_pairs(), task.source_vocab().clone());
    assert_eq!(task.extend_train(&extra), extra.len());
    assert_eq!(task.train_pairs(), pairs + extra.len());
    assert_eq!(task.source_vocab(), &source_vocab);
    // A missing extra_train file is an error naming it.
    augmented.data.extra_train = vec![dir.path().join("missing.jsonl")];
    let missing = signscope_slt::data::load_extra_train(&augmented.data)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing.jsonl"), "{missing}");

    // Restarting into the finished run directory without --resume is refused.
    let again = train_from_config(config, Path::new("tiny.toml"), None, None, Start::Fresh);
    assert!(again.unwrap_err().to_string().contains("--resume"));
    // A missing model directory is a clear error.
    let missing = Translator::load(&dir.path().join("nope"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("nope"), "{missing}");
}

#[test]
fn a_subword_target_model_overfits_and_writes_whole_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config(&dir.path().join("run"));
    config.data.target_subwords = 150;
    // Sentences in pieces are longer: more steps to learn them by heart.
    config.training.max_steps = 600;
    config.training.eval_every = 300;
    let (report, model_dir) =
        train_from_config(config, Path::new("tiny.toml"), None, None, Start::Fresh).unwrap();
    let best = report.state.best.unwrap();
    assert!(
        best.evaluation.score > 95.0,
        "dev BLEU-4 on the training sentences: {}",
        best.evaluation.summary
    );
    // 150 merges leave the rarer words in pieces, so the vocabulary holds continuation pieces.
    let vocab = std::fs::read_to_string(model_dir.join("target_vocab.txt")).unwrap();
    assert!(vocab.lines().any(|t| t.ends_with("@@")), "{vocab}");

    let translator = Translator::load(&model_dir).unwrap();
    let source = translator.tokenize_source("GUT ABEND LIEB ZUSCHAUER poss-EUCH");
    let beam = translator
        .translate_nbest(std::slice::from_ref(&source), translator.default_options())
        .unwrap()
        .remove(0);
    assert_eq!(beam[0].text, "guten abend liebe zuschauer");
    assert_eq!(beam[0].tokens, ["guten", "abend", "liebe", "zuschauer"]);
    // Scoring the words splits them as training did: the beam's own log-probability.
    let scored = translator
        .log_probs(&[source], &[beam[0].tokens.clone()])
        .unwrap()[0]
        .unwrap();
    assert!(
        (scored - beam[0].log_prob).abs() < 1e-3,
        "{scored} vs {}",
        beam[0].log_prob
    );

    // The export carries the merges; without them the folder is refused, naming the file.
    let exported = dir.path().join("exported");
    signscope_slt::translator::export_model(
        &model_dir,
        &exported,
        signscope_nn::checkpoint::Storage::F32,
    )
    .unwrap();
    assert_eq!(
        Translator::load(&exported)
            .unwrap()
            .translate("GUT ABEND LIEB ZUSCHAUER poss-EUCH")
            .unwrap(),
        "guten abend liebe zuschauer"
    );
    std::fs::remove_file(exported.join("target_bpe.txt")).unwrap();
    let err = Translator::load(&exported).err().unwrap().to_string();
    assert!(err.contains("target_bpe.txt"), "{err}");
}

#[test]
fn a_shared_vocabulary_model_with_tied_embeddings_overfits() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config(&dir.path().join("run"));
    config.data.shared_vocabulary = true;
    config.model.tie_source_embedding = true;
    let (report, model_dir) =
        train_from_config(config, Path::new("tiny.toml"), None, None, Start::Fresh).unwrap();
    let best = report.state.best.unwrap();
    assert!(
        best.evaluation.score > 95.0,
        "dev BLEU-4 on the training sentences: {}",
        best.evaluation.summary
    );
    // One vocabulary: the gloss ABEND and the word "abend" are one token, and gloss-only
    // tokens are there lower-cased.
    let read = |name| std::fs::read_to_string(model_dir.join(name)).unwrap();
    let vocab = read("target_vocab.txt");
    assert_eq!(read("source_vocab.txt"), vocab);
    assert_eq!(vocab.lines().filter(|t| *t == "abend").count(), 1);
    assert!(vocab.lines().any(|t| t == "poss-euch"), "{vocab}");
    assert!(!vocab.lines().any(|t| t == "ABEND"), "{vocab}");

    // Glosses are given as written; the translator spells them for its vocabulary.
    let translator = Translator::load(&model_dir).unwrap();
    let source = translator.tokenize_source("GUT ABEND LIEB ZUSCHAUER poss-EUCH");
    assert_eq!(source[0], "GUT");
    let beam = translator
        .translate_nbest(std::slice::from_ref(&source), translator.default_options())
        .unwrap()
        .remove(0);
    assert_eq!(beam[0].text, "guten abend liebe zuschauer");
    let scored = translator
        .log_probs(&[source], &[beam[0].tokens.clone()])
        .unwrap()[0]
        .unwrap();
    assert!((scored - beam[0].log_prob).abs() < 1e-3, "{scored}");

    // A folder whose two vocabulary files disagree is refused, naming the setting.
    std::fs::write(
        model_dir.join("source_vocab.txt"),
        read("source_vocab.txt").replace("poss-euch", "POSS-EUCH"),
    )
    .unwrap();
    let err = Translator::load(&model_dir).err().unwrap().to_string();
    assert!(err.contains("tie_source_embedding"), "{err}");
}

const G2T: &str =
    "[data]\ndataset = \"phoenix2014t\"\ndirection = \"gloss_to_text\"\ntext_level = \"word\"\n";

/// The error of parsing `text` as the configuration file `name`, which must name the file.
fn config_error(text: &str, name: &str) -> String {
    let err = SltConfig::parse(text, Path::new(name))
        .unwrap_err()
        .to_string();
    assert!(err.contains(name), "{err}");
    err
}

#[test]
fn tied_source_embeddings_need_a_shared_vocabulary() {
    let tied = format!("{G2T}[model]\ntie_source_embedding = true\n");
    let err = config_error(&tied, "tied.toml");
    assert!(err.contains("shared_vocabulary"), "{err}");
    let t2g = G2T.replace("gloss_to_text", "text_to_gloss");
    let err = config_error(&format!("{t2g}shared_vocabulary = true\n"), "t2g.toml");
    assert!(err.contains("shared_vocabulary"), "{err}");
    let both = format!("{G2T}shared_vocabulary = true\n[model]\ntie_source_embedding = true\n");
    SltConfig::parse(&both, Path::new("ok.toml")).unwrap();
}

#[test]
fn subwords_and_word_dropout_are_refused_where_they_do_not_apply() {
    let t2g = G2T.replace("gloss_to_text", "text_to_gloss");
    let err = config_error(&format!("{t2g}target_subwords = 100\n"), "t2g.toml");
    assert!(err.contains("target_subwords"), "{err}");
    let err = config_error(&format!("{G2T}source_word_dropout = 1.0\n"), "g2t.toml");
    assert!(err.contains("[0, 1)"), "{err}");
    let err = config_error(&format!("{t2g}source_word_dropout = 0.1\n"), "t2g.toml");
    assert!(err.contains("source_word_dropout"), "{err}");
}

#[test]
fn word_dropout_hides_source_glosses_afresh_each_epoch() {
    use signscope_nn::train::TrainTask;
    use signscope_nn::vocab::{EOS_ID, UNK_ID};
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config(&dir.path().join("run"));
    let data_dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny"));
    let load = |split| signscope_slt::data::load_split(&config.data, data_dir, split).unwrap();
    let (train, dev) = (
        load(signscope_corpus::Split::Train),
        load(signscope_corpus::Split::Dev),
    );
    let device = signscope_nn::cpu_device();
    let clean = signscope_slt::translator::SltTask::new(
        config.clone(),
        &train,
        dev.clone(),
        device.clone(),
    );
    config.data.source_word_dropout = 0.5;
    let dropped = signscope_slt::translator::SltTask::new(config, &train, dev, device);
    let pairs = |task: &signscope_slt::translator::SltTask, epoch| {
        let mut pairs: Vec<_> = task.epoch_batches(epoch, 7).into_iter().flatten().collect();
        pairs.sort_by(|a, b| a.1.cmp(&b.1));
        pairs
    };
    let (reference, first, second) = (pairs(&clean, 1), pairs(&dropped, 1), pairs(&dropped, 2));
    let mut hidden = 0;
    for ((r, a), b) in reference.iter().zip(&first).zip(&second) {
        // Targets, lengths and the final EOS are untouched; a gloss is kept or becomes <unk>.
        assert_eq!(
            (&r.1, r.0.len(), a.0.last()),
            (&a.1, a.0.len(), Some(&EOS_ID))
        );
        for (&kept, &seen) in r.0.iter().zip(&a.0) {
            assert!(seen == kept || seen == UNK_ID);
            hidden += usize::from(seen != kept);
        }
        assert_eq!(b.1, r.1);
    }
    let glosses: usize = reference.iter().map(|r| r.0.len() - 1).sum();
    assert!(
        hidden > glosses / 4 && hidden < 3 * glosses / 4,
        "{hidden} of {glosses}"
    );
    assert_ne!(first, second, "each epoch draws anew");
}
