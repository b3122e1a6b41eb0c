//! SCOPE's data processing (paper §"Data Processing"): eye-width ("iris") scale
//! normalization (eq. 7), selection of 77 keypoints in 5 groups with group-wise
//! centralization (eq. 8), and per-point standardization with training-set statistics
//! (eq. 9). Every step can be switched off through [`ScopeConfig`] for ablations.
//!
//! Input is any pose [`to_coco_wholebody`] accepts (DWPose's COCO-WholeBody-133, Holistic,
//! OpenPose); output is a [`KeypointSeq`] of shape `[T, 77, 2]` for person 0.

use std::path::Path;

use ndarray::{Array2, Array3, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::convert::to_coco_wholebody;
use crate::skeleton::{COCO_BODY_POINTS, Layout, coco, component};
use crate::{Component, Pose, PoseBody, PoseError, PoseHeader};

/// A 2D keypoint sequence of one person, the form models and augmentations consume.
#[derive(Debug, Clone, PartialEq)]
pub struct KeypointSeq {
    pub fps: f32,
    /// `[T, N, 2]` x, y.
    pub data: Array3<f32>,
    /// `[T, N]`; 0 = missing.
    pub confidence: Array2<f32>,
}

impl KeypointSeq {
    pub fn frames(&self) -> usize {
        self.data.shape()[0]
    }
    pub fn points(&self) -> usize {
        self.data.shape()[1]
    }

    /// x, y of person `person` (the first two dims of the body).
    pub fn from_pose(pose: &Pose, person: usize) -> Result<KeypointSeq, PoseError> {
        let body = &pose.body;
        if person >= body.people() {
            return Err(PoseError::Invalid(format!(
                "person {person} requested but the pose has {} people",
                body.people()
            )));
        }
        if body.dims() < 2 {
            return Err(PoseError::Invalid(format!(
                "need at least 2 coordinate dims, the pose has {}",
                body.dims()
            )));
        }
        let data = body.data.slice(ndarray::s![.., person, .., ..2]).to_owned();
        let confidence = body
            .confidence
            .slice(ndarray::s![.., person, ..])
            .to_owned();
        Ok(KeypointSeq {
            fps: body.fps,
            data,
            confidence,
        })
    }

    /// `[T, N, 3]`: x, y and confidence, the usual model input with a visibility channel.
    pub fn with_confidence_channel(&self) -> Array3<f32> {
        let (t, n) = (self.frames(), self.points());
        Array3::from_shape_fn((t, n, 3), |(t, i, c)| {
            if c < 2 {
                self.data[[t, i, c]]
            } else {
                self.confidence[[t, i]]
            }
        })
    }

    /// Wrap as a one-person `XYC` pose with `header` (which must have N points), e.g. for
    /// rendering or writing with `write_pose`.
    pub fn to_pose(&self, header: PoseHeader) -> Result<Pose, PoseError> {
        let (t, n) = (self.frames(), self.points());
        let data = self
            .data
            .clone()
            .into_shape_with_order((t, 1, n, 2))
            .map_err(|e| PoseError::Invalid(e.to_string()))?;
        let confidence = self
            .confidence
            .clone()
            .into_shape_with_order((t, 1, n))
            .map_err(|e| PoseError::Invalid(e.to_string()))?;
        Pose::new(
            header,
            PoseBody {
                fps: self.fps,
                data,
                confidence,
            },
        )
    }
}

// ---------------------------------------------------------------------------------------
// Eq. 7: eye-width scale normalization.

/// How the scale of eq. 7 is measured. The paper divides x, y by `|x63 − x64|`, "the left
/// and right wings of the eyelid" in COCO-WholeBody. Read 0-based, 63/64 are face-40/41
/// (two points of the right eye's lower lid); read 1-based, face-39/40 (inner corner and a
/// lower-lid point). Either way both points lie on one eye, only x is used, and the distance
/// collapses when the head turns or the lid moves, so the literal readings give a noisy,
/// sometimes near-zero per-frame scale.
///
/// The default, [`EyeScale::EyeCornerMedian`], measures what the paper intends — the size
/// of the eye as a stable body ruler — geometrically soundly: the Euclidean corner-to-corner
/// width of each eye (right eye face-36↔39, left eye face-42↔45), averaged over the eyes
/// present in a frame, then the median over frames: one scale per sequence, robust to
/// blinks and detector jitter.
///
/// Fallbacks (never NaN/inf): a frame with one eye missing or of zero width uses the other
/// eye; a sequence with no valid eye uses shoulder width / [`SHOULDER_WIDTH_IN_EYE_WIDTHS`];
/// with neither, coordinates stay unscaled (scale 1). Per-frame modes fall back to the
/// sequence scale in frames where their own measurement is missing or degenerate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EyeScale {
    /// No scaling (ablation "w/o iris normalization").
    None,
    /// Median over frames of the mean corner-to-corner eye width (default).
    #[default]
    EyeCornerMedian,
    /// Corner-to-corner eye width of each frame (the paper's per-frame `J_t^scaled`).
    EyeCornerPerFrame,
    /// Paper-literal, 0-based: `|x[63] − x[64]|` per frame (face-40, face-41).
    PaperIndex0Based,
    /// Paper-literal, 1-based: `|x[62] − x[63]|` per frame (face-39, face-40).
    PaperIndex1Based,
}

