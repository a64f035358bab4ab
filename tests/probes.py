"""Test-only Lightning callbacks that record what happened inside a run (also in DDP ranks)."""

import json
from pathlib import Path

from lightning import Callback


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


class SignalAt(Callback):
    """Sends this process a signal in the middle of an epoch (a kill or a Ctrl-C)."""

    def __init__(self, epoch: int, batch: int, signal: str):
        self.epoch, self.batch, self.signal = epoch, batch, signal

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            import os
            import signal

            os.kill(os.getpid(), getattr(signal, self.signal))


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
