#!/usr/bin/env bash
# .pose read throughput: signscope (Rust, release) vs pose-format's Python reader, same files, one run.
# usage: crates/pose/benches/compare_pose_read.sh [REPS]
# needs: scripts/fetch-assets.sh (fingerspelling files), a Python with pose-format
#        (PYTHON=/work/venvs/pose-io/bin/python by default; pip install pose-format numpy).
set -euo pipefail
cd "$(dirname "$0")/../../.."
reps="${1:-7}"
python="${PYTHON:-/work/venvs/pose-io/bin/python}"
rust_out=$(cargo bench -q -p signscope-pose --bench read_throughput -- "$reps")
py_out=$("$python" crates/pose/benches/read_throughput.py "$reps")
echo "$rust_out"
echo "$py_out"
uptime
mbs() { grep "$1" | sed 's/.*median_mb_s=//'; }
rf=$(echo "$rust_out" | mbs "read_pose(path)"); rm=$(echo "$rust_out" | mbs "Pose::from_bytes")
rb=$(echo "$rust_out" | mbs "std::fs::read only")
vf=$(echo "$rust_out" | mbs "PoseView::read_into+missing"); vm=$(echo "$rust_out" | mbs "PoseView::from_bytes+missing")
pf=$(echo "$py_out" | mbs "open(f)"); pm=$(echo "$py_out" | mbs "Pose.read(bytes)")
awk -v rf="$rf" -v pf="$pf" -v rm="$rm" -v pm="$pm" -v rb="$rb" -v vf="$vf" -v vm="$vm" 'BEGIN {
  printf "ratio from files:  %.1fx (rust %.1f MB/s / python %.1f MB/s)\n", rf / pf, rf, pf
  printf "ratio from memory: %.1fx (rust %.1f MB/s / python %.1f MB/s)\n", rm / pm, rm, pm
  printf "from-file ceiling: %.1fx (std::fs::read alone %.1f MB/s / python %.1f MB/s)\n", rb / pf, rb, pf
  printf "zero-copy view from files:  %.1fx (rust %.1f MB/s / python %.1f MB/s)\n", vf / pf, vf, pf
  printf "zero-copy view from memory: %.1fx (rust %.1f MB/s / python %.1f MB/s)\n", vm / pm, vm, pm }'