/// Shoulder width measured in eye widths: median of per-sequence medians of
/// |shoulder_L − shoulder_R| / mean eye-corner width over example.pose and the first 200
/// spoken-to-signed fingerspelling files (201 sequences; median 11.31, 10th–90th
/// percentile 10.85–11.67). Used only when no eye is visible in a whole sequence.
pub const SHOULDER_WIDTH_IN_EYE_WIDTHS: f32 = 11.3;

/// Where a sequence scale came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleSource {
    Eyes,
    Shoulders,
    Unscaled,
}

/// Smallest length accepted as a scale; anything shorter counts as degenerate.
const MIN_SCALE: f32 = 1e-6;

fn valid_length(len: f32) -> Option<f32> {
    (len.is_finite() && len > MIN_SCALE).then_some(len)
}

fn present(confidence: &ArrayView2<f32>, t: usize, i: usize) -> bool {
    confidence[[t, i]] > 0.0
}

fn distance(data: &Array3<f32>, t: usize, a: usize, b: usize) -> f32 {
    let dx = data[[t, a, 0]] - data[[t, b, 0]];
    let dy = data[[t, a, 1]] - data[[t, b, 1]];
    (dx * dx + dy * dy).sqrt()
}

/// Mean corner-to-corner eye width in frame `t` of a COCO-WholeBody sequence, if any eye
/// is present with non-zero width.
fn frame_eye_width(seq: &KeypointSeq, t: usize) -> Option<f32> {
    const EYES: [(usize, usize); 2] = [
        (coco::face(36), coco::face(39)),
        (coco::face(42), coco::face(45)),
    ];
    let conf = seq.confidence.view();
    let (mut sum, mut n) = (0.0, 0);
    for (a, b) in EYES {
        if present(&conf, t, a)
            && present(&conf, t, b)
            && let Some(w) = valid_length(distance(&seq.data, t, a, b))
        {
            sum += w;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f32)
}

fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        0.5 * (values[mid - 1] + values[mid])
    })
}

/// The robust per-sequence scale (eyes → shoulders → 1) of a COCO-WholeBody sequence.
pub fn sequence_scale(seq: &KeypointSeq) -> (f32, ScaleSource) {
    let mut eyes: Vec<f32> = (0..seq.frames())
        .filter_map(|t| frame_eye_width(seq, t))
        .collect();
    if let Some(s) = median(&mut eyes).and_then(valid_length) {
        return (s, ScaleSource::Eyes);
    }
    let conf = seq.confidence.view();
    let (l, r) = (coco::LEFT_SHOULDER, coco::RIGHT_SHOULDER);
    let mut shoulders: Vec<f32> = (0..seq.frames())
        .filter(|&t| present(&conf, t, l) && present(&conf, t, r))
        .filter_map(|t| valid_length(distance(&seq.data, t, l, r)))
        .collect();
    if let Some(s) = median(&mut shoulders)
        .map(|w| w / SHOULDER_WIDTH_IN_EYE_WIDTHS)
        .and_then(valid_length)
    {
        return (s, ScaleSource::Shoulders);
    }
    (1.0, ScaleSource::Unscaled)
}

