//! Keypoint sequences for sign language processing: the data model,
//! file formats, skeleton layouts and conversions, SCOPE preprocessing and rendering.

mod error;
mod model;

// Skeleton layouts, conversion, SCOPE preprocessing, augmentation, rendering (pose-proc).
pub mod augment;
pub mod cli_proc;
pub mod convert;
pub mod preprocess;
pub mod render;
pub mod skeleton;

// File formats and `pose info` / `pose convert` (pose-io).
pub mod cli;
pub mod format;
pub mod info;
pub use format::{
    PoseFrameReader, PoseView, ReadOptions, ReadRange, read_any, read_pose, read_pose_header,
    read_pose_with, write_any, write_pose,
};

pub use error::PoseError;
pub use model::{Component, Pose, PoseBody, PoseHeader};
