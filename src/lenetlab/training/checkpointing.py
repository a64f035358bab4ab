"""What every training run keeps, whatever ``callbacks=``, ``logger=`` or ``trainer.plugins=``
say: build_trainer adds these in code, so no config choice can drop them.

- Checkpoints are written atomically (``AtomicCheckpointIO``): a kill mid-write leaves the
  previous file, never half a new one.
- ``checkpoints/last.ckpt`` is rewritten after every epoch (``LastCheckpoint``) and saved where
  training stopped on Ctrl-C, with the command that continues the run.
- ``RunClock`` (records/results.py) carries the run's wall time across resumes.
- A tracker (MLflow, W&B) is sent only what last.ckpt covers (records/loggers.py ``Tracker``):
  ``TrackersHold`` holds what an epoch logs from its start, LastCheckpoint releases it once
  saved; so a resume from last.ckpt logs nothing the tracker already has.
"""

import logging
from pathlib import Path

import torch
from lightning import Callback
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import CheckpointIO, TorchCheckpointIO

from lenetlab.records.files import write_atomic
from lenetlab.records.loggers import trackers
from lenetlab.records.results import RunClock
from lenetlab.run_folder import (
    LAST,
    checkpoint_dir,
    folder_to_resume,
    last_checkpoint,
    resume_command,
)

log = logging.getLogger("lenetlab")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file in its own folder, then rename it into place.
    (Lightning's own save stages the file in the system temp folder, which is only a rename when
    that is on the same file system.)"""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        write_atomic(path, lambda f: torch.save(checkpoint, f))


def with_atomic_checkpoints(plugins: list) -> list:
    """``trainer.plugins`` with AtomicCheckpointIO in place of a plain TorchCheckpointIO; a
    checkpoint IO of the user's own (e.g. to object storage) is kept as it is."""
    kept = [p for p in plugins if type(p) is not TorchCheckpointIO]
    if any(isinstance(p, CheckpointIO) for p in kept):
        return kept
    return [*kept, AtomicCheckpointIO()]


class LastCheckpoint(ModelCheckpoint):
    """``checkpoints/last.ckpt``: the latest epoch, rewritten every epoch (Lightning 2.6's
    save_last only rewrites it when a best checkpoint is saved too), and on Ctrl-C the step
    where training stopped."""

    def __init__(self, run_dir: str | Path):
        super().__init__(
            dirpath=checkpoint_dir(run_dir), filename=LAST, save_top_k=1,
            enable_version_counter=False,  # overwrite last.ckpt, never last-v1.ckpt
        )  # fmt: skip
        self.run_dir = Path(run_dir)
        self.last_path = last_checkpoint(run_dir)

    def _save_checkpoint(self, trainer, filepath) -> None:
        super()._save_checkpoint(trainer, filepath)
        for tracker in trackers(trainer):
            tracker.release()

    def on_exception(self, trainer, pl_module, exception):
        if not isinstance(exception, KeyboardInterrupt) or not trainer.training:
            return
        if not trainer.is_global_zero:
            return
        path = self.last_path
        # Rank 0 alone: trainer.save_checkpoint would wait at a barrier for DDP ranks that the
        # same Ctrl-C stopped, perhaps inside a collective.
        contents = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
        trainer.strategy.checkpoint_io.save_checkpoint(contents, path)
        for tracker in trackers(trainer):
            tracker.release()
        log.warning(
            "interrupted at epoch %d, step %d; saved %s. Continue with: %s",
            trainer.current_epoch + 1, trainer.global_step, path,
            resume_command(folder_to_resume(self.run_dir)),
        )  # fmt: skip


class TrackersHold(Callback):
    """The first callback (run_callbacks puts it first): at an epoch's start, before any other
    callback logs (the learning rate), trackers start holding what is logged."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        for tracker in trackers(trainer):
            tracker.hold()


def run_callbacks(run_dir: str | Path, started: float, callbacks: list[Callback]) -> list:
    """The config's ``callbacks`` with what every run keeps around them: TrackersHold first (its
    epoch start before any other's), LastCheckpoint after them (``trainer.checkpoint_callback``
    stays the config's model_checkpoint, the first ModelCheckpoint)."""
    return [TrackersHold(), *callbacks, LastCheckpoint(run_dir), RunClock(started)]
