"""Batch norm forward + backward on the CPU: torch's kernel in NCHW and in channels_last, and
lenetlab's column-sum BatchNorm2d (src/lenetlab/models/batch_norm.py), at the shapes of the
BatchNorm network's C1 and C3 outputs, in one run.

    python bench/batch_norm.py
"""

import platform
import time

import torch
from torch import nn

from lenetlab.models.batch_norm import BatchNorm2d

SHAPES = [(128, 6, 28, 28), (128, 16, 10, 10)]  # C1's and C3's outputs at batch 128


def milliseconds(norm: nn.Module, x: torch.Tensor, repeats: int = 100) -> float:
    """Forward and backward of ``norm`` on x, per call, after a warm-up."""
    upstream = torch.randn_like(x)
    for step in range(repeats + 10):
        if step == 10:
            started = time.perf_counter()
        inputs = x.detach().requires_grad_()
        (norm(inputs) * upstream).sum().backward()
    return (time.perf_counter() - started) / repeats * 1e3


def main():
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; ms per forward + backward")  # fmt: skip
    for shape in SHAPES:
        x = torch.randn(shape) * 3 + 1
        channels_last = x.contiguous(memory_format=torch.channels_last)
        torchs = nn.BatchNorm2d(shape[1])
        rows = {
            "torch, NCHW": milliseconds(torchs, x),
            "torch, channels_last": milliseconds(torchs, channels_last),
            "lenetlab, channels_last": milliseconds(BatchNorm2d(shape[1]), channels_last),
        }
        print(f"{'x'.join(map(str, shape))}: " + ", ".join(f"{k} {v:.2f}" for k, v in rows.items()))


if __name__ == "__main__":
    main()
