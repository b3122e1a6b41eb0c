//! One person's keypoints over time, the unit the production pipeline cuts and joins,
//! and the per-sign preparation steps: projection onto the common layout, frame-rate
//! conversion, shoulder normalization, idle-frame trimming and duration capping.

use std::ops::Range;

use ndarray::{Array2, Array3, Axis, s};
use signscope_pose::Pose;

use crate::layout::BodyPoints;

/// Keypoints of a single signer.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub fps: f32,
    /// `[frames, points, dims]`
    pub data: Array3<f32>,
    /// `[frames, points]`; 0 = point missing in that frame.
    pub confidence: Array2<f32>,
}

impl Clip {
    /// Person 0 of `pose`, with point `i` taken from `sources[i]` (missing when `None`), and
    /// `dims` coordinates (absent dims are zero).
    pub fn from_pose(pose: &Pose, sources: &[Option<usize>], dims: usize) -> Clip {
        let frames = if pose.body.people() == 0 {
            0
        } else {
            pose.body.frames()
        };
        let source_dims = pose.body.dims().min(dims);
        let mut data = Array3::<f32>::zeros((frames, sources.len(), dims));
        let mut confidence = Array2::<f32>::zeros((frames, sources.len()));
        for t in 0..frames {
            for (target, source) in sources.iter().enumerate() {
                let Some(p) = *source else { continue };
                let c = pose.body.confidence[[t, 0, p]];
                let xyz = pose.body.data.slice(s![t, 0, p, ..source_dims]);
                // Non-finite coordinates (some trackers write NaN for lost points) are missing.
                if c > 0.0 && xyz.iter().all(|v| v.is_finite()) {
                    data.slice_mut(s![t, target, ..source_dims]).assign(&xyz);
                    confidence[[t, target]] = c;
                }
            }
        }
        Clip {
            fps: pose.body.fps,
            data,
            confidence,
        }
    }

    pub fn frames(&self) -> usize {
        self.data.shape()[0]
    }

    pub fn points(&self) -> usize {
        self.data.shape()[1]
    }

    pub fn dims(&self) -> usize {
        self.data.shape()[2]
    }

    /// An empty clip with this clip's shape per frame.
    pub fn empty_like(&self) -> Clip {
        Clip {
            fps: self.fps,
            data: Array3::zeros((0, self.points(), self.dims())),
            confidence: Array2::zeros((0, self.points())),
        }
    }

    /// Frames `range` (clamped).
    pub fn slice(&self, range: Range<usize>) -> Clip {
        let end = range.end.min(self.frames());
        let start = range.start.min(end);
        Clip {
            fps: self.fps,
            data: self.data.slice(s![start..end, .., ..]).to_owned(),
            confidence: self.confidence.slice(s![start..end, ..]).to_owned(),
        }
    }

    /// `frame` repeated `count` times.
    pub fn hold(&self, frame: usize, count: usize) -> Clip {
        let one = self.slice(frame..frame + 1);
        let data = one
            .data
            .broadcast((count, self.points(), self.dims()))
            .map(|v| v.to_owned())
            .unwrap_or_else(|| Array3::zeros((count, self.points(), self.dims())));
        let confidence = one
            .confidence
            .broadcast((count, self.points()))
            .map(|v| v.to_owned())
            .unwrap_or_else(|| Array2::zeros((count, self.points())));
        Clip {
            fps: self.fps,
            data,
            confidence,
        }
    }

    /// Frames of all `clips` back to back (at the first clip's fps).
    pub fn concat(clips: &[Clip]) -> Option<Clip> {
        let first = clips.first()?;
        let data_views: Vec<_> = clips.iter().map(|c| c.data.view()).collect();
        let conf_views: Vec<_> = clips.iter().map(|c| c.confidence.view()).collect();
        Some(Clip {
            fps: first.fps,
            data: ndarray::concatenate(Axis(0), &data_views).ok()?,
            confidence: ndarray::concatenate(Axis(0), &conf_views).ok()?,
        })
    }

    /// Resample to `frames` frames spanning the same first and last instant, linearly.
    /// Where either neighbour of a sample is missing, the nearer frame is used as is,
    /// so missing points do not bleed into interpolated ones.
    pub fn resample(&self, frames: usize) -> Clip {
        let n = self.frames();
        if n == frames || n == 0 {
            return self.clone();
        }
        let (points, dims) = (self.points(), self.dims());
        let mut data = Array3::<f32>::zeros((frames, points, dims));
        let mut confidence = Array2::<f32>::zeros((frames, points));
        for k in 0..frames {
            let t = if frames == 1 {
                0.0
            } else {
                k as f64 * (n - 1) as f64 / (frames - 1) as f64
            };
            let i0 = (t.floor() as usize).min(n - 1);
            let i1 = (i0 + 1).min(n - 1);
            let w = (t - i0 as f64) as f32;
            for p in 0..points {
                let (c0, c1) = (self.confidence[[i0, p]], self.confidence[[i1, p]]);
                if c0 > 0.0 && c1 > 0.0 {
                    for d in 0..dims {
                        data[[k, p, d]] =
                            self.data[[i0, p, d]] * (1.0 - w) + self.data[[i1, p, d]] * w;
                    }
                    confidence[[k, p]] = c0 * (1.0 - w) + c1 * w;
                } else {
                    let nearest = if w < 0.5 { i0 } else { i1 };
                    for d in 0..dims {
                        data[[k, p, d]] = self.data[[nearest, p, d]];
                    }
                    confidence[[k, p]] = self.confidence[[nearest, p]];
                }
            }
        }
        Clip {
            fps: self.fps,
            data,
            confidence,
        }
    }

