//! Motion prototypes: what one sign looks like, drawn deterministically from
//! `(seed, motion key)`. In the phonological terms of sign linguistics a prototype fixes
//! hand shape, orientation, location, movement and the number of hands, plus the
//! non-manual channels (mouthing, head, brows). A *motion key* is usually the gloss
//! itself; homonyms in the dialogue grammar share one key (see [`crate::dialogue`]).

use std::f32::consts::PI;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::Serialize;

use crate::geom::{V3, min_jerk, v3};
use crate::hand::{BASE_HAND_SHAPES, HandFrame, HandShape};
use crate::seed::rng_for;
use crate::signer::SignerProfile;

/// Where the sign is made, relative to the body (for a right-handed signer;
/// "ipsi" = the dominant side, "contra" = the other side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Location {
    Neutral,
    NeutralHigh,
    NeutralLow,
    NeutralSide,
    Chest,
    Stomach,
    Chin,
    Mouth,
    Nose,
    Forehead,
    Temple,
    Cheek,
    IpsiShoulder,
    ContraShoulder,
    /// On the non-dominant hand, which is held in neutral space as a base.
    WeakHand,
}

const BODY_LOCATIONS: [(Location, u32); 14] = [
    (Location::Neutral, 10),
    (Location::NeutralHigh, 4),
    (Location::NeutralLow, 4),
    (Location::NeutralSide, 3),
    (Location::Chest, 4),
    (Location::Stomach, 1),
    (Location::Chin, 3),
    (Location::Mouth, 2),
    (Location::Nose, 1),
    (Location::Forehead, 2),
    (Location::Temple, 2),
    (Location::Cheek, 2),
    (Location::IpsiShoulder, 2),
    (Location::ContraShoulder, 2),
];

/// The path of the hand during the sign. Directions are unit vectors in the body frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Movement {
    /// Nearly still (a small drift), the sign is carried by shape and location.
    Hold {
        dir: V3,
    },
    Straight {
        dir: V3,
    },
    /// A straight path bowed toward `bulge`.
    Arc {
        dir: V3,
        bulge: V3,
    },
    /// `cycles` circles in the plane spanned by `u` and `v`.
    Circle {
        u: V3,
        v: V3,
        cycles: u8,
    },
    /// Repeated short movements away from the location and back.
    Tap {
        dir: V3,
        count: u8,
    },
    /// Side-to-side oscillation along `dir`.
    Shake {
        dir: V3,
        count: u8,
    },
    /// Finger wiggle with a small tremble of the hand.
    Wiggle {
        count: u8,
    },
    /// Forearm rotation (the hand turns about the finger axis).
    Twist {
        count: u8,
    },
}

impl Movement {
    pub fn name(&self) -> &'static str {
        match self {
            Movement::Hold { .. } => "hold",
            Movement::Straight { .. } => "straight",
            Movement::Arc { .. } => "arc",
            Movement::Circle { .. } => "circle",
            Movement::Tap { .. } => "tap",
            Movement::Shake { .. } => "shake",
            Movement::Wiggle { .. } => "wiggle",
            Movement::Twist { .. } => "twist",
        }
    }

    /// Movements that are repeated or cyclic take longer to sign.
    fn base_duration(&self) -> f32 {
        match self {
            Movement::Hold { .. } => 0.24,
            Movement::Straight { .. } | Movement::Arc { .. } => 0.28,
            Movement::Circle { cycles, .. } => 0.22 + 0.14 * *cycles as f32,
            Movement::Tap { count, .. } | Movement::Shake { count, .. } => {
                0.18 + 0.08 * *count as f32
            }
            Movement::Wiggle { count } => 0.2 + 0.06 * *count as f32,
            Movement::Twist { count } => 0.22 + 0.1 * *count as f32,
        }
    }
}

/// How the two hands take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Hands {
    One,
    /// Both hands move as mirror images.
    Symmetric,
    /// Mirror images, half a cycle apart.
    Alternating,
    /// The dominant hand acts on the still non-dominant hand.
    OnBase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HeadGesture {
    None,
    Nod,
    Shake,
    Tilt,
}

/// One mouthed syllable: peak opening at phase `at` (0–1 over the sign).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Syllable {
    pub at: f32,
    pub open: f32,
    pub width: f32,
}

