"""The README is a contract: every `python src/...` command shown in README.md and docs/guide.md
is run here in a fast form, so a documented command that no longer parses, composes or runs fails
the suite.

Each command is parsed by Hydra and every job of it composed (a sweep's jobs all, from its comma
lists), its values checked by the config rules, and then run on the fixture data: train.py's first
job with ``trainer.fast_dev_run=true``, eval/predict/export on a checkpoint trained here,
summarize.py on a sweep folder, ``resume=`` through the real command line. What needs hardware
this machine lacks (a GPU, several devices, a SLURM cluster) is composed, not run.
"""

import functools
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict
from PIL import Image

from conftest import REPO, compose_config, quiet_train_config, run_in_process
from lenetlab.cli import checks
from lenetlab.commands import demo as demo_script
from lenetlab.commands import evaluate as eval_script
from lenetlab.commands import export as export_script
from lenetlab.commands import predict as predict_script
from lenetlab.commands import summarize
from lenetlab.commands import train as train_script

DOCUMENTS = [REPO / "README.md", REPO / "docs" / "guide.md"]
COMMAND = re.compile(r"^ {4}(python src/\w+\.py.*)$")


def documented_commands() -> list:
    commands = []
    for document in DOCUMENTS:
        for number, line in enumerate(document.read_text().splitlines(), start=1):
            match = COMMAND.match(line)
            if match:
                words = shlex.split(match.group(1), comments=True)
                commands.append(pytest.param(words, id=f"{document.name}:{number}"))
    return commands


COMMANDS = documented_commands()


