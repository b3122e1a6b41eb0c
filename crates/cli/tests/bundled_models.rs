//! The committed models under models/ work through the binary: gloss→text
//! translation by default, text→gloss inside `produce`, text correction after translation,
//! and reranking by the text→gloss model scores on the real dev set as models/README.md says.

mod common;

use std::path::Path;

use common::{refused, repo, run_ok as signscope, stdout};

#[test]
fn default_translator_turns_weather_glosses_into_german() {
    // A PHOENIX-2014T dev sentence's glosses (dev record 07July_2011_Thursday_heute-6357).
    let out = signscope(&["translate", "--glosses", "MORGEN REGEN"]);
    let text = stdout(&out);
    assert!(
        text.contains("morgen") && (text.contains("regen") || text.contains("regnet")),
        "{text}"
    );
    // Two hypotheses: a word salad loses to the plausible one.
    let out = signscope(&[
        "translate",
        "--glosses",
        "REGEN FLUSS DREI ZUSCHAUER GRAD LIEB",
        "--hyp",
        "MORGEN REGEN",
        "--verbose",
    ]);
    assert!(stdout(&out).contains("morgen"), "{}", stdout(&out));
    // A bare name that is no folder here names a committed model.
    let out = signscope(&[
        "translate",
        "--glosses",
        "MORGEN REGEN",
        "--model",
        "phoenix2014t_g2t",
    ]);
    assert!(stdout(&out).contains("morgen"), "{}", stdout(&out));
    let msg = refused(&[
        "translate",
        "--glosses",
        "MORGEN",
        "--model",
        "no_such_model",
    ]);
    assert!(msg.contains("bundled model no_such_model"), "{msg}");
}

#[test]
fn corrector_fixes_scrambled_german_and_leaves_good_text() {
    let out = signscope(&[
        "correct",
        "--model",
        "models/phoenix2014t_correction",
        "und morgen regen im süden",
        "morgen im süden regen",
    ]);
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("süden")), "{lines:?}");
}

