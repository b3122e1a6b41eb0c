//! Which points the production pipeline needs, found by name in a header, and the common
//! layout every sign is projected onto before joining.
//!
//! Lexicons mix layouts: the dummy SGG lexicon stores the 178-point reduced Holistic, the
//! fingerspelling lexicon the 586-point refined Holistic with world landmarks. Holistic clips
//! are all projected onto the reduced 178-point layout (as spoken-to-signed does) by component
//! and point name; other layouts are joined only with clips of the same layout.

use std::ops::Range;

use signscope_pose::convert::{HOLISTIC_BODY_TO_COCO, OPENPOSE_BODY_TO_COCO};
use signscope_pose::skeleton::{
    COCO_BODY, COCO_BODY_POINTS, COCO_FACE, HOLISTIC_FACE, HOLISTIC_LEFT_HAND, HOLISTIC_POSE,
    HOLISTIC_RIGHT_HAND, HOLISTIC_WORLD, Layout, OPENPOSE_BODY, OPENPOSE_FACE, coco,
};
use signscope_pose::{PoseError, PoseHeader};

/// Canvas side of produced poses, in pixels (pose-format's `normalize_pose_size` default).
pub const CANVAS_SIZE: u16 = 512;

/// A source layout's name for a COCO-WholeBody point index, if it has one.
type NameOfCocoPoint = dyn Fn(usize) -> Option<&'static str>;

/// Flattened indices of the points the pipeline reasons about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPoints {
    /// `[left, right]`
    pub shoulders: [usize; 2],
    pub elbows: [usize; 2],
    pub wrists: [usize; 2],
    /// Face points: excluded from join distances and from smoothing (mouthing and facial
    /// expressions are fast and meaningful, and the face has no seam jitter to fix).
    pub face: Range<usize>,
}

impl BodyPoints {
    /// Find shoulders, elbows and wrists in a Holistic-style `POSE_LANDMARKS` component
    /// (or OpenPose / COCO-WholeBody names), and the face component if present.
    pub fn find(header: &PoseHeader) -> Result<BodyPoints, PoseError> {
        // Left/right shoulder, elbow and wrist are COCO-WholeBody points 5..=10, in that
        // order; pose's conversion tables name them in each source layout.
        let candidates: [(&str, &NameOfCocoPoint); 3] = [
            (HOLISTIC_POSE, &|i| HOLISTIC_BODY_TO_COCO[i]),
            (OPENPOSE_BODY, &|i| Some(OPENPOSE_BODY_TO_COCO[i])),
            (COCO_BODY, &|i| Some(COCO_BODY_POINTS[i])),
        ];
        for (component, name_of) in candidates {
            let found: Option<Vec<usize>> = (coco::LEFT_SHOULDER..=coco::RIGHT_WRIST)
                .map(|i| header.point_index(component, name_of(i)?))
                .collect();
            if let Some(i) = found {
                let face = [HOLISTIC_FACE, OPENPOSE_FACE, COCO_FACE]
                    .iter()
                    .find_map(|name| {
                        let start = header.component_offset(name)?;
                        let c = header.components.iter().find(|c| c.name == *name)?;
                        Some(start..start + c.points.len())
                    })
                    .unwrap_or(0..0);
                return Ok(BodyPoints {
                    shoulders: [i[0], i[1]],
                    elbows: [i[2], i[3]],
                    wrists: [i[4], i[5]],
                    face,
                });
            }
        }
        let found: Vec<String> = header
            .components
            .iter()
            .map(|c| format!("{}[{}]", c.name, c.points.len()))
            .collect();
        Err(PoseError::Unsupported(format!(
            "cannot find shoulders, elbows and wrists in components {}",
            found.join(", ")
        )))
    }

    /// True for points that are smoothed and used for joining (everything but the face).
    pub fn is_body_or_hand(&self, point: usize) -> bool {
        !self.face.contains(&point)
    }
}

/// The layout that clips with `header` are projected onto: the reduced Holistic for every
/// Holistic form, else the header itself (without world landmarks, which are not image
/// coordinates). Its canvas is [`CANVAS_SIZE`] square.
pub fn production_header(header: &PoseHeader) -> PoseHeader {
    match Layout::detect(header) {
        Some(layout) if layout.is_holistic() => {
            Layout::HolisticReduced178.header(CANVAS_SIZE, CANVAS_SIZE, 0)
        }
        _ => PoseHeader {
            version: 0.2,
            width: CANVAS_SIZE,
            height: CANVAS_SIZE,
            depth: 0,
            components: header
                .components
                .iter()
                .filter(|c| c.name != HOLISTIC_WORLD)
                .cloned()
                .collect(),
        },
    }
}

/// For every point of `target`, its flattened index in `source` (matched by component and
/// point name), or `None` when `source` lacks it. Fails when `source` shares none of the
/// target's body points, i.e. the layouts cannot be joined.
pub fn point_sources(
    source: &PoseHeader,
    target: &PoseHeader,
) -> Result<Vec<Option<usize>>, PoseError> {
    let mut sources = Vec::with_capacity(target.total_points());
    for component in &target.components {
        for point in &component.points {
            sources.push(source.point_index(&component.name, point));
        }
    }
    let body = BodyPoints::find(target)?;
    let required = body.shoulders.iter().chain(&body.wrists);
    if required.into_iter().any(|&i| sources[i].is_none()) {
        let names: Vec<&str> = source.components.iter().map(|c| c.name.as_str()).collect();
        return Err(PoseError::Unsupported(format!(
            "layout with components [{}] cannot be joined with [{}]",
            names.join(", "),
            target
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(sources)
}

/// Index ranges of the two hands, when the layout names them like Holistic.
pub fn hand_ranges(header: &PoseHeader) -> Vec<Range<usize>> {
    [HOLISTIC_LEFT_HAND, HOLISTIC_RIGHT_HAND]
        .iter()
        .filter_map(|name| {
            let start = header.component_offset(name)?;
            let c = header.components.iter().find(|c| c.name == *name)?;
            Some(start..start + c.points.len())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduced_holistic_points_are_found() {
        let header = Layout::HolisticReduced178.header(512, 512, 0);
        let body = BodyPoints::find(&header).unwrap();
        assert_eq!(body.shoulders, [0, 1]);
        assert_eq!(body.wrists, [4, 5]);
        assert_eq!(body.face, 8..136);
        assert_eq!(hand_ranges(&header), vec![136..157, 157..178]);
    }

    #[test]
    fn every_holistic_form_projects_onto_reduced() {
        for layout in [
            Layout::Holistic543,
            Layout::Holistic553,
            Layout::Holistic576,
            Layout::Holistic586,
        ] {
            let header = layout.header(100, 100, 0);
            let target = production_header(&header);
            assert_eq!(target.total_points(), 178);
            let sources = point_sources(&header, &target).unwrap();
            assert!(sources.iter().all(Option::is_some), "{layout:?}");
        }
    }

    #[test]
    fn unrelated_layouts_do_not_join() {
        let holistic = Layout::HolisticReduced178.header(512, 512, 0);
        let openpose = Layout::OpenPose137.header(512, 512, 0);
        let err = point_sources(&openpose, &holistic).unwrap_err();
        assert!(err.to_string().contains("cannot be joined"), "{err}");
    }
}
