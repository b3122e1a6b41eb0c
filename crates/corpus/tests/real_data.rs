//! Importers against the real annotation files in ../shared/data: every file is read and
//! gives exactly the row counts of shared/data/README.md.

use std::path::PathBuf;

use signscope_corpus::import::{Format, ImportOptions, import};
use signscope_corpus::{Record, Split};

fn shared_data() -> Option<PathBuf> {
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let data = shared.join("data");
    if data.is_dir() {
        return Some(data);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared data not found at {} (set SIGNSCOPE_SHARED to the directory holding data/)",
            data.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", data.display());
    None
}

fn import_dir(format: Format, dir: &str) -> Option<Vec<Record>> {
    let data = shared_data()?;
    Some(import(format, &[data.join(dir)], &ImportOptions::default()).unwrap())
}

fn count(records: &[Record], split: Split) -> usize {
    records.iter().filter(|r| r.split == Some(split)).count()
}

#[test]
fn phoenix_2014t() {
    let Some(records) = import_dir(Format::Phoenix2014T, "phoenix-2014t") else {
        return;
    };
    assert_eq!(count(&records, Split::Train), 7096);
    assert_eq!(count(&records, Split::Dev), 519);
    assert_eq!(records.len(), 7096 + 519);
    let first = records
        .iter()
        .find(|r| r.id == "11August_2010_Wednesday_tagesschau-2")
        .unwrap();
    assert_eq!(first.glosses, ["DRUCK", "TIEF", "KOMMEN"]);
    assert_eq!(
        first.text.as_deref(),
        Some("tiefer luftdruck bestimmt in den nächsten tagen unser wetter")
    );
    assert_eq!(first.signer.as_deref(), Some("Signer08"));
    assert!(
        records
            .iter()
            .all(|r| !r.glosses.is_empty() && r.text.is_some())
    );
}

#[test]
fn phoenix_2014() {
    let Some(records) = import_dir(Format::Phoenix2014, "phoenix-2014") else {
        return;
    };
    assert_eq!(count(&records, Split::Train), 5672);
    assert_eq!(count(&records, Split::Dev), 540);
    assert_eq!(records.len(), 5672 + 540);
    // The double space in this annotation must not produce an empty gloss.
    let r = records
        .iter()
        .find(|r| r.id == "01April_2010_Thursday_heute_default-1")
        .unwrap();
    assert_eq!(r.glosses.len(), 10);
    assert!(
        records
            .iter()
            .all(|r| r.text.is_none() && !r.glosses.is_empty())
    );
}

#[test]
fn csl_daily() {
    let Some(records) = import_dir(Format::CslDaily, "csl-daily") else {
        return;
    };
    assert_eq!(count(&records, Split::Train), 18401);
    assert_eq!(count(&records, Split::Dev), 1077);
    // Literal ASCII quotes inside fields are text, not CSV quoting.
    let quoted = records
        .iter()
        .find(|r| r.id == "S001686_P0000_T00")
        .unwrap();
    assert!(quoted.extra["text_en_cico"].contains("\"Chinese -style crossing road\""));
    assert_eq!(
        quoted.text.as_deref(),
        Some("过街走斑马线，不闯红灯，抵制“中国式过马路”从我做起。")
    );
    let with_word = |split| {
        records
            .iter()
            .filter(|r| r.split == Some(split) && r.extra.contains_key("word"))
            .count()
    };
    assert_eq!(with_word(Split::Dev), 1077);
    assert_eq!(with_word(Split::Train), 13324);
    assert!(
        records
            .iter()
            .filter(|r| r.split == Some(Split::Dev))
            .all(|r| !r.extra.contains_key("text_en_cico"))
    );
}

#[test]
fn how2sign() {
    let Some(records) = import_dir(Format::How2Sign, "how2sign") else {
        return;
    };
    assert_eq!(count(&records, Split::Dev), 1741);
    assert_eq!(records.len(), 1741);
    // `""` inside a quoted field is one quote character.
    assert!(records.iter().any(|r| {
        r.text
            .as_deref()
            .is_some_and(|t| t.contains("an \"i\" you're"))
    }));
    let clip: Vec<&Record> = records
        .iter()
        .filter(|r| r.dialogue.as_deref() == Some("0pKzG0RRUz4-1-rgb_front"))
        .collect();
    assert_eq!(clip.len(), 9);
    let mut turns: Vec<u32> = clip.iter().map(|r| r.turn.unwrap()).collect();
    turns.sort();
    assert_eq!(turns, (0..9).collect::<Vec<_>>());
}

#[test]
fn aslg() {
    let Some(records) = import_dir(Format::Aslg, "aslg-pc12") else {
        return;
    };
    assert_eq!(count(&records, Split::Dev), 4000);
    assert_eq!(records.len(), 4000);
    assert_eq!(records[1].glosses, ["NEXT", "ITEM", "BE", "VOTE", "."]);
    assert_eq!(
        records[1].text.as_deref(),
        Some("the next item is the vote .")
    );
}

#[test]
fn lexicon_folder_with_wrong_pose_paths_is_reported() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("lexicon/dummy-sgg");
    // index.csv says `sgg/kleine.pose` but the copy keeps the files at the top level.
    let error = import(
        Format::Folder,
        std::slice::from_ref(&dir),
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("index.csv:2:")
            && error.contains("sgg/kleine.pose")
            && error.contains("does not exist"),
        "{error}"
    );

    let text_only = ImportOptions {
        check_poses: false,
        ..ImportOptions::default()
    };
    let records = import(Format::Folder, &[dir], &text_only).unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].glosses, ["Kleine"]);
    assert_eq!(records[0].text.as_deref(), Some("kleine"));
    assert_eq!(records[0].language.as_deref(), Some("de"));
    assert_eq!(records[0].sign_language.as_deref(), Some("sgg"));
    // end = 0 means the whole file
    assert!(records[0].frames.is_none() && records[0].seconds.is_none());
    assert_eq!(records[0].extra["priority"], "0");
}
