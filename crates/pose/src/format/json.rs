//! Per-frame keypoint JSON: MMPose/DWPose predictions (COCO-WholeBody-133) and
//! OpenPose `*_keypoints.json` directories (OpenPose-137, as pose-format loads them).

use std::path::Path;

use ndarray::{Array3, Array4};
use serde_json::Value;

use crate::skeleton::Layout;
use crate::{Pose, PoseBody, PoseError};

use super::ImportOptions;
use super::npy::COCO_WHOLEBODY_POINTS;

/// One person's points in one frame: `(x, y, confidence)` per point.
type PersonPoints = Vec<[f32; 3]>;

/// Stack per-frame people into a pose body; absent people/points get confidence 0.
fn stack_frames(
    frames: &[Vec<PersonPoints>],
    points: usize,
    fps: f32,
) -> Result<PoseBody, PoseError> {
    let people = frames.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut data = Array4::<f32>::zeros((frames.len(), people, points, 2));
    let mut confidence = Array3::<f32>::zeros((frames.len(), people, points));
    for (f, frame) in frames.iter().enumerate() {
        for (p, person) in frame.iter().enumerate() {
            for (k, &[x, y, c]) in person.iter().enumerate().take(points) {
                data[[f, p, k, 0]] = x;
                data[[f, p, k, 1]] = y;
                confidence[[f, p, k]] = c;
            }
        }
    }
    Ok(PoseBody {
        fps,
        data,
        confidence,
    })
}

fn number(v: &Value, what: &str) -> Result<f32, PoseError> {
    v.as_f64()
        .map(|x| x as f32)
        .ok_or_else(|| PoseError::Invalid(format!("{what}: expected a number, got {v}")))
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, PoseError> {
    v.as_array()
        .ok_or_else(|| PoseError::Invalid(format!("{what}: expected a list")))
}

// ---------------------------------------------------------------------------
// MMPose

/// Read MMPose / DWPose JSON predictions. Accepted shapes:
/// `{"instance_info": [{"frame_id", "instances": [...]}, ...], "meta_info": ...}` (MMPose demos),
/// `[{"frame_id", "instances": [...]}, ...]`, `[[instance, ...], ...]` (one list per frame) and
/// `[instance, ...]` (one image). An instance holds `keypoints` `[[x, y], ...]` (133) and
/// `keypoint_scores` `[...]`; frames keep the order of the file.
pub fn read_mmpose_json(
    path: impl AsRef<Path>,
    options: &ImportOptions,
) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let read = || mmpose_from_bytes(&std::fs::read(path)?, options);
    read().map_err(|e| e.in_file(path))
}

