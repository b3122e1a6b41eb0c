//! Readers share one parsed header between inputs whose header bytes are identical
//! (a lexicon's clips), and never between inputs whose headers differ.
//!
//! The remembered headers are process-wide and hold a few entries, so this binary
//! keeps its distinct headers few: other tests running beside it cannot evict them.

use std::sync::Arc;

use ndarray::{Array3, Array4};
use signscope_pose::{Component, Pose, PoseBody, PoseHeader, read_pose};

/// A pose whose header no other test uses (`tag` is in every point name).
fn tagged_pose(tag: &str, frames: usize) -> Pose {
    let points: Vec<String> = (0..40).map(|i| format!("{tag}_{i}")).collect();
    let header = PoseHeader {
        version: 0.2,
        width: 640,
        height: 480,
        depth: 0,
        components: vec![Component {
            name: format!("{tag}_COMPONENT"),
            format: "XYZC".into(),
            limbs: (0..39).map(|i| (i, i + 1)).collect(),
            colors: (0..39).map(|i| [i, 2 * i, 255]).collect(),
            points,
        }],
    };
    let data = Array4::from_shape_fn((frames, 2, 40, 3), |(t, p, i, d)| {
        (t * 1000 + p * 100 + i * 3 + d) as f32 * 0.25
    });
    let confidence = Array3::from_shape_fn((frames, 2, 40), |(t, _, i)| ((t + i) % 3) as f32 / 2.0);
    Pose::new(
        header,
        PoseBody {
            fps: 25.0,
            data,
            confidence,
        },
    )
    .unwrap()
}

#[test]
fn identical_headers_are_parsed_once_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let (short, long) = (tagged_pose("shared", 3), tagged_pose("shared", 11));
    let (a, b) = (dir.path().join("a.pose"), dir.path().join("b.pose"));
    signscope_pose::write_pose(&a, &short).unwrap();
    signscope_pose::write_pose(&b, &long).unwrap();

    let from_a = read_pose(&a).unwrap();
    let from_b = read_pose(&b).unwrap();
    let from_memory = Pose::from_bytes(&std::fs::read(&b).unwrap()).unwrap();
    assert!(Arc::ptr_eq(&from_a.header, &from_b.header));
    assert!(Arc::ptr_eq(&from_a.header, &from_memory.header));
    // Sharing changes nothing about what is read.
    assert_eq!(from_a, short);
    assert_eq!(from_b, long);
    assert_eq!(from_memory, long);
    assert_eq!(
        *from_b.header,
        PoseHeader::from_bytes(&std::fs::read(&b).unwrap()).unwrap()
    );

    // Changing a shared header copies it first; the other poses keep theirs.
    let mut changed = from_a.clone();
    Arc::make_mut(&mut changed.header).width = 1;
    assert_eq!(from_b.header.width, 640);
    assert_eq!(read_pose(&a).unwrap().header.width, 640);
}

#[test]
fn a_header_differing_in_one_byte_is_not_shared() {
    let dir = tempfile::tempdir().unwrap();
    let pose = tagged_pose("onebyte", 4);
    let bytes = pose.to_bytes().unwrap();
    let header_len = pose.header.to_bytes().unwrap().len();
    let original = dir.path().join("original.pose");
    std::fs::write(&original, &bytes).unwrap();
    let remembered = read_pose(&original).unwrap();

    // Every byte of the header that can change without breaking the file: the
    // dimensions, the name strings, the limbs and the colours.
    let name_at = |name: &str| {
        header_len
            - bytes[..header_len]
                .windows(name.len())
                .rev()
                .position(|w| w == name.as_bytes())
                .unwrap()
            - name.len()
    };
    for at in [
        4,                         // width
        name_at("onebyte_39") + 9, // the last point name's last digit
        header_len - 1,            // the last colour
        header_len - 39 * 6 - 2,   // the last limb
    ] {
        let mut changed = bytes.clone();
        changed[at] ^= 0x01;
        let path = dir.path().join(format!("changed_{at}.pose"));
        std::fs::write(&path, &changed).unwrap();
        let expected = PoseHeader::from_bytes(&changed).unwrap();
        assert_ne!(expected, *remembered.header, "byte {at} changes the header");
        for read in [
            read_pose(&path).unwrap(),
            Pose::from_bytes(&changed).unwrap(),
        ] {
            assert_eq!(*read.header, expected, "byte {at}");
            assert!(!Arc::ptr_eq(&read.header, &remembered.header));
            assert_eq!(read.body, pose.body);
        }
    }
    // The original is still read as before.
    assert_eq!(read_pose(&original).unwrap(), pose);
}
