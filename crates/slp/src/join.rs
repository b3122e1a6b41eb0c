//! Gloss → pose: cut citation-form signs down to their active part and join them into one
//! continuous sequence.
//!
//! Per sign (spoken-to-signed's `concatenate_poses`, later version): normalize by the
//! shoulders, trim the frames where no wrist is above its elbow (± a margin; the sentence's
//! first sign keeps its onset and the last its offset), and cap the active part at
//! `max_sign_s` by temporal resampling — dictionary signs are held and prepared much longer
//! than in fluent signing, so capping speeds them up instead of cutting movement away.
//!
//! Between neighbours: the closest pair of body/hand configurations within the last/first
//! `min(window_s, window_fraction × length)` of each sign is the join; the signs are cut
//! there and a transition is inserted, a cubic Hermite curve that starts and ends with
//! each sign's own velocity (C¹ continuity, so no velocity step at the seams), lasting as
//! long as the wrists need at a typical signing speed. Punctuation pauses hold the last
//! frame before the transition. Finally every non-face trajectory is low-passed with a
//! zero-phase Butterworth filter (filtfilt), which removes what jerk the joins leave
//! without delaying the motion.

use std::ops::Range;

use crate::clip::Clip;
use crate::filter::Butterworth;
use crate::layout::BodyPoints;

/// How neighbouring signs are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMethod {
    /// Signs back to back, unchanged (the baseline the join metrics compare against).
    Concatenate,
    /// Cut at the closest frame pair and insert a transition.
    BestFrames,
}

/// The curve that fills a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Straight line at constant speed (spoken-to-signed's interpolation).
    Linear,
    /// Cubic Hermite matching each sign's end/start velocity.
    Hermite,
}

/// Zero-phase low-pass applied to non-face points after joining.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    pub cutoff_hz: f32,
    pub order: usize,
}

impl Default for Smoothing {
    fn default() -> Self {
        Smoothing {
            cutoff_hz: 6.0,
            order: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinOptions {
    /// Output frame rate; `None` = the first sign's.
    pub fps: Option<f32>,
    /// Trim idle frames (no wrist above its elbow).
    pub trim: bool,
    /// Frames kept around the active span, in seconds (spoken-to-signed: 5 frames).
    pub trim_margin_s: f32,
    /// Cap on a sign's active part; longer signs are resampled to it.
    pub max_sign_s: Option<f32>,
    /// Cap on a fingerspelled letter's active part.
    pub max_letter_s: Option<f32>,
    pub method: JoinMethod,
    /// Join search window: the last/first `min(window_s, window_fraction × length)`.
    pub window_s: f32,
    pub window_fraction: f32,
    pub transition: Transition,
    /// Wrist speed used to time transitions, in shoulder widths per second.
    pub transition_speed: f32,
    pub min_transition_s: f32,
    pub max_transition_s: f32,
    /// Missing stretches up to this long are interpolated and shown.
    pub max_fill_s: f32,
    pub smoothing: Option<Smoothing>,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            fps: None,
            trim: true,
            trim_margin_s: 0.2,
            max_sign_s: Some(0.8),
            max_letter_s: Some(0.4),
            method: JoinMethod::BestFrames,
            window_s: 0.3,
            window_fraction: 0.3,
            transition: Transition::Hermite,
            // Fluent signing moves the hands at roughly 1 m/s ≈ 3 shoulder widths/s.
            transition_speed: 3.0,
            min_transition_s: 0.08,
            max_transition_s: 0.4,
            max_fill_s: 0.5,
            smoothing: Some(Smoothing::default()),
        }
    }
}

impl JoinOptions {
    /// The baseline: trimmed, normalized, capped signs back to back, no smoothing.
    pub fn plain_concatenation() -> JoinOptions {
        JoinOptions {
            method: JoinMethod::Concatenate,
            smoothing: None,
            ..JoinOptions::default()
        }
    }
}

/// A sign ready to be joined: shoulder-normalized, at the output frame rate.
#[derive(Debug, Clone)]
pub struct SignClip {
    /// What the sign shows (gloss, or letter), for segment labels.
    pub label: String,
    pub clip: Clip,
    /// Fingerspelled letters are capped at `max_letter_s`.
    pub is_letter: bool,
    /// Hold after this sign (punctuation), seconds.
    pub pause_after_s: f32,
}

/// Where a sign ended up in the joined sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub label: String,
    pub frames: Range<usize>,
}

