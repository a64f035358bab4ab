"""The one way in for every command: ``src/<command>.py`` is

    from lenetlab.cli.launch import launch

    if __name__ == "__main__":
        launch("lenetlab.commands.train", config_name="train")  # conf/train.yaml

and ``launch`` keeps the README's promises for single runs and multiruns alike. Hydra composes
the config (``resume=<run dir>`` becomes that run's own config, cli/resume.py); cli/checks.py
checks all of it before the command's module, and with it torch and Lightning, is imported;
every error a user can fix (a config mistake, missing data, a full disk, a read-only folder) is
one line on stderr and exit code 2; and a folder created for a run that never started is
removed again. In a multirun a job's error fails that job only: Hydra records it (the sweep
summary shows its line) and the other jobs run. ``HYDRA_FULL_ERROR=1`` shows the tracebacks.
"""

import atexit
import ctypes
import importlib
import logging
import os
import sys
import threading
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from lenetlab.cli.checks import (
    CONF_DIR,
    check_config,
    check_removed_groups,
    unknown_override,
)
from lenetlab.cli.resume import continue_sweep_job, resume_command_line
from lenetlab.cli.run_dirs import RunDirs
from lenetlab.environment import is_other_rank, leave_for_rank_zero, lost_connection
from lenetlab.errors import TRACEBACKS_ASKED, one_line, unwritable_cause
from lenetlab.run_folder import last_checkpoint, resume_command


def launch(command_module: str, config_name: str) -> None:
    """Run ``<command_module>.main(cfg)`` as Hydra's task function on conf/<config_name>.yaml,
    once the config is checked."""
    show_tracebacks = TRACEBACKS_ASKED
    quick_exit = QuickExit()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises its errors instead of printing them
    run_dirs = RunDirs()
    run_dirs.register_resolvers()  # before Hydra composes the config
    silence_library_noise()
    threading.excepthook = quiet_unwritable_thread_errors

    def job(cfg: DictConfig):  # every path runs it: one process, DDP ranks, sweep workers, SLURM
        keep_freed_memory()
        try:
            check_config(cfg, config_name)
            kept = continue_sweep_job(cfg)  # resume=<sweep dir>: a finished job is not rerun
            if kept is not None:
                return kept.get(cfg.optimized_metric)  # what train's main returns
            command = importlib.import_module(command_module)  # torch, Lightning: seconds
            lightning_logs_through_hydra()
            return command.main(cfg)
        except Exception as error:
            if HydraConfig.get().mode == RunMode.MULTIRUN:
                raise  # this job failed, the sweep goes on
            # Stopped here, before Hydra prints "Error executing job" above the line.
            run_dir = HydraConfig.get().runtime.output_dir
            stop(error, RunDirs([Path(run_dir)]), run_dir, show_tracebacks)

    job.__module__ = config_name  # Hydra names the job, and its log file, after this module
    try:
        check_removed_groups(sys.argv[1:], config_name, CONF_DIR)
        sys.argv, resumed = resume_command_line(sys.argv)
    except Exception as error:
        stop(error, run_dirs, None, show_tracebacks)
    try:
        hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)(job)()
    except Exception as error:  # before or around the jobs: composing, the run folder, a sweep
        stop(error, run_dirs, resumed or run_dirs.last, show_tracebacks)
    except BaseException as stop_signal:  # Ctrl-C, SystemExit: no line to print, no empty folder
        run_dirs.discard_unused(stop_signal)
        raise
    quick_exit.finished = True


class QuickExit:
    """Ends the process of a command that finished without the interpreter's teardown.

    Once torch, torchvision and Lightning are imported, Python's teardown of their modules takes
    1.5-2 s (measured: `import lightning.pytorch, torchvision, hydra` and exit, 6.3 s; with
    os._exit, 4.6 s), a quarter of a fast_dev_run, and saves nothing: the command has closed
    its files, loggers and trackers, and the other exit handlers have run (this one, registered
    before the libraries are imported, runs last). Only for a command that returned normally
    (exit 0; an error takes the usual way out) and whose interpreter was started to run its
    script (`python src/<command>.py`): not under `python -m` (coverage, cProfile, pytest),
    -c, -i or a test's in-process run.
    """

    def __init__(self):
        self.finished = False
        if started_for_this_script():
            atexit.register(self.exit_if_finished)

    def exit_if_finished(self) -> None:
        if not self.finished:
            return
        logging.shutdown()  # Hydra's log file among them
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
        os._exit(0)


