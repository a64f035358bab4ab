import contextlib
import gzip
import io
import logging
import os
import runpy
import shutil
import subprocess
import sys
import threading
import traceback
import warnings
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

# pytest-xdist runs the tier in one worker per core: each worker's torch (and every command it
# starts) gets its share of the cores, not all of them, or the workers' threads fight over them.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(share))

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


def run_in_process(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python src/<script> <args>`` run in this interpreter, as ``run_script`` runs it in a new
    one, minus the seconds a new process spends importing torch and Lightning: for tests of
    what a command does, not of the process (signals, exit on kill, DDP's spawned ranks, what
    is imported before the first line, which use ``run_script``). The process-wide state a
    command sets (argv, environment, working folder, logging, warning filters, thread hook)
    is put back afterwards."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = (sys.argv, dict(os.environ), os.getcwd(), threading.excepthook)
    loggers = {name: logging.getLogger(name) for name in ("", "lightning", "lightning.pytorch")}
    handlers = {name: (log.handlers[:], log.level) for name, log in loggers.items()}
    code, argv = 0, [f"src/{script}", *args]
    try:
        sys.argv = argv[:]
        os.environ.update({"PYTHONPATH": str(REPO / "tests"), **(env or {})})
        os.chdir(REPO)
        with warnings.catch_warnings(), contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):  # fmt: skip
            warnings_as_a_new_process_shows_them()
            try:
                runpy.run_path(str(REPO / "src" / script), run_name="__main__")
            except SystemExit as stopped:
                code = stopped.code if isinstance(stopped.code, int) else int(bool(stopped.code))
            except Exception:  # what the interpreter would print, and its exit status
                traceback.print_exc()
                code = 1
    finally:
        sys.argv, environ, cwd, threading.excepthook = saved
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        for name, log in loggers.items():
            for handler in log.handlers[:]:
                if handler not in handlers[name][0]:
                    handler.close()
            log.handlers[:] = handlers[name][0]
            log.setLevel(handlers[name][1])
        GlobalHydra.instance().clear()
    return subprocess.CompletedProcess(argv, code, stdout.getvalue(), stderr.getvalue())


def warnings_as_a_new_process_shows_them() -> None:
    """Python's default filters, and warnings printed on stderr (pytest records them instead)."""
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category, append=True)
    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: (
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
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


CHROMIUM = Path("/usr/bin/chromium")  # Debian's (make browser); Playwright drives it
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, for the pages lenetlab serves or documents (skipped without it)."""
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium here (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