/// Per-frame scale factors (length T) for `mode` on a COCO-WholeBody sequence.
/// Always finite and > 0.
pub fn eye_scales(seq: &KeypointSeq, mode: EyeScale) -> Vec<f32> {
    let frames = seq.frames();
    if mode == EyeScale::None {
        return vec![1.0; frames];
    }
    let (fallback, _) = sequence_scale(seq);
    let conf = seq.confidence.view();
    let literal = |t: usize, a: usize, b: usize| {
        if present(&conf, t, a) && present(&conf, t, b) {
            valid_length((seq.data[[t, a, 0]] - seq.data[[t, b, 0]]).abs())
        } else {
            None
        }
    };
    (0..frames)
        .map(|t| {
            let own = match mode {
                EyeScale::None | EyeScale::EyeCornerMedian => None,
                EyeScale::EyeCornerPerFrame => frame_eye_width(seq, t),
                EyeScale::PaperIndex0Based => literal(t, 63, 64),
                EyeScale::PaperIndex1Based => literal(t, 62, 63),
            };
            own.unwrap_or(fallback)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Eq. 8: 77 keypoints in 5 groups, group-wise centralization.

/// The point a group is centred on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Point(usize),
    /// Midpoint of two points (both must be present).
    Midpoint(usize, usize),
}

/// One of SCOPE's 5 keypoint groups: COCO-WholeBody-133 indices and the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeypointGroup {
    pub name: &'static str,
    pub points: &'static [usize],
    pub root: Root,
}

/// Body 9: nose, ears, shoulders, elbows, wrists — the upper body that signing uses
/// (eyes are covered by the face group; hips and legs are usually out of frame).
pub const SCOPE_BODY: [usize; 9] = [0, 3, 4, 5, 6, 7, 8, 9, 10];
/// Mouth 8: the inner lip ring face-60..67 (mouthing shapes, opening).
pub const SCOPE_MOUTH: [usize; 8] = [83, 84, 85, 86, 87, 88, 89, 90];
/// Face 18: jaw ends and chin (face-0, 8, 16), three points per brow (face-17, 19, 21 and
/// 22, 24, 26: brow raise is grammatical in sign languages), nose tip (face-30), and four
/// points per eye — corners and mid lids (right face-36, 39, 37, 41; left 42, 45, 44, 46) —
/// which carry eye opening and gaze-related shape.
pub const SCOPE_FACE: [usize; 18] = [
    23, 31, 39, 40, 42, 44, 45, 47, 49, 53, 59, 62, 60, 64, 65, 68, 67, 69,
];
const LEFT_HAND: [usize; 21] = [
    91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
];
const RIGHT_HAND: [usize; 21] = [
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130,
    131, 132,
];

/// SCOPE's 77 keypoints in 5 groups (CoSign's split: body 9, hands 21+21, mouth 8, face 18),
/// in output order. Roots: the body on the shoulder midpoint (the neck: stable, and keeps
/// arm motion relative to the trunk), each hand on its wrist (hand shape decoupled from hand
/// position, which the body group's wrists still carry), the mouth on the midpoint of its
/// inner corners (face-60, face-64), the face on the nose tip (face-30).
pub const SCOPE_GROUPS: [KeypointGroup; 5] = [
    KeypointGroup {
        name: "BODY",
        points: &SCOPE_BODY,
        root: Root::Midpoint(coco::LEFT_SHOULDER, coco::RIGHT_SHOULDER),
    },
    KeypointGroup {
        name: "LEFT_HAND",
        points: &LEFT_HAND,
        root: Root::Point(91),
    },
    KeypointGroup {
        name: "RIGHT_HAND",
        points: &RIGHT_HAND,
        root: Root::Point(112),
    },
    KeypointGroup {
        name: "MOUTH",
        points: &SCOPE_MOUTH,
        root: Root::Midpoint(83, 87),
    },
    KeypointGroup {
        name: "FACE",
        points: &SCOPE_FACE,
        root: Root::Point(53),
    },
];

/// Number of SCOPE keypoints.
pub const SCOPE_POINTS: usize = 77;

/// The 77 COCO-WholeBody indices in output order.
pub fn scope_indices() -> Vec<usize> {
    SCOPE_GROUPS
        .iter()
        .flat_map(|g| g.points.iter().copied())
        .collect()
}

/// A `[T, 2]` root track for `root`, gaps filled from the nearest frame where the root is
/// present. `None` when the root is never present.
fn root_track(seq: &KeypointSeq, root: Root) -> Option<Vec<[f32; 2]>> {
    let frames = seq.frames();
    let conf = seq.confidence.view();
    let at = |t: usize| -> Option<[f32; 2]> {
        match root {
            Root::Point(i) => {
                present(&conf, t, i).then(|| [seq.data[[t, i, 0]], seq.data[[t, i, 1]]])
            }
            Root::Midpoint(a, b) => (present(&conf, t, a) && present(&conf, t, b)).then(|| {
                [
                    0.5 * (seq.data[[t, a, 0]] + seq.data[[t, b, 0]]),
                    0.5 * (seq.data[[t, a, 1]] + seq.data[[t, b, 1]]),
                ]
            }),
        }
    };
    let own: Vec<Option<[f32; 2]>> = (0..frames).map(at).collect();
    own.iter().any(Option::is_some).then(|| {
        // Distance-to-nearest-valid fill: forward pass then backward pass.
        let mut last: Option<(usize, [f32; 2])> = None;
        let mut forward: Vec<Option<(usize, [f32; 2])>> = Vec::with_capacity(frames);
        for (t, r) in own.iter().enumerate() {
            if let Some(r) = r {
                last = Some((t, *r));
            }
            forward.push(last);
        }
        let mut next: Option<(usize, [f32; 2])> = None;
        let mut track = vec![[0.0; 2]; frames];
        for t in (0..frames).rev() {
            if let Some(r) = own[t] {
                next = Some((t, r));
            }
            track[t] = match (forward[t], next) {
                (Some((tp, p)), Some((tn, n))) => {
                    if t - tp <= tn - t {
                        p
                    } else {
                        n
                    }
                }
                (Some((_, p)), None) => p,
                (None, Some((_, n))) => n,
                (None, None) => unreachable!("some frame has the root"),
            };
        }
        track
    })
}

// ---------------------------------------------------------------------------------------
// Configuration and pipeline.

/// Switches for each SCOPE step (serde, so ablation configs can turn steps off).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeConfig {
    /// Eq. 7 scale normalization.
    pub eye_scale: EyeScale,
    /// Eq. 8: subtract each group's root per frame.
    pub centralize: bool,
    /// Eq. 9: standardize with training statistics (requires [`FeatureStats`]).
    pub standardize: bool,
}

