//! clap types for `signscope pose …`. Each subcommand is one variant of
//! [`PoseCommand`]; [`run`] dispatches.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::format::{ImportOptions, read_any, write_any};
use crate::info::pose_info;

/// Work with keypoint files (.pose, COCO-WholeBody .npy/.npz, MMPose and OpenPose JSON).
#[derive(Debug, Subcommand)]
pub enum PoseCommand {
    /// Summarise keypoint files: version, fps, frames, people, components, missing points.
    Info {
        /// Files (.pose, .poseheader, .npy, .npz, .json) or OpenPose JSON directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON object per file (a JSON list when several files are given).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        import: ImportArgs,
    },
    /// Convert between formats, chosen by extension/contents: read .pose, .npy, .npz,
    /// MMPose JSON, OpenPose JSON (file or directory); write .pose (v0.2), .poseheader
    /// or .npy (COCO-WholeBody only).
    Convert {
        /// Input file or OpenPose directory.
        input: PathBuf,
        /// Output file; written atomically.
        output: PathBuf,
        #[command(flatten)]
        import: ImportArgs,
    },
}

/// Facts the header-less formats (NumPy, JSON) do not store.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Frame rate for .npy/.npz/JSON inputs (ignored for .pose).
    #[arg(long, default_value_t = 24.0)]
    pub fps: f32,
    /// Video width in pixels for .npy/.npz/JSON inputs.
    #[arg(long, default_value_t = 1000)]
    pub width: u16,
    /// Video height in pixels for .npy/.npz/JSON inputs.
    #[arg(long, default_value_t = 1000)]
    pub height: u16,
}

impl From<&ImportArgs> for ImportOptions {
    fn from(a: &ImportArgs) -> Self {
        ImportOptions {
            fps: a.fps,
            width: a.width,
            height: a.height,
        }
    }
}

pub fn run(cmd: PoseCommand) -> anyhow::Result<()> {
    match cmd {
        PoseCommand::Info {
            files,
            json,
            import,
        } => {
            let options = ImportOptions::from(&import);
            let infos = files
                .iter()
                .map(|f| pose_info(f, &options))
                .collect::<Result<Vec<_>, _>>()?;
            if json {
                let text = match infos.as_slice() {
                    [one] => serde_json::to_string_pretty(one)?,
                    many => serde_json::to_string_pretty(many)?,
                };
                println!("{text}");
            } else {
                for info in infos {
                    print!("{info}");
                }
            }
        }
        PoseCommand::Convert {
            input,
            output,
            import,
        } => {
            let pose = read_any(&input, &ImportOptions::from(&import))?;
            write_any(&output, &pose).with_context(|| {
                format!("converting {} to {}", input.display(), output.display())
            })?;
            eprintln!(
                "wrote {} ({} frames, {} points)",
                output.display(),
                pose.body.frames(),
                pose.body.points()
            );
        }
    }
    Ok(())
}
