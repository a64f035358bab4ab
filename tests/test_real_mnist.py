"""Real-data tier (slow): train on the real MNIST files when ../shared/data/MNIST has them."""

import json
from pathlib import Path

import pytest
from PIL import Image
from torchvision import datasets

from conftest import SHARED_MNIST, quiet_train_config, run_script
from lenetlab.commands import train as train_script

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no real MNIST at {SHARED_MNIST}"),
]


@pytest.fixture(scope="module")
def real_run(real_data_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    return train_script.train(quiet_train_config(real_data_dir, run_dir, "trainer.max_epochs=2"))


def test_lenet_tanh_reaches_98_percent_in_two_epochs(real_run):
    assert real_run["test/acc"] >= 0.98


def test_photos_of_real_test_digits_are_recognised(real_data_dir, real_run, tmp_path):
    """200 MNIST test digits saved as people photograph digits: dark ink on off-white paper,
    in colour, larger, off-centre, as PNG, JPEG and BMP."""
    test_set = datasets.MNIST(real_data_dir, train=False)
    for index in range(200):
        digit = Image.fromarray(255 - test_set.data[index].numpy())
        page = Image.new("RGB", (160 + index % 40, 140), (238, 234, 226))
        page.paste(digit.resize((84, 84), Image.Resampling.BICUBIC).convert("RGB"),
                   (20 + index % 30, 25))  # fmt: skip
        label = int(test_set.targets[index])
        page.save(tmp_path / f"{index:03d}_{label}.{('png', 'jpg', 'bmp')[index % 3]}")
    output = tmp_path / "predictions.json"
    checkpoint = real_run["best_checkpoint"]
    result = run_script("predict.py", f"ckpt_path={checkpoint}", f"inputs={tmp_path}",
                        f"output={output}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(output.read_text())
    correct = [row["class"] == Path(row["file"]).stem.split("_")[1] for row in rows]
    assert len(rows) == 200 and sum(correct) >= 190  # the test images themselves: 98 %+
