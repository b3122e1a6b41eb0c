//! Drawing pose sequences: animated GIF, PNG of one frame, SVG of one frame or animated.
//!
//! Limbs are anti-aliased thick lines (coverage from the pixel's distance to the segment),
//! coloured like pose-format's visualizer: each point takes `colors[i % colors.len()]`, a
//! limb the mean of its two points' colours (channels clamped to 255: pose-format's hand
//! colours go up to 297). Points and limbs with confidence 0 are skipped. The skeleton is
//! fitted once to the canvas from the bounds of all present points over all frames, so
//! motion is visible. `POSE_WORLD_LANDMARKS` (metric, not image coordinates) is never drawn.

use std::fmt::Write as _;
use std::path::Path;

use crate::preprocess::write_atomic;
use crate::skeleton::HOLISTIC_WORLD;
use crate::{Pose, PoseError};

/// Canvas and timing options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    /// Frames per second of the animation; `None` = the pose's fps (25 if that is not > 0).
    pub fps: Option<f32>,
    /// Limb thickness in pixels.
    pub line_width: f32,
    /// Radius of point dots in pixels (0 = no dots).
    pub point_radius: f32,
    /// Empty border as a fraction of the canvas size.
    pub margin: f32,
    pub background: [u8; 3],
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            width: 512,
            height: 512,
            fps: None,
            line_width: 2.0,
            point_radius: 1.5,
            margin: 0.05,
            background: [255, 255, 255],
        }
    }
}

impl RenderOptions {
    fn validate(&self) -> Result<(), PoseError> {
        if self.width == 0 || self.height == 0 || self.width > 8192 || self.height > 8192 {
            return Err(PoseError::Invalid(format!(
                "canvas {}×{} must be between 1 and 8192 pixels per side",
                self.width, self.height
            )));
        }
        if let Some(fps) = self.fps
            && !(fps.is_finite() && fps > 0.0)
        {
            return Err(PoseError::Invalid(format!(
                "fps must be positive, got {fps}"
            )));
        }
        Ok(())
    }

    fn frame_rate(&self, pose: &Pose) -> f32 {
        self.fps.unwrap_or(if pose.body.fps > 0.0 {
            pose.body.fps
        } else {
            25.0
        })
    }
}

/// A limb (flattened point indices) with its colour.
#[derive(Debug, Clone, Copy)]
struct Stroke {
    a: usize,
    b: usize,
    color: [u8; 3],
}

/// What to draw, resolved once from the header.
struct Drawing {
    strokes: Vec<Stroke>,
    /// Points to draw as dots, with colour.
    dots: Vec<(usize, [u8; 3])>,
    /// Flattened index ranges of drawable components (for the bounds).
    ranges: Vec<std::ops::Range<usize>>,
}

fn clamp_color(c: [u16; 3]) -> [u8; 3] {
    c.map(|v| v.min(255) as u8)
}

impl Drawing {
    fn new(pose: &Pose) -> Drawing {
        let mut strokes = Vec::new();
        let mut dots = Vec::new();
        let mut ranges = Vec::new();
        for (offset, c) in pose.header.component_ranges() {
            if c.name == HOLISTIC_WORLD {
                continue;
            }
            ranges.push(offset..offset + c.points.len());
            let point_color = |i: usize| -> [u8; 3] {
                if c.colors.is_empty() {
                    [0, 0, 0]
                } else {
                    clamp_color(c.colors[i % c.colors.len()])
                }
            };
            for &(a, b) in &c.limbs {
                let (ca, cb) = (point_color(a as usize), point_color(b as usize));
                let color = [0, 1, 2].map(|k| ((ca[k] as u16 + cb[k] as u16) / 2) as u8);
                strokes.push(Stroke {
                    a: offset + a as usize,
                    b: offset + b as usize,
                    color,
                });
            }
            // Dense face meshes would turn into a blob of dots; their limbs show them.
            if c.points.len() <= 137 {
                dots.extend((0..c.points.len()).map(|i| (offset + i, point_color(i))));
            }
        }
        Drawing {
            strokes,
            dots,
            ranges,
        }
    }
}

/// Image-space transform `pixel = (p − min) · scale + offset`.
#[derive(Debug, Clone, Copy)]
struct Fit {
    min: [f32; 2],
    scale: f32,
    offset: [f32; 2],
}

