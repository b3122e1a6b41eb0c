//! The 68 iBUG face points (COCO-WholeBody face-0 … face-67) of a frontal face, with the
//! non-manual channels the generator animates: mouth opening/width, blinks, brow raise.
//!
//! Coordinates are in the head frame, in units of face width (jaw-to-jaw ≈ 1), origin at
//! the level of the eye corners on the face midline; `x` image-right, `y` down, `z` toward
//! the camera. The signer's RIGHT eye is at negative `x`.

use std::f32::consts::PI;

use crate::geom::{V3, v3};

/// Per-frame non-manual state of the face.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaceState {
    /// 0 = lips closed, 1 = wide open (≈ 0.15 face widths between the lips).
    pub mouth_open: f32,
    /// Relative change of mouth width: −0.3 rounded ("o", "u"), +0.2 spread ("i", "e").
    pub mouth_width: f32,
    /// 0 = eyes open, 1 = closed.
    pub blink: f32,
    /// 0 = neutral, 1 = raised brows (questions), negative = furrowed.
    pub brow: f32,
}

/// The 68 points for one face state, in face-width units (see module doc).
pub fn face_points(state: &FaceState, out: &mut [V3; 68]) {
    // Jaw 0–16: from the signer's right temple round the chin to the left temple.
    // The lower jaw drops a little with the mouth.
    for (i, p) in out[..17].iter_mut().enumerate() {
        let t = i as f32 / 16.0;
        let a = PI * t;
        let chin = a.sin().max(0.0).powf(1.5);
        let x = -0.5 * a.cos() * (1.0 - 0.12 * chin);
        let y = 0.02 + 0.62 * a.sin() * (0.55 + 0.45 * chin) + 0.08 * state.mouth_open * chin;
        *p = v3(x, y, -0.28 * (1.0 - a.sin()));
    }
    // Brows 17–21 (right) and 22–26 (left): arcs above the eyes.
    let brow_y = -0.17 - 0.05 * state.brow;
    for k in 0..5 {
        let s = k as f32 / 4.0;
        let arch = (PI * s).sin();
        out[17 + k] = v3(-0.40 + 0.31 * s, brow_y - 0.05 * arch, 0.02 + 0.08 * arch);
        out[26 - k] = v3(0.40 - 0.31 * s, brow_y - 0.05 * arch, 0.02 + 0.08 * arch);
    }
    // Nose bridge 27–30 and base 31–35.
    for k in 0..4 {
        let s = k as f32 / 3.0;
        out[27 + k] = v3(0.0, -0.05 + 0.24 * s, 0.10 + 0.12 * s);
    }
    for k in 0..5 {
        let s = k as f32 / 4.0 - 0.5;
        out[31 + k] = v3(
            0.19 * s,
            0.25 + 0.03 * (1.0 - (2.0 * s).abs()),
            0.12 + 0.04 * (1.0 - (2.0 * s).abs()),
        );
    }
    // Eyes 36–41 (right: outer corner, two upper-lid points, inner corner, two lower-lid
    // points) and 42–47 (left: inner corner, upper, outer corner, lower). A blink brings
    // the upper lid down to the lower one.
    let open = 0.045 * (1.0 - state.blink).max(0.0);
    let eye = |cx: f32, outer_sign: f32, out: &mut [V3]| {
        let outer = cx + 0.10 * outer_sign;
        let inner = cx - 0.10 * outer_sign;
        let u1 = cx + 0.04 * outer_sign;
        let u2 = cx - 0.04 * outer_sign;
        let low = 0.03;
        let top = low - open - 0.01;
        // Order for the right eye: outer, upper(outer side), upper(inner side), inner,
        // lower(inner side), lower(outer side).
        out[0] = v3(outer, 0.0, 0.0);
        out[1] = v3(u1, top, 0.03);
        out[2] = v3(u2, top, 0.03);
        out[3] = v3(inner, 0.0, 0.02);
        out[4] = v3(u2, low, 0.03);
        out[5] = v3(u1, low, 0.03);
    };
    let mut right = [V3::ZERO; 6];
    eye(-0.2, -1.0, &mut right);
    out[36..42].copy_from_slice(&right);
    // The left eye starts at the inner corner (iBUG order runs left-to-right in the image).
    let mut left = [V3::ZERO; 6];
    eye(0.2, 1.0, &mut left);
    out[42] = left[3];
    out[43] = left[2];
    out[44] = left[1];
    out[45] = left[0];
    out[46] = left[5];
    out[47] = left[4];

    // Lips: outer 48–59 (48 right corner, 51 top centre, 54 left corner, 57 bottom centre),
    // inner 60–67 (60 right corner, 62 top, 64 left corner, 66 bottom).
    let half_w = 0.17 * (1.0 + state.mouth_width);
    let gap = 0.15 * state.mouth_open;
    let mouth_y = 0.42;
    let upper = |s: f32| mouth_y - 0.045 * (1.0 - s * s) - 0.01;
    let lower = |s: f32| mouth_y + gap * (1.0 - s * s) + 0.05 * (1.0 - s * s) + 0.005;
    let z = |s: f32| 0.10 + 0.05 * (1.0 - s * s);
    for k in 0..7 {
        // Top outer lip: 48 → 54, s from −1 (right corner) to +1 (left corner).
        let s = -1.0 + k as f32 / 3.0;
        out[48 + k] = v3(half_w * s, upper(s), z(s));
    }
    for k in 1..6 {
        // Bottom outer lip: 55 → 59, going back from left to right.
        let s = 1.0 - k as f32 / 3.0;
        out[54 + k] = v3(half_w * s, lower(s), z(s));
    }
    let inner_w = half_w * 0.8;
    let inner_upper = |s: f32| mouth_y - 0.012 * (1.0 - s * s);
    let inner_lower = |s: f32| mouth_y + gap * (1.0 - s * s) + 0.01 * (1.0 - s * s);
    for k in 0..5 {
        let s = -1.0 + k as f32 / 2.0;
        out[60 + k] = v3(inner_w * s, inner_upper(s), z(s) + 0.005);
    }
    for k in 1..4 {
        let s = 1.0 - k as f32 / 2.0;
        out[64 + k] = v3(inner_w * s, inner_lower(s), z(s) + 0.005);
    }
}

