//! Fuzzing every reader: seeds from tests/fuzz_corpus (small and tricky inputs, made by
//! scripts/make_io_fixtures.py) are truncated at every byte, then mutated by proptest
//! (byte flips, absurd u16/u32 counts, NaN floats, cuts). Every reader must return Ok or
//! a clean Err — never panic or abort on a huge allocation. Whatever decodes must also
//! survive a write/read round trip, and the zero-copy `PoseView` must agree with the
//! decoding readers on every input.

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use signscope_pose::format::json::{mmpose_from_bytes, openpose_people};
use signscope_pose::format::npy::{coco_wholebody_pose, pose_from_npz_bytes};
use signscope_pose::format::{ImportOptions, NpyArray, PoseFrameReader, ReadOptions, ReadRange};
use signscope_pose::info::PoseInfo;
use signscope_pose::{Pose, PoseHeader, PoseView};

fn corpus(prefix: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no fuzz seeds named {prefix}* in {}",
        dir.display()
    );
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn same_bits(a: &Pose, b: &Pose) -> bool {
    let bits = |p: &Pose| -> Vec<u32> {
        p.body
            .data
            .iter()
            .chain(p.body.confidence.iter())
            .map(|v| v.to_bits())
            .collect()
    };
    a.header.components == b.header.components
        && a.body.data.shape() == b.body.data.shape()
        && bits(a) == bits(b)
}

/// Every `.pose` entry point on the same bytes.
fn exercise_pose(bytes: &[u8]) {
    file_read_agrees(bytes);
    view_agrees(bytes);
    if let Ok(pose) = Pose::from_bytes(bytes) {
        let again = Pose::from_bytes(&pose.to_bytes().unwrap()).unwrap();
        assert!(
            same_bits(&pose, &again),
            "decoded pose does not survive a round trip"
        );
        // The streaming reader agrees with the whole-file reader.
        // (A body of zero people may declare billions of empty frames: check a prefix.)
        let frames = PoseFrameReader::new(Cursor::new(bytes)).unwrap();
        let mut n = 0;
        for frame in frames.take(1 << 12) {
            let frame = frame.unwrap();
            let i = frame.index;
            assert_eq!(
                frame
                    .confidence
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                pose.body
                    .confidence
                    .index_axis(ndarray::Axis(0), i)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            );
            n += 1;
        }
        assert_eq!(n, pose.body.frames().min(1 << 12));
    } else if let Ok(frames) = PoseFrameReader::new(Cursor::new(bytes)) {
        for frame in frames.take(1 << 16) {
            if frame.is_err() {
                break;
            }
        }
    }
    let _ = PoseHeader::from_bytes(bytes);
    for range in [
        ReadRange::frames(1, 3),
        ReadRange::time_ms(10.0, 90.0),
        ReadRange::frames(3, 1),
    ] {
        let _ = Pose::from_bytes_with(bytes, &ReadOptions::with_range(range));
    }
}

/// `read_pose` on a file (which reads a head, then the body straight into the
/// arrays) decodes exactly what `Pose::from_bytes` decodes, or fails too.
fn file_read_agrees(bytes: &[u8]) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, bytes).unwrap();
    let from_file = signscope_pose::read_pose(file.path());
    let from_memory = Pose::from_bytes(bytes);
    match (&from_file, &from_memory) {
        (Ok(a), Ok(b)) => assert!(same_bits(a, b), "file and memory reads differ"),
        (Err(_), Err(_)) => {}
        _ => panic!("file read {from_file:?} but memory read {from_memory:?}"),
    }
}

/// `PoseView` accepts exactly what `Pose::from_bytes` accepts; its decoded body, its
/// first frames and its `pose info` summary are those of the decoded pose.
fn view_agrees(bytes: &[u8]) {
    let view = PoseView::from_bytes(bytes);
    let pose = Pose::from_bytes(bytes);
    let (view, pose) = match (view, pose) {
        (Ok(view), Ok(pose)) => (view, pose),
        (Err(_), Err(_)) => return,
        (view, pose) => panic!(
            "view {:?} but decoded {:?}",
            view.map(|v| v.frames()),
            pose.map(|p| p.body.frames())
        ),
    };
    let decoded = view.to_pose(&ReadOptions::default()).unwrap();
    assert!(same_bits(&decoded, &pose), "the view decodes differently");
    // Compared as printed, since a NaN fps is a legitimate value here and NaN != NaN.
    assert_eq!(
        format!("{:?}", PoseInfo::of_view(&view, "x")),
        format!(
            "{:?}",
            PoseInfo::of_pose(&pose, "x", signscope_pose::format::FileFormat::Pose)
        )
    );
    for i in 0..view.frames().min(3) {
        let frame = view.frame(i).unwrap();
        let bits = |a: ndarray::ArrayViewD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(frame.data.view().into_dyn()),
            bits(pose.body.data.index_axis(ndarray::Axis(0), i).into_dyn())
        );
    }
    assert!(view.frame(view.frames()).is_err());
}

