//! From a sequence of motion keys to a keypoint sequence: timing, co-articulation,
//! non-manual behaviour, forward kinematics, camera, detector noise and dropouts.

use std::collections::HashMap;
use std::f32::consts::PI;

use ndarray::{Array3, Array4};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use signscope_pose::skeleton::{Layout, coco};
use signscope_pose::{Pose, PoseBody};

use crate::face::{
    FaceState, LEFT_EAR, LEFT_EYE_CENTRE, NOSE_TIP, RIGHT_EAR, RIGHT_EYE_CENTRE, face_points,
};
use crate::geom::{Rot3, V3, hermite, min_jerk, two_bone_ik, v3};
use crate::hand::hand_points;
use crate::prototype::{ArticulatorPose, BodyGeometry, HandPose, Hands, NonManual, SignPrototype};
use crate::seed::rng_for;
use crate::signer::SignerProfile;

/// Prototypes by motion key, made on first use. Deterministic: a key's prototype
/// depends only on the seed and the key.
#[derive(Debug, Clone)]
pub struct PrototypeBank {
    pub seed: u64,
    prototypes: HashMap<String, SignPrototype>,
}

impl PrototypeBank {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            prototypes: HashMap::new(),
        }
    }

    /// A bank holding the prototypes of all `keys`.
    pub fn with_keys<'a>(seed: u64, keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut bank = Self::new(seed);
        for key in keys {
            bank.insert(key);
        }
        bank
    }

    pub fn insert(&mut self, key: &str) -> &SignPrototype {
        let seed = self.seed;
        self.prototypes
            .entry(key.to_string())
            .or_insert_with(|| SignPrototype::from_key(seed, key))
    }

    pub fn get(&self, key: &str) -> Option<&SignPrototype> {
        self.prototypes.get(key)
    }

    pub fn len(&self) -> usize {
        self.prototypes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prototypes.is_empty()
    }

    /// All prototypes, sorted by key.
    pub fn sorted(&self) -> Vec<&SignPrototype> {
        let mut all: Vec<_> = self.prototypes.values().collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}

/// Options that apply to a whole corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderConfig {
    pub seed: u64,
    pub fps: f32,
}

/// Counts gathered while rendering one utterance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    pub frames: usize,
    /// Hand observations (hands × frames) and how many were dropped by the simulated
    /// detector (fast motion) or fell outside the image.
    pub hand_observations: usize,
    pub hand_dropped: usize,
    pub hand_out_of_frame: usize,
}

/// A rendered utterance: the keypoints, the frame span `[start, end)` of each sign
/// (transitions and holds excluded), and counts.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub pose: Pose,
    pub sign_spans: Vec<(usize, usize)>,
    pub stats: RenderStats,
}

/// What a frame of the timeline shows.
#[derive(Debug, Clone, Copy)]
enum Segment {
    /// Hands at rest before the first and after the last sign.
    Rest,
    /// Sign `i`, phase from 0 to 1 over the segment.
    Sign(usize),
    /// Sign `i`'s final posture held a moment.
    Hold(usize),
    /// Movement epenthesis from the end of one sign (or rest) to the start of the next
    /// (or rest); `None` means rest.
    Transition {
        from: Option<usize>,
        to: Option<usize>,
    },
}

/// One sign as it is produced in this utterance.
struct Instance<'a> {
    proto: &'a SignPrototype,
    frames: usize,
    amplitude: f32,
    shift: V3,
    held: bool,
    start: ArticulatorPose,
    end: ArticulatorPose,
    /// Dominant wrist velocity per unit phase at the start and end.
    v_start: V3,
    v_end: V3,
    /// Non-dominant hand at the start and end of the sign (filled in for one-handed signs).
    nd_start: HandPose,
    nd_end: HandPose,
}