/// The joined sequence with its sign segments and the frames between them (transitions
/// and pauses; an empty range at the seam for plain concatenation).
#[derive(Debug, Clone)]
pub struct Joined {
    pub clip: Clip,
    pub segments: Vec<Segment>,
    pub joins: Vec<Range<usize>>,
}

fn seconds_to_frames(seconds: f32, fps: f32) -> usize {
    (seconds * fps).round().max(0.0) as usize
}

/// Trim and cap one sign. `first`/`last`: the sentence's first/last sign keep their onset
/// (hands rising from rest) and offset (hands going back down) at natural speed.
pub fn prepare_sign(
    sign: &SignClip,
    body: &BodyPoints,
    first: bool,
    last: bool,
    options: &JoinOptions,
) -> Clip {
    let clip = &sign.clip;
    let n = clip.frames();
    let span = if options.trim {
        clip.active_span(body, seconds_to_frames(options.trim_margin_s, clip.fps))
    } else {
        0..n
    };
    let mut active = clip.slice(span.clone());
    let cap = if sign.is_letter {
        options.max_letter_s
    } else {
        options.max_sign_s
    };
    if let Some(cap) = cap {
        let max_frames = seconds_to_frames(cap, clip.fps).max(2);
        if active.frames() > max_frames {
            active = active.resample(max_frames);
        }
    }
    let mut parts = Vec::with_capacity(3);
    if first && span.start > 0 {
        parts.push(clip.slice(0..span.start));
    }
    parts.push(active);
    if last && span.end < n {
        parts.push(clip.slice(span.end..n));
    }
    Clip::concat(&parts).unwrap_or_else(|| clip.empty_like())
}

/// Frames `(i, j)` — `i` within the last part of `a`, `j` within the first part of `b` —
/// whose body and hand configurations are closest (confidence-weighted mean distance over
/// non-face points tracked in both, x and y only: Holistic's depth is too noisy to decide).
pub fn best_join(
    a: &Clip,
    b: &Clip,
    body: &BodyPoints,
    window_s: f32,
    window_fraction: f32,
) -> (usize, usize) {
    let window = |clip: &Clip| {
        let by_time = window_s as f64 * clip.fps as f64;
        let by_length = clip.frames() as f64 * window_fraction as f64;
        (by_time.min(by_length).ceil() as usize).clamp(1, clip.frames().max(1))
    };
    let (na, nb) = (a.frames(), b.frames());
    if na == 0 || nb == 0 {
        return (na.saturating_sub(1), 0);
    }
    let (wa, wb) = (window(a), window(b));
    let points: Vec<usize> = (0..a.points())
        .filter(|&p| body.is_body_or_hand(p))
        .collect();
    let mut best = (na - 1, 0, f64::INFINITY);
    for i in na - wa..na {
        for j in 0..wb {
            let (mut weighted, mut total) = (0.0f64, 0.0f64);
            for &p in &points {
                let w = (a.confidence[[i, p]] * b.confidence[[j, p]]) as f64;
                if w <= 0.0 {
                    continue;
                }
                let dx = (a.data[[i, p, 0]] - b.data[[j, p, 0]]) as f64;
                let dy = (a.data[[i, p, 1]] - b.data[[j, p, 1]]) as f64;
                weighted += w * (dx * dx + dy * dy);
                total += w;
            }
            if total > 0.0 {
                let distance = (weighted / total).sqrt();
                if distance < best.2 {
                    best = (i, j, distance);
                }
            }
        }
    }
    (best.0, best.1)
}

/// Frames over which the end velocities of a transition are measured.
const VELOCITY_SPAN: usize = 2;

