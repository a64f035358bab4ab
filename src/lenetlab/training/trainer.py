"""The run's Trainer: cfg.trainer with the callbacks and loggers of their config groups, plus what
every run keeps whatever those say (training/checkpointing.py), on the job's devices, once the
disk is known to have room for what it will write."""

import logging
import shutil
import time
from pathlib import Path

from hydra.utils import instantiate
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar, Timer
from omegaconf import DictConfig
from torch import nn

from lenetlab.errors import UsageError
from lenetlab.training.checkpointing import LastCheckpoint, run_callbacks, with_atomic_checkpoints

log = logging.getLogger("lenetlab")
KIB, MIB = 2**10, 2**20
# The callback hooks Lightning calls in every training step.
STEP_HOOKS = (
    "on_train_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_train_batch_end",
)


def build_trainer(
    cfg: DictConfig, model: LightningModule, devices=None, started: float | None = None
) -> Trainer:
    """``devices``: the job's (training/devices.py job_devices; None: trainer.devices);
    ``started``: when the command started (metrics.json's wall_time_s counts from there)."""
    devices = cfg.trainer.devices if devices is None else devices
    started = time.monotonic() if started is None else started
    run_dir = cfg.paths.output_dir
    check_free_space(run_dir, bytes_a_run_writes(model, cfg.trainer.max_epochs))
    loggers = [instantiate(node) for node in entries(cfg.get("logger"))]
    callbacks = [instantiate(node) for node in entries(cfg.get("callbacks"))]
    if not cfg.trainer.get("enable_progress_bar", True):
        # Lightning's own switch turns off callbacks.progress_bar too (Lightning would refuse
        # the pair: "enable_progress_bar=False but found RichProgressBar").
        callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
    plugins = [instantiate(node) for node in cfg.trainer.get("plugins") or []]
    return instantiate(
        cfg.trainer,
        devices=devices,
        callbacks=without_idle_step_hooks(run_callbacks(run_dir, started, callbacks)),
        logger=loggers or False,
        plugins=with_atomic_checkpoints(plugins),
    )


def without_idle_step_hooks(callbacks: list[Callback]) -> list[Callback]:
    """The callbacks, each with the step hooks that do nothing in this run set to None.

    Lightning calls all six step hooks of every callback, each inside a profiler context: with
    a run's ten callbacks, 60 calls a step that do nothing and cost about 0.25 ms, 2 % of a
    LeNet-5 step on a CPU (docs/benchmarks.md, issue 26). It skips a hook that is not callable.
    """
    for callback in callbacks:
        for hook in idle_step_hooks(callback):
            setattr(callback, hook, None)
    return callbacks


def idle_step_hooks(callback: Callback) -> list[str]:
    """The step hooks ``callback`` leaves as Callback's no-ops, and those of Lightning's own
    callbacks that only check a setting this one does not use: a checkpoint saved every N
    steps or minutes, a time limit."""
    own = {hook: getattr(type(callback), hook) for hook in STEP_HOOKS}
    idle = [hook for hook, method in own.items() if method is getattr(Callback, hook)]
    batch_end = own["on_train_batch_end"]  # Lightning's own, not a subclass's override
    if batch_end is ModelCheckpoint.on_train_batch_end:
        saves_in_steps = callback._every_n_train_steps > 0 or callback._train_time_interval
        idle += [] if saves_in_steps else ["on_train_batch_end"]
    if batch_end is Timer.on_train_batch_end and callback._duration is None:
        idle.append("on_train_batch_end")
    return idle


def entries(group: DictConfig | None) -> list[DictConfig]:
    """The configs of a dict-of-configs group (callbacks, logger); entries set to null are off."""
    return [node for node in (group or {}).values() if node is not None]


def checkpoint_to_test(trainer: Trainer, which: str) -> str | None:
    """The checkpoint file the test reads: ``best`` (by validation accuracy) or ``last``; None
    (test the weights as they are) when there is none, as after fast_dev_run."""
    if which == "best":
        path = trainer.checkpoint_callback.best_model_path  # callbacks.model_checkpoint, or last
    else:
        path = str(next(c.last_path for c in trainer.callbacks if isinstance(c, LastCheckpoint)))
    if path and Path(path).is_file():
        return path
    log.warning("No %s checkpoint (fast_dev_run or checkpointing off): testing the last weights.",
                which)  # fmt: skip
    return None


def bytes_a_run_writes(model: nn.Module, max_epochs: int) -> int:
    """A generous estimate: best.ckpt and last.ckpt plus one being written (weights, up to two
    optimizer moments, metadata), TensorBoard events (a prediction image an epoch), logs."""
    state = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    checkpoint = 3 * state + 64 * KIB
    epochs = max_epochs if max_epochs > 0 else 100
    return 3 * checkpoint + epochs * 64 * KIB + MIB


def check_free_space(run_dir: str | Path, needed: int) -> None:
    """Refuse to start a run its disk has no room for: one line now, not a failed write mid-run."""
    free = shutil.disk_usage(Path(run_dir)).free
    if free < needed:
        raise UsageError(
            f"{run_dir}: {free / MIB:.1f} MiB free on its disk, a run needs about "
            f"{needed / MIB:.1f} MiB (checkpoints, TensorBoard logs); free some space or write "
            "runs elsewhere with paths.log_dir=<folder>"
        )
