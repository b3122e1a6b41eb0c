//! COCO-WholeBody-133 keypoint arrays as NumPy `.npy` / `.npz` files, the layout
//! DWPose, MMPose and TwoStream-SLR dump: `[T, 133, 3]` (x, y, score), also
//! `[T, people, 133, 3]`, a single frame `[133, 3]`, and `[T, 133, 2]` coordinates
//! with scores `[T, 133]` in a separate `.npz` entry.
//!
//! The `.npy` header is parsed here (it is a tiny Python dict literal) rather than
//! through a crate, so that the shape can be checked against the bytes present
//! before anything is allocated.

use std::io::Read;
use std::path::Path;

use ndarray::{Array3, Array4, ArrayD, Axis, IxDyn};

use crate::skeleton::Layout;
use crate::{Pose, PoseBody, PoseError};

use super::pose_file::write_atomic;
use super::{ImportOptions, MAX_IMPORT_BYTES};

pub const COCO_WHOLEBODY_POINTS: usize = 133;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A decoded `.npy` array of floats, in standard (C) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl NpyArray {
    /// Parse a `.npy` file held in memory. Accepts little/big-endian f4 and f8
    /// (f8 is narrowed to f32), C or Fortran order.
    pub fn from_bytes(bytes: &[u8]) -> Result<NpyArray, PoseError> {
        if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
            return Err(PoseError::Invalid(
                "not a .npy file (missing \\x93NUMPY magic)".into(),
            ));
        }
        let major = bytes[6];
        let (header_len, header_start) = match major {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
            2 | 3 => {
                let b = bytes
                    .get(8..12)
                    .ok_or_else(|| PoseError::Truncated(".npy header length".into()))?;
                (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
            }
            v => return Err(PoseError::Unsupported(format!(".npy format version {v}"))),
        };
        let header = bytes
            .get(header_start..header_start.saturating_add(header_len))
            .ok_or_else(|| {
                PoseError::Truncated(format!(
                    ".npy header of {header_len} bytes runs past the end"
                ))
            })?;
        let header = std::str::from_utf8(header)
            .map_err(|_| PoseError::Invalid(".npy header is not text".into()))?;
        let descr = dict_value(header, "descr")?
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string();
        let fortran = match dict_value(header, "fortran_order")? {
            "False" => false,
            "True" => true,
            v => return Err(PoseError::Invalid(format!(".npy fortran_order {v:?}"))),
        };
        let shape = parse_shape(dict_value(header, "shape")?)?;
        let (item, big_endian) = match descr.as_str() {
            "<f4" | "=f4" => (4, false),
            ">f4" => (4, true),
            "<f8" | "=f8" => (8, false),
            ">f8" => (8, true),
            d => {
                return Err(PoseError::Unsupported(format!(
                    ".npy dtype {d:?} (keypoint arrays must be float32 or float64)"
                )));
            }
        };
        let count = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n.checked_mul(item).is_some())
            .ok_or_else(|| PoseError::Invalid(format!(".npy shape {shape:?} overflows")))?;
        let data = &bytes[header_start + header_len..];
        if data.len() < count * item {
            return Err(PoseError::Truncated(format!(
                ".npy shape {shape:?} of {descr} needs {} bytes of data but the file holds {}",
                count * item,
                data.len()
            )));
        }
        let data = &data[..count * item];
        let values: Vec<f32> = match (item, big_endian) {
            (4, false) => super::pose_file::decode_f32s(data),
            (4, true) => data
                .chunks_exact(4)
                .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            (_, big) => data
                .chunks_exact(8)
                .map(|b| {
                    let b: [u8; 8] = b.try_into().expect("chunks of 8");
                    (if big {
                        f64::from_be_bytes(b)
                    } else {
                        f64::from_le_bytes(b)
                    }) as f32
                })
                .collect(),
        };
        if !fortran {
            return Ok(NpyArray { shape, values });
        }
        let reversed: Vec<usize> = shape.iter().rev().copied().collect();
        let array = ArrayD::from_shape_vec(IxDyn(&reversed), values)
            .map_err(|e| PoseError::Invalid(e.to_string()))?
            .reversed_axes();
        Ok(NpyArray {
            shape,
            values: array.as_standard_layout().iter().copied().collect(),
        })
    }

    /// Encode as a version-1.0 `.npy` file of little-endian float32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let dims: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        // numpy pads the header with spaces so the data starts 64-byte aligned, ending in '\n'.
        let unpadded = MAGIC.len() + 4 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + self.values.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend(self.values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }
}

