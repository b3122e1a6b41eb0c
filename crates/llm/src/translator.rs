//! Hypotheses + context → one sentence, through any [`ChatBackend`].

use serde::{Deserialize, Serialize};

use crate::prompt::{FewShotPool, ShotSelection};
use crate::{
    ChatBackend, DialogueTurn, GenerationConfig, GlossHypothesis, LlmError, Message, PromptOptions,
    scope_prompt,
};

/// What to translate: the recognizer's hypotheses (best first) and the earlier turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranslationRequest {
    pub hypotheses: Vec<GlossHypothesis>,
    #[serde(default)]
    pub context: Vec<DialogueTurn>,
}

/// Template tokens and labels that small models echo around their answer.
const CHAT_NOISE: &[&str] = &[
    "<|im_end|>",
    "<|im_start|>",
    "<|endoftext|>",
    "<end_of_turn>",
    "<start_of_turn>",
    "<eos>",
    "<bos>",
];
const ANSWER_LABELS: &[&str] = &[
    "translation:",
    "answer:",
    "sentence:",
    "output:",
    "assistant:",
    "model:",
    "übersetzung:",
    "翻译：",
    "翻译:",
];

/// The sentence in a raw reply: chat tokens removed, the first non-empty line, a leading
/// "Translation:"-style label, markdown emphasis and enclosing quotes stripped.
pub fn clean_translation(raw: &str) -> String {
    let mut text = raw.to_string();
    for noise in CHAT_NOISE {
        text = text.replace(noise, "\n");
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut line = line.replace("**", "");
    loop {
        let lower = line.to_lowercase();
        let Some(label) = ANSWER_LABELS.iter().find(|l| lower.starts_with(*l)) else {
            break;
        };
        // Labels are ASCII or single-width CJK, so the lowercase prefix has the same length.
        line = line[label.len()..].trim().to_string();
    }
    let quotes = [
        ('"', '"'),
        ('“', '”'),
        ('„', '“'),
        ('«', '»'),
        ('\'', '\''),
        ('「', '」'),
    ];
    for (open, close) in quotes {
        if line.chars().count() >= 2 && line.starts_with(open) && line.ends_with(close) {
            line = line[open.len_utf8()..line.len() - close.len_utf8()]
                .trim()
                .to_string();
            break;
        }
    }
    line
}

/// SCOPE's translation step on top of a chat backend.
pub struct LlmTranslator<B: ChatBackend> {
    backend: B,
    pub options: PromptOptions,
    pub generation: GenerationConfig,
    pool: Option<FewShotPool>,
    pub shots: usize,
    pub shot_selection: ShotSelection,
}

impl<B: ChatBackend> LlmTranslator<B> {
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            options: PromptOptions::default(),
            generation: GenerationConfig {
                max_new_tokens: 64,
                ..GenerationConfig::default()
            },
            pool: None,
            shots: 0,
            shot_selection: ShotSelection::Similar,
        }
    }

    /// Worked examples: `shots` of them per request, picked from `pool`.
    pub fn with_few_shot(
        mut self,
        pool: FewShotPool,
        shots: usize,
        selection: ShotSelection,
    ) -> Self {
        self.pool = Some(pool);
        self.shots = shots;
        self.shot_selection = selection;
        self
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The chat messages sent for `request`.
    pub fn messages(&self, request: &TranslationRequest) -> Vec<Message> {
        let examples = self
            .pool
            .as_ref()
            .map(|p| p.select(&request.hypotheses, self.shots, self.shot_selection))
            .unwrap_or_default();
        scope_prompt(
            &request.hypotheses,
            &request.context,
            &examples,
            &self.options,
        )
    }

    /// The raw reply and the cleaned sentence.
    pub fn translate_raw(
        &mut self,
        request: &TranslationRequest,
    ) -> Result<(String, String), LlmError> {
        if request.hypotheses.iter().all(|h| h.glosses.is_empty()) {
            return Err(LlmError::Config("no glosses to translate".into()));
        }
        let messages = self.messages(request);
        let raw = self.backend.chat(&messages, &self.generation)?;
        let sentence = clean_translation(&raw);
        Ok((raw, sentence))
    }

    pub fn translate(&mut self, request: &TranslationRequest) -> Result<String, LlmError> {
        self.translate_raw(request).map(|(_, sentence)| sentence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_keeps_only_the_sentence() {
        assert_eq!(
            clean_translation("  Es regnet morgen.\nNote: …"),
            "Es regnet morgen."
        );
        assert_eq!(
            clean_translation("\n\nTranslation: \"Es regnet.\"<|im_end|>"),
            "Es regnet."
        );
        assert_eq!(
            clean_translation("**Answer:** „Morgen Regen.“"),
            "Morgen Regen."
        );
        assert_eq!(
            clean_translation("翻译：明天下雨。<end_of_turn>"),
            "明天下雨。"
        );
        assert_eq!(clean_translation("<end_of_turn>"), "");
        assert_eq!(clean_translation("\"unbalanced"), "\"unbalanced");
    }

    /// Records what it was asked and answers with a canned reply.
    struct Echo {
        seen: Vec<Vec<Message>>,
        reply: String,
    }

    impl ChatBackend for Echo {
        fn id(&self) -> String {
            "echo".into()
        }

        fn chat(&mut self, messages: &[Message], _: &GenerationConfig) -> Result<String, LlmError> {
            self.seen.push(messages.to_vec());
            Ok(self.reply.clone())
        }
    }

    #[test]
    fn translator_prompts_with_hypotheses_and_cleans_the_reply() {
        let mut translator = LlmTranslator::new(Echo {
            seen: vec![],
            reply: "Translation: Morgen regnet es.\nExplanation: …".into(),
        });
        let request = TranslationRequest {
            hypotheses: vec![GlossHypothesis::parse("MORGEN REGEN", Some(-0.1))],
            context: vec![DialogueTurn::parse("Wie wird das Wetter?")],
        };
        assert_eq!(translator.translate(&request).unwrap(), "Morgen regnet es.");
        let sent = &translator.backend().seen[0];
        assert!(sent.last().unwrap().content.contains("MORGEN REGEN"));
        assert!(
            sent.last()
                .unwrap()
                .content
                .contains("B: Wie wird das Wetter?")
        );
        let empty = TranslationRequest::default();
        assert!(translator.translate(&empty).is_err());
    }
}
