//! Seeded augmentations used by skeleton-based CSLR (CoSign, TwoStream-SLR): temporal
//! dropout, temporal rescale, Gaussian jitter, random scale, random 2D rotation and
//! left/right flip. They act on a [`KeypointSeq`] (`[T, N, 2]` + confidence), so they apply
//! equally to COCO-WholeBody-133 sequences and to SCOPE's 77-point features; the flip needs
//! the layout's left/right permutation ([`coco_wholebody_flip`], [`scope77_flip`]).
//!
//! Missing points (confidence 0) are never moved or given values.

use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::preprocess::{KeypointSeq, scope_indices};
use crate::skeleton::coco;

/// Point about which spatial augmentations scale, rotate and mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pivot {
    /// (0, 0): right for group-centred SCOPE features, whose roots sit at the origin.
    #[default]
    Origin,
    /// Mean of all present points over the whole sequence: right for image coordinates.
    Centroid,
}

/// Which augmentations run and how strongly; each is off at its neutral value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of dropping each frame (0 = off).
    pub temporal_dropout: f32,
    /// Speed factor range for temporal rescale; `[1, 1]` = off. Speed 2 halves the length.
    pub speed: [f32; 2],
    /// Std of Gaussian noise added to every present coordinate (0 = off).
    pub jitter_std: f32,
    /// Uniform scale factor range; `[1, 1]` = off.
    pub scale: [f32; 2],
    /// Rotation angle drawn uniformly from ±this many degrees (0 = off).
    pub max_rotation_deg: f32,
    /// Probability of a left/right flip (0 = off).
    pub flip_probability: f32,
    pub pivot: Pivot,
}

impl Default for AugmentConfig {
    /// Values in the range CoSign-style training uses.
    fn default() -> AugmentConfig {
        AugmentConfig {
            temporal_dropout: 0.1,
            speed: [0.5, 1.5],
            jitter_std: 0.01,
            scale: [0.9, 1.1],
            max_rotation_deg: 10.0,
            flip_probability: 0.0,
            pivot: Pivot::Origin,
        }
    }
}

impl AugmentConfig {
    /// Every augmentation off.
    pub fn none() -> AugmentConfig {
        AugmentConfig {
            temporal_dropout: 0.0,
            speed: [1.0, 1.0],
            jitter_std: 0.0,
            scale: [1.0, 1.0],
            max_rotation_deg: 0.0,
            flip_probability: 0.0,
            pivot: Pivot::Origin,
        }
    }
}

/// Applies an [`AugmentConfig`] with its own seeded ChaCha8 stream: the same seed and
/// inputs give the same outputs on every platform.
pub struct Augmenter {
    pub config: AugmentConfig,
    rng: ChaCha8Rng,
    /// Left/right permutation for flips; flips are skipped when it is `None`.
    flip: Option<Vec<usize>>,
}

impl Augmenter {
    pub fn new(config: AugmentConfig, seed: u64, flip: Option<Vec<usize>>) -> Augmenter {
        Augmenter {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            flip,
        }
    }

    /// One random augmentation of `seq`, steps in the order temporal → spatial.
    pub fn apply(&mut self, seq: &KeypointSeq) -> KeypointSeq {
        let c = self.config;
        let mut out = if c.temporal_dropout > 0.0 {
            temporal_dropout(seq, c.temporal_dropout, &mut self.rng)
        } else {
            seq.clone()
        };
        if c.speed[0] != 1.0 || c.speed[1] != 1.0 {
            let speed = uniform(&mut self.rng, c.speed);
            out = temporal_rescale(&out, speed);
        }
        let pivot = pivot_point(&out, c.pivot);
        if c.scale[0] != 1.0 || c.scale[1] != 1.0 {
            let s = uniform(&mut self.rng, c.scale);
            scale(&mut out, s, pivot);
        }
        if c.max_rotation_deg > 0.0 {
            let max = c.max_rotation_deg.to_radians();
            let angle = self.rng.random_range(-max..=max);
            rotate(&mut out, angle, pivot);
        }
        if let Some(perm) = &self.flip
            && c.flip_probability > 0.0
            && self.rng.random::<f32>() < c.flip_probability
        {
            out = flip(&out, perm, pivot);
        }
        if c.jitter_std > 0.0 {
            jitter(&mut out, c.jitter_std, &mut self.rng);
        }
        out
    }
}

