"""The config rules (src/lenetlab/cli/checks.py) against the files in conf/: every value key of
every shipped choice and command has a rule, every shipped value passes it, bad values and
unknown keys are refused; device requests against the machine."""

import pytest
import torch
from omegaconf import OmegaConf

from conftest import CONF, compose_config
from lenetlab.cli.checks import COMMAND_RULES, RULES, check_config, check_devices, is_unchecked
from lenetlab.errors import UsageError
from lenetlab.training import devices

GROUPS = [g.name for g in sorted(CONF.iterdir()) if g.is_dir() and g.name != "hydra"]
COMMANDS = [path.stem for path in sorted(CONF.glob("*.yaml"))]  # train, eval, predict, ...
CHOICES = [
    f"{group}={option.stem}" for group in GROUPS for option in sorted((CONF / group).glob("*.yaml"))
]


def value_keys(node, prefix=""):
    """Dotted keys of the leaves under ``node``, without resolving interpolations."""
    for key in node:
        child, dotted = node._get_node(key), f"{prefix}{key}"
        if OmegaConf.is_dict(child):
            yield from value_keys(child, dotted + ".")
        else:
            yield dotted


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """{choice: composed train config} for every option of every group."""
    run_dir = tmp_path_factory.mktemp("run")
    configs = {choice: compose_config("train", [choice], run_dir) for choice in CHOICES}
    return {choice: OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
            for choice, cfg in configs.items()}  # fmt: skip


@pytest.fixture(scope="module")
def commands(tmp_path_factory):
    """{command: its composed config, required keys given} for every conf/<command>.yaml."""
    run_dir = tmp_path_factory.mktemp("command")
    required = {"ckpt_path=x", "inputs=x", "sweep_dir=x"}
    configs = {}
    for command in COMMANDS:
        text = (CONF / f"{command}.yaml").read_text()
        given = [o for o in required if f"\n{o.split('=')[0]}: ???" in text]
        cfg = compose_config(command, given, run_dir)
        configs[command] = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    return configs


def test_every_shipped_key_has_a_rule(shipped, commands):
    keys = {key for cfg in [*shipped.values(), *commands.values()] for key in value_keys(cfg)}
    command_keys = {key for rules in COMMAND_RULES.values() for key in rules}
    without_rule = sorted(
        k for k in keys if k not in RULES and k not in command_keys and not is_unchecked(k)
    )
    assert without_rule == [], "add these keys to RULES in src/lenetlab/cli/checks.py"
    stale = sorted(set(RULES) - keys)
    assert stale == [], "rules for keys no config has"


def test_every_shipped_choice_passes_the_rules(shipped):
    assert len(shipped) > 25
    for cfg in shipped.values():
        check_config(cfg, "train")  # raises on a rule that refuses a shipped value


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["compile=yes"], "compile='yes' is not valid: use true or false"),
        (["callbacks=[default,ema]", "callbacks.ema.decay=1.5"], "between 0 and 1"),
        (["scheduler=onecycle", "scheduler.pct_start=2"], "scheduler.pct_start=2"),
        (
            ["callbacks=[default,early_stopping]", "callbacks.early_stopping.monitor=val/accuracy"],
            "use one of val/acc, val/loss",
        ),
        (["trainer=ddp", "trainer.strategy=ddpp"], "strategy='ddpp' is not valid: use one of auto"),
        (["trainer.strategy=deepspeed"], "use one of auto, ddp"),
        (["trainer.accelerator=tpu"], "trainer.accelerator='tpu' is not valid: use one of auto"),
        (["data.distortions.scale=1.5"], "a number in [0, 1)"),
        (["callbacks.timer.duration=1h"], "a duration DD:HH:MM:SS, e.g. 00:11:30:00"),
        (["trainer.fast_dev_run=0"], "true, false or a number of batches >= 1"),
        (["optimized_metric=val/acc"], "use one of val/acc_best, test/acc, test/loss"),
        (["model=lenet5_1998", "model.rubbish_j=-1"], "null or a number > 0"),
        # scheduler.T_max copies trainer.max_epochs: the line names the key the user set
        (["trainer.max_epochs=ten"], "trainer.max_epochs='ten' is not valid"),
        (["scheduler.T_max=0"], "scheduler.T_max=0 is not valid"),
    ],
)
def test_bad_values_are_refused_naming_key_value_and_what_is_allowed(tmp_path, overrides, message):
    cfg = compose_config("train", overrides, tmp_path)
    with pytest.raises(UsageError) as refused:
        check_config(cfg, "train")
    assert message in str(refused.value)


