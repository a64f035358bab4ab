"""Names of run directories, as OmegaConf resolvers the Hydra config uses."""

import hashlib

from omegaconf import OmegaConf

# Room for the job number and a hash within a file system's 255-byte name limit.
MAX_NAME = 200


def job_dirname(job_num: int, override_dirname: str) -> str:
    """``3_data=mnist,model=lenet_relu``: a sweep job's folder, named after its overrides.

    Slashes in values (paths) become ``_``; a name too long for the file system is cut and ends
    in a hash of the whole, so it stays unique.
    """
    name = f"{job_num}_{override_dirname}".replace("/", "_")
    if len(name.encode()) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:MAX_NAME].decode(errors="ignore") + "~" + digest


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("job_dirname", job_dirname, replace=True)