def test_the_documents_show_the_commands_users_type():
    shown = {" ".join(p.values[0]) for p in COMMANDS}
    assert "python src/train.py model=lenet_tanh trainer.accelerator=gpu" in shown
    sweep = "-m model=lenet_sigmoid,lenet_tanh,lenet_relu data=mnist,fashion_mnist"
    assert f"python src/train.py {sweep}" in shown
    assert len(COMMANDS) >= 25


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir) -> Path:
    """A run folder of one epoch on the MNIST fixture: the `outputs/<run>` of the documents."""
    run_dir = tmp_path_factory.mktemp("run")
    quiet = ["trainer.max_epochs=1", "data.batch_size=64", "callbacks.model_summary=null"]
    cfg = quiet_train_config(data_dir, run_dir, *quiet)
    train_script.train(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    (run_dir / ".hydra").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")  # as Hydra saves a run's config
    return run_dir


def sweep_dir(root: Path) -> Path:
    """A multirun folder with two finished jobs, for summarize.py."""
    for job, accuracy in enumerate([0.5, 0.9]):
        job_dir = root / "multirun" / f"{job}_seed={job}"
        (job_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save({"optimized_metric": "val/acc_best"}, job_dir / ".hydra" / "config.yaml")
        OmegaConf.save([f"seed={job}"], job_dir / ".hydra" / "overrides.yaml")
        (job_dir / "metrics.json").write_text(f'{{"val/acc_best": {accuracy}}}')
    return root / "multirun"


@functools.cache
def swept_dir(data_dir: Path) -> Path:
    """A multirun of two one-epoch jobs, the second cut short (its results gone, its last.ckpt
    kept): the `outputs/multirun/<date>_<time>` that resume= continues (made once, copied)."""
    log_dir = Path(tempfile.mkdtemp(prefix="lenetlab-swept-"))
    result = run_in_process("train.py", "-m", "seed=1,2", "trainer.max_epochs=1",
                            "data.download=false", f"paths.data_dir={data_dir}",
                            f"paths.log_dir={log_dir}",
                            "trainer.enable_progress_bar=false")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (sweep,) = (log_dir / "multirun").iterdir()
    second = sorted(p for p in sweep.iterdir() if p.name.startswith("1_"))[0]
    (second / "metrics.json").unlink()
    (second / "job.json").unlink()
    return sweep


def fill_in(words: list[str], run_dir: Path, tmp_path: Path, data_dir: Path) -> list[str]:
    """The documents' placeholders (<run>, ..., my_digit.png) made real."""
    checkpoint = str(run_dir / "checkpoints" / "best.ckpt")
    digit = tmp_path / "my_digit.png"
    ink = torch.zeros(28, 28, dtype=torch.uint8)
    ink[6:22, 12:16] = 255  # a "1"
    Image.fromarray(ink.numpy()).save(digit)
    (tmp_path / "photos").mkdir(exist_ok=True)
    shutil.copy(digit, tmp_path / "photos" / "seven.png")
    real = []
    for word in words:
        key, _, value = word.partition("=")
        if key == "ckpt_path" and not value.startswith("pretrained:"):  # shipped ones are real
            value = checkpoint
        elif key == "resume" and value.startswith("outputs/multirun"):
            value = str(shutil.copytree(swept_dir(data_dir), tmp_path / "resumed"))
        elif key == "resume":
            value = str(shutil.copytree(run_dir, tmp_path / "resumed", dirs_exist_ok=True))
        elif key == "inputs":
            value = value.replace("my_digit.png", str(digit)).replace(
                "photos/", f"{tmp_path}/photos"
            )
        elif key == "output":
            value = str(tmp_path / Path(value).name)
        elif key in ("data.data_dir", "data_dir"):
            value = str(data_dir)
        elif key == "sweep_dir":
            value = str(sweep_dir(tmp_path))
        real.append(f"{key}={value}" if "=" in word else word)
    return real


def jobs(overrides: list[str]) -> list[list[str]]:
    """Every job of a command line: one for a single run, each combination for a sweep."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [job for batch in batches for job in batch]


def needs_missing_hardware(overrides: list[str]) -> bool:
    given = dict(o.split("=", 1) for o in overrides if "=" in o)
    on_gpu = given.get("trainer.accelerator") in ("gpu", "cuda")
    several = given.get("trainer.devices", "1") not in ("1", "auto")
    cluster = "slurm" in given.get("hydra/launcher", "")
    return (on_gpu or several) and not torch.cuda.is_available() or cluster


@pytest.mark.parametrize("words", COMMANDS)
def test_documented_command(words, trained, tmp_path, data_dir, monkeypatch):
    script = Path(words[1]).stem
    words = fill_in(words[2:], trained, tmp_path, data_dir)
    if any(word.startswith("resume=") for word in words):  # the real command line rewrites it
        result = run_in_process("train.py", *words, "trainer.enable_progress_bar=false")
        assert result.returncode == 0, result.stderr
        return
    overrides = [word for word in words if word != "-m"]
    local = {
        "train": [f"paths.data_dir={data_dir}", f"paths.log_dir={tmp_path}", "data.download=false"],
        "eval": [f"data_dir={data_dir}", f"paths.log_dir={tmp_path}"],
        "export": [f"data_dir={data_dir}"],
    }.get(script, [])
    configs = [compose_config(script, [*job, *local], tmp_path / "run") for job in
               jobs(overrides)]  # fmt: skip
    missing_hardware = needs_missing_hardware(overrides)
    for cfg in configs:
        if missing_hardware:  # every check but the machine's devices
            monkeypatch.setattr(checks, "check_devices", lambda cfg: None)
        checks.check_config(cfg, script)
        if script == "train":
            instantiate(cfg.data), instantiate(cfg.model)
    if missing_hardware:
        return  # composed and checked; running it needs a GPU or a cluster
    first = jobs(overrides)[0]
    if script == "train":
        fast = ["trainer.fast_dev_run=true", "trainer.enable_progress_bar=false",
                "++callbacks.progress_bar=null", "++callbacks.model_summary=null"]  # fmt: skip
        cfg = compose_config("train", [*first, *local, *fast], tmp_path / "run")
        assert "test/acc" in train_script.train(cfg) or not cfg.test  # debug=overfit: no test
    elif script == "eval":
        cfg = compose_config("eval", [*first, *local, "trainer.enable_progress_bar=false"],
                             tmp_path / "eval")  # fmt: skip
        assert eval_script.evaluate(cfg)["test/acc"] > 0
    elif script == "predict":
        predict_script.main(compose_config("predict", [*first, *local], tmp_path / "predict"))
    elif script == "export":
        cfg = compose_config("export", [*first, *local, "check_images=16"], tmp_path)
        assert export_script.export(cfg)["max_abs_diff"] < 1e-3
    elif script == "summarize":
        summarize.main(compose_config("summarize", first, tmp_path))
        assert (Path(configs[0].sweep_dir) / "summary.md").is_file()
    elif script == "demo":  # the page's app built on its model, not served (tests/test_demo.py
        # serves it; the documented port may be taken on this machine)
        cfg = compose_config("demo", first, tmp_path)
        assert {route.path for route in demo_script.build_app(cfg).routes} >= {"/", "/api/predict"}
    else:
        pytest.fail(f"no fast form for src/{script}.py: add one here")
