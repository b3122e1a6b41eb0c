#!/usr/bin/env bash
# Training step time: burn (this crate) vs the same architecture in PyTorch, one run.
# usage: crates/slr/benches/compare_train_step.sh [REPS] [cpu|cuda]
# cuda: burn's CUDA backend (a BENCH_BIN built with --features cuda) vs PyTorch on the GPU.
# needs: a Python with torch (PYTHON=/work/venvs/slr/bin/python by default; pip install torch).
# BENCH_BIN=path runs an already built bench binary instead of `cargo bench` (e.g. the test
# build's target/debug/deps/recognize-*, which optimizes signscope-slr and every dependency).
set -euo pipefail
cd "$(dirname "$0")/../../.."
reps="${1:-7}"
device="${2:-cpu}"
export SIGNSCOPE_DEVICE="$device"
python="${PYTHON:-/work/venvs/slr/bin/python}"
if [ -n "${BENCH_BIN:-}" ]; then
  rust_out=$(cd crates/slr && "$BENCH_BIN" "$reps")
else
  features=(); [ "$device" = cuda ] && features=(--features cuda)
  rust_out=$(cargo bench -q -p signscope-slr "${features[@]}" --bench recognize -- "$reps")
fi
py_out=$("$python" crates/slr/benches/train_step.py "$reps" "$device")
echo "$rust_out"
echo "$py_out"
ms() { grep "train step $1" | sed 's/.*median \([0-9.]*\) ms.*/\1/'; }
for stage in Alignment Gloss; do
  r=$(echo "$rust_out" | ms "$stage"); p=$(echo "$py_out" | ms "$stage")
  awk -v r="$r" -v p="$p" -v s="$stage" 'BEGIN { printf "stage %s: burn %.1f ms, pytorch %.1f ms, burn/pytorch %.2fx\n", s, r, p, r / p }'
done
