//! Any OpenAI-compatible `POST /v1/chat/completions` server (OpenAI, llama.cpp's server,
//! llama-cpp-python's server, vLLM, Ollama's `/v1`).
//!
//! Blocking (ureq), one request per reply, a global timeout per request, and retries with
//! exponential backoff on 429 / 5xx / dropped connections (honouring `Retry-After`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ChatBackend, GenerationConfig, LlmError, Message};

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL as for OpenAI clients, e.g. `https://api.openai.com/v1`. A bare
    /// `http://host:port` gets `/v1` appended; a URL already ending in `/chat/completions` is
    /// used as is.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Limit for one whole request, connection to last byte.
    pub timeout: Duration,
    /// Further attempts after a 429, a 5xx or a dropped connection.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one (capped at 30 s).
    pub initial_backoff: Duration,
    /// Server-specific request fields merged into every body, e.g. `{"repeat_penalty": 1.0}`
    /// for llama.cpp servers (whose default 1.1 is applied even at temperature 0).
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl OpenAiConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
    pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            extra_body: serde_json::Map::new(),
        }
    }

    /// From the environment: `SIGNSCOPE_LLM_URL` (else `OPENAI_BASE_URL`, else OpenAI's),
    /// `SIGNSCOPE_LLM_MODEL` (else gpt-4o-mini), `SIGNSCOPE_LLM_API_KEY` (else
    /// `OPENAI_API_KEY`).
    pub fn from_env() -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let mut config = Self::new(
            var(&["SIGNSCOPE_LLM_URL", "OPENAI_BASE_URL"])
                .unwrap_or_else(|| Self::DEFAULT_BASE_URL.into()),
            var(&["SIGNSCOPE_LLM_MODEL"]).unwrap_or_else(|| Self::DEFAULT_MODEL.into()),
        );
        config.api_key = var(&["SIGNSCOPE_LLM_API_KEY", "OPENAI_API_KEY"]);
        config
    }

    /// The full URL requests are posted to.
    pub fn endpoint(&self) -> Result<String, LlmError> {
        let base = self.base_url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| {
                LlmError::Config(format!(
                    "LLM server URL '{base}' must start with http:// or https://"
                ))
            })?;
        Ok(if base.ends_with("/chat/completions") {
            base.to_string()
        } else if !rest.contains('/') {
            format!("{base}/v1/chat/completions")
        } else {
            format!("{base}/chat/completions")
        })
    }
}

pub struct OpenAiChat {
    config: OpenAiConfig,
    endpoint: String,
    agent: ureq::Agent,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    max_tokens: usize,
    temperature: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    seed: u64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    stream: bool,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

/// Why one attempt failed, and whether trying again may help.
enum Attempt {
    Retry {
        error: LlmError,
        after: Option<Duration>,
    },
    Fatal(LlmError),
}

impl OpenAiChat {
    /// Validates the configuration; the server is first contacted by the first request.
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        if config.model.trim().is_empty() {
            return Err(LlmError::Config("the LLM model name is empty".into()));
        }
        let endpoint = config.endpoint()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            config,
            endpoint,
            agent,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn malformed(&self, message: impl Into<String>) -> LlmError {
        LlmError::MalformedResponse {
            url: self.endpoint.clone(),
            message: message.into(),
        }
    }

    /// One POST; the first choice's message content.
    fn request(&self, body: &[u8]) -> Result<String, Attempt> {
        let mut request = self
            .agent
            .post(&self.endpoint)
            .content_type("application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let unreachable = |message: String| LlmError::Unreachable {
            url: self.endpoint.clone(),
            message,
        };
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(e @ (ureq::Error::HostNotFound | ureq::Error::BadUri(_))) => {
                return Err(Attempt::Fatal(unreachable(e.to_string())));
            }
            Err(e) => {
                return Err(Attempt::Retry {
                    error: unreachable(e.to_string()),
                    after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| Attempt::Retry {
                error: unreachable(format!("reading the response: {e}")),
                after: None,
            })?;
        if status != 200 {
            let error = LlmError::HttpStatus {
                url: self.endpoint.clone(),
                status,
                body: text.chars().take(500).collect(),
            };
            return Err(if status == 429 || status >= 500 {
                Attempt::Retry {
                    error,
                    after: retry_after,
                }
            } else {
                Attempt::Fatal(error)
            });
        }
        let parsed: ChatResponse = serde_json::from_str(&text).map_err(|e| {
            Attempt::Fatal(self.malformed(format!(
                "{e}; body starts {:?}",
                text.chars().take(80).collect::<String>()
            )))
        })?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| Attempt::Fatal(self.malformed("no choices in the response")))?;
        Ok(choice.message.content.unwrap_or_default())
    }
}

impl ChatBackend for OpenAiChat {
    fn id(&self) -> String {
        format!("openai-compatible/{}@{}", self.config.model, self.endpoint)
    }

    fn chat(
        &mut self,
        messages: &[Message],
        config: &GenerationConfig,
    ) -> Result<String, LlmError> {
        let body = ChatRequest {
            model: &self.config.model,
            messages,
            max_tokens: config.max_new_tokens,
            temperature: config.temperature,
            top_p: config.top_p.filter(|_| config.temperature > 0.0),
            seed: config.seed,
            stop: &config.stop,
            stream: false,
        };
        let mut body = serde_json::to_value(&body).expect("a request of strings serializes");
        if let Some(fields) = body.as_object_mut() {
            fields.extend(self.config.extra_body.clone());
        }
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let mut backoff = self.config.initial_backoff;
        let mut attempt = 0;
        loop {
            match self.request(&body) {
                Ok(reply) => return Ok(reply),
                Err(Attempt::Fatal(error)) => return Err(error),
                Err(Attempt::Retry { error, after }) => {
                    if attempt >= self.config.max_retries {
                        return Err(error);
                    }
                    attempt += 1;
                    let wait = after.unwrap_or(backoff).min(Duration::from_secs(60));
                    tracing::warn!(
                        "chat request failed ({error}); retry {attempt}/{} in {wait:?}",
                        self.config.max_retries
                    );
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let url = |base: &str| OpenAiConfig::new(base, "m").endpoint();
        assert_eq!(
            url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            url("https://api.openai.com/v1/").unwrap(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            url("http://h/v1/chat/completions").unwrap(),
            "http://h/v1/chat/completions"
        );
        assert!(url("localhost:8080").is_err());
        assert!(OpenAiChat::new(OpenAiConfig::new("http://h", " ")).is_err());
    }
}
