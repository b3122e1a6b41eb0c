//! Virtual signers: body proportions, signing style, and the camera that films them.

use rand::Rng;
use serde::Serialize;

use crate::seed::rng_for;

/// A virtual camera: perspective projection of the body frame into pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Camera {
    /// Image size in pixels.
    pub width: u16,
    pub height: u16,
    /// Focal length in pixels.
    pub focal_px: f32,
    /// Distance from the camera to the signer's neck, metres.
    pub distance_m: f32,
    /// Pixel position of the neck base (where the body frame's origin is imaged).
    pub neck_px: (f32, f32),
    /// Rotation of the signer about the vertical axis (radians; the signer is not exactly
    /// facing the camera) and in-plane roll of the camera (radians).
    pub yaw: f32,
    pub roll: f32,
}

/// Everything that makes one virtual signer look and sign differently from another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignerProfile {
    /// e.g. "synth-03"
    pub id: String,
    pub left_handed: bool,
    /// Lengths in metres.
    pub shoulder_width: f32,
    pub upper_arm: f32,
    pub forearm: f32,
    pub torso: f32,
    pub neck: f32,
    /// Face width (jaw to jaw) in metres.
    pub face_width: f32,
    /// Hand size factor (1 = average adult hand, palm ≈ 9 cm).
    pub hand_scale: f32,
    /// Signing rate: sign and transition durations are divided by it.
    pub speed: f32,
    /// Movement amplitude factor.
    pub amplitude: f32,
    /// How strongly a sign's location is pulled toward its neighbours' (0–1).
    pub coarticulation: f32,
    /// Probability of holding the end of a sign a moment longer.
    pub hold_rate: f32,
    /// Blinks per second.
    pub blink_rate: f32,
    /// Breaths per second and shoulder rise per breath (m).
    pub breath_rate: f32,
    pub breath_depth: f32,
    /// Head nods per second (between signs), radians per nod.
    pub nod_rate: f32,
    pub nod_depth: f32,
    /// Keypoint detector noise: standard deviation in pixels of body and hand points.
    pub jitter_body_px: f32,
    pub jitter_hand_px: f32,
    /// Per-frame probability of a hand being lost at rest, and the extra probability per
    /// metre/second of wrist speed (detectors lose fast, motion-blurred hands).
    pub drop_base: f32,
    pub drop_per_speed: f32,
    pub camera: Camera,
}

impl SignerProfile {
    /// Signer `index` of a corpus generated with `seed`. Signer 1 of every pool is
    /// left-handed (so any pool of two or more has one), others are with probability 0.1.
    pub fn generate(seed: u64, index: usize, width: u16, height: u16) -> SignerProfile {
        let id = format!("synth-{index:02}");
        let mut rng = rng_for(seed, &["signer", &id]);
        let body = rng.random_range(0.88f32..1.12);
        let shoulder_width = 0.37 * body * rng.random_range(0.92f32..1.08);
        let upper_arm = 0.30 * body * rng.random_range(0.95f32..1.05);
        let forearm = 0.26 * body * rng.random_range(0.95f32..1.05);
        let left_handed = index == 1 || (index > 1 && rng.random_bool(0.1));

        // Frame the upper body: shoulders take 25–35 % of the image width.
        let shoulder_px = width as f32 * rng.random_range(0.24f32..0.34);
        let distance_m = rng.random_range(1.8f32..3.0);
        let focal_px = shoulder_px * distance_m / shoulder_width;
        let neck_px = (
            width as f32 * (0.5 + rng.random_range(-0.06f32..0.06)),
            height as f32 * rng.random_range(0.34f32..0.44),
        );
        let camera = Camera {
            width,
            height,
            focal_px,
            distance_m,
            neck_px,
            yaw: rng.random_range(-0.14f32..0.14),
            roll: rng.random_range(-0.05f32..0.05),
        };
        SignerProfile {
            id,
            left_handed,
            shoulder_width,
            upper_arm,
            forearm,
            torso: 0.50 * body,
            neck: 0.10 * body * rng.random_range(0.9f32..1.1),
            face_width: 0.145 * rng.random_range(0.93f32..1.07),
            hand_scale: body * rng.random_range(0.93f32..1.07),
            speed: rng.random_range(0.8f32..1.25),
            amplitude: rng.random_range(0.75f32..1.25),
            coarticulation: rng.random_range(0.15f32..0.45),
            hold_rate: rng.random_range(0.05f32..0.2),
            blink_rate: rng.random_range(0.2f32..0.5),
            breath_rate: rng.random_range(0.2f32..0.33),
            breath_depth: rng.random_range(0.002f32..0.006),
            nod_rate: rng.random_range(0.1f32..0.5),
            nod_depth: rng.random_range(0.05f32..0.15),
            jitter_body_px: rng.random_range(0.8f32..2.5),
            jitter_hand_px: rng.random_range(1.5f32..5.0),
            drop_base: rng.random_range(0.003f32..0.02),
            drop_per_speed: rng.random_range(0.02f32..0.08),
            camera,
        }
    }

    /// A pool of `n` signers.
    pub fn pool(seed: u64, n: usize, width: u16, height: u16) -> Vec<SignerProfile> {
        (0..n)
            .map(|i| SignerProfile::generate(seed, i, width, height))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_differ_and_are_reproducible() {
        let a = SignerProfile::pool(3, 4, 1280, 720);
        assert_eq!(a, SignerProfile::pool(3, 4, 1280, 720));
        assert_ne!(a[0].shoulder_width, a[2].shoulder_width);
        assert!(a[1].left_handed);
    }
}
