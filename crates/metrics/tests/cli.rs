//! `signscope score` end to end on small files: parsing, formats, errors, reports.

use clap::Parser;
use signscope_metrics::cli::{ScoreArgs, evaluate, render_text};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    score: ScoreArgs,
}

fn args(list: &[&str]) -> ScoreArgs {
    Cli::try_parse_from(std::iter::once("score").chain(list.iter().copied()))
        .unwrap()
        .score
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn gloss_wer_with_stm_reference_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(
        &dir,
        "ref.stm",
        "s1 1 Signer01 0.0 1.79769e+308 __ON__ REGEN loc-NORD WIND __OFF__\n\
         s2 1 Signer01 0.0 1.79769e+308 MORGEN SONNE\n",
    );
    let hyp = write(&dir, "hyp.txt", "REGEN NORD NORD\r\nMORGEN WOLKE SONNE\r\n");
    let out = evaluate(&args(&[
        "--metric",
        "wer",
        "--cleanup",
        "phoenix2014t",
        "--hyp",
        &hyp,
        "--ref",
        &reference,
        "--per-sentence",
        "1",
    ]))
    .unwrap();
    let wer = out.scores.wer.as_ref().unwrap();
    // s1: REGEN NORD WIND vs REGEN NORD (dup removed) → 1 deletion; s2: 1 insertion.
    assert_eq!(
        (
            wer.counts.deletions,
            wer.counts.insertions,
            wer.counts.reference_len
        ),
        (1, 1, 5)
    );
    assert!((wer.wer - 40.0).abs() < 1e-12);
    assert!(out.scores.bleu.is_none());
    let worst = &out.worst[0].1;
    assert_eq!(worst.len(), 1);
    assert_eq!(worst[0].id.as_deref(), Some("s1"));
    assert!(render_text(&out).contains("S 0 D 1 I 1 / N 5"));
}

#[test]
fn all_metrics_at_char_level_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(&dir, "ref.zh", "他今年四岁。\n我喜欢吃苹果！\n");
    let hyp = write(&dir, "hyp.zh", "他今年五岁。\n我喜欢苹果\n");
    let out = evaluate(&args(&[
        "--level", "char", "--hyp", &hyp, "--ref", &reference,
    ]))
    .unwrap();
    let cer = out.scores.cer.unwrap();
    assert_eq!((cer.distance.edits, cer.distance.reference_len), (3, 13));
    let bleu = out.scores.bleu.as_ref().unwrap();
    assert_eq!(bleu.stats.sys_len, 11);
    assert!(out.scores.rouge.unwrap() > 50.0);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["scores"]["cer"]["edits"], 3);
    assert_eq!(json["options"]["level"], "char");
}

#[test]
fn mismatched_line_counts_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(&dir, "ref.txt", "a b\nc d\n");
    let hyp = write(&dir, "hyp.txt", "a b\n");
    let err = evaluate(&args(&["--hyp", &hyp, "--ref", &reference]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&hyp) && err.contains(&reference), "{err}");
    let missing = evaluate(&args(&["--hyp", "/nonexistent/h.txt", "--ref", &reference]));
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/h.txt")
    );
}

#[test]
fn compare_runs_a_paired_bootstrap_per_metric() {
    let dir = tempfile::tempdir().unwrap();
    let refs: String = (0..40)
        .map(|i| format!("das wetter am tag {i} wird schön\n"))
        .collect();
    let good: String = (0..40)
        .map(|i| format!("das wetter am tag {i} wird schön\n"))
        .collect();
    let bad: String = (0..40).map(|i| format!("wetter tag {i} regen\n")).collect();
    let reference = write(&dir, "ref.txt", &refs);
    let a = write(&dir, "a.txt", &bad);
    let b = write(&dir, "b.txt", &good);
    let out = evaluate(&args(&[
        "--metric",
        "bleu",
        "--metric",
        "wer",
        "--hyp",
        &a,
        "--compare",
        &b,
        "--ref",
        &reference,
        "--bootstrap-samples",
        "200",
    ]))
    .unwrap();
    assert_eq!(out.bootstrap.len(), 2);
    for c in &out.bootstrap {
        assert!(c.result.p_value < 0.05, "{c:?}");
        assert_eq!(c.result.samples, 200);
    }
    assert!(render_text(&out).contains("paired bootstrap"));
}

#[test]
fn empty_files_score_zero_and_compare_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(&dir, "ref.txt", "");
    let hyp = write(&dir, "hyp.txt", "");
    let out = evaluate(&args(&["--hyp", &hyp, "--ref", &reference])).unwrap();
    assert_eq!(out.sentences, 0);
    assert_eq!(out.scores.wer.as_ref().unwrap().wer, 0.0);
    assert_eq!(out.scores.bleu.as_ref().unwrap().bleu4(), 0.0);
    let err = evaluate(&args(&[
        "--hyp",
        &hyp,
        "--compare",
        &hyp,
        "--ref",
        &reference,
    ]));
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("at least one sentence")
    );
}
