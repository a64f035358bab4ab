"""Continue an interrupted run in its own directory: ``python src/train.py resume=<run dir>``,
or a whole sweep in its own: ``python src/train.py resume=<sweep dir>``.

The command line is rewritten before Hydra reads it, into the run's own saved config
(<run dir>/.hydra/config.yaml) in the run's own directory, without writing over that config, plus
any further overrides (``resume=<dir> trainer.max_epochs=20``). The folder's path reaches Hydra
through the environment (lenetlab.environment), never through its override grammar, so any
folder name resumes. train.py then fits from <run dir>/checkpoints/last.ckpt: epochs, optimizer,
scheduler, best checkpoint, TensorBoard steps and the run's clocks all carry on; a longer
``trainer.max_epochs`` stretches the schedule (LeNetModule.on_train_start).

A sweep is rerun from its ``multirun.yaml`` (the same overrides, launcher and sweeper) into its
own folder, where Hydra gives every job the number and folder it had: a job that finished is
kept as it is, one that was interrupted resumes from its last.ckpt, one that never started runs
(``continue_sweep_job``). An Optuna search continues its study and runs the trials it still
lacks (search/optuna_sweeper.py).
"""

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from lenetlab.cli.signatures import signature
from lenetlab.environment import RUN_DIR, RUN_DIR_VALUE
from lenetlab.errors import UsageError
from lenetlab.run_folder import (
    CONFIG_FILE,
    METRICS_FILE,
    MULTIRUN_FILE,
    finished,
    last_checkpoint,
)

log = logging.getLogger(__name__)

# What a resumed run may change: how it trains from here on, and where it finds its data. The
# network, the data it learns from and the optimizer are restored from last.ckpt, so a change
# there would be silently undone (or fail to load): it needs a new run.
RESUMABLE = ("trainer", "callbacks", "logger", "paths", "hydra", "test", "test_checkpoint",
             "compile", "data.data_dir", "data.download", "data.eval_batch_size")  # fmt: skip


def resume_command_line(argv: list[str]) -> tuple[list[str], str | None]:
    """``[script, ..., resume=<dir>, ...]`` -> the arguments that rerun that run from its config,
    and the run's folder (None and ``argv`` unchanged when there is no ``resume=``)."""
    resumes = [arg for arg in argv[1:] if arg.startswith("resume=")]
    if not resumes:
        return argv, None
    run_dir = Path(resumes[-1].split("=", 1)[1]).expanduser().resolve()
    others = [arg for arg in argv[1:] if not arg.startswith("resume=")]
    if (run_dir / MULTIRUN_FILE).is_file() and not (run_dir / CONFIG_FILE).is_file():
        return sweep_command_line(argv[0], run_dir, others), str(run_dir)
    config = run_dir / CONFIG_FILE
    if not config.is_file():
        raise UsageError(f"resume={run_dir}: not a run directory (it has no .hydra/config.yaml)")
    if not last_checkpoint(run_dir).is_file():
        raise UsageError(f"resume={run_dir}: nothing to resume from (no checkpoints/last.ckpt)")
    check_classes_exist(OmegaConf.load(config), run_dir)
    check_resumable(others, run_dir)
    os.environ[RUN_DIR] = str(run_dir)
    rewritten = [
        argv[0],
        f"--config-path={run_dir / '.hydra'}",
        "--config-name=config",
        f"hydra.run.dir={RUN_DIR_VALUE}",
        "hydra.output_subdir=null",  # keep the run's own .hydra/ as it was
        f"++resume={RUN_DIR_VALUE}",
        *others,
    ]
    return rewritten, str(run_dir)


def sweep_command_line(script: str, sweep_dir: Path, others: list[str]) -> list[str]:
    """The multirun that made ``sweep_dir`` again, into the same folder."""
    check_resumable(others, sweep_dir)
    saved = OmegaConf.load(sweep_dir / MULTIRUN_FILE).hydra.overrides
    task = OmegaConf.to_container(saved.task, resolve=False)
    parsed = OverridesParser.create().parse_overrides(list(saved.hydra))
    kept = [o.input_line for o in parsed if o.key_or_group not in ("hydra.sweep.dir", "hydra.mode")]
    os.environ[RUN_DIR] = str(sweep_dir)
    return [script, "--multirun", *kept, f"hydra.sweep.dir={RUN_DIR_VALUE}", *task, *others]


def continue_sweep_job(cfg: DictConfig) -> dict | None:
    """In a sweep being continued (``resume=<sweep dir>``): the metrics of this job if it
    finished (it is kept, not run again); otherwise None, with ``cfg.resume`` set to the job's
    folder when it has a last.ckpt to go on from."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    if os.environ.get(RUN_DIR) != HydraConfig.get().sweep.dir:
        return None
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    if finished(job_dir):
        log.info("kept: %s finished before", job_dir.name)
        return json.loads((job_dir / METRICS_FILE).read_text())
    if last_checkpoint(job_dir).is_file():
        with open_dict(cfg):
            cfg.resume = str(job_dir)
    return None


def check_resumable(overrides: list[str], run_dir: Path) -> None:
    flags = [o for o in overrides if o.startswith("-")]
    if flags:
        raise UsageError(f"resume={run_dir}: {flags[0]} does not apply to a resumed run")
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.key_or_group
        if not any(key == k or key.startswith(k + ".") for k in RESUMABLE):
            raise UsageError(
                f"resume={run_dir}: {override.input_line} cannot change a run that has started "
                "(its network, data and optimizer come back from last.ckpt); start a new run "
                "with it, or change only trainer.*, callbacks.*, logger.*, data.data_dir, test"
            )


def check_classes_exist(config: DictConfig, run_dir: Path) -> None:
    """A run saved by an older lenetlab may name classes that have moved since
    (``lenetlab.module.LeNetModule``): say so in one line instead of failing mid-start."""
    for name in targets(OmegaConf.to_container(config, resolve=False)):
        if signature(name) is None:
            raise UsageError(
                f"resume={run_dir}: this run was saved by an older lenetlab (its config names "
                f"{name}, which no longer exists), so it cannot be continued; start a new run, or "
                "test its checkpoints with python src/eval.py ckpt_path=<run>/checkpoints/last.ckpt"
            )


def targets(node) -> Iterator[str]:
    """Every ``_target_`` in a config (as plain containers)."""
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield node["_target_"]
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from targets(child)


def checkpoint_to_resume(cfg: DictConfig) -> Path | None:
    """``<resume>/checkpoints/last.ckpt`` when ``resume=`` is set, else None (a fresh start)."""
    if not cfg.get("resume"):
        return None
    path = last_checkpoint(cfg.resume)
    log.info("resuming from %s", path)
    return path
