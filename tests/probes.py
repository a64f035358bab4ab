"""Test-only Lightning callbacks that record what happened inside a run (also in DDP ranks)."""

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from lightning import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO

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
    ``group=true`` to its whole process group, as a terminal sends Ctrl-C to a command. ``job``:
    only in that job of a multirun; ``once``: a file it leaves, so that it fires once."""

    def __init__(self, epoch: int, batch: int, signal: str, rank: int | None = 0,
                 group: bool = False, job: int | None = None, once: str | None = None):  # fmt: skip
        self.epoch, self.batch, self.signal = epoch, batch, signal
        self.rank, self.group, self.job, self.once = rank, group, job, once

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if at(trainer, self.epoch, self.rank) and batch_idx == self.batch:
            if self.job is not None and HydraConfig.get().job.num != self.job:
                return
            if self.once:
                if os.path.exists(self.once):
                    return
                open(self.once, "w").close()
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


# The ops behind item(), bool(), float(), boolean-mask indexing, unique and linalg's error
# checks: each makes the host wait until the device has computed its input.
SYNCING_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim",
               "unique_consecutive", "_linalg_check_errors", "is_nonzero", "equal"}  # fmt: skip


def called_from_lenetlab() -> bool:
    """Is a frame of lenetlab's own per-step code (not the recipe calling trainer.fit) on the
    stack?"""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if f"{os.sep}lenetlab{os.sep}" in name and f"{os.sep}commands{os.sep}" not in name:
            return True
        frame = frame.f_back
    return False


class HostSyncs(Callback):
    """Records the syncing ops lenetlab's code runs in training (data fetch, distortions, step,
    callbacks), from each epoch's start to its validation, as (global step, op), and in test
    batches as (-1, op); the hooks at epoch ends and validation, which sync on purpose, are
    outside."""

    seen: list = []

    def __init__(self):
        self.mode = None

    def on_train_epoch_start(self, trainer, pl_module):
        self.start(lambda: trainer.global_step)

    def on_test_epoch_start(self, trainer, pl_module):
        self.start(lambda: -1)  # test batches: step -1, where nothing may sync

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if batch_idx == trainer.num_test_batches[0] - 1:  # the epoch's end syncs on purpose
            self.stop()

    def start(self, step):
        from torch.utils._python_dispatch import TorchDispatchMode

        class Recorder(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func._schema.name.split("::")[-1]
                if name in SYNCING_OPS and called_from_lenetlab():
                    HostSyncs.seen.append((step(), name))
                return func(*args, **(kwargs or {}))

        self.mode = Recorder()
        self.mode.__enter__()

    def on_validation_start(self, trainer, pl_module):
        self.stop()

    def on_train_epoch_end(self, trainer, pl_module):
        self.stop()

    def stop(self):
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
            self.mode = None


class RecordingCheckpointIO(TorchCheckpointIO):
    """A checkpoint IO of the user's own (to object storage, say): build_trainer keeps it."""


def heap_serves(size: int) -> bool:
    """Whether glibc serves a block of ``size`` bytes from the heap rather than with mmap."""
    fields = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in fields.split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype, libc.malloc.restype = Mallinfo2, ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    mapped = libc.mallinfo2().hblks
    block = libc.malloc(size)
    from_heap = libc.mallinfo2().hblks == mapped
    libc.free(block)
    return from_heap


class AllocatorProbe(Callback):
    """Writes ``<out_dir>/rank<r>.json``: whether a step-sized block (8 MiB) comes from the heap
    in this process while it trains."""

    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)

    def on_train_start(self, trainer, pl_module):
        self.out_dir.mkdir(parents=True, exist_ok=True)
        result = {"heap_serves_8_mib": heap_serves(8 << 20)}
        (self.out_dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(result))