impl Fit {
    fn new(pose: &Pose, drawing: &Drawing, opts: &RenderOptions) -> Fit {
        let body = &pose.body;
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for t in 0..body.frames() {
            for p in 0..body.people() {
                for range in &drawing.ranges {
                    for i in range.clone() {
                        if body.confidence[[t, p, i]] <= 0.0 {
                            continue;
                        }
                        let (x, y) = (body.data[[t, p, i, 0]], body.data[[t, p, i, 1]]);
                        if x.is_finite() && y.is_finite() {
                            lo = [lo[0].min(x), lo[1].min(y)];
                            hi = [hi[0].max(x), hi[1].max(y)];
                        }
                    }
                }
            }
        }
        let (w, h) = (opts.width as f32, opts.height as f32);
        if !lo[0].is_finite() {
            return Fit {
                min: [0.0; 2],
                scale: 1.0,
                offset: [0.0; 2],
            };
        }
        let margin = opts.margin.clamp(0.0, 0.45);
        let (avail_w, avail_h) = (w * (1.0 - 2.0 * margin), h * (1.0 - 2.0 * margin));
        let (span_x, span_y) = ((hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12));
        let scale = (avail_w / span_x).min(avail_h / span_y);
        Fit {
            min: lo,
            scale,
            offset: [(w - span_x * scale) * 0.5, (h - span_y * scale) * 0.5],
        }
    }

    fn apply(&self, x: f32, y: f32) -> [f32; 2] {
        [
            (x - self.min[0]) * self.scale + self.offset[0],
            (y - self.min[1]) * self.scale + self.offset[1],
        ]
    }
}

/// An RGB8 raster.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32, background: [u8; 3]) -> Canvas {
        let mut rgb = vec![0; width as usize * height as usize * 3];
        for px in rgb.chunks_exact_mut(3) {
            px.copy_from_slice(&background);
        }
        Canvas { width, height, rgb }
    }

    /// Anti-aliased segment of thickness `2 * half_width` (a disc when the ends coincide).
    pub fn draw_segment(&mut self, p0: [f32; 2], p1: [f32; 2], half_width: f32, color: [u8; 3]) {
        let reach = half_width + 1.0;
        let x_lo = (p0[0].min(p1[0]) - reach).floor().max(0.0) as i64;
        let y_lo = (p0[1].min(p1[1]) - reach).floor().max(0.0) as i64;
        let x_hi = ((p0[0].max(p1[0]) + reach).ceil() as i64).min(self.width as i64 - 1);
        let y_hi = ((p0[1].max(p1[1]) + reach).ceil() as i64).min(self.height as i64 - 1);
        let (dx, dy) = (p1[0] - p0[0], p1[1] - p0[1]);
        let len2 = dx * dx + dy * dy;
        for y in y_lo..=y_hi {
            for x in x_lo..=x_hi {
                let (px, py) = (x as f32 + 0.5 - p0[0], y as f32 + 0.5 - p0[1]);
                let u = if len2 > 0.0 {
                    ((px * dx + py * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (px - u * dx, py - u * dy);
                let coverage = (half_width + 0.5 - (ex * ex + ey * ey).sqrt()).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    let i = (y as usize * self.width as usize + x as usize) * 3;
                    for (dst, &c) in self.rgb[i..i + 3].iter_mut().zip(&color) {
                        let old = *dst as f32;
                        *dst = (old + (c as f32 - old) * coverage).round() as u8;
                    }
                }
            }
        }
    }
}

fn finite(p: [f32; 2]) -> bool {
    p[0].is_finite() && p[1].is_finite()
}

fn draw_frame(
    canvas: &mut Canvas,
    pose: &Pose,
    frame: usize,
    drawing: &Drawing,
    fit: &Fit,
    opts: &RenderOptions,
) {
    let body = &pose.body;
    for p in 0..body.people() {
        let at = |i: usize| fit.apply(body.data[[frame, p, i, 0]], body.data[[frame, p, i, 1]]);
        let present = |i: usize| body.confidence[[frame, p, i]] > 0.0;
        for s in &drawing.strokes {
            if present(s.a) && present(s.b) {
                let (a, b) = (at(s.a), at(s.b));
                if finite(a) && finite(b) {
                    canvas.draw_segment(a, b, opts.line_width * 0.5, s.color);
                }
            }
        }
        if opts.point_radius > 0.0 {
            for &(i, color) in &drawing.dots {
                let a = at(i);
                if present(i) && finite(a) {
                    canvas.draw_segment(a, a, opts.point_radius, color);
                }
            }
        }
    }
}

/// Draw frame `frame` of `pose` onto a new canvas.
pub fn render_frame(pose: &Pose, frame: usize, opts: &RenderOptions) -> Result<Canvas, PoseError> {
    opts.validate()?;
    if frame >= pose.body.frames() {
        return Err(PoseError::Invalid(format!(
            "frame {frame} requested but the pose has {} frames",
            pose.body.frames()
        )));
    }
    let drawing = Drawing::new(pose);
    let fit = Fit::new(pose, &drawing, opts);
    let mut canvas = Canvas::new(opts.width, opts.height, opts.background);
    draw_frame(&mut canvas, pose, frame, &drawing, &fit, opts);
    Ok(canvas)
}

/// Encode a canvas as PNG bytes.
pub fn encode_png(canvas: &Canvas) -> Result<Vec<u8>, PoseError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, canvas.width, canvas.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| PoseError::Invalid(format!("PNG encoding: {e}")))?;
    writer
        .write_image_data(&canvas.rgb)
        .map_err(|e| PoseError::Invalid(format!("PNG encoding: {e}")))?;
    writer
        .finish()
        .map_err(|e| PoseError::Invalid(format!("PNG encoding: {e}")))?;
    Ok(bytes)
}