impl Default for ScopeConfig {
    fn default() -> ScopeConfig {
        ScopeConfig {
            eye_scale: EyeScale::default(),
            centralize: true,
            standardize: true,
        }
    }
}

impl ScopeConfig {
    /// The same config with standardization off: what statistics are computed on.
    pub fn unstandardized(self) -> ScopeConfig {
        ScopeConfig {
            standardize: false,
            ..self
        }
    }
}

/// The 77 SCOPE points of person 0 of `pose`, converted to COCO-WholeBody if needed,
/// scaled (eq. 7) but not centred: the selection as it looks in the image, for rendering.
pub fn scope_selection(pose: &Pose, eye_scale: EyeScale) -> Result<KeypointSeq, PoseError> {
    let seq = coco_sequence(pose)?;
    let scales = eye_scales(&seq, eye_scale);
    Ok(select_scaled(&seq, &scales))
}

fn coco_sequence(pose: &Pose) -> Result<KeypointSeq, PoseError> {
    if Layout::detect(&pose.header) == Some(Layout::CocoWholeBody133) {
        KeypointSeq::from_pose(pose, 0)
    } else {
        KeypointSeq::from_pose(&to_coco_wholebody(pose)?, 0)
    }
}

fn select_scaled(seq: &KeypointSeq, scales: &[f32]) -> KeypointSeq {
    let indices = scope_indices();
    let frames = seq.frames();
    let mut data = Array3::<f32>::zeros((frames, SCOPE_POINTS, 2));
    let mut confidence = Array2::<f32>::zeros((frames, SCOPE_POINTS));
    for t in 0..frames {
        let inv = 1.0 / scales[t];
        for (j, &i) in indices.iter().enumerate() {
            let c = seq.confidence[[t, i]];
            if c > 0.0 {
                data[[t, j, 0]] = seq.data[[t, i, 0]] * inv;
                data[[t, j, 1]] = seq.data[[t, i, 1]] * inv;
                confidence[[t, j]] = c;
            }
        }
    }
    KeypointSeq {
        fps: seq.fps,
        data,
        confidence,
    }
}

