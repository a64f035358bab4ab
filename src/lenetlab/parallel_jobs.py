"""Sweep jobs that run side by side on one machine (hydra/launcher=joblib) share it fairly.

CPU threads need nothing here: joblib's loky workers start with OMP_NUM_THREADS set to
cores // n_jobs, so torch in each job uses its share. GPUs are spread by job number.
"""

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def devices_for_job(trainer_cfg: DictConfig):
    """``trainer.devices``, except for a single-GPU joblib job: ``[job number % GPU count]``.

    Without it every parallel job would train on cuda:0.
    """
    devices = trainer_cfg.devices
    if not HydraConfig.initialized() or devices not in (1, "1"):
        return devices
    hydra_cfg = HydraConfig.get()
    on_gpu = trainer_cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    parallel = str(hydra_cfg.launcher.get("_target_", "")).endswith("JoblibLauncher")
    if not (parallel and on_gpu):
        return devices
    return [int(hydra_cfg.job.num) % torch.cuda.device_count()]
