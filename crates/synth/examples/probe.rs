//! A learnability probe for a generated corpus: classify every dev sign, cut out with its
//! true frame span (`extra.sign_spans`), by its nearest train sign (1-NN, Euclidean) on
//! simple normalized features. High but imperfect accuracy means the signs are learnable
//! and not trivial; the corpus's recognizer must in addition find the spans itself.
//! `cargo run --release -p signscope-synth --example probe -- /work/synth-out/phoenix2014t/manifest.jsonl [MIN_TRAIN]`

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use signscope_corpus::manifest::{Split, read_manifest};
use signscope_pose::read_pose;

const STEPS: usize = 8;
/// Left/right wrist, left/right shoulder, and the fingertips of both hands.
const WRISTS: [usize; 2] = [9, 10];
const TIPS: [usize; 10] = [95, 99, 103, 107, 111, 116, 120, 124, 128, 132];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let manifest = Path::new(args.first().context("usage: probe MANIFEST [MIN_TRAIN]")?);
    let min_train: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut train: Vec<(String, Vec<f32>)> = Vec::new();
    let mut dev: Vec<(String, Vec<f32>)> = Vec::new();
    for record in read_manifest(manifest)? {
        let pose = read_pose(record.resolved_pose(dir).context("record without pose")?)?;
        let (data, conf) = (&pose.body.data, &pose.body.confidence);
        let spans = record.extra.get("sign_spans").context("no sign_spans")?;
        for (gloss, span) in record.glosses.iter().zip(spans.split_whitespace()) {
            let (s, e) = span.split_once('-').context("bad span")?;
            let (s, e): (usize, usize) = (s.parse()?, e.parse()?);
            let mut feature = Vec::with_capacity(STEPS * 24);
            let mut last = [0.0f32; 24];
            for k in 0..STEPS {
                let f = s + (e - 1 - s) * k / (STEPS - 1);
                // Normalize by the shoulders: centre between them, unit = their distance.
                let (lx, ly, rx, ry) = (
                    data[[f, 0, 5, 0]],
                    data[[f, 0, 5, 1]],
                    data[[f, 0, 6, 0]],
                    data[[f, 0, 6, 1]],
                );
                let (cx, cy) = ((lx + rx) / 2.0, (ly + ry) / 2.0);
                let unit = ((lx - rx).powi(2) + (ly - ry).powi(2)).sqrt().max(1.0);
                let mut v = [0.0f32; 24];
                for (slot, &wrist) in WRISTS.iter().enumerate() {
                    if conf[[f, 0, wrist]] > 0.0 {
                        v[2 * slot] = (data[[f, 0, wrist, 0]] - cx) / unit;
                        v[2 * slot + 1] = (data[[f, 0, wrist, 1]] - cy) / unit;
                    } else {
                        v[2 * slot..2 * slot + 2].copy_from_slice(&last[2 * slot..2 * slot + 2]);
                    }
                }
                for (slot, &tip) in TIPS.iter().enumerate() {
                    let wrist = if tip < 112 { 91 } else { 112 };
                    let o = 4 + 2 * slot;
                    if conf[[f, 0, tip]] > 0.0 && conf[[f, 0, wrist]] > 0.0 {
                        v[o] = (data[[f, 0, tip, 0]] - data[[f, 0, wrist, 0]]) / unit * 3.0;
                        v[o + 1] = (data[[f, 0, tip, 1]] - data[[f, 0, wrist, 1]]) / unit * 3.0;
                    } else {
                        v[o..o + 2].copy_from_slice(&last[o..o + 2]);
                    }
                }
                last = v;
                feature.extend_from_slice(&v);
            }
            match record.split {
                Some(Split::Train) => train.push((gloss.clone(), feature)),
                Some(Split::Dev) => dev.push((gloss.clone(), feature)),
                _ => {}
            }
        }
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (g, _) in &train {
        *counts.entry(g.as_str()).or_default() += 1;
    }
    let frequent = |g: &str| counts.get(g).is_some_and(|&c| c >= min_train);
    let train: Vec<_> = train.iter().filter(|(g, _)| frequent(g)).collect();
    let dev: Vec<_> = dev.iter().filter(|(g, _)| frequent(g)).collect();
    let classes = counts.values().filter(|&&c| c >= min_train).count();
    let majority = counts
        .values()
        .filter(|&&c| c >= min_train)
        .max()
        .copied()
        .unwrap_or(0);
    let correct = dev
        .iter()
        .filter(|(gloss, x)| {
            let nearest = train
                .iter()
                .min_by(|a, b| dist(&a.1, x).total_cmp(&dist(&b.1, x)))
                .map(|(g, _)| g);
            nearest == Some(gloss)
        })
        .count();
    println!(
        "{} classes with >= {min_train} train instances; {} train / {} dev sign instances; \
         1-NN accuracy {:.1} % (majority class would be {:.1} % of train)",
        classes,
        train.len(),
        dev.len(),
        100.0 * correct as f64 / dev.len().max(1) as f64,
        100.0 * majority as f64 / train.len().max(1) as f64
    );
    Ok(())
}

fn dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}
