#!/usr/bin/env bash
# SCOPE Table 4-style ablations on the semi-synthetic dialogue corpus (generated motion).
# Every run uses crates/slr/configs/dialogue.toml with one switch changed; each writes
# runs/slr-<name>/dev_report.json, and the eval lines go to runs/slr-ablations.txt.
# The stage-2 ablations (no context, no MWER) start from the full run's stage 1
# (--stage1-from), so they differ from it only in what they ablate.
# usage (repository root): crates/slr/scripts/dialogue_experiments.sh [EXTRA --set …]
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin="${SIGNSCOPE:-target/release/signscope}"
[ -d runs/synth-dialogue ] || "$bin" synth --glosses dialogue --splits train,dev,test --out runs/synth-dialogue
config=crates/slr/configs/dialogue.toml
declare -A variants=(
  [full]=""
  [no-context]="--set data.use_context=false"
  [no-embedding-encoder]="--set model.alignment_encoder=false"
  [no-mwer]="--set loss.mwer_weight=0.0"
  [no-iris]="--set features.eye_scale=none"
)
declare -A stage1_from=([no-context]=runs/slr-full [no-mwer]=runs/slr-full)
for name in full no-context no-mwer no-embedding-encoder no-iris; do
  run="runs/slr-$name"
  if [ ! -f "$run/model.bpk" ]; then
    resume=()
    if [ -f "$run/config.toml" ]; then resume=(--resume)
    elif [ -n "${stage1_from[$name]:-}" ]; then resume=(--stage1-from "${stage1_from[$name]}"); fi
    # shellcheck disable=SC2086
    /usr/bin/time -v "$bin" train slr "$config" --set "run_dir=\"$run\"" ${variants[$name]} "${resume[@]}" "$@" 2> >(tee "$run.train.log" >&2)
  fi
  for split in dev test; do
    echo "== $name $split" | tee -a runs/slr-ablations.txt
    "$bin" eval slr --model "$run" --manifest runs/synth-dialogue/manifest.jsonl --split "$split" --context both | tee -a runs/slr-ablations.txt
  done
done