/// Render the motion keys `keys` (one per sign) signed by `signer`.
/// `utterance_id` selects the random stream, so the same id, signer and seed always
/// give the same bytes.
pub fn render_utterance(
    bank: &PrototypeBank,
    keys: &[&str],
    signer: &SignerProfile,
    config: &RenderConfig,
    utterance_id: &str,
) -> anyhow::Result<Rendered> {
    let mut rng = rng_for(config.seed, &["render", utterance_id, &signer.id]);
    let fps = config.fps;
    let geo = BodyGeometry::of(signer);
    let rest = geo.rest();
    let to_frames = |seconds: f32| ((seconds * fps).round() as usize).max(1);

    // Per-instance variation: duration, size, place.
    let mut instances = Vec::with_capacity(keys.len());
    for key in keys {
        let proto = bank
            .get(key)
            .ok_or_else(|| {
                anyhow::anyhow!("no motion prototype for key {key:?} (utterance {utterance_id})")
            })?
            .realized_by(config.seed, &signer.id)
            .instance(&mut rng);
        let stretch: f32 = (0.15 * rng.sample::<f32, _>(StandardNormal)).exp();
        let frames = to_frames(proto.duration_s / signer.speed * stretch).max(3);
        let amplitude = signer.amplitude * rng.random_range(0.6..1.25);
        let held = rng.random_bool(signer.hold_rate as f64);
        let anchor = proto.sample(&geo, 0.5, amplitude, V3::ZERO).dom.frame.wrist;
        instances.push((proto, frames, amplitude, held, anchor));
    }
    // Co-articulation of place: each sign drifts toward its neighbours' locations.
    let n = instances.len();
    let mut built: Vec<Instance> = Vec::with_capacity(n);
    for i in 0..n {
        let (ref proto, frames, amplitude, held, anchor) = instances[i];
        let mut pull = V3::ZERO;
        for j in [i.wrapping_sub(1), i + 1] {
            if let Some(other) = instances.get(j) {
                pull += (other.4 - anchor) * 0.5;
            }
        }
        let mut shift = pull * signer.coarticulation;
        if shift.norm() > 0.08 {
            shift = shift.normalized() * 0.08;
        }
        let sample = |p: f32| proto.sample(&geo, p, amplitude, shift);
        let (start, end) = (sample(0.0), sample(1.0));
        let d = 0.02;
        let v_start = (sample(d).dom.frame.wrist - start.dom.frame.wrist) * (1.0 / d);
        let v_end = (end.dom.frame.wrist - sample(1.0 - d).dom.frame.wrist) * (1.0 / d);
        built.push(Instance {
            proto,
            frames,
            amplitude,
            shift,
            held,
            start,
            end,
            v_start,
            v_end,
            nd_start: rest.mirror(),
            nd_end: rest.mirror(),
        });
    }
    fill_non_dominant(&mut built, &rest.mirror());

    // The timeline.
    let mut timeline: Vec<(Segment, usize)> = Vec::new();
    timeline.push((Segment::Rest, to_frames(rng.random_range(0.2..0.45))));
    let transition_frames = |from: V3, to: V3, rng: &mut ChaCha8Rng| {
        let dist = (to - from).norm();
        to_frames((0.06 + 0.3 * dist) / signer.speed * rng.random_range(0.85..1.2)).max(2)
    };
    let mut prev_end = rest.frame.wrist;
    for (i, inst) in built.iter().enumerate() {
        let from = if i == 0 { None } else { Some(i - 1) };
        let m = transition_frames(prev_end, inst.start.dom.frame.wrist, &mut rng);
        timeline.push((Segment::Transition { from, to: Some(i) }, m));
        timeline.push((Segment::Sign(i), inst.frames));
        if inst.held {
            timeline.push((Segment::Hold(i), to_frames(rng.random_range(0.08..0.25))));
        }
        prev_end = inst.end.dom.frame.wrist;
    }
    if n > 0 {
        let m = transition_frames(prev_end, rest.frame.wrist, &mut rng);
        timeline.push((
            Segment::Transition {
                from: Some(n - 1),
                to: None,
            },
            m,
        ));
    }
    timeline.push((Segment::Rest, to_frames(rng.random_range(0.2..0.45))));
    let total: usize = timeline.iter().map(|(_, f)| f).sum();

    let mut animator = Animator::new(signer, geo, fps, &mut rng);
    let mut out = FrameWriter::new(signer, total);
    let mut sign_spans = vec![(0, 0); n];
    let mut frame = 0;
    for &(segment, len) in &timeline {
        if let Segment::Sign(i) = segment {
            sign_spans[i] = (frame, frame + len);
        }
        for k in 0..len {
            let pose = articulators(&built, &geo, &rest, segment, k, len);
            let points = animator.pose_points(&pose, frame);
            out.write_frame(frame, &points, animator.wrist_speeds(), &mut rng);
            frame += 1;
        }
    }
    let stats = out.stats;
    let header = Layout::CocoWholeBody133.header(signer.camera.width, signer.camera.height, 0);
    let pose = Pose::new(
        header,
        PoseBody {
            fps,
            data: out.data,
            confidence: out.confidence,
        },
    )?;
    Ok(Rendered {
        pose,
        sign_spans,
        stats,
    })
}