/// Headers (and the body prelude after them) ending on every byte around the
/// size of the whole-file reader's first read (32 KiB), so the header is parsed
/// partly from that read and partly from the file.
#[test]
fn headers_around_the_first_read_size_read_from_files() {
    use signscope_pose::{Component, PoseBody};
    // 12 bytes of version, dimensions and count; 14 of the component's name, format and counts.
    let fixed = 12 + 14;
    let points = 4085;
    for header_len in (32 << 10) - 24..(32 << 10) + 24 {
        // Point names of 6 bytes (8 with their length), the last one padded to fit.
        let mut names: Vec<String> = (0..points).map(|i| format!("p{i:05}")).collect();
        let pad = header_len - fixed - 8 * points;
        names[points - 1].push_str(&"x".repeat(pad));
        let header = PoseHeader {
            version: 0.2,
            width: 100,
            height: 100,
            depth: 0,
            components: vec![Component {
                name: "C".into(),
                format: "XYC".into(),
                points: names,
                limbs: vec![],
                colors: vec![],
            }],
        };
        assert_eq!(header.to_bytes().unwrap().len(), header_len);
        let body = PoseBody {
            fps: 30.0,
            data: ndarray::Array4::from_shape_fn((2, 1, points, 2), |(t, _, p, d)| {
                (t + p * 2 + d) as f32
            }),
            confidence: ndarray::Array3::from_elem((2, 1, points), 0.5),
        };
        let bytes = Pose::new(header, body).unwrap().to_bytes().unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let pose = signscope_pose::read_pose(file.path()).unwrap();
        assert!(
            pose.to_bytes().unwrap() == bytes,
            "header of {header_len} bytes"
        );
    }
}

fn exercise_npy(bytes: &[u8]) {
    if let Ok(array) = NpyArray::from_bytes(bytes) {
        let _ = coco_wholebody_pose(&array, None, &ImportOptions::default());
        let again = NpyArray::from_bytes(&array.to_bytes()).unwrap();
        assert_eq!(again.shape, array.shape);
        // f64 inputs are narrowed once, so re-encoding as f32 keeps every bit (NaN included).
        let bits = |a: &NpyArray| a.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&again), bits(&array));
    }
}

fn exercise_npz(bytes: &[u8]) {
    let _ = pose_from_npz_bytes(bytes, &ImportOptions::default());
}

fn exercise_mmpose(bytes: &[u8]) {
    let _ = mmpose_from_bytes(bytes, &ImportOptions::default());
}

fn exercise_openpose(bytes: &[u8]) {
    let _ = openpose_people(bytes);
}

#[derive(Debug, Clone)]
enum Mutation {
    Cut(Index),
    Xor(Index, u8),
    PutU16(Index, u16),
    PutU32(Index, u32),
    PutNaN(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let absurd16 = prop_oneof![Just(0u16), Just(1), Just(0xFFFF), Just(60000), any::<u16>()];
    let absurd32 = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(4_000_000_000),
        any::<u32>()
    ];
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Cut),
        4 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Xor(i, x)),
        2 => (any::<Index>(), absurd16).prop_map(|(i, v)| Mutation::PutU16(i, v)),
        2 => (any::<Index>(), absurd32).prop_map(|(i, v)| Mutation::PutU32(i, v)),
        1 => any::<Index>().prop_map(Mutation::PutNaN),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let put = |bytes: &mut Vec<u8>, i: &Index, v: &[u8]| {
            let at = i.index(bytes.len());
            let end = (at + v.len()).min(bytes.len());
            bytes[at..end].copy_from_slice(&v[..end - at]);
        };
        match m {
            Mutation::Cut(i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Xor(i, x) => {
                let at = i.index(bytes.len());
                bytes[at] ^= x;
            }
            Mutation::PutU16(i, v) => put(&mut bytes, i, &v.to_le_bytes()),
            Mutation::PutU32(i, v) => put(&mut bytes, i, &v.to_le_bytes()),
            Mutation::PutNaN(i) => put(&mut bytes, i, &f32::NAN.to_le_bytes()),
        }
    }
    bytes
}

fn seeds_and_mutations(prefix: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(prefix);
    (0..seeds.len(), prop::collection::vec(mutation(), 1..6))
        .prop_map(move |(s, ms)| mutate(seeds[s].clone(), &ms))
}

/// Every prefix of every seed (all boundaries: header fields, names, frames, arrays).
fn every_truncation(prefix: &str, exercise: fn(&[u8])) {
    for seed in corpus(prefix) {
        for len in 0..=seed.len() {
            exercise(&seed[..len]);
        }
    }
}