def started_for_this_script() -> bool:
    """Whether this interpreter was started as `python [its options] <sys.argv[0]> ...`."""
    script_at = len(sys.orig_argv) - len(sys.argv)
    if script_at < 1 or sys.orig_argv[script_at] != sys.argv[0] or sys.flags.interactive:
        return False
    options = sys.orig_argv[1:script_at]
    return not any(option in ("-m", "-c") for option in options)


def stop(error: Exception, run_dirs: RunDirs, run_dir: str | None, show_traceback: bool):
    """Remove the folders the failed command leaves unused, then print the error's one line and
    exit 2; raise ``error`` instead if it is not one a user can fix (a bug)."""
    run_dirs.discard_unused(error)
    message = one_line(unknown_override(error) or error, run_dir)
    if is_other_rank() and not show_traceback:  # rank 0 of a DDP run speaks for the run
        if message is not None:
            leave_for_rank_zero(message)
            raise SystemExit(2) from None
        if lost_connection(error):  # to rank 0, which stopped first and says why
            raise SystemExit(1) from None
    if message is None or show_traceback:
        raise error
    if unwritable_cause(error) and run_dir and last_checkpoint(run_dir).is_file():
        message += f"; then continue with: {resume_command(run_dir)}"
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2) from None


def silence_library_noise() -> None:
    """Third-party messages that say nothing about the user's run."""
    # TensorBoard draws the model graph with torch.jit.trace, which torch 2.14 deprecates.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace(_method)?` is deprecated")
    # Lightning 2.6 calls a torch.utils._pytree API that torch 2.14 deprecates, once per fit.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    # In-process loading is deliberate (a batch is one tensor gather), not a bottleneck.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # compile=true: Inductor's CPU build looks for CUDA and warns, once, that it found none.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    # Advertisements printed at every Trainer start.
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(lambda record: "💡 Tip" not in record.getMessage())


# glibc's mallopt parameters, and the values set: blocks up to 64 MiB (a step's largest tensor
# at batch 1,024 is 19 MiB) come from the heap, which keeps up to 512 MiB of freed memory.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEPT_FREED_BYTES, HEAP_BLOCK_BYTES = 512 << 20, 64 << 20


def keep_freed_memory() -> bool:
    """Keep freed memory for the next allocation instead of returning it to the kernel; False
    where the C library is not glibc.

    A training step allocates and frees the same few megabytes of activations and gradients. By
    default glibc serves blocks over 128 KiB with mmap and unmaps them when freed, so every step
    faults in and zeroes fresh pages, until its threshold has crept up by itself: a new
    process's first 300 steps of the bare loop ran x1.2-1.4 faster with this set
    (docs/benchmarks.md, speed round 3). Set in-process,
    as MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ would from outside, for the allocations to
    come. The cost: a process's heap stays at its peak (up to 512 MiB more) until it exits.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # macOS, Windows: no glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEPT_FREED_BYTES)
    )


def lightning_logs_through_hydra() -> None:
    """Lightning gives its logger a console handler of its own when it is imported; imported
    after Hydra set up logging (the config is checked first), its lines would print twice. They
    go through Hydra's handlers instead: once on the console, and into the run's log file."""
    if logging.getLogger().hasHandlers():
        logger = logging.getLogger("lightning")
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def quiet_unwritable_thread_errors(args) -> None:
    """A full disk stops TensorBoard's writer thread too; the main thread meets the same error
    at its next flush and prints the one line, so the thread's traceback is left out."""
    if unwritable_cause(args.exc_value) is None:
        threading.__excepthook__(args)
