//! Chat templates: messages → the prompt text the model was tuned on.
//!
//! Written out by hand (the GGUF files carry Jinja templates, and a Jinja engine for two
//! fixed formats is not worth its build time); both follow the models' own templates.

use crate::{Message, Role};

/// The chat format a model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChatTemplate {
    /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, Qwen). Without a system message SmolLM2's
    /// own default system prompt is inserted, as its template does.
    ChatMl,
    /// `<start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n` (Gemma 3). Gemma has no
    /// system role: the system text opens the first user turn, followed by a blank line.
    Gemma,
}

/// SmolLM2-Instruct's template inserts this when no system message is given.
pub const SMOLLM2_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

impl ChatTemplate {
    /// The prompt for `messages`, ending where the assistant's reply starts. BOS is not
    /// included: the tokenizer's post-processor adds it where the model needs one.
    pub fn render(self, messages: &[Message]) -> String {
        match self {
            ChatTemplate::ChatMl => {
                let mut out = String::new();
                if messages.first().is_none_or(|m| m.role != Role::System) {
                    out.push_str(&format!(
                        "<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n"
                    ));
                }
                for message in messages {
                    let role = match message.role {
                        Role::System => "system",
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    };
                    out.push_str(&format!(
                        "<|im_start|>{role}\n{}<|im_end|>\n",
                        message.content
                    ));
                }
                out.push_str("<|im_start|>assistant\n");
                out
            }
            ChatTemplate::Gemma => {
                let (system, turns) = match messages.split_first() {
                    Some((first, rest)) if first.role == Role::System => {
                        (Some(first.content.trim()), rest)
                    }
                    _ => (None, messages),
                };
                let mut out = String::new();
                let mut pending_system = system;
                for message in turns {
                    let role = if message.role == Role::Assistant {
                        "model"
                    } else {
                        "user"
                    };
                    out.push_str(&format!("<start_of_turn>{role}\n"));
                    if let Some(system) = pending_system.take() {
                        out.push_str(system);
                        out.push_str("\n\n");
                    }
                    out.push_str(message.content.trim());
                    out.push_str("<end_of_turn>\n");
                }
                if let Some(system) = pending_system {
                    // Only a system message: it becomes the user turn.
                    out.push_str(&format!("<start_of_turn>user\n{system}<end_of_turn>\n"));
                }
                out.push_str("<start_of_turn>model\n");
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_with_and_without_system() {
        let with = ChatTemplate::ChatMl.render(&[Message::system("S"), Message::user("U")]);
        assert_eq!(
            with,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        );
        let without = ChatTemplate::ChatMl.render(&[Message::user("U")]);
        assert!(without.starts_with(&format!(
            "<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n"
        )));
    }

    #[test]
    fn gemma_folds_system_into_first_user_turn() {
        let text = ChatTemplate::Gemma.render(&[
            Message::system("Translate."),
            Message::user(" A B "),
            Message::assistant("a b"),
            Message::user("C"),
        ]);
        assert_eq!(
            text,
            "<start_of_turn>user\nTranslate.\n\nA B<end_of_turn>\n\
             <start_of_turn>model\na b<end_of_turn>\n\
             <start_of_turn>user\nC<end_of_turn>\n<start_of_turn>model\n"
        );
    }
}
