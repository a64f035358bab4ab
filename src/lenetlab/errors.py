"""Errors the user can fix, reported as one line instead of a traceback."""

import os
import sys
from contextlib import contextmanager


class UsageError(Exception):
    """Bad input (config, files, paths); the message says what is wrong and what to do."""


@contextmanager
def exit_on_usage_error():
    """Print a UsageError as one line and exit 2; HYDRA_FULL_ERROR=1 shows the traceback."""
    try:
        yield
    except UsageError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
