"""Refuse to start a run its disk has no room for: one line now, not a failed write mid-run."""

import shutil
from pathlib import Path

from torch import nn

from lenetlab.errors import UsageError

KIB, MIB = 2**10, 2**20


def bytes_a_run_writes(model: nn.Module, max_epochs: int) -> int:
    """A generous estimate: best.ckpt and last.ckpt plus one being written (weights, up to two
    optimizer moments, metadata), TensorBoard events (a prediction image an epoch), logs."""
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    checkpoint = 3 * state + 64 * KIB
    epochs = max_epochs if max_epochs > 0 else 100
    return 3 * checkpoint + epochs * 64 * KIB + MIB


def check_free_space(run_dir: str, needed: int) -> None:
    free = shutil.disk_usage(Path(run_dir)).free
    if free < needed:
        raise UsageError(
            f"{run_dir}: {free / MIB:.1f} MiB free on its disk, a run needs about "
            f"{needed / MIB:.1f} MiB (checkpoints, TensorBoard logs); free some space or write "
            "runs elsewhere with paths.log_dir=<folder>"
        )
