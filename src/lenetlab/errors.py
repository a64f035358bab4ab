"""Errors the user can fix, reported as one line instead of a traceback."""

import os
import sys
from contextlib import contextmanager

from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.types import RunMode

ONE_LINE = "LENETLAB_ONE_LINE_ERRORS"  # set by run_hydra_app, which prints UsageErrors itself


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
        wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1" and ONE_LINE not in os.environ
        if in_multirun or wants_traceback:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


# Hydra's own config errors: an unknown group choice or key, an override it cannot parse.
HYDRA_CONFIG_ERRORS = (ConfigCompositionException, MissingConfigException, OverrideParseException)


def run_hydra_app(main) -> None:
    """Run a ``@hydra.main`` function so that config mistakes Hydra finds are one line, exit 2.

    Hydra prints those errors over several lines and exits 1; told to raise them instead
    (HYDRA_FULL_ERROR), it lets this function print them. A user who set HYDRA_FULL_ERROR=1
    gets Hydra's own output and tracebacks.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    os.environ[ONE_LINE] = "1"
    try:
        main()
    except (*HYDRA_CONFIG_ERRORS, UsageError) as error:  # UsageError: a failed sweep job
        print(f"error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None


def one_line(error: BaseException) -> str:
    """Hydra's multi-line messages on one line; lists after a colon joined by commas."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "Config search path:" in lines:
        lines = lines[: lines.index("Config search path:")]
    parts, items = [], None  # items: the lines listed after a line ending in ":"
    for line in lines:
        if items is not None:
            items.append(line)
            continue
        parts.append(line)
        if line.endswith(":"):
            items = []
    message = "; ".join(parts) + (" " + ", ".join(items) if items else "")
    cause = error.__cause__
    if isinstance(error, ConfigCompositionException) and cause is not None:
        message += f" ({str(cause).splitlines()[0]})"
    return message
