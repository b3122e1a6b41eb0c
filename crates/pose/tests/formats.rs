//! The importers against fixtures made by pose-format/numpy (scripts/make_io_fixtures.py),
//! and the `.pose` reader against values decoded by pose-format's Python reader.

mod common;

use std::path::{Path, PathBuf};

use signscope_pose::Pose;
use signscope_pose::format::{
    FileFormat, ImportOptions, NpyArray, read_any, read_pose, read_pose_header, write_any,
};
use signscope_pose::info::pose_info;
use signscope_pose::skeleton::Layout;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A list of numbers where null stands for NaN, compared bit for bit.
fn floats(v: &serde_json::Value) -> Vec<u32> {
    bits(
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().map_or(f32::NAN, |x| x as f32)),
    )
}

fn bits(values: impl Iterator<Item = f32>) -> Vec<u32> {
    values
        .map(|x| {
            if x.is_nan() {
                f32::NAN.to_bits()
            } else {
                x.to_bits()
            }
        })
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[test]
fn decoded_values_match_pose_format() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("pose_format_expected.json")).unwrap())
            .unwrap();
    let shared = common::shared_poses();
    let lexicon = common::fingerspelling_dir();
    for (key, e) in expected.as_object().unwrap() {
        let (root, rel) = key.split_once('/').unwrap();
        let dir = match root {
            "shared" => shared.clone(),
            _ => lexicon.clone(),
        };
        let Some(dir) = dir else { continue };
        let pose = read_pose(dir.join(rel)).unwrap();
        let body = &pose.body;
        let shape: Vec<usize> = serde_json::from_value(e["shape"].clone()).unwrap();
        assert_eq!(body.data.shape(), shape.as_slice(), "{key}");
        close(
            pose.header.version as f64,
            e["version"].as_f64().unwrap(),
            key,
        );
        assert_eq!(body.fps as f64, e["fps"].as_f64().unwrap(), "{key}");
        let finite = || {
            body.data
                .iter()
                .filter(|v| v.is_finite())
                .map(|&v| v as f64)
        };
        close(finite().sum(), e["data_sum"].as_f64().unwrap(), key);
        close(
            finite().map(f64::abs).sum(),
            e["data_abs_sum"].as_f64().unwrap(),
            key,
        );
        close(
            body.confidence.iter().map(|&v| v as f64).sum(),
            e["confidence_sum"].as_f64().unwrap(),
            key,
        );
        let non_finite = signscope_pose::info::count_non_finite(body);
        assert_eq!(
            non_finite as u64,
            e["non_finite"].as_u64().unwrap(),
            "{key}"
        );
        let first = bits(body.data.slice(ndarray::s![0, 0, ..8, ..]).iter().copied());
        assert_eq!(first, floats(&e["first_frame_data"]), "{key}");
        let last = bits(
            body.data
                .slice(ndarray::s![-1, 0, -4.., ..])
                .iter()
                .copied(),
        );
        assert_eq!(last, floats(&e["last_frame_data"]), "{key}");
        let conf = bits(
            body.confidence
                .slice(ndarray::s![0, 0, ..8])
                .iter()
                .copied(),
        );
        assert_eq!(conf, floats(&e["first_frame_confidence"]), "{key}");
    }
}

#[test]
fn coco_wholebody_npy_npz_and_mmpose_json_agree() {
    let options = ImportOptions::default();
    let f32_npy = read_any(fixture("coco_wb_f32.npy"), &options).unwrap();
    assert_eq!(f32_npy.body.data.shape(), &[4, 1, 133, 2]);
    assert_eq!(
        Layout::detect(&f32_npy.header),
        Some(Layout::CocoWholeBody133)
    );
    // Frame 1 lost its left hand (COCO-WB 91..112).
    assert!(
        f32_npy
            .body
            .confidence
            .slice(ndarray::s![1, 0, 91..112])
            .iter()
            .all(|&c| c == 0.0)
    );
    assert!(
        f32_npy
            .body
            .confidence
            .slice(ndarray::s![0, 0, 91..112])
            .iter()
            .all(|&c| c > 0.0)
    );

    let f64_fortran = read_any(fixture("coco_wb_f64_fortran.npy"), &options).unwrap();
    let npz = read_any(fixture("coco_wb_split.npz"), &options).unwrap();
    let json = read_any(fixture("mmpose.json"), &options).unwrap();
    for (name, other) in [
        ("f64 fortran", &f64_fortran),
        ("npz", &npz),
        ("mmpose json", &json),
    ] {
        assert_eq!(other, &f32_npy, "{name}");
    }
    assert_eq!(
        FileFormat::detect(&fixture("mmpose.json")).unwrap(),
        FileFormat::MmposeJson
    );
}

#[test]
fn npy_export_round_trips_and_matches_numpy_bytes() {
    let path = fixture("coco_wb_f32.npy");
    let pose = read_any(&path, &ImportOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("again.npy");
    write_any(&out, &pose).unwrap();
    // numpy's own header layout and data: byte-identical to np.save's file.
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&path).unwrap());
    // and through .pose
    let via_pose = dir.path().join("again.pose");
    write_any(&via_pose, &pose).unwrap();
    let back = read_any(&via_pose, &ImportOptions::default()).unwrap();
    assert_eq!(back.body, pose.body);
}

