//! `signscope rescore-nbest`: the LoRA-tuned LLM as a reranking feature of the seq2seq's beam.
//! It reads an n-best file of `signscope eval slt --nbest-out` (written with `--rerank T2G`,
//! candidates carry reconstruction scores), adds each candidate's
//! `log P_LLM(text | SCOPE prompt)` (fields `llm_log_prob`, `llm_tokens`), then scores every
//! combination `score + w_r · reconstruction + w_l · llm` (llm per reply token, or summed) on
//! the references, with the weights chosen by 2-fold cross-validation as `eval slt` does.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use signscope_slt::rerank::cross_validated_choice;
use signscope_slt::translator::score_outputs;

use crate::rescore::LlmScorer;

/// Reads an n-best file, one JSON object per line; a line that is not one names the file
/// and the line.
pub fn read_nbest(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{}: line {}: not JSON", path.display(), n + 1))?;
            if !value["candidates"].is_array() || !value["glosses"].is_array() {
                anyhow::bail!(
                    "{}: line {}: not an n-best line of `signscope eval slt --nbest-out`",
                    path.display(),
                    n + 1
                );
            }
            Ok(value)
        })
        .collect()
}

/// Adds `llm_log_prob` and `llm_tokens` to every candidate that the scorer can score (one
/// longer than the model's context is left without). `source` names the file in errors.
pub fn add_llm_scores(
    scorer: &LlmScorer,
    lines: &mut [Value],
    source: &Path,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let total = lines.len();
    for (n, value) in lines.iter_mut().enumerate() {
        let glosses: Vec<String> = serde_json::from_value(value["glosses"].clone())
            .with_context(|| format!("{}: line {}: glosses", source.display(), n + 1))?;
        let candidates = value["candidates"]
            .as_array_mut()
            .expect("checked on reading");
        let texts: Vec<String> = candidates
            .iter()
            .map(|c| c["text"].as_str().unwrap_or_default().to_string())
            .collect();
        let g: Vec<&[String]> = texts.iter().map(|_| glosses.as_slice()).collect();
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        for (c, s) in candidates
            .iter_mut()
            .zip(scorer.score(&g, &t, crate::rescore::BATCH_SIZE)?)
        {
            if let Some(s) = s {
                c["llm_log_prob"] = s.log_prob.into();
                c["llm_tokens"] = s.tokens.into();
            }
        }
        if n % 50 == 0 {
            eprintln!(
                "{n} of {total} sentences, {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "{total} sentences scored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The weights of one selection from the beam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub reconstruction: f64,
    pub llm: f64,
    /// The LLM's log-probability divided by its reply tokens, else summed.
    pub per_token: bool,
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "w_r {} w_l {} ({})",
            self.reconstruction,
            self.llm,
            if self.per_token {
                "per token"
            } else {
                "summed"
            }
        )
    }
}

/// The weights tried: reconstruction 0, 0.25, 0.5, each with the LLM per token at 0 … 2 and
/// summed at 0.01 … 0.2 (39 pairs; the summed term is larger, hence its smaller weights).
pub fn weight_grid() -> Vec<Weights> {
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
    grid
}

/// Index of the candidate with the best combined score (the first on ties). A candidate
/// without an LLM score loses whenever the LLM weight is not 0.
pub fn pick(line: &Value, w: Weights) -> usize {
    let candidates = line["candidates"].as_array().expect("checked on reading");
    let mut best = (f64::NEG_INFINITY, 0);
    for (i, c) in candidates.iter().enumerate() {
        let mut s = c["score"].as_f64().unwrap_or(f64::NEG_INFINITY)
            + w.reconstruction * c["reconstruction"].as_f64().unwrap_or(0.0);
        if w.llm != 0.0 {
            let llm = c["llm_log_prob"].as_f64().unwrap_or(f64::NEG_INFINITY);
            let llm = if w.per_token {
                llm / c["llm_tokens"].as_f64().unwrap_or(1.0).max(1.0)
            } else {
                llm
            };
            s += w.llm * llm;
        }
        if s > best.0 {
            best = (s, i);
        }
    }
    best.1
}

/// What [`sweep`] found.
pub struct Sweep {
    /// Every weight pair with its BLEU-4 and ROUGE-L over all sentences.
    pub each: Vec<(Weights, f64, f64)>,
    /// The pair each half of the sentences (even, odd) got from the other half.
    pub fold_weights: [Weights; 2],
    /// The chosen candidate of every sentence, and the cross-validated BLEU-4 and ROUGE-L.
    pub picks: Vec<usize>,
    pub bleu4: f64,
    pub rouge_l: f64,
}

impl Sweep {
    /// The chosen translations, one per sentence.
    pub fn texts(&self, lines: &[Value]) -> Vec<String> {
        lines
            .iter()
            .zip(&self.picks)
            .map(|(line, &p)| candidate_text(line, p))
            .collect()
    }
}

fn candidate_text(line: &Value, i: usize) -> String {
    line["candidates"][i]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Scores every pair of [`weight_grid`] on the references and picks weights by 2-fold
/// cross-validation over the sentences (even and odd lines), as `eval slt` does: each half
/// gets the pair that scores the best BLEU-4 on the other (the first of equals). Texts are
/// scored per character where the file says `"text_level": "char"` (files without the field
/// are word level).
pub fn sweep(lines: &[Value]) -> Sweep {
    let char_level = lines
        .first()
        .is_some_and(|line| line["text_level"] == "char");
    let references: Vec<String> = lines
        .iter()
        .map(|line| line["reference"].as_str().unwrap_or_default().to_string())
        .collect();
    let score = |sentences: &[usize], picks: &[usize]| {
        let hypotheses = sentences
            .iter()
            .zip(picks)
            .map(|(&s, &p)| candidate_text(&lines[s], p))
            .collect();
        let references = sentences.iter().map(|&s| references[s].clone()).collect();
        score_outputs(hypotheses, references, char_level)
    };
    let grid = weight_grid();
    let all: Vec<usize> = (0..lines.len()).collect();
    let each = grid
        .iter()
        .map(|&w| {
            let picks: Vec<usize> = lines.iter().map(|l| pick(l, w)).collect();
            let s = score(&all, &picks);
            (w, s.bleu[3], s.rouge_l)
        })
        .collect();
    let (picks, fold_weights) = cross_validated_choice(lines, &grid, pick, |sentences, picks| {
        score(sentences, picks).bleu[3]
    });
    let s = score(&all, &picks);
    Sweep {
        each,
        fold_weights,
        picks,
        bleu4: s.bleu[3],
        rouge_l: s.rouge_l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A sentence whose beam prefers a wrong candidate that the LLM scores far lower.
    fn line(reference: &str, wrong: &str) -> Value {
        json!({
            "id": reference,
            "text_level": "word",
            "glosses": ["X"],
            "reference": reference,
            "candidates": [
                {"text": wrong, "log_prob": -1.0, "score": -0.2, "reconstruction": -3.0,
                 "llm_log_prob": -30.0, "llm_tokens": 5},
                {"text": reference, "log_prob": -1.5, "score": -0.3, "reconstruction": -1.0,
                 "llm_log_prob": -5.0, "llm_tokens": 5},
            ]
        })
    }

    fn lines() -> Vec<Value> {
        vec![
            line(
                "der wind weht schwach aus west",
                "der wind weht kräftig aus west",
            ),
            line("morgen regnet es im norden", "morgen schneit es im norden"),
            line(
                "am tag scheint oft die sonne",
                "am tag scheint oft der mond",
            ),
            line("in der nacht wird es kalt", "in der nacht wird es warm"),
        ]
    }

    #[test]
    fn pick_weighs_the_beam_reconstruction_and_llm_scores() {
        let l = &lines()[0];
        let w = |reconstruction, llm, per_token| Weights {
            reconstruction,
            llm,
            per_token,
        };
        assert_eq!(pick(l, w(0.0, 0.0, true)), 0);
        assert_eq!(pick(l, w(0.25, 0.0, true)), 1); // -0.55 against -0.95
        assert_eq!(pick(l, w(0.0, 0.1, true)), 1); // per token: -0.4 against -0.8
        assert_eq!(pick(l, w(0.0, 0.001, false)), 0); // summed: -0.305 against -0.23
        // A candidate the LLM could not score loses once the LLM counts.
        let mut unscored = l.clone();
        unscored["candidates"][1]
            .as_object_mut()
            .unwrap()
            .remove("llm_log_prob");
        assert_eq!(pick(&unscored, w(0.0, 0.1, true)), 0);
    }

    #[test]
    fn sweep_finds_the_llm_weights_by_cross_validation() {
        let lines = lines();
        let sweep = sweep(&lines);
        assert_eq!(sweep.each.len(), weight_grid().len());
        let beam_alone = sweep.each[0];
        assert_eq!((beam_alone.0.reconstruction, beam_alone.0.llm), (0.0, 0.0));
        assert!(beam_alone.1 < 100.0);
        // Each fold takes a pair that picks the references: cross-validation scores 100.
        assert!(
            sweep
                .fold_weights
                .iter()
                .all(|w| w.llm > 0.0 || w.reconstruction > 0.0)
        );
        assert_eq!(sweep.picks, vec![1; 4]);
        assert!((sweep.bleu4 - 100.0).abs() < 1e-9, "{}", sweep.bleu4);
        assert_eq!(sweep.texts(&lines)[1], "morgen regnet es im norden");
    }

    #[test]
    fn a_line_that_is_no_nbest_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        let good = serde_json::to_string(&lines()[0]).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"id\": 1}}\n")).unwrap();
        let err = format!("{:#}", read_nbest(&path).unwrap_err());
        assert!(err.contains("n.jsonl") && err.contains("line 2"), "{err}");
        std::fs::write(&path, format!("{good}\nnot json\n")).unwrap();
        let err = format!("{:#}", read_nbest(&path).unwrap_err());
        assert!(err.contains("line 2: not JSON"), "{err}");
    }
}
