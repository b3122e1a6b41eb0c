//! SCOPE preprocessing on real sequences.

mod common;

use signscope_pose::convert::to_coco_wholebody;
use signscope_pose::preprocess::{
    EyeScale, FeatureStats, KeypointSeq, SCOPE_POINTS, ScaleSource, ScopeConfig, StatsAccumulator,
    scope_features, sequence_scale,
};
use signscope_pose::skeleton::coco;
use signscope_pose::{Pose, read_pose};

fn real_poses() -> Option<Vec<Pose>> {
    let dir = common::shared_poses()?;
    Some(
        ["example.pose", "mediapipe.pose", "openpose.pose"]
            .iter()
            .map(|f| read_pose(dir.join(f)).unwrap())
            .collect(),
    )
}

#[test]
fn every_mode_gives_finite_features_of_the_right_shape() {
    let Some(poses) = real_poses() else { return };
    for pose in &poses {
        for eye_scale in [
            EyeScale::None,
            EyeScale::EyeCornerMedian,
            EyeScale::EyeCornerPerFrame,
            EyeScale::PaperIndex0Based,
            EyeScale::PaperIndex1Based,
        ] {
            for centralize in [false, true] {
                let config = ScopeConfig {
                    eye_scale,
                    centralize,
                    standardize: false,
                };
                let f = scope_features(pose, &config, None).unwrap();
                assert_eq!(f.data.shape(), &[pose.body.frames(), SCOPE_POINTS, 2]);
                assert!(f.data.iter().all(|v| v.is_finite()), "{config:?}");
            }
        }
    }
}

#[test]
fn eye_scale_makes_size_invariant_and_centralization_zeroes_roots() {
    let Some(poses) = real_poses() else { return };
    let pose = &poses[0];
    let mut big = pose.clone();
    big.body.data.mapv_inplace(|v| v * 3.0 + 17.0);
    let config = ScopeConfig {
        standardize: false,
        ..ScopeConfig::default()
    };
    let a = scope_features(pose, &config, None).unwrap();
    let b = scope_features(&big, &config, None).unwrap();
    let max_diff = a
        .data
        .iter()
        .zip(b.data.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(max_diff < 1e-3, "{max_diff}");
    // Left-hand root (wrist, feature 9) is 0 wherever present.
    for t in 0..a.frames() {
        if a.confidence[[t, 9]] > 0.0 {
            assert_eq!(a.data[[t, 9, 0]], 0.0);
        }
    }
    // example.pose has eyes: scale in pixels of a 320×240 video, a few pixels wide.
    let seq = KeypointSeq::from_pose(&to_coco_wholebody(pose).unwrap(), 0).unwrap();
    let (scale, source) = sequence_scale(&seq);
    assert_eq!(source, ScaleSource::Eyes);
    assert!(scale > 1.0 && scale < 40.0, "{scale}");
}

#[test]
fn missing_eyes_fall_back_to_shoulders_then_unscaled() {
    let Some(poses) = real_poses() else { return };
    let mut seq = KeypointSeq::from_pose(&to_coco_wholebody(&poses[0]).unwrap(), 0).unwrap();
    for k in 36..48 {
        seq.confidence.column_mut(coco::face(k)).fill(0.0);
    }
    let (scale, source) = sequence_scale(&seq);
    assert_eq!(source, ScaleSource::Shoulders);
    assert!(scale.is_finite() && scale > 0.0);
    // Zero-size eyes and shoulders (all points at one place) are degenerate, not NaN.
    seq.data.fill(5.0);
    seq.confidence.fill(1.0);
    assert_eq!(sequence_scale(&seq), (1.0, ScaleSource::Unscaled));
}

#[test]
fn standardization_stats_roundtrip_and_normalize_the_training_set() {
    let Some(poses) = real_poses() else { return };
    let config = ScopeConfig::default();
    let mut acc = StatsAccumulator::new(SCOPE_POINTS);
    let raw: Vec<KeypointSeq> = poses
        .iter()
        .map(|p| scope_features(p, &config.unstandardized(), None).unwrap())
        .collect();
    // Two partial accumulators merged equal one that saw everything.
    let mut first = StatsAccumulator::new(SCOPE_POINTS);
    first.add(&raw[0]).unwrap();
    let mut rest = StatsAccumulator::new(SCOPE_POINTS);
    for r in &raw[1..] {
        rest.add(r).unwrap();
    }
    for r in &raw {
        acc.add(r).unwrap();
    }
    first.merge(&rest).unwrap();
    let (s1, s2) = (acc.finish(&config), first.finish(&config));
    for (a, b) in s1
        .mean
        .iter()
        .zip(&s2.mean)
        .chain(s1.std.iter().zip(&s2.std))
    {
        assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.json");
    s1.save(&path).unwrap();
    let loaded = FeatureStats::load(&path).unwrap();
    assert_eq!(loaded.count, s1.count);

    // Standardized training features: per-feature mean ≈ 0, std ≈ 1 (where std was not tiny).
    let mut check = StatsAccumulator::new(SCOPE_POINTS);
    for p in &poses {
        check
            .add(&scope_features(p, &config, Some(&loaded)).unwrap())
            .unwrap();
    }
    let after = check.finish(&config);
    for k in 0..SCOPE_POINTS * 2 {
        if after.count[k] > 0 {
            assert!(
                after.mean[k].abs() < 1e-3,
                "feature {k} mean {}",
                after.mean[k]
            );
            if s1.std[k] > 1e-3 {
                assert!(
                    (after.std[k] - 1.0).abs() < 1e-3,
                    "feature {k} std {}",
                    after.std[k]
                );
            }
        }
    }

    // Stats from another config are refused; garbage files name the file.
    let other = ScopeConfig {
        centralize: false,
        ..config
    };
    assert!(scope_features(&poses[0], &other, Some(&loaded)).is_err());
    std::fs::write(&path, b"{not json").unwrap();
    let err = FeatureStats::load(&path).unwrap_err().to_string();
    assert!(err.contains("stats.json"), "{err}");
}
