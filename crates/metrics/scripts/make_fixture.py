#!/usr/bin/env python3
"""Build crates/metrics/tests/fixtures: hypotheses derived from the real dev sets and the
numbers the reference scorers give for them, so `cargo test` can check our ports without
Python.

Exact command (from the repository root; the venvs and reference files are described below):

    /work/venvs/metrics/bin/python crates/metrics/scripts/make_fixture.py \
        --shared ../shared --refcode /work/venvs/refcode \
        --sacrebleu14 /work/venvs/sacrebleu14/bin/python \
        --out crates/metrics/tests/fixtures

Python environments:
  /work/venvs/metrics      pip install sacrebleu==2.6.0 jiwer==4.0.0 numpy
  /work/venvs/sacrebleu14  pip install sacrebleu==1.4.2
Reference code not on PyPI, copied verbatim into --refcode (not committed here):
  phoenix_cleanup.py   neccam/slt signjoey/phoenix_utils/phoenix_cleanup.py @ b9f1a7b4
  signjoey_metrics.py  neccam/slt signjoey/metrics.py @ 28318e8a: wer_list, wer_single,
                       edit_distance, get_alignment, rouge
  mscoco_rouge.py      neccam/slt signjoey/external_metrics/mscoco_rouge.py (my_lcs, calc_score)
  twostream_rouge.py   FangyunWei/SLRT TwoStreamNetwork/utils/external_metrics/Rouge.py @ 5ff2e0b4
                       (ROUGE-L part) + utils/metrics.py rouge(level) @ 7b8822e6

Hypotheses are made with Python's `random.Random(seed)`: words dropped, substituted by
other dev-set words, inserted, neighbours swapped; some lines left empty; gloss hypotheses
also get PHOENIX annotation artefacts (loc- prefixes, __EMOTION__, -PLUSPLUS, repeats,
spelled letters) so that the cleanup is exercised on both sides.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(text):
    """FNV-1a over UTF-8 bytes; the Rust test computes the same."""
    h = FNV_OFFSET
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ---------------------------------------------------------------- reading the real data


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def read_column(path, column, sep):
    lines = read_lines(path)
    header = lines[0].split(sep)
    k = header.index(column)
    return [l.split(sep)[k] for l in lines[1:]]


def read_stm(path):
    """STM text = everything after the 5th field, inner spacing kept (matches the Rust reader)."""
    ids, texts = [], []
    for l in read_lines(path):
        if l.startswith(";;") or not l.strip():
            continue
        parts = l.split(None, 5)
        ids.append(parts[0])
        text = parts[5] if len(parts) > 5 else ""
        if text.startswith("<"):
            first = text.split(None, 1)
            if first[0].endswith(">"):
                text = first[1] if len(first) > 1 else ""
        texts.append(text)
    return ids, texts


# ---------------------------------------------------------------- hypotheses


def perturb(tokens, rng, vocab, p_drop, p_sub, p_ins, p_swap):
    out = []
    for t in tokens:
        r = rng.random()
        if r < p_drop:
            continue
        if r < p_drop + p_sub:
            out.append(rng.choice(vocab))
        else:
            out.append(t)
        if rng.random() < p_ins:
            out.append(rng.choice(vocab))
    for i in range(len(out) - 1):
        if rng.random() < p_swap:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def gloss_artefacts(tokens, rng):
    out = []
    for t in tokens:
        r = rng.random()
        if r < 0.04:
            out.append("loc-" + t)
        elif r < 0.07:
            out.append(t + "-PLUSPLUS")
        elif r < 0.10:
            out += [t, t]
        elif r < 0.12:
            out += [t, "__EMOTION__"]
        elif r < 0.13:
            out += list("ABC"[: rng.randint(2, 3)]) + [t]
        else:
            out.append(t)
    return out


def word_hyps(refs, seed, p_drop, p_sub, p_ins, p_swap, empty_every, artefacts=False):
    rng = random.Random(seed)
    vocab = sorted({t for r in refs for t in r.split()})
    hyps = []
    for i, r in enumerate(refs):
        toks = perturb(r.split(), rng, vocab, p_drop, p_sub, p_ins, p_swap)
        if artefacts:
            toks = gloss_artefacts(toks, rng)
        hyps.append("" if i % empty_every == empty_every - 1 else " ".join(toks))
    return hyps


def char_hyps(refs, seed, empty_every):
    rng = random.Random(seed)
    vocab = sorted({c for r in refs for c in r})
    hyps = []
    for i, r in enumerate(refs):
        chars = perturb(list(r), rng, vocab, 0.12, 0.12, 0.04, 0.05)
        # A few lines get ASCII material: spaces and half-width punctuation and digits,
        # which the char level and the zh tokenizer treat differently.
        if i % 17 == 3:
            chars.insert(rng.randint(0, len(chars)), " ")
        if i % 23 == 5:
            chars += list(", ok?")
        if i % 29 == 7:
            chars.insert(0, "2021年")
        hyps.append("" if i % empty_every == empty_every - 1 else "".join(chars))
    return hyps


# ---------------------------------------------------------------- reference scorers


SB14_SNIPPET = r"""
import json, sys
import sacrebleu
cases = json.load(sys.stdin)
out = []
for c in cases:
    b = sacrebleu.raw_corpus_bleu(sys_stream=c["hyps"], ref_streams=[c["refs"]])
    # signjoey's vendored compute_bleu returns BLEU-1..4 cumulatively from the same
    # precisions: BP * exp(sum(my_log(p[:n])) / n).
    scores = [b.bp * sacrebleu.math.exp(sum(map(sacrebleu.my_log, b.precisions[:n])) / n)
              for n in range(1, 5)]
    out.append({"score": b.score, "bleu": scores, "precisions": list(b.precisions),
                "bp": b.bp, "correct": list(b.counts), "total": list(b.totals),
                "sys_len": b.sys_len, "ref_len": b.ref_len})
