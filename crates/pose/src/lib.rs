//! Keypoint sequences for sign language processing: the data model,
//! file formats, skeleton layouts and conversions, SCOPE preprocessing and rendering.

mod error;
mod model;

pub use error::PoseError;
pub use model::{Component, Pose, PoseBody, PoseHeader};