/// SCOPE features `[T, 77, 2]` of person 0 of `pose` under `config`. Missing points (and
/// whole groups whose root is never present) are 0 with confidence 0 — 0 is the training
/// mean after standardization, so they carry no signal. `stats` is required when
/// `config.standardize` is on and must have been computed under the same config.
pub fn scope_features(
    pose: &Pose,
    config: &ScopeConfig,
    stats: Option<&FeatureStats>,
) -> Result<KeypointSeq, PoseError> {
    let seq = coco_sequence(pose)?;
    let scales = eye_scales(&seq, config.eye_scale);
    let mut out = select_scaled(&seq, &scales);
    if config.centralize {
        let mut start = 0;
        for group in &SCOPE_GROUPS {
            let range = start..start + group.points.len();
            start = range.end;
            match root_track(&seq, group.root) {
                Some(track) => {
                    for (t, root) in track.iter().enumerate() {
                        let inv = 1.0 / scales[t];
                        for j in range.clone() {
                            if out.confidence[[t, j]] > 0.0 {
                                out.data[[t, j, 0]] -= root[0] * inv;
                                out.data[[t, j, 1]] -= root[1] * inv;
                            }
                        }
                    }
                }
                None => {
                    for t in 0..out.frames() {
                        for j in range.clone() {
                            out.data[[t, j, 0]] = 0.0;
                            out.data[[t, j, 1]] = 0.0;
                            out.confidence[[t, j]] = 0.0;
                        }
                    }
                }
            }
        }
    }
    if config.standardize {
        let stats = stats.ok_or_else(|| {
            PoseError::Invalid("standardization is on but no statistics were given".into())
        })?;
        stats.check_config(config)?;
        stats.apply(&mut out)?;
    }
    Ok(out)
}

/// Header for the 77-point SCOPE selection: one component per group (`BODY`, `LEFT_HAND`,
/// `RIGHT_HAND`, `MOUTH`, `FACE`), COCO-WholeBody point names, and the COCO-WholeBody limbs
/// whose ends are both in the group.
pub fn scope_header(width: u16, height: u16) -> PoseHeader {
    let coco_header = Layout::CocoWholeBody133.header(width, height, 0);
    let mut names = Vec::with_capacity(133);
    let mut limbs = Vec::new();
    for (offset, c) in coco_header.component_ranges() {
        names.extend(c.points.iter().cloned());
        limbs.extend(
            c.limbs
                .iter()
                .map(|&(a, b)| (offset + a as usize, offset + b as usize)),
        );
    }
    debug_assert_eq!(&names[..23], COCO_BODY_POINTS.map(String::from));
    let colors: [[u16; 3]; 5] = [
        [0, 160, 0],
        [0, 90, 220],
        [230, 110, 0],
        [200, 0, 80],
        [128, 0, 0],
    ];
    let components: Vec<Component> = SCOPE_GROUPS
        .iter()
        .zip(colors)
        .map(|(group, color)| {
            let local = |i: usize| group.points.iter().position(|&p| p == i);
            let group_limbs: Vec<(u16, u16)> = limbs
                .iter()
                .filter_map(|&(a, b)| Some((local(a)? as u16, local(b)? as u16)))
                .collect();
            component(
                group.name,
                "XYC",
                group.points.iter().map(|&i| names[i].clone()),
                &group_limbs,
                &[color],
            )
        })
        .collect();
    PoseHeader {
        version: 0.2,
        width,
        height,
        depth: 0,
        components,
    }
}

// ---------------------------------------------------------------------------------------
// Eq. 9: standardization statistics.

/// Streaming per-feature (point × coordinate) mean/variance over many sequences
/// (Welford/Chan), skipping missing points. Accumulates in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsAccumulator {
    points: usize,
    count: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl StatsAccumulator {
    pub fn new(points: usize) -> StatsAccumulator {
        StatsAccumulator {
            points,
            count: vec![0; points * 2],
            mean: vec![0.0; points * 2],
            m2: vec![0.0; points * 2],
        }
    }

    /// Add every present point of `seq` (which must have this accumulator's point count).
    pub fn add(&mut self, seq: &KeypointSeq) -> Result<(), PoseError> {
        if seq.points() != self.points {
            return Err(PoseError::Invalid(format!(
                "statistics are over {} points, sequence has {}",
                self.points,
                seq.points()
            )));
        }
        for t in 0..seq.frames() {
            for i in 0..self.points {
                if seq.confidence[[t, i]] <= 0.0 {
                    continue;
                }
                for d in 0..2 {
                    let x = seq.data[[t, i, d]] as f64;
                    if !x.is_finite() {
                        continue;
                    }
                    let k = i * 2 + d;
                    self.count[k] += 1;
                    let delta = x - self.mean[k];
                    self.mean[k] += delta / self.count[k] as f64;
                    self.m2[k] += delta * (x - self.mean[k]);
                }
            }
        }
        Ok(())
    }

    /// Combine with another accumulator (e.g. one per worker thread).
    pub fn merge(&mut self, other: &StatsAccumulator) -> Result<(), PoseError> {
        if other.points != self.points {
            return Err(PoseError::Invalid(
                "merging statistics of different sizes".into(),
            ));
        }
        for k in 0..self.count.len() {
            let (na, nb) = (self.count[k] as f64, other.count[k] as f64);
            if nb == 0.0 {
                continue;
            }
            let n = na + nb;
            let delta = other.mean[k] - self.mean[k];
            self.mean[k] += delta * nb / n;
            self.m2[k] += other.m2[k] + delta * delta * na * nb / n;
            self.count[k] += other.count[k];
        }
        Ok(())
    }

    /// Final statistics for features computed under `config` (population std).
    pub fn finish(&self, config: &ScopeConfig) -> FeatureStats {
        let std = self
            .count
            .iter()
            .zip(&self.m2)
            .map(|(&n, &m2)| if n > 0 { (m2 / n as f64).sqrt() } else { 0.0 })
            .collect();
        FeatureStats {
            config: config.unstandardized(),
            points: self.points,
            count: self.count.clone(),
            mean: self.mean.clone(),
            std,
        }
    }
}

