//! Conversion of MediaPipe Holistic (every stored form) and OpenPose-137 to
//! COCO-WholeBody-133, the layout SCOPE's preprocessing expects (DWPose output).
//!
//! The mapping is an explicit table from each COCO-WholeBody point to a named source point.
//! Names are resolved against the source header, so one Holistic table serves the 543, 553,
//! 576, 586 and reduced 178-point forms: a point the form does not store (the reduced form
//! keeps no nose, eyes, ears, legs or nose-bridge mesh points) has no source, and a point
//! with no source gets confidence 0. World landmarks are never read, so they are dropped.
//! Only x and y are kept: COCO-WholeBody is a 2D layout (`XYC`).

use ndarray::{Array3, Array4};

use crate::skeleton::{
    COCO_BODY_POINTS, HOLISTIC_FACE, HOLISTIC_LEFT_HAND, HOLISTIC_POSE, HOLISTIC_RIGHT_HAND,
    Layout, OPENPOSE_BODY, OPENPOSE_FACE, OPENPOSE_LEFT_HAND, OPENPOSE_RIGHT_HAND, coco,
};
use crate::{Pose, PoseBody, PoseError, PoseHeader};

/// COCO-WholeBody body+feet point (index 0–22) ← MediaPipe pose-33 point name.
/// `None`: MediaPipe has no such point (small toes). The big toe takes MediaPipe's
/// FOOT_INDEX (tip of the foot), an approximation.
pub const HOLISTIC_BODY_TO_COCO: [Option<&str>; 23] = [
    Some("NOSE"),
    Some("LEFT_EYE"),
    Some("RIGHT_EYE"),
    Some("LEFT_EAR"),
    Some("RIGHT_EAR"),
    Some("LEFT_SHOULDER"),
    Some("RIGHT_SHOULDER"),
    Some("LEFT_ELBOW"),
    Some("RIGHT_ELBOW"),
    Some("LEFT_WRIST"),
    Some("RIGHT_WRIST"),
    Some("LEFT_HIP"),
    Some("RIGHT_HIP"),
    Some("LEFT_KNEE"),
    Some("RIGHT_KNEE"),
    Some("LEFT_ANKLE"),
    Some("RIGHT_ANKLE"),
    Some("LEFT_FOOT_INDEX"),
    None,
    Some("LEFT_HEEL"),
    Some("RIGHT_FOOT_INDEX"),
    None,
    Some("RIGHT_HEEL"),
];

/// iBUG face-68 point k ← MediaPipe face-mesh id (the table pose-format's converter uses).
/// Eyes 36–47 are the mesh's eye corners and lid points, so eye-width scaling on the
/// converted face measures the same anatomy DWPose does.
pub const FACE68_FROM_MESH: [u16; 68] = [
    // jaw 0–16
    127, 234, 93, 132, 58, 172, 136, 149, 152, 378, 365, 397, 288, 361, 323, 454, 356,
    // brows 17–26 (17–21 subject's right, 22–26 left)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300, //
    // nose bridge 27–30, nose base 31–35
    168, 197, 5, 4, 219, 237, 1, 457, 439, //
    // right eye 36–41, left eye 42–47
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380, //
    // outer lip 48–59, inner lip 60–67
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91, 78, 81, 13, 311, 308, 402, 14, 178,
];

/// COCO-WholeBody body+feet point ← OpenPose BODY_25 point name. OpenPose has every one.
pub const OPENPOSE_BODY_TO_COCO: [&str; 23] = [
    "Nose",
    "LEye",
    "REye",
    "LEar",
    "REar",
    "LShoulder",
    "RShoulder",
    "LElbow",
    "RElbow",
    "LWrist",
    "RWrist",
    "LHip",
    "RHip",
    "LKnee",
    "RKnee",
    "LAnkle",
    "RAnkle",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
];

/// For each of the 133 COCO-WholeBody points, the flattened index of its source point in
/// `header` (`None` = no source). Face-68 comes from the Holistic mesh (`FACE68_FROM_MESH`)
/// or from OpenPose face points 0–67 (the same iBUG order; its two pupils are dropped).
/// Hands map joint for joint (same order in all three layouts, subject's left = left).
pub fn coco_wholebody_sources(header: &PoseHeader) -> Result<Vec<Option<usize>>, PoseError> {
    let layout = Layout::detect_or_err(header)?;
    let mut sources = vec![None; 133];
    let by_position =
        |component: &str, i: usize| header.component_offset(component).map(|offset| offset + i);
    match layout {
        Layout::CocoWholeBody133 => {
            for (i, s) in sources.iter_mut().enumerate() {
                *s = Some(i);
            }
        }
        Layout::OpenPose137 => {
            for (i, name) in OPENPOSE_BODY_TO_COCO.iter().enumerate() {
                sources[i] = header.point_index(OPENPOSE_BODY, name);
            }
            for k in 0..68 {
                sources[coco::face(k)] = by_position(OPENPOSE_FACE, k);
            }
            for i in 0..21 {
                sources[coco::LEFT_HAND.start + i] = by_position(OPENPOSE_LEFT_HAND, i);
                sources[coco::RIGHT_HAND.start + i] = by_position(OPENPOSE_RIGHT_HAND, i);
            }
        }
        _ => {
            for (i, name) in HOLISTIC_BODY_TO_COCO.iter().enumerate() {
                sources[i] = name.and_then(|name| header.point_index(HOLISTIC_POSE, name));
            }
            // Mesh points are named by their mesh id, which the reduced form keeps.
            for (k, mesh_id) in FACE68_FROM_MESH.iter().enumerate() {
                sources[coco::face(k)] = header.point_index(HOLISTIC_FACE, &mesh_id.to_string());
            }
            for i in 0..21 {
                sources[coco::LEFT_HAND.start + i] = by_position(HOLISTIC_LEFT_HAND, i);
                sources[coco::RIGHT_HAND.start + i] = by_position(HOLISTIC_RIGHT_HAND, i);
            }
        }
    }
    debug_assert_eq!(COCO_BODY_POINTS.len(), 23);
    Ok(sources)
}

