//! `pose info`: what a keypoint file holds, for people (Display) and scripts (JSON).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::format::{FileFormat, ImportOptions, read_as};
use crate::{Pose, PoseBody, PoseError};

/// Summary of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentInfo {
    pub name: String,
    pub format: String,
    pub points: usize,
    pub limbs: usize,
    /// Share of this component's point slots (frames × people × points) with confidence 0.
    pub missing_rate: f64,
}

/// Summary of a keypoint file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoseInfo {
    pub path: String,
    /// Detected file format (`pose`, `npy`, `mmpose-json`, …).
    pub file_format: String,
    /// `.pose` version as stored (0.0, 0.1, 0.2); `None` for other formats.
    pub version: Option<f32>,
    pub fps: f32,
    pub frames: usize,
    pub duration_s: f64,
    pub people: usize,
    pub width: u16,
    pub height: u16,
    pub depth: u16,
    pub points: usize,
    pub dims: usize,
    pub components: Vec<ComponentInfo>,
    /// NaN or ±inf values among coordinates and confidences.
    pub non_finite: usize,
}

impl PoseInfo {
    /// Summarise a decoded pose.
    pub fn of_pose(pose: &Pose, path: &str, file_format: FileFormat) -> PoseInfo {
        let body = &pose.body;
        let slots_per_point = (body.frames() * body.people()) as f64;
        let components = pose
            .header
            .component_ranges()
            .map(|(offset, c)| {
                let range = offset..offset + c.points.len();
                let missing = body
                    .confidence
                    .indexed_iter()
                    .filter(|((_, _, p), v)| range.contains(p) && **v == 0.0)
                    .count();
                let slots = slots_per_point * c.points.len() as f64;
                ComponentInfo {
                    name: c.name.clone(),
                    format: c.format.clone(),
                    points: c.points.len(),
                    limbs: c.limbs.len(),
                    missing_rate: if slots > 0.0 {
                        missing as f64 / slots
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let non_finite = count_non_finite(body);
        PoseInfo {
            path: path.to_string(),
            file_format: file_format.name().to_string(),
            version: matches!(file_format, FileFormat::Pose | FileFormat::PoseHeader)
                .then_some(pose.header.version),
            fps: body.fps,
            frames: body.frames(),
            duration_s: body.duration_s(),
            people: body.people(),
            width: pose.header.width,
            height: pose.header.height,
            depth: pose.header.depth,
            points: pose.header.total_points(),
            dims: pose.header.dims(),
            components,
            non_finite,
        }
    }
}

/// NaN or ±inf values among coordinates and confidences.
pub fn count_non_finite(body: &PoseBody) -> usize {
    body.data
        .iter()
        .chain(body.confidence.iter())
        .filter(|v| !v.is_finite())
        .count()
}

/// Read any supported file and summarise it.
pub fn pose_info(path: impl AsRef<Path>, options: &ImportOptions) -> Result<PoseInfo, PoseError> {
    let path = path.as_ref();
    let format = FileFormat::detect(path).map_err(|e| e.in_file(path))?;
    let pose = read_as(path, format, options)?;
    Ok(PoseInfo::of_pose(
        &pose,
        &path.display().to_string(),
        format,
    ))
}

impl fmt::Display for PoseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.file_format)?;
        if let Some(v) = self.version {
            write!(f, " v{v:.1}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {} frames at {} fps ({:.2} s), {} people, {}×{}×{}",
            self.frames,
            self.fps,
            self.duration_s,
            self.people,
            self.width,
            self.height,
            self.depth
        )?;
        writeln!(
            f,
            "  {} points × {} dims, {} non-finite values",
            self.points, self.dims, self.non_finite
        )?;
        for c in &self.components {
            writeln!(
                f,
                "  {:<24} {:<5} {:>4} points {:>4} limbs  {:>5.1}% missing",
                c.name,
                c.format,
                c.points,
                c.limbs,
                c.missing_rate * 100.0
            )?;
        }
        Ok(())
    }
}
