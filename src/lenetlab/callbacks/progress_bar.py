"""LossProgressBar: Lightning's rich progress bar, with the training loss of the last step the
loggers got (every trainer.log_every_n_steps steps).

The loss comes from LeNetModule.step_loss rather than ``self.log(..., prog_bar=True)``: a value
logged so is carried through Lightning's results every step, about 0.1 ms a step whether it
changed or not (4-5 % of lenetlab's own per-step work; docs/benchmarks.md, issue 26).
"""

from lightning.pytorch.callbacks import RichProgressBar

from lenetlab.choices import TRAIN_LOSS


class LossProgressBar(RichProgressBar):
    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        step_loss = getattr(pl_module, "step_loss", None)
        if trainer.training and step_loss is not None:
            metrics[TRAIN_LOSS] = step_loss
        return metrics
