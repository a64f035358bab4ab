"""What build_trainer gives every run whatever the config says (training/checkpointing.py)."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from lightning import Callback
from lightning.pytorch.callbacks import ModelCheckpoint

from lenetlab.training.checkpointing import AtomicCheckpointIO, LastCheckpoint
from lenetlab.training.trainer import STEP_HOOKS, build_trainer, without_idle_step_hooks


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["callbacks=none"],
        ["callbacks=[early_stopping]"],
        ["logger=[]"],
        ["trainer.plugins=[{_target_:lightning.pytorch.plugins.io.TorchCheckpointIO}]"],
    ],
)
def test_every_trainer_writes_last_ckpt_atomically(train_config, overrides):
    cfg = train_config(*overrides)
    trainer = build_trainer(cfg, instantiate(cfg.model))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    (last,) = [c for c in trainer.callbacks if isinstance(c, LastCheckpoint)]
    assert str(last.last_path) == f"{cfg.paths.output_dir}/checkpoints/last.ckpt"


def test_a_checkpoint_io_of_ones_own_is_kept(train_config):
    cfg = train_config("trainer.plugins=[{_target_:probes.RecordingCheckpointIO}]")
    trainer = build_trainer(cfg, instantiate(cfg.model))
    assert type(trainer.strategy.checkpoint_io).__name__ == "RecordingCheckpointIO"


class StepCounter(Callback):
    """Overrides one step hook: it must keep running when the idle ones are dropped."""

    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps += 1


def step_hooks_kept(trainer) -> set[tuple[str, str]]:
    return {
        (type(callback).__name__, hook)
        for callback in trainer.callbacks
        for hook in STEP_HOOKS
        if getattr(callback, hook) is not None
    }


def test_idle_step_hooks_are_dropped_and_the_used_ones_still_run(train_config):
    cfg = train_config("trainer.max_epochs=1", "+trainer.limit_train_batches=3")
    model = instantiate(cfg.model)
    trainer = build_trainer(cfg, model)
    counter = without_idle_step_hooks([StepCounter()])[0]
    trainer.callbacks.append(counter)
    # the checkpoints save at epoch ends, the timer has no limit: nothing to do in a step
    assert step_hooks_kept(trainer) == {
        ("LearningRateMonitor", "on_train_batch_start"),
        ("StepCounter", "on_train_batch_end"),
    }
    trainer.fit(model, datamodule=instantiate(cfg.data))  # Lightning skips the None hooks
    assert counter.steps == 3


def test_a_checkpoint_every_n_steps_and_a_time_limit_keep_their_step_hooks(train_config):
    every_2_steps = (
        "+callbacks.model_checkpoint.every_n_train_steps=2",
        "callbacks.model_checkpoint.monitor=null",
        "callbacks.model_checkpoint.save_top_k=-1",
        "callbacks.model_checkpoint.filename='at-{step}'",
    )
    cfg = train_config("trainer.max_epochs=1", "+trainer.limit_train_batches=4",
                       "callbacks.timer.duration=00:01:00:00", *every_2_steps)  # fmt: skip
    model = instantiate(cfg.model)
    trainer = build_trainer(cfg, model)
    kept = step_hooks_kept(trainer)
    assert {("ModelCheckpoint", "on_train_batch_end"), ("Timer", "on_train_batch_end")} <= kept
    assert ("LastCheckpoint", "on_train_batch_end") not in kept
    trainer.fit(model, datamodule=instantiate(cfg.data))
    saved = sorted(p.name for p in Path(cfg.paths.output_dir, "checkpoints").glob("*.ckpt"))
    assert "at-2.ckpt" in saved, saved  # saved mid-epoch, by its step hook


class CheckpointWithStepWork(ModelCheckpoint):
    """A subclass with a step hook of its own: it is kept, whatever the checkpoint's settings."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def test_a_subclass_step_hook_is_never_dropped():
    (kept,) = without_idle_step_hooks([CheckpointWithStepWork()])
    assert kept.on_train_batch_end is not None
    (plain,) = without_idle_step_hooks([ModelCheckpoint()])
    assert plain.on_train_batch_end is None
