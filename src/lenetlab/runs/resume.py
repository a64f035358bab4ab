"""Continue an interrupted run in its own directory: ``python src/train.py resume=<run dir>``.

The command line is rewritten before Hydra reads it, into the run's own saved config
(<run dir>/.hydra/config.yaml) in the run's own directory, without writing over that config, plus
any further overrides (``resume=<dir> trainer.max_epochs=20``). train.py then fits from
<run dir>/checkpoints/last.ckpt: epochs, optimizer, scheduler, best checkpoint and TensorBoard
steps all carry on.
"""

import importlib
import logging
from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lenetlab.errors import UsageError

log = logging.getLogger(__name__)


def resume_command_line(argv: list[str]) -> tuple[list[str], str | None]:
    """``[script, ..., resume=<dir>, ...]`` -> the arguments that rerun that run from its config,
    and the run's folder (None and ``argv`` unchanged when there is no ``resume=``)."""
    resumes = [arg for arg in argv[1:] if arg.startswith("resume=")]
    if not resumes:
        return argv, None
    run_dir = Path(resumes[-1].split("=", 1)[1]).expanduser().resolve()
    config = run_dir / ".hydra" / "config.yaml"
    if not config.is_file():
        raise UsageError(f"resume={run_dir}: not a run directory (it has no .hydra/config.yaml)")
    if not last_checkpoint(run_dir).is_file():
        raise UsageError(f"resume={run_dir}: nothing to resume from (no checkpoints/last.ckpt)")
    check_classes_exist(OmegaConf.load(config), run_dir)
    others = [arg for arg in argv[1:] if not arg.startswith("resume=")]
    rewritten = [
        argv[0],
        f"--config-path={run_dir / '.hydra'}",
        "--config-name=config",
        f"hydra.run.dir={run_dir}",
        "hydra.output_subdir=null",  # keep the run's own .hydra/ as it was
        f"++resume={run_dir}",
        *others,
    ]
    return rewritten, str(run_dir)


def check_classes_exist(config: DictConfig, run_dir: Path) -> None:
    """A run saved by an older lenetlab may name classes that have moved since
    (``lenetlab.module.LeNetModule``): say so in one line instead of failing mid-start."""
    for name in targets(OmegaConf.to_container(config, resolve=False)):
        if not importable(name):
            raise UsageError(
                f"resume={run_dir}: this run was saved by an older lenetlab (its config names "
                f"{name}, which no longer exists), so it cannot be continued; start a new run, or "
                "test its checkpoints with python src/eval.py ckpt_path=<run>/checkpoints/last.ckpt"
            )


def importable(path: str) -> bool:
    module, _, name = path.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


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


def last_checkpoint(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints" / "last.ckpt"
