"""The small SCOPE preset (configs/dialogue.toml sizes) in PyTorch, for a same-run comparison
of training step time with benches/recognize.rs. Same shapes: batch 32 x 128 frames, 77 points,
d 128, 4 heads, ff 256, 2 + 2 pre-LN layers (GELU), conv k5 s2, embeddings 384, 3 context turns
+ the aligned token, 170 classes, AdamW; stage 1 = L_emb, stage 2 = CTC with stage 1 frozen.
usage: python train_step.py [REPS] [cpu|cuda]   (threads from torch.get_num_threads() on CPU)"""
import math
import statistics
import sys
import time

import torch
from torch import nn

DEVICE = torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu")


def sync():
    # CUDA runs asynchronously: a phase has finished only once the device has caught up.
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()

B, T, D, H, FF, E, C, TURNS = 32, 128, 128, 4, 256, 384, 170, 3


def sinusoidal(t, d):
    pos = torch.arange(t).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    pe = torch.zeros(t, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe.to(DEVICE)


def encoder(layers):
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.1, activation="gelu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class Scope(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = nn.Sequential(nn.Linear(154, 256), nn.ReLU(), nn.Linear(256, D), nn.ReLU())
        self.temporal = nn.Conv1d(D, D, 5, stride=2, padding=2)
        self.align_in = nn.Linear(D, D)
        self.align = encoder(2)
        self.align_out = nn.Sequential(nn.Linear(D, FF), nn.GELU(), nn.Linear(FF, E))
        self.context = nn.Linear(E, D)
        self.slots = nn.Parameter(torch.randn(TURNS + 1, D) * 0.02)
        self.gloss = encoder(2)
        self.classifier = nn.Linear(D, C)

    def stage1(self, x):
        b, t = x.shape[:2]
        h = self.spatial(x.reshape(b, t, -1))
        h = torch.relu(self.temporal(h.transpose(1, 2))).transpose(1, 2)
        h = self.align_in(h) + sinusoidal(h.shape[1], D)
        h = self.align(h)
        return h, self.align_out(h.mean(1))

    def stage2(self, hidden, aligned, context):
        t = hidden.shape[1]
        prefix = self.context(torch.cat([aligned.unsqueeze(1), context], 1)) + self.slots
        h = self.gloss(torch.cat([prefix, hidden + sinusoidal(t, D)], 1))
        return torch.log_softmax(self.classifier(h[:, TURNS + 1 :]), -1)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    torch.manual_seed(0)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    for stage in ("Alignment", "Gloss"):
        model = Scope().to(DEVICE)
        params = model.parameters() if stage == "Alignment" else list(model.context.parameters()) + [model.slots] + list(model.gloss.parameters()) + list(model.classifier.parameters())
        opt = torch.optim.AdamW(params, lr=1e-4)
        times, phases = [], []
        for i in range(reps + 1):
            x = torch.randn(B, T, 77, 2, device=DEVICE)
            sentence = torch.randn(B, E, device=DEVICE) * 0.05
            context = torch.randn(B, TURNS, E, device=DEVICE) * 0.05
            targets = torch.tensor([[1 + (b * 7 + j * 13) % (C - 1) for j in range(8)] for b in range(B)], device=DEVICE)
            sync()
            start = time.perf_counter()
            if stage == "Alignment":
                _, emb = model.stage1(x)
                loss = ((emb - sentence).pow(2).sum(1) + 1e-12).sqrt().mean()
            else:
                with torch.no_grad():
                    hidden, aligned = model.stage1(x)
                lp = model.stage2(hidden, aligned, context)
                tp = lp.shape[1]
                loss = ctc(lp.transpose(0, 1), targets, torch.full((B,), tp), torch.full((B,), 8))
            sync()
            forward = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            sync()
            backward = time.perf_counter()
            opt.step()
            sync()
            end = time.perf_counter()
            if i > 0:
                times.append(end - start)
                phases.append((forward - start, backward - forward, end - backward))
        print(f"train step {stage} (batch {B} x {T} frames): median {statistics.median(times) * 1e3:.1f} ms  [pytorch {torch.__version__}, {DEVICE.type}, {torch.get_num_threads()} threads]")
        f, b, o = (statistics.median(p[k] for p in phases) * 1e3 for k in range(3))
        print(f"phases {stage}: forward {f:.1f} ms, backward {b:.1f} ms, optimizer {o:.1f} ms")


if __name__ == "__main__":
    main()
