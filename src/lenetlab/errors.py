"""Errors the user can fix, reported as one line instead of a traceback."""

import os
import sys
from contextlib import contextmanager

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode


class UsageError(Exception):
    """Bad input (config, files, paths); the message says what is wrong and what to do."""


@contextmanager
def exit_on_usage_error():
    """Print a UsageError as one line and exit 2; HYDRA_FULL_ERROR=1 shows the traceback.

    Inside a multirun the error is raised instead: Hydra then records that one job as failed
    (the sweep summary shows the line) and the other jobs still run.
    """
    try:
        yield
    except UsageError as error:
        in_multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
        if in_multirun or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
