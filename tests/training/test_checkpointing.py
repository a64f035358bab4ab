"""What build_trainer gives every run whatever the config says (training/checkpointing.py)."""

import pytest
from hydra.utils import instantiate

from lenetlab.training.checkpointing import AtomicCheckpointIO, LastCheckpoint
from lenetlab.training.trainer import build_trainer


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