fn uniform(rng: &mut ChaCha8Rng, [lo, hi]: [f32; 2]) -> f32 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// The pivot's coordinates for `seq`.
pub fn pivot_point(seq: &KeypointSeq, pivot: Pivot) -> [f32; 2] {
    match pivot {
        Pivot::Origin => [0.0, 0.0],
        Pivot::Centroid => {
            let (mut sx, mut sy, mut n) = (0.0f64, 0.0f64, 0usize);
            for t in 0..seq.frames() {
                for i in 0..seq.points() {
                    if seq.confidence[[t, i]] > 0.0 {
                        sx += seq.data[[t, i, 0]] as f64;
                        sy += seq.data[[t, i, 1]] as f64;
                        n += 1;
                    }
                }
            }
            if n == 0 {
                [0.0, 0.0]
            } else {
                [(sx / n as f64) as f32, (sy / n as f64) as f32]
            }
        }
    }
}

/// Drop each frame with probability `p`, keeping at least one frame.
pub fn temporal_dropout(seq: &KeypointSeq, p: f32, rng: &mut impl Rng) -> KeypointSeq {
    let frames = seq.frames();
    let mut keep: Vec<usize> = (0..frames).filter(|_| rng.random::<f32>() >= p).collect();
    if keep.is_empty() && frames > 0 {
        keep.push(rng.random_range(0..frames));
    }
    select_frames(seq, &keep)
}

/// Keep the given frames in the given order.
pub fn select_frames(seq: &KeypointSeq, frames: &[usize]) -> KeypointSeq {
    KeypointSeq {
        fps: seq.fps,
        data: seq.data.select(ndarray::Axis(0), frames),
        confidence: seq.confidence.select(ndarray::Axis(0), frames),
    }
}

/// Play at `speed` (0.5 = half speed, twice as many frames) by linear interpolation:
/// `round(T / speed)` frames evenly spanning the original. Between a present and a missing
/// point the nearer source frame is taken instead of interpolating.
pub fn temporal_rescale(seq: &KeypointSeq, speed: f32) -> KeypointSeq {
    let (frames, points) = (seq.frames(), seq.points());
    if frames == 0 || !(speed.is_finite() && speed > 0.0) {
        return seq.clone();
    }
    let new_frames = ((frames as f32 / speed).round() as usize).max(1);
    let mut data = Array3::<f32>::zeros((new_frames, points, 2));
    let mut confidence = Array2::<f32>::zeros((new_frames, points));
    let step = if new_frames > 1 {
        (frames - 1) as f32 / (new_frames - 1) as f32
    } else {
        0.0
    };
    for j in 0..new_frames {
        let pos = j as f32 * step;
        let t0 = (pos.floor() as usize).min(frames - 1);
        let t1 = (t0 + 1).min(frames - 1);
        let w = pos - t0 as f32;
        for i in 0..points {
            let (c0, c1) = (seq.confidence[[t0, i]], seq.confidence[[t1, i]]);
            if c0 > 0.0 && c1 > 0.0 {
                for d in 0..2 {
                    data[[j, i, d]] = (1.0 - w) * seq.data[[t0, i, d]] + w * seq.data[[t1, i, d]];
                }
                confidence[[j, i]] = (1.0 - w) * c0 + w * c1;
            } else {
                let t = if w < 0.5 { t0 } else { t1 };
                for d in 0..2 {
                    data[[j, i, d]] = seq.data[[t, i, d]];
                }
                confidence[[j, i]] = seq.confidence[[t, i]];
            }
        }
    }
    KeypointSeq {
        fps: seq.fps,
        data,
        confidence,
    }
}

