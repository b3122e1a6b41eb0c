"""Reference timing: spoken-to-signed 0.4.0's lexicon lookup + concatenation, text → .pose.

Setup (once):
    python3 -m venv /work/venvs/slp && /work/venvs/slp/bin/pip install spoken-to-signed==0.4.0
Run (the Rust bench `cargo bench -p signscope-slp --bench produce` runs this itself):
    /work/venvs/slp/bin/python crates/slp/scripts/bench_spoken_to_signed.py \
        --lexicon .assets/spoken-to-signed/spoken_to_signed/assets/fingerspelling_lexicon \
        --sentences crates/slp/data/sentences_en.txt --runs 5

Each run builds fresh lookups (so every pose file is read again, as in the Rust cold run),
glosses each sentence as its word tokens (word = gloss, no lemmatizer: the pipeline's
lexicon lookup and concatenation only), produces the pose with `gloss_to_pose` and writes
it. Prints one JSON line: per-run seconds and their median.
"""

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import tempfile
import time

from spoken_to_signed.gloss_to_pose import CSVPoseLookup, gloss_to_pose
from spoken_to_signed.gloss_to_pose.lookup.fingerspelling_lookup import FingerspellingPoseLookup
from spoken_to_signed.text_to_gloss.types import GlossItem


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lexicon", required=True)
    parser.add_argument("--sentences", required=True)
    parser.add_argument("--spoken", default="en")
    parser.add_argument("--signed", default="ase")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.strip() for line in f if line.strip()]
    glossed = [[GlossItem(word=w, gloss=w) for w in re.findall(r"\w+", s.lower())] for s in sentences]

    times = []
    frames = 0
    with tempfile.TemporaryDirectory() as out_dir:
        for run in range(args.runs):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                lookup = CSVPoseLookup(args.lexicon, backup=FingerspellingPoseLookup())
                frames = 0
                for k, glosses in enumerate(glossed):
                    pose = gloss_to_pose(glosses, lookup, args.spoken, args.signed).pose
                    frames += len(pose.body.data)
                    with open(os.path.join(out_dir, f"{k}.pose"), "wb") as f:
                        pose.write(f)
            times.append(time.perf_counter() - start)
    print(json.dumps({"runs_s": times, "median_s": statistics.median(times), "sentences": len(sentences), "frames": frames}))


if __name__ == "__main__":
    main()