    /// The same motion at `fps` frames per second.
    pub fn to_fps(&self, fps: f32) -> Clip {
        if (fps - self.fps).abs() < 1e-3 || self.frames() < 2 || self.fps <= 0.0 {
            return Clip {
                fps,
                ..self.clone()
            };
        }
        let frames =
            ((self.frames() as f64 * fps as f64 / self.fps as f64).round() as usize).max(2);
        Clip {
            fps,
            ..self.resample(frames)
        }
    }

    /// Mean shoulder midpoint and mean shoulder width (x, y) over frames showing both
    /// shoulders; `None` when no frame does.
    pub fn shoulder_frame(&self, body: &BodyPoints) -> Option<([f32; 2], f32)> {
        let [l, r] = body.shoulders;
        let (mut cx, mut cy, mut width, mut count) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        for t in 0..self.frames() {
            if self.confidence[[t, l]] > 0.0 && self.confidence[[t, r]] > 0.0 {
                let (lx, ly) = (self.data[[t, l, 0]] as f64, self.data[[t, l, 1]] as f64);
                let (rx, ry) = (self.data[[t, r, 0]] as f64, self.data[[t, r, 1]] as f64);
                cx += (lx + rx) / 2.0;
                cy += (ly + ry) / 2.0;
                width += ((lx - rx).powi(2) + (ly - ry).powi(2)).sqrt();
                count += 1;
            }
        }
        if count == 0 || width <= 0.0 {
            return None;
        }
        let n = count as f64;
        Some(([(cx / n) as f32, (cy / n) as f32], (width / n) as f32))
    }

    /// Move the mean shoulder midpoint to the origin and scale so the mean shoulder width
    /// is 1, like pose-format's `normalize(pose_normalization_info)`. Only x and y are
    /// centred (depth has no common origin across recordings); all dims are scaled.
    /// Returns false (clip unchanged) when no frame shows both shoulders.
    pub fn normalize_by_shoulders(&mut self, body: &BodyPoints) -> bool {
        let Some((center, width)) = self.shoulder_frame(body) else {
            return false;
        };
        let dims = self.dims();
        for mut point in self.data.lanes_mut(Axis(2)) {
            for d in 0..dims {
                let offset = if d < 2 { center[d] } else { 0.0 };
                point[d] = (point[d] - offset) / width;
            }
        }
        true
    }

    /// The frames in which a hand is raised: from `margin` frames before the first frame
    /// where a wrist is above its elbow to `margin` frames after the last, within the frames
    /// where that wrist is tracked, taking the union of both hands (spoken-to-signed's
    /// `active_signing_span`). The whole clip when no wrist is ever above its elbow.
    pub fn active_span(&self, body: &BodyPoints, margin: usize) -> Range<usize> {
        let n = self.frames();
        let mut span: Option<Range<usize>> = None;
        for side in 0..2 {
            let (wrist, elbow) = (body.wrists[side], body.elbows[side]);
            let tracked: Vec<usize> = (0..n)
                .filter(|&t| self.confidence[[t, wrist]] > 0.0)
                .collect();
            let raised: Vec<usize> = (0..n)
                .filter(|&t| {
                    self.confidence[[t, wrist]] > 0.0
                        && self.confidence[[t, elbow]] > 0.0
                        // Image y grows downwards: above = smaller y.
                        && self.data[[t, wrist, 1]] < self.data[[t, elbow, 1]]
                })
                .collect();
            let (Some(&first), Some(&last)) = (raised.first(), raised.last()) else {
                continue;
            };
            let first_tracked = tracked.first().copied().unwrap_or(0);
            let last_tracked = tracked.last().map_or(n, |&t| t + 1);
            let start = first.saturating_sub(margin).max(first_tracked);
            let end = (last + 1 + margin).min(last_tracked);
            span = Some(match span {
                None => start..end,
                Some(s) => s.start.min(start)..s.end.max(end),
            });
        }
        span.filter(|s| s.start < s.end).unwrap_or(0..n)
    }

