//! Render one generated sentence with the pose crate's renderer, to look at the motion:
//! `cargo run --release -p signscope-synth --example preview -- OUT.gif [FRAME.png FRAME] [SIGNER] [GLOSS ...]`
//! (`crates/synth/docs/example.gif` was made with
//! `preview crates/synth/docs/example.gif /tmp/frame.png 40 0 JETZT WETTER MORGEN DONNERSTAG ZWOELF FEBRUAR`).

use std::path::Path;

use anyhow::Context;
use signscope_pose::render::{RenderOptions, write_gif, write_png};
use signscope_synth::{PrototypeBank, RenderConfig, SignerProfile, render_utterance};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gif = args
        .first()
        .context("usage: preview OUT.gif [FRAME.png FRAME] [SIGNER] [GLOSS ...]")?;
    let png = args.get(1);
    let frame: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let signer: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let default = [
        "JETZT",
        "WETTER",
        "MORGEN",
        "DONNERSTAG",
        "ZWOELF",
        "FEBRUAR",
    ];
    let keys: Vec<&str> = if args.len() > 4 {
        args[4..].iter().map(String::as_str).collect()
    } else {
        default.to_vec()
    };
    let bank = PrototypeBank::with_keys(0, keys.iter().copied());
    let profile = SignerProfile::generate(0, signer, 1280, 720);
    let rendered = render_utterance(
        &bank,
        &keys,
        &profile,
        &RenderConfig { seed: 0, fps: 25.0 },
        "preview",
    )?;
    for key in &keys {
        println!("{key}: {}", bank.get(key).expect("inserted").describe());
    }
    println!(
        "{} frames, sign spans {:?}",
        rendered.pose.body.frames(),
        rendered.sign_spans
    );
    let opts = RenderOptions {
        width: 320,
        height: 240,
        fps: Some(12.5),
        line_width: 1.5,
        point_radius: 0.0,
        ..RenderOptions::default()
    };
    // Every second frame keeps the GIF small; 12.5 fps plays it in real time.
    let mut half = rendered.pose.clone();
    let keep: Vec<usize> = (0..half.body.frames()).step_by(2).collect();
    half.body.data = half.body.data.select(ndarray::Axis(0), &keep);
    half.body.confidence = half.body.confidence.select(ndarray::Axis(0), &keep);
    write_gif(Path::new(gif), &half, &opts)?;
    if let Some(png) = png {
        let big = RenderOptions {
            width: 640,
            height: 480,
            ..opts
        };
        write_png(Path::new(png), &rendered.pose, frame, &big)?;
    }
    Ok(())
}
