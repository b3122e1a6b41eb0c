//! Production on the real lexicons: the 4-sign dummy SGG lexicon in ../shared/data and
//! spoken-to-signed's 600-letter fingerspelling lexicon in .assets (scripts/fetch-assets.sh).

use std::path::PathBuf;
use std::sync::Arc;

use signscope_slp::metrics::sentences_jerk;
use signscope_slp::{
    Fingerspeller, JoinOptions, LanguagePair, Lexicon, LexiconGlosser, Producer, TextToGloss,
};

fn shared_dir() -> PathBuf {
    std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn assets_dir() -> PathBuf {
    std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.assets")))
}

/// The folder, or `None` after a skip line (a failure under CI).
fn require(dir: PathBuf, what: &str) -> Option<PathBuf> {
    if dir.join("index.csv").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{what} not found at {} (run scripts/fetch-assets.sh; shared data must sit beside the checkout)",
            dir.display()
        );
    }
    eprintln!("skipping: {what} not found at {}", dir.display());
    None
}

fn dummy_lexicon() -> Option<PathBuf> {
    require(
        shared_dir().join("data/lexicon/dummy-sgg"),
        "dummy SGG lexicon",
    )
}

fn fingerspelling_lexicon() -> Option<PathBuf> {
    require(
        assets_dir().join(signscope_slp::cli::FINGERSPELLING_SUBDIR),
        "fingerspelling lexicon",
    )
}

const SENTENCES: &str = include_str!("../data/sentences_en.txt");

#[test]
fn dummy_lexicon_sentence_round_trips_through_a_pose_file() {
    let Some(dir) = dummy_lexicon() else { return };
    let lexicon = Arc::new(Lexicon::open(&dir).unwrap());
    let glosser = LexiconGlosser::new(lexicon.clone(), None);
    let producer = Producer::new(lexicon, None);
    let de = LanguagePair::new("de", "sgg");
    let production = producer
        .produce(&glosser, "Kleine Kinder essen Pizza.", &de)
        .unwrap();
    assert!(production.warnings.is_empty(), "{:?}", production.warnings);
    let labels: Vec<&str> = production
        .segments
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels, ["Kleine", "Kinder", "Essen", "Pizza"]);
    assert_eq!(production.joins.len(), 3);
    let pose = &production.pose;
    assert_eq!(pose.header.total_points(), 178);
    // Segments and joins tile the sequence; a final pause follows the last sign.
    assert_eq!(production.segments[0].frames.start, 0);
    for (k, join) in production.joins.iter().enumerate() {
        assert_eq!(production.segments[k].frames.end, join.start);
        assert_eq!(production.segments[k + 1].frames.start, join.end);
    }
    assert!(production.segments[3].frames.end < pose.body.frames());

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("out.pose");
    signscope_pose::write_pose(&path, pose).unwrap();
    let back = signscope_pose::read_pose(&path).unwrap();
    assert_eq!(back.body.frames(), pose.body.frames());
    assert_eq!(back.header.components, pose.header.components);
}

#[test]
fn missing_and_corrupt_entries_are_reported_and_the_rest_is_produced() {
    let Some(dir) = dummy_lexicon() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::remove_file(tmp.path().join("kinder.pose")).unwrap();
    // A truncated body still reads (the reader derives the frame count from the bytes, as
    // pose-format does), so corrupt the header instead.
    std::fs::write(
        tmp.path().join("essen.pose"),
        b"\xff\xff\xff\xffnot a pose file",
    )
    .unwrap();

    let lexicon = Arc::new(Lexicon::open(tmp.path()).unwrap());
    let glosser = LexiconGlosser::new(lexicon.clone(), None);
    let producer = Producer::new(lexicon, None);
    let de = LanguagePair::new("de", "sgg");
    let production = producer
        .produce(&glosser, "kleine kinder essen pizza heute", &de)
        .unwrap();
    let labels: Vec<&str> = production
        .segments
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels, ["Kleine", "Pizza"]);
    let warnings = production.warnings.join("\n");
    assert_eq!(production.warnings.len(), 3, "{warnings}");
    assert!(warnings.contains("heute"), "{warnings}");
    assert!(
        warnings.contains("\"Kinder\"") && warnings.contains("kinder.pose"),
        "{warnings}"
    );
    assert!(warnings.contains("does not exist"), "{warnings}");
    assert!(
        warnings.contains("\"Essen\"") && warnings.contains("essen.pose"),
        "{warnings}"
    );

    // Nothing left to sign is an error that carries the reasons.
    let err = producer
        .produce(&glosser, "kinder heute", &de)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nothing to sign") && err.contains("kinder.pose"),
        "{err}"
    );
    let err = producer.produce(&glosser, "", &de).unwrap_err().to_string();
    assert!(err.contains("nothing to sign"), "{err}");
}

#[test]
fn fingerspelling_lexicon_spells_every_alphabet() {
    let Some(dir) = fingerspelling_lexicon() else {
        return;
    };
    let lexicon = Arc::new(Lexicon::open(&dir).unwrap());
    assert_eq!(lexicon.len(), 626);
    assert!(lexicon.warnings.is_empty(), "{:?}", lexicon.warnings);
    let speller = Fingerspeller::new(lexicon.clone());
    // The fsl rows reuse the ASL files.
    let fsl = speller
        .spell("abc", &LanguagePair::new("fr", "fsl"))
        .unwrap();
    assert!(lexicon.load(fsl[0].1).is_ok());
    let sgg: Vec<String> = speller
        .spell("Schön", &LanguagePair::new("de", "sgg"))
        .unwrap()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(sgg, ["sch", "ö", "n"]);
}

#[test]
fn smoothing_lowers_join_jerk_versus_plain_concatenation() {
    let Some(dir) = fingerspelling_lexicon() else {
        return;
    };
    let lexicon = Arc::new(Lexicon::open(&dir).unwrap());
    let speller = Arc::new(Fingerspeller::new(lexicon.clone()));
    let glosser = LexiconGlosser::new(lexicon.clone(), Some(speller.clone()));
    let en = LanguagePair::new("en", "ase");
    let sentences: Vec<&str> = SENTENCES.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(sentences.len() >= 20);

    let glosser: &dyn TextToGloss = &glosser;
    let mut plain = Producer::new(lexicon.clone(), Some(speller.clone()));
    plain.options = JoinOptions::plain_concatenation();
    let smooth = Producer::new(lexicon, Some(speller));
    let plain = sentences_jerk(&plain, glosser, &sentences, &en).unwrap();
    let smooth = sentences_jerk(&smooth, glosser, &sentences, &en).unwrap();
    eprintln!("plain concatenation: {plain:?}\nsmoothed joins: {smooth:?}");
    assert!(plain.join_samples > 100 && smooth.join_samples > 100);
    assert!(
        smooth.join_mean < plain.join_mean,
        "smoothed join jerk {} >= plain {}",
        smooth.join_mean,
        plain.join_mean
    );
    // At the joins, smoothed motion is no jerkier than plain signing is inside signs.
    assert!(
        smooth.join_mean < plain.inside_mean,
        "{smooth:?} vs {plain:?}"
    );
}
