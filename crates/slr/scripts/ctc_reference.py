"""Reference CTC losses from PyTorch for the fixture tests/fixtures/ctc_reference.json.

Run (CPU torch from PyPI):
    python3 -m venv /work/venvs/slr && /work/venvs/slr/bin/pip install torch numpy
    /work/venvs/slr/bin/python crates/slr/scripts/ctc_reference.py > crates/slr/tests/fixtures/ctc_reference.json

Inputs are fixed seeded logits so the Rust test rebuilds the same log-probabilities from the
stored values (no RNG port needed).
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)
T, B, C = 12, 4, 6
logits = torch.randn(T, B, C, dtype=torch.float64)
log_probs = F.log_softmax(logits, dim=2).requires_grad_(True)
# Repeated labels, a short and a near-maximal target (needs blanks between repeats).
targets = [[1, 2, 3], [4, 4, 5, 1], [2], [1, 1, 2, 2, 3]]
input_lengths = [12, 10, 7, 12]
width = max(len(t) for t in targets)
padded = torch.tensor([t + [0] * (width - len(t)) for t in targets])
target_lengths = torch.tensor([len(t) for t in targets])
loss = F.ctc_loss(log_probs, padded, torch.tensor(input_lengths), target_lengths, blank=0, reduction="none")
mean = F.ctc_loss(log_probs, padded, torch.tensor(input_lengths), target_lengths, blank=0, reduction="mean")
(grad,) = torch.autograd.grad(loss.sum(), log_probs)
print(json.dumps({
    "torch_version": torch.__version__,
    "shape": [T, B, C],
    "log_probs": log_probs.detach().reshape(-1).tolist(),
    "targets": targets,
    "input_lengths": input_lengths,
    "loss_none": loss.detach().tolist(),
    "loss_mean": mean.item(),
    "grad_sum": grad.reshape(-1).tolist(),
}, indent=1))
