"""Run folders: a new one per run, sweep jobs named after their overrides, and no folder left
behind by a run that never started.

conf/hydra/default.yaml names the folders through two OmegaConf resolvers, ``new_dir`` and
``job_dirname``, which ``RunDirs.register_resolvers`` installs before Hydra composes the config.
"""

import contextlib
import hashlib
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from lenetlab.errors import unwritable_cause

# Room for the job number and a hash within a file system's 255-byte name limit.
MAX_NAME = 200
# What Hydra writes into a run folder before the run itself writes anything.
HYDRA_FILES = {".hydra", "train.log", "eval.log", "multirun.yaml"}


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


def holds_results(folder: Path) -> bool:
    """A checkpoint or a metrics.json anywhere inside: work a user may want back."""
    return any(folder.rglob("*.ckpt")) or any(folder.rglob("metrics.json"))


class RunDirs:
    """The run and sweep folders this command created (or ``claimed``), so a failed start can
    remove them."""

    def __init__(self, claimed: list[Path] | None = None):
        self.claimed: list[Path] = list(claimed or [])
        self.parents: list[Path] = []  # folders above them that new_dir created (outputs/eval)

    def new_dir(self, path: str) -> str:
        """``path``, created now; if it exists already, ``path-2``, ``path-3``, ...: a run never
        writes into another run's folder, even when both start in the same second (mkdir is
        atomic)."""
        for attempt in range(1, 1000):
            candidate = Path(path if attempt == 1 else f"{path}-{attempt}")
            missing = [p for p in candidate.parents if not p.exists()]
            try:
                candidate.mkdir(parents=True)
            except FileExistsError:
                continue
            self.claimed.append(candidate)
            self.parents += missing  # deepest first
            return str(candidate)
        raise FileExistsError(f"{path}: 999 runs of that name exist already")

    @property
    def last(self) -> str | None:
        return str(self.claimed[-1]) if self.claimed else None

    def register_resolvers(self) -> None:
        OmegaConf.register_new_resolver("job_dirname", job_dirname, replace=True)
        # Cached: every later reading of hydra.run.dir gets the folder claimed first.
        OmegaConf.register_new_resolver("new_dir", self.new_dir, replace=True, use_cache=True)

    def discard_unused(self, error: BaseException) -> None:
        """After ``error`` stopped the command: remove each folder it created that holds no
        results and either holds only what Hydra wrote (a bad value, missing data) or could not
        be written (a full disk, a read-only folder). A sweep's folder, holding its jobs'
        folders and their job.json, is kept."""
        for folder in self.claimed:
            if not folder.is_dir() or holds_results(folder):
                continue
            only_hydra_files = {p.name for p in folder.iterdir()} <= HYDRA_FILES
            if only_hydra_files or unwritable_cause(error):
                shutil.rmtree(folder, ignore_errors=True)
        for parent in self.parents:
            with contextlib.suppress(OSError):  # not empty: another run's, or results
                parent.rmdir()
