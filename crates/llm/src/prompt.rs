//! SCOPE's translation prompt: the recognizer's top-k gloss hypotheses (best first, with
//! their scores), the previous dialogue turns (speaker-tagged, most recent last) and
//! optional worked examples drawn from a training manifest.
//!
//! SCOPE fine-tunes the LLM on (top-3 glosses, context) → sentence; without fine-tuning the
//! same information goes into an instruction, and worked examples stand in for the
//! training (they matter most for base models such as Gemma-3-270m).
//!
//! Choices where the paper is silent, each with a switch in [`PromptOptions`]:
//! - scores are shown as probabilities renormalized over the shown hypotheses
//!   (`exp(s_i) / Σ_j exp(s_j)` of the beam log-probabilities): a small LLM reads "0.71"
//!   more reliably than "-0.34";
//! - untagged context turns are taken as a two-party dialogue: the most recent turn is the
//!   other party ("B"), turns alternate backwards, and the utterance being translated is
//!   "A"'s. A turn written `Name: text` keeps its own speaker.
//! - worked examples are the training records whose glosses overlap the best hypothesis
//!   most (Jaccard over gloss types), most similar last, or a fixed evenly spaced set, which
//!   keeps the prompt prefix identical across a batch so the KV cache snapshot is reused.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{LlmError, Message};

/// One recognizer hypothesis: glosses and, if known, the beam log-probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlossHypothesis {
    pub glosses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl GlossHypothesis {
    /// Whitespace-separated glosses.
    pub fn parse(glosses: &str, score: Option<f64>) -> Self {
        Self {
            glosses: glosses.split_whitespace().map(str::to_string).collect(),
            score,
        }
    }

    pub fn text(&self) -> String {
        self.glosses.join(" ")
    }
}

/// An earlier turn of the dialogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialogueTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    pub text: String,
}

impl DialogueTurn {
    /// `"Name: text"` (a name of at most 24 characters without spaces) keeps `Name` as the
    /// speaker; anything else is an untagged turn.
    pub fn parse(turn: &str) -> Self {
        if let Some((name, text)) = turn.split_once(": ") {
            let name = name.trim();
            if !name.is_empty() && name.chars().count() <= 24 && !name.contains(char::is_whitespace)
            {
                return Self {
                    speaker: Some(name.to_string()),
                    text: text.trim().to_string(),
                };
            }
        }
        Self {
            speaker: None,
            text: turn.trim().to_string(),
        }
    }
}

