"""Every entry point x every class of mistake, generated: each is one line on stderr that names
the key (or file), exit code 2, and nothing left in outputs/.

A new entry point joins with one line in ENTRY_POINTS (a command line that is valid); its
mistakes are generated from its composed config: its required keys, the nodes it instantiates,
a whole-number key, its trainer and its files. Each case runs the entry script in this process
(conftest.run_in_process); that a real process prints the same line, before torch and Lightning
are imported, is checked once per entry point at the end.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import CONF, REPO, compose_config, run_in_process
from lenetlab.cli.checks import RULES

ASSET = REPO / "tests" / "assets" / "checkpoint_ed26d20" / "last.ckpt"  # an old checkpoint
SCRIPTS = {"train": "train.py", "eval": "eval.py", "predict": "predict.py",
           "export": "export.py", "summarize": "summarize.py", "demo": "demo.py"}  # fmt: skip

# conf/<command>.yaml -> a valid command line ({data}, {ckpt}, {image}, {sweep}, {tmp} filled in)
ENTRY_POINTS = {
    "train": ["paths.data_dir={data}", "data.download=false", "trainer.max_epochs=1"],
    "eval": ["ckpt_path={ckpt}", "data_dir={data}"],
    "predict": ["ckpt_path={ckpt}", "inputs=[{image}]"],
    "export": ["ckpt_path={ckpt}", "output={tmp}/model.onnx"],  # no data: random pixels
    "summarize": ["sweep_dir={sweep}"],
    # its port held by this test: a mistake the checks let through fails here, it never serves
    "demo": ["ckpt_path={ckpt}", "port={port}"],
}
FILES = ("{data}", "{ckpt}", "{sweep}")  # what a command line names as its files


def mistakes(command: str, cfg) -> list[tuple[str, list[str], list[str], str]]:
    """(name, overrides to add, base overrides to drop, what the line must name)."""
    found = [
        ("unknown key", ["nosuchkey=1"], [], "nosuchkey"),
        ("unknown key, +", ["+nosuchkey=1"], [], "nosuchkey"),
        ("unknown key, ++", ["++nosuchkey=1"], [], "nosuchkey"),
        ("unknown key, ~", ["~nosuchkey"], [], "nosuchkey"),
        ("override Hydra cannot parse", ["nosuchkey=[1,"], [], "nosuchkey=[1,"),
    ]
    groups = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name in cfg)
    if groups:
        found.append(("unknown choice", [f"{groups[0]}=nosuchchoice"], [], "nosuchchoice"))
    nodes = [k for k in cfg if not OmegaConf.is_missing(cfg, k) and OmegaConf.is_dict(cfg[k])]
    groups = [group for group in ("callbacks", "logger") if cfg.get(group)]
    entries = [f"{group}.{next(iter(cfg[group]))}" for group in groups]
    for key in sorted(k for k in nodes if "_target_" in cfg[k]) + entries:
        found.append((f"unknown key of {key}, +", [f"+{key}.nosuchkey=1"], [], f"{key}.nosuchkey"))
    if "logger" in cfg:  # every logger a run can choose, not only the default one
        for choice in sorted(p.stem for p in (CONF / "logger").glob("*.yaml")):
            add = [f"logger={choice}", f"+logger.{choice}.nosuchkey=1"]
            found.append((f"unknown key of logger={choice}, +", add, [], f"{choice}.nosuchkey"))
    for key in sorted(OmegaConf.missing_keys(cfg)):
        found.append((f"missing {key}", [], [key], key))
    whole = next((k for k in sorted(RULES) if is_whole_number(cfg, k)), None)
    if whole is not None:
        found += [
            (f"wrong type of {whole}", [f"{whole}=ten"], [], whole),
            (f"{whole} out of range", [f"{whole}=-5"], [], whole),
        ]
    if "trainer" in cfg:
        found += [
            ("accelerator the machine lacks", ["trainer.accelerator=gpu"], [], "accelerator"),
            ("accelerator lenetlab does not run on", ["trainer.accelerator=tpu"], [], "tpu"),
            ("more devices than one process", ["trainer.devices=3"], [], "trainer.devices"),
        ]
    for key in [o.split("=")[0] for o in ENTRY_POINTS[command] if o.split("=")[1] in FILES]:
        found.append((f"missing file for {key}", [f"{key}={{tmp}}/absent"], [key], "absent"))
        found.append((f"damaged file for {key}", [f"{key}={{damaged}}"], [key], "damaged"))
    return found


def is_whole_number(cfg, key: str) -> bool:
    value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    return isinstance(value, int) and not isinstance(value, bool)


def composed(command: str):
    cfg = compose_config(command, [], Path(tempfile.mkdtemp(prefix="lenetlab-compose-")))
    return OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])


COMPOSED = {command: composed(command) for command in ENTRY_POINTS}
CASES = [(c, *case) for c, cfg in COMPOSED.items() for case in mistakes(c, cfg)]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Iterator[dict]:
    """The files (and the port) a valid command line names, besides the data."""
    root = tmp_path_factory.mktemp("mistakes")
    image = root / "digit.png"
    shutil.copy(REPO / "docs" / "learning_curve.png", image)  # any picture will do
    sweep = root / "sweep"
    (sweep / "0_seed=1" / ".hydra").mkdir(parents=True)
    (sweep / "0_seed=1" / ".hydra" / "config.yaml").write_text("seed: 1\n")
    (sweep / "0_seed=1" / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    yield {"ckpt": ASSET, "image": image, "sweep": sweep, "port": port.getsockname()[1]}
    port.close()


def damaged_copy(name: str, tmp: Path, data_dir: Path) -> Path | None:
    """A damaged checkpoint, sweep folder or dataset for the 'damaged file' cases."""
    if "damaged file for ckpt_path" in name:
        (tmp / "damaged.ckpt").write_bytes(b"not a checkpoint")
        return tmp / "damaged.ckpt"
    if "damaged file for sweep_dir" in name:
        (tmp / "damaged").mkdir()  # a folder with no job folders in it
        return tmp / "damaged"
    if "damaged file for" in name and name.endswith("data_dir"):
        copy = shutil.copytree(data_dir, tmp / "damaged")
        images = copy / "MNIST" / "raw" / "train-images-idx3-ubyte"
        images.write_bytes(images.read_bytes()[:1000])  # truncated
        return copy
    return None


@pytest.mark.parametrize(("command", "name", "add", "drop", "names"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])  # fmt: skip
def test_a_mistake_is_one_line_exit_2_and_leaves_nothing(command, name, add, drop, names, files,
                                                         data_dir, tmp_path):  # fmt: skip
    fill = {**files, "data": data_dir, "tmp": tmp_path,
            "damaged": damaged_copy(name, tmp_path, data_dir)}  # fmt: skip
    base = [o for o in ENTRY_POINTS[command] if o.split("=", 1)[0] not in drop]
    paths = [f"paths.log_dir={tmp_path}/outputs"] if "paths" in COMPOSED[command] else []
    result = run_in_process(SCRIPTS[command], *[o.format(**fill) for o in base + add], *paths)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1
    assert names in lines[-1], lines[-1]
    outputs = tmp_path / "outputs"
    assert not outputs.exists() or not any(outputs.rglob("*")), sorted(outputs.rglob("*"))


def test_every_entry_point_is_in_the_matrix():
    scripts = {p.name for p in (REPO / "src").glob("*.py")}
    assert scripts == set(SCRIPTS.values())
    assert {p.stem for p in CONF.glob("*.yaml")} == set(ENTRY_POINTS)
    assert len(CASES) > 50


@pytest.mark.parametrize("command", sorted(ENTRY_POINTS))
def test_a_real_process_answers_with_the_line_alone_before_torch_and_lightning_load(command):
    """The matrix above in a process of its own: the error line is all it prints (no warning
    of an import), and none of torch, torchvision or Lightning is imported before the config is
    checked, which makes the line come in about a second (bench/usage_errors.py times it)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", f"src/{SCRIPTS[command]}", "+nosuchkey=1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    imports = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    said = [line for line in result.stderr.splitlines() if line not in imports]
    assert result.stdout == "" and len(said) == 1 and said[0].startswith("error: "), said
    imported = {line.rsplit("|", 1)[-1].strip() for line in imports}
    assert len(imported) > 100  # the import log is there
    assert not {"torch", "torchvision", "lightning"} & imported