/// Centre of each eye (COCO body points 1 = left eye, 2 = right eye), face-width units.
pub const LEFT_EYE_CENTRE: V3 = v3(0.2, 0.01, 0.03);
pub const RIGHT_EYE_CENTRE: V3 = v3(-0.2, 0.01, 0.03);
/// Ears (COCO body points 3 = left ear, 4 = right ear).
pub const LEFT_EAR: V3 = v3(0.52, 0.08, -0.35);
pub const RIGHT_EAR: V3 = v3(-0.52, 0.08, -0.35);
/// Nose tip (COCO body point 0), same as face-30.
pub const NOSE_TIP: V3 = v3(0.0, 0.19, 0.22);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_are_where_ibug_puts_them() {
        let mut p = [V3::ZERO; 68];
        face_points(&FaceState::default(), &mut p);
        // Jaw runs from image left to image right through the chin (8) at the bottom.
        assert!(p[0].x < -0.45 && p[16].x > 0.45);
        assert!((0..17).all(|i| p[8].y >= p[i].y));
        // Right eye (36–41) on the image left, left eye (42–47) on the image right.
        assert!(p[36].x < p[39].x && p[39].x < 0.0 && p[42].x > 0.0 && p[42].x < p[45].x);
        // Mouth below the nose, nose below the eyes, brows above the eyes.
        assert!(p[51].y > p[33].y && p[33].y > p[39].y && p[19].y < p[37].y);
    }

    #[test]
    fn mouth_opens_and_eyes_close() {
        let mut closed = [V3::ZERO; 68];
        let mut open = [V3::ZERO; 68];
        face_points(&FaceState::default(), &mut closed);
        face_points(
            &FaceState {
                mouth_open: 1.0,
                blink: 1.0,
                ..Default::default()
            },
            &mut open,
        );
        let gap = |p: &[V3; 68]| p[66].y - p[62].y;
        assert!(gap(&open) > gap(&closed) + 0.1);
        let lid = |p: &[V3; 68]| p[41].y - p[37].y;
        assert!(lid(&open) < 0.02 && lid(&closed) > 0.04);
    }
}
