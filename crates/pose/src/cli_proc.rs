//! `signscope pose render|convert-layout|normalize|stats`: clap types for the processing
//! commands, to be merged into pose-io's `PoseCommand`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::preprocess::{
    EyeScale, FeatureStats, SCOPE_POINTS, ScopeConfig, StatsAccumulator, features_to_pose,
    scope_features, scope_selection,
};
use crate::render::{RenderOptions, write_gif, write_png, write_svg};
use crate::skeleton::Layout;
use crate::{read_pose, write_pose};

#[derive(Debug, clap::Subcommand)]
pub enum ProcCommand {
    /// Draw a pose sequence as an animated GIF, and/or an SVG or PNG.
    Render(RenderArgs),
    /// Convert a pose file to another keypoint layout (COCO-WholeBody-133).
    ConvertLayout(ConvertLayoutArgs),
    /// SCOPE preprocessing: write the 77-point features of a pose as a .pose file.
    Normalize(NormalizeArgs),
    /// Compute SCOPE standardization statistics over training pose files.
    Stats(StatsArgs),
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Input .pose file.
    pub input: PathBuf,
    /// Write an animated GIF here.
    #[arg(long)]
    pub gif: Option<PathBuf>,
    /// Write an SVG here (animated unless --frame is given).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Write a PNG of --frame (default 0) here.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Frame for --png and a single-frame --svg.
    #[arg(long)]
    pub frame: Option<usize>,
    /// Draw the COCO-WholeBody-133 conversion instead of the file's own layout.
    #[arg(long, conflicts_with = "scope")]
    pub coco: bool,
    /// Draw the 77-point SCOPE selection (eye-scaled, not centred).
    #[arg(long)]
    pub scope: bool,
    #[arg(long, default_value_t = 512)]
    pub width: u32,
    #[arg(long, default_value_t = 512)]
    pub height: u32,
    /// Animation speed (default: the file's fps).
    #[arg(long)]
    pub fps: Option<f32>,
    /// Limb thickness in pixels.
    #[arg(long, default_value_t = 2.0)]
    pub line_width: f32,
}

#[derive(Debug, clap::Args)]
pub struct ConvertLayoutArgs {
    /// Target layout (only `coco-wb` is supported).
    #[arg(long, default_value = "coco-wb")]
    pub to: String,
    pub input: PathBuf,
    pub output: PathBuf,
}

/// Preprocessing switches shared by `normalize` and `stats`.
#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    /// Scale normalization (eq. 7): none, eye-corner-median, eye-corner-per-frame,
    /// paper-index0-based, paper-index1-based.
    #[arg(long, default_value = "eye-corner-median")]
    pub eye_scale: String,
    /// Skip group-wise centralization (eq. 8).
    #[arg(long)]
    pub no_centralize: bool,
}

impl ScopeArgs {
    fn config(&self, standardize: bool) -> anyhow::Result<ScopeConfig> {
        let eye_scale: EyeScale =
            serde_json::from_value(serde_json::Value::String(self.eye_scale.clone()))
                .with_context(|| format!("unknown --eye-scale {:?}", self.eye_scale))?;
        Ok(ScopeConfig {
            eye_scale,
            centralize: !self.no_centralize,
            standardize,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct NormalizeArgs {
    pub input: PathBuf,
    /// Output .pose file with the 77 SCOPE points (components BODY, LEFT_HAND, RIGHT_HAND,
    /// MOUTH, FACE).
    pub output: PathBuf,
    /// Standardize with these statistics (from `pose stats`); their preprocessing settings
    /// are used and must not contradict --eye-scale/--no-centralize.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Training .pose files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output statistics JSON.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// Run one processing command.
pub fn run_proc(cmd: ProcCommand) -> anyhow::Result<()> {
    match cmd {
        ProcCommand::Render(args) => render(&args),
        ProcCommand::ConvertLayout(args) => {
            let target: Layout = args.to.parse()?;
            let pose = read_pose(&args.input)?;
            let out = crate::convert::convert(&pose, target).map_err(|e| e.in_file(&args.input))?;
            write_pose(&args.output, &out)?;
            Ok(())
        }
        ProcCommand::Normalize(args) => {
            let pose = read_pose(&args.input)?;
            let (config, stats) = match &args.stats {
                Some(path) => {
                    let stats = FeatureStats::load(path)?;
                    let config = ScopeConfig {
                        standardize: true,
                        ..stats.config
                    };
                    if args.scope.config(true)? != config {
                        anyhow::bail!(
                            "{}: statistics were computed with {:?}, which contradicts the command-line settings",
                            path.display(),
                            stats.config
                        );
                    }
                    (config, Some(stats))
                }
                None => (args.scope.config(false)?, None),
            };
            let features = scope_features(&pose, &config, stats.as_ref())
                .map_err(|e| e.in_file(&args.input))?;
            let out = features_to_pose(&features, pose.header.width, pose.header.height)?;
            write_pose(&args.output, &out)?;
            Ok(())
        }
        ProcCommand::Stats(args) => {
            let config = args.scope.config(false)?;
            let mut acc = StatsAccumulator::new(SCOPE_POINTS);
            for file in &args.files {
                let pose = read_pose(file)?;
                let features = scope_features(&pose, &config, None).map_err(|e| e.in_file(file))?;
                acc.add(&features).map_err(|e| e.in_file(file))?;
            }
            acc.finish(&config).save(&args.out)?;
            Ok(())
        }
    }
}

fn render(args: &RenderArgs) -> anyhow::Result<()> {
    if args.gif.is_none() && args.svg.is_none() && args.png.is_none() {
        anyhow::bail!("nothing to do: give --gif, --svg and/or --png");
    }
    let input: &Path = &args.input;
    let mut pose = read_pose(input)?;
    if args.coco {
        pose = crate::convert::to_coco_wholebody(&pose).map_err(|e| e.in_file(input))?;
    } else if args.scope {
        let selection =
            scope_selection(&pose, EyeScale::EyeCornerMedian).map_err(|e| e.in_file(input))?;
        pose = features_to_pose(&selection, pose.header.width, pose.header.height)?;
    }
    let opts = RenderOptions {
        width: args.width,
        height: args.height,
        fps: args.fps,
        line_width: args.line_width,
        ..RenderOptions::default()
    };
    if let Some(path) = &args.gif {
        write_gif(path, &pose, &opts)?;
    }
    if let Some(path) = &args.svg {
        write_svg(path, &pose, args.frame, &opts)?;
    }
    if let Some(path) = &args.png {
        write_png(path, &pose, args.frame.unwrap_or(0), &opts)?;
    }
    Ok(())
}
