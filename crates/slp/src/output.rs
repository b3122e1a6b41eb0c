//! Writing a production: `.pose`, animated GIF and SVG frames (signscope-pose's renderer),
//! and MP4 through an `ffmpeg` found on PATH.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use signscope_pose::Pose;
use signscope_pose::render::{RenderOptions, render_frame, write_gif, write_svg};

/// Find an executable on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Animated GIF of the whole pose.
pub fn write_animation_gif(path: &Path, pose: &Pose) -> anyhow::Result<()> {
    write_gif(path, pose, &RenderOptions::default())
        .with_context(|| format!("writing GIF {}", path.display()))
}

/// One SVG per frame, `frame_00000.svg`…, in `dir` (created). Returns the count.
pub fn write_svg_frames(dir: &Path, pose: &Pose) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let options = RenderOptions::default();
    for t in 0..pose.body.frames() {
        let path = dir.join(format!("frame_{t:05}.svg"));
        write_svg(&path, pose, Some(t), &options)
            .with_context(|| format!("writing SVG {}", path.display()))?;
    }
    Ok(pose.body.frames())
}

/// H.264 (or ffmpeg's default `.mp4` codec) video, by piping raw RGB frames into `ffmpeg`.
/// Written to a temporary name beside `path` and renamed, so a failed encode leaves no
/// half-written video.
pub fn write_mp4(path: &Path, pose: &Pose) -> anyhow::Result<()> {
    let Some(ffmpeg) = find_on_path("ffmpeg") else {
        bail!(
            "cannot write {}: `ffmpeg` is not on PATH (install it, e.g. `apt-get install ffmpeg`, \
             or use --gif / --svg-dir)",
            path.display()
        );
    };
    let options = RenderOptions::default();
    let fps = if pose.body.fps > 0.0 {
        pose.body.fps
    } else {
        25.0
    };
    let tmp = signscope_fsio::temp_beside(path, ".mp4")
        .with_context(|| format!("creating a temporary file beside {}", path.display()))?;
    let mut child = Command::new(&ffmpeg)
        .args([
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ])
        .args(["-s", &format!("{}x{}", options.width, options.height)])
        .args(["-r", &format!("{fps}"), "-i", "-"])
        .args(["-pix_fmt", "yuv420p", "-f", "mp4"])
        .arg(tmp.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", ffmpeg.display()))?;
    let mut stdin = child.stdin.take().context("ffmpeg stdin")?;
    for t in 0..pose.body.frames() {
        let canvas = render_frame(pose, t, &options)?;
        if stdin.write_all(&canvas.rgb).is_err() {
            break; // ffmpeg exited; its message is collected below.
        }
    }
    drop(stdin);
    let output = child.wait_with_output().context("waiting for ffmpeg")?;
    if !output.status.success() {
        bail!(
            "ffmpeg failed writing {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    signscope_fsio::persist(tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp4_without_ffmpeg_says_so() {
        if find_on_path("ffmpeg").is_some() {
            eprintln!("skipping: ffmpeg is installed");
            return;
        }
        let pose = Pose {
            header: signscope_pose::skeleton::Layout::HolisticReduced178
                .header(512, 512, 0)
                .into(),
            body: signscope_pose::PoseBody {
                fps: 25.0,
                data: ndarray::Array4::zeros((2, 1, 178, 3)),
                confidence: ndarray::Array3::zeros((2, 1, 178)),
            },
        };
        let dir = tempfile::tempdir().unwrap();
        let err = write_mp4(&dir.path().join("x.mp4"), &pose)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ffmpeg") && err.contains("x.mp4"), "{err}");
        assert!(!dir.path().join("x.mp4").exists());
    }
}
