"""Run a ``@hydra.main`` function with every error a user can fix printed as one line, exit 2."""

import os
import sys
import threading

from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

from lenetlab.errors import ONE_LINE, UsageError, unwritable_cause, unwritable_message
from lenetlab.run_dirs import CLAIMED, remove_unused_run_dirs

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
    threading.excepthook = quiet_unwritable_thread_errors
    try:
        main()
    except (*HYDRA_CONFIG_ERRORS, UsageError) as error:  # UsageError: a failed sweep job
        print(f"error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as error:  # Hydra creating the run folder or writing .hydra/ into it
        cause = unwritable_cause(error)
        if cause is None:
            raise
        folder = str(CLAIMED[-1]) if CLAIMED else None
        remove_unused_run_dirs()
        print(f"error: {unwritable_message(cause, folder)}", file=sys.stderr)
        raise SystemExit(2) from None


def quiet_unwritable_thread_errors(args) -> None:
    """A full disk stops TensorBoard's writer thread too; the main thread meets the same error
    at its next flush and prints the one line, so the thread's traceback is left out."""
    if unwritable_cause(args.exc_value) is None:
        threading.__excepthook__(args)


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