/// Frames that carry the motion from frame `i` of `a` to frame `j` of `b` (both excluded),
/// `count` of them.
pub fn transition(a: &Clip, i: usize, b: &Clip, j: usize, count: usize, kind: Transition) -> Clip {
    let (points, dims) = (a.points(), a.dims());
    let mut out = Clip {
        fps: a.fps,
        data: ndarray::Array3::zeros((count, points, dims)),
        confidence: ndarray::Array2::zeros((count, points)),
    };
    let span = (count + 1) as f32;
    for p in 0..points {
        let (ca, cb) = (a.confidence[[i, p]], b.confidence[[j, p]]);
        // End velocities (per frame), over two frames at the cut when tracked: a
        // one-frame difference mostly measures tracker jitter.
        let velocity = |clip: &Clip, from: usize, to: usize| -> Vec<f32> {
            if to > from && clip.confidence[[from, p]] > 0.0 && clip.confidence[[to, p]] > 0.0 {
                let frames = (to - from) as f32;
                (0..dims)
                    .map(|d| (clip.data[[to, p, d]] - clip.data[[from, p, d]]) / frames)
                    .collect()
            } else {
                vec![0.0; dims]
            }
        };
        let p0: Vec<f32> = (0..dims).map(|d| a.data[[i, p, d]]).collect();
        let p1: Vec<f32> = (0..dims).map(|d| b.data[[j, p, d]]).collect();
        let chord = p0
            .iter()
            .zip(&p1)
            .map(|(x, y)| (y - x).powi(2))
            .sum::<f32>()
            .sqrt();
        // Tangents over the whole transition, limited to the chord length so a fast sign
        // ending does not make the curve overshoot past the next sign's start.
        let tangent = |v: Vec<f32>| -> Vec<f32> {
            let scaled: Vec<f32> = v.iter().map(|x| x * span).collect();
            let norm = scaled.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > chord && norm > 0.0 {
                scaled.iter().map(|x| x * chord / norm).collect()
            } else {
                scaled
            }
        };
        let (m0, m1) = match kind {
            Transition::Linear => (vec![0.0; dims], vec![0.0; dims]),
            Transition::Hermite => (
                tangent(velocity(a, i.saturating_sub(VELOCITY_SPAN), i)),
                tangent(velocity(b, j, (j + VELOCITY_SPAN).min(b.frames() - 1))),
            ),
        };
        for k in 0..count {
            let s = (k + 1) as f32 / span;
            let (h00, h10, h01, h11) = match kind {
                Transition::Linear => (1.0 - s, 0.0, s, 0.0),
                Transition::Hermite => (
                    2.0 * s.powi(3) - 3.0 * s.powi(2) + 1.0,
                    s.powi(3) - 2.0 * s.powi(2) + s,
                    -2.0 * s.powi(3) + 3.0 * s.powi(2),
                    s.powi(3) - s.powi(2),
                ),
            };
            for d in 0..dims {
                out.data[[k, p, d]] = h00 * p0[d] + h10 * m0[d] + h01 * p1[d] + h11 * m1[d];
            }
            // A point missing on either side is left missing; gap filling decides later
            // whether it can be shown.
            if ca > 0.0 && cb > 0.0 {
                out.confidence[[k, p]] = ca * (1.0 - s) + cb * s;
            }
        }
    }
    out
}

/// How long the wrists need to travel from frame `i` of `a` to frame `j` of `b`.
fn transition_frames(
    a: &Clip,
    i: usize,
    b: &Clip,
    j: usize,
    body: &BodyPoints,
    options: &JoinOptions,
) -> usize {
    let travel = body
        .wrists
        .iter()
        .filter(|&&w| a.confidence[[i, w]] > 0.0 && b.confidence[[j, w]] > 0.0)
        .map(|&w| {
            let dx = a.data[[i, w, 0]] - b.data[[j, w, 0]];
            let dy = a.data[[i, w, 1]] - b.data[[j, w, 1]];
            (dx * dx + dy * dy).sqrt()
        })
        .fold(0.0f32, f32::max);
    let seconds = (travel / options.transition_speed.max(1e-3))
        .clamp(options.min_transition_s, options.max_transition_s);
    seconds_to_frames(seconds, a.fps).max(1)
}

