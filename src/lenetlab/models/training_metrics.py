"""The training epoch's loss and accuracy, as torchmetrics metrics that cost little per step.

They are updated every training step, where torchmetrics' MeanMetric and MulticlassAccuracy
spend 0.1-0.2 ms each on argument handling (docs/benchmarks.md, issue 26: together 1-1.5 % of
a LeNet-5 step on a 2-core CPU). Here an update is two in-place adds on the device. Lightning
logs, computes, syncs (DDP: each state is summed over the ranks) and resets them as any
torchmetrics metric; validation and test keep MulticlassAccuracy, once per evaluation batch.
"""

import torch
from torchmetrics import Metric


class StepMean(Metric):
    """The mean of one value per step (the step losses). No checks: a NaN or infinite value
    stays in the sum, which is how LeNetModule notices a diverged loss (``finite``)."""

    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("steps", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, value: torch.Tensor) -> None:
        self.total.add_(value)
        self.steps.add_(1)

    def compute(self) -> torch.Tensor:
        return self.total / self.steps

    def finite(self) -> bool:
        """Whether every value since the last reset was finite (reads the device)."""
        return bool(torch.isfinite(self.total))


class CountedAccuracy(Metric):
    """The fraction of images whose largest logit is their label (MulticlassAccuracy with
    ``average="micro"``), from counts."""

    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("correct", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("images", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.correct.add_((logits.argmax(1) == labels).sum())
        self.images.add_(len(labels))

    def compute(self) -> torch.Tensor:
        return self.correct / self.images
