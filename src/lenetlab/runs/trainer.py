"""The run's Trainer: cfg.trainer with the callbacks and loggers of their config groups, on the
devices this job may use, once the disk is known to have room for what it will write."""

import logging
from pathlib import Path

from hydra.utils import instantiate
from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig

from lenetlab.runs.devices import devices_for_job
from lenetlab.runs.files import bytes_a_run_writes, check_free_space

log = logging.getLogger("lenetlab")


def build_trainer(cfg: DictConfig, model: LightningModule) -> Trainer:
    check_free_space(cfg.paths.output_dir, bytes_a_run_writes(model, cfg.trainer.max_epochs))
    # TensorBoard draws the graph with a jit trace, which cannot trace a compiled model.
    no_graph = {"log_graph": False} if cfg.compile else {}
    loggers = [instantiate(node, **no_graph) for node in entries(cfg.get("logger"))]
    callbacks = [instantiate(node) for node in entries(cfg.get("callbacks"))]
    if not cfg.trainer.get("enable_progress_bar", True):
        # Lightning's own switch turns off callbacks.progress_bar too (Lightning would refuse
        # the pair: "enable_progress_bar=False but found RichProgressBar").
        callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
    return instantiate(
        cfg.trainer,
        devices=devices_for_job(cfg.trainer),
        callbacks=callbacks,
        logger=loggers or False,
    )


def entries(group: DictConfig | None) -> list[DictConfig]:
    """The configs of a dict-of-configs group (callbacks, logger); entries set to null are off."""
    return [node for node in (group or {}).values() if node is not None]


def checkpoint_to_test(trainer: Trainer, which: str) -> str | None:
    """The checkpoint file the test reads: ``best`` (by validation accuracy) or ``last``; None
    (test the weights as they are) when there is none, as after fast_dev_run."""
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None and checkpoint.dirpath:
        best = checkpoint.best_model_path
        path = best if which == "best" else str(Path(checkpoint.dirpath) / "last.ckpt")
        if path and Path(path).is_file():
            return path
    log.warning("No %s checkpoint (fast_dev_run or checkpointing off): testing the last weights.",
                which)  # fmt: skip
    return None
