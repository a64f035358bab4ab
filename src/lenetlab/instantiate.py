"""Build the objects of a dict-of-configs group (callbacks, logger) with Hydra."""

from hydra.utils import instantiate
from omegaconf import DictConfig


def instantiate_each(group: DictConfig | None) -> list:
    """``{name: {_target_: ...}, ...}`` -> ``[object, ...]``; entries set to null are skipped."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None]
