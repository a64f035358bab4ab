"""Which devices a job trains on: the request checked against what this machine has, before any
work starts, and the GPUs of a joblib sweep's parallel jobs kept apart."""

import time
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig

from lenetlab.errors import UsageError

GPU_NAMES = ("gpu", "cuda")


def gpus_available() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def machine() -> str:
    """What this machine offers Lightning, as the error lines name it."""
    gpus = gpus_available()
    if gpus == 0:
        return "this machine has no usable GPU (CPU only)"
    return f"this machine has {gpus} GPU{'s' if gpus > 1 else ''} ({torch.cuda.get_device_name(0)})"


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


def check_device_request(cfg: DictConfig) -> None:
    """One line, before any work, for a request this machine cannot serve."""
    trainer = cfg.trainer
    accelerator, devices = trainer.get("accelerator", "auto"), trainer.get("devices", "auto")
    gpus = gpus_available()
    if accelerator in GPU_NAMES and gpus == 0:
        raise UsageError(
            f"trainer.accelerator={accelerator}: {machine()}; train on the CPU with "
            "trainer.accelerator=cpu (or auto, which uses a GPU where there is one)"
        )
    count = device_count(trainer)
    if on_gpu(trainer):
        wanted = [int(d) for d in devices] if isinstance(devices, list | ListConfig) else []
        if count > gpus or any(d >= gpus for d in wanted):
            raise UsageError(
                f"trainer.devices={devices}: {machine()}; ask for at most {gpus} "
                f"(trainer.devices={gpus}), or for GPUs 0-{gpus - 1} by index"
            )
    if count > 1 and trainer.get("strategy") not in ("ddp", "ddp_spawn"):
        raise UsageError(
            f"trainer.devices={devices} trains on {count} devices, one process each: "
            "add trainer=ddp (python src/train.py trainer=ddp trainer.devices=...)"
        )
    batch = cfg.get("data", {}).get("batch_size")
    if isinstance(batch, int) and count > 1 and batch % count:
        raise UsageError(
            f"data.batch_size={batch} does not split evenly over {count} processes "
            f"(trainer.devices={devices}): choose a multiple of {count}"
        )


def runs_side_by_side() -> bool:
    """Is this a job of a joblib sweep (jobs at the same time, on the same machine)?"""
    if not HydraConfig.initialized():
        return False
    return str(HydraConfig.get().launcher.get("_target_", "")).endswith("JoblibLauncher")


# The GPU slot this process holds, by job folder: a joblib worker runs one job at a time, so
# claiming a slot for its next job frees the last one (so does the worker's exit).
_claimed: dict[str, tuple[FileLock, list[int]]] = {}


def devices_for_job(trainer_cfg: DictConfig):
    """``trainer.devices``, except in a joblib sweep on GPUs: GPUs no other running job of the
    sweep has. Jobs of k GPUs split the machine into slots of k; a job claims a free slot (a
    lock file in the sweep folder, let go when its process ends), preferring slot job number
    modulo slots, and waits for one if every slot is taken (more jobs at once than slots).

    CPU threads need nothing here: joblib's loky workers start with OMP_NUM_THREADS set to
    cores // n_jobs, so torch in each job uses its share.
    """
    devices = trainer_cfg.devices
    if not runs_side_by_side() or not on_gpu(trainer_cfg) or isinstance(devices, list | ListConfig):
        return devices
    count = device_count(trainer_cfg)
    slots = max(gpus_available() // count, 1)
    hydra_cfg = HydraConfig.get()
    job_dir = hydra_cfg.runtime.output_dir
    if job_dir in _claimed:
        return _claimed[job_dir][1]
    while _claimed:
        _claimed.popitem()[1][0].release()
    lock_dir = Path(job_dir).parent / ".gpu_slots"
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
            _claimed[job_dir] = (lock, list(range(slot * count, slot * count + count)))
            return _claimed[job_dir][1]
        time.sleep(1)
