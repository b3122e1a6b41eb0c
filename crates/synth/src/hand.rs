//! Hand shapes and hand forward kinematics for the 21 COCO-WholeBody hand points
//! (0 wrist, 1–4 thumb CMC→tip, 5–8 index, 9–12 middle, 13–16 ring, 17–20 pinky).

use rand::Rng;

use crate::geom::{V3, v3};

/// Joint configuration of one hand. Angles in radians.
///
/// Fingers (index, middle, ring, pinky): flexion at MCP, PIP, DIP (0 = straight, positive
/// curls toward the palm) and abduction at the MCP (positive spreads away from the
/// middle finger). Thumb: `thumb_abduction` lifts it out of the palm plane,
/// `thumb_opposition` swings it across the palm, `thumb_flex` curls its MCP and IP joints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandShape {
    pub flex: [[f32; 3]; 4],
    pub spread: [f32; 4],
    pub thumb_abduction: f32,
    pub thumb_opposition: f32,
    pub thumb_flex: f32,
}

const FIST: [f32; 3] = [1.5, 1.6, 0.8];
const STRAIGHT: [f32; 3] = [0.0, 0.05, 0.02];

/// The base hand shapes every sign's hand shape is a variation of
/// (named after the ASL/DGS hand-shape letters they resemble).
pub const BASE_HAND_SHAPES: [(&str, HandShape); 16] = [
    ("B", shape([STRAIGHT; 4], [0.0; 4], 0.2, 0.55, 0.3)),
    (
        "5",
        shape([STRAIGHT; 4], [0.28, 0.0, 0.22, 0.4], 0.65, 0.0, 0.05),
    ),
    ("A", shape([FIST; 4], [0.0; 4], 0.05, 0.05, 0.05)),
    ("S", shape([FIST; 4], [0.0; 4], 0.35, 0.95, 0.7)),
    (
        "1",
        shape([STRAIGHT, FIST, FIST, FIST], [0.0; 4], 0.35, 0.95, 0.7),
    ),
    (
        "V",
        shape(
            [STRAIGHT, STRAIGHT, FIST, FIST],
            [0.25, 0.12, 0.0, 0.0],
            0.35,
            0.95,
            0.7,
        ),
    ),
    (
        "W",
        shape(
            [STRAIGHT, STRAIGHT, STRAIGHT, FIST],
            [0.25, 0.05, 0.2, 0.0],
            0.4,
            1.0,
            0.8,
        ),
    ),
    (
        "Y",
        shape(
            [FIST, FIST, FIST, STRAIGHT],
            [0.0, 0.0, 0.0, 0.45],
            0.7,
            0.0,
            0.0,
        ),
    ),
    (
        "L",
        shape([STRAIGHT, FIST, FIST, FIST], [0.0; 4], 0.2, 0.0, 0.0),
    ),
    ("C", shape([[0.55, 0.6, 0.3]; 4], [0.05; 4], 0.6, 0.45, 0.2)),
    ("O", shape([[0.8, 1.0, 0.5]; 4], [0.0; 4], 0.55, 0.95, 0.45)),
    (
        "claw",
        shape(
            [[0.25, 1.25, 0.9]; 4],
            [0.25, 0.0, 0.2, 0.35],
            0.6,
            0.2,
            0.5,
        ),
    ),
    (
        "bent-B",
        shape([[1.35, 0.05, 0.02]; 4], [0.0; 4], 0.2, 0.5, 0.2),
    ),
    (
        "F",
        shape(
            [[0.9, 1.0, 0.6], STRAIGHT, STRAIGHT, STRAIGHT],
            [0.0, 0.1, 0.25, 0.4],
            0.5,
            0.85,
            0.45,
        ),
    ),
    (
        "X",
        shape(
            [[0.3, 1.4, 1.0], FIST, FIST, FIST],
            [0.0; 4],
            0.35,
            0.9,
            0.7,
        ),
    ),
    (
        "I",
        shape(
            [FIST, FIST, FIST, STRAIGHT],
            [0.0, 0.0, 0.0, 0.2],
            0.35,
            0.95,
            0.7,
        ),
    ),
];

const fn shape(flex: [[f32; 3]; 4], spread: [f32; 4], abd: f32, opp: f32, tflex: f32) -> HandShape {
    HandShape {
        flex,
        spread,
        thumb_abduction: abd,
        thumb_opposition: opp,
        thumb_flex: tflex,
    }
}

