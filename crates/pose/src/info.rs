//! `pose info`: what a keypoint file holds, for people (Display) and scripts (JSON).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::format::{FileFormat, ImportOptions, read_as};
use crate::{Pose, PoseBody, PoseError, PoseHeader, PoseView};

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
        let mut missing = vec![0usize; body.points()];
        // A body without points may still declare billions of (empty) frames: no rows to visit.
        if body.points() > 0 {
            for row in body.confidence.rows() {
                for (count, &c) in missing.iter_mut().zip(row) {
                    *count += usize::from(c == 0.0);
                }
            }
        }
        let is_pose = matches!(file_format, FileFormat::Pose | FileFormat::PoseHeader);
        PoseInfo::summarize(
            &pose.header,
            Counts {
                path,
                file_format,
                version: is_pose.then_some(pose.header.version),
                fps: body.fps,
                frames: body.frames(),
                people: body.people(),
                missing_per_point: &missing,
                non_finite: count_non_finite(body),
            },
        )
    }

    /// Summarise a `.pose` file from its zero-copy view: the counts come straight from the
    /// stored bytes, nothing is decoded into arrays.
    pub fn of_view(view: &PoseView, path: &str) -> PoseInfo {
        let missing = view.confidence().zeros_per_position(view.points());
        PoseInfo::summarize(
            view.header(),
            Counts {
                path,
                file_format: FileFormat::Pose,
                version: Some(view.header().version),
                fps: view.fps(),
                frames: view.frames(),
                people: view.people(),
                missing_per_point: &missing,
                non_finite: view.data().count_non_finite() + view.confidence().count_non_finite(),
            },
        )
    }

    fn summarize(header: &PoseHeader, counts: Counts) -> PoseInfo {
        let slots_per_point = (counts.frames * counts.people) as f64;
        let components = header
            .component_ranges()
            .map(|(offset, c)| {
                let missing: usize = counts
                    .missing_per_point
                    .get(offset..offset + c.points.len())
                    .map_or(0, |m| m.iter().sum());
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
        PoseInfo {
            path: counts.path.to_string(),
            file_format: counts.file_format.name().to_string(),
            version: counts.version,
            fps: counts.fps,
            frames: counts.frames,
            duration_s: if counts.fps > 0.0 {
                counts.frames as f64 / counts.fps as f64
            } else {
                0.0
            },
            people: counts.people,
            width: header.width,
            height: header.height,
            depth: header.depth,
            points: header.total_points(),
            dims: header.dims(),
            components,
            non_finite: counts.non_finite,
        }
    }
}

/// What [`PoseInfo::summarize`] needs beyond the header, however the body is held.
struct Counts<'a> {
    path: &'a str,
    file_format: FileFormat,
    version: Option<f32>,
    fps: f32,
    frames: usize,
    people: usize,
    /// Frames × people slots with confidence 0, per point.
    missing_per_point: &'a [usize],
    non_finite: usize,
}

/// NaN or ±inf values among coordinates and confidences.
pub fn count_non_finite(body: &PoseBody) -> usize {
    body.data
        .iter()
        .chain(body.confidence.iter())
        .filter(|v| !v.is_finite())
        .count()
}

/// Read any supported file and summarise it; `.pose` files are summarised from their
/// zero-copy view.
pub fn pose_info(path: impl AsRef<Path>, options: &ImportOptions) -> Result<PoseInfo, PoseError> {
    let path = path.as_ref();
    let format = FileFormat::detect(path).map_err(|e| e.in_file(path))?;
    let name = path.display().to_string();
    if format == FileFormat::Pose {
        return Ok(PoseInfo::of_view(&PoseView::open(path)?, &name));
    }
    let pose = read_as(path, format, options)?;
    Ok(PoseInfo::of_pose(&pose, &name, format))
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