/// The text of `key`'s value in the `.npy` header dict.
fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str, PoseError> {
    let missing = || PoseError::Invalid(format!(".npy header has no {key:?}: {header:?}"));
    let at = ["'", "\""]
        .iter()
        .find_map(|q| header.find(&format!("{q}{key}{q}")))
        .ok_or_else(missing)?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')
        .ok_or_else(missing)?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(missing)?;
    Ok(rest[..end].trim())
}

fn parse_shape(text: &str) -> Result<Vec<usize>, PoseError> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| PoseError::Invalid(format!(".npy shape {text:?} is not a tuple")))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| PoseError::Invalid(format!(".npy shape {text:?} has a bad dimension")))
        })
        .collect()
}

/// Build a COCO-WholeBody pose from keypoints `[.., 133, 3]` (x, y, score) or
/// `[.., 133, 2]` plus `scores` `[.., 133]`. Leading axes: none (one frame),
/// `T`, or `T, people`. Without scores every point gets confidence 1.
pub fn coco_wholebody_pose(
    keypoints: &NpyArray,
    scores: Option<&NpyArray>,
    options: &ImportOptions,
) -> Result<Pose, PoseError> {
    let shape = &keypoints.shape;
    let (lead, tail) = shape.split_at(shape.len().saturating_sub(2));
    let (points, channels) = match tail {
        [p, c] => (*p, *c),
        _ => {
            return Err(PoseError::Invalid(format!(
                "keypoint array of shape {shape:?}: expected [T, 133, 3]"
            )));
        }
    };
    if points != COCO_WHOLEBODY_POINTS {
        let hint = if points == 134 {
            " (134 points is DWPose's ControlNet variant with an inserted neck; drop index 17)"
        } else {
            ""
        };
        return Err(PoseError::Invalid(format!(
            "keypoint array of shape {shape:?} has {points} points, expected COCO-WholeBody's 133{hint}"
        )));
    }
    let (frames, people) = match lead {
        [] => (1, 1),
        [t] => (*t, 1),
        [t, p] => (*t, *p),
        _ => {
            return Err(PoseError::Invalid(format!(
                "keypoint array of shape {shape:?} has too many axes (expected [T, people, 133, 3] at most)"
            )));
        }
    };
    let n = frames * people * points;
    let confidence: Vec<f32> = match (channels, scores) {
        (3, _) => keypoints
            .values
            .iter()
            .skip(2)
            .step_by(3)
            .copied()
            .collect(),
        (2, Some(s)) if s.values.len() == n => s.values.clone(),
        (2, Some(s)) => {
            return Err(PoseError::Invalid(format!(
                "scores of shape {:?} do not match keypoints of shape {shape:?}",
                s.shape
            )));
        }
        (2, None) => vec![1.0; n],
        (c, _) => {
            return Err(PoseError::Invalid(format!(
                "keypoint array of shape {shape:?} has {c} channels, expected 3 (x, y, score) or 2 (x, y)"
            )));
        }
    };
    let data: Vec<f32> = keypoints
        .values
        .chunks_exact(channels)
        .flat_map(|v| [v[0], v[1]])
        .collect();
    let body = PoseBody {
        fps: options.fps,
        data: Array4::from_shape_vec((frames, people, points, 2), data)
            .map_err(|e| PoseError::Invalid(e.to_string()))?,
        confidence: Array3::from_shape_vec((frames, people, points), confidence)
            .map_err(|e| PoseError::Invalid(e.to_string()))?,
    };
    let header = Layout::CocoWholeBody133.header(options.width, options.height, 0);
    Pose::new(header, body)
}

/// Read a `.npy` keypoint array into a COCO-WholeBody pose.
pub fn read_npy(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let read = || {
        let bytes = std::fs::read(path)?;
        coco_wholebody_pose(&NpyArray::from_bytes(&bytes)?, None, options)
    };
    read().map_err(|e| e.in_file(path))
}

