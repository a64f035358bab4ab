"""TensorBoard shows predictions, worst mistakes, the confusion matrix, per-class accuracy and
the model graph."""

import io

import pytest
import torch
from hydra.utils import instantiate
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import quiet_train_config
from lenetlab.callbacks.prediction_images import CAPTION, TILE
from lenetlab.commands import train as train_script
from lenetlab.models.module import LeNetModule


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory, data_dir):
    """One epoch at a small learning rate: a model that still makes mistakes."""
    run_dir = tmp_path_factory.mktemp("run")
    cfg = quiet_train_config(data_dir, run_dir, "trainer.max_epochs=1", "optimizer.lr=0.003")
    metrics = train_script.train(cfg)
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return cfg, metrics, events


def decode(events, tag) -> Image.Image:
    (event,) = events.Images(tag)[-1:]
    return Image.open(io.BytesIO(event.encoded_image_string))


def test_image_tags_and_graph(weak_run):
    _, metrics, events = weak_run
    assert metrics["test/acc"] < 1.0  # so there are mistakes to show
    assert {"val/predictions", "test/worst_mistakes", "test/confusion_matrix"} <= set(
        events.Tags()["images"]
    )
    predictions = decode(events, "val/predictions")
    assert predictions.size == (8 * TILE, 4 * (TILE + CAPTION))  # 32 images, 8 per row
    assert decode(events, "test/confusion_matrix").size[0] >= 400
    assert events.Tags()["graph"]


def test_per_class_accuracy_matches_the_checkpoint(weak_run):
    cfg, metrics, events = weak_run
    model = LeNetModule.load_from_checkpoint(metrics["best_checkpoint"]).eval()
    datamodule = instantiate(cfg.data)
    images, labels = datamodule.load_split(train=False)
    with torch.no_grad():
        predicted = model(images).argmax(1)
    for digit in range(10):
        logged = events.Scalars(f"test/acc_class/{digit}")[-1].value
        mask = labels == digit
        expected = (predicted[mask] == digit).float().mean().item()
        assert logged == pytest.approx(expected, abs=1e-6)
    worst = decode(events, "test/worst_mistakes")
    mistakes = int((predicted != labels).sum())
    rows = (min(mistakes, 32) + 7) // 8
    assert worst.size == (8 * TILE, rows * (TILE + CAPTION))