#[test]
fn openpose_directory_matches_pose_format_loader() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("openpose_expected.json")).unwrap()).unwrap();
    let pose = read_any(fixture("openpose"), &ImportOptions::default()).unwrap();
    let shape: Vec<usize> = serde_json::from_value(expected["shape"].clone()).unwrap();
    assert_eq!(pose.body.data.shape(), shape.as_slice());
    assert_eq!(pose.body.fps, 24.0);
    let data: Vec<f32> = serde_json::from_value(expected["data"].clone()).unwrap();
    let conf: Vec<f32> = serde_json::from_value(expected["confidence"].clone()).unwrap();
    assert_eq!(pose.body.data.iter().copied().collect::<Vec<_>>(), data);
    assert_eq!(
        pose.body.confidence.iter().copied().collect::<Vec<_>>(),
        conf
    );
}

#[test]
fn openpose_header_matches_the_real_openpose_file() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let real = read_pose_header(dir.join("openpose.pose")).unwrap();
    let ours = read_any(fixture("openpose"), &ImportOptions::default()).unwrap();
    assert_eq!(ours.header.components, real.components);
}

#[test]
fn info_reports_counts_and_missing_rates() {
    let info = pose_info(fixture("coco_wb_f32.npy"), &ImportOptions::default()).unwrap();
    assert_eq!(
        (info.frames, info.people, info.points, info.dims),
        (4, 1, 133, 2)
    );
    assert_eq!(info.version, None);
    let left = info
        .components
        .iter()
        .find(|c| c.name == "LEFT_HAND")
        .unwrap();
    assert_eq!(left.missing_rate, 0.25); // one frame of four
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["components"].as_array().unwrap().len(), 4);
    assert!(info.to_string().contains("LEFT_HAND"));

    let Some(dir) = common::shared_poses() else {
        return;
    };
    let info = pose_info(dir.join("openpose.pose"), &ImportOptions::default()).unwrap();
    assert_eq!(
        (info.version, info.frames, info.points),
        (Some(0.0), 93, 137)
    );
    let pose = read_pose(dir.join("openpose.pose")).unwrap();
    let body = pose.body.confidence.slice(ndarray::s![.., .., ..25]);
    let missing = body.iter().filter(|&&c| c == 0.0).count() as f64 / body.len() as f64;
    assert_eq!(info.components[0].missing_rate, missing);
}

#[test]
fn npy_header_errors_are_clean() {
    let good = std::fs::read(fixture("coco_wb_f32.npy")).unwrap();
    let err = NpyArray::from_bytes(&good[..good.len() - 4])
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs 6384 bytes"), "{err}");
    let mut wrong = NpyArray {
        shape: vec![2, 17, 3],
        values: vec![0.0; 102],
    }
    .to_bytes();
    let err = signscope_pose::format::npy::coco_wholebody_pose(
        &NpyArray::from_bytes(&wrong).unwrap(),
        None,
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("17 points"), "{err}");
    wrong[12] = b'X';
    assert!(NpyArray::from_bytes(&wrong).is_err());
    let pose = Pose::from_bytes(b"not a pose").unwrap_err().to_string();
    assert!(
        pose.contains("unknown .pose version") || pose.contains("ends"),
        "{pose}"
    );
}

#[test]
fn cli_parses_and_converts() {
    use clap::Parser;
    use signscope_pose::cli::{PoseCommand, run};

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: PoseCommand,
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("from_npy.pose");
    let (npy, openpose) = (fixture("coco_wb_f32.npy"), fixture("openpose"));
    let args = [
        "signscope",
        "convert",
        npy.to_str().unwrap(),
        out.to_str().unwrap(),
        "--fps",
        "30",
    ];
    run(Cli::try_parse_from(args).unwrap().command).unwrap();
    let pose = read_pose(&out).unwrap();
    assert_eq!((pose.body.fps, pose.body.frames()), (30.0, 4));

    let info = Cli::try_parse_from(["signscope", "info", out.to_str().unwrap(), "--json"]).unwrap();
    assert!(
        matches!(&info.command, PoseCommand::Info { json: true, files, .. } if files.len() == 1)
    );
    run(info.command).unwrap();
    assert!(
        Cli::try_parse_from(["signscope", "info"]).is_err(),
        "info needs a file"
    );

    // Writing .npy from a non-COCO pose is refused with a hint, and nothing is left behind.
    let bad = dir.path().join("openpose.npy");
    let args = [
        "signscope",
        "convert",
        openpose.to_str().unwrap(),
        bad.to_str().unwrap(),
    ];
    let err = run(Cli::try_parse_from(args).unwrap().command).unwrap_err();
    assert!(
        format!("{err:#}").contains("COCO-WholeBody-133 only"),
        "{err:#}"
    );
    assert!(!bad.exists());
}
