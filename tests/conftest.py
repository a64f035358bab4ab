import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from fixtures import write_all

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """MNIST, Fashion-MNIST and USPS fixture files, as torchvision expects them."""
    return write_all(tmp_path_factory.mktemp("data"))


def compose_config(config_name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """Compose conf/<config_name>.yaml as the command line would, with its run dir set."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


QUIET = [
    "data.download=false",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "++callbacks.progress_bar=null",
]


def quiet_train_config(data_dir: Path, run_dir: Path, *overrides: str) -> DictConfig:
    """conf/train.yaml on the datasets in data_dir, offline, CPU, no progress bar."""
    return compose_config("train", [f"paths.data_dir={data_dir}", *QUIET, *overrides], run_dir)


def run_script(
    script: str, *args: str, timeout: int = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``python src/<script> <args>`` from the repository root, as a user runs it; tests/ is
    importable so configs can name test-only callbacks (probes.*)."""
    return subprocess.run(
        [sys.executable, f"src/{script}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO / "tests"), **(env or {})},
        start_new_session=True,  # its own process group, as a terminal gives a command
    )


@pytest.fixture
def train_config(tmp_path, data_dir):
    """Factory: a train config on fixture data, quiet and small, run dir under tmp_path."""

    def make(*overrides: str) -> DictConfig:
        small = ["data.batch_size=64", "data.eval_batch_size=100"]
        return quiet_train_config(
            data_dir, tmp_path / "run", f"paths.log_dir={tmp_path}", *small, *overrides
        )

    return make


def assert_one_line(result, *parts):
    assert result.returncode == 2, result.stderr
    line = result.stderr.splitlines()[-1]
    assert line.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1
    for part in parts:
        assert part in line


@pytest.fixture
def small_disk(tmp_path):
    """Factory: a fresh tmpfs of the given size (optionally read-only) mounted under tmp_path;
    the test is skipped where mounting is not allowed (CI runs as root, where chmod cannot make
    a folder read-only, but mount can)."""
    mounted = []

    def mount(size: str, read_only: bool = False):
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


SHARED_MNIST = Path(
    os.environ.get("LENETLAB_SHARED_MNIST", REPO.parent / "shared" / "data" / "MNIST")
)


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory) -> Path:
    """The shared .gz files unpacked into <tmp>/MNIST/raw, where torchvision looks."""
    root = tmp_path_factory.mktemp("real")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for packed in SHARED_MNIST.glob("*.gz"):
        with gzip.open(packed) as source, open(raw / packed.stem, "wb") as target:
            shutil.copyfileobj(source, target)
    return root