/// Entry names tried for the keypoints and the scores of an `.npz` archive.
const NPZ_KEYPOINT_NAMES: [&str; 4] = ["keypoints", "kpts", "pose", "arr_0"];
const NPZ_SCORE_NAMES: [&str; 4] = ["keypoint_scores", "scores", "score", "arr_1"];

/// Read an `.npz` archive: its only array, or `keypoints` (+ `keypoint_scores` / `scores`).
pub fn read_npz(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let read = || pose_from_npz_bytes(&std::fs::read(path)?, options);
    read().map_err(|e| e.in_file(path))
}

/// Decode an `.npz` archive held in memory (see [`read_npz`]).
pub fn pose_from_npz_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Pose, PoseError> {
    let zip_error = |e: zip::result::ZipError| PoseError::Invalid(format!(".npz archive: {e}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_error)?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.trim_end_matches(".npy").to_string()))
        .collect::<Result<_, _>>()
        .map_err(zip_error)?;
    let pick = |candidates: &[&'static str]| -> Option<&'static str> {
        candidates
            .iter()
            .find(|c| names.iter().any(|n| n == *c))
            .copied()
    };
    let keypoints_name = if names.len() == 1 {
        names[0].clone()
    } else {
        pick(&NPZ_KEYPOINT_NAMES)
            .ok_or_else(|| {
                PoseError::Invalid(format!(
                    ".npz holds {names:?}; expected one array or one named {NPZ_KEYPOINT_NAMES:?}"
                ))
            })?
            .to_string()
    };
    let mut entry = |name: &str| -> Result<NpyArray, PoseError> {
        let mut file = archive.by_name(&format!("{name}.npy")).map_err(zip_error)?;
        if file.size() > MAX_IMPORT_BYTES {
            return Err(PoseError::Invalid(format!(
                ".npz entry {name} claims {} bytes, over the import limit of {MAX_IMPORT_BYTES}",
                file.size()
            )));
        }
        let declared = file.size();
        let mut buf = Vec::new();
        // `take` guards against an entry that inflates past its declared size.
        (&mut file)
            .take(declared + 1)
            .read_to_end(&mut buf)
            .map_err(|e| PoseError::Invalid(format!(".npz entry {name}: {e}")))?;
        if buf.len() as u64 > declared {
            return Err(PoseError::Invalid(format!(
                ".npz entry {name} inflates past its declared {declared} bytes"
            )));
        }
        NpyArray::from_bytes(&buf)
            .map_err(|e| PoseError::Invalid(format!(".npz entry {name}: {e}")))
    };
    let keypoints = entry(&keypoints_name)?;
    let scores = match keypoints.shape.last() {
        Some(2) => pick(&NPZ_SCORE_NAMES).map(&mut entry).transpose()?,
        _ => None,
    };
    coco_wholebody_pose(&keypoints, scores.as_ref(), options)
}

/// Write a COCO-WholeBody pose as `[T, 133, 3]` float32 (x, y, score), or
/// `[T, people, 133, 3]` when it has several people.
pub fn write_npy(path: impl AsRef<Path>, pose: &Pose) -> Result<(), PoseError> {
    let path = path.as_ref();
    let write = || {
        let array = coco_wholebody_array(pose)?;
        write_atomic(path, |w| {
            std::io::Write::write_all(w, &array.to_bytes())?;
            Ok(())
        })
    };
    write().map_err(|e| e.in_file(path))
}

/// The `[T, (people,) 133, 3]` array of a COCO-WholeBody pose.
pub fn coco_wholebody_array(pose: &Pose) -> Result<NpyArray, PoseError> {
    if Layout::detect(&pose.header) != Some(Layout::CocoWholeBody133) {
        return Err(PoseError::Unsupported(format!(
            ".npy export writes COCO-WholeBody-133 only; this pose has components {:?} \
             (convert it to coco-wb first)",
            pose.header
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
        )));
    }
    let body = &pose.body;
    let (frames, people, points) = (body.frames(), body.people(), body.points());
    let mut values = Vec::with_capacity(frames * people * points * 3);
    for (xy, c) in body
        .data
        .lanes(Axis(3))
        .into_iter()
        .zip(body.confidence.iter())
    {
        values.extend([xy[0], xy[1], *c]);
    }
    let shape = if people == 1 {
        vec![frames, points, 3]
    } else {
        vec![frames, people, points, 3]
    };
    Ok(NpyArray { shape, values })
}