/// One standard-normal sample (Box–Muller; rand 0.9 has no normal distribution built in).
fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1: f32 = 1.0 - rng.random::<f32>(); // (0, 1]: ln is finite
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Add N(0, std²) noise to every present coordinate.
pub fn jitter(seq: &mut KeypointSeq, std: f32, rng: &mut impl Rng) {
    for t in 0..seq.frames() {
        for i in 0..seq.points() {
            if seq.confidence[[t, i]] > 0.0 {
                seq.data[[t, i, 0]] += std * standard_normal(rng);
                seq.data[[t, i, 1]] += std * standard_normal(rng);
            }
        }
    }
}

/// Apply `p ← pivot + M (p − pivot)` to every present point, M a 2×2 matrix (row-major).
fn linear_about(seq: &mut KeypointSeq, m: [[f32; 2]; 2], pivot: [f32; 2]) {
    for t in 0..seq.frames() {
        for i in 0..seq.points() {
            if seq.confidence[[t, i]] > 0.0 {
                let x = seq.data[[t, i, 0]] - pivot[0];
                let y = seq.data[[t, i, 1]] - pivot[1];
                seq.data[[t, i, 0]] = pivot[0] + m[0][0] * x + m[0][1] * y;
                seq.data[[t, i, 1]] = pivot[1] + m[1][0] * x + m[1][1] * y;
            }
        }
    }
}

/// Uniform scale by `factor` about `pivot`.
pub fn scale(seq: &mut KeypointSeq, factor: f32, pivot: [f32; 2]) {
    linear_about(seq, [[factor, 0.0], [0.0, factor]], pivot);
}

/// Rotate by `angle` radians about `pivot` (counter-clockwise in a y-up frame).
pub fn rotate(seq: &mut KeypointSeq, angle: f32, pivot: [f32; 2]) {
    let (sin, cos) = angle.sin_cos();
    linear_about(seq, [[cos, -sin], [sin, cos]], pivot);
}

/// Mirror x about `pivot` and move each point to its left/right counterpart
/// (`out[perm[i]] = mirrored in[i]`). `perm` must be an involution of 0..N.
pub fn flip(seq: &KeypointSeq, perm: &[usize], pivot: [f32; 2]) -> KeypointSeq {
    assert_eq!(perm.len(), seq.points(), "flip permutation size");
    let mut out = seq.clone();
    for t in 0..seq.frames() {
        for (i, &j) in perm.iter().enumerate() {
            out.data[[t, j, 0]] = if seq.confidence[[t, i]] > 0.0 {
                2.0 * pivot[0] - seq.data[[t, i, 0]]
            } else {
                seq.data[[t, i, 0]]
            };
            out.data[[t, j, 1]] = seq.data[[t, i, 1]];
            out.confidence[[t, j]] = seq.confidence[[t, i]];
        }
    }
    out
}

/// Left/right counterpart of every COCO-WholeBody-133 point: body and feet pairs, the
/// mirror-symmetric iBUG-68 face (jaw k ↔ 16−k, brows, nose base, eyes, lips), and the
/// hands swapped joint for joint.
pub fn coco_wholebody_flip() -> Vec<usize> {
    // Pairs in COCO body/feet indices and iBUG face indices.
    const BODY_PAIRS: [(usize, usize); 11] = [
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
        (9, 10),
        (11, 12),
        (13, 14),
        (15, 16),
        (17, 20),
        (18, 21),
        (19, 22),
    ];
    const FACE_PAIRS: [(usize, usize); 29] = [
        (0, 16),
        (1, 15),
        (2, 14),
        (3, 13),
        (4, 12),
        (5, 11),
        (6, 10),
        (7, 9),
        (17, 26),
        (18, 25),
        (19, 24),
        (20, 23),
        (21, 22),
        (31, 35),
        (32, 34),
        (36, 45),
        (37, 44),
        (38, 43),
        (39, 42),
        (40, 47),
        (41, 46),
        (48, 54),
        (49, 53),
        (50, 52),
        (55, 59),
        (56, 58),
        (60, 64),
        (61, 63),
        (65, 67),
    ];
    let mut perm: Vec<usize> = (0..133).collect();
    let mut swap = |a: usize, b: usize| {
        perm[a] = b;
        perm[b] = a;
    };
    for (a, b) in BODY_PAIRS {
        swap(a, b);
    }
    for (a, b) in FACE_PAIRS {
        swap(coco::face(a), coco::face(b));
    }
    for i in 0..21 {
        swap(coco::LEFT_HAND.start + i, coco::RIGHT_HAND.start + i);
    }
    perm
}

