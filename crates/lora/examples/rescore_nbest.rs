//! The LoRA-tuned LLM as a reranking feature of the seq2seq's beam. Reads an n-best file of
//! `signscope eval slt --nbest-out` (run with `--rerank T2G` so candidates carry
//! reconstruction scores), adds each candidate's `log P_LLM(text | SCOPE prompt)` (fields
//! `llm_log_prob`, `llm_tokens`) and writes it to OUT; then scores every combination
//! `score + w_r · reconstruction + w_l · llm` (llm per reply token, or summed) on the
//! references, with the weights chosen by 2-fold cross-validation as `eval slt` does:
//!
//! `cargo run --release -p signscope-lora --example rescore_nbest -- ADAPTERS NBEST.jsonl OUT.jsonl`
//! `cargo run --release -p signscope-lora --example rescore_nbest -- --sweep OUT.jsonl`
//!
//! (README, "Measured": on PHOENIX-2014T dev it adds nothing; on CSL-Daily dev, with
//! models/csl_daily_gemma3_lora over the two-model ensemble's beam, BLEU-4 25.21 → 26.28.)

use anyhow::Context;
use serde_json::Value;
use signscope_lora::rescore::LlmScorer;
use signscope_slt::translator::score_outputs;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lines = match args.as_slice() {
        [flag, scored] if flag == "--sweep" => read_lines(scored)?,
        [adapters, input, output] => {
            let lines = rescore(adapters, input)?;
            let mut text = String::new();
            for line in &lines {
                text.push_str(&serde_json::to_string(line)?);
                text.push('\n');
            }
            signscope_fsio::write_atomic(output, text.as_bytes())
                .with_context(|| format!("writing {output}"))?;
            lines
        }
        _ => {
            anyhow::bail!("usage: rescore_nbest ADAPTERS NBEST.jsonl OUT.jsonl | --sweep OUT.jsonl")
        }
    };
    sweep(&lines)
}

fn read_lines(path: &str) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{path}: line {}: not JSON", n + 1))?;
            if !value["candidates"].is_array() || !value["glosses"].is_array() {
                anyhow::bail!(
                    "{path}: line {}: not an n-best line of `eval slt --nbest-out`",
                    n + 1
                );
            }
            Ok(value)
        })
        .collect()
}

fn rescore(adapters: &str, input: &str) -> anyhow::Result<Vec<Value>> {
    let scorer = LlmScorer::load(adapters.as_ref())?;
    let mut lines = read_lines(input)?;
    let started = std::time::Instant::now();
    for (n, value) in lines.iter_mut().enumerate() {
        let glosses: Vec<String> = serde_json::from_value(value["glosses"].clone())
            .with_context(|| format!("{input}: line {}: glosses", n + 1))?;
        let candidates = value["candidates"]
            .as_array_mut()
            .expect("checked on reading");
        let texts: Vec<String> = candidates
            .iter()
            .map(|c| c["text"].as_str().unwrap_or_default().to_string())
            .collect();
        let g: Vec<&[String]> = texts.iter().map(|_| glosses.as_slice()).collect();
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        for (c, s) in candidates.iter_mut().zip(scorer.score(&g, &t, 16)?) {
            if let Some(s) = s {
                c["llm_log_prob"] = s.log_prob.into();
                c["llm_tokens"] = s.tokens.into();
            }
        }
        if n % 50 == 0 {
            eprintln!("{n} sentences, {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    eprintln!(
        "{} sentences scored in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(lines)
}

#[derive(Debug, Clone, Copy)]
struct Weights {
    reconstruction: f64,
    llm: f64,
    per_token: bool,
}

/// Index of the candidate with the best combined score (the first on ties).
fn pick(line: &Value, w: Weights) -> usize {
    let candidates = line["candidates"].as_array().expect("checked on reading");
    let mut best = (f64::NEG_INFINITY, 0);
    for (i, c) in candidates.iter().enumerate() {
        let llm = c["llm_log_prob"].as_f64().unwrap_or(f64::NEG_INFINITY);
        let llm = if w.per_token {
            llm / c["llm_tokens"].as_f64().unwrap_or(1.0)
        } else {
            llm
        };
        let mut s = c["score"].as_f64().unwrap_or(f64::NEG_INFINITY)
            + w.reconstruction * c["reconstruction"].as_f64().unwrap_or(0.0);
        if w.llm != 0.0 {
            s += w.llm * llm;
        }
        if s > best.0 {
            best = (s, i);
        }
    }
    best.1
}

fn sweep(lines: &[Value]) -> anyhow::Result<()> {
    // Files written before the field existed are word level.
    let char_level = lines
        .first()
        .is_some_and(|line| line["text_level"] == "char");
    let text = |line: &Value, i: usize| {
        line["candidates"][i]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let score = |sentences: &[usize], picks: &[usize]| {
        let hypotheses = sentences
            .iter()
            .zip(picks)
            .map(|(&s, &p)| text(&lines[s], p))
            .collect();
        let references = sentences
            .iter()
            .map(|&s| {
                lines[s]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        score_outputs(hypotheses, references, char_level)
    };
    let mut grid = Vec::new();
    for reconstruction in [0.0, 0.25, 0.5] {
        for llm in [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0] {
            grid.push(Weights {
                reconstruction,
                llm,
                per_token: true,
            });
        }
        for llm in [0.01, 0.02, 0.05, 0.1, 0.2] {
            grid.push(Weights {
                reconstruction,
                llm,
                per_token: false,
            });
        }
    }
    let all: Vec<usize> = (0..lines.len()).collect();
    for &w in &grid {
        let picks: Vec<usize> = lines.iter().map(|l| pick(l, w)).collect();
        let s = score(&all, &picks);
        println!("{w:?}: BLEU-4 {:.2} ROUGE-L {:.2}", s.bleu[3], s.rouge_l);
    }
    let folds: [Vec<usize>; 2] = [
        (0..lines.len()).step_by(2).collect(),
        (1..lines.len()).step_by(2).collect(),
    ];
    let mut chosen = vec![0; lines.len()];
    for (target, tune) in [(0, 1), (1, 0)] {
        let best = grid
            .iter()
            .copied()
            .max_by(|a, b| {
                let s = |w: Weights| {
                    let picks: Vec<usize> =
                        folds[tune].iter().map(|&i| pick(&lines[i], w)).collect();
                    score(&folds[tune], &picks).bleu[3]
                };
                s(*a).total_cmp(&s(*b))
            })
            .expect("grid is not empty");
        println!("fold {target} gets {best:?}");
        for &i in &folds[target] {
            chosen[i] = pick(&lines[i], best);
        }
    }
    let s = score(&all, &chosen);
    println!(
        "2-fold cross-validation: BLEU-4 {:.2} ROUGE-L {:.2}",
        s.bleu[3], s.rouge_l
    );
    Ok(())
}
