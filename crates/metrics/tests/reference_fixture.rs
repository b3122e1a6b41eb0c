//! Our scorers against the numbers the Python reference implementations gave on the same
//! inputs (tests/fixtures, built by scripts/make_fixture.py; see its header for versions).
//! The bar is |difference| ≤ 0.01; we hold ourselves to `TOL` = 1e-6 on corpus
//! scores and exact equality on counts, since the ports are meant to be exact.

use std::path::{Path, PathBuf};

use serde_json::Value;
use signscope_metrics::bleu::{
    BleuConfig, BleuStats, BleuVariant, Tokenizer, tokenize_13a, tokenize_zh,
};
use signscope_metrics::bootstrap::paired_bootstrap;
use signscope_metrics::cer::{corpus_cer, corpus_wer_uniform};
use signscope_metrics::io::{read_lines, read_stm};
use signscope_metrics::rouge::{RougeVariant, corpus_rouge, mscoco_sentence, twostream_sentence};
use signscope_metrics::text::char_level;
use signscope_metrics::{Cleanup, EditCounts, corpus_bleu, corpus_wer};

const TOL: f64 = 1e-6;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `../shared/data`, or None (skip) when absent outside CI.
fn shared_data() -> Option<PathBuf> {
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let data = shared.join("data");
    if data.is_dir() {
        return Some(data);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "shared data not found at {}; set SIGNSCOPE_SHARED",
            data.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", data.display());
    None
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u(x) as usize)
        .collect()
}

fn close(what: &str, ours: f64, expected: f64) {
    assert!(
        (ours - expected).abs() <= TOL,
        "{what}: ours {ours} vs reference {expected}"
    );
}

fn read_reference(data: &Path, spec: &Value) -> Vec<String> {
    let path = data.join(spec["file"].as_str().unwrap());
    if spec.get("stm").is_some() {
        return read_stm(&path)
            .unwrap()
            .into_iter()
            .map(|s| s.text)
            .collect();
    }
    let sep = spec["sep"].as_str().unwrap();
    let lines = read_lines(&path).unwrap();
    let header: Vec<&str> = lines[0].split(sep).collect();
    let column = spec["column"].as_str().unwrap();
    let k = header.iter().position(|h| *h == column).unwrap();
    lines[1..]
        .iter()
        .map(|l| l.split(sep).nth(k).unwrap().to_owned())
        .collect()
}

fn check_bleu(what: &str, ours: &signscope_metrics::BleuScore, expected: &Value) {
    for n in 0..4 {
        close(
            &format!("{what} BLEU-{}", n + 1),
            ours.bleu[n],
            f(&expected["bleu"][n]),
        );
        close(
            &format!("{what} precision {}", n + 1),
            ours.precisions[n],
            f(&expected["precisions"][n]),
        );
    }
    close(
        &format!("{what} BP"),
        ours.brevity_penalty,
        f(&expected["bp"]),
    );
    assert_eq!(
        ours.stats.sys_len,
        u(&expected["sys_len"]),
        "{what} sys_len"
    );
    assert_eq!(
        ours.stats.ref_len,
        u(&expected["ref_len"]),
        "{what} ref_len"
    );
    if let Some(correct) = expected.get("correct") {
        for n in 0..4 {
            assert_eq!(ours.stats.correct[n], u(&correct[n]), "{what} correct {n}");
            assert_eq!(
                ours.stats.total[n],
                u(&expected["total"][n]),
                "{what} total {n}"
            );
        }
    }
}