/// A hand's placement and shape at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandPose {
    pub frame: HandFrame,
    pub shape: HandShape,
}

impl HandPose {
    pub fn lerp(&self, o: &HandPose, t: f32) -> HandPose {
        HandPose {
            frame: HandFrame {
                wrist: self.frame.wrist.lerp(o.frame.wrist, t),
                finger: self.frame.finger.lerp(o.frame.finger, t).normalized(),
                palm: self.frame.palm.lerp(o.frame.palm, t).normalized(),
            },
            shape: self.shape.lerp(&o.shape, t),
        }
    }

    /// The mirror image across the body midline (a right-hand pose becomes a left-hand one).
    pub fn mirror(&self) -> HandPose {
        HandPose {
            frame: HandFrame {
                wrist: self.frame.wrist.mirror_x(),
                finger: self.frame.finger.mirror_x(),
                palm: self.frame.palm.mirror_x(),
            },
            shape: self.shape,
        }
    }
}

/// Non-manual channels the sign drives.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NonManual {
    pub mouth_open: f32,
    pub mouth_width: f32,
    pub brow: f32,
    /// Head rotation (radians): yaw, pitch (positive = chin down), roll.
    pub head: (f32, f32, f32),
}

/// The articulators at one instant, for a RIGHT-handed signer (the renderer mirrors it
/// for left-handed ones). `nondom` is `None` when the sign leaves the other hand free.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArticulatorPose {
    pub dom: HandPose,
    pub nondom: Option<HandPose>,
    pub non_manual: NonManual,
}

/// Body landmarks of one signer that signs are placed relative to (body frame, metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyGeometry {
    pub shoulder_width: f32,
    pub face_width: f32,
    pub hand_scale: f32,
    /// Face-template origin (eye-corner level on the midline) at rest.
    pub face_origin: V3,
    /// Pivot of head rotation (top of the neck).
    pub head_pivot: V3,
}

impl BodyGeometry {
    pub fn of(signer: &SignerProfile) -> BodyGeometry {
        let head_pivot = v3(0.0, -signer.neck, 0.0);
        BodyGeometry {
            shoulder_width: signer.shoulder_width,
            face_width: signer.face_width,
            hand_scale: signer.hand_scale,
            face_origin: head_pivot + v3(0.0, -0.5 * signer.face_width - 0.02, 0.05),
            head_pivot,
        }
    }

    /// Contact/target point of a location for the right (dominant) hand.
    pub fn anchor(&self, loc: Location) -> V3 {
        let f = |x: f32, y: f32, z: f32| self.face_origin + v3(x, y, z) * self.face_width;
        let sw = self.shoulder_width;
        match loc {
            Location::Neutral => v3(-0.10, 0.22, 0.32),
            Location::NeutralHigh => v3(-0.10, 0.0, 0.34),
            Location::NeutralLow => v3(-0.06, 0.32, 0.28),
            Location::NeutralSide => v3(-0.30, 0.16, 0.26),
            Location::Chest => v3(-0.06, 0.12, 0.14),
            Location::Stomach => v3(-0.03, 0.30, 0.17),
            Location::Chin => f(0.0, 0.72, 0.45),
            Location::Mouth => f(0.0, 0.45, 0.55),
            Location::Nose => f(0.0, 0.22, 0.65),
            Location::Forehead => f(-0.05, -0.32, 0.5),
            Location::Temple => f(-0.55, -0.12, 0.1),
            Location::Cheek => f(-0.45, 0.3, 0.35),
            Location::IpsiShoulder => v3(-sw / 2.0 + 0.04, 0.0, 0.1),
            Location::ContraShoulder => v3(sw / 2.0 - 0.04, 0.0, 0.1),
            // Placed relative to the base hand by the prototype.
            Location::WeakHand => v3(-0.02, 0.20, 0.32),
        }
    }

    /// Where idle hands rest (right hand; mirror for the left).
    pub fn rest(&self) -> HandPose {
        HandPose {
            frame: HandFrame {
                wrist: v3(-0.14, 0.31, 0.14),
                finger: v3(0.55, 0.25, 0.8).normalized(),
                palm: v3(0.3, -0.3, -0.9).normalized(),
            },
            shape: HandShape::relaxed(),
        }
    }

