//! Training curves as a self-contained SVG: training loss and the dev score against the
//! optimizer step, one panel each, redrawn after every evaluation.

use std::fmt::Write as _;
use std::path::Path;

use crate::checkpoint::write_atomic;
use crate::train::EvalRecord;

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 260.0;
const MARGIN: f64 = 48.0;

/// One polyline panel at horizontal offset `x0`.
fn panel(svg: &mut String, x0: f64, title: &str, points: &[(f64, f64)]) {
    let (w, h) = (PANEL_W - 2.0 * MARGIN, PANEL_H - 2.0 * MARGIN);
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points.iter().filter(|p| p.1.is_finite()) {
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if !xmin.is_finite() {
        return;
    }
    if xmax <= xmin {
        xmax = xmin + 1.0;
    }
    if ymax <= ymin {
        ymax = ymin + 1.0;
    }
    let px = |x: f64| x0 + MARGIN + (x - xmin) / (xmax - xmin) * w;
    let py = |y: f64| MARGIN + h - (y - ymin) / (ymax - ymin) * h;
    let _ = writeln!(
        svg,
        r##"<rect x="{}" y="{MARGIN}" width="{w}" height="{h}" fill="none" stroke="#999"/>"##,
        x0 + MARGIN
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="14" text-anchor="middle">{}</text>"#,
        x0 + PANEL_W / 2.0,
        MARGIN - 16.0,
        escape(title)
    );
    for (value, y) in [(ymax, MARGIN), (ymin, MARGIN + h)] {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
            x0 + MARGIN - 4.0,
            y + 4.0,
            format_value(value)
        );
    }
    for (value, x) in [(xmin, px(xmin)), (xmax, px(xmax))] {
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
            MARGIN + h + 16.0,
            format_value(value)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">step</text>"#,
        x0 + PANEL_W / 2.0,
        MARGIN + h + 32.0
    );
    let path: Vec<String> = points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
        .collect();
    let _ = writeln!(
        svg,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        path.join(" ")
    );
    for p in &path {
        let (x, y) = p.split_once(',').expect("x,y");
        let _ = writeln!(
            svg,
            r##"<circle cx="{x}" cy="{y}" r="2.5" fill="#1f77b4"/>"##
        );
    }
}

fn format_value(v: f64) -> String {
    if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG text of the curves of `evaluations`; `score_name` labels the dev panel and
/// `score_sign` turns the stored score back into the metric (−1 when the score is −WER).
pub fn curves_svg(evaluations: &[EvalRecord], score_name: &str, score_sign: f64) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{PANEL_H}" font-family="sans-serif">"#,
        2.0 * PANEL_W
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let loss: Vec<(f64, f64)> = evaluations
        .iter()
        .map(|e| (e.step as f64, e.train_loss))
        .collect();
    let score: Vec<(f64, f64)> = evaluations
        .iter()
        .map(|e| (e.step as f64, score_sign * e.evaluation.score))
        .collect();
    panel(&mut svg, 0.0, "training loss", &loss);
    panel(&mut svg, PANEL_W, score_name, &score);
    svg.push_str("</svg>\n");
    svg
}

/// Writes [`curves_svg`] to `path` atomically.
pub fn write_curves(
    path: &Path,
    evaluations: &[EvalRecord],
    score_name: &str,
    score_sign: f64,
) -> anyhow::Result<()> {
    write_atomic(
        path,
        curves_svg(evaluations, score_name, score_sign).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Evaluation;

    #[test]
    fn curves_have_one_point_per_evaluation_and_escape_labels() {
        let records: Vec<EvalRecord> = (1..=4)
            .map(|i| EvalRecord {
                step: i * 10,
                epoch: i,
                evaluation: Evaluation {
                    score: -(50.0 - i as f64),
                    summary: String::new(),
                },
                train_loss: 5.0 / i as f64,
            })
            .collect();
        let svg = curves_svg(&records, "dev WER <%>", -1.0);
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains("dev WER &lt;%&gt;"));
        // The best WER (46) is the lowest label of the score panel.
        assert!(svg.contains(">46<") && svg.contains(">49<"), "{svg}");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
