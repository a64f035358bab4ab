"""ChanceWatch: say so when validation accuracy stays at chance, optionally stop the run.

The classic case is LeNet-5 with sigmoids and SGD at a large learning rate (lr 0.9): the units
saturate and nothing is learnt, while the loss looks busy. After ``patience`` epochs within
``margin`` of chance (1 / classes) it logs one warning naming the usual causes, and with
``stop: true`` ends the run.
"""

import logging

from lightning import Callback

from lenetlab.models.module import VAL_ACC

log = logging.getLogger("lenetlab")


class ChanceWatch(Callback):
    def __init__(self, patience: int = 3, margin: float = 0.5, stop: bool = False):
        self.patience, self.margin, self.stop = patience, margin, stop
        self.epochs_at_chance = 0

    def on_validation_end(self, trainer, pl_module):
        accuracy = trainer.callback_metrics.get(VAL_ACC)
        if trainer.sanity_checking or accuracy is None:
            return
        chance = 1.0 / pl_module.net.num_classes
        at_chance = float(accuracy) < chance * (1 + self.margin)
        self.epochs_at_chance = self.epochs_at_chance + 1 if at_chance else 0
        if self.epochs_at_chance != self.patience:
            return
        log.warning(
            "val/acc has stayed at chance (%.1f %%, chance %.0f %%) for %d epochs: the units are "
            "saturated or the learning rate is wrong. Try a smaller optimizer.lr, "
            "trainer.gradient_clip_val=1.0, or model.activation=relu.%s",
            100 * float(accuracy),
            100 * chance,
            self.patience,
            " Stopping (callbacks.chance_watch.stop=true)." if self.stop else "",
        )
        if self.stop:
            trainer.should_stop = True