/// One-handed signs between two two-handed signs keep the weak hand up where it was
/// (a "weak-hand hold"); otherwise it goes down to rest.
fn fill_non_dominant(built: &mut [Instance], rest: &HandPose) {
    let n = built.len();
    let two_handed = |inst: &Instance| inst.proto.hands != Hands::One;
    for inst in built.iter_mut().filter(|inst| two_handed(inst)) {
        inst.nd_start = inst.start.nondom.unwrap_or(*rest);
        inst.nd_end = inst.end.nondom.unwrap_or(*rest);
    }
    for i in 0..n {
        if two_handed(&built[i]) {
            continue;
        }
        let prev = i.checked_sub(1).filter(|&j| two_handed(&built[j]));
        let next = (i + 1 < n)
            .then_some(i + 1)
            .filter(|&j| two_handed(&built[j]));
        if let (Some(p), Some(q)) = (prev, next) {
            let (a, b) = (built[p].nd_end, built[q].nd_start);
            built[i].nd_start = a.lerp(&b, 0.2);
            built[i].nd_end = a.lerp(&b, 0.8);
        } else {
            built[i].nd_start = *rest;
            built[i].nd_end = *rest;
        }
    }
}

/// The articulators at frame `k` of a `len`-frame segment.
fn articulators(
    built: &[Instance],
    geo: &BodyGeometry,
    rest: &HandPose,
    segment: Segment,
    k: usize,
    len: usize,
) -> ArticulatorPose {
    let resting = ArticulatorPose {
        dom: *rest,
        nondom: Some(rest.mirror()),
        non_manual: NonManual::default(),
    };
    match segment {
        Segment::Rest => resting,
        Segment::Sign(i) => {
            let inst = &built[i];
            let p = if len > 1 {
                k as f32 / (len - 1) as f32
            } else {
                0.5
            };
            let mut pose = inst.proto.sample(geo, p, inst.amplitude, inst.shift);
            // Anticipate the next sign's hand shape near the end of this one.
            if let Some(next) = built.get(i + 1) {
                let t = 0.3 * min_jerk((p - 0.75) / 0.25);
                pose.dom.shape = pose.dom.shape.lerp(&next.start.dom.shape, t);
            }
            if pose.nondom.is_none() {
                pose.nondom = Some(inst.nd_start.lerp(&inst.nd_end, min_jerk(p)));
            }
            pose
        }
        Segment::Hold(i) => {
            let mut pose = built[i].end;
            pose.nondom = Some(built[i].nd_end);
            pose
        }
        Segment::Transition { from, to } => {
            let s = (k + 1) as f32 / (len + 1) as f32;
            let (a, va, nd_a) = match from {
                Some(i) => {
                    let inst = &built[i];
                    let v = if inst.held {
                        V3::ZERO
                    } else {
                        inst.v_end * ((len + 1) as f32 / (inst.frames - 1).max(1) as f32)
                    };
                    (inst.end, v, inst.nd_end)
                }
                None => (resting, V3::ZERO, rest.mirror()),
            };
            let (b, vb, nd_b) = match to {
                Some(i) => {
                    let inst = &built[i];
                    let v = inst.v_start * ((len + 1) as f32 / (inst.frames - 1).max(1) as f32);
                    (inst.start, v, inst.nd_start)
                }
                None => (resting, V3::ZERO, rest.mirror()),
            };
            // Movement epenthesis: a Hermite curve that leaves along the last sign's path
            // and arrives along the next one's, so its shape depends on both signs.
            let gap = (b.dom.frame.wrist - a.dom.frame.wrist).norm().max(0.05);
            let clamp = |v: V3| {
                if v.norm() > 1.5 * gap {
                    v.normalized() * (1.5 * gap)
                } else {
                    v
                }
            };
            let e = min_jerk(s);
            let mut dom = a.dom.lerp(&b.dom, e);
            dom.frame.wrist = hermite(
                a.dom.frame.wrist,
                clamp(va),
                b.dom.frame.wrist,
                clamp(vb),
                s,
            );
            dom.shape = a.dom.shape.lerp(&b.dom.shape, min_jerk(s / 0.7));
            let nondom = Some(nd_a.lerp(&nd_b, e));
            let nm = |x: &NonManual| *x;
            let (na, nb) = (nm(&a.non_manual), nm(&b.non_manual));
            let l = |x: f32, y: f32| x + (y - x) * e;
            ArticulatorPose {
                dom,
                nondom,
                non_manual: NonManual {
                    mouth_open: l(na.mouth_open, nb.mouth_open),
                    mouth_width: l(na.mouth_width, nb.mouth_width),
                    brow: l(na.brow, nb.brow),
                    head: (
                        l(na.head.0, nb.head.0),
                        l(na.head.1, nb.head.1),
                        l(na.head.2, nb.head.2),
                    ),
                },
            }
        }
    }
}

