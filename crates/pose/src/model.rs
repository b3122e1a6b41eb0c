//! The in-memory keypoint sequence, shaped like pose-format's `Pose`:
//! a header that names components (points, limbs, colours) and a body of
//! `frames × people × points × dims` coordinates with per-point confidence.

use std::sync::Arc;

use ndarray::{Array3, Array4, ArrayView2, ArrayViewMut2, Axis, s};

use crate::PoseError;

/// One named group of points (e.g. `POSE_LANDMARKS`, `LEFT_HAND_LANDMARKS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    /// pose-format's point format, e.g. `"XYZC"`; the trailing `C` is the
    /// confidence channel, which is stored separately, not in `data`.
    pub format: String,
    pub points: Vec<String>,
    /// Pairs of point indices local to this component.
    pub limbs: Vec<(u16, u16)>,
    /// RGB colour per limb (pose-format stores u16 per channel).
    pub colors: Vec<[u16; 3]>,
}

impl Component {
    /// Coordinate dimensions this component stores (format length minus confidence).
    pub fn dims(&self) -> usize {
        self.format.len().saturating_sub(1)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoseHeader {
    /// The version read from the file (0.0, 0.1, 0.2); writers always emit 0.2.
    pub version: f32,
    pub width: u16,
    pub height: u16,
    pub depth: u16,
    pub components: Vec<Component>,
}

impl PoseHeader {
    /// Total point count over all components.
    pub fn total_points(&self) -> usize {
        self.components.iter().map(|c| c.points.len()).sum()
    }

    /// Coordinate dims of the body: the widest component format minus confidence.
    pub fn dims(&self) -> usize {
        self.components
            .iter()
            .map(Component::dims)
            .max()
            .unwrap_or(0)
    }

    /// Index of the first point of component `name` in the flattened point axis.
    pub fn component_offset(&self, name: &str) -> Option<usize> {
        let mut offset = 0;
        for c in &self.components {
            if c.name == name {
                return Some(offset);
            }
            offset += c.points.len();
        }
        None
    }

    /// Flattened index of point `point` in component `component`.
    pub fn point_index(&self, component: &str, point: &str) -> Option<usize> {
        let offset = self.component_offset(component)?;
        let c = self.components.iter().find(|c| c.name == component)?;
        c.points.iter().position(|p| p == point).map(|i| offset + i)
    }

    /// `(offset, component)` pairs in storage order.
    pub fn component_ranges(&self) -> impl Iterator<Item = (usize, &Component)> {
        self.components.iter().scan(0usize, |offset, c| {
            let start = *offset;
            *offset += c.points.len();
            Some((start, c))
        })
    }
}

/// Coordinates and confidences for every frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseBody {
    pub fps: f32,
    /// `[frames, people, points, dims]`
    pub data: Array4<f32>,
    /// `[frames, people, points]`; 0 means the point is missing.
    pub confidence: Array3<f32>,
}

impl PoseBody {
    pub fn frames(&self) -> usize {
        self.data.shape()[0]
    }
    pub fn people(&self) -> usize {
        self.data.shape()[1]
    }
    pub fn points(&self) -> usize {
        self.data.shape()[2]
    }
    pub fn dims(&self) -> usize {
        self.data.shape()[3]
    }

    /// `[points, dims]` coordinates of one person in one frame.
    pub fn frame_person(&self, frame: usize, person: usize) -> ArrayView2<'_, f32> {
        self.data.slice(s![frame, person, .., ..])
    }

    pub fn frame_person_mut(&mut self, frame: usize, person: usize) -> ArrayViewMut2<'_, f32> {
        self.data.slice_mut(s![frame, person, .., ..])
    }

    /// Duration in seconds (0 when fps is not positive).
    pub fn duration_s(&self) -> f64 {
        if self.fps > 0.0 {
            self.frames() as f64 / self.fps as f64
        } else {
            0.0
        }
    }

    /// Keep frames `start..end` (clamped to the body).
    pub fn slice_frames(&self, start: usize, end: usize) -> PoseBody {
        let end = end.min(self.frames());
        let start = start.min(end);
        PoseBody {
            fps: self.fps,
            data: self.data.slice(s![start..end, .., .., ..]).to_owned(),
            confidence: self.confidence.slice(s![start..end, .., ..]).to_owned(),
        }
    }

    /// Keep the given points, in the given order.
    pub fn select_points(&self, indices: &[usize]) -> PoseBody {
        PoseBody {
            fps: self.fps,
            data: self.data.select(Axis(2), indices),
            confidence: self.confidence.select(Axis(2), indices),
        }
    }
}

/// A keypoint sequence: header plus body.
///
/// The header is shared: files read with byte-identical headers (every clip of a
/// lexicon) point at one parsed header instead of each parsing and holding its
/// own hundreds of point names. Change it through [`Arc::make_mut`], which copies
/// it first when other poses share it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pose {
    pub header: Arc<PoseHeader>,
    pub body: PoseBody,
}

impl Pose {
    /// Build a pose and check that header and body agree.
    pub fn new(header: impl Into<Arc<PoseHeader>>, body: PoseBody) -> Result<Pose, PoseError> {
        let pose = Pose {
            header: header.into(),
            body,
        };
        pose.validate()?;
        Ok(pose)
    }

    /// Header/body consistency: point count, dims, confidence shape.
    pub fn validate(&self) -> Result<(), PoseError> {
        let points = self.header.total_points();
        let dims = self.header.dims();
        let shape = self.body.data.shape();
        if shape[2] != points {
            return Err(PoseError::Invalid(format!(
                "header declares {points} points but body has {}",
                shape[2]
            )));
        }
        if shape[3] != dims {
            return Err(PoseError::Invalid(format!(
                "header declares {dims} dims but body has {}",
                shape[3]
            )));
        }
        if self.body.confidence.shape() != &shape[..3] {
            return Err(PoseError::Invalid(format!(
                "confidence shape {:?} does not match data shape {:?}",
                self.body.confidence.shape(),
                shape
            )));
        }
        Ok(())
    }

    /// Keep only the named components (in the order given).
    pub fn select_components(&self, names: &[&str]) -> Result<Pose, PoseError> {
        let mut indices = Vec::new();
        let mut components = Vec::new();
        for name in names {
            let (offset, c) = self
                .header
                .component_ranges()
                .find(|(_, c)| c.name == *name)
                .ok_or_else(|| PoseError::Invalid(format!("no component named {name:?}")))?;
            indices.extend(offset..offset + c.points.len());
            components.push(c.clone());
        }
        let header = PoseHeader {
            components,
            ..PoseHeader::clone(&self.header)
        };
        let mut body = self.body.select_points(&indices);
        let dims = header.dims();
        if body.dims() > dims {
            body.data = body.data.slice(s![.., .., .., ..dims]).to_owned();
        }
        Pose::new(header, body)
    }
}
