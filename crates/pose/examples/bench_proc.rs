//! Throughput of SCOPE preprocessing and rendering on real files (median of 5 runs).
//! `cargo run --release -p signscope-pose --example bench_proc -- FILE.pose...`

use std::time::Instant;

use signscope_pose::convert::to_coco_wholebody;
use signscope_pose::preprocess::{SCOPE_POINTS, ScopeConfig, StatsAccumulator, scope_features};
use signscope_pose::read_pose;
use signscope_pose::render::{RenderOptions, encode_gif};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!files.is_empty(), "give .pose files");
    let poses = files.iter().map(read_pose).collect::<Result<Vec<_>, _>>()?;
    let frames: usize = poses.iter().map(|p| p.body.frames()).sum();
    let config = ScopeConfig::default().unstandardized();
    let time = |f: &dyn Fn()| {
        median(
            (0..5)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let convert = time(&|| {
        for p in &poses {
            std::hint::black_box(to_coco_wholebody(p).unwrap());
        }
    });
    let features = time(&|| {
        let mut acc = StatsAccumulator::new(SCOPE_POINTS);
        for p in &poses {
            acc.add(&scope_features(p, &config, None).unwrap()).unwrap();
        }
        std::hint::black_box(acc.finish(&config));
    });
    let opts = RenderOptions {
        width: 256,
        height: 256,
        ..RenderOptions::default()
    };
    let gif = time(&|| {
        std::hint::black_box(encode_gif(&poses[0], &opts).unwrap());
    });
    println!("{} files, {frames} frames", poses.len());
    println!(
        "to_coco_wholebody:        {:.1} ms  ({:.0} frames/s)",
        convert * 1e3,
        frames as f64 / convert
    );
    println!(
        "scope_features + stats:   {:.1} ms  ({:.0} frames/s)",
        features * 1e3,
        frames as f64 / features
    );
    println!(
        "encode_gif 256², file 0:  {:.1} ms  ({} frames)",
        gif * 1e3,
        poses[0].body.frames()
    );
    Ok(())
}