    /// Fill missing stretches of each point by linear interpolation between the tracked
    /// frames around them. Stretches up to `max_fill` frames become tracked (confidence
    /// interpolated too); longer ones and the untracked ends get coordinates (so a filter
    /// sees no jumps to zero) but stay at confidence 0, so no hand is invented.
    pub fn fill_gaps(&mut self, max_fill: usize) {
        let (n, points, dims) = (self.frames(), self.points(), self.dims());
        for p in 0..points {
            let tracked: Vec<usize> = (0..n).filter(|&t| self.confidence[[t, p]] > 0.0).collect();
            let (Some(&first), Some(&last)) = (tracked.first(), tracked.last()) else {
                continue;
            };
            for t in 0..first {
                for d in 0..dims {
                    self.data[[t, p, d]] = self.data[[first, p, d]];
                }
            }
            for t in last + 1..n {
                for d in 0..dims {
                    self.data[[t, p, d]] = self.data[[last, p, d]];
                }
            }
            for pair in tracked.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let gap = b - a - 1;
                if gap == 0 {
                    continue;
                }
                for t in a + 1..b {
                    let w = (t - a) as f32 / (b - a) as f32;
                    for d in 0..dims {
                        self.data[[t, p, d]] =
                            self.data[[a, p, d]] * (1.0 - w) + self.data[[b, p, d]] * w;
                    }
                    if gap <= max_fill {
                        self.confidence[[t, p]] =
                            self.confidence[[a, p]] * (1.0 - w) + self.confidence[[b, p]] * w;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layout::BodyPoints;
    use signscope_pose::skeleton::Layout;

    /// A reduced-Holistic clip at 25 fps whose wrists follow `wrist_y(t)` (image y; the
    /// elbows sit at y = 1.0, the shoulders at y = 0 with width 2) and whose hands follow
    /// their wrists.
    pub(crate) fn synthetic_clip(frames: usize, wrist_y: impl Fn(usize) -> f32) -> Clip {
        let header = Layout::HolisticReduced178.header(512, 512, 0);
        let body = BodyPoints::find(&header).unwrap();
        let points = header.total_points();
        let mut data = Array3::<f32>::zeros((frames, points, 3));
        let confidence = Array2::<f32>::ones((frames, points));
        for t in 0..frames {
            data[[t, body.shoulders[0], 0]] = 1.0;
            data[[t, body.shoulders[1], 0]] = -1.0;
            for side in 0..2 {
                let x = if side == 0 { 1.2 } else { -1.2 };
                data[[t, body.elbows[side], 0]] = x;
                data[[t, body.elbows[side], 1]] = 1.0;
                data[[t, body.wrists[side], 0]] = x;
                data[[t, body.wrists[side], 1]] = wrist_y(t);
            }
            for (side, hand) in crate::layout::hand_ranges(&header).into_iter().enumerate() {
                for p in hand {
                    data[[t, p, 0]] = data[[t, body.wrists[side], 0]] + 0.01 * p as f32;
                    data[[t, p, 1]] = data[[t, body.wrists[side], 1]];
                }
            }
        }
        Clip {
            fps: 25.0,
            data,
            confidence,
        }
    }

    fn body() -> BodyPoints {
        BodyPoints::find(&Layout::HolisticReduced178.header(512, 512, 0)).unwrap()
    }

    #[test]
    fn normalization_centres_and_scales_shoulders() {
        let mut clip = synthetic_clip(5, |_| 2.0);
        clip.data.mapv_inplace(|v| v * 50.0 + 100.0);
        assert!(clip.normalize_by_shoulders(&body()));
        let (center, width) = clip.shoulder_frame(&body()).unwrap();
        assert!(
            center[0].abs() < 1e-5 && center[1].abs() < 1e-5,
            "{center:?}"
        );
        assert!((width - 1.0).abs() < 1e-5);
    }

    #[test]
    fn active_span_trims_rest_frames_with_margin() {
        // Hands down (y = 2, below the elbows) except frames 20..30.
        let clip = synthetic_clip(50, |t| if (20..30).contains(&t) { 0.5 } else { 2.0 });
        assert_eq!(clip.active_span(&body(), 5), 15..35);
        assert_eq!(clip.active_span(&body(), 0), 20..30);
        let idle = synthetic_clip(10, |_| 2.0);
        assert_eq!(idle.active_span(&body(), 5), 0..10);
    }

    #[test]
    fn resample_keeps_ends_and_interpolates() {
        let clip = synthetic_clip(11, |t| t as f32);
        let w = body().wrists[0];
        let half = clip.resample(6);
        assert_eq!(half.frames(), 6);
        assert_eq!(half.data[[0, w, 1]], 0.0);
        assert_eq!(half.data[[5, w, 1]], 10.0);
        assert!((half.data[[1, w, 1]] - 2.0).abs() < 1e-5);
        let doubled = clip.to_fps(50.0);
        assert_eq!(doubled.frames(), 22);
        assert_eq!(doubled.fps, 50.0);
    }

    #[test]
    fn short_gaps_are_filled_long_ones_stay_missing() {
        let mut clip = synthetic_clip(20, |t| t as f32);
        let w = body().wrists[0];
        for t in [3, 4] {
            clip.confidence[[t, w]] = 0.0;
            clip.data[[t, w, 1]] = 0.0;
        }
        for t in 8..18 {
            clip.confidence[[t, w]] = 0.0;
        }
        clip.fill_gaps(4);
        assert!((clip.data[[3, w, 1]] - 3.0).abs() < 1e-5);
        assert!(clip.confidence[[4, w]] > 0.0);
        assert_eq!(clip.confidence[[10, w]], 0.0);
        assert!((clip.data[[10, w, 1]] - 10.0).abs() < 1e-5);
    }
}
