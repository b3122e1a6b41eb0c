"""pose-format's Python reader on the same files as benches/read_throughput.rs:
open + read + Pose.read per file, and Pose.read from bytes already in memory; median MB/s.

/work/venvs/pose-io/bin/python crates/pose/benches/read_throughput.py [REPS]
"""
import glob
import os
import statistics
import sys
import time

from pose_format import Pose

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.environ.get("SIGNSCOPE_ASSETS", os.path.join(HERE, "..", "..", "..", ".assets"))
SHARED = os.environ.get("SIGNSCOPE_SHARED", os.path.join(HERE, "..", "..", "..", "..", "shared"))

files = sorted(glob.glob(os.path.join(ASSETS, "spoken-to-signed/spoken_to_signed/assets/fingerspelling_lexicon/**/*.pose"),
                         recursive=True) + glob.glob(os.path.join(SHARED, "data/poses/*.pose")))
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
buffers = []
for f in files:
    with open(f, "rb") as fh:
        buffers.append(fh.read())
mb = sum(map(len, buffers)) / 1e6
print(f"files={len(files)} total_mb={mb:.3f} reps={reps}")

from_file, from_memory = [], []
for _ in range(reps):
    start = time.perf_counter()
    for f in files:
        with open(f, "rb") as fh:
            Pose.read(fh.read())
    from_file.append(mb / (time.perf_counter() - start))
    start = time.perf_counter()
    for b in buffers:
        Pose.read(b)
    from_memory.append(mb / (time.perf_counter() - start))
print(f"python Pose.read(open(f).read()) median_mb_s={statistics.median(from_file):.1f}")
print(f"python Pose.read(bytes)          median_mb_s={statistics.median(from_memory):.1f}")
