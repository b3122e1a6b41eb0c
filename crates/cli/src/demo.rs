//! `signscope demo`: the main job on an embedded default, so a fresh checkout shows
//! something real with one command.

use std::path::PathBuf;

use anyhow::Context;
use signscope_pose::Pose;
use signscope_pose::format::FileFormat;
use signscope_pose::info::PoseInfo;
use signscope_pose::preprocess::{EyeScale, ScopeConfig, scope_features, scope_selection};
use signscope_pose::render::{RenderOptions, write_gif};
use signscope_pose::{convert::to_coco_wholebody, write_pose};

/// The bundled sample: pose-format's `example.pose` (MIT), 97 frames of MediaPipe
/// Holistic (576 points, v0.2).
const EXAMPLE_POSE: &[u8] = include_bytes!("../../../assets/example.pose");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory for the demo's outputs (created if missing).
    #[arg(long, default_value = "signscope-demo")]
    out: PathBuf,
    /// Read this .pose file instead of the bundled sample.
    #[arg(long)]
    input: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (pose, name) = match &args.input {
        Some(path) => (signscope_pose::read_pose(path)?, path.display().to_string()),
        None => (
            Pose::from_bytes(EXAMPLE_POSE).context("decoding the bundled example.pose")?,
            "bundled example.pose".to_string(),
        ),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating output directory {}", args.out.display()))?;

    println!("== input: {name}");
    println!("{}", PoseInfo::of_pose(&pose, &name, FileFormat::Pose));

    let coco = to_coco_wholebody(&pose).context("converting to COCO-WholeBody-133")?;
    let coco_path = args.out.join("coco_wholebody.pose");
    write_pose(&coco_path, &coco)?;
    let present = coco.body.confidence.iter().filter(|&&c| c > 0.0).count();
    println!(
        "== COCO-WholeBody-133: {} frames × 133 points, {:.1}% present → {}",
        coco.body.frames(),
        100.0 * present as f64 / coco.body.confidence.len().max(1) as f64,
        coco_path.display()
    );

    // Standardization needs statistics from a training set; a single sample has none,
    // so the demo shows the scaled and group-centred features (SCOPE eq. 7 and 8).
    let config = ScopeConfig::default().unstandardized();
    let features = scope_features(&pose, &config, None)?;
    let present: Vec<f32> = features
        .data
        .indexed_iter()
        .filter(|((t, j, _), _)| features.confidence[[*t, *j]] > 0.0)
        .map(|(_, v)| *v)
        .collect();
    let (lo, hi) = present
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    println!(
        "== SCOPE features: [{}, {}, 2], eye-width scale, 5 groups centred on their roots; \
         {} present values in [{lo:.2}, {hi:.2}] (eye widths)",
        features.frames(),
        features.points(),
        present.len()
    );

    let opts = RenderOptions::default();
    let gif_path = args.out.join("skeleton.gif");
    write_gif(&gif_path, &pose, &opts)?;
    let selection = scope_selection(&pose, EyeScale::default())?;
    let selection_pose = selection.to_pose(signscope_pose::preprocess::scope_header(
        pose.header.width,
        pose.header.height,
    ))?;
    let selection_gif = args.out.join("scope_77_points.gif");
    write_gif(&selection_gif, &selection_pose, &opts)?;
    println!(
        "== wrote {} (input skeleton) and {} (the 77 SCOPE points)",
        gif_path.display(),
        selection_gif.display()
    );
    Ok(())
}
