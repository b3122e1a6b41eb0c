//! Just enough 3-D vector algebra for the kinematics (no per-point allocation).
//!
//! Body frame, in metres: origin at the base of the neck (mid-shoulders), `x` to the
//! image right (the signer's LEFT, since the signer faces the camera), `y` down,
//! `z` toward the camera.

use std::ops::{Add, AddAssign, Mul, Neg, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct V3 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

pub const fn v3(x: f32, y: f32, z: f32) -> V3 {
    V3 { x, y, z }
}

impl V3 {
    pub const ZERO: V3 = v3(0.0, 0.0, 0.0);

    pub fn dot(self, o: V3) -> f32 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    pub fn cross(self, o: V3) -> V3 {
        v3(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }
    pub fn norm(self) -> f32 {
        self.dot(self).sqrt()
    }
    /// Unit vector; a zero vector stays zero rather than becoming NaN.
    pub fn normalized(self) -> V3 {
        let n = self.norm();
        if n > 1e-9 { self * (1.0 / n) } else { V3::ZERO }
    }
    pub fn lerp(self, o: V3, t: f32) -> V3 {
        self + (o - self) * t
    }
    /// Mirror across the body's mid-sagittal plane (x → −x): left ↔ right.
    pub fn mirror_x(self) -> V3 {
        v3(-self.x, self.y, self.z)
    }
    /// Rotate by `angle` (radians) around the unit `axis` (Rodrigues).
    pub fn rotate_about(self, axis: V3, angle: f32) -> V3 {
        let (s, c) = angle.sin_cos();
        self * c + axis.cross(self) * s + axis * (axis.dot(self) * (1.0 - c))
    }
}

impl Add for V3 {
    type Output = V3;
    fn add(self, o: V3) -> V3 {
        v3(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}
impl AddAssign for V3 {
    fn add_assign(&mut self, o: V3) {
        *self = *self + o;
    }
}
impl Sub for V3 {
    type Output = V3;
    fn sub(self, o: V3) -> V3 {
        v3(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}
impl Mul<f32> for V3 {
    type Output = V3;
    fn mul(self, s: f32) -> V3 {
        v3(self.x * s, self.y * s, self.z * s)
    }
}
impl Neg for V3 {
    type Output = V3;
    fn neg(self) -> V3 {
        v3(-self.x, -self.y, -self.z)
    }
}

/// Head rotation: yaw about `y`, then pitch about `x`, then roll about `z`
/// (applied to points given relative to the pivot).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rot3 {
    m: [[f32; 3]; 3],
}

impl Rot3 {
    pub fn from_yaw_pitch_roll(yaw: f32, pitch: f32, roll: f32) -> Rot3 {
        let (sy, cy) = yaw.sin_cos();
        let (sp, cp) = pitch.sin_cos();
        let (sr, cr) = roll.sin_cos();
        // R = Rz(roll) · Rx(pitch) · Ry(yaw)
        let ry = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let rx = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
        let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
        Rot3 {
            m: matmul(rz, matmul(rx, ry)),
        }
    }
    pub fn apply(&self, p: V3) -> V3 {
        let m = &self.m;
        v3(
            m[0][0] * p.x + m[0][1] * p.y + m[0][2] * p.z,
            m[1][0] * p.x + m[1][1] * p.y + m[1][2] * p.z,
            m[2][0] * p.x + m[2][1] * p.y + m[2][2] * p.z,
        )
    }
}

fn matmul(a: [[f32; 3]; 3], b: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// Minimum-jerk position profile on [0, 1]: how human reaching movements accelerate.
pub fn min_jerk(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
}

/// Cubic Hermite between `p0` (velocity `v0`) and `p1` (velocity `v1`), velocities in
/// units per whole segment.
pub fn hermite(p0: V3, v0: V3, p1: V3, v1: V3, t: f32) -> V3 {
    let t2 = t * t;
    let t3 = t2 * t;
    p0 * (2.0 * t3 - 3.0 * t2 + 1.0)
        + v0 * (t3 - 2.0 * t2 + t)
        + p1 * (-2.0 * t3 + 3.0 * t2)
        + v1 * (t3 - t2)
}

/// Two-bone inverse kinematics: the elbow for a shoulder `s`, wrist target `w`,
/// upper-arm length `a`, forearm length `b`, bending toward `pole`.
/// Returns `(elbow, wrist)`; the wrist is pulled in when the target is out of reach.
pub fn two_bone_ik(s: V3, w: V3, a: f32, b: f32, pole: V3) -> (V3, V3) {
    let to = w - s;
    let d_raw = to.norm();
    let d = d_raw.clamp((a - b).abs() + 1e-3, a + b - 1e-3);
    let u = if d_raw > 1e-6 {
        to * (1.0 / d_raw)
    } else {
        v3(0.0, 1.0, 0.0)
    };
    let wrist = s + u * d;
    // Angle at the shoulder between the shoulder→wrist line and the upper arm.
    let cos_alpha = ((a * a + d * d - b * b) / (2.0 * a * d)).clamp(-1.0, 1.0);
    let alpha = cos_alpha.acos();
    let mut v = pole - u * pole.dot(u);
    if v.norm() < 1e-6 {
        v = v3(0.0, 1.0, 0.0) - u * u.y;
    }
    let v = v.normalized();
    let elbow = s + (u * alpha.cos() + v * alpha.sin()) * a;
    (elbow, wrist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ik_respects_bone_lengths() {
        let s = v3(-0.2, 0.0, 0.0);
        for w in [v3(0.0, 0.2, 0.3), v3(-0.1, -0.3, 0.1), v3(2.0, 0.0, 0.0)] {
            let (e, wr) = two_bone_ik(s, w, 0.3, 0.26, v3(-0.5, 1.0, -0.3));
            assert!(((e - s).norm() - 0.3).abs() < 1e-4);
            assert!(((wr - e).norm() - 0.26).abs() < 1e-3);
        }
    }

    #[test]
    fn rotation_keeps_length() {
        let r = Rot3::from_yaw_pitch_roll(0.3, -0.2, 0.1);
        let p = v3(0.1, -0.2, 0.3);
        assert!((r.apply(p).norm() - p.norm()).abs() < 1e-6);
        let q = p.rotate_about(v3(0.0, 1.0, 0.0), 1.0);
        assert!((q.norm() - p.norm()).abs() < 1e-6);
    }
}