fn check_wer(what: &str, hyps: &[String], refs: &[String], expected: &Value) {
    let report = corpus_wer(hyps, refs);
    close(&format!("{what} WER"), report.wer(), f(&expected["wer"]));
    let t = report.total;
    assert_eq!(
        (t.substitutions, t.deletions, t.insertions, t.reference_len),
        (
            u(&expected["sub"]) as usize,
            u(&expected["del"]) as usize,
            u(&expected["ins"]) as usize,
            u(&expected["ref_len"]) as usize
        ),
        "{what} S/D/I/N"
    );
    for (i, (ours, theirs)) in report
        .sentences
        .iter()
        .zip(expected["sentences"].as_array().unwrap())
        .enumerate()
    {
        let theirs = usizes(theirs);
        assert_eq!(
            [
                ours.substitutions,
                ours.deletions,
                ours.insertions,
                ours.reference_len
            ],
            theirs[..],
            "{what} sentence {i}: ref {:?} hyp {:?}",
            refs[i],
            hyps[i]
        );
    }
}

/// jiwer skips nothing but refuses empty references; the script dropped those pairs.
fn check_jiwer(what: &str, hyps: &[String], refs: &[String], expected: &Value) {
    let (h, r): (Vec<&str>, Vec<&str>) = hyps
        .iter()
        .zip(refs)
        .filter(|(_, r)| !r.trim().is_empty())
        .map(|(h, r)| (h.as_str(), r.as_str()))
        .unzip();
    assert_eq!(h.len() as u64, u(&expected["pairs"]), "{what} jiwer pairs");
    close(
        &format!("{what} jiwer wer"),
        corpus_wer_uniform(&h, &r).rate,
        f(&expected["wer"]),
    );
    close(
        &format!("{what} jiwer cer"),
        corpus_cer(&h, &r).rate,
        f(&expected["cer"]),
    );
}

fn check_mscoco(what: &str, hyps: &[String], refs: &[String], expected: &Value) {
    let report = corpus_rouge(hyps, refs, RougeVariant::Mscoco, false);
    close(
        &format!("{what} ROUGE-L mscoco"),
        report.rouge_l,
        f(&expected["rouge"]),
    );
    for (i, (ours, theirs)) in report
        .sentences
        .iter()
        .zip(expected["sentences"].as_array().unwrap())
        .enumerate()
    {
        assert!(
            (ours - f(theirs)).abs() < 1e-12,
            "{what} ROUGE sentence {i}: {ours} vs {theirs}"
        );
    }
}

#[test]
fn real_dev_sets_match_reference_scorers() {
    let Some(data) = shared_data() else { return };
    let expected = load("expected.json");
    for (name, case) in expected["cases"].as_object().unwrap() {
        let refs = read_reference(&data, &case["ref"]);
        let hyps = read_lines(&fixtures().join(case["hyp"].as_str().unwrap())).unwrap();
        assert_eq!(
            hyps.len(),
            refs.len(),
            "{name}: fixture and shared data disagree in length"
        );
        let char_level_case = case["level"] == "char";

        if let Some(cleanup) = case.get("cleanup") {
            let cleanup = match cleanup.as_str().unwrap() {
                "phoenix2014" => Cleanup::Phoenix2014,
                "phoenix2014t" => Cleanup::Phoenix2014t,
                _ => Cleanup::None,
            };
            let h: Vec<String> = hyps.iter().map(|l| cleanup.apply(l)).collect();
            let r: Vec<String> = refs.iter().map(|l| cleanup.apply(l)).collect();
            check_wer(name, &h, &r, &case["wer_sclite"]);
            check_jiwer(name, &h, &r, &case["jiwer"]);
            continue;
        }

        let signjoey = BleuConfig {
            char_level: char_level_case,
            ..BleuConfig::signjoey()
        };
        check_bleu(
            &format!("{name} signjoey"),
            &corpus_bleu(&hyps, &refs, &signjoey),
            &case["bleu_signjoey"],
        );
        close(
            &format!("{name} sacrebleu 1.4.2 .score"),
            corpus_bleu(&hyps, &refs, &signjoey).bleu4(),
            f(&case["bleu_signjoey"]["score"]),
        );
        for (key, tokenizer) in [
            ("sacrebleu2_13a", Tokenizer::Tok13a),
            ("sacrebleu2_zh", Tokenizer::Zh),
        ] {
            if let Some(exp) = case.get(key) {
                let config = BleuConfig {
                    variant: BleuVariant::Sacrebleu2,
                    tokenizer,
                    ..Default::default()
                };
                check_bleu(
                    &format!("{name} {key}"),
                    &corpus_bleu(&hyps, &refs, &config),
                    exp,
                );
            }
        }
        if char_level_case {
            let h: Vec<String> = hyps.iter().map(|s| char_level(s)).collect();
            let r: Vec<String> = refs.iter().map(|s| char_level(s)).collect();
            check_mscoco(name, &h, &r, &case["rouge_mscoco"]);
        } else {
            check_mscoco(name, &hyps, &refs, &case["rouge_mscoco"]);
            check_wer(name, &hyps, &refs, &case["wer_sclite"]);
        }
        let twostream = corpus_rouge(&hyps, &refs, RougeVariant::TwoStream, char_level_case);
        close(
            &format!("{name} ROUGE-L TwoStream"),
            twostream.rouge_l,
            f(&case["rouge_twostream"]),
        );
        check_jiwer(name, &hyps, &refs, &case["jiwer"]);
    }
}