    /// Distance from the wrist to the middle of the palm/fingers, the part placed at a location.
    fn reach(&self) -> f32 {
        0.075 * self.hand_scale
    }
}

/// Everything that defines how one sign is articulated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignPrototype {
    pub key: String,
    pub hands: Hands,
    pub shape_name: &'static str,
    #[serde(skip)]
    pub shape_start: HandShape,
    /// Name of the closing shape when the hand shape changes during the sign.
    pub shape_change: Option<&'static str>,
    #[serde(skip)]
    pub shape_end: HandShape,
    /// Shape of the non-dominant hand for `OnBase` signs.
    #[serde(skip)]
    pub base_shape: HandShape,
    pub location: Location,
    /// Small sign-specific displacement from the location's anchor (m).
    pub offset: V3,
    pub finger: V3,
    pub palm: V3,
    pub movement: Movement,
    /// Path size in metres (before signer and instance scaling).
    pub amplitude: f32,
    /// Citation duration in seconds (before the signer's speed).
    pub duration_s: f32,
    pub mouthing: Vec<Syllable>,
    pub head: HeadGesture,
    pub brow: f32,
}

/// Share of motion keys made as a one-parameter variant of a root sign, and the number
/// of roots.
const MINIMAL_PAIR_SHARE: f64 = 0.5;
const MINIMAL_PAIR_ROOTS: u32 = 160;

const DIRS: [V3; 10] = [
    v3(0.0, 0.0, 1.0),
    v3(0.0, 0.0, -1.0),
    v3(0.0, 1.0, 0.0),
    v3(0.0, -1.0, 0.0),
    v3(1.0, 0.0, 0.0),
    v3(-1.0, 0.0, 0.0),
    v3(0.0, 0.6, 0.8),
    v3(0.6, -0.8, 0.0),
    v3(0.7, 0.0, 0.7),
    v3(-0.6, 0.6, 0.5),
];
/// Palms face along one of the six axis directions (the first six of `DIRS`).
const PALMS: &[V3] = DIRS.as_slice().split_at(6).0;
// Right hands rarely point to the right (−x): that needs an awkward wrist.
const FINGERS: [V3; 6] = [
    v3(0.0, -1.0, 0.0),
    v3(0.0, 0.0, 1.0),
    v3(1.0, 0.0, 0.0),
    v3(0.6, -0.8, 0.0),
    v3(0.0, -0.6, 0.8),
    v3(0.5, 0.0, 0.85),
];

fn pick_weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// One of `dirs`, perturbed by up to `amount` per component.
fn pick_dir(rng: &mut impl Rng, dirs: &[V3], amount: f32) -> V3 {
    let d = *dirs.choose(rng).expect("non-empty direction set");
    let mut j = || rng.random_range(-amount..=amount);
    (d + v3(j(), j(), j())).normalized()
}

impl SignPrototype {
    /// The prototype of motion key `key` for corpus seed `seed`.
    pub fn from_key(seed: u64, key: &str) -> SignPrototype {
        // Sign languages are full of minimal pairs: signs that differ in one parameter
        // only. A share of keys is a one-parameter variant of one of a few hundred roots,
        // so that some signs are genuinely hard to tell apart.
        let mut rng = rng_for(seed, &["minimal-pair", key]);
        if rng.random_bool(MINIMAL_PAIR_SHARE) {
            let root = format!("root#{}", rng.random_range(0..MINIMAL_PAIR_ROOTS));
            let mut proto = Self::draw(seed, &root);
            proto.key = key.to_string();
            proto.mutate_one(&mut rng);
            return proto;
        }
        Self::draw(seed, key)
    }