json.dump(out, sys.stdout)
"""


def sacrebleu14(python, cases):
    res = subprocess.run([python, "-c", SB14_SNIPPET], input=json.dumps(cases),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def sacrebleu2(hyps, refs, tokenize):
    from sacrebleu.metrics import BLEU
    scores = [BLEU(tokenize=tokenize, max_ngram_order=n).corpus_score(hyps, [refs]).score
              for n in range(1, 5)]
    full = BLEU(tokenize=tokenize).corpus_score(hyps, [refs])
    return {"bleu": scores, "precisions": list(full.precisions), "bp": full.bp,
            "sys_len": full.sys_len, "ref_len": full.ref_len}


def jiwer_rates(hyps, refs):
    """jiwer needs non-empty references; pairs with an empty reference are skipped (noted)."""
    import jiwer
    pairs = [(h, r) for h, r in zip(hyps, refs) if r.strip()]
    h = [p[0] for p in pairs]
    r = [p[1] for p in pairs]
    return {"wer": jiwer.wer(r, h) * 100, "cer": jiwer.cer(r, h) * 100, "pairs": len(pairs)}


def signjoey_wer(hyps, refs):
    import signjoey_metrics as sm
    sentences = []
    for r, h in zip(refs, hyps):
        res = sm.wer_single(r=r, h=h)
        sentences.append([int(res["num_sub"]), int(res["num_del"]), int(res["num_ins"]),
                          int(res["num_ref"])])
    w = sm.wer_list(references=refs, hypotheses=hyps)
    return {"wer": float(w["wer"]), "sub": sum(s[0] for s in sentences),
            "del": sum(s[1] for s in sentences), "ins": sum(s[2] for s in sentences),
            "ref_len": sum(s[3] for s in sentences), "sentences": sentences}


def mscoco(hyps, refs):
    import mscoco_rouge
    import signjoey_metrics as sm
    return {"rouge": sm.rouge(references=refs, hypotheses=hyps),
            "sentences": [mscoco_rouge.calc_score(hypotheses=[h], references=[r])
                          for h, r in zip(hyps, refs)]}


def twostream(hyps, refs, level):
    import twostream_rouge
    return twostream_rouge.rouge(references=refs, hypotheses=hyps, level=level)


def write_json(path, obj):
    """Compact JSON (keeps the fixture small)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def char_level(s):
    return " ".join(list(s))


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--refcode", required=True)
    ap.add_argument("--sacrebleu14", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sys.path.insert(0, args.refcode)
    from phoenix_cleanup import clean_phoenix_2014, clean_phoenix_2014_trans
    cleaners = {"phoenix2014": clean_phoenix_2014, "phoenix2014t": clean_phoenix_2014_trans,
                "none": lambda s: s}

    data = os.path.join(args.shared, "data")
    os.makedirs(os.path.join(args.out, "hyp"), exist_ok=True)

    p14t_csv = "phoenix-2014t/PHOENIX-2014-T.dev.corpus.csv"
    p14t_stm = "phoenix-2014t/phoenix2014-T-groundtruth-dev.stm"
    p14_stm = "phoenix-2014/phoenix2014_phoenix2014-groundtruth-dev.stm"
    csl_tsv = "csl-daily/csl-daily.dev.tsv"

    translations = read_column(os.path.join(data, p14t_csv), "translation", "|")
    _, p14t_glosses = read_stm(os.path.join(data, p14t_stm))
    _, p14_glosses = read_stm(os.path.join(data, p14_stm))
    csl_text = read_column(os.path.join(data, csl_tsv), "text", "\t")
    csl_gloss = read_column(os.path.join(data, csl_tsv), "gloss", "\t")

    hyps = {
        "p14t_text_a": word_hyps(translations, 11, 0.20, 0.15, 0.05, 0.10, 61),
        "p14t_text_b": word_hyps(translations, 12, 0.19, 0.145, 0.05, 0.10, 67),
        "p14t_gloss": word_hyps(p14t_glosses, 21, 0.12, 0.10, 0.05, 0.05, 71, artefacts=True),
        "p14_gloss": word_hyps(p14_glosses, 31, 0.12, 0.10, 0.05, 0.05, 73, artefacts=True),
        "csl_text": char_hyps(csl_text, 41, 79),
        "csl_gloss": word_hyps(csl_gloss, 51, 0.12, 0.10, 0.05, 0.05, 83),
    }
    for name, lines in hyps.items():
        with open(os.path.join(args.out, "hyp", name + ".txt"), "w", encoding="utf-8",
                  newline="\n") as f:
            f.write("".join(l + "\n" for l in lines))

    expected = {"generator": "crates/metrics/scripts/make_fixture.py", "cases": {}}
    cases = expected["cases"]
    sb14_jobs = []

    # Translations: word level, lower-case German.
    for name in ["p14t_text_a", "p14t_text_b"]:
        h, r = hyps[name], translations
        cases[name] = {
            "ref": {"file": p14t_csv, "column": "translation", "sep": "|"},
            "hyp": f"hyp/{name}.txt", "level": "word",
            "sacrebleu2_13a": sacrebleu2(h, r, "13a"),
            "rouge_mscoco": mscoco(h, r),
            "rouge_twostream": twostream(h, r, "word"),
            "jiwer": jiwer_rates(h, r),
            "wer_sclite": signjoey_wer(h, r),
        }
        sb14_jobs.append((name, "bleu_signjoey", h, r))

    # CSL-Daily text: character level as TwoStream / MMTLB.
    h, r = hyps["csl_text"], csl_text
    cases["csl_text"] = {
        "ref": {"file": csl_tsv, "column": "text", "sep": "\t"},
        "hyp": "hyp/csl_text.txt", "level": "char",
        "sacrebleu2_zh": sacrebleu2(h, r, "zh"),
        "rouge_mscoco": mscoco([char_level(x) for x in h], [char_level(x) for x in r]),
        "rouge_twostream": twostream(h, r, "char"),
        "jiwer": jiwer_rates(h, r),
    }
    sb14_jobs.append(("csl_text", "bleu_signjoey", [char_level(x) for x in h],
                      [char_level(x) for x in r]))

    # Glosses: sclite-weighted WER after cleanup of both sides.
    for name, ref_file, refs, cleanup in [
        ("p14t_gloss", p14t_stm, p14t_glosses, "phoenix2014t"),
        ("p14_gloss", p14_stm, p14_glosses, "phoenix2014"),
        ("csl_gloss", csl_tsv, csl_gloss, "none"),
    ]:
        clean = cleaners[cleanup]
        h = [clean(x) for x in hyps[name]]
        r = [clean(x) for x in refs]
        ref = ({"file": ref_file, "column": "gloss", "sep": "\t"} if ref_file == csl_tsv
               else {"file": ref_file, "stm": True})
        cases[name] = {"ref": ref, "hyp": f"hyp/{name}.txt", "level": "word",
                       "cleanup": cleanup, "wer_sclite": signjoey_wer(h, r),
                       "jiwer": jiwer_rates(h, r)}

    results = sacrebleu14(args.sacrebleu14, [{"hyps": h, "refs": r} for _, _, h, r in sb14_jobs])
    for (name, key, _, _), res in zip(sb14_jobs, results):
        cases[name][key] = res

    # Paired bootstrap, sacrebleu 2.x (default BLEU, 13a), system B against baseline A.
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest
    os.environ["SACREBLEU_SEED"] = "12345"
    bleu = BLEU(references=[translations])
    test = PairedTest([("a", hyps["p14t_text_a"]), ("b", hyps["p14t_text_b"])],
                      {"BLEU": bleu}, references=None, test_type="bs", n_samples=1000)
    _, scores = test()
    base, system = scores["BLEU"]
    expected["paired_bootstrap"] = {
        "baseline": "p14t_text_a", "system": "p14t_text_b", "samples": 1000,
        "metric": "sacrebleu2 BLEU 13a",
        "baseline_score": base.score, "baseline_mean": base.mean, "baseline_ci": base.ci,
        "system_score": system.score, "system_mean": system.mean, "system_ci": system.ci,
        "p_value": system.p_value,
    }

    # Cleanup: every gloss line of the four real files, both cleanups.
    cleanup_fixture = {"files": []}
    sources = [
        ("phoenix-2014t/phoenix2014-T-groundtruth-dev.stm", "stm"),
        ("phoenix-2014t/phoenix2014-T-groundtruth-train.stm", "stm"),
        ("phoenix-2014/phoenix2014_phoenix2014-groundtruth-dev.stm", "stm"),
        ("phoenix-2014/phoenix2014_phoenix2014-groundtruth-train.stm", "stm"),
        ("phoenix-2014t/PHOENIX-2014-T.train.corpus.csv", "orth"),
        ("phoenix-2014/PHOENIX-2014.train.corpus.csv", "annotation"),
    ]
    for path, kind in sources:
        full = os.path.join(data, path)
        lines = read_stm(full)[1] if kind == "stm" else read_column(full, kind, "|")
        for variant in ["phoenix2014", "phoenix2014t"]:
            outs = [cleaners[variant](l) for l in lines]
            changed = [[a, b] for a, b in zip(lines, outs) if a != b]
            cleanup_fixture["files"].append({
                "file": path, "kind": kind, "cleanup": variant, "lines": len(lines),
                "changed": len(changed), "fnv1a64": fnv1a64("\n".join(outs)),
                # A sample for diagnosis; the hash covers every line.
                "sample": changed[:: max(1, len(changed) // 20)][:20],
            })
    # The hypotheses with artefacts, too.
    for name, variant in [("p14t_gloss", "phoenix2014t"), ("p14_gloss", "phoenix2014")]:
        outs = [cleaners[variant](l) for l in hyps[name]]
        cleanup_fixture["files"].append({
            "file": f"hyp/{name}.txt", "kind": "fixture", "cleanup": variant,
            "lines": len(outs), "changed": sum(a != b for a, b in zip(hyps[name], outs)),
            "fnv1a64": fnv1a64("\n".join(outs)), "sample": [],
        })

    write_json(os.path.join(args.out, "expected.json"), expected)
    write_json(os.path.join(args.out, "cleanup.json"), cleanup_fixture)
    edge_cases(args)


EDGE_PAIRS = [
    # (hypothesis, reference)
    ("", "das wetter morgen"),
    ("regen und schnee", ""),
    ("", ""),
    ("schöne grüße aus köln", "schöne grüsse aus köln"),
    ("ÄÖÜ äöü ß", "äöü ÄÖÜ ß"),
    ("他今年四岁。", "他今年四岁。"),
    ("他今年五岁！", "他今年四岁。"),
    ("ｈｅｌｌｏ，ｗｏｒｌｄ！", "hello, world!"),
    ("“引号”和（括号）", "「引号」和（括号）"),
    ("morgen  regen", "morgen regen"),
    ("  führt   zu  ", "führt zu"),
    ("a b c d e f", "a b c d e f"),
    ("im süden 2-3 grad, sonst 5.5 grad", "im süden 2 - 3 grad , sonst 5.5 grad"),
    # U+2013 and U+2192 lie in sacrebleu zh's accidental U+2001..U+2A6D range.
    ("temperatur 5–10 grad → morgen", "temperatur 5-10 grad -> morgen"),
    ("line with\r inside", "line with inside"),
]


def edge_cases(args):
    """Small inline cases (no shared data needed): every metric on every pair and on the
    whole list; the Rust test reads them from edge.json."""
    import signjoey_metrics as sm
    import mscoco_rouge
    import twostream_rouge
    hyps = [h for h, _ in EDGE_PAIRS]
    refs = [r for _, r in EDGE_PAIRS]
    out = {"pairs": EDGE_PAIRS, "sentences": []}
    for h, r in EDGE_PAIRS:
        res = sm.wer_single(r=r, h=h)
        out["sentences"].append({
            "wer": [int(res["num_sub"]), int(res["num_del"]), int(res["num_ins"]),
                    int(res["num_ref"])],
            "alignment": res["alignment"],
            "rouge_mscoco": mscoco_rouge.calc_score(hypotheses=[h], references=[r]),
            "rouge_twostream_word": twostream_rouge.rouge([r], [h], "word") / 100,
            "rouge_twostream_char": twostream_rouge.rouge([r], [h], "char") / 100,
        })
    sb = sacrebleu14(args.sacrebleu14, [
        {"hyps": hyps, "refs": refs},
        {"hyps": [char_level(x) for x in hyps], "refs": [char_level(x) for x in refs]},
    ])
    out["bleu_signjoey_word"] = sb[0]
    out["bleu_signjoey_char"] = sb[1]
    out["sacrebleu2_13a"] = sacrebleu2(hyps, refs, "13a")
    out["sacrebleu2_zh"] = sacrebleu2(hyps, refs, "zh")
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
    t13a, tzh = Tokenizer13a(), TokenizerZh()
    out["tokenized_13a"] = [t13a(x) for x in hyps + refs]
    out["tokenized_zh"] = [tzh(x) for x in hyps + refs]
    out["jiwer"] = jiwer_rates(hyps, refs)
    write_json(os.path.join(args.out, "edge.json"), out)


if __name__ == "__main__":
    main()