/// Gather `sources` (one optional source index per output point) into a new 2D body.
/// Points with no source are zero with confidence 0.
pub fn gather_points(body: &PoseBody, sources: &[Option<usize>]) -> PoseBody {
    let (frames, people) = (body.frames(), body.people());
    let dims = body.dims().min(2);
    let mut data = Array4::<f32>::zeros((frames, people, sources.len(), 2));
    let mut confidence = Array3::<f32>::zeros((frames, people, sources.len()));
    for t in 0..frames {
        for p in 0..people {
            for (target, source) in sources.iter().enumerate() {
                if let Some(s) = *source {
                    for d in 0..dims {
                        data[[t, p, target, d]] = body.data[[t, p, s, d]];
                    }
                    confidence[[t, p, target]] = body.confidence[[t, p, s]];
                }
            }
        }
    }
    PoseBody {
        fps: body.fps,
        data,
        confidence,
    }
}

/// Convert a Holistic (any form), OpenPose-137 or COCO-WholeBody pose to
/// COCO-WholeBody-133 (2D, pose-format's component names, see [`Layout::header`]).
pub fn to_coco_wholebody(pose: &Pose) -> Result<Pose, PoseError> {
    let sources = coco_wholebody_sources(&pose.header)?;
    let header =
        Layout::CocoWholeBody133.header(pose.header.width, pose.header.height, pose.header.depth);
    Pose::new(header, gather_points(&pose.body, &sources))
}

/// Convert to `target`. Only COCO-WholeBody-133 is a supported target.
pub fn convert(pose: &Pose, target: Layout) -> Result<Pose, PoseError> {
    match target {
        Layout::CocoWholeBody133 => to_coco_wholebody(pose),
        other => Err(PoseError::Unsupported(format!(
            "conversion to {other} (only coco-wb is supported)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::coco;

    fn synthetic(layout: Layout, frames: usize) -> Pose {
        let header = layout.header(100, 100, 0);
        let (n, d) = (header.total_points(), header.dims());
        let data = Array4::from_shape_fn((frames, 1, n, d), |(t, _, i, k)| {
            (t * 10_000 + i * 10 + k) as f32
        });
        let confidence = Array3::from_shape_fn((frames, 1, n), |(_, _, i)| (i % 7) as f32 / 7.0);
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
    fn holistic_forms_map_wrists_hands_and_face() {
        for layout in [
            Layout::Holistic543,
            Layout::Holistic553,
            Layout::Holistic576,
            Layout::Holistic586,
        ] {
            let pose = synthetic(layout, 2);
            let coco_pose = to_coco_wholebody(&pose).unwrap();
            assert_eq!(
                Layout::detect(&coco_pose.header),
                Some(Layout::CocoWholeBody133)
            );
            let h = &pose.header;
            let lw = h.point_index(HOLISTIC_POSE, "LEFT_WRIST").unwrap();
            let rh0 = h.component_offset(HOLISTIC_RIGHT_HAND).unwrap();
            let mesh33 = h.point_index(HOLISTIC_FACE, "33").unwrap();
            for t in 0..2 {
                let b = &coco_pose.body;
                assert_eq!(
                    b.data[[t, 0, coco::LEFT_WRIST, 0]],
                    pose.body.data[[t, 0, lw, 0]]
                );
                assert_eq!(
                    b.confidence[[t, 0, coco::LEFT_WRIST]],
                    pose.body.confidence[[t, 0, lw]]
                );
                assert_eq!(
                    b.data[[t, 0, coco::RIGHT_HAND.start + 5, 1]],
                    pose.body.data[[t, 0, rh0 + 5, 1]]
                );
                assert_eq!(
                    b.data[[t, 0, coco::face(36), 0]],
                    pose.body.data[[t, 0, mesh33, 0]]
                );
                // Small toes have no MediaPipe source.
                assert_eq!(b.confidence[[t, 0, 18]], 0.0);
                assert_eq!(b.confidence[[t, 0, 21]], 0.0);
            }
        }
    }

    #[test]
    fn reduced_holistic_has_no_nose_or_face_nose() {
        let pose = synthetic(Layout::HolisticReduced178, 1);
        let sources = coco_wholebody_sources(&pose.header).unwrap();
        assert_eq!(sources[coco::NOSE], None);
        assert!(sources[coco::LEFT_SHOULDER].is_some());
        for k in 27..36 {
            assert_eq!(sources[coco::face(k)], None, "face-{k}");
        }
        for k in (0..27).chain(36..68) {
            assert!(sources[coco::face(k)].is_some(), "face-{k}");
        }
        assert!(sources[coco::LEFT_HAND.start..].iter().all(Option::is_some));
    }

    #[test]
    fn openpose_maps_everything_and_drops_pupils() {
        let pose = synthetic(Layout::OpenPose137, 1);
        let sources = coco_wholebody_sources(&pose.header).unwrap();
        assert!(sources.iter().all(Option::is_some));
        assert_eq!(sources[coco::LEFT_WRIST], Some(7));
        assert_eq!(sources[coco::face(67)], Some(25 + 67));
    }

    #[test]
    fn unsupported_target_is_an_error() {
        let pose = synthetic(Layout::OpenPose137, 1);
        assert!(convert(&pose, Layout::Holistic543).is_err());
    }
}
