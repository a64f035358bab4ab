"""Inside the network: every layer's output, the kernels and the RBF prototypes as pictures
(models/inside.py), and the same in TensorBoard while training (callbacks/feature_maps.py)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import quiet_train_config
from lenetlab.commands import train as train_script
from lenetlab.models import inside
from lenetlab.models.module import LeNetModule

PAPER = dict(activation="scaled_tanh", pool="subsample", c3="sparse", head="rbf",
             init="lecun1998")  # fmt: skip
SHAPES = {"input": (1, 32, 32), "c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10),
          "s4": (16, 5, 5), "c5": (120, 1, 1), "f6": (84,), "output": (10,)}  # fmt: skip


def digits(count: int) -> torch.Tensor:
    return torch.randint(0, 256, (count, 1, 32, 32), generator=torch.Generator().manual_seed(0),
                         dtype=torch.uint8)  # fmt: skip


@pytest.mark.parametrize("network", [{}, {"pool": "max", "norm": "batch"}, PAPER],
                         ids=["default", "max_batchnorm", "lenet5_1998"])  # fmt: skip
def test_every_layer_is_read_from_the_models_own_forward_pass(network):
    model = LeNetModule(**network).eval()
    images = digits(3)
    outputs = inside.layer_outputs(model, images)
    assert {name: tuple(o.shape[1:]) for name, o in outputs.items()} == SHAPES
    with torch.no_grad():
        torch.testing.assert_close(outputs["output"], model(images).float())
        torch.testing.assert_close(outputs["input"], model.normalize(images).float())
    assert not any(module._forward_hooks for module in model.modules())  # hooks removed
    rbf = network.get("head") == "rbf"
    assert inside.label("output", outputs["output"], rbf).startswith(
        "output: distances to the 10 RBF" if rbf else "output"
    )
    assert [inside.label(n, outputs[n]) for n in ("c1", "c3", "c5", "f6")] == [
        "C1 6@28x28", "C3 16@10x10", "C5 120", "F6 84"]  # fmt: skip


def test_pictures_keep_each_map_and_kernel_apart():
    maps = torch.arange(6 * 4 * 4, dtype=torch.float32).view(6, 4, 4)
    picture = inside.maps_picture(maps, scale=2, gap=1)
    assert picture.shape == (8, 6 * 8 + 5)  # six 8x8 maps in one row, 1-pixel gaps
    assert picture[:, 8].tolist() == [128] * 8  # the gap
    assert picture[:, :8].min() == 0 and picture[:, :8].max() == 255  # each map its own range
    assert inside.maps_picture(torch.rand(84), scale=1).shape == (7 * 4, 12 * 4)  # F6 as 7x12
    assert inside.maps_picture(torch.rand(120, 1, 1), scale=1).shape == (10 * 4, 12 * 4)

    paper = LeNetModule(**PAPER)
    kernels = inside.kernels(paper)
    assert kernels["c1"].shape == (6, 1, 5, 5) and kernels["c3"].shape == (16, 6, 5, 5)
    missing = int((kernels["c3"].abs().flatten(2).amax(2) == 0).sum())
    assert missing == 16 * 6 - 60  # Table I: 60 of the 96 connections
    grid = inside.kernels_picture(kernels["c3"], scale=1, gap=1)
    assert grid.shape == (6 * 6 - 1, 16 * 6 - 1)  # a column per output map
    blank = [grid[r * 6 : r * 6 + 5, c * 6 : c * 6 + 5].min() == 255
             for r in range(6) for c in range(16)]  # fmt: skip
    assert sum(blank) == missing
    prototypes = inside.prototypes(paper)
    assert prototypes.shape == (10, 7, 12) and set(prototypes.unique().tolist()) == {-1.0, 1.0}
    assert inside.prototypes(LeNetModule()) is None
    assert Image.open(io.BytesIO(inside.png(grid))).size == (grid.shape[1], grid.shape[0])


def test_feature_maps_reach_tensorboard_while_training(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    cfg = quiet_train_config(data_dir, run_dir, "experiment=lenet5_1998", "trainer.max_epochs=3",
                             "callbacks.feature_maps.every_n_epochs=2",
                             "callbacks.prediction_images=null")  # fmt: skip
    train_script.train(cfg)
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    events.Reload()
    tags = set(events.Tags()["images"])
    layers = {f"feature_maps/{digit}/{layer}" for digit in (0, 1) for layer in SHAPES}
    assert layers | {"kernels/c1", "kernels/c3", "rbf_prototypes"} <= tags
    epochs_drawn = [event.step for event in events.Images("kernels/c1")]
    assert len(epochs_drawn) == 3  # after epoch 1, 2 (every 2) and 3 (the last)
    assert len(events.Images("rbf_prototypes")) == 1  # fixed: once
    c1 = Image.open(io.BytesIO(events.Images("feature_maps/0/c1")[-1].encoded_image_string))
    assert c1.size == (6 * 28 * 3 + 5 * 2, 28 * 3)  # 6@28x28, as models/inside draws them
    assert np.asarray(c1).std() > 0
