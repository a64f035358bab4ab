"""cli/signatures.py reads every shipped ``_target_``'s keyword arguments from its source exactly
as ``inspect.signature`` sees them on the imported class."""

import importlib
import inspect

import pytest
from omegaconf import OmegaConf

from conftest import CONF
from lenetlab.cli.resume import targets
from lenetlab.cli.signatures import signature

SHIPPED = sorted(
    {target for path in CONF.rglob("*.yaml") for target in targets(OmegaConf.to_container(
        OmegaConf.load(path), resolve=False))}
    - {"hydra_plugins.lenetlab_optuna.OptunaSweeper"}  # a plugin: Hydra builds it, not us
)  # fmt: skip


def imported_signature(target: str):
    module, _, name = target.rpartition(".")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    kinds = inspect.Parameter
    names = tuple(
        n for n, p in parameters.items() if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)
    )
    required = tuple(n for n in names if parameters[n].default is inspect.Parameter.empty)
    any_keyword = any(p.kind == kinds.VAR_KEYWORD for p in parameters.values())
    return names, required, any_keyword  # fmt: skip


def test_every_shipped_target_is_covered():
    assert len(SHIPPED) >= 20 and "lightning.pytorch.Trainer" in SHIPPED


@pytest.mark.parametrize("target", SHIPPED)
def test_the_source_gives_the_same_signature_as_the_class(target):
    read = signature(target)
    names, required, any_keyword = imported_signature(target)
    assert read is not None, f"{target}: its source could not be read"
    assert read.names[: len(names)] == names and read.required == required
    if not any_keyword:
        assert read.names == names and not read.any_keyword


def test_keys_handed_on_whole_are_the_receivers():
    """LeNetModule(**network) hands its network's parts to LeNet5."""
    from lenetlab.models.lenet5 import LeNet5

    read = signature("lenetlab.models.module.LeNetModule")
    assert set(inspect.signature(LeNet5).parameters) <= set(read.names)
    assert not read.any_keyword


def test_names_that_do_not_exist_have_no_signature():
    assert signature("lenetlab.module.LeNetModule") is None  # an old lenetlab's class
    assert signature("torch.optim.NoSuchOptimizer") is None