    /// Change exactly one phonological parameter: half the time subtly (place moved by
    /// 4–6 cm, path reversed or re-aimed, size ×1.6), otherwise hand shape, location,
    /// movement or palm orientation drawn anew.
    fn mutate_one(&mut self, rng: &mut impl Rng) {
        if rng.random_bool(0.5) {
            // A subtle pair: the same sign a few centimetres away, or with a tilted path.
            if rng.random_bool(0.5) {
                let d = pick_dir(rng, &DIRS, 0.3);
                self.offset += d * rng.random_range(0.04..0.06);
            } else {
                self.movement = match self.movement {
                    Movement::Straight { dir } => Movement::Straight { dir: -dir },
                    Movement::Arc { dir, bulge } => Movement::Arc { dir, bulge: -bulge },
                    Movement::Circle { u, v, cycles } => Movement::Circle { u, v: -v, cycles },
                    Movement::Tap { dir, count } => Movement::Tap { dir: -dir, count },
                    Movement::Shake { count, .. } => Movement::Shake {
                        dir: pick_dir(rng, &DIRS, 0.2),
                        count,
                    },
                    other => {
                        self.amplitude *= 1.6;
                        other
                    }
                };
            }
            return;
        }
        match rng.random_range(0..4) {
            1 if self.hands != Hands::OnBase => self.location = pick_weighted(rng, &BODY_LOCATIONS),
            2 => {
                self.movement = Self::draw_movement(rng, self.hands);
                self.duration_s = self.movement.base_duration() * rng.random_range(0.85..1.2);
            }
            3 => {
                let palm = pick_dir(rng, PALMS, 0.25);
                self.palm = if palm.dot(self.finger).abs() > 0.7 {
                    self.finger.cross(v3(0.0, 1.0, 0.2)).normalized()
                } else {
                    palm
                };
            }
            _ => {
                let (name, base) = *BASE_HAND_SHAPES.choose(rng).expect("non-empty");
                self.shape_name = name;
                self.shape_start = base.vary(rng, 0.15);
                if self.shape_change.is_none() {
                    self.shape_end = self.shape_start;
                }
            }
        }
    }

    /// How one signer produces this sign: every signer has a personal variant of each
    /// citation form (place, orientation, hand shape, size, tempo), fixed per signer.
    pub fn realized_by(&self, seed: u64, signer_id: &str) -> SignPrototype {
        let mut rng = rng_for(seed, &["realization", signer_id, &self.key]);
        let mut p = self.clone();
        let mut u = |a: f32| rng.random_range(-a..=a);
        p.offset += v3(u(0.025), u(0.025), u(0.015));
        p.finger = (p.finger + v3(u(0.15), u(0.15), u(0.15))).normalized();
        p.palm = (p.palm + v3(u(0.15), u(0.15), u(0.15))).normalized();
        p.amplitude *= 1.0 + u(0.2);
        p.duration_s *= 1.0 + u(0.15);
        p.shape_start = p.shape_start.vary(&mut rng, 0.1);
        p.shape_end = if p.shape_change.is_some() {
            p.shape_end.vary(&mut rng, 0.1)
        } else {
            p.shape_start
        };
        p
    }

    /// One production of the sign in running signing: place, orientation and hand shape
    /// are never quite the same (σ 2.5 cm, ≈ 0.12 rad, ±0.12 rad per joint),
    /// repetitions are added or dropped, and two-handed signs sometimes lose their weak
    /// hand ("weak drop").
    pub fn instance(&self, rng: &mut impl Rng) -> SignPrototype {
        let mut p = self.clone();
        let mut n = |sigma: f32| sigma * rng.sample::<f32, _>(rand_distr::StandardNormal);
        p.offset += v3(n(0.025), n(0.025), n(0.02));
        p.finger = (p.finger + v3(n(0.12), n(0.12), n(0.12))).normalized();
        p.palm = (p.palm + v3(n(0.12), n(0.12), n(0.12))).normalized();
        p.shape_start = p.shape_start.vary(rng, 0.12);
        p.shape_end = if p.shape_change.is_some() {
            p.shape_end.vary(rng, 0.12)
        } else {
            p.shape_start
        };
        if matches!(p.hands, Hands::Symmetric | Hands::Alternating) && rng.random_bool(0.15) {
            p.hands = Hands::One;
        }
        if rng.random_bool(0.3) {
            let more = rng.random_bool(0.5);
            let change = |c: &mut u8, min: u8| *c = if more { *c + 1 } else { (*c - 1).max(min) };
            match &mut p.movement {
                Movement::Tap { count, .. } | Movement::Shake { count, .. } => change(count, 2),
                Movement::Wiggle { count } => change(count, 2),
                Movement::Circle { cycles, .. } => change(cycles, 1),
                _ => {}
            }
        }
        p
    }

