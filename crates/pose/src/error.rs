use std::path::PathBuf;

/// Errors from reading, converting or processing keypoints.
/// Readers wrap their errors in [`PoseError::File`] so every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PoseError {
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: Box<PoseError>,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("truncated: {0}")]
    Truncated(String),
    #[error("invalid data: {0}")]
    Invalid(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl PoseError {
    /// Attach the file this error came from.
    pub fn in_file(self, path: impl Into<PathBuf>) -> PoseError {
        match self {
            e @ PoseError::File { .. } => e,
            e => PoseError::File {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }
}