/// Restrict a permutation of a full layout to a point selection (`selection[j]` = full
/// index of output point j). `None` if the selection is not closed under the permutation.
pub fn restrict_permutation(perm: &[usize], selection: &[usize]) -> Option<Vec<usize>> {
    selection
        .iter()
        .map(|&full| selection.iter().position(|&s| s == perm[full]))
        .collect()
}

/// Left/right counterpart of each of SCOPE's 77 points (the selection is mirror-closed).
pub fn scope77_flip() -> Vec<usize> {
    restrict_permutation(&coco_wholebody_flip(), &scope_indices())
        .expect("the SCOPE selection is closed under left/right mirroring")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(frames: usize, points: usize) -> KeypointSeq {
        KeypointSeq {
            fps: 25.0,
            data: Array3::from_shape_fn((frames, points, 2), |(t, i, d)| {
                (t as f32 * 0.1 + i as f32 * 0.37 + d as f32 * 1.3).sin()
            }),
            confidence: Array2::from_shape_fn((frames, points), |(t, i)| {
                if (t + i) % 11 == 0 { 0.0 } else { 0.9 }
            }),
        }
    }

    #[test]
    fn permutations_are_involutions() {
        for perm in [coco_wholebody_flip(), scope77_flip()] {
            for (i, &j) in perm.iter().enumerate() {
                assert_eq!(perm[j], i);
            }
        }
        let p = coco_wholebody_flip();
        assert_eq!(p[coco::LEFT_WRIST], coco::RIGHT_WRIST);
        assert_eq!(p[coco::face(36)], coco::face(45));
        assert_eq!(p[coco::face(62)], coco::face(62));
    }

    #[test]
    fn temporal_rescale_lengths_and_endpoints() {
        let s = seq(30, 4);
        assert_eq!(temporal_rescale(&s, 0.5).frames(), 60);
        assert_eq!(temporal_rescale(&s, 1.5).frames(), 20);
        let r = temporal_rescale(&s, 0.5);
        assert_eq!(r.data[[0, 1, 0]], s.data[[0, 1, 0]]);
        assert_eq!(r.data[[59, 1, 1]], s.data[[29, 1, 1]]);
        assert_eq!(temporal_rescale(&s, 1.0), s);
    }

    #[test]
    fn dropout_keeps_at_least_one_frame() {
        let s = seq(5, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(temporal_dropout(&s, 1.0, &mut rng).frames(), 1);
        assert_eq!(temporal_dropout(&s, 0.0, &mut rng), s);
    }

    #[test]
    fn missing_points_do_not_move() {
        let mut s = seq(4, 12);
        let before = s.clone();
        rotate(&mut s, 0.7, [0.3, 0.1]);
        jitter(&mut s, 0.5, &mut ChaCha8Rng::seed_from_u64(3));
        for t in 0..4 {
            for i in 0..12 {
                if before.confidence[[t, i]] == 0.0 {
                    assert_eq!(s.data[[t, i, 0]], before.data[[t, i, 0]]);
                }
            }
        }
    }
}
