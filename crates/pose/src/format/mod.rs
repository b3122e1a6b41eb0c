//! File formats: pose-format's `.pose`, COCO-WholeBody NumPy arrays, MMPose and
//! OpenPose JSON. [`read_any`] picks the reader from the path and contents.

pub mod json;
pub mod npy;
pub mod pose_file;

use std::path::Path;

use crate::{Pose, PoseError};

pub use json::{read_mmpose_json, read_openpose_dir, read_openpose_json};
pub use npy::{NpyArray, read_npy, read_npz, write_npy};
pub use pose_file::{
    FormatVersion, LeF32s, NonFinite, PoseFrame, PoseFrameReader, PoseView, ReadOptions, ReadRange,
    read_pose, read_pose_header, read_pose_with, write_pose, write_pose_header, write_pose_to,
};

/// Largest `.npz` entry the importers inflate.
pub const MAX_IMPORT_BYTES: u64 = 4 << 30;

/// What formats without a header do not say. Defaults are pose-format's
/// (`load_openpose` / `estimate_mmpose_wholebody`: 24 fps, 1000 × 1000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportOptions {
    pub fps: f32,
    pub width: u16,
    pub height: u16,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            fps: 24.0,
            width: 1000,
            height: 1000,
        }
    }
}

/// The keypoint file formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// pose-format `.pose` (v0.0, 0.1, 0.2).
    Pose,
    /// pose-format header only.
    PoseHeader,
    /// NumPy `[T, 133, 3]` COCO-WholeBody.
    Npy,
    /// NumPy archive holding such an array (and maybe separate scores).
    Npz,
    /// MMPose / DWPose predictions JSON.
    MmposeJson,
    /// One OpenPose `*_keypoints.json` frame.
    OpenposeJson,
    /// A directory of OpenPose `*_keypoints.json` frames.
    OpenposeDir,
}

impl FileFormat {
    /// Decide from the extension, else from the first bytes.
    pub fn detect(path: &Path) -> Result<FileFormat, PoseError> {
        if path.is_dir() {
            return Ok(FileFormat::OpenposeDir);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("pose") => return Ok(FileFormat::Pose),
            Some("poseheader") => return Ok(FileFormat::PoseHeader),
            Some("npy") => return Ok(FileFormat::Npy),
            Some("npz") => return Ok(FileFormat::Npz),
            _ => {}
        }
        let mut head = [0u8; 4096];
        let n = std::io::Read::read(&mut std::fs::File::open(path)?, &mut head)?;
        FileFormat::sniff(&head[..n]).ok_or_else(|| {
            PoseError::Unsupported("cannot tell the keypoint format of this file".into())
        })
    }

    /// Guess the format of a file from its first bytes.
    pub fn sniff(head: &[u8]) -> Option<FileFormat> {
        if head.starts_with(b"\x93NUMPY") {
            return Some(FileFormat::Npy);
        }
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Some(FileFormat::Npz);
        }
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            // OpenPose frames are objects with a "people" list; everything else is MMPose.
            let openpose = trimmed.starts_with('{') && text.contains("\"people\"");
            return Some(if openpose {
                FileFormat::OpenposeJson
            } else {
                FileFormat::MmposeJson
            });
        }
        let version = f32::from_le_bytes(head.get(..4)?.try_into().ok()?);
        pose_file::FormatVersion::from_header_version(version)
            .ok()
            .map(|_| FileFormat::Pose)
    }

    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Pose => "pose",
            FileFormat::PoseHeader => "poseheader",
            FileFormat::Npy => "npy",
            FileFormat::Npz => "npz",
            FileFormat::MmposeJson => "mmpose-json",
            FileFormat::OpenposeJson => "openpose-json",
            FileFormat::OpenposeDir => "openpose-dir",
        }
    }
}

/// Read any supported keypoint file (or OpenPose directory) into a [`Pose`].
/// A `.poseheader` file gives a pose with no frames.
pub fn read_any(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let format = FileFormat::detect(path).map_err(|e| e.in_file(path))?;
    read_as(path, format, options)
}

/// Read `path` as the given format.
pub fn read_as(
    path: &Path,
    format: FileFormat,
    options: &ImportOptions,
) -> Result<Pose, PoseError> {
    match format {
        FileFormat::Pose => read_pose(path),
        FileFormat::PoseHeader => {
            let header = read_pose_header(path)?;
            let body = crate::PoseBody {
                fps: 0.0,
                data: ndarray::Array4::zeros((0, 1, header.total_points(), header.dims())),
                confidence: ndarray::Array3::zeros((0, 1, header.total_points())),
            };
            Pose::new(header, body).map_err(|e| e.in_file(path))
        }
        FileFormat::Npy => read_npy(path, options),
        FileFormat::Npz => read_npz(path, options),
        FileFormat::MmposeJson => read_mmpose_json(path, options),
        FileFormat::OpenposeJson => read_openpose_json(path, options),
        FileFormat::OpenposeDir => read_openpose_dir(path, options),
    }
}

/// Write `pose` in the format named by the extension: `.pose` (v0.2) or `.npy`
/// (COCO-WholeBody `[T, 133, 3]`).
pub fn write_any(path: impl AsRef<Path>, pose: &Pose) -> Result<(), PoseError> {
    let path = path.as_ref();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("pose") => write_pose(path, pose),
        Some("poseheader") => write_pose_header(path, &pose.header),
        Some("npy") => write_npy(path, pose),
        _ => Err(PoseError::Unsupported(
            "can write .pose, .poseheader and .npy (COCO-WholeBody) files".into(),
        )
        .in_file(path)),
    }
}