/// Per-feature mean/std (index `point * 2 + coordinate`) with the preprocessing config
/// they were computed under. Saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureStats {
    /// The preprocessing (with `standardize: false`) the statistics describe.
    pub config: ScopeConfig,
    pub points: usize,
    pub count: Vec<u64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Features whose std is below this are only centred, not divided: the group roots are
/// constant 0 after centralization, and dividing by ~0 would amplify noise to inf.
pub const MIN_STD: f64 = 1e-6;

impl FeatureStats {
    fn check_config(&self, config: &ScopeConfig) -> Result<(), PoseError> {
        if self.config != config.unstandardized() {
            return Err(PoseError::Invalid(format!(
                "statistics were computed with {:?} but features use {:?}",
                self.config,
                config.unstandardized()
            )));
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), PoseError> {
        let n = self.points * 2;
        if self.count.len() != n || self.mean.len() != n || self.std.len() != n {
            return Err(PoseError::Invalid(format!(
                "statistics for {} points need {n} entries in count/mean/std",
                self.points
            )));
        }
        if self.mean.iter().chain(&self.std).any(|v| !v.is_finite()) {
            return Err(PoseError::Invalid(
                "statistics contain non-finite values".into(),
            ));
        }
        Ok(())
    }

    /// `x ← (x − mean) / std` for present points; missing points become 0.
    pub fn apply(&self, seq: &mut KeypointSeq) -> Result<(), PoseError> {
        if seq.points() != self.points {
            return Err(PoseError::Invalid(format!(
                "statistics are over {} points, sequence has {}",
                self.points,
                seq.points()
            )));
        }
        let scale: Vec<f32> = self
            .std
            .iter()
            .map(|&s| if s < MIN_STD { 1.0 } else { (1.0 / s) as f32 })
            .collect();
        for t in 0..seq.frames() {
            for i in 0..self.points {
                let present = seq.confidence[[t, i]] > 0.0;
                for d in 0..2 {
                    let k = i * 2 + d;
                    let x = &mut seq.data[[t, i, d]];
                    *x = if present {
                        (*x - self.mean[k] as f32) * scale[k]
                    } else {
                        0.0
                    };
                }
            }
        }
        Ok(())
    }

    /// Write as JSON atomically (temporary file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<(), PoseError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| PoseError::Invalid(e.to_string()).in_file(path))?;
        write_atomic(path, &json).map_err(|e| e.in_file(path))
    }

    /// Read and validate statistics written by [`FeatureStats::save`].
    pub fn load(path: &Path) -> Result<FeatureStats, PoseError> {
        let bytes = std::fs::read(path).map_err(|e| PoseError::from(e).in_file(path))?;
        let stats: FeatureStats = serde_json::from_slice(&bytes)
            .map_err(|e| PoseError::Invalid(format!("bad statistics JSON: {e}")).in_file(path))?;
        stats.validate().map_err(|e| e.in_file(path))?;
        Ok(stats)
    }
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PoseError> {
    signscope_fsio::write_atomic(path, bytes).map_err(|e| PoseError::from(e).in_file(path))
}

/// Wrap 77-point features (or a [`scope_selection`]) as a pose for rendering or saving.
pub fn features_to_pose(seq: &KeypointSeq, width: u16, height: u16) -> Result<Pose, PoseError> {
    seq.to_pose(scope_header(width, height))
}
