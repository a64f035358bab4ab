"""Test-only Lightning callbacks that record what happened inside a run (also in DDP ranks)."""

import json
import os
import signal
from pathlib import Path

import torch
from lightning import Callback

from lenetlab.errors import UsageError


class RankMetrics(Callback):
    """Writes each rank's validation metrics per epoch to ``<out_dir>/rank<r>_epoch<e>.json``."""

    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        name = f"rank{trainer.global_rank}_epoch{trainer.current_epoch}.json"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / name).write_text(json.dumps(metrics))


class DtypeProbe(Callback):
    """Records the dtype of the first convolution's output during training."""

    seen: set = set()

    def on_fit_start(self, trainer, pl_module):
        first_conv = next(m for m in pl_module.modules() if m.__class__.__name__ == "Conv2d")
        first_conv.register_forward_hook(lambda m, i, out: DtypeProbe.seen.add(out.dtype))


def at(trainer, epoch: int, rank: int | None) -> bool:
    """Is this the epoch (and the rank: None for every rank) a probe acts in?"""
    return trainer.current_epoch == epoch and rank in (None, trainer.global_rank)


class SignalAt(Callback):
    """Sends a signal in the middle of an epoch (a kill or a Ctrl-C): to this process, or with
    ``group=true`` to its whole process group, as a terminal sends Ctrl-C to a command."""

    def __init__(self, epoch: int, batch: int, signal: str, rank: int | None = 0,
                 group: bool = False):  # fmt: skip
        self.epoch, self.batch, self.signal = epoch, batch, signal
        self.rank, self.group = rank, group

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if at(trainer, self.epoch, self.rank) and batch_idx == self.batch:
            number = getattr(signal, self.signal)
            os.killpg(os.getpgid(0), number) if self.group else os.kill(os.getpid(), number)


class NanAt(Callback):
    """Makes the weights NaN in one rank before batch ``batch`` of epoch ``epoch``: a loss that
    diverges in one process of a DDP run."""

    def __init__(self, epoch: int, batch: int, rank: int = 0):
        self.epoch, self.batch, self.rank = epoch, batch, rank

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.batch and at(trainer, self.epoch, self.rank):
            with torch.no_grad():
                next(pl_module.parameters()).fill_(float("nan"))


class UsageErrorAt(Callback):
    """Raises a UsageError in one rank mid-epoch: bad input met by one process only."""

    def __init__(self, epoch: int, batch: int, rank: int, message: str):
        self.epoch, self.batch, self.rank, self.message = epoch, batch, rank, message

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.batch and at(trainer, self.epoch, self.rank):
            raise UsageError(self.message)


class FillDiskAt(Callback):
    """Fills the disk ``path`` is on when training epoch ``epoch`` (0-based) starts, so the next
    checkpoint cannot be written: another program using up the space mid-run."""

    def __init__(self, epoch: int, path: str):
        self.epoch, self.path = epoch, path

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            with open(self.path, "wb") as filler:
                try:
                    while True:
                        filler.write(b"\0" * 2**16)
                        filler.flush()
                except OSError:  # the disk is full
                    pass
