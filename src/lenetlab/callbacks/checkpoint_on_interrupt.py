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
        if checkpoint is None or checkpoint.dirpath is None:
            return
        path = Path(checkpoint.dirpath) / "last.ckpt"  # what resume=<run dir> starts from
        trainer.save_checkpoint(path)  # written to a temporary file, then renamed
        run_dir = path.parent.parent
        log.warning(
            "interrupted at epoch %d, step %d; saved %s. Continue with: "
            "python src/train.py resume=%s",
            trainer.current_epoch + 1,
            trainer.global_step,
            path,
            run_dir,
        )
