"""Writing a run's files safely: whole or not at all.

Every file a run writes for later (checkpoints, metrics.json, job.json, the sweep summary) goes
through ``write_atomic``: a temporary file in the same folder, renamed into place, so a kill or a
full disk mid-write leaves the previous version, never half a file, and no temporary file behind.
"""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

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