/// Write frame `frame` as a PNG file (atomically).
pub fn write_png(
    path: &Path,
    pose: &Pose,
    frame: usize,
    opts: &RenderOptions,
) -> Result<(), PoseError> {
    let canvas = render_frame(pose, frame, opts).map_err(|e| e.in_file(path))?;
    let bytes = encode_png(&canvas).map_err(|e| e.in_file(path))?;
    write_atomic(path, &bytes).map_err(|e| e.in_file(path))
}

/// GIF palette: a 6×7×6 colour cube (252 colours; green gets the extra level, the eye is
/// most sensitive to it). A fixed palette makes encoding a table lookup per pixel instead
/// of a per-frame quantization; anti-aliased edges snap to the nearest cube colour.
fn cube_palette() -> Vec<u8> {
    let mut palette = Vec::with_capacity(256 * 3);
    for r in 0..6u32 {
        for g in 0..7u32 {
            for b in 0..6u32 {
                palette.extend([r * 255 / 5, g * 255 / 6, b * 255 / 5].map(|v| v as u8));
            }
        }
    }
    palette.resize(256 * 3, 0);
    palette
}

fn cube_index(rgb: &[u8]) -> u8 {
    let level = |v: u8, n: u32| (v as u32 * (n - 1) + 127) / 255;
    (level(rgb[0], 6) * 42 + level(rgb[1], 7) * 6 + level(rgb[2], 6)) as u8
}

/// Encode every frame of `pose` as a looping animated GIF.
pub fn encode_gif(pose: &Pose, opts: &RenderOptions) -> Result<Vec<u8>, PoseError> {
    opts.validate()?;
    let (w, h) = (opts.width, opts.height);
    if w > u16::MAX as u32 || h > u16::MAX as u32 {
        return Err(PoseError::Invalid("GIF canvas too large".into()));
    }
    let gif_err = |e: gif::EncodingError| PoseError::Invalid(format!("GIF encoding: {e}"));
    let drawing = Drawing::new(pose);
    let fit = Fit::new(pose, &drawing, opts);
    // GIF delays are in centiseconds; browsers clamp delays below 2.
    let delay = ((100.0 / opts.frame_rate(pose)).round() as u16).max(2);
    let mut bytes = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut bytes, w as u16, h as u16, &cube_palette()).map_err(gif_err)?;
        encoder.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
        let mut canvas = Canvas::new(w, h, opts.background);
        let mut indices = vec![0u8; w as usize * h as usize];
        let blank = canvas.rgb.clone();
        for t in 0..pose.body.frames() {
            canvas.rgb.copy_from_slice(&blank);
            draw_frame(&mut canvas, pose, t, &drawing, &fit, opts);
            for (index, px) in indices.iter_mut().zip(canvas.rgb.chunks_exact(3)) {
                *index = cube_index(px);
            }
            let frame = gif::Frame {
                width: w as u16,
                height: h as u16,
                delay,
                buffer: std::borrow::Cow::Borrowed(&indices),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).map_err(gif_err)?;
        }
    }
    Ok(bytes)
}

/// Write an animated GIF of `pose` (atomically).
pub fn write_gif(path: &Path, pose: &Pose, opts: &RenderOptions) -> Result<(), PoseError> {
    let bytes = encode_gif(pose, opts).map_err(|e| e.in_file(path))?;
    write_atomic(path, &bytes).map_err(|e| e.in_file(path))
}

