//! Motion quality at the joins: wrist jerk (third time derivative of position).
//!
//! Jerk is what makes a join look like a jolt: a position jump or a velocity step between
//! concatenated signs shows up as a spike in the third difference. Per frame `t`, for each
//! tracked wrist, `‖p[t+2] − 3p[t+1] + 3p[t] − p[t−1]‖ · fps³`, divided by the mean shoulder
//! width so the figure is in shoulder widths per second³ whatever the canvas.

use std::ops::Range;

use signscope_pose::Pose;

use crate::layout::BodyPoints;

/// Mean wrist jerk near the joins and inside the signs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JerkReport {
    /// Mean jerk over frames within `margin` of a join (transition frames included),
    /// shoulder widths / s³.
    pub join_mean: f64,
    /// Mean jerk over all other frames.
    pub inside_mean: f64,
    pub join_samples: usize,
    pub inside_samples: usize,
}

impl JerkReport {
    /// Pool several sentences' reports, weighting by samples.
    pub fn pooled(reports: &[JerkReport]) -> JerkReport {
        let (mut js, mut jn, mut is, mut in_) = (0.0, 0usize, 0.0, 0usize);
        for r in reports {
            js += r.join_mean * r.join_samples as f64;
            jn += r.join_samples;
            is += r.inside_mean * r.inside_samples as f64;
            in_ += r.inside_samples;
        }
        JerkReport {
            join_mean: if jn > 0 { js / jn as f64 } else { 0.0 },
            inside_mean: if in_ > 0 { is / in_ as f64 } else { 0.0 },
            join_samples: jn,
            inside_samples: in_,
        }
    }
}

/// Wrist jerk of `pose` (person 0), split into frames near `joins` (within `margin`
/// frames of a join range) and the rest. `None` when the layout has no wrists or
/// shoulders, or the pose is too short.
pub fn wrist_jerk(pose: &Pose, joins: &[Range<usize>], margin: usize) -> Option<JerkReport> {
    let body = BodyPoints::find(&pose.header).ok()?;
    let (data, conf) = (&pose.body.data, &pose.body.confidence);
    let n = pose.body.frames();
    if n < 4 || pose.body.people() == 0 {
        return None;
    }
    let [ls, rs] = body.shoulders;
    let widths: Vec<f64> = (0..n)
        .filter(|&t| conf[[t, 0, ls]] > 0.0 && conf[[t, 0, rs]] > 0.0)
        .map(|t| {
            let dx = (data[[t, 0, ls, 0]] - data[[t, 0, rs, 0]]) as f64;
            let dy = (data[[t, 0, ls, 1]] - data[[t, 0, rs, 1]]) as f64;
            (dx * dx + dy * dy).sqrt()
        })
        .collect();
    let shoulder_width = widths.iter().sum::<f64>() / widths.len().max(1) as f64;
    if shoulder_width <= 0.0 {
        return None;
    }
    let fps3 = (pose.body.fps as f64).powi(3);
    let near_join = |t: usize| {
        joins
            .iter()
            .any(|j| t + margin >= j.start && t < j.end + margin)
    };
    let (mut join_sum, mut join_count, mut inside_sum, mut inside_count) = (0.0, 0, 0.0, 0);
    for t in 1..n - 2 {
        for &w in &body.wrists {
            if (t - 1..=t + 2).any(|k| conf[[k, 0, w]] <= 0.0) {
                continue;
            }
            let third = |d: usize| {
                (data[[t + 2, 0, w, d]] - 3.0 * data[[t + 1, 0, w, d]] + 3.0 * data[[t, 0, w, d]]
                    - data[[t - 1, 0, w, d]]) as f64
            };
            let jerk = (third(0).powi(2) + third(1).powi(2)).sqrt() * fps3 / shoulder_width;
            if near_join(t) {
                join_sum += jerk;
                join_count += 1;
            } else {
                inside_sum += jerk;
                inside_count += 1;
            }
        }
    }
    Some(JerkReport {
        join_mean: if join_count > 0 {
            join_sum / join_count as f64
        } else {
            0.0
        },
        inside_mean: if inside_count > 0 {
            inside_sum / inside_count as f64
        } else {
            0.0
        },
        join_samples: join_count,
        inside_samples: inside_count,
    })
}

/// The join margin used in reports: the third difference reaches 2 frames, plus a little.
pub fn default_margin(fps: f32) -> usize {
    ((0.12 * fps).round() as usize).max(2)
}

/// Produce every sentence with `producer` and pool the wrist jerk at its joins and inside
/// its signs.
pub fn sentences_jerk(
    producer: &crate::produce::Producer,
    glosser: &dyn crate::text_to_gloss::TextToGloss,
    sentences: &[&str],
    languages: &crate::text_to_gloss::LanguagePair,
) -> Result<JerkReport, crate::produce::ProduceError> {
    let mut reports = Vec::with_capacity(sentences.len());
    for sentence in sentences {
        let production = producer.produce(glosser, sentence, languages)?;
        let pose = &production.pose;
        if let Some(report) = wrist_jerk(pose, &production.joins, default_margin(pose.body.fps)) {
            reports.push(report);
        }
    }
    Ok(JerkReport::pooled(&reports))
}
