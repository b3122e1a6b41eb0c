//! Header constructors reproduce the headers pose-format wrote in real files.

mod common;

use signscope_pose::read_pose_header;
use signscope_pose::skeleton::Layout;

/// Names, formats and limbs equal; colours equal where the file was written by current
/// pose-format (example.pose predates its hand-colour change).
fn check(file: &std::path::Path, layout: Layout, compare_colors: bool) {
    let real = read_pose_header(file).unwrap();
    assert_eq!(Layout::detect(&real), Some(layout), "{}", file.display());
    let built = layout.header(real.width, real.height, real.depth);
    assert_eq!(built.components.len(), real.components.len());
    for (b, r) in built.components.iter().zip(&real.components) {
        assert_eq!(b.name, r.name);
        assert_eq!(b.format, r.format, "{}", r.name);
        assert_eq!(b.points, r.points, "{}", r.name);
        assert_eq!(b.limbs, r.limbs, "{}", r.name);
        if compare_colors {
            assert_eq!(b.colors, r.colors, "{}", r.name);
        }
    }
}

#[test]
fn real_headers_match_constructors() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    check(&dir.join("example.pose"), Layout::Holistic576, false);
    check(
        &dir.join("mediapipe.pose"),
        Layout::HolisticReduced178,
        true,
    );
    check(&dir.join("openpose.pose"), Layout::OpenPose137, true);
    assert_eq!(
        Layout::detect(&read_pose_header(dir.join("mediapipe_hand_normalized.pose")).unwrap()),
        None
    );
}

#[test]
fn fingerspelling_headers_are_holistic_586() {
    let Some(dir) = common::fingerspelling_dir() else {
        return;
    };
    for file in common::pose_files(&dir).iter().take(20) {
        check(file, Layout::Holistic586, true);
    }
}