impl HandShape {
    /// A relaxed half-open hand: the shape hands fall into at rest.
    pub fn relaxed() -> HandShape {
        shape([[0.35, 0.45, 0.25]; 4], [0.05; 4], 0.3, 0.3, 0.25)
    }

    pub fn lerp(&self, o: &HandShape, t: f32) -> HandShape {
        let l = |a: f32, b: f32| a + (b - a) * t;
        let mut out = *self;
        for f in 0..4 {
            for j in 0..3 {
                out.flex[f][j] = l(self.flex[f][j], o.flex[f][j]);
            }
            out.spread[f] = l(self.spread[f], o.spread[f]);
        }
        out.thumb_abduction = l(self.thumb_abduction, o.thumb_abduction);
        out.thumb_opposition = l(self.thumb_opposition, o.thumb_opposition);
        out.thumb_flex = l(self.thumb_flex, o.thumb_flex);
        out
    }

    /// A sign-specific variant of this shape: every joint moved by up to `amount` radians.
    pub fn vary(&self, rng: &mut impl Rng, amount: f32) -> HandShape {
        let mut out = *self;
        let mut j = |x: &mut f32, lo: f32, hi: f32| {
            *x = (*x + rng.random_range(-amount..=amount)).clamp(lo, hi);
        };
        for f in 0..4 {
            for k in 0..3 {
                j(&mut out.flex[f][k], -0.1, 1.7);
            }
            j(&mut out.spread[f], -0.05, 0.5);
        }
        j(&mut out.thumb_abduction, 0.0, 1.0);
        j(&mut out.thumb_opposition, 0.0, 1.0);
        j(&mut out.thumb_flex, 0.0, 1.0);
        out
    }

    /// Curl all fingers by an extra `amount` (finger wiggles, grasping).
    pub fn with_extra_flex(&self, per_finger: [f32; 4]) -> HandShape {
        let mut out = *self;
        for (f, extra) in per_finger.iter().enumerate() {
            out.flex[f][0] = (out.flex[f][0] + extra).clamp(-0.1, 1.7);
            out.flex[f][1] = (out.flex[f][1] + extra * 0.8).clamp(-0.1, 1.8);
        }
        out
    }
}

/// Palm-local geometry of an average adult hand, metres (scaled per signer).
/// `a` = toward the thumb side, `b` = along the fingers, palm plane at `c = 0`.
const FINGER_BASE: [(f32, f32); 4] = [
    (0.030, 0.086),
    (0.008, 0.091),
    (-0.012, 0.086),
    (-0.030, 0.076),
];
const FINGER_BONES: [[f32; 3]; 4] = [
    [0.041, 0.024, 0.019],
    [0.045, 0.028, 0.020],
    [0.042, 0.027, 0.019],
    [0.033, 0.020, 0.017],
];
const THUMB_BASE: (f32, f32) = (0.022, 0.024);
const THUMB_BONES: [f32; 3] = [0.040, 0.032, 0.027];

/// Where a hand is and how it is turned: wrist position, the direction the fingers
/// point (`finger`) and the direction the palm faces (`palm`); both unit vectors in the body frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandFrame {
    pub wrist: V3,
    pub finger: V3,
    pub palm: V3,
}

impl HandFrame {
    /// Orthonormal `(thumb side, finger, palm)` axes. A left hand is the mirror image of a
    /// right hand, so its thumb side is on the other side of the finger/palm plane.
    pub fn axes(&self, left: bool) -> (V3, V3, V3) {
        let f = self.finger.normalized();
        let mut n = self.palm - f * self.palm.dot(f);
        if n.norm() < 1e-4 {
            // Degenerate orientation (palm along the fingers): pick any perpendicular.
            n = v3(0.0, 0.0, 1.0) - f * f.z;
        }
        let n = n.normalized();
        let a = if left { n.cross(f) } else { f.cross(n) };
        (a, f, n)
    }
}