    fn draw(seed: u64, key: &str) -> SignPrototype {
        let mut rng = rng_for(seed, &["prototype", key]);
        let hands = pick_weighted(
            &mut rng,
            &[
                (Hands::One, 55),
                (Hands::Symmetric, 18),
                (Hands::Alternating, 10),
                (Hands::OnBase, 17),
            ],
        );
        let (shape_name, base) = *BASE_HAND_SHAPES.choose(&mut rng).unwrap();
        let shape_start = base.vary(&mut rng, 0.15);
        let (shape_change, shape_end) = if rng.random_bool(0.22) {
            let (name, end) = *BASE_HAND_SHAPES.choose(&mut rng).unwrap();
            (Some(name), end.vary(&mut rng, 0.15))
        } else {
            (None, shape_start)
        };
        let base_shape = [0usize, 1, 3, 9]
            .choose(&mut rng)
            .map(|&i| BASE_HAND_SHAPES[i].1.vary(&mut rng, 0.1))
            .unwrap();
        let location = if hands == Hands::OnBase {
            Location::WeakHand
        } else {
            pick_weighted(&mut rng, &BODY_LOCATIONS)
        };
        let offset = v3(
            rng.random_range(-0.03..=0.03),
            rng.random_range(-0.03..=0.03),
            rng.random_range(-0.02..=0.02),
        );
        let finger = pick_dir(&mut rng, &FINGERS, 0.25);
        let mut palm = pick_dir(&mut rng, PALMS, 0.25);
        if palm.dot(finger).abs() > 0.7 {
            // Fingers cannot point where the palm faces: turn the palm to the side.
            palm = finger.cross(v3(0.0, 1.0, 0.2)).normalized();
        }
        let movement = Self::draw_movement(&mut rng, hands);
        let amplitude = rng.random_range(0.05..0.14);
        let duration_s = movement.base_duration() * rng.random_range(0.85..1.2);
        let mouthing = if rng.random_bool(0.7) {
            let n = rng.random_range(1..=3);
            (0..n)
                .map(|k| Syllable {
                    at: (k as f32 + 0.5) / n as f32,
                    open: rng.random_range(0.2..0.8),
                    width: rng.random_range(-0.3..0.2),
                })
                .collect()
        } else {
            Vec::new()
        };
        let head = pick_weighted(
            &mut rng,
            &[
                (HeadGesture::None, 75),
                (HeadGesture::Nod, 10),
                (HeadGesture::Shake, 5),
                (HeadGesture::Tilt, 10),
            ],
        );
        let brow = pick_weighted(&mut rng, &[(0.0, 80), (1.0, 15), (-0.8, 5)]);
        SignPrototype {
            key: key.to_string(),
            hands,
            shape_name,
            shape_start,
            shape_change,
            shape_end,
            base_shape,
            location,
            offset,
            finger,
            palm,
            movement,
            amplitude,
            duration_s,
            mouthing,
            head,
            brow,
        }
    }

    fn draw_movement(rng: &mut impl Rng, hands: Hands) -> Movement {
        let dir = pick_dir(rng, &DIRS, 0.2);
        let other = pick_dir(rng, &DIRS, 0.2);
        let bulge = (other - dir * other.dot(dir)).normalized();
        let weights: &[(u8, u32)] = if hands == Hands::OnBase {
            &[(0, 2), (1, 4), (2, 3), (3, 2), (4, 5)]
        } else {
            &[
                (0, 2),
                (1, 5),
                (2, 4),
                (3, 3),
                (4, 3),
                (5, 2),
                (6, 2),
                (7, 2),
            ]
        };
        match pick_weighted(rng, weights) {
            0 => Movement::Hold { dir },
            1 => Movement::Straight { dir },
            2 => Movement::Arc {
                dir,
                bulge: if bulge.norm() > 0.5 {
                    bulge
                } else {
                    v3(0.0, -1.0, 0.0)
                },
            },
            3 => {
                let planes = [
                    (v3(1.0, 0.0, 0.0), v3(0.0, 1.0, 0.0)),
                    (v3(1.0, 0.0, 0.0), v3(0.0, 0.0, 1.0)),
                    (v3(0.0, 1.0, 0.0), v3(0.0, 0.0, 1.0)),
                ];
                let (u, v) = *planes.choose(rng).unwrap();
                let v = if rng.random_bool(0.5) { v } else { -v };
                Movement::Circle {
                    u,
                    v,
                    cycles: rng.random_range(1..=2),
                }
            }
            4 => Movement::Tap {
                dir,
                count: rng.random_range(2..=3),
            },
            5 => Movement::Shake {
                dir,
                count: rng.random_range(2..=4),
            },
            6 => Movement::Wiggle {
                count: rng.random_range(3..=5),
            },
            _ => Movement::Twist {
                count: rng.random_range(1..=2),
            },
        }
    }

