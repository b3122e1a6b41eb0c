//! Wrist jerk at the joins vs inside signs, for several joining configurations, on the real
//! lexicons: the fingerspelling lexicon (22 spelled English sentences, data/sentences_en.txt)
//! and the dummy SGG lexicon (24 orderings of its 4 signs).
//!
//!     cargo run --release -p signscope-slp --example join_jerk
use std::path::PathBuf;
use std::sync::Arc;

use signscope_slp::metrics::{JerkReport, sentences_jerk};
use signscope_slp::{
    Fingerspeller, JoinMethod, JoinOptions, LanguagePair, Lexicon, LexiconGlosser, Producer,
    Smoothing, Transition,
};

fn configurations() -> Vec<(&'static str, JoinOptions)> {
    let base = JoinOptions::default();
    vec![
        ("plain concatenation", JoinOptions::plain_concatenation()),
        (
            "concatenation + filtfilt",
            JoinOptions {
                method: JoinMethod::Concatenate,
                ..base.clone()
            },
        ),
        (
            "best frames, linear, no filter",
            JoinOptions {
                transition: Transition::Linear,
                smoothing: None,
                ..base.clone()
            },
        ),
        (
            "best frames, Hermite, no filter",
            JoinOptions {
                smoothing: None,
                ..base.clone()
            },
        ),
        (
            "best frames, linear + filtfilt",
            JoinOptions {
                transition: Transition::Linear,
                ..base.clone()
            },
        ),
        ("best frames, Hermite + filtfilt (default)", base.clone()),
        (
            "default, 4 Hz filter",
            JoinOptions {
                smoothing: Some(Smoothing {
                    cutoff_hz: 4.0,
                    order: 4,
                }),
                ..base
            },
        ),
    ]
}

fn report(
    title: &str,
    lexicon: Arc<Lexicon>,
    speller: Option<Arc<Fingerspeller>>,
    sentences: &[&str],
    languages: &LanguagePair,
) {
    println!("\n{title}: {} sentences", sentences.len());
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:>8}",
        "configuration", "join jerk", "inside jerk", "join n", "inside n"
    );
    let glosser = LexiconGlosser::new(lexicon.clone(), speller.clone());
    for (name, options) in configurations() {
        let mut producer = Producer::new(lexicon.clone(), speller.clone());
        producer.options = options;
        let r: JerkReport =
            sentences_jerk(&producer, &glosser, sentences, languages).expect("sentences produce");
        println!(
            "{name:<44} {:>12.0} {:>12.0} {:>8} {:>8}",
            r.join_mean, r.inside_mean, r.join_samples, r.inside_samples
        );
    }
}

fn main() {
    println!("wrist jerk: mean |d³p/dt³| in shoulder widths / s³ (join = within 0.12 s of a join)");
    let fs_dir = signscope_slp::cli::default_fingerspelling_lexicon().unwrap_or_default();
    if fs_dir.join("index.csv").is_file() {
        let lexicon = Arc::new(Lexicon::open(&fs_dir).expect("fingerspelling lexicon"));
        let speller = Arc::new(Fingerspeller::new(lexicon.clone()));
        let text = include_str!("../data/sentences_en.txt");
        let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        report(
            "fingerspelling lexicon (en→ase)",
            lexicon,
            Some(speller),
            &sentences,
            &LanguagePair::new("en", "ase"),
        );
    } else {
        println!(
            "fingerspelling lexicon missing at {} (scripts/fetch-assets.sh)",
            fs_dir.display()
        );
    }

    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dummy = shared.join("data/lexicon/dummy-sgg");
    if dummy.join("index.csv").is_file() {
        let lexicon = Arc::new(Lexicon::open(&dummy).expect("dummy lexicon"));
        let words = ["kleine", "kinder", "essen", "pizza"];
        let mut orders = Vec::new();
        for a in 0..4 {
            for b in 0..4 {
                for c in 0..4 {
                    let d = 6 - a - b - c;
                    if a != b && b != c && a != c && d < 4 && d != a && d != b && d != c {
                        orders.push(format!(
                            "{} {} {} {}",
                            words[a], words[b], words[c], words[d]
                        ));
                    }
                }
            }
        }
        let sentences: Vec<&str> = orders.iter().map(String::as_str).collect();
        report(
            "dummy SGG lexicon (de→sgg)",
            lexicon,
            None,
            &sentences,
            &LanguagePair::new("de", "sgg"),
        );
    } else {
        println!("dummy lexicon missing at {}", dummy.display());
    }
}
