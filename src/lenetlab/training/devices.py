"""Which devices a job trains on, decided once per job: the request checked against what this
machine has (cli/checks.py, before any work), and in a joblib sweep on GPUs the slot of GPUs
that no other running job of the sweep holds (``job_devices``), passed down from there to the
Trainer and to the other DDP ranks.

Light on purpose: the checks run before torch is imported, and a machine without an NVIDIA (or
ROCm) driver has no GPU to count, so torch is loaded only where a driver is present.
"""

import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig

GPU_NAMES = ("gpu", "cuda")
ACCELERATORS = ("auto", "cpu", *GPU_NAMES)  # what lenetlab's run promises are tested on
STRATEGIES = ("auto", "ddp")  # ddp: one process per device (training/ranks.py starts them)
# Where a GPU driver shows itself without loading CUDA (NVIDIA's, then ROCm's).
DRIVER_PATHS = ("/proc/driver/nvidia/gpus", "/dev/nvidiactl", "/dev/kfd")


def gpus_available() -> int:
    if not any(Path(path).exists() for path in DRIVER_PATHS):
        return 0
    import torch  # seconds to load: only where there may be a GPU to count

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def machine() -> str:
    """What this machine offers, as the error lines name it."""
    gpus = gpus_available()
    if gpus == 0:
        return "this machine has no usable GPU (CPU only)"
    import torch

    name = torch.cuda.get_device_name(0)
    return f"this machine has {gpus} GPU{'s' if gpus > 1 else ''} ({name})"


def cpu_model() -> str:
    """This machine's CPU as /proc/cpuinfo names it, for the records of a measurement."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def on_gpu(trainer_cfg: DictConfig) -> bool:
    accelerator = trainer_cfg.get("accelerator", "auto")
    return accelerator in GPU_NAMES or (accelerator == "auto" and gpus_available() > 0)


def device_count(trainer_cfg: DictConfig) -> int:
    """How many devices ``trainer.devices`` asks for ("auto": every GPU, or one CPU process)."""
    devices = trainer_cfg.get("devices", "auto")
    if devices == "auto" or devices == -1 or devices == "-1":
        return gpus_available() if on_gpu(trainer_cfg) else 1
    if isinstance(devices, list | ListConfig):
        return len(devices)
    return int(devices)


def runs_side_by_side() -> bool:
    """Is this a job of a joblib sweep (jobs at the same time, on the same machine)?"""
    if not HydraConfig.initialized():
        return False
    return str(HydraConfig.get().launcher.get("_target_", "")).endswith("JoblibLauncher")


@contextmanager
def job_devices(trainer_cfg: DictConfig) -> Iterator:
    """``trainer.devices`` for this job, held while the block runs: as given, except in a joblib
    sweep on GPUs, where the job gets GPUs no other running job of the sweep has. Jobs of k GPUs
    split the machine into slots of k; a job claims a free slot (a lock file in the sweep
    folder), preferring slot job number modulo slots, and waits for one if every slot is taken
    (more jobs at once than slots). Leaving the block frees the slot for the worker's next job.

    CPU threads need nothing here: joblib's loky workers start with OMP_NUM_THREADS set to
    cores // n_jobs, so torch in each job uses its share.
    """
    devices = trainer_cfg.devices
    if not runs_side_by_side() or not on_gpu(trainer_cfg) or isinstance(devices, list | ListConfig):
        yield devices
        return
    count = device_count(trainer_cfg)
    slots = max(gpus_available() // count, 1)
    hydra_cfg = HydraConfig.get()
    lock_dir = Path(hydra_cfg.runtime.output_dir).parent / ".gpu_slots"
    lock_dir.mkdir(exist_ok=True)
    first = int(hydra_cfg.job.num) % slots
    order = [(first + i) % slots for i in range(slots)]
    while True:
        for slot in order:
            lock = FileLock(lock_dir / f"{slot}.lock", thread_local=False)  # held by the process
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield list(range(slot * count, slot * count + count))
            finally:
                lock.release()
            return
        time.sleep(1)