    /// Offset along the path at phase `p` (unit amplitude), extra wrist rotation about the
    /// finger axis, and extra finger flexion (wiggle).
    fn path(&self, p: f32) -> (V3, f32, [f32; 4]) {
        // Mostly minimum-jerk, with some constant-velocity share so the hand is still
        // moving when the sign ends: the following transition inherits that velocity,
        // which makes transitions depend on both neighbouring signs.
        let s = 0.7 * min_jerk(p) + 0.3 * p;
        let tau = 2.0 * PI;
        match self.movement {
            Movement::Hold { dir } => (dir * (0.12 * s), 0.0, [0.0; 4]),
            Movement::Straight { dir } => (dir * (s - 0.5), 0.0, [0.0; 4]),
            Movement::Arc { dir, bulge } => (
                dir * (s - 0.5) + bulge * (0.35 * (PI * s).sin()),
                0.0,
                [0.0; 4],
            ),
            Movement::Circle { u, v, cycles } => {
                let a = tau * cycles as f32 * s;
                ((u * (a.cos() - 1.0) + v * a.sin()) * 0.5, 0.0, [0.0; 4])
            }
            Movement::Tap { dir, count } => (
                dir * (0.25 * (1.0 - (tau * count as f32 * p).cos())),
                0.0,
                [0.0; 4],
            ),
            Movement::Shake { dir, count } => {
                (dir * (0.45 * (tau * count as f32 * p).sin()), 0.0, [0.0; 4])
            }
            Movement::Wiggle { count } => {
                let a = tau * count as f32 * p;
                let flex = [0.0, 1.0, 2.0, 3.0].map(|k: f32| 0.35 * (a - 0.9 * k).sin());
                (v3(a.sin(), a.cos(), 0.0) * 0.06, 0.0, flex)
            }
            Movement::Twist { count } => (V3::ZERO, 0.9 * (PI * count as f32 * s).sin(), [0.0; 4]),
        }
    }

    /// The still non-dominant hand of an `OnBase` sign.
    fn base_hand(&self) -> HandPose {
        let palm = if self.palm.y > 0.5 {
            v3(0.0, -1.0, 0.1)
        } else {
            v3(-0.2, -0.7, 0.6)
        };
        HandPose {
            frame: HandFrame {
                wrist: v3(0.12, 0.22, 0.22),
                finger: v3(-0.6, -0.05, 0.8).normalized(),
                palm: palm.normalized(),
            },
            shape: self.base_shape,
        }
    }

