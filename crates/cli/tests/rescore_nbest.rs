//! `signscope rescore-nbest` through the binary, on a hand-written n-best file whose LLM
//! scores are already in place (scoring them needs the Gemma asset: see the lora tests).

use std::process::Command;

fn nbest_line(reference: &str, wrong: &str, scored: bool) -> String {
    let llm = |v: f64| {
        if scored {
            format!(", \"llm_log_prob\": {v}, \"llm_tokens\": 5")
        } else {
            String::new()
        }
    };
    format!(
        "{{\"id\": \"{reference}\", \"text_level\": \"word\", \"glosses\": [\"X\"], \"reference\": \"{reference}\", \"candidates\": [\
         {{\"text\": \"{wrong}\", \"log_prob\": -1.0, \"score\": -0.2, \"reconstruction\": -3.0{}}}, \
         {{\"text\": \"{reference}\", \"log_prob\": -1.5, \"score\": -0.3, \"reconstruction\": -1.0{}}}]}}\n",
        llm(-30.0),
        llm(-5.0)
    )
}

#[test]
fn rescore_nbest_sweeps_scored_lists_and_refuses_unscored_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = [
        (
            "der wind weht schwach aus west",
            "der wind weht kräftig aus west",
        ),
        ("morgen regnet es im norden", "morgen schneit es im norden"),
        (
            "am tag scheint oft die sonne",
            "am tag scheint oft der mond",
        ),
        ("in der nacht wird es kalt", "in der nacht wird es warm"),
    ];
    let write = |name: &str, scored: bool| {
        let path = dir.path().join(name);
        let text: String = pairs
            .iter()
            .map(|(r, w)| nbest_line(r, w, scored))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    let scored = write("scored.jsonl", true);
    let hyp = dir.path().join("hyp.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_signscope"))
        .args(["rescore-nbest"])
        .arg(&scored)
        .arg("--hyp-out")
        .arg(&hyp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The beam alone keeps the wrong word; cross-validated weights take the references.
    assert!(
        stdout.contains("w_r 0 w_l 0 (per token): BLEU-4 ")
            && !stdout.contains("w_r 0 w_l 0 (per token): BLEU-4 100.00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2-fold cross-validation")
            && stdout.contains("BLEU-4 100.00 ROUGE-L 100.00 (4 sentences)"),
        "{stdout}"
    );
    let expected: String = pairs.iter().map(|(r, _)| format!("{r}\n")).collect();
    assert_eq!(std::fs::read_to_string(&hyp).unwrap(), expected);

    // Without LLM scores and without --adapters there is nothing to sweep: the file is named.
    let unscored = write("unscored.jsonl", false);
    let out = Command::new(env!("CARGO_BIN_EXE_signscope"))
        .args(["rescore-nbest"])
        .arg(&unscored)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("unscored.jsonl") && stderr.contains("--adapters"),
        "{stderr}"
    );
}
