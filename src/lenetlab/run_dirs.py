"""Names of run directories, as OmegaConf resolvers the Hydra config uses."""

import hashlib
import shutil
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from lenetlab.errors import unwritable_cause

# Room for the job number and a hash within a file system's 255-byte name limit.
MAX_NAME = 200
# The folders new_dir created in this process: the ones a failed start may remove again.
CLAIMED: list[Path] = []


def job_dirname(job_num: int, override_dirname: str) -> str:
    """``3_data=mnist,model=lenet_relu``: a sweep job's folder, named after its overrides.

    Slashes in values (paths) become ``_``; a name too long for the file system is cut and ends
    in a hash of the whole, so it stays unique.
    """
    name = f"{job_num}_{override_dirname}".replace("/", "_")
    if len(name.encode()) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:MAX_NAME].decode(errors="ignore") + "~" + digest


def new_dir(path: str) -> str:
    """``path``, created now; if it exists already, ``path-2``, ``path-3``, ...: a run never writes
    into another run's folder, even when both start in the same second (mkdir is atomic)."""
    for attempt in range(1, 1000):
        candidate = Path(path if attempt == 1 else f"{path}-{attempt}")
        try:
            candidate.mkdir(parents=True)
            CLAIMED.append(candidate)
            return str(candidate)
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: 999 runs of that name exist already")


def holds_results(folder: Path) -> bool:
    """A checkpoint or a metrics.json anywhere inside: work a user may want back."""
    return any(folder.rglob("*.ckpt")) or any(folder.rglob("metrics.json"))


def remove_unused_run_dirs() -> None:
    """Remove the folders this process claimed that hold no results (a run that never started)."""
    for folder in CLAIMED:
        if folder.is_dir() and not holds_results(folder):
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def discarded_if_unused(run_dir: str):
    """Remove this run's new directory if the run stops before writing anything of its own
    (a bad value, missing data), or stops on a full disk or a read-only folder before its first
    checkpoint: a failed command leaves no trace in outputs/. Only for single runs: a sweep keeps
    failed jobs' folders, whose job.json the summary reads."""
    try:
        yield
    except BaseException as error:
        folder = Path(run_dir)
        in_sweep = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
        if folder.is_dir() and not in_sweep:
            only_config = {p.name for p in folder.iterdir()} <= {".hydra", "train.log"}
            if only_config or (unwritable_cause(error) and not holds_results(folder)):
                shutil.rmtree(folder, ignore_errors=True)
        raise


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("job_dirname", job_dirname, replace=True)
    # Cached: every later reading of hydra.run.dir in this process gets the folder claimed first.
    OmegaConf.register_new_resolver("new_dir", new_dir, replace=True, use_cache=True)
