"""The training step's metrics (models/training_metrics.py) against torchmetrics' own."""

import pytest
import torch
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from lenetlab.models.training_metrics import CountedAccuracy, StepMean


def batches(sizes=(64, 64, 17), seed=0):
    generator = torch.Generator().manual_seed(seed)
    for size in sizes:
        yield torch.randn(size, 10, generator=generator), torch.randint(0, 10, (size,))


def test_the_counted_accuracy_is_torchmetrics_micro_accuracy():
    ours, theirs = CountedAccuracy(), MulticlassAccuracy(10, average="micro")
    for logits, labels in batches():
        ours.update(logits, labels)
        theirs.update(logits, labels)
    assert ours.compute().item() == pytest.approx(theirs.compute().item())
    ours.reset()
    ours.update(torch.eye(10)[:4], torch.tensor([0, 1, 0, 3]))
    assert ours.compute().item() == 0.75


def test_the_step_mean_is_the_mean_of_the_steps():
    ours, theirs = StepMean(), MeanMetric()
    for value in (0.5, 2.0, 0.25):
        ours.update(torch.tensor(value))
        theirs.update(torch.tensor(value))
    assert ours.compute().item() == pytest.approx(theirs.compute().item())
    assert ours.finite()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_nan_or_infinite_step_stays_until_reset(bad):
    mean = StepMean()
    mean.update(torch.tensor(1.0))
    mean.update(torch.tensor(bad))
    mean.update(torch.tensor(1.0))
    assert not mean.finite()
    mean.reset()
    assert mean.finite()


@pytest.mark.parametrize("metric", [CountedAccuracy, StepMean])
def test_ranks_states_add_up_to_the_whole(metric):
    """DDP sums each state over the ranks (dist_reduce_fx): two halves merged give the whole."""
    whole, first, second = metric(), metric(), metric()
    for index, (logits, labels) in enumerate(batches(sizes=(32, 20, 32, 9))):
        args = (logits, labels) if metric is CountedAccuracy else (logits.mean(),)
        whole.update(*args)
        (first if index % 2 else second).update(*args)
    first.merge_state(second)
    assert first.compute().item() == pytest.approx(whole.compute().item())