DEVICE_REQUESTS = [  # (GPUs the machine has, overrides, what the line says); None: accepted
    (0, ["trainer.accelerator=gpu"], "trainer.accelerator=gpu: this machine has no usable GPU"),
    (1, ["trainer.accelerator=gpu", "trainer=ddp", "trainer.devices=4"],
     "trainer.devices=4: this machine has 1 GPU (FakeGPU); ask for at most 1"),
    (1, ["trainer=ddp"], "trainer.devices=2: this machine has 1 GPU"),  # auto picks the GPU
    (2, ["trainer.devices=[1,2]"], "trainer.devices=[1, 2]: this machine has 2 GPUs"),
    (4, ["trainer.devices=2"], "trains on 2 devices, one process each: add trainer=ddp"),
    (4, ["trainer=ddp", "trainer.devices=4", "data.batch_size=130"],
     "data.batch_size=130 does not split evenly over 4 processes"),
    (0, ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"], None),
    (4, ["trainer=ddp", "trainer.devices=4"], None),
    (2, ["trainer.accelerator=cpu"], None),
]  # fmt: skip


@pytest.mark.parametrize(("gpus", "overrides", "says"), DEVICE_REQUESTS)
def test_device_requests_are_checked_against_the_machine(monkeypatch, tmp_path, gpus, overrides,
                                                         says):  # fmt: skip
    monkeypatch.setattr(devices, "DRIVER_PATHS", ("/",))  # a driver is there: torch counts
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "FakeGPU")
    cfg = compose_config("train", overrides, tmp_path)
    if says is None:
        check_devices(cfg)
        return
    with pytest.raises(UsageError) as error:
        check_devices(cfg)
    assert says in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+data.num_workers=4"], "data.num_workers is not a key lenetlab knows: data has dataset"),
        (["+trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
        (["+max_epochs=3"], "max_epochs is not a key lenetlab knows: did you mean trainer.max"),
        (["+ckpt_path=x.ckpt"], "ckpt_path is not a key lenetlab knows"),  # eval.py's, not train's
        (["+model.activaton=relu"], "did you mean model.activation?"),
        (["++optimizer.momentun=0.5"], "did you mean optimizer.momentum?"),
        (["+callbacks.timer.durration=1"], "did you mean callbacks.timer.duration?"),
        (["~seed"], "~seed: train.py needs seed; set it to a value instead"),
        (["~test_checkpoint"], "~test_checkpoint: train.py needs test_checkpoint"),
    ],
)
def test_unknown_and_removed_keys_are_refused_with_the_keys_nearby(tmp_path, overrides, message):
    cfg = compose_config("train", overrides, tmp_path)
    with pytest.raises(UsageError) as refused:
        check_config(cfg, "train")
    assert message in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "overrides",
    [
        ["+trainer.limit_train_batches=2"],  # Trainer takes it: Hydra's own advice was right
        ["++data.batch_size=64"],
        ["~data.batch_size"],  # DigitsDataModule's default applies
        ["~callbacks.timer"],  # an entry of a group of entries
        ["+callbacks.stop._target_=lightning.pytorch.callbacks.EarlyStopping",
         "+callbacks.stop.monitor=val/acc"],  # a callback of the user's own
    ],
)  # fmt: skip
def test_keys_that_some_code_takes_are_accepted(tmp_path, overrides):
    check_config(compose_config("train", overrides, tmp_path), "train")
