#!/usr/bin/env bash
# The recognizer on burn's CUDA backend against the CPU and PyTorch, all on one machine:
#  1. one training step of the small preset (batch 32 x 128 frames, random data): burn CUDA,
#     PyTorch CUDA, burn CPU, PyTorch CPU (crates/slr/benches/recognize.rs, train_step.py);
#  2. `signscope train slr` end to end on the semi-synthetic dialogue corpus (generated motion,
#     hashed bag-of-words context embeddings so that no model files are needed), the same
#     fixed number of steps on CUDA and on the CPU, with peak memory from /usr/bin/time.
# usage: scripts/gpu-check.sh BIN_DIR OUT_DIR [STEPS]
#   BIN_DIR holds `signscope` and `recognize` (the bench), both built with `--features cuda`:
#     CUDARC_CUDA_VERSION=13000 cargo build --release -p signscope --features cuda
#     CUDARC_CUDA_VERSION=13000 cargo bench --no-run -p signscope-slr --features cuda --bench recognize
#   Needs a python3 with torch for the PyTorch rows (skipped without one).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
out=$(realpath -m "$2")
steps="${3:-150}"
mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
timed() { # name, timeout, command...: runs with peak-memory accounting, keeps the log
  local name=$1 limit=$2
  shift 2
  log "$name"
  local start=$SECONDS
  if [ -x /usr/bin/time ]; then
    timeout "$limit" /usr/bin/time -v "$@" >"$out/$name.log" 2>&1
  else # the same two lines from Python's rusage where GNU time is not installed
    timeout "$limit" python3 -c 'import resource, subprocess, sys, time
start = time.time(); rc = subprocess.call(sys.argv[1:])
print(f"\tMaximum resident set size (kbytes): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
print(f"\tElapsed (wall clock) time (seconds): {time.time() - start:.1f}"); sys.exit(rc)' "$@" >"$out/$name.log" 2>&1
  fi
  local rc=$?
  grep -E "Maximum resident|Elapsed \(wall" "$out/$name.log" | tee -a "$out/summary.txt"
  echo "rc $rc, $((SECONDS - start)) s" | tee -a "$out/summary.txt"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 |
  tee -a "$out/summary.txt"
nproc | sed 's/^/cpus: /' | tee -a "$out/summary.txt"

# 1. Training step benchmark.
(cd crates/slr && SIGNSCOPE_DEVICE=cuda timeout 150 "$bin/recognize" 9) >"$out/bench-burn-cuda.txt" 2>&1
log "bench burn cuda (rc $?)"
grep -E "training device|train step|phases" "$out/bench-burn-cuda.txt" | tee -a "$out/summary.txt"
if python3 -c "import torch" 2>/dev/null; then
  timeout 120 python3 crates/slr/benches/train_step.py 9 cuda >"$out/bench-torch-cuda.txt" 2>&1
  log "bench pytorch cuda (rc $?)"
  tee -a "$out/summary.txt" <"$out/bench-torch-cuda.txt"
fi
(cd crates/slr && SIGNSCOPE_DEVICE=cpu timeout 120 "$bin/recognize" 5) >"$out/bench-burn-cpu.txt" 2>&1
log "bench burn cpu (rc $?)"
grep -E "training device|recognize|latency|train step|phases" "$out/bench-burn-cpu.txt" |
  tee -a "$out/summary.txt"
if python3 -c "import torch" 2>/dev/null; then
  timeout 120 python3 crates/slr/benches/train_step.py 5 cpu >"$out/bench-torch-cpu.txt" 2>&1
  log "bench pytorch cpu (rc $?)"
  tee -a "$out/summary.txt" <"$out/bench-torch-cpu.txt"
fi

# 2. End-to-end training, the same steps on each device.
work=$(mktemp -d)
timed synth 120 "$bin/signscope" synth --glosses dialogue --splits train,dev \
  --out "$work/synth" --dialogues 1000 --quiet
for device in cuda cpu; do
  sed -e "s|runs/slr-dialogue|$work/run-$device|" \
    -e "s|runs/synth-dialogue|$work/synth|g" \
    -e 's|^backend = "minilm"|backend = "hashed"\nsize = 384|' \
    -e "s|^cache = .*||" \
    -e "s|^epochs = .*|epochs = 0\nmax_steps = $steps|" \
    -e "s|^eval_every = .*|eval_every = $steps|" \
    -e "s|^eval_max_sentences = .*|eval_max_sentences = 200|" \
    crates/slr/configs/dialogue.toml >"$work/$device.toml"
  timed "train-$device" 240 "$bin/signscope" train slr --device "$device" "$work/$device.toml"
  grep -E "training on|seconds_per_step|s/step|dev WER|best|averaged" "$out/train-$device.log" |
    tail -8 | tee -a "$out/summary.txt"
  cp "$work/run-$device/dev_report.json" "$out/dev-report-$device.json" 2>/dev/null
done
