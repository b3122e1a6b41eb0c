//! `.pose` reading and writing on real files: counts match the data README,
//! every v0.2 file round-trips byte for byte, ranges and streaming agree with full reads.

mod common;

use signscope_pose::format::{
    FormatVersion, PoseFrameReader, ReadOptions, ReadRange, read_pose_with,
};
use signscope_pose::{Pose, read_pose, read_pose_header};

#[test]
fn shared_files_have_documented_counts() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    for (name, version, points, frames) in [
        ("mediapipe.pose", 0.1, 178, 170),
        ("example.pose", 0.2, 576, 97),
        ("openpose.pose", 0.0, 137, 93),
    ] {
        let pose = read_pose(dir.join(name)).unwrap();
        assert_eq!(pose.header.version, version as f32, "{name}");
        assert_eq!(pose.header.total_points(), points, "{name}");
        assert_eq!(pose.body.frames(), frames, "{name}");
        assert_eq!(pose.body.points(), points, "{name}");
    }
    let hand = read_pose(dir.join("mediapipe_hand_normalized.pose")).unwrap();
    assert!(hand.body.frames() > 0);
}

#[test]
fn fingerspelling_files_read_and_round_trip_byte_exact() {
    let Some(dir) = common::fingerspelling_dir() else {
        return;
    };
    let files = common::pose_files(&dir);
    assert_eq!(files.len(), 600, "expected the 600 fingerspelling letters");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let pose = Pose::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(pose.header.total_points(), 586, "{}", path.display());
        assert_eq!(pose.header.version, 0.2);
        assert!(
            pose.to_bytes().unwrap() == bytes,
            "{} does not round-trip",
            path.display()
        );
        // Reading the file (head first, then the body straight into the arrays) agrees.
        assert!(
            read_pose(&path).unwrap().to_bytes().unwrap() == bytes,
            "{} reads differently from a file",
            path.display()
        );
    }
}

#[test]
fn example_v02_round_trips_through_a_file() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let src = dir.join("example.pose");
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("copy.pose");
    signscope_pose::write_pose(&dst, &read_pose(&src).unwrap()).unwrap();
    assert!(std::fs::read(&dst).unwrap() == std::fs::read(&src).unwrap());
}

#[test]
fn older_versions_rewrite_as_v02_with_equal_values() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    for name in ["mediapipe.pose", "openpose.pose"] {
        let pose = read_pose(dir.join(name)).unwrap();
        let again = Pose::from_bytes(&pose.to_bytes().unwrap()).unwrap();
        assert_eq!(again.header.version, 0.2);
        assert_eq!(again.header.components, pose.header.components);
        assert_eq!(again.body.data, pose.body.data, "{name}");
        assert_eq!(again.body.confidence, pose.body.confidence, "{name}");
    }
}

#[test]
fn ranges_and_streaming_match_full_reads() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    for name in ["mediapipe.pose", "example.pose", "openpose.pose"] {
        let path = dir.join(name);
        let full = read_pose(&path).unwrap();
        let frames = full.body.frames();

        let part =
            read_pose_with(&path, &ReadOptions::with_range(ReadRange::frames(10, 20))).unwrap();
        assert_eq!(
            part.body,
            full.body.slice_frames(10, 20),
            "{name} frames 10..20"
        );

        // floor(200 ms * fps) .. ceil(500 ms * fps)
        let fps = full.body.fps as f64;
        let (a, b) = (
            (0.2 * fps).floor() as usize,
            ((0.5 * fps).ceil() as usize).min(frames),
        );
        let timed = read_pose_with(
            &path,
            &ReadOptions::with_range(ReadRange::time_ms(200.0, 500.0)),
        )
        .unwrap();
        assert_eq!(
            timed.body,
            full.body.slice_frames(a, b),
            "{name} 200..500 ms"
        );

        let reader = PoseFrameReader::open(&path).unwrap();
        assert_eq!(reader.header(), &read_pose_header(&path).unwrap());
        let mut count = 0;
        for (i, frame) in reader.enumerate() {
            let frame = frame.unwrap();
            assert_eq!(frame.index, i);
            assert_eq!(
                frame.data,
                full.body.data.index_axis(ndarray::Axis(0), i),
                "{name} frame {i}"
            );
            assert_eq!(
                frame.confidence,
                full.body.confidence.index_axis(ndarray::Axis(0), i)
            );
            count += 1;
        }
        assert_eq!(count, frames, "{name}");

        let mut reader = PoseFrameReader::open(&path).unwrap();
        reader.set_range(ReadRange::frames(5, 8)).unwrap();
        let picked: Vec<_> = reader.map(|f| f.unwrap()).collect();
        assert_eq!(
            picked.iter().map(|f| f.index).collect::<Vec<_>>(),
            [5, 6, 7],
            "{name}"
        );
        assert_eq!(
            picked[0].data,
            full.body.data.index_axis(ndarray::Axis(0), 5),
            "{name}"
        );
    }
}

#[test]
fn ranges_past_the_end_are_clean_errors() {
    let Some(dir) = common::shared_poses() else {
        return;
    };
    let path = dir.join("example.pose");
    let err =
        read_pose_with(&path, &ReadOptions::with_range(ReadRange::frames(500, 600))).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("example.pose") && msg.contains("start frame 500"),
        "{msg}"
    );
    let reader = PoseFrameReader::open(&path).unwrap();
    assert_eq!(reader.version(), FormatVersion::V0_2);
}
