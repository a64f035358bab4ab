"""Errors the user can fix, reported as one line instead of a traceback."""

import errno
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

ONE_LINE = "LENETLAB_ONE_LINE_ERRORS"  # set by hydra_app.run_hydra_app, which prints errors itself


class UsageError(Exception):
    """Bad input (config, files, paths); the message says what is wrong and what to do."""


# Why a file could not be written and what to do, for the errors a user fixes outside lenetlab.
UNWRITABLE = {
    errno.ENOSPC: ("no space left on the disk", "free some space"),
    errno.EDQUOT: ("disk quota exceeded", "free some space"),
    errno.EROFS: ("the file system is read-only", "make it writable"),
    errno.EACCES: ("permission denied", "make it writable"),
    errno.EPERM: ("permission denied", "make it writable"),
}


def unwritable_cause(error: BaseException | None) -> OSError | None:
    """The full-disk / read-only / permission OSError behind ``error``, if that is what it is."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in UNWRITABLE:
            return error
        error = error.__cause__ or error.__context__
    return None


def unwritable_message(error: OSError, folder: str | None = None) -> str:
    where = error.filename or folder or "the run's output folder"
    reason, fix = UNWRITABLE[error.errno]
    elsewhere = "or write runs elsewhere with paths.log_dir=<folder>"
    return f"cannot write {where}: {reason}; {fix}, {elsewhere}"


@contextmanager
def exit_on_usage_error(run_dir: str | None = None):
    """Print a UsageError, or a full-disk / read-only error, as one line and exit 2;
    HYDRA_FULL_ERROR=1 shows the traceback.

    Inside a multirun the error is raised instead: Hydra then records that one job as failed
    (the sweep summary shows the line) and the other jobs still run. ``run_dir``: the run's
    folder, named when the disk fills up; if it holds a last.ckpt, the line says how to resume.
    """
    try:
        yield
    except (UsageError, OSError) as error:
        cause = None if isinstance(error, UsageError) else unwritable_cause(error)
        if cause is None and not isinstance(error, UsageError):
            raise
        in_multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
        wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1" and ONE_LINE not in os.environ
        if in_multirun or wants_traceback:
            raise
        message = unwritable_message(cause, run_dir) if cause else str(error)
        if cause and run_dir and (Path(run_dir) / "checkpoints" / "last.ckpt").is_file():
            message += f"; then continue with: python src/train.py resume={run_dir}"
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2) from None