/// Background behaviour that runs through the whole utterance (breathing, blinks, nods,
/// sway) and the forward kinematics from articulators to 3-D points.
struct Animator<'a> {
    signer: &'a SignerProfile,
    geo: BodyGeometry,
    fps: f32,
    breath_phase: f32,
    sway_phase: f32,
    /// Frames at which a blink / nod starts.
    blinks: Vec<usize>,
    nods: Vec<usize>,
    prev_wrists: Option<[V3; 2]>,
    speeds: [f32; 2],
}

impl<'a> Animator<'a> {
    fn new(signer: &'a SignerProfile, geo: BodyGeometry, fps: f32, rng: &mut ChaCha8Rng) -> Self {
        let events = |rate: f32, rng: &mut ChaCha8Rng| {
            // Poisson process; 40 s is longer than any utterance.
            let mut t = 0.0f32;
            let mut out = Vec::new();
            loop {
                t += -(1.0 - rng.random::<f32>()).ln() / rate.max(1e-3);
                if t > 40.0 {
                    break out;
                }
                out.push((t * fps) as usize);
            }
        };
        Self {
            signer,
            geo,
            fps,
            breath_phase: rng.random_range(0.0..2.0 * PI),
            sway_phase: rng.random_range(0.0..2.0 * PI),
            blinks: events(signer.blink_rate, rng),
            nods: events(signer.nod_rate, rng),
            prev_wrists: None,
            speeds: [0.0; 2],
        }
    }

    /// Wrist speeds (m/s) of the left and right hand in the last frame.
    fn wrist_speeds(&self) -> [f32; 2] {
        self.speeds
    }

    fn bump(events: &[usize], frame: usize, len: usize) -> f32 {
        events
            .iter()
            .filter(|&&s| frame >= s && frame < s + len)
            .map(|&s| (PI * (frame - s) as f32 / len as f32).sin())
            .fold(0.0, f32::max)
    }