/// A worked example: reference glosses (and context) with their translation.
#[derive(Debug, Clone, PartialEq)]
pub struct FewShotExample {
    pub glosses: Vec<String>,
    pub context: Vec<String>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScoreDisplay {
    /// Probabilities renormalized over the shown hypotheses.
    Probability,
    /// The recognizer's log-probabilities as given.
    LogProb,
    /// No scores, order only.
    Hidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShotSelection {
    /// The training records whose glosses overlap the best hypothesis most.
    Similar,
    /// The same evenly spaced records for every input (cache-friendly).
    Fixed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptOptions {
    /// Language to answer in, e.g. "German"; `None` lets the examples/context decide.
    pub language: Option<String>,
    /// Hypotheses shown (SCOPE: 3).
    pub max_hypotheses: usize,
    /// Most recent context turns shown (SCOPE's dataset tooling keeps 3).
    pub max_context_turns: usize,
    pub scores: ScoreDisplay,
}

impl Default for PromptOptions {
    fn default() -> Self {
        Self {
            language: None,
            max_hypotheses: 3,
            max_context_turns: 3,
            scores: ScoreDisplay::Probability,
        }
    }
}

/// Speaker labels for `turns` (oldest first) and for the utterance being translated.
fn speakers(turns: &[DialogueTurn]) -> (Vec<String>, String) {
    let labels = turns
        .iter()
        .enumerate()
        .map(|(i, turn)| {
            turn.speaker.clone().unwrap_or_else(|| {
                let back = turns.len() - i; // 1 = most recent
                if back % 2 == 1 { "B" } else { "A" }.to_string()
            })
        })
        .collect();
    (labels, "A".to_string())
}

fn score_labels(hypotheses: &[GlossHypothesis], display: ScoreDisplay) -> Vec<Option<String>> {
    let all_scored = hypotheses
        .iter()
        .all(|h| h.score.is_some_and(f64::is_finite));
    match display {
        ScoreDisplay::Hidden => vec![None; hypotheses.len()],
        _ if !all_scored => vec![None; hypotheses.len()],
        ScoreDisplay::LogProb => hypotheses
            .iter()
            .map(|h| Some(format!("log-prob {:.2}", h.score.unwrap_or_default())))
            .collect(),
        ScoreDisplay::Probability => {
            let best = hypotheses
                .iter()
                .filter_map(|h| h.score)
                .fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = hypotheses
                .iter()
                .map(|h| (h.score.unwrap_or_default() - best).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            weights
                .iter()
                .map(|w| Some(format!("p={:.2}", w / total)))
                .collect()
        }
    }
}

/// The user message for one utterance.
fn user_message(
    hypotheses: &[GlossHypothesis],
    context: &[DialogueTurn],
    options: &PromptOptions,
) -> String {
    let context = &context[context.len().saturating_sub(options.max_context_turns)..];
    let hypotheses = &hypotheses[..hypotheses.len().min(options.max_hypotheses.max(1))];
    let (labels, current) = speakers(context);
    let mut out = String::new();
    if !context.is_empty() {
        out.push_str("Dialogue so far:\n");
        for (turn, label) in context.iter().zip(&labels) {
            out.push_str(&format!("{label}: {}\n", turn.text));
        }
        out.push('\n');
    }
    if hypotheses.len() == 1 {
        out.push_str(&format!("Glosses signed by {current}:\n"));
    } else {
        out.push_str(&format!(
            "Gloss hypotheses for what {current} signed (best first):\n"
        ));
    }
    for (i, (h, score)) in hypotheses
        .iter()
        .zip(score_labels(hypotheses, options.scores))
        .enumerate()
    {
        match score {
            Some(score) => out.push_str(&format!("{}. {} ({score})\n", i + 1, h.text())),
            None => out.push_str(&format!("{}. {}\n", i + 1, h.text())),
        }
    }
    out.push_str("Translation:");
    out
}

fn system_message(options: &PromptOptions) -> String {
    let language = options
        .language
        .as_deref()
        .map(|l| format!("one natural {l} sentence"))
        .unwrap_or_else(|| "one natural spoken-language sentence".to_string());
    format!(
        "You translate sign language glosses into {language}. A sign recognizer gives its \
         best guesses of the signed glosses, best first; they may contain errors. Use the \
         earlier turns of the dialogue to pick the right words and meaning. Reply with the \
         translation only."
    )
}

/// SCOPE's translation prompt as chat messages: instruction, worked examples as earlier
/// user/assistant exchanges, then the utterance to translate.
pub fn scope_prompt(
    hypotheses: &[GlossHypothesis],
    context: &[DialogueTurn],
    examples: &[FewShotExample],
    options: &PromptOptions,
) -> Vec<Message> {
    let mut messages = vec![Message::system(system_message(options))];
    for example in examples {
        let turns: Vec<DialogueTurn> = example
            .context
            .iter()
            .map(|t| DialogueTurn::parse(t))
            .collect();
        let glosses = [GlossHypothesis {
            glosses: example.glosses.clone(),
            score: None,
        }];
        messages.push(Message::user(user_message(&glosses, &turns, options)));
        messages.push(Message::assistant(example.text.clone()));
    }
    messages.push(Message::user(user_message(hypotheses, context, options)));
    messages
}

/// Training examples to draw worked examples from.
#[derive(Debug, Clone, Default)]
pub struct FewShotPool {
    examples: Vec<FewShotExample>,
}

/// Reads the records of a corpus manifest (JSONL, see signscope-corpus) that have both
/// glosses and text; with `split`, only records of that split (records without one count
/// as training data when `split` is "train").
pub fn load_few_shot(path: &Path, split: Option<&str>) -> Result<FewShotPool, LlmError> {
    let records = signscope_corpus::manifest::read_manifest(path).map_err(|e| LlmError::Model {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let examples: Vec<FewShotExample> = records
        .into_iter()
        .filter(|r| match (split, r.split) {
            (None, _) => true,
            (Some(want), Some(have)) => have.as_str() == want,
            (Some(want), None) => want == "train",
        })
        .filter(|r| !r.glosses.is_empty())
        .filter_map(|r| {
            let text = r.text?.trim().to_string();
            (!text.is_empty()).then_some(FewShotExample {
                glosses: r.glosses,
                context: r.context,
                text,
            })
        })
        .collect();
    if examples.is_empty() {
        return Err(LlmError::Model {
            path: path.to_owned(),
            message: format!(
                "no record with both glosses and text{}",
                split.map(|s| format!(" in split {s}")).unwrap_or_default()
            ),
        });
    }
    Ok(FewShotPool { examples })
}

impl FewShotPool {
    pub fn new(examples: Vec<FewShotExample>) -> Self {
        Self { examples }
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// `n` examples for `hypotheses`, the one to imitate most closely last.
    pub fn select(
        &self,
        hypotheses: &[GlossHypothesis],
        n: usize,
        selection: ShotSelection,
    ) -> Vec<FewShotExample> {
        let n = n.min(self.examples.len());
        if n == 0 {
            return Vec::new();
        }
        match selection {
            ShotSelection::Fixed => (0..n)
                .map(|i| self.examples[i * self.examples.len() / n].clone())
                .collect(),
            ShotSelection::Similar => {
                let query: HashSet<&str> = hypotheses
                    .first()
                    .map(|h| h.glosses.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                let mut scored: Vec<(f64, usize)> = self
                    .examples
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let example: HashSet<&str> = e.glosses.iter().map(String::as_str).collect();
                        let shared = query.intersection(&example).count() as f64;
                        let union = query.union(&example).count().max(1) as f64;
                        (shared / union, i)
                    })
                    .collect();
                // Most similar first, ties by manifest order; then reversed so the closest
                // example sits next to the query.
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                scored
                    .into_iter()
                    .take(n)
                    .rev()
                    .map(|(_, i)| self.examples[i].clone())
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn hyps() -> Vec<GlossHypothesis> {
        vec![
            GlossHypothesis::parse("MORGEN REGEN NORD", Some(-0.2)),
            GlossHypothesis::parse("MORGEN REGEN", Some(-1.5)),
            GlossHypothesis::parse("MORGEN SONNE NORD", Some(-2.0)),
            GlossHypothesis::parse("HEUTE REGEN", Some(-3.0)),
        ]
    }

    #[test]
    fn prompt_has_top3_with_probabilities_and_tagged_context() {
        let context = vec![
            DialogueTurn::parse("Wie wird das Wetter?"),
            DialogueTurn::parse("Im Süden sonnig."),
            DialogueTurn::parse("Und im Norden?"),
        ];
        let messages = scope_prompt(&hyps(), &context, &[], &PromptOptions::default());
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].role, Role::System);
        let user = &messages[1].content;
        assert_eq!(
            user,
            "Dialogue so far:\nB: Wie wird das Wetter?\nA: Im Süden sonnig.\nB: Und im Norden?\n\n\
             Gloss hypotheses for what A signed (best first):\n\
             1. MORGEN REGEN NORD (p=0.70)\n2. MORGEN REGEN (p=0.19)\n3. MORGEN SONNE NORD (p=0.11)\n\
             Translation:"
        );
    }

    #[test]
    fn context_is_cut_to_the_most_recent_turns_and_keeps_named_speakers() {
        let context: Vec<DialogueTurn> = ["Arzt: Guten Tag.", "a", "b", "c", "Patient: Hallo."]
            .iter()
            .map(|t| DialogueTurn::parse(t))
            .collect();
        let options = PromptOptions {
            max_context_turns: 2,
            scores: ScoreDisplay::Hidden,
            ..PromptOptions::default()
        };
        let user = &scope_prompt(&hyps()[..1], &context, &[], &options)[1].content;
        assert!(user.starts_with("Dialogue so far:\nA: c\nPatient: Hallo.\n\nGlosses signed by A:\n1. MORGEN REGEN NORD\n"), "{user}");
    }

    #[test]
    fn missing_scores_are_not_invented() {
        let mut h = hyps();
        h[1].score = None;
        let user = &scope_prompt(&h, &[], &[], &PromptOptions::default())[1].content;
        assert!(!user.contains("p="), "{user}");
        assert!(!user.contains("Dialogue"), "{user}");
    }

    #[test]
    fn examples_become_earlier_exchanges() {
        let example = FewShotExample {
            glosses: vec!["WETTER".into(), "GUT".into()],
            context: vec![],
            text: "Das Wetter ist gut.".into(),
        };
        let messages = scope_prompt(&hyps(), &[], &[example], &PromptOptions::default());
        let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [Role::System, Role::User, Role::Assistant, Role::User]
        );
        assert_eq!(messages[2].content, "Das Wetter ist gut.");
        assert!(messages[1].content.contains("1. WETTER GUT\n"));
    }

    #[test]
    fn similar_selection_puts_the_closest_example_last() {
        let pool = FewShotPool::new(
            ["SONNE HEUTE", "MORGEN REGEN NORD", "WIND", "REGEN"]
                .iter()
                .map(|g| FewShotExample {
                    glosses: g.split(' ').map(String::from).collect(),
                    context: vec![],
                    text: g.to_lowercase(),
                })
                .collect(),
        );
        let picked = pool.select(&hyps(), 2, ShotSelection::Similar);
        let texts: Vec<&str> = picked.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["regen", "morgen regen nord"]);
        let fixed = pool.select(&hyps(), 2, ShotSelection::Fixed);
        let texts: Vec<&str> = fixed.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["sonne heute", "wind"]);
        assert!(pool.select(&hyps(), 0, ShotSelection::Similar).is_empty());
    }

    #[test]
    fn few_shot_manifest_is_filtered_by_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"id":"a","split":"train","glosses":["A"],"text":"a."}"#,
                "\n",
                r#"{"id":"b","split":"dev","glosses":["B"],"text":"b."}"#,
                "\n",
                r#"{"id":"c","glosses":["C"]}"#,
                "\n"
            ),
        )
        .unwrap();
        assert_eq!(load_few_shot(&path, Some("train")).unwrap().len(), 1);
        assert_eq!(load_few_shot(&path, None).unwrap().len(), 2);
        let err = load_few_shot(&path, Some("test")).unwrap_err().to_string();
        assert!(
            err.contains("m.jsonl") && err.contains("split test"),
            "{err}"
        );
    }
}
