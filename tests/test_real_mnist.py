"""Real-data tier (slow): train on the real MNIST files when ../shared/data/MNIST has them."""

import gzip
import os
import shutil
from pathlib import Path

import pytest

import train as train_script
from conftest import REPO, compose_config

SHARED_MNIST = Path(
    os.environ.get("LENETLAB_SHARED_MNIST", REPO.parent / "shared" / "data" / "MNIST")
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no real MNIST at {SHARED_MNIST}"),
]


@pytest.fixture(scope="module")
def real_data_dir(tmp_path_factory) -> Path:
    """The shared .gz files unpacked into <tmp>/MNIST/raw, where torchvision looks."""
    root = tmp_path_factory.mktemp("real")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for packed in SHARED_MNIST.glob("*.gz"):
        with gzip.open(packed) as source, open(raw / packed.stem, "wb") as target:
            shutil.copyfileobj(source, target)
    return root


def test_lenet_tanh_reaches_98_percent_in_two_epochs(real_data_dir, tmp_path):
    overrides = [
        f"paths.data_dir={real_data_dir}",
        "data.download=false",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "++callbacks.progress_bar=null",
    ]
    metrics = train_script.train(compose_config("train", overrides, tmp_path / "run"))
    assert metrics["test/acc"] >= 0.98