    /// All 133 points of one frame in the body frame.
    fn pose_points(&mut self, pose: &ArticulatorPose, frame: usize) -> [V3; 133] {
        let s = self.signer;
        let geo = &self.geo;
        let t = frame as f32 / self.fps;
        let mut pts = [V3::ZERO; 133];

        // Mirror the whole right-handed articulation for a left-handed signer.
        let rest_nd = geo.rest().mirror();
        let (dom, nondom) = (pose.dom, pose.nondom.unwrap_or(rest_nd));
        let (right, left) = if s.left_handed {
            (nondom.mirror(), dom.mirror())
        } else {
            (dom, nondom)
        };

        let sway = v3(
            0.012 * (2.0 * PI * 0.11 * t + self.sway_phase).sin(),
            0.0,
            0.008 * (2.0 * PI * 0.07 * t).sin(),
        );
        let breath =
            s.breath_depth * (0.5 + 0.5 * (2.0 * PI * s.breath_rate * t + self.breath_phase).sin());
        // Raising a hand above the chest lifts its shoulder a little.
        let shrug = |w: V3| 0.03 * ((0.05 - w.y) / 0.3).clamp(0.0, 1.0);
        let hw = s.shoulder_width / 2.0;
        let sh_r = v3(-hw, -breath - shrug(right.frame.wrist), 0.0) + sway;
        let sh_l = v3(hw, -breath - shrug(left.frame.wrist), 0.0) + sway;
        pts[coco::RIGHT_SHOULDER] = sh_r;
        pts[coco::LEFT_SHOULDER] = sh_l;

        // Lower body: still (the signer stands or sits); mostly outside the image.
        let hip_x = s.shoulder_width * 0.27;
        let leg = |x: f32, y: f32, z: f32| v3(x, s.torso + y, z) + sway * 0.3;
        for (side, sign) in [(0usize, 1.0f32), (1, -1.0)] {
            pts[11 + side] = leg(sign * hip_x, 0.0, -0.02);
            pts[13 + side] = leg(sign * hip_x * 1.05, 0.45, 0.1);
            pts[15 + side] = leg(sign * hip_x * 1.05, 0.88, 0.0);
            pts[17 + 3 * side] = leg(sign * (hip_x + 0.03), 0.93, 0.15);
            pts[18 + 3 * side] = leg(sign * (hip_x + 0.08), 0.93, 0.12);
            pts[19 + 3 * side] = leg(sign * hip_x, 0.94, -0.05);
        }

        // Head: sign-driven gesture + slow drift + nods + a glance toward the dominant hand.
        let nm = pose.non_manual;
        let nod = Self::bump(&self.nods, frame, (0.4 * self.fps) as usize) * s.nod_depth;
        let yaw = nm.head.0
            + 0.05 * (2.0 * PI * 0.13 * t + self.sway_phase).sin()
            + 0.12 * dom.frame.wrist.x.clamp(-0.4, 0.4);
        let pitch = nm.head.1 + nod + 0.03 * (2.0 * PI * 0.21 * t).sin();
        let rot = Rot3::from_yaw_pitch_roll(yaw, pitch, nm.head.2);
        let pivot = geo.head_pivot + v3(0.0, -breath, 0.0) + sway;
        let to_head =
            |p: V3| pivot + rot.apply(geo.face_origin - geo.head_pivot + p * geo.face_width);
        let face = FaceState {
            mouth_open: (nm.mouth_open + 0.04).clamp(0.0, 1.0),
            mouth_width: nm.mouth_width.clamp(-0.35, 0.3),
            blink: Self::bump(&self.blinks, frame, ((0.18 * self.fps) as usize).max(2)),
            brow: nm.brow,
        };
        let mut fp = [V3::ZERO; 68];
        face_points(&face, &mut fp);
        for (k, p) in fp.iter().enumerate() {
            pts[coco::face(k)] = to_head(*p);
        }
        pts[coco::NOSE] = to_head(NOSE_TIP);
        pts[1] = to_head(LEFT_EYE_CENTRE);
        pts[2] = to_head(RIGHT_EYE_CENTRE);
        pts[3] = to_head(LEFT_EAR);
        pts[4] = to_head(RIGHT_EAR);

        // Arms: two-bone IK from shoulder to wrist, elbows hanging down, out and back.
        let mut wrists = [V3::ZERO; 2];
        for (hand, shoulder, elbow_i, wrist_i, range, is_left) in [
            (
                &left,
                sh_l,
                coco::LEFT_ELBOW,
                coco::LEFT_WRIST,
                coco::LEFT_HAND,
                true,
            ),
            (
                &right,
                sh_r,
                coco::RIGHT_ELBOW,
                coco::RIGHT_WRIST,
                coco::RIGHT_HAND,
                false,
            ),
        ] {
            let out_side = if is_left { 1.0 } else { -1.0 };
            let target = hand.frame.wrist + sway;
            // A low hand lets the elbow hang back along the body; a raised hand swings it
            // out to the side (a backward pole would fold a raised arm into the chest).
            let low = ((target.y - 0.05) / 0.25).clamp(0.0, 1.0);
            let pole = v3(0.8 * out_side, 1.0, -0.2).lerp(v3(0.25 * out_side, 0.5, -1.0), low);
            let (elbow, wrist) = two_bone_ik(shoulder, target, s.upper_arm, s.forearm, pole);
            pts[elbow_i] = elbow;
            pts[wrist_i] = wrist;
            let mut frame = hand.frame;
            frame.wrist = wrist;
            let mut hp = [V3::ZERO; 21];
            hand_points(&frame, &hand.shape, s.hand_scale, is_left, &mut hp);
            pts[range].copy_from_slice(&hp);
            wrists[is_left as usize ^ 1] = wrist;
        }
        // wrists[0] = left, wrists[1] = right.
        if let Some(prev) = self.prev_wrists {
            for h in 0..2 {
                self.speeds[h] = (wrists[h] - prev[h]).norm() * self.fps;
            }
        }
        self.prev_wrists = Some(wrists);
        pts
    }
}