fn svg_frame(
    out: &mut String,
    pose: &Pose,
    t: usize,
    drawing: &Drawing,
    fit: &Fit,
    opts: &RenderOptions,
) {
    let body = &pose.body;
    let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    for p in 0..body.people() {
        let at = |i: usize| fit.apply(body.data[[t, p, i, 0]], body.data[[t, p, i, 1]]);
        let present = |i: usize| body.confidence[[t, p, i]] > 0.0;
        // One path per colour keeps animated files small.
        let mut paths: Vec<([u8; 3], String)> = Vec::new();
        for s in &drawing.strokes {
            let (a, b) = (at(s.a), at(s.b));
            if !(present(s.a) && present(s.b) && finite(a) && finite(b)) {
                continue;
            }
            let d = match paths.iter_mut().find(|(c, _)| *c == s.color) {
                Some((_, d)) => d,
                None => {
                    paths.push((s.color, String::new()));
                    &mut paths.last_mut().expect("just pushed").1
                }
            };
            let _ = write!(d, "M{:.1} {:.1}L{:.1} {:.1}", a[0], a[1], b[0], b[1]);
        }
        for (color, d) in paths {
            let _ = writeln!(
                out,
                r#"<path d="{d}" stroke="{}" stroke-width="{}" stroke-linecap="round" fill="none"/>"#,
                hex(color),
                opts.line_width
            );
        }
        if opts.point_radius > 0.0 {
            for &(i, color) in &drawing.dots {
                let a = at(i);
                if present(i) && finite(a) {
                    let _ = writeln!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="{}"/>"#,
                        a[0],
                        a[1],
                        opts.point_radius,
                        hex(color)
                    );
                }
            }
        }
    }
}

/// SVG of one frame (`Some(t)`) or of the whole sequence as a looping SMIL animation
/// (`None`: each frame is a group made visible during its time slot).
pub fn render_svg(
    pose: &Pose,
    frame: Option<usize>,
    opts: &RenderOptions,
) -> Result<String, PoseError> {
    opts.validate()?;
    let frames = pose.body.frames();
    if let Some(t) = frame
        && t >= frames
    {
        return Err(PoseError::Invalid(format!(
            "frame {t} requested but the pose has {frames} frames"
        )));
    }
    let drawing = Drawing::new(pose);
    let fit = Fit::new(pose, &drawing, opts);
    let (w, h) = (opts.width, opts.height);
    let bg = opts.background;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="rgb({},{},{})"/>"#,
        bg[0], bg[1], bg[2]
    );
    match frame {
        Some(t) => svg_frame(&mut out, pose, t, &drawing, &fit, opts),
        None => {
            let duration = frames as f32 / opts.frame_rate(pose);
            for t in 0..frames {
                let (start, end) = (t as f32 / frames as f32, (t + 1) as f32 / frames as f32);
                let _ = writeln!(out, r#"<g visibility="hidden">"#);
                let _ = writeln!(
                    out,
                    r#"<animate attributeName="visibility" values="hidden;visible;hidden" keyTimes="0;{start:.6};{end:.6}" dur="{duration:.4}s" calcMode="discrete" repeatCount="indefinite"/>"#
                );
                svg_frame(&mut out, pose, t, &drawing, &fit, opts);
                let _ = writeln!(out, "</g>");
            }
        }
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// Write an SVG (one frame or animated, see [`render_svg`]) atomically.
pub fn write_svg(
    path: &Path,
    pose: &Pose,
    frame: Option<usize>,
    opts: &RenderOptions,
) -> Result<(), PoseError> {
    let svg = render_svg(pose, frame, opts).map_err(|e| e.in_file(path))?;
    write_atomic(path, svg.as_bytes()).map_err(|e| e.in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_paints_its_pixels_only() {
        let mut c = Canvas::new(20, 20, [255, 255, 255]);
        c.draw_segment([2.0, 10.0], [18.0, 10.0], 1.0, [255, 0, 0]);
        let px = |x: usize, y: usize| &c.rgb[(y * 20 + x) * 3..(y * 20 + x) * 3 + 3];
        assert_eq!(px(10, 9), &[255, 0, 0]);
        assert_eq!(px(10, 2), &[255, 255, 255]);
        assert_eq!(px(0, 10), &[255, 255, 255]);
    }

    #[test]
    fn cube_index_maps_white_and_black() {
        let palette = cube_palette();
        let white = cube_index(&[255, 255, 255]) as usize;
        assert_eq!(&palette[white * 3..white * 3 + 3], &[255, 255, 255]);
        assert_eq!(cube_index(&[0, 0, 0]), 0);
    }
}
