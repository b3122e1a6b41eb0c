"""The shapes of benches/matmul.rs in PyTorch CPU (same threads), for a same-run comparison.
usage: python matmul.py [REPS]"""
import statistics
import sys
import time

import torch

CASES = [
    ("spatial 1 forward", 1, 4096, 154, 256, False, False),
    ("spatial 1 grad W", 1, 154, 4096, 256, True, False),
    ("spatial 2 forward", 1, 4096, 256, 128, False, False),
    ("spatial 2 grad x", 1, 4096, 128, 256, False, True),
    ("spatial 2 grad W", 1, 256, 4096, 128, True, False),
    ("temporal conv forward", 1, 2048, 640, 128, False, False),
    ("temporal conv grad x", 1, 2048, 128, 640, False, True),
    ("temporal conv grad W", 1, 640, 2048, 128, True, False),
    ("projection forward", 1, 2048, 128, 128, False, False),
    ("projection grad W", 1, 128, 2048, 128, True, False),
    ("ff 1 forward", 1, 2048, 128, 256, False, False),
    ("ff 2 forward", 1, 2048, 256, 128, False, False),
    ("attention q·k^T", 128, 64, 32, 64, False, True),
    ("attention p·v", 128, 64, 64, 32, False, False),
    ("attention grad q", 128, 64, 64, 32, False, False),
    ("attention grad k", 128, 64, 64, 32, True, False),
]


def operand(rows, cols, batch, transposed):
    t = torch.randn(batch, cols, rows).transpose(1, 2) if transposed else torch.randn(batch, rows, cols)
    return t[0] if batch == 1 else t


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    total = 0.0
    for what, batch, m, k, n, lt, rt in CASES:
        a, b = operand(m, k, batch, lt), operand(k, n, batch, rt)
        times = []
        for _ in range(reps + 1):
            start = time.perf_counter()
            torch.matmul(a, b)
            times.append(time.perf_counter() - start)
        t = statistics.median(times[1:])
        total += t
        print(f"matmul {what:<22} {batch}x[{m}x{k}x{n}]: pytorch {t * 1e3:.3f} ms ({2 * batch * m * k * n / t / 1e9:.0f} GFLOP/s)")
    print(f"matmul total: pytorch {total * 1e3:.2f} ms  [pytorch {torch.__version__}, {torch.get_num_threads()} threads]")


if __name__ == "__main__":
    main()
