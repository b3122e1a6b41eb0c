use std::path::PathBuf;

/// Everything that can go wrong while loading a model or embedding texts.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A model or cache file that exists but is not what it should be.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    #[error("text #{index} is empty: an empty text has no embedding")]
    EmptyText { index: usize },

    /// The model itself failed (tensor shapes, tokenizer), or returned something unusable.
    #[error("{backend}: {message}")]
    Backend { backend: String, message: String },

    #[error("cannot reach embedding server {url}: {message}")]
    Unreachable { url: String, message: String },

    #[error("embedding server {url} answered HTTP {status}: {body}")]
    HttpStatus {
        url: String,
        status: u16,
        body: String,
    },

    #[error("embedding server {url} sent a malformed response: {message}")]
    MalformedResponse { url: String, message: String },

    #[error("{backend}: expected {expected}-dimensional vectors, got {got}")]
    Dimension {
        backend: String,
        expected: usize,
        got: usize,
    },

    #[error("embedding configuration: {0}")]
    Config(String),
}

impl EmbedError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn backend(backend: &str, message: impl std::fmt::Display) -> Self {
        Self::Backend {
            backend: backend.to_string(),
            message: message.to_string(),
        }
    }
}
