#!/usr/bin/env bash
# SCOPE Table 4-style ablations on the semi-synthetic dialogue corpus (generated motion).
# Every run uses crates/slr/configs/dialogue.toml with one switch changed; each writes
# runs/slr-<name>/dev_report.json, and the eval lines go to runs/slr-ablations.txt.
# The stage-2 ablations (no context, no MWER) start from the full run's stage 1
# (--stage1-from), so they differ from it only in what they ablate.
# usage (repository root): crates/slr/scripts/dialogue_experiments.sh [VARIANT …] [-- EXTRA --set …]
#   VARIANT: full, no-context, no-mwer, no-embedding-encoder, no-iris (default: all five)
#   SEED=N (environment) trains with gloss.seed = alignment.seed = N into runs/slr-<name>-seedN
#   and appends to runs/slr-ablations-seedN.txt.
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
# shellcheck source=crates/slr/scripts/experiments-lib.sh
source crates/slr/scripts/experiments-lib.sh
select_variants full no-context no-mwer no-embedding-encoder no-iris -- "$@"
declare -A stage1_from=([no-context]="runs/slr-full$suffix" [no-mwer]="runs/slr-full$suffix")
log="runs/slr-ablations$suffix.txt"
for name in "${names[@]}"; do
  run="runs/slr-$name$suffix"
  if [ ! -f "$run/model.bpk" ]; then
    resume=()
    if [ -f "$run/config.toml" ]; then resume=(--resume)
    elif [ -n "${stage1_from[$name]:-}" ]; then resume=(--stage1-from "${stage1_from[$name]}"); fi
    # shellcheck disable=SC2086
    train_variant "$run" ${variants[$name]} "${resume[@]}"
  fi
  for split in dev test; do
    echo "== $name$suffix $split" | tee -a "$log"
    "$bin" eval slr --model "$run" --manifest runs/synth-dialogue/manifest.jsonl --split "$split" --context both | tee -a "$log"
  done
done