#[test]
fn produce_glosses_text_with_the_trained_model() {
    let dir = tempfile::tempdir().unwrap();
    let out_pose = dir.path().join("out.pose");
    let output = signscope(&[
        "produce",
        "Morgen regnet es im Süden.",
        "--t2g",
        "models/phoenix2014t_t2g",
        "--lexicon",
        "../shared/data/lexicon/dummy-sgg",
        "--spoken-language",
        "de",
        "--out",
        out_pose.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&output.stderr);
    // The model's glosses are upper-case PHOENIX glosses, e.g. "MORGEN REGEN SUED".
    assert!(log.contains("MORGEN"), "{log}");
    assert!(std::fs::metadata(&out_pose).unwrap().len() > 1000);

    // A translation model cannot stand in for the text→gloss one.
    let msg = refused(&[
        "produce",
        "Morgen",
        "--t2g",
        "models/phoenix2014t_g2t",
        "--out",
        out_pose.to_str().unwrap(),
    ]);
    assert!(msg.contains("text_to_gloss"), "{msg}");
}

fn figure(line: &str, name: &str) -> f64 {
    let rest = &line[line
        .find(name)
        .unwrap_or_else(|| panic!("{name} in {line}"))
        + name.len()..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn reconstruction_reranking_on_the_real_dev_set() {
    // models/README.md: the g2t model's beam-8 output, reranked with the t2g model, gains
    // about one ROUGE-L point on PHOENIX-2014T dev (47.88 against 47.00 at weight 0.25);
    // MBR and the gated text correction are scored from the same n-best lists.
    let out = signscope(&[
        "eval",
        "slt",
        "--model",
        "models/phoenix2014t_g2t",
        "--beam",
        "8",
        "--rerank",
        "models/phoenix2014t_t2g",
        "--rerank-weights",
        "0,0.25",
        "--mbr-temperatures",
        "0.1",
        "--correct",
        "models/phoenix2014t_correction",
    ]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("(519 sentences)"), "{text}");
    let plain = lines[0];
    let unweighted = lines.iter().find(|l| l.contains("(weight 0)")).unwrap();
    let reranked = lines.iter().find(|l| l.contains("(weight 0.25)")).unwrap();
    for metric in ["BLEU-4", "ROUGE-L"] {
        assert_eq!(figure(plain, metric), figure(unweighted, metric), "{text}");
    }
    assert!(
        figure(reranked, "ROUGE-L") > figure(plain, "ROUGE-L") + 0.5,
        "{text}"
    );
    assert!(figure(reranked, "BLEU-4") > 22.0, "{text}");
    assert!(text.contains("2-fold cross-validation"), "{text}");
    let mbr = lines
        .iter()
        .find(|l| l.contains("(weight 0.25, MBR temperature 0.1)"))
        .unwrap();
    assert!(figure(mbr, "BLEU-4") > 22.0, "{text}");
    // The correction model, applied to every sentence, costs BLEU; offered as one more n-best
    // candidate it is taken only where the translator's own selection prefers it.
    let corrected = lines
        .iter()
        .find(|l| l.contains("+ text correction models/"))
        .unwrap();
    let gated = lines
        .iter()
        .find(|l| l.contains("text correction as an n-best candidate"))
        .unwrap();
    assert!(
        figure(gated, "BLEU-4") >= figure(corrected, "BLEU-4"),
        "{text}"
    );

    let out = signscope(&[
        "translate",
        "--glosses",
        "MORGEN REGEN",
        "--rerank",
        "models/phoenix2014t_t2g",
    ]);
    assert!(stdout(&out).contains("morgen"), "{}", stdout(&out));
    let out = signscope(&[
        "translate",
        "--glosses",
        "MORGEN REGEN",
        "--mbr-temperature",
        "0.1",
    ]);
    assert!(stdout(&out).contains("morgen"), "{}", stdout(&out));
}

#[test]
fn chinese_translator_on_the_real_csl_daily_dev_set() {
    // models/README.md: the committed CSL-Daily model scores BLEU-4 24.00 per character on
    // the 1,077 dev sentences; its glosses are spelled as characters of its one vocabulary.
    let out = signscope(&["eval", "slt", "--model", "csl_daily_g2t"]);
    let text = stdout(&out);
    assert!(text.contains("(1077 sentences)"), "{text}");
    assert!(figure(&text, "BLEU-4") > 23.0, "{text}");
    assert!(figure(&text, "ROUGE-L") > 57.0, "{text}");
    // With the seed-8 model as a second ensemble member: 24.82 / 58.99.
    let out = signscope(&[
        "eval",
        "slt",
        "--model",
        "csl_daily_g2t",
        "--ensemble",
        "csl_daily_g2t_seed8",
    ]);
    let ensembled = stdout(&out);
    assert!(
        figure(&ensembled, "BLEU-4") > figure(&text, "BLEU-4") + 0.4,
        "{ensembled}"
    );
    assert!(
        figure(&ensembled, "ROUGE-L") > figure(&text, "ROUGE-L") + 0.4,
        "{ensembled}"
    );
    let out = signscope(&[
        "translate",
        "--model",
        "csl_daily_g2t",
        "--glosses",
        "你们 好",
    ]);
    assert!(stdout(&out).contains("你们好"), "{}", stdout(&out));
    // The text → gloss model writes CSL-Daily glosses for Chinese text.
    let out = signscope(&["eval", "t2g", "--model", "csl_daily_t2g"]);
    assert!(figure(&stdout(&out), "BLEU-4") > 13.0, "{}", stdout(&out));
}

#[test]
fn augment_back_translates_a_real_split_into_a_training_manifest() {
    // `signscope augment` with the committed text → gloss model over PHOENIX-2014T dev (the
    // train split takes 45 s in release): each sentence's real text with the model's glosses,
    // unless they equal the real glosses.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt.jsonl");
    let out_arg = out.to_str().unwrap();
    let args = [
        "augment",
        "--model",
        "models/phoenix2014t_t2g",
        "--split",
        "dev",
        "--out",
        out_arg,
    ];
    let done = signscope(&args);
    assert!(
        stdout(&done).contains("synthetic pairs"),
        "{}",
        stdout(&done)
    );
    let records = signscope_corpus::read_manifest(&out).unwrap();
    let dev = signscope_corpus::import::phoenix_2014t(
        &repo().join("../shared/data/phoenix-2014t/PHOENIX-2014-T.dev.corpus.csv"),
        None,
    )
    .unwrap();
    let log = String::from_utf8_lossy(&done.stderr).into_owned();
    let left_out: usize = log
        .split(" synthetic pairs (")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(records.len() + left_out, dev.len(), "{log}");
    assert!(records.len() > dev.len() / 2, "{log}");
    for record in &records {
        let id = record.id.rsplit(':').next().unwrap();
        let real = dev.iter().find(|r| r.id == id).unwrap();
        let real_text = real.text.as_deref().unwrap().to_lowercase();
        let words: Vec<&str> = real_text.split_whitespace().collect();
        assert_eq!(record.text.as_deref(), Some(words.join(" ").as_str()));
        assert!(!record.glosses.is_empty() && record.glosses != real.glosses);
        assert_eq!(record.extra["synthetic"], "backward");
    }
    // A model named twice, or a missing one, is refused, naming it.
    let twice = refused(&[
        "augment",
        "--model",
        "models/phoenix2014t_t2g,models/phoenix2014t_t2g",
        "--out",
        out_arg,
    ]);
    assert!(twice.contains("named twice"), "{twice}");
    let missing = refused(&[
        "augment",
        "--model",
        "models/no_such_model",
        "--out",
        out_arg,
    ]);
    assert!(missing.contains("no_such_model"), "{missing}");
}

#[test]
fn committed_models_stay_under_50_megabytes() {
    // The developers' guide caps the committed models at 50 MB in all (models/README.md
    // lists each folder's size).
    fn bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    bytes(&entry.path())
                } else {
                    meta.len()
                }
            })
            .sum()
    }
    let total = bytes(&repo().join("models"));
    assert!(total > 10_000_000, "models/ holds only {total} bytes");
    assert!(total < 50_000_000, "models/ holds {total} bytes");
}