#[test]
fn truncations_never_panic() {
    for prefix in ["v00", "v01", "v02", "v03", "header"] {
        every_truncation(prefix, exercise_pose);
    }
    every_truncation("coco_", exercise_npy);
    every_truncation("npy_", exercise_npy);
    every_truncation("coco_split", exercise_npz);
    every_truncation("mmpose", exercise_mmpose);
    every_truncation("openpose", exercise_openpose);
}

#[test]
fn tricky_seeds_give_clean_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let read =
        |name: &str| signscope_pose::format::read_any(dir.join(name), &ImportOptions::default());
    for (name, needle) in [
        ("v02_four_billion_frames.pose", "4000000000 frames"),
        ("v02_sixty_thousand_points.pose", "60000 points"),
        ("v03_unknown_version.pose", "unknown .pose version"),
        ("npy_huge_shape.npy", "needs"),
        ("mmpose_134_points.json", "134 keypoints"),
        ("openpose_bad_hand_keypoints.json", "60 numbers"),
    ] {
        let err = read(name).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
    }
    let v00 = read("v00_small.pose").unwrap();
    assert_eq!(v00.body.data.shape(), &[3, 1, 5, 3]);
    // The frame without people decodes to zeros, as pose-format does.
    assert!(
        v00.body
            .confidence
            .slice(ndarray::s![2, .., ..])
            .iter()
            .all(|&c| c == 0.0)
    );
    let v01 = read("v01_small.pose").unwrap();
    assert_eq!(
        v01.body.frames(),
        4,
        "v0.1 derives frames from the bytes left, not the header's 999"
    );
    let nan = read("v02_nan.pose").unwrap();
    assert!(nan.body.data.iter().any(|v| v.is_nan()));
    let strict = ReadOptions {
        non_finite: signscope_pose::format::NonFinite::Reject,
        ..ReadOptions::default()
    };
    let err =
        signscope_pose::format::read_pose_with(dir.join("v02_nan.pose"), &strict).unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
    assert_eq!(read("v02_zero_people.pose").unwrap().body.people(), 0);
    let empty = read("v02_zero_people_four_billion_frames.pose").unwrap();
    assert_eq!(
        (empty.body.frames(), empty.body.people()),
        (4_000_000_000, 0)
    );
    assert_eq!(read("v01_zero_people.pose").unwrap().body.frames(), 2);
    assert_eq!(read("coco_people_bigendian.npy").unwrap().body.people(), 2);
    assert_eq!(
        read("mmpose_frames.json").unwrap().body.data.shape(),
        &[3, 2, 133, 2]
    );
    assert_eq!(read("header_only.poseheader").unwrap().body.frames(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pose_v00_mutations(bytes in seeds_and_mutations("v00")) { exercise_pose(&bytes) }

    #[test]
    fn pose_v01_mutations(bytes in seeds_and_mutations("v01")) { exercise_pose(&bytes) }

    #[test]
    fn pose_v02_mutations(bytes in seeds_and_mutations("v02")) { exercise_pose(&bytes) }

    #[test]
    fn npy_mutations(bytes in seeds_and_mutations("coco_")) { exercise_npy(&bytes) }

    #[test]
    fn npz_mutations(bytes in seeds_and_mutations("coco_split")) { exercise_npz(&bytes) }

    #[test]
    fn mmpose_json_mutations(bytes in seeds_and_mutations("mmpose")) { exercise_mmpose(&bytes) }

    #[test]
    fn openpose_json_mutations(bytes in seeds_and_mutations("openpose")) { exercise_openpose(&bytes) }

    /// The raw-bit counters of `LeF32s` equal plain float comparisons, at every alignment
    /// and with signed zeros, NaN and infinities among the values.
    #[test]
    fn view_counters_match_float_comparisons(
        values in prop::collection::vec(prop_oneof![
            Just(0.0f32), Just(-0.0f32), Just(f32::NAN), Just(f32::INFINITY),
            Just(f32::NEG_INFINITY), Just(f32::MIN_POSITIVE / 2.0), any::<f32>(),
        ], 0..300),
        record_len in 1usize..9,
        shift in 0usize..4,
    ) {
        let records = values.len() / record_len;
        let values = &values[..records * record_len];
        let mut bytes = vec![0u8; shift];
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let view = signscope_pose::format::LeF32s::new(&bytes[shift..]);
        let mut zeros = vec![0usize; record_len];
        for (i, v) in values.iter().enumerate() {
            zeros[i % record_len] += usize::from(*v == 0.0);
        }
        prop_assert_eq!(view.zeros_per_position(record_len), zeros);
        prop_assert_eq!(view.count_non_finite(), values.iter().filter(|v| !v.is_finite()).count());
        prop_assert_eq!(view.iter().map(f32::to_bits).collect::<Vec<_>>(),
                        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise_pose(&bytes);
        exercise_npy(&bytes);
        exercise_npz(&bytes);
        exercise_mmpose(&bytes);
        exercise_openpose(&bytes);
    }
}
