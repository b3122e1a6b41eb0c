//! File formats: pose-format's `.pose`, COCO-WholeBody NumPy arrays, MMPose and
//! OpenPose JSON.

pub mod pose_file;

pub use pose_file::{
    FormatVersion, NonFinite, PoseFrame, PoseFrameReader, ReadOptions, ReadRange, read_pose,
    read_pose_header, read_pose_with, write_pose, write_pose_header, write_pose_to,
};
