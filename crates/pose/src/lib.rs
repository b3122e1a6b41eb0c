//! Keypoint sequences for sign language processing: the data model,
//! file formats, skeleton layouts and conversions, SCOPE preprocessing and rendering.

mod error;
mod model;

// File formats (pose-io).
pub mod format;
pub use format::{read_pose, read_pose_header, write_pose};

pub use error::PoseError;
pub use model::{Component, Pose, PoseBody, PoseHeader};
