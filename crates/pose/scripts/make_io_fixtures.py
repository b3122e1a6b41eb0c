"""Fixtures for the pose-io tests, made with pose-format (the reference reader) and numpy.

Run from the repository root:
    /work/venvs/pose-io/bin/python crates/pose/scripts/make_io_fixtures.py
(venv: python3 -m venv /work/venvs/pose-io && /work/venvs/pose-io/bin/pip install pose-format==0.15.0 numpy==2.4.6)

Writes crates/pose/tests/fixtures/:
  pose_format_expected.json  per real .pose file: what pose_format.Pose.read decodes
                             (version, fps, shape, sums, first-frame values)
  coco_wb_f32.npy            [4, 133, 3] float32 (x, y, score)
  coco_wb_f64_fortran.npy    the same values as float64 in Fortran order
  coco_wb_split.npz          keypoints [4, 133, 2] + keypoint_scores [4, 133], deflated
  mmpose.json                MMPose demo output ({"meta_info", "instance_info"}) of the same values
  openpose/                  OpenPose *_keypoints.json frames 0, 1, 3 (2 missing, two people in 1)
  openpose_expected.json     what pose_format's load_openpose_directory makes of openpose/
"""
import glob
import json
import os

import numpy as np
from pose_format import Pose
from pose_format.utils.openpose import load_openpose_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")
SHARED = os.path.join(ROOT, "..", "..", "..", "shared", "data", "poses")
LEXICON = os.path.join(ROOT, "..", "..", ".assets", "spoken-to-signed", "spoken_to_signed", "assets",
                       "fingerspelling_lexicon")


def floats(values):
    """JSON has no NaN: non-finite values become null (the Rust test reads null as NaN)."""
    return [float(v) if np.isfinite(v) else None for v in values]


def summary(pose):
    data = np.asarray(pose.body.data.data, dtype=np.float64)
    conf = np.asarray(pose.body.confidence, dtype=np.float64)
    finite = np.isfinite(data)
    return {
        "version": round(float(pose.header.version), 3),
        "fps": float(pose.body.fps),
        "shape": list(data.shape),
        "data_sum": float(data[finite].sum()),
        "data_abs_sum": float(np.abs(data[finite]).sum()),
        "non_finite": int((~finite).sum() + (~np.isfinite(conf)).sum()),
        "confidence_sum": float(conf.sum()),
        "first_frame_data": floats(data[0, 0, :8].reshape(-1)),
        "first_frame_confidence": floats(conf[0, 0, :8]),
        "last_frame_data": floats(data[-1, 0, -4:].reshape(-1)),
    }


def real_files():
    expected = {}
    for name in ["example.pose", "mediapipe.pose", "openpose.pose", "mediapipe_hand_normalized.pose"]:
        with open(os.path.join(SHARED, name), "rb") as f:
            expected["shared/" + name] = summary(Pose.read(f.read()))
    for path in sorted(glob.glob(os.path.join(LEXICON, "*", "*.pose")))[::120]:
        with open(path, "rb") as f:
            expected["fingerspelling/" + os.path.relpath(path, LEXICON)] = summary(Pose.read(f.read()))
    with open(os.path.join(OUT, "pose_format_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def coco_arrays():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 500, size=(4, 133, 2)).astype(np.float32)
    score = rng.uniform(0, 1, size=(4, 133)).astype(np.float32)
    score[1, 91:112] = 0  # left hand lost in frame 1
    full = np.concatenate([xy, score[..., None]], axis=-1)
    np.save(os.path.join(OUT, "coco_wb_f32.npy"), full)
    np.save(os.path.join(OUT, "coco_wb_f64_fortran.npy"), np.asfortranarray(full.astype(np.float64)))
    np.savez_compressed(os.path.join(OUT, "coco_wb_split.npz"), keypoints=xy, keypoint_scores=score)
    instance_info = [{
        "frame_id": t + 1,
        "instances": [{
            "keypoints": xy[t].tolist(),
            "keypoint_scores": score[t].tolist(),
            "bbox": [[0.0, 0.0, 500.0, 500.0]],
            "bbox_score": 0.9,
        }],
    } for t in range(4)]
    with open(os.path.join(OUT, "mmpose.json"), "w") as f:
        json.dump({"meta_info": {"dataset_name": "coco_wholebody"}, "instance_info": instance_info}, f)


def openpose_dir():
    rng = np.random.default_rng(11)
    d = os.path.join(OUT, "openpose")
    os.makedirs(d, exist_ok=True)
    sizes = {"pose_keypoints_2d": 25, "face_keypoints_2d": 70, "hand_left_keypoints_2d": 21,
             "hand_right_keypoints_2d": 21}

    def person():
        p = {"person_id": [-1]}
        for k, n in sizes.items():
            v = np.round(rng.uniform(0, 400, size=(n, 3)), 3)
            v[:, 2] = np.round(rng.uniform(0, 1, size=n), 3)
            v[::5, 2] = 0
            p[k] = v.reshape(-1).tolist()
        return p

    for frame, people in [(0, 1), (1, 2), (3, 1)]:
        with open(os.path.join(d, f"clip_{frame:012d}_keypoints.json"), "w") as f:
            json.dump({"version": 1.3, "people": [person() for _ in range(people)]}, f)
    pose = load_openpose_directory(d, fps=24)
    data = np.asarray(pose.body.data.data, dtype=np.float64)
    with open(os.path.join(OUT, "openpose_expected.json"), "w") as f:
        json.dump({"shape": list(data.shape), "fps": float(pose.body.fps),
                   "data": data.reshape(-1).tolist(),
                   "confidence": np.asarray(pose.body.confidence, dtype=np.float64).reshape(-1).tolist()}, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    real_files()
    coco_arrays()
    openpose_dir()
