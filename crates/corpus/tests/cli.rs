//! The CLI end to end on tiny fixtures written into a temporary directory.

use std::path::Path;

use clap::Parser;
use signscope_corpus::cli::{CorpusCommand, run};
use signscope_corpus::{Split, read_manifest};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: CorpusCommand,
}

fn corpus(args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("corpus").chain(args.iter().copied()))?;
    run(cli.command)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A folder corpus of 12 two-turn dialogues whose pose files live in `poses/`.
fn write_folder_corpus(dir: &Path) {
    std::fs::create_dir_all(dir.join("poses")).unwrap();
    let mut csv = String::from("pose,dialogue,turn,role,glosses,text,language,note\n");
    for d in 0..12 {
        for (turn, (glosses, text)) in [
            ("HALLO", "Hallo!"),
            (&*format!("FRAGE X{d}"), &*format!("Frage {d}?")),
        ]
        .into_iter()
        .enumerate()
        {
            let pose = format!("poses/d{d}-t{turn}.pose");
            std::fs::write(dir.join(&pose), b"not read by the importer").unwrap();
            let role = if turn == 0 { "A" } else { "B" };
            csv.push_str(&format!(
                "{pose},d{d},{turn},{role},{glosses},\"{text}\",de,\"a, b\"\n"
            ));
        }
    }
    std::fs::write(dir.join("index.csv"), csv).unwrap();
}

#[test]
fn import_split_vocab_stats() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_folder_corpus(&data);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let manifest = out_dir.join("all.jsonl");
    corpus(&[
        "import",
        "-f",
        "folder",
        path(&data),
        "-o",
        path(&manifest),
        "--context",
        "2",
    ])
    .unwrap();

    let records = read_manifest(&manifest).unwrap();
    assert_eq!(records.len(), 24);
    let second = records.iter().find(|r| r.id == "poses/d3-t1").unwrap();
    // Pose paths are rewritten relative to the manifest's directory.
    assert_eq!(
        second.pose.as_deref(),
        Some(Path::new("../data/poses/d3-t1.pose"))
    );
    assert!(second.resolved_pose(&out_dir).unwrap().is_file());
    assert_eq!(second.glosses, ["FRAGE", "X3"]);
    assert_eq!(second.context, ["Hallo!"]);
    assert_eq!(second.role.as_deref(), Some("B"));
    assert_eq!(second.extra["note"], "a, b");

    let split_manifest = out_dir.join("split.jsonl");
    let report = out_dir.join("report.json");
    corpus(&[
        "split",
        path(&manifest),
        "-o",
        path(&split_manifest),
        "--ratios",
        "50,25,25",
        "--seed",
        "7",
        "--report",
        path(&report),
    ])
    .unwrap();
    let records = read_manifest(&split_manifest).unwrap();
    // All greetings share one split; the dialogues' questions follow the ratios.
    let greeting: Vec<Option<Split>> = records
        .iter()
        .filter(|r| r.glosses == ["HALLO"])
        .map(|r| r.split)
        .collect();
    assert!(greeting.iter().all(|s| *s == greeting[0]));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["records"], 24);
    // The greeting cluster spans most dialogues, so its majority (train) keeps it.
    assert_eq!(greeting[0], Some(Split::Train));
    let held_out: Vec<&str> = records
        .iter()
        .filter(|r| r.split != Some(Split::Train))
        .filter_map(|r| r.text.as_deref())
        .collect();
    assert!(
        records
            .iter()
            .filter(|r| r.split == Some(Split::Train))
            .all(|r| r.context.iter().all(|c| !held_out.contains(&c.as_str())))
    );

    let vocab = out_dir.join("gloss.txt");
    corpus(&[
        "vocab",
        path(&split_manifest),
        "-k",
        "gloss",
        "-o",
        path(&vocab),
        "--specials",
        "<blank>",
    ])
    .unwrap();
    let vocab = std::fs::read_to_string(&vocab).unwrap();
    // Equal counts are ordered by code point.
    assert!(
        vocab.starts_with("<blank>\t0\nFRAGE\t12\nHALLO\t12\nX0\t1\n"),
        "{vocab}"
    );

    corpus(&["stats", path(&split_manifest)]).unwrap();
}

#[test]
fn missing_pose_is_a_clear_error_and_keeps_the_old_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write_folder_corpus(dir.path());
    let manifest = dir.path().join("m.jsonl");
    std::fs::write(&manifest, "{\"id\":\"keep me\"}\n").unwrap();
    std::fs::remove_file(dir.path().join("poses/d5-t1.pose")).unwrap();
    let error = corpus(&[
        "import",
        "-f",
        "folder",
        path(dir.path()),
        "-o",
        path(&manifest),
    ])
    .unwrap_err()
    .to_string();
    // Header is line 1; dialogue 5 turn 1 is data row 12.
    assert!(
        error.contains("index.csv:13:") && error.contains("d5-t1.pose"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "{\"id\":\"keep me\"}\n"
    );
    corpus(&[
        "import",
        "-f",
        "folder",
        path(dir.path()),
        "-o",
        path(&manifest),
        "--no-pose-check",
    ])
    .unwrap();
    assert_eq!(read_manifest(&manifest).unwrap().len(), 24);
}

#[test]
fn confusions_report_files() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.stm");
    let hypothesis = dir.path().join("hyp.txt");
    std::fs::write(
        &reference,
        "a 1 S 0 1 __ON__ WETTER ES-BEDEUTET REGEN\nb 1 S 0 1 HEUTE WARM\nc 1 S 0 1 HEUTE HEISS\n",
    )
    .unwrap();
    std::fs::write(
        &hypothesis,
        "a WETTER ES BEDEUTET REGEN\nb HEUTE HEISS\nc HEUTE WARM\n",
    )
    .unwrap();
    let json = dir.path().join("conf.json");
    let table = dir.path().join("conf.txt");
    let args = [
        "confusions",
        "--hyp",
        path(&hypothesis),
        "--ref",
        path(&reference),
        "--cleanup",
        "phoenix2014t",
        "--min-pair-count",
        "1",
        "--json",
        path(&json),
        "-o",
        path(&table),
    ];
    corpus(&args).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // The cleanup removed __ON__ from the reference, so it is not a deletion.
    assert_eq!(report["errors"]["deletions"], 0);
    assert_eq!(report["splits"][0]["reference"][0], "ES-BEDEUTET");
    assert_eq!(report["synonym_groups"].as_array().unwrap().len(), 1);
    assert!(
        std::fs::read_to_string(&table)
            .unwrap()
            .contains("HEISS (1), WARM (1)")
    );

    std::fs::write(&hypothesis, "a WETTER\n").unwrap();
    let error = corpus(&args).unwrap_err().to_string();
    assert!(
        error.contains("hyp.txt") && error.contains("\"b\""),
        "{error}"
    );
}