pub fn mmpose_from_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Pose, PoseError> {
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| PoseError::Invalid(format!("JSON: {e}")))?;
    let frames_value = match &root {
        Value::Object(o) => o.get("instance_info").ok_or_else(|| {
            PoseError::Invalid("MMPose JSON object without \"instance_info\"".into())
        })?,
        v => v,
    };
    let list = array(frames_value, "MMPose predictions")?;
    let is_instance = |v: &Value| v.get("keypoints").is_some();
    let frame_lists: Vec<&Vec<Value>> = if !list.is_empty() && list.iter().all(is_instance) {
        vec![list]
    } else {
        list.iter()
            .enumerate()
            .map(|(i, f)| match f {
                Value::Array(instances) => Ok(instances),
                Value::Object(o) => o
                    .get("instances")
                    .and_then(Value::as_array)
                    .ok_or_else(|| PoseError::Invalid(format!("frame {i}: no \"instances\" list"))),
                _ => Err(PoseError::Invalid(format!(
                    "frame {i}: expected a list or an object"
                ))),
            })
            .collect::<Result<_, _>>()?
    };
    let frames = frame_lists
        .iter()
        .enumerate()
        .map(|(f, instances)| {
            instances
                .iter()
                .enumerate()
                .map(|(p, inst)| mmpose_instance(inst, &format!("frame {f} instance {p}")))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = stack_frames(&frames, COCO_WHOLEBODY_POINTS, options.fps)?;
    Pose::new(
        Layout::CocoWholeBody133.header(options.width, options.height, 0),
        body,
    )
}

fn mmpose_instance(inst: &Value, what: &str) -> Result<PersonPoints, PoseError> {
    let keypoints = array(&inst["keypoints"], &format!("{what} keypoints"))?;
    if keypoints.len() != COCO_WHOLEBODY_POINTS {
        return Err(PoseError::Invalid(format!(
            "{what}: {} keypoints, expected COCO-WholeBody's 133",
            keypoints.len()
        )));
    }
    let scores = match inst.get("keypoint_scores") {
        Some(s) => Some(array(s, &format!("{what} keypoint_scores"))?),
        None => None,
    };
    if let Some(s) = scores
        && s.len() != keypoints.len()
    {
        return Err(PoseError::Invalid(format!(
            "{what}: {} keypoint_scores for {} keypoints",
            s.len(),
            keypoints.len()
        )));
    }
    keypoints
        .iter()
        .enumerate()
        .map(|(k, point)| {
            let xy = array(point, what)?;
            if xy.len() < 2 {
                return Err(PoseError::Invalid(format!(
                    "{what} keypoint {k}: fewer than 2 coordinates"
                )));
            }
            // Without scores a point counts as present.
            let c = match scores {
                Some(s) => number(&s[k], what)?,
                None => 1.0,
            };
            Ok([number(&xy[0], what)?, number(&xy[1], what)?, c])
        })
        .collect()
}

// ---------------------------------------------------------------------------
// OpenPose

/// Component names and point counts of OpenPose-137, as pose-format names them.
const OPENPOSE_COMPONENTS: [(&str, usize); 4] = [
    ("pose_keypoints_2d", 25),
    ("face_keypoints_2d", 70),
    ("hand_left_keypoints_2d", 21),
    ("hand_right_keypoints_2d", 21),
];

/// The frame id of an OpenPose file name: the digits right before `_keypoints.json`
/// (pose-format's pattern `(?:^|\D)(\d+)_keypoints.json`).
pub fn openpose_frame_id(file_name: &str) -> Option<usize> {
    let stem = file_name.strip_suffix("_keypoints.json")?;
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    stem[stem.len() - digits..].parse().ok()
}

/// Read a directory of OpenPose `*_keypoints.json` files, one per frame, as
/// pose-format's `load_openpose_directory` does: frame `i` comes from the file whose
/// name ends in `i_keypoints.json`, frames without a file stay empty (confidence 0),
/// and the frame count is the largest id + 1. Unlike pose-format, a component given
/// as an empty list (e.g. face detection off) leaves its points empty instead of
/// shifting the following components.
pub fn read_openpose_dir(
    dir: impl AsRef<Path>,
    options: &ImportOptions,
) -> Result<Pose, PoseError> {
    let dir = dir.as_ref();
    let read = || -> Result<Pose, PoseError> {
        let mut frames: Vec<(usize, Vec<PersonPoints>)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(openpose_frame_id)
            else {
                continue;
            };
            let bytes = std::fs::read(&path)?;
            frames.push((id, openpose_people(&bytes).map_err(|e| e.in_file(&path))?));
        }
        let Some(last) = frames.iter().map(|(id, _)| *id).max() else {
            return Err(PoseError::Invalid("no *_keypoints.json files".into()));
        };
        if last >= frames.len().saturating_mul(16).max(1 << 20) {
            return Err(PoseError::Invalid(format!(
                "frame id {last} is far beyond the {} files present",
                frames.len()
            )));
        }
        let mut by_id = vec![Vec::new(); last + 1];
        for (id, people) in frames {
            by_id[id] = people;
        }
        openpose_pose(&by_id, options)
    };
    read().map_err(|e| e.in_file(dir))
}

/// Read one OpenPose `*_keypoints.json` file as a one-frame pose.
pub fn read_openpose_json(
    path: impl AsRef<Path>,
    options: &ImportOptions,
) -> Result<Pose, PoseError> {
    let path = path.as_ref();
    let read = || openpose_pose(&[openpose_people(&std::fs::read(path)?)?], options);
    read().map_err(|e| e.in_file(path))
}

fn openpose_pose(frames: &[Vec<PersonPoints>], options: &ImportOptions) -> Result<Pose, PoseError> {
    let points = OPENPOSE_COMPONENTS.iter().map(|(_, n)| n).sum();
    let body = stack_frames(frames, points, options.fps)?;
    Pose::new(
        Layout::OpenPose137.header(options.width, options.height, 0),
        body,
    )
}

/// The people of one OpenPose frame file, each as 137 `(x, y, c)` points.
pub fn openpose_people(bytes: &[u8]) -> Result<Vec<PersonPoints>, PoseError> {
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| PoseError::Invalid(format!("JSON: {e}")))?;
    let people = array(&root["people"], "OpenPose \"people\"")?;
    people
        .iter()
        .enumerate()
        .map(|(p, person)| {
            let mut points = Vec::with_capacity(137);
            for (name, count) in OPENPOSE_COMPONENTS {
                let what = format!("person {p} {name}");
                let numbers = match person.get(name) {
                    None | Some(Value::Null) => &Vec::new(),
                    Some(v) => array(v, &what)?,
                };
                if numbers.is_empty() {
                    points.extend(std::iter::repeat_n([0.0; 3], count));
                    continue;
                }
                if numbers.len() != count * 3 {
                    return Err(PoseError::Invalid(format!(
                        "{what}: {} numbers, expected {count} points × (x, y, c)",
                        numbers.len()
                    )));
                }
                for xyc in numbers.chunks_exact(3) {
                    points.push([
                        number(&xyc[0], &what)?,
                        number(&xyc[1], &what)?,
                        number(&xyc[2], &what)?,
                    ]);
                }
            }
            Ok(points)
        })
        .collect()
}