/// Camera projection, detector noise, confidences and dropouts into the output arrays.
struct FrameWriter<'a> {
    signer: &'a SignerProfile,
    data: Array4<f32>,
    confidence: Array3<f32>,
    dropped: [bool; 2],
    stats: RenderStats,
}

impl<'a> FrameWriter<'a> {
    fn new(signer: &'a SignerProfile, frames: usize) -> Self {
        Self {
            signer,
            data: Array4::zeros((frames, 1, 133, 2)),
            confidence: Array3::zeros((frames, 1, 133)),
            dropped: [false; 2],
            stats: RenderStats {
                frames,
                ..RenderStats::default()
            },
        }
    }

    fn write_frame(
        &mut self,
        frame: usize,
        pts: &[V3; 133],
        speeds: [f32; 2],
        rng: &mut ChaCha8Rng,
    ) {
        let s = self.signer;
        let cam = &s.camera;
        let yaw = Rot3::from_yaw_pitch_roll(cam.yaw, 0.0, 0.0);
        let (sr, cr) = cam.roll.sin_cos();
        let (w, h) = (cam.width as f32, cam.height as f32);

        // Whether each hand is lost this frame: likelier when it moves fast, and a lost
        // hand tends to stay lost for a few frames.
        let mut drop = [false; 2];
        for hand in 0..2 {
            let p = if self.dropped[hand] {
                0.5
            } else {
                s.drop_base + s.drop_per_speed * (speeds[hand] - 0.4).max(0.0)
            };
            drop[hand] = rng.random_bool(p.clamp(0.0, 1.0) as f64);
            self.dropped[hand] = drop[hand];
        }
        let mut hand_out = [false; 2];

        let data = self.data.as_slice_mut().expect("standard layout");
        let conf = self.confidence.as_slice_mut().expect("standard layout");
        let (data, conf) = (
            &mut data[frame * 133 * 2..(frame + 1) * 133 * 2],
            &mut conf[frame * 133..(frame + 1) * 133],
        );
        for (i, p) in pts.iter().enumerate() {
            let q = yaw.apply(*p);
            let depth = cam.distance_m - q.z;
            let (x, y) = (cam.focal_px * q.x / depth, cam.focal_px * q.y / depth);
            let (x, y) = (
                cr * x - sr * y + cam.neck_px.0,
                sr * x + cr * y + cam.neck_px.1,
            );
            let hand = if coco::LEFT_HAND.contains(&i) {
                Some(0)
            } else if coco::RIGHT_HAND.contains(&i) {
                Some(1)
            } else {
                None
            };
            let (sigma, base_conf) = match hand {
                Some(hd) => (s.jitter_hand_px, 0.92 - 0.12 * speeds[hd].min(2.5)),
                None if coco::FACE.contains(&i) => (0.6 * s.jitter_body_px, 0.9),
                None => (s.jitter_body_px, 0.93),
            };
            let nx: f32 = rng.sample(StandardNormal);
            let ny: f32 = rng.sample(StandardNormal);
            let (x, y) = (x + sigma * nx, y + sigma * ny);
            let inside = x >= 0.0 && y >= 0.0 && x < w && y < h;
            let lost = hand.is_some_and(|hd| drop[hd]);
            if let Some(hd) = hand
                && !inside
            {
                hand_out[hd] = true;
            }
            let c = if inside && !lost {
                (base_conf + 0.05 * rng.sample::<f32, _>(StandardNormal)).clamp(0.05, 1.0)
            } else {
                0.0
            };
            if c > 0.0 {
                data[2 * i] = x;
                data[2 * i + 1] = y;
            }
            conf[i] = c;
        }
        self.stats.hand_observations += 2;
        self.stats.hand_dropped += drop.iter().filter(|&&d| d).count();
        self.stats.hand_out_of_frame +=
            hand_out.iter().zip(drop).filter(|&(&o, d)| o && !d).count();
    }
}
