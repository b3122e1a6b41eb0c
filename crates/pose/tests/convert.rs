//! Conversion of real files to COCO-WholeBody-133.

mod common;

use signscope_pose::convert::to_coco_wholebody;
use signscope_pose::read_pose;
use signscope_pose::skeleton::{
    HOLISTIC_LEFT_HAND, HOLISTIC_POSE, HOLISTIC_RIGHT_HAND, Layout, coco,
};

#[test]
fn example_pose_arms_and_hands_land_exactly() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let pose = read_pose(dir.join("example.pose")).unwrap();
    let out = to_coco_wholebody(&pose).unwrap();
    assert_eq!(Layout::detect(&out.header), Some(Layout::CocoWholeBody133));
    assert_eq!(
        out.body.data.shape(),
        &[pose.body.frames(), pose.body.people(), 133, 2]
    );
    let h = &pose.header;
    let idx = |name: &str| h.point_index(HOLISTIC_POSE, name).unwrap();
    let mut pairs: Vec<(usize, usize)> = [
        (coco::LEFT_SHOULDER, "LEFT_SHOULDER"),
        (coco::RIGHT_SHOULDER, "RIGHT_SHOULDER"),
        (coco::LEFT_ELBOW, "LEFT_ELBOW"),
        (coco::RIGHT_ELBOW, "RIGHT_ELBOW"),
        (coco::LEFT_WRIST, "LEFT_WRIST"),
        (coco::RIGHT_WRIST, "RIGHT_WRIST"),
    ]
    .into_iter()
    .map(|(c, name)| (c, idx(name)))
    .collect();
    let (lh, rh) = (
        h.component_offset(HOLISTIC_LEFT_HAND).unwrap(),
        h.component_offset(HOLISTIC_RIGHT_HAND).unwrap(),
    );
    for i in 0..21 {
        pairs.push((coco::LEFT_HAND.start + i, lh + i));
        pairs.push((coco::RIGHT_HAND.start + i, rh + i));
    }
    let mut present = 0;
    for t in 0..pose.body.frames() {
        for &(c, s) in &pairs {
            assert_eq!(
                out.body.confidence[[t, 0, c]],
                pose.body.confidence[[t, 0, s]]
            );
            for d in 0..2 {
                assert_eq!(
                    out.body.data[[t, 0, c, d]],
                    pose.body.data[[t, 0, s, d]],
                    "frame {t} point {c}"
                );
            }
            present += (pose.body.confidence[[t, 0, s]] > 0.0) as usize;
        }
    }
    // The comparison is not vacuous: most of these points are present.
    assert!(present > pose.body.frames() * pairs.len() / 2, "{present}");
}

#[test]
fn reduced_and_openpose_files_convert() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    for (file, missing_nose) in [("mediapipe.pose", true), ("openpose.pose", false)] {
        let pose = read_pose(dir.join(file)).unwrap();
        let out = to_coco_wholebody(&pose).unwrap();
        assert_eq!(out.body.frames(), pose.body.frames());
        let nose_seen =
            (0..out.body.frames()).any(|t| out.body.confidence[[t, 0, coco::NOSE]] > 0.0);
        assert_eq!(nose_seen, !missing_nose, "{file}");
        let hands_seen = (0..out.body.frames())
            .any(|t| out.body.confidence[[t, 0, coco::RIGHT_HAND.start]] > 0.0);
        assert!(hands_seen, "{file}");
    }
}
