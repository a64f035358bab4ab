"""Ctrl-C during training: save where it stopped, say how to go on, exit."""

import logging
from pathlib import Path

from lightning import Callback

log = logging.getLogger("lenetlab")


class CheckpointOnInterrupt(Callback):
    def on_exception(self, trainer, pl_module, exception):
        checkpoint = trainer.checkpoint_callback
        if not isinstance(exception, KeyboardInterrupt) or not trainer.training:
            return
        if checkpoint is None or checkpoint.dirpath is None or not trainer.is_global_zero:
            return
        path = Path(checkpoint.dirpath) / "last.ckpt"  # what resume=<run dir> starts from
        # Rank 0 alone: trainer.save_checkpoint would wait at a barrier for DDP ranks that the
        # same Ctrl-C stopped, perhaps inside a collective. Written to a temporary file, then
        # renamed (AtomicCheckpointIO).
        contents = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
        trainer.strategy.checkpoint_io.save_checkpoint(contents, path)
        run_dir = path.parent.parent
        log.warning(
            "interrupted at epoch %d, step %d; saved %s. Continue with: "
            "python src/train.py resume=%s",
            trainer.current_epoch + 1,
            trainer.global_step,
            path,
            run_dir,
        )
