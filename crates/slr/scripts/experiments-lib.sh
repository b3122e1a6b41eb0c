# Shared by dialogue_experiments.sh and phoenix_experiments.sh: sourced, not run.

# select_variants DEFAULT… -- ARG…: `names` = the ARGs before a `--` (else the DEFAULTs), each
# checked against the caller's `variants` table; `extra` = the ARGs after `--`. SEED=N in the
# environment gives `seed_sets` (gloss.seed = alignment.seed = N) and `suffix` (-seedN).
select_variants() {
  local defaults=()
  while [ "$1" != "--" ]; do defaults+=("$1"); shift; done
  shift
  names=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do names+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  extra=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${defaults[@]}")
  local name
  for name in "${names[@]}"; do
    [ -n "${variants[$name]+set}" ] || { echo "unknown variant $name (expected ${!variants[*]})" >&2; exit 2; }
  done
  seed_sets=() suffix=""
  if [ -n "${SEED:-}" ]; then
    seed_sets=(--set "gloss.seed=$SEED" --set "alignment.seed=$SEED") suffix="-seed$SEED"
  fi
}

# train_variant RUN ARG…: `signscope train slr $config` into RUN with the ARGs, the seed and the
# extra overrides, timed by /usr/bin/time -v; stderr also goes to RUN.train.log.
train_variant() {
  local run=$1
  shift
  /usr/bin/time -v "$bin" train slr "$config" --set "run_dir=\"$run\"" "$@" "${seed_sets[@]}" \
    "${extra[@]}" 2> >(tee "$run.train.log" >&2)
}
