//! Rendering real files: GIF frame count, PNG and SVG output.

mod common;

use signscope_pose::convert::to_coco_wholebody;
use signscope_pose::preprocess::{EyeScale, features_to_pose, scope_selection};
use signscope_pose::read_pose;
use signscope_pose::render::{RenderOptions, encode_gif, render_frame, render_svg, write_png};

#[test]
fn gif_has_every_frame_and_draws_something() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let pose = read_pose(dir.join("example.pose")).unwrap();
    let opts = RenderOptions {
        width: 160,
        height: 120,
        ..RenderOptions::default()
    };
    let bytes = encode_gif(&pose, &opts).unwrap();
    let mut decoder = gif::DecodeOptions::new()
        .read_info(bytes.as_slice())
        .unwrap();
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!((frame.width, frame.height), (160, 120));
        frames += 1;
    }
    assert_eq!(frames, pose.body.frames());

    // A frame has ink (non-white pixels) but is mostly background.
    let canvas = render_frame(&pose, 10, &opts).unwrap();
    let ink = canvas
        .rgb
        .chunks_exact(3)
        .filter(|p| p != &[255, 255, 255])
        .count();
    let total = (opts.width * opts.height) as usize;
    assert!(ink > total / 100 && ink < total / 2, "{ink} of {total}");
}

#[test]
fn coco_and_scope_selection_render_and_bad_frames_are_errors() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let pose = read_pose(dir.join("openpose.pose")).unwrap();
    let coco = to_coco_wholebody(&pose).unwrap();
    let selection = scope_selection(&pose, EyeScale::EyeCornerMedian).unwrap();
    let scope = features_to_pose(&selection, 1000, 1000).unwrap();
    let opts = RenderOptions {
        width: 128,
        height: 128,
        ..RenderOptions::default()
    };
    for p in [&coco, &scope] {
        let svg = render_svg(p, Some(0), &opts).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path"));
        let animated = render_svg(p, None, &opts).unwrap();
        assert_eq!(animated.matches("<animate ").count(), p.body.frames());
    }
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("f.png");
    write_png(&png, &coco, 0, &opts).unwrap();
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let err = write_png(&png, &coco, 10_000, &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f.png") && err.contains("frame"), "{err}");
}