/// The 21 hand points in the body frame for a hand frame, shape and size factor.
pub fn hand_points(
    frame: &HandFrame,
    shape: &HandShape,
    scale: f32,
    left: bool,
    out: &mut [V3; 21],
) {
    let (a, f, n) = frame.axes(left);
    let to_world = |p: (f32, f32, f32)| frame.wrist + (a * p.0 + f * p.1 + n * p.2) * scale;
    out[0] = frame.wrist;

    // Thumb: the metacarpal leaves the palm toward the thumb side and forward; abduction
    // lifts it toward the palm side (c), opposition swings it across the palm (−a).
    let opp = shape.thumb_opposition;
    let abd = shape.thumb_abduction;
    let meta_dir = norm3((
        0.78 * (1.0 - opp) - 0.25 * opp,
        0.55 + 0.1 * opp,
        0.25 + 0.6 * abd + 0.35 * opp,
    ));
    let bend_dir = norm3((-0.7, 0.1, 0.7));
    let mut p = (THUMB_BASE.0, THUMB_BASE.1, 0.0);
    out[1] = to_world(p);
    let mut angle = 0.0;
    for (k, len) in THUMB_BONES.iter().enumerate() {
        if k > 0 {
            angle += shape.thumb_flex * 0.9;
        }
        let d = mix_dir(meta_dir, bend_dir, angle);
        p = (p.0 + d.0 * len, p.1 + d.1 * len, p.2 + d.2 * len);
        out[2 + k] = to_world(p);
    }

    for finger in 0..4 {
        let (ba, bb) = FINGER_BASE[finger];
        // Abduction turns the finger within the palm plane, away from the middle finger.
        let side = match finger {
            0 => 1.0,
            1 => 0.3,
            2 => -1.0,
            _ => -1.0,
        };
        let s = shape.spread[finger] * side;
        let straight = (s.sin(), s.cos(), 0.0);
        let mut p = (ba, bb, 0.0);
        let first = 5 + finger * 4;
        out[first] = to_world(p);
        let mut angle = 0.0;
        for k in 0..3 {
            angle += shape.flex[finger][k];
            // Flexion curls the finger toward the side the palm faces.
            let d = mix_dir(straight, (0.0, 0.0, 1.0), angle);
            let len = FINGER_BONES[finger][k];
            p = (p.0 + d.0 * len, p.1 + d.1 * len, p.2 + d.2 * len);
            out[first + 1 + k] = to_world(p);
        }
    }
}

fn norm3(v: (f32, f32, f32)) -> (f32, f32, f32) {
    let n = (v.0 * v.0 + v.1 * v.1 + v.2 * v.2).sqrt();
    (v.0 / n, v.1 / n, v.2 / n)
}

/// Rotate unit direction `d` toward unit direction `toward` by `angle` (in their plane).
fn mix_dir(d: (f32, f32, f32), toward: (f32, f32, f32), angle: f32) -> (f32, f32, f32) {
    // Component of `toward` orthogonal to `d`.
    let dot = d.0 * toward.0 + d.1 * toward.1 + d.2 * toward.2;
    let o = norm3((
        toward.0 - d.0 * dot,
        toward.1 - d.1 * dot,
        toward.2 - d.2 * dot,
    ));
    let (s, c) = angle.sin_cos();
    (d.0 * c + o.0 * s, d.1 * c + o.1 * s, d.2 * c + o.2 * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> HandFrame {
        HandFrame {
            wrist: V3::ZERO,
            finger: v3(0.0, -1.0, 0.0),
            palm: v3(0.0, 0.0, 1.0),
        }
    }

    #[test]
    fn flat_hand_points_up_and_thumb_is_on_the_correct_side() {
        let mut pts = [V3::ZERO; 21];
        let b = BASE_HAND_SHAPES[0].1;
        hand_points(&frame(), &b, 1.0, false, &mut pts);
        // Middle fingertip ≈ 0.18 m above the wrist.
        assert!(pts[12].y < -0.17 && pts[12].y > -0.2, "{:?}", pts[12]);
        // Right hand, palm to the camera: the thumb is on the image left (signer's right).
        assert!(pts[4].x < pts[20].x);
        hand_points(&frame(), &b, 1.0, true, &mut pts);
        assert!(pts[4].x > pts[20].x);
    }

    #[test]
    fn fist_tips_are_close_to_the_palm() {
        let mut pts = [V3::ZERO; 21];
        let s = BASE_HAND_SHAPES[3].1;
        hand_points(&frame(), &s, 1.0, false, &mut pts);
        for tip in [8, 12, 16, 20] {
            assert!(
                (pts[tip] - pts[0]).norm() < 0.1,
                "tip {tip} at {:?}",
                pts[tip]
            );
        }
    }
}
