//! `.pose` reading and writing on real files: counts match the data README,
//! every v0.2 file round-trips byte for byte, ranges, streaming and zero-copy views agree
//! with full reads.

mod common;

use signscope_pose::format::{
    FileFormat, FormatVersion, ImportOptions, PoseFrameReader, ReadOptions, ReadRange,
    read_pose_with,
};
use signscope_pose::info::{PoseInfo, pose_info};
use signscope_pose::{Pose, PoseView, read_pose, read_pose_header};

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

/// The zero-copy view of every real file (the 600 fingerspelling clips and ../shared's
/// four files, v0.0 to v0.2) decodes to what `read_pose` gives, and `pose info`, which
/// summarises `.pose` files from the view, reports what the decoded pose holds.
#[test]
fn zero_copy_views_of_real_files_agree_with_decoding() {
    let mut files = Vec::new();
    if let Some(dir) = common::fingerspelling_dir() {
        files.extend(common::pose_files(&dir));
    }
    if let Some(dir) = common::shared_poses() {
        files.extend(common::pose_files(&dir));
    }
    let mut buffer = Vec::new();
    for path in &files {
        let pose = read_pose(path).unwrap();
        let view = PoseView::read_into(path, &mut buffer).unwrap();
        assert_eq!(view.frames(), pose.body.frames(), "{}", path.display());
        assert_eq!(view.header().version, pose.header.version);
        let decoded = view.to_pose(&ReadOptions::default()).unwrap();
        assert!(
            decoded.to_bytes().unwrap() == pose.to_bytes().unwrap(),
            "{} decodes differently from its view",
            path.display()
        );
        let name = path.display().to_string();
        assert_eq!(
            pose_info(path, &ImportOptions::default()).unwrap(),
            PoseInfo::of_pose(&pose, &name, FileFormat::Pose)
        );
    }
    let Some(dir) = common::shared_poses() else {
        return;
    };
    // v0.1's header ends on a 4-byte boundary, so its floats are borrowed as they lie;
    // example.pose's body starts at byte 14,815 and is decoded instead.
    let aligned = PoseView::open(dir.join("mediapipe.pose")).unwrap();
    assert_eq!(aligned.version(), FormatVersion::V0_1);
    assert_eq!(
        aligned.data().as_slice().map(<[f32]>::len),
        cfg!(target_endian = "little").then_some(170 * 178 * 3)
    );
    let unaligned = PoseView::open(dir.join("example.pose")).unwrap();
    assert!(unaligned.data().as_slice().is_none());
    assert_eq!(unaligned.data().len(), 97 * 576 * 3);
    // v0.0 is held re-encoded but still says what it was.
    let old = PoseView::open(dir.join("openpose.pose")).unwrap();
    assert_eq!(old.version(), FormatVersion::V0_0);
    assert_eq!(old.header().version, 0.0);
    // A ranged decode from the view equals a ranged read.
    let range = ReadOptions::with_range(ReadRange::frames(10, 20));
    assert!(
        unaligned.to_pose(&range).unwrap().to_bytes().unwrap()
            == read_pose_with(dir.join("example.pose"), &range)
                .unwrap()
                .to_bytes()
                .unwrap()
    );
    // A truncated file is an error that names it.
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.pose");
    let bytes = std::fs::read(dir.join("example.pose")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let err = PoseView::open(&cut).err().unwrap().to_string();
    assert!(
        err.contains("cut.pose") && err.contains("truncated"),
        "{err}"
    );
}
