"""Writing a run's files safely: whole or not at all, and only when the disk has room.

Every file a run writes for later (checkpoints, metrics.json, job.json, the sweep summary) goes
through ``write_atomic``: a temporary file in the same folder, renamed into place, so a kill or a
full disk mid-write leaves the previous version, never half a file, and no temporary file behind.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from torch import nn

from lenetlab.errors import UsageError

KIB, MIB = 2**10, 2**20
# Read once, at import: os.umask can only be read by setting it, which races with other threads.
UMASK = os.umask(0o022)
os.umask(UMASK)


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text.encode()))


def write_json_atomic(path: str | Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


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
