//! Augmentations on real SCOPE features and COCO-WholeBody sequences.

mod common;

use signscope_pose::augment::{
    AugmentConfig, Augmenter, Pivot, coco_wholebody_flip, flip, pivot_point, rotate, scope77_flip,
};
use signscope_pose::convert::to_coco_wholebody;
use signscope_pose::preprocess::{KeypointSeq, ScopeConfig, scope_features};
use signscope_pose::read_pose;
use signscope_pose::skeleton::{COCO_BODY_LIMBS, COCO_HAND_LIMBS, coco};

fn example() -> Option<signscope_pose::Pose> {
    Some(read_pose(common::shared_poses()?.join("example.pose")).unwrap())
}

#[test]
fn same_seed_same_output_and_shapes() {
    let Some(pose) = example() else { return };
    let config = ScopeConfig {
        standardize: false,
        ..ScopeConfig::default()
    };
    let seq = scope_features(&pose, &config, None).unwrap();
    let aug = AugmentConfig {
        flip_probability: 0.5,
        ..AugmentConfig::default()
    };
    let run = |seed| {
        let mut a = Augmenter::new(aug, seed, Some(scope77_flip()));
        (0..4).map(|_| a.apply(&seq)).collect::<Vec<_>>()
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    for out in &a {
        assert_eq!(out.points(), 77);
        // Dropout 0.1 then speed 0.5–1.5 of 97 frames.
        assert!(
            out.frames() >= 40 && out.frames() <= 200,
            "{}",
            out.frames()
        );
        assert!(out.data.iter().all(|v| v.is_finite()));
    }
    let mut off = Augmenter::new(AugmentConfig::none(), 1, Some(scope77_flip()));
    assert_eq!(off.apply(&seq), seq);
}

#[test]
fn flip_twice_is_identity_and_swaps_hands() {
    let Some(pose) = example() else { return };
    let seq = KeypointSeq::from_pose(&to_coco_wholebody(&pose).unwrap(), 0).unwrap();
    let perm = coco_wholebody_flip();
    let pivot = pivot_point(&seq, Pivot::Centroid);
    let once = flip(&seq, &perm, pivot);
    let twice = flip(&once, &perm, pivot);
    for (a, b) in seq.data.iter().zip(twice.data.iter()) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    assert_eq!(seq.confidence, twice.confidence);
    for t in 0..seq.frames() {
        let (l, r) = (coco::LEFT_WRIST, coco::RIGHT_WRIST);
        assert_eq!(once.confidence[[t, r]], seq.confidence[[t, l]]);
        if seq.confidence[[t, l]] > 0.0 {
            assert!((once.data[[t, r, 0]] - (2.0 * pivot[0] - seq.data[[t, l, 0]])).abs() < 1e-3);
            assert_eq!(once.data[[t, r, 1]], seq.data[[t, l, 1]]);
        }
    }
}

#[test]
fn rotation_preserves_bone_lengths() {
    let Some(pose) = example() else { return };
    let seq = KeypointSeq::from_pose(&to_coco_wholebody(&pose).unwrap(), 0).unwrap();
    let mut bones: Vec<(usize, usize)> = COCO_BODY_LIMBS
        .iter()
        .map(|&(a, b)| (a as usize, b as usize))
        .collect();
    for &(a, b) in &COCO_HAND_LIMBS {
        bones.push((
            coco::LEFT_HAND.start + a as usize,
            coco::LEFT_HAND.start + b as usize,
        ));
        bones.push((
            coco::RIGHT_HAND.start + a as usize,
            coco::RIGHT_HAND.start + b as usize,
        ));
    }
    let mut rotated = seq.clone();
    rotate(&mut rotated, 0.6, pivot_point(&seq, Pivot::Centroid));
    let len = |s: &KeypointSeq, t: usize, a: usize, b: usize| {
        ((s.data[[t, a, 0]] - s.data[[t, b, 0]]).powi(2)
            + (s.data[[t, a, 1]] - s.data[[t, b, 1]]).powi(2))
        .sqrt()
    };
    let mut checked = 0;
    for t in 0..seq.frames() {
        for &(a, b) in &bones {
            if seq.confidence[[t, a]] > 0.0 && seq.confidence[[t, b]] > 0.0 {
                let (l0, l1) = (len(&seq, t, a, b), len(&rotated, t, a, b));
                assert!((l0 - l1).abs() <= 1e-3 * (1.0 + l0), "{l0} vs {l1}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert_ne!(rotated.data, seq.data);
}
