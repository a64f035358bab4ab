"""``trainer=ddp`` on one machine: this process is rank 0, and starts ranks 1..n-1 as copies of
the same job (``python src/train.py <this job's overrides>``, in this job's run folder).

Lightning then joins the processes as it joins torchrun's or SLURM's (``LOCAL_RANK`` is set, so
it starts none itself). Why not its own launchers: ``ddp`` restarts the script with the command
line it was given, which under ``-m`` runs the whole sweep again in every child; ``ddp_spawn``
trains in children while the Hydra job's own Trainer, the one that Ctrl-C saves and a sweep reads
its result from, never trains, and it starts the processes twice (fit, then test). Here rank 0 is
the job itself, so every single-process promise holds as it is:

- Ctrl-C reaches every rank (one process group); rank 0 saves ``last.ckpt`` with its progress.
- An error in any rank is one line: the other ranks leave theirs in a file for rank 0 and exit
  quietly, rank 0 prints one line for the run (its own, or the failed rank's).
- The other ranks die with rank 0, even under ``kill -9`` (the kernel's parent-death signal), and
  rank 0 stops when one of them dies.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment
from omegaconf import DictConfig, OmegaConf

from lenetlab.environment import RANK_ERRORS, RUN_DIR, RUN_DIR_VALUE, lost_connection
from lenetlab.errors import TRACEBACKS_ASKED, UsageError, one_line
from lenetlab.run_folder import folder_to_resume, last_checkpoint, resume_command
from lenetlab.training.devices import device_count

STARTUP_GRACE_S = 30  # rank 0 waits in the rendezvous for ranks that may have died


class RankFailed(UsageError):
    """Another rank of this run stopped; the message is its one line."""


def processes_to_start(trainer_cfg: DictConfig) -> int:
    """How many processes this command runs the job in: one per device for the ``ddp``
    strategy, unless SLURM, torchrun or this module already started them; else 1."""
    if trainer_cfg.get("strategy") != "ddp" or "LOCAL_RANK" in os.environ:
        return 1
    if SLURMEnvironment.detect() or TorchElasticEnvironment.detect():
        return 1
    return device_count(trainer_cfg)


class OtherRanks:
    """``with OtherRanks(cfg, devices):`` runs the block in ranks 1..n-1 too (no-op for one
    process).

    Leaving the block waits for the other ranks to finish theirs; leaving it on an error stops
    them, and an error that is only a consequence of another rank's (the connection to it
    broke) becomes that rank's one line."""

    def __init__(self, cfg: DictConfig, devices):
        self.trainer_cfg = cfg.trainer
        self.devices = devices  # the job's (devices.job_devices): the same in every rank
        self.resuming = bool(cfg.get("resume"))  # set in code, too, for a continued sweep's job
        self.count = processes_to_start(cfg.trainer)
        self.processes: dict[int, subprocess.Popen] = {}
        self.failed: tuple[int, int] | None = None  # (rank, exit code) of the first to fail
        self.saved_env: dict[str, str | None] = {}
        self.errors_dir: tempfile.TemporaryDirectory | None = None
        self.done = threading.Event()

    def __enter__(self):
        if self.count <= 1:
            return self
        self.errors_dir = tempfile.TemporaryDirectory(prefix="lenetlab-ranks-")
        shared = {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": str(self.count),
            "NODE_RANK": "0",
            RANK_ERRORS: self.errors_dir.name,
        }
        tracebacks = {"HYDRA_FULL_ERROR": "1" if TRACEBACKS_ASKED else "0"}
        command, job_env = job_command_line()
        command.append(f"trainer.devices={self.devices}".replace(" ", ""))
        if self.resuming:  # from this run folder's last.ckpt, as rank 0
            command.append(f"++resume={RUN_DIR_VALUE}")
        for rank in range(1, self.count):
            env = os.environ | shared | tracebacks | job_env | {"LOCAL_RANK": str(rank)}
            self.processes[rank] = subprocess.Popen(command, env=env, preexec_fn=die_with_parent)
        for name, value in (shared | {"LOCAL_RANK": "0"}).items():  # Lightning reads these
            self.saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        threading.Thread(target=self.watch, daemon=True, name="lenetlab-ranks").start()
        return self

    def __exit__(self, kind, error, traceback):
        if self.count <= 1:  # one process, or a rank started by rank 0, SLURM or torchrun
            try:
                leave_process_group()
            except Exception:
                if error is None:
                    raise
                # else: the error on its way out says more than a group already broken by it
            return False
        if error is not None:  # did another rank fail first? Its end may lag the broken link.
            self.note_failure(within_s=5 if lost_connection(error) else 0)
        self.done.set()  # from here on, a rank that ends is this exit's doing
        try:
            self.wait() if error is None else self.stop()
            failure = self.failure_message()
        finally:
            leave_process_group()  # after the other ranks ended: this process serves the group
            for name, value in self.saved_env.items():
                os.environ.pop(name, None) if value is None else os.environ.update({name: value})
            self.errors_dir.cleanup()
        # Rank 0's own line wins; a bare error of its (a broken link to the rank that failed
        # first) gives way to that rank's line. Ctrl-C and exits pass through as they are.
        if failure and (error is None or isinstance(error, Exception) and one_line(error) is None):
            raise RankFailed(failure) from error
        return False

    def watch(self) -> None:
        """Stop the other ranks when one fails; if rank 0 is then still waiting for them to
        join (it cannot notice a rank that died before joining), end the run from here."""
        while not self.done.wait(0.5):
            if self.failed is None and not self.done.is_set():
                self.note_failure(within_s=0)
                if self.failed is not None and not self.done.is_set():
                    self.stop()
            if self.failed and not self.done.wait(STARTUP_GRACE_S):
                print(f"error: {self.failure_message()}", file=sys.stderr, flush=True)
                os._exit(2)

    def note_failure(self, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while self.failed is None:
            for rank, process in self.processes.items():
                if process.poll() not in (None, 0) and self.failed is None:
                    self.failed = (rank, process.returncode)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def wait(self) -> None:
        for rank, process in self.processes.items():
            code = process.wait()
            if code != 0 and self.failed is None:
                self.failed = (rank, code)

    def stop(self) -> None:
        """Kill the other ranks: they hold nothing to save (rank 0 writes every file)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait()

    def failure_message(self) -> str | None:
        if self.failed is None:
            return None
        rank, code = self.failed
        line = Path(self.errors_dir.name, f"rank{rank}")
        if line.is_file():
            return line.read_text().strip()
        if code < 0:
            message = f"rank {rank} of this run was killed ({signal.Signals(-code).name})"
        else:
            message = f"rank {rank} of this run failed (exit code {code}); its traceback is above"
        run_dir = HydraConfig.get().runtime.output_dir
        if last_checkpoint(run_dir).is_file():
            message += f"; continue with: {resume_command(folder_to_resume(run_dir))}"
        return message


def leave_process_group() -> None:
    """Every rank leaves the process group before it exits: Lightning destroys only NCCL groups,
    and a gloo group left to the interpreter's exit may abort it ("terminate called without an
    active exception"). The next job of a multirun, in the same process, forms a new group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def job_command_line() -> tuple[list[str], dict[str, str]]:
    """This Hydra job as a single run of the same script, in the same run folder, with the same
    config source (a resumed run's own .hydra/), overrides and job number (which configs may
    name, e.g. ``${hydra:job.num}``); and the environment that carries the folder's name (it
    may hold characters Hydra's override grammar would need quoted)."""
    hydra_cfg = HydraConfig.get()
    primary = next(s for s in hydra_cfg.runtime.config_sources if s.provider == "main")
    command = [
        sys.executable,
        str(Path(sys.argv[0]).resolve()),
        f"--config-path={primary.path.removeprefix('file://')}",
        f"--config-name={hydra_cfg.job.config_name}",
        *OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False),  # ${...} as given
        f"hydra.run.dir={RUN_DIR_VALUE}",
        "hydra.output_subdir=null",  # rank 0 saved the config
        "hydra/job_logging=stdout",  # rank 0 writes the log file
    ]
    job_num = OmegaConf.select(hydra_cfg, "job.num", default=None)  # set in multiruns only
    if job_num is not None:
        command.append(f"hydra.job.num={job_num}")
    return command, {RUN_DIR: hydra_cfg.runtime.output_dir}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent() -> None:
    """In the child, before it runs: the kernel kills it when rank 0 dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