/// Low-pass every non-face trajectory in place. Returns false when the clip is too short
/// for the filter's padding (it is then left as is).
pub fn smooth(clip: &mut Clip, body: &BodyPoints, smoothing: Smoothing) -> bool {
    let filter =
        Butterworth::low_pass(smoothing.order, smoothing.cutoff_hz as f64, clip.fps as f64);
    if clip.frames() <= filter.pad_len() {
        return false;
    }
    let mut series = vec![0.0f64; clip.frames()];
    for p in (0..clip.points()).filter(|&p| body.is_body_or_hand(p)) {
        for d in 0..clip.dims() {
            for (t, v) in series.iter_mut().enumerate() {
                *v = clip.data[[t, p, d]] as f64;
            }
            if let Some(filtered) = filter.filtfilt(&series) {
                for (t, v) in filtered.into_iter().enumerate() {
                    clip.data[[t, p, d]] = v as f32;
                }
            }
        }
    }
    true
}

/// Join prepared signs (shoulder-normalized, all at one frame rate) into one sequence.
pub fn join_signs(signs: &[SignClip], body: &BodyPoints, options: &JoinOptions) -> Option<Joined> {
    let count = signs.len();
    let fps = signs.first()?.clip.fps;
    let clips: Vec<Clip> = signs
        .iter()
        .enumerate()
        .map(|(k, sign)| prepare_sign(sign, body, k == 0, k + 1 == count, options))
        .collect();

    // Cut points: sign k keeps frames starts[k]..=ends[k].
    let mut starts = vec![0usize; count];
    let mut ends: Vec<usize> = clips.iter().map(|c| c.frames().saturating_sub(1)).collect();
    if options.method == JoinMethod::BestFrames {
        for k in 0..count.saturating_sub(1) {
            let (i, j) = best_join(
                &clips[k],
                &clips[k + 1],
                body,
                options.window_s,
                options.window_fraction,
            );
            ends[k] = i.max(starts[k]);
            starts[k + 1] = j;
        }
    }

    let mut pieces = Vec::with_capacity(2 * count);
    let mut segments = Vec::with_capacity(count);
    let mut joins = Vec::with_capacity(count.saturating_sub(1));
    let mut frame = 0usize;
    for k in 0..count {
        let clip = &clips[k];
        if clip.frames() == 0 {
            continue;
        }
        let kept = clip.slice(starts[k]..ends[k] + 1);
        segments.push(Segment {
            label: signs[k].label.clone(),
            frames: frame..frame + kept.frames(),
        });
        frame += kept.frames();
        pieces.push(kept);

        let join_start = frame;
        let hold_frames = seconds_to_frames(signs[k].pause_after_s, fps);
        // The transition leaves from the last shown frame: after a pause that is the held
        // frame, at rest, so the curve starts with zero velocity.
        let held = (hold_frames > 0).then(|| clip.hold(ends[k], hold_frames.max(2)));
        let (from, from_frame) = match &held {
            Some(h) => (h, h.frames() - 1),
            None => (clip, ends[k]),
        };
        if let Some(h) = &held {
            pieces.push(h.clone());
            frame += h.frames();
        }
        if k + 1 < count && clips[k + 1].frames() > 0 {
            if options.method == JoinMethod::BestFrames {
                let next = &clips[k + 1];
                let to_frame = starts[k + 1];
                let n = transition_frames(from, from_frame, next, to_frame, body, options);
                let kind = options.transition;
                pieces.push(transition(from, from_frame, next, to_frame, n, kind));
                frame += n;
            }
            joins.push(join_start..frame);
        }
    }
    let mut joined = Clip::concat(&pieces)?;
    joined.fill_gaps(seconds_to_frames(options.max_fill_s, fps));
    if let Some(smoothing) = options.smoothing {
        smooth(&mut joined, body, smoothing);
    }
    Some(Joined {
        clip: joined,
        segments,
        joins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::tests::synthetic_clip;
    use signscope_pose::skeleton::Layout;

    fn body() -> BodyPoints {
        BodyPoints::find(&Layout::HolisticReduced178.header(512, 512, 0)).unwrap()
    }

    fn sign(label: &str, clip: Clip) -> SignClip {
        SignClip {
            label: label.into(),
            clip,
            is_letter: false,
            pause_after_s: 0.0,
        }
    }

    #[test]
    fn best_join_finds_matching_configuration() {
        // a ends going from y=0 to y=0.9; b starts at y=0.5 going up: the closest pair is
        // a's frame at 0.5 and b's first frame.
        let a = synthetic_clip(10, |t| t as f32 * 0.1);
        let b = synthetic_clip(10, |t| 0.5 - t as f32 * 0.1);
        let (i, j) = best_join(&a, &b, &body(), 0.3, 0.5);
        assert_eq!((i, j), (5, 0));
    }

    #[test]
    fn hermite_transition_is_c1_at_the_ends() {
        let a = synthetic_clip(10, |t| t as f32 * 0.1);
        let b = synthetic_clip(10, |t| 2.0 + t as f32 * 0.1);
        let w = body().wrists[0];
        let tr = transition(&a, 9, &b, 0, 9, Transition::Hermite);
        // First step continues a's velocity (0.1/frame) closely; the chord limit does not
        // bind here (tangent 1.0 < chord 1.1).
        let first_step = tr.data[[0, w, 1]] - a.data[[9, w, 1]];
        assert!((first_step - 0.1).abs() < 0.05, "{first_step}");
        let last_step = b.data[[0, w, 1]] - tr.data[[8, w, 1]];
        assert!((last_step - 0.1).abs() < 0.05, "{last_step}");
        // Monotone, ends excluded.
        for k in 1..9 {
            assert!(tr.data[[k, w, 1]] > tr.data[[k - 1, w, 1]]);
        }
    }

    #[test]
    fn trimming_and_capping_shorten_citation_signs() {
        // 3 s of which 2 s raised: trimmed to 2.4 s, then capped to 0.8 s = 20 frames.
        let long = synthetic_clip(75, |t| if (13..63).contains(&t) { 0.0 } else { 2.0 });
        let options = JoinOptions::default();
        let middle = prepare_sign(&sign("X", long.clone()), &body(), false, false, &options);
        assert_eq!(middle.frames(), 20);
        // As the first sign it keeps its 8-frame onset (13 minus the 5-frame margin).
        let first = prepare_sign(&sign("X", long), &body(), true, false, &options);
        assert_eq!(first.frames(), 28);
    }

    #[test]
    fn joining_records_segments_pauses_and_smooths_the_seam() {
        let a = synthetic_clip(20, |t| 0.5 - 0.02 * t as f32);
        let b = synthetic_clip(20, |t| -0.5 + 0.02 * t as f32);
        let mut signs = vec![sign("A", a), sign("B", b)];
        signs[0].pause_after_s = 0.4;
        let options = JoinOptions {
            trim: false,
            max_sign_s: None,
            ..JoinOptions::default()
        };
        let joined = join_signs(&signs, &body(), &options).unwrap();
        assert_eq!(joined.segments.len(), 2);
        assert_eq!(joined.joins.len(), 1);
        let join = &joined.joins[0];
        // 10 hold frames + a transition of at least 2 frames.
        assert!(join.len() >= 12, "{join:?}");
        assert_eq!(joined.segments[0].frames.end, join.start);
        assert_eq!(joined.segments[1].frames.start, join.end);
        assert_eq!(joined.clip.frames(), joined.segments[1].frames.end);
        // The largest frame-to-frame wrist step is far below the 0.6 jump of concatenation.
        let w = body().wrists[0];
        let max_step = (1..joined.clip.frames())
            .map(|t| (joined.clip.data[[t, w, 1]] - joined.clip.data[[t - 1, w, 1]]).abs())
            .fold(0.0f32, f32::max);
        let plain = join_signs(&signs, &body(), &JoinOptions::plain_concatenation()).unwrap();
        assert_eq!(plain.joins[0].len(), 10, "pause only");
        let plain_step = (1..plain.clip.frames())
            .map(|t| (plain.clip.data[[t, w, 1]] - plain.clip.data[[t - 1, w, 1]]).abs())
            .fold(0.0f32, f32::max);
        assert!(plain_step > 0.6, "{plain_step}");
        assert!(max_step < plain_step / 3.0, "{max_step} vs {plain_step}");
    }
}
