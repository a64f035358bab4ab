"""EpochLog: one log line per epoch, so train.log and non-interactive consoles show progress."""

import logging
import time

from lightning import Callback

from lenetlab.models.module import TRAIN_ACC, TRAIN_LOSS_EPOCH, VAL_ACC

log = logging.getLogger("lenetlab")


class EpochLog(Callback):
    def __init__(
        self,
        metrics: tuple[str, ...] = (TRAIN_LOSS_EPOCH, TRAIN_ACC, VAL_ACC),
    ):
        self.metrics = metrics
        self.epoch_started = 0.0
        self.lr = float("nan")

    def on_train_start(self, trainer, pl_module):
        self.on_train_epoch_start(trainer, pl_module)  # resumed mid-epoch: no epoch start hook

    def on_train_epoch_start(self, trainer, pl_module):
        self.epoch_started = time.monotonic()
        if trainer.optimizers:  # read now: the scheduler steps before on_train_epoch_end
            self.lr = trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_epoch_end(self, trainer, pl_module):
        # Runs after validation: the epoch's train and val metrics are both logged by now.
        if trainer.sanity_checking:
            return
        logged = trainer.callback_metrics  # in every rank: computing it syncs the epoch metrics
        if not trainer.is_global_zero:
            return
        values = " ".join(
            f"{name} {float(logged[name]):.4f}" for name in self.metrics if name in logged
        )
        seconds = time.monotonic() - self.epoch_started
        log.info(
            "epoch %d/%d: %s lr %.3g (%.1f s)",
            trainer.current_epoch + 1,
            trainer.max_epochs,
            values,
            self.lr,
            seconds,
        )
