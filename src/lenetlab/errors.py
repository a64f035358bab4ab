"""Errors the user can fix, and the one line each is reported as instead of a traceback.

Every layer raises them (config rules, data, checkpoints, the run machinery); only
``cli.launch`` prints them, once, for the whole command.
"""

import errno
import os
import sys

from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)

# The user's own choice, read before cli.launch sets the variable for Hydra's sake.
TRACEBACKS_ASKED = os.environ.get("HYDRA_FULL_ERROR") == "1"


class UsageError(Exception):
    """Bad input (config, files, paths); the message says what is wrong and what to do."""


# Hydra's own config errors: an unknown group choice or key, an override it cannot parse.
HYDRA_CONFIG_ERRORS = (ConfigCompositionException, MissingConfigException, OverrideParseException)

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


def one_line(error: BaseException, run_dir: str | None = None) -> str | None:
    """The line to print for an error the user can fix, or None for anything else (a bug: its
    traceback is what helps). ``run_dir``: the run's folder, named when the disk fills up."""
    if isinstance(error, UsageError):
        return str(error)
    if isinstance(error, InstantiationException) and isinstance(error.__cause__, UsageError):
        return str(error.__cause__)  # refused by what Hydra was building, e.g. the sweeper
    if isinstance(error, OverrideParseException) and error.override:
        return f"{error.override}: {hydra_message(error)}"  # Hydra's words leave it out
    if isinstance(error, HYDRA_CONFIG_ERRORS):
        return hydra_message(error)
    if isinstance(error, InstantiationException) and is_misconfiguration(error.__cause__):
        return f"{config_key(error)}: {error.__cause__}"
    cause = unwritable_cause(error)
    if cause is None:
        return None
    return unwritable_message(cause, run_dir)


def is_misconfiguration(error: BaseException | None) -> bool:
    """Lightning refusing a combination of settings (checked without importing Lightning: where
    it raised, it is loaded)."""
    module = sys.modules.get("lightning.fabric.utilities.exceptions")
    return module is not None and isinstance(error, module.MisconfigurationException)


def config_key(error: InstantiationException) -> str:
    """The config node Hydra failed to build (its message ends in 'full_key: trainer')."""
    last = str(error).strip().splitlines()[-1]
    return last.removeprefix("full_key: ") if last.startswith("full_key: ") else "config"


def hydra_message(error: BaseException) -> str:
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
