"""What build_trainer gives every run whatever the config says (training/checkpointing.py)."""

import pytest
from hydra.utils import instantiate
from lightning import Callback

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


def test_idle_step_hooks_are_dropped_and_the_used_ones_still_run(train_config):
    cfg = train_config("trainer.max_epochs=1", "+trainer.limit_train_batches=3")
    model = instantiate(cfg.model)
    trainer = build_trainer(cfg, model)
    counter = without_idle_step_hooks([StepCounter()])[0]
    trainer.callbacks.append(counter)
    for callback in trainer.callbacks:
        for hook in STEP_HOOKS:
            overridden = getattr(type(callback), hook) is not getattr(Callback, hook)
            assert (getattr(callback, hook) is not None) == overridden, (callback, hook)
    assert any(c.on_train_batch_start for c in trainer.callbacks)  # LR monitor's
    trainer.fit(model, datamodule=instantiate(cfg.data))  # Lightning skips the None hooks
    assert counter.steps == 3
