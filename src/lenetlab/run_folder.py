"""What a run folder holds, by name, and the command that continues the run in it. Every path
and every printed "continue with" comes from here.

    <run>/.hydra/config.yaml       the run's config (resume=<run> reads it)
    <run>/checkpoints/last.ckpt    the latest state, always kept (training/checkpointing.py)
    <run>/checkpoints/best.ckpt    the best epoch by val/acc (callbacks.model_checkpoint)
    <run>/metrics.json             the final metrics (records/results.py)
    <run>/job.json                 a multirun job's status (records/sweep_summary.py)
    <sweep>/multirun.yaml          a multirun's config (resume=<sweep> continues it)
"""

import shlex
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

CHECKPOINTS = "checkpoints"
LAST = "last"  # checkpoints/last.ckpt
METRICS_FILE = "metrics.json"
JOB_FILE = "job.json"
MULTIRUN_FILE = "multirun.yaml"
CONFIG_FILE = Path(".hydra", "config.yaml")

# metrics.json's keys besides the metrics themselves (the sweep summary reads them too).
EPOCHS = "epochs"
WALL_TIME = "wall_time_s"  # the run's train.py commands, fit and test, added up over resumes
TRAIN_TIME = "train_time_s"  # training alone (callbacks.timer): steps and validations
TAGS = "tags"  # the run's tags=[...]


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def last_checkpoint(run_dir: str | Path) -> Path:
    """What ``resume=<run dir>`` starts from."""
    return checkpoint_dir(run_dir) / f"{LAST}.ckpt"


def resume_command(run_dir: str | Path) -> str:
    """The command that continues the run (or the sweep) in ``run_dir``, quoted for a shell."""
    return f"python src/train.py {shlex.quote(f'resume={run_dir}')}"


def finished(run_dir: str | Path) -> bool:
    """Did the run end with its results (metrics.json)?"""
    return (Path(run_dir) / METRICS_FILE).is_file()


def folder_to_resume(run_dir: str | Path) -> str:
    """What ``resume=`` continues for the run in ``run_dir``: in a multirun its sweep (every job
    of it goes on), else the run."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return HydraConfig.get().sweep.dir
    return str(run_dir)