fn fnv1a64(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[test]
fn phoenix_cleanup_matches_python_on_every_real_line() {
    let Some(data) = shared_data() else { return };
    let fixture = load("cleanup.json");
    for entry in fixture["files"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let lines: Vec<String> = match entry["kind"].as_str().unwrap() {
            "stm" => read_stm(&data.join(file))
                .unwrap()
                .into_iter()
                .map(|s| s.text)
                .collect(),
            "fixture" => read_lines(&fixtures().join(file)).unwrap(),
            column => read_reference(
                &data,
                &serde_json::json!({"file": file, "column": column, "sep": "|"}),
            ),
        };
        let cleanup = if entry["cleanup"] == "phoenix2014" {
            Cleanup::Phoenix2014
        } else {
            Cleanup::Phoenix2014t
        };
        for pair in entry["sample"].as_array().unwrap() {
            assert_eq!(
                cleanup.apply(pair[0].as_str().unwrap()),
                pair[1].as_str().unwrap(),
                "{file} {cleanup:?}"
            );
        }
        assert_eq!(lines.len() as u64, u(&entry["lines"]), "{file}");
        let outputs: Vec<String> = lines.iter().map(|l| cleanup.apply(l)).collect();
        let changed = lines.iter().zip(&outputs).filter(|(a, b)| a != b).count();
        assert_eq!(
            changed as u64,
            u(&entry["changed"]),
            "{file} {cleanup:?}: lines changed"
        );
        assert_eq!(
            fnv1a64(&outputs.join("\n")),
            entry["fnv1a64"].as_str().unwrap(),
            "{file} {cleanup:?}"
        );
    }
}

#[test]
fn paired_bootstrap_reproduces_sacrebleu() {
    let Some(data) = shared_data() else { return };
    let expected = load("expected.json");
    let pb = &expected["paired_bootstrap"];
    let case = &expected["cases"][pb["baseline"].as_str().unwrap()];
    let refs = read_reference(&data, &case["ref"]);
    let read = |k: &str| {
        read_lines(&fixtures().join(format!("hyp/{}.txt", pb[k].as_str().unwrap()))).unwrap()
    };
    let (base, system) = (read("baseline"), read("system"));
    let config = BleuConfig::sacrebleu2();
    let stats = |hyps: &[String]| -> Vec<BleuStats> {
        hyps.iter()
            .zip(&refs)
            .map(|(h, r)| config.sentence_stats(h, r))
            .collect()
    };
    let samples = u(&pb["samples"]) as usize;
    let r = paired_bootstrap(
        &stats(&base),
        &stats(&system),
        |s| config.variant.compute(s).bleu4(),
        samples,
        12345,
    );
    close("baseline score", r.baseline_score, f(&pb["baseline_score"]));
    close("system score", r.system_score, f(&pb["system_score"]));
    // Same resamples (numpy PCG64 port, seed 12345); sacrebleu sums float32 statistics,
    // which moves its precisions in the 7th digit, hence 1e-6 rather than exact.
    eprintln!("ours {r:?}\nsacrebleu {pb}");
    let near = |a: f64, b: &Value| (a - f(b)).abs() < 1e-6;
    assert!(near(r.baseline_mean, &pb["baseline_mean"]), "{r:?} vs {pb}");
    assert!(near(r.system_mean, &pb["system_mean"]), "{r:?} vs {pb}");
    assert!(near(r.baseline_ci, &pb["baseline_ci"]), "{r:?} vs {pb}");
    assert!(near(r.system_ci, &pb["system_ci"]), "{r:?} vs {pb}");
    assert!(
        near(r.p_value, &pb["p_value"]),
        "ours {r:?} vs sacrebleu {pb}"
    );
}

#[test]
fn edge_cases_match_reference_scorers() {
    // Self-contained: needs no shared data.
    let edge = load("edge.json");
    let pairs: Vec<(String, String)> = edge["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let hyps: Vec<String> = pairs.iter().map(|p| p.0.clone()).collect();
    let refs: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect();
    for (i, ((h, r), exp)) in pairs
        .iter()
        .zip(edge["sentences"].as_array().unwrap())
        .enumerate()
    {
        let rt: Vec<&str> = r.split_whitespace().collect();
        let ht: Vec<&str> = h.split_whitespace().collect();
        let ops = signscope_metrics::align(&rt, &ht);
        let codes: Vec<String> = ops.iter().map(|o| o.code().to_string()).collect();
        let expected_codes: Vec<String> = exp["alignment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(codes, expected_codes, "pair {i} alignment");
        let c = EditCounts::from_ops(&ops);
        let w = usizes(&exp["wer"]);
        assert_eq!(
            [c.substitutions, c.deletions, c.insertions, c.reference_len],
            w[..],
            "pair {i}"
        );
        close(
            &format!("pair {i} mscoco"),
            mscoco_sentence(h, r, 1.2),
            f(&exp["rouge_mscoco"]),
        );
        close(
            &format!("pair {i} twostream word"),
            twostream_sentence(h, r, false),
            f(&exp["rouge_twostream_word"]),
        );
        close(
            &format!("pair {i} twostream char"),
            twostream_sentence(h, r, true),
            f(&exp["rouge_twostream_char"]),
        );
    }
    check_bleu(
        "edge signjoey word",
        &corpus_bleu(&hyps, &refs, &BleuConfig::signjoey()),
        &edge["bleu_signjoey_word"],
    );
    let char_config = BleuConfig {
        char_level: true,
        ..BleuConfig::signjoey()
    };
    check_bleu(
        "edge signjoey char",
        &corpus_bleu(&hyps, &refs, &char_config),
        &edge["bleu_signjoey_char"],
    );
    check_bleu(
        "edge sacrebleu2 13a",
        &corpus_bleu(&hyps, &refs, &BleuConfig::sacrebleu2()),
        &edge["sacrebleu2_13a"],
    );
    let zh = BleuConfig {
        tokenizer: Tokenizer::Zh,
        ..BleuConfig::sacrebleu2()
    };
    check_bleu(
        "edge sacrebleu2 zh",
        &corpus_bleu(&hyps, &refs, &zh),
        &edge["sacrebleu2_zh"],
    );
    let all: Vec<&String> = hyps.iter().chain(&refs).collect();
    for (line, expected) in all.iter().zip(edge["tokenized_13a"].as_array().unwrap()) {
        assert_eq!(
            tokenize_13a(line),
            expected.as_str().unwrap(),
            "13a of {line:?}"
        );
    }
    for (line, expected) in all.iter().zip(edge["tokenized_zh"].as_array().unwrap()) {
        assert_eq!(
            tokenize_zh(line),
            expected.as_str().unwrap(),
            "zh of {line:?}"
        );
    }
    check_jiwer("edge", &hyps, &refs, &edge["jiwer"]);
}
