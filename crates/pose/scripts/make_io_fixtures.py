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
  ../fuzz_corpus/            small and tricky seed inputs for every reader (tests/fuzz.rs)
"""
import glob
import io
import json
import os
import struct
import zipfile

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


def pack_str(text):
    b = text.encode()
    return struct.pack("<H", len(b)) + b


def pose_header(version, components, width=640, height=480, depth=0):
    """components: (name, format, n_points, limbs). Packs a .pose header by hand."""
    st = pack_str
    out = struct.pack("<f", version) + struct.pack("<HHHH", width, height, depth, len(components))
    for name, fmt, n, limbs in components:
        out += st(name) + st(fmt) + struct.pack("<HHH", n, len(limbs), 1)
        out += b"".join(st(f"P{i}") for i in range(n))
        out += b"".join(struct.pack("<HH", a, b) for a, b in limbs)
        out += struct.pack("<HHH", 255, 0, 0)
    return out


def rand_f32(n, rng, nan_every=0):
    v = rng.uniform(-1, 1, size=n).astype("<f4")
    if nan_every:
        v[::nan_every] = np.nan
    return v.tobytes()


def fuzz_corpus():
    rng = np.random.default_rng(3)
    d = os.path.join(ROOT, "tests", "fuzz_corpus")
    os.makedirs(d, exist_ok=True)
    comps = [("BODY", "XYZC", 3, [(0, 1), (1, 2)]), ("HAND", "XYC", 2, [(0, 1)])]
    files = {}
    P, D = 5, 3
    # v0.2: 3 frames, 2 people
    files["v02_small.pose"] = (pose_header(0.2, comps) + struct.pack("<fIH", 25.0, 3, 2)
                               + rand_f32(3 * 2 * P * D, rng) + rand_f32(3 * 2 * P, rng))
    files["v02_nan.pose"] = (pose_header(0.2, comps) + struct.pack("<fIH", 25.0, 2, 1)
                             + rand_f32(2 * P * D, rng, 3) + rand_f32(2 * P, rng, 4))
    files["v02_four_billion_frames.pose"] = pose_header(0.2, comps) + struct.pack("<fIH", 25.0, 4_000_000_000, 1)
    files["v02_zero_people.pose"] = pose_header(0.2, comps) + struct.pack("<fIH", 25.0, 7, 0)
    # zero people: four billion empty frames take no bytes (valid; readers must not loop over them)
    files["v02_zero_people_four_billion_frames.pose"] = (pose_header(0.2, comps)
                                                         + struct.pack("<fIH", 25.0, 4_000_000_000, 0))
    # a header that claims 60000 points but holds one name
    files["v02_sixty_thousand_points.pose"] = (struct.pack("<fHHHH", 0.2, 640, 480, 0, 1)
                                               + pack_str("BODY") + pack_str("XYC")
                                               + struct.pack("<HHH", 60000, 0, 0) + pack_str("P0"))
    files["v03_unknown_version.pose"] = pose_header(0.3, comps) + struct.pack("<fIH", 25.0, 0, 1)
    # v0.1: frames derived from the bytes left (header says 999)
    files["v01_small.pose"] = (pose_header(0.1, comps) + struct.pack("<HHH", 30, 999, 1)
                               + rand_f32(4 * P * D, rng) + rand_f32(4 * P, rng))
    files["v01_zero_people.pose"] = pose_header(0.1, comps) + struct.pack("<HHH", 30, 2, 0)
    # v0.0: per frame people, per person id + interleaved x,y,[z],c; frame 1 has two people, frame 2 none
    body = struct.pack("<HH", 24, 3)
    for people in [1, 2, 0]:
        body += struct.pack("<H", people)
        for pid in range(people):
            body += struct.pack("<h", pid) + rand_f32(3 * 4, rng) + rand_f32(2 * 3, rng)
    files["v00_small.pose"] = pose_header(0.0, comps) + body
    files["header_only.poseheader"] = pose_header(0.2, comps)
    # numpy
    buf = io.BytesIO(); np.save(buf, rng.uniform(0, 9, size=(2, 133, 3)).astype(np.float32))
    files["coco_small.npy"] = buf.getvalue()
    buf = io.BytesIO(); np.save(buf, rng.uniform(0, 9, size=(1, 2, 133, 3)).astype(">f8"))
    files["coco_people_bigendian.npy"] = buf.getvalue()
    files["npy_huge_shape.npy"] = (b"\x93NUMPY\x01\x00" + struct.pack("<H", 118)
                                   + b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 133, 3), }".ljust(117) + b"\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in [("keypoints", rng.uniform(0, 9, size=(2, 133, 2)).astype(np.float32)),
                          ("scores", rng.uniform(0, 1, size=(2, 133)).astype(np.float32))]:
            b = io.BytesIO(); np.save(b, arr); z.writestr(name + ".npy", b.getvalue())
    files["coco_split.npz"] = buf.getvalue()
    # JSON
    inst = lambda k: {"keypoints": rng.uniform(0, 9, size=(k, 2)).round(2).tolist(),
                      "keypoint_scores": rng.uniform(0, 1, size=k).round(2).tolist()}
    files["mmpose_frames.json"] = json.dumps([[inst(133)], [], [inst(133), inst(133)]]).encode()
    files["mmpose_134_points.json"] = json.dumps([inst(134)]).encode()
    person = {"pose_keypoints_2d": rng.uniform(0, 9, 75).round(2).tolist(), "face_keypoints_2d": [],
              "hand_left_keypoints_2d": rng.uniform(0, 9, 63).round(2).tolist(),
              "hand_right_keypoints_2d": rng.uniform(0, 9, 60).round(2).tolist()}
    files["openpose_bad_hand_keypoints.json"] = json.dumps({"version": 1.3, "people": [person]}).encode()
    person["hand_right_keypoints_2d"] = person["hand_left_keypoints_2d"]
    files["openpose_frame_keypoints.json"] = json.dumps({"version": 1.3, "people": [person]}).encode()
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    real_files()
    coco_arrays()
    openpose_dir()
    fuzz_corpus()