    /// The articulators at phase `p` ∈ [0, 1] of the sign. `amplitude` scales the path
    /// (signer × instance), `shift` displaces the location (co-articulation).
    pub fn sample(&self, geo: &BodyGeometry, p: f32, amplitude: f32, shift: V3) -> ArticulatorPose {
        let (path, twist, wiggle) = self.path(p);
        let path = path * (self.amplitude * amplitude);
        let base = (self.hands == Hands::OnBase).then(|| self.base_hand());
        let mut target = match base {
            Some(b) => {
                let (_, f, n) = b.frame.axes(true);
                b.frame.wrist + f * (0.08 * geo.hand_scale) + n * 0.04
            }
            None => geo.anchor(self.location),
        } + self.offset
            + shift;
        if matches!(self.hands, Hands::Symmetric | Hands::Alternating) {
            // Keep mirrored hands from passing through each other at the midline.
            target.x = target.x.min(-0.08);
        }
        let shape_t = min_jerk((p - 0.2) / 0.6);
        let shape = self
            .shape_start
            .lerp(&self.shape_end, shape_t)
            .with_extra_flex(wiggle);
        let finger = self.finger;
        let palm = self.palm.rotate_about(finger, twist);
        let place = |target: V3, finger: V3| target - finger * geo.reach();
        let dom = HandPose {
            frame: HandFrame {
                wrist: place(target + path, finger),
                finger,
                palm,
            },
            shape,
        };
        let nondom = match self.hands {
            Hands::One => None,
            Hands::OnBase => base,
            Hands::Symmetric => Some(dom.mirror()),
            Hands::Alternating => {
                let (path2, twist2, wiggle2) = self.path((p + 0.5).fract());
                let path2 = path2 * (self.amplitude * amplitude);
                let palm2 = self.palm.rotate_about(finger, twist2);
                let shape2 = self
                    .shape_start
                    .lerp(&self.shape_end, shape_t)
                    .with_extra_flex(wiggle2);
                Some(
                    HandPose {
                        frame: HandFrame {
                            wrist: place(target + path2, finger),
                            finger,
                            palm: palm2,
                        },
                        shape: shape2,
                    }
                    .mirror(),
                )
            }
        };
        ArticulatorPose {
            dom,
            nondom,
            non_manual: self.non_manual(p),
        }
    }

    fn non_manual(&self, p: f32) -> NonManual {
        let mut nm = NonManual::default();
        for syl in &self.mouthing {
            let w = 0.5 / self.mouthing.len() as f32;
            let d = (p - syl.at) / w;
            let bump = (1.0 - d * d).max(0.0);
            nm.mouth_open += syl.open * bump;
            nm.mouth_width += syl.width * bump;
        }
        let env = (PI * p).sin();
        nm.brow = self.brow * env;
        nm.head = match self.head {
            HeadGesture::None => (0.0, 0.0, 0.0),
            HeadGesture::Nod => (0.0, 0.12 * (2.0 * PI * 2.0 * p).sin() * env, 0.0),
            HeadGesture::Shake => (0.15 * (2.0 * PI * 2.0 * p).sin() * env, 0.0, 0.0),
            HeadGesture::Tilt => (0.0, 0.0, 0.12 * env),
        };
        nm
    }

    /// A one-line summary for the data card.
    pub fn describe(&self) -> String {
        format!(
            "{:?}, shape {}{}, {:?}, {} ({:.0} cm), {:.2} s{}",
            self.hands,
            self.shape_name,
            self.shape_change
                .map(|s| format!("→{s}"))
                .unwrap_or_default(),
            self.location,
            self.movement.name(),
            self.amplitude * 100.0,
            self.duration_s,
            if self.mouthing.is_empty() {
                ""
            } else {
                ", mouthing"
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototypes_are_deterministic_and_key_dependent() {
        let a = SignPrototype::from_key(1, "REGEN");
        assert_eq!(a, SignPrototype::from_key(1, "REGEN"));
        let others: Vec<_> = ["SONNE", "WIND", "MORGEN", "NORD", "SUED"]
            .iter()
            .map(|k| SignPrototype::from_key(1, k))
            .collect();
        assert!(
            others
                .iter()
                .all(|o| o.describe() != a.describe() || o.offset != a.offset)
        );
        assert_ne!(a, SignPrototype::from_key(2, "REGEN"));
    }

    #[test]
    fn sampled_wrists_stay_in_front_of_the_upper_body() {
        let signer = SignerProfile::generate(0, 0, 1280, 720);
        let geo = BodyGeometry::of(&signer);
        for k in 0..200 {
            let proto = SignPrototype::from_key(0, &format!("G{k}"));
            for p in [0.0, 0.3, 0.7, 1.0] {
                let pose = proto.sample(&geo, p, 1.0, V3::ZERO);
                let w = pose.dom.frame.wrist;
                assert!(
                    w.x.abs() < 0.5 && w.y > -0.45 && w.y < 0.5 && w.z > -0.1,
                    "{k} {w:?}"
                );
            }
        }
    }
}
