"""lenetlab's default training path against the usual tutorial pipeline, measured in one run.

    make bench                                   # = python bench/speed.py
    python bench/speed.py --steps 300 --skip-cli --variant compile=true

1. baseline: torchvision ``MNIST`` with a per-sample ``Compose([Pad(2), ToTensor(),
   Normalize(mean, std)])``, ``DataLoader(batch_size=64, shuffle=True)`` and a plain
   LightningModule (LeNet-5, cross-entropy, SGD), as most tutorials write it;
2. lenetlab: the data module, model and trainer ``python src/train.py`` builds from
   conf/train.yaml, at its default batch size, with its metrics and logger.

Both train the same LeNet-5 for the same number of steps through a Lightning Trainer (its per-step
overhead is counted); the first steps are warm-up. For reference, the same model in a bare
PyTorch loop (the floor under any framework), and where lenetlab's difference from it goes: the
bare loop fed by lenetlab's DataLoader, lenetlab's data and network in a bare Trainer (automatic
and manual optimisation). lenetlab against the Lightning floor, and the BatchNorm network
against the default one, are timed in lockstep (lockstep.py: the two take turns a step at a
time, ``--rounds`` times), where runs back to back spread more than the points judged. Then the
1998 recipe against its floor, and, as a user would run them:
3. ``python src/train.py trainer.fast_dev_run=true``: start-up cost, wall time, and how much of
   it is importing the libraries;
4. ``python src/train.py experiment=mnist_fast seed=N`` (``mnist_gpu_fast`` with ``--device
   cuda``) for three seeds: wall time from a cold start to its test accuracy, and its seconds of
   training;
5. the default test tier (``python -m pytest``, what ``make test`` runs).
Each time is printed against issue 26's target (TARGETS_S), scaled by this CPU's bare loop.
Needs real MNIST in data/MNIST/raw (``make data``).
"""

import argparse
import functools
import itertools
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from lenetlab.cli.launch import keep_freed_memory, silence_library_noise
from lenetlab.models.lenet5 import LeNet5
from lenetlab.models.module import LeNetModule
from lenetlab.training.devices import cpu_model
from lenetlab.training.trainer import build_trainer
from lockstep import Lockstep, TakeTurns, speed_ratio

REPO = Path(__file__).resolve().parents[1]
# Issue 26's targets, set on the slowest 2-core CPU seen (an AMD EPYC Zen 4), whose bare loop
# (channels_last, batch 128) ran at 14.4k img/s: on another CPU, or in a slower moment of a
# shared one, a time target scales by that bare loop's speed against this one.
TARGET_BARE_RATE = 14_400
TARGETS_S = {"mnist_fast": 15.0, "fast_dev_run": 4.0, "lenet5_1998": 300.0, "test tier": 240.0}
TARGET_OWN_POINTS = 2  # lenetlab's per-step work over the Lightning floor, points of the bare loop
LIBRARIES = "import lightning.pytorch, torchvision, hydra"  # what every train.py imports
MEAN, STD = 0.1307, 0.3081  # conf/data/mnist.yaml
BN_NETWORK = ("model=lenet_relu", "model.pool=max", "model.norm=batch")
BN_PARTS = {"activation": "relu", "pool": "max", "norm": "batch"}
PAPER = {
    "activation": "scaled_tanh",
    "pool": "subsample",
    "c3": "sparse",
    "head": "rbf",
    "init": "lecun1998",
    "dropout": 0.5,
    "grad_clip_norm": 1.0,
}  # conf/model/lenet5_1998.yaml with conf/experiment/lenet5_1998.yaml


def baseline_dataset(data_dir: Path) -> datasets.MNIST:
    """The tutorial pipeline: decode, pad to 32x32, scale and normalise every sample on access."""
    pipeline = transforms.Compose(
        [transforms.Pad(2), transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))]
    )
    return datasets.MNIST(data_dir, train=True, transform=pipeline, download=False)


class BaselineModule(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = LeNet5("tanh", "avg")

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = F.cross_entropy(self.net(images), labels)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


class StepTimer(L.Callback):
    """Images per second over the steps after ``warmup``, data loading and epoch ends included."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.steps = self.images = 0
        self.started = self.elapsed = 0.0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps += 1
        if self.steps == self.warmup:
            synchronize(pl_module.device)
            self.started = time.perf_counter()
        elif self.steps > self.warmup:
            self.images += len(batch[1])

    def on_train_end(self, trainer, pl_module):
        synchronize(pl_module.device)  # a GPU's queued steps count once they have run
        self.elapsed = time.perf_counter() - self.started

    @property
    def images_per_second(self) -> float:
        return self.images / self.elapsed


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def baseline_rate(data_dir: Path, steps: int, warmup: int, accelerator: str) -> float:
    loader = DataLoader(baseline_dataset(data_dir), batch_size=64, shuffle=True)
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        max_steps=steps,
        logger=False,
        callbacks=[timer],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(BaselineModule(), loader)
    return timer.images_per_second


class FloorModule(L.LightningModule):
    """lenetlab's network and optimiser with nothing else: no metrics, logging or hooks.
    ``manual``: Lightning's manual optimisation (the step calls backward and step itself)
    instead of its automatic loop's closure."""

    def __init__(self, manual: bool = False):
        super().__init__()
        self.model = LeNetModule(input_mean=MEAN, input_std=STD)
        self.automatic_optimization = not manual

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = F.cross_entropy(self.model(images), labels)
        if self.automatic_optimization:
            return loss
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()

    def configure_optimizers(self):
        return recipe_optimizer(self.parameters())


def recipe_optimizer(parameters) -> torch.optim.Optimizer:
    """The default recipe's optimiser (conf/optimizer/sgd.yaml: momentum, Nesterov, weight
    decay), so that the floors below do the same arithmetic a step as lenetlab's path."""
    return instantiate(OmegaConf.load(REPO / "conf/optimizer/sgd.yaml"), params=parameters)


def training_datamodule(data_dir: Path):
    """lenetlab's data module as train.py configures it."""
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = lenetlab_config(data_dir, Path(output_dir), "data.download=false")
    return instantiate(cfg.data)


def floor_trainer(steps: int, accelerator: str, *callbacks: L.Callback) -> L.Trainer:
    """A bare Trainer: no callbacks but ``callbacks``, no logger, checkpoints or progress bar."""
    return L.Trainer(
        accelerator=accelerator, devices=1, max_steps=steps, logger=False, callbacks=[*callbacks],
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        limit_val_batches=0,
    )  # fmt: skip


def lightning_floor_rate(
    data_dir: Path, steps: int, warmup: int, accelerator: str, manual: bool = False
) -> float:
    """Lightning's own cost: lenetlab's data module feeding FloorModule through a bare Trainer."""
    timer = StepTimer(warmup)
    trainer = floor_trainer(steps, accelerator, timer)
    trainer.fit(FloorModule(manual), datamodule=training_datamodule(data_dir))
    return timer.images_per_second


def bare_loop(
    batch_size: int, channels_last: bool, device: str = "cpu", data_dir: Path | None = None,
    **network,
) -> Iterator[int]:  # fmt: skip
    """The floor under any framework: lenetlab's model (``network``: LeNet5's parts) and
    optimiser in a bare PyTorch loop, one fixed batch, no data loading, no logging; with
    ``data_dir``, fed by lenetlab's training DataLoader instead (on the CPU). Yields after each
    step the images it took."""
    device = torch.device(device)
    model = LeNetModule(input_mean=MEAN, input_std=STD, channels_last=channels_last, **network)
    model = model.to(device)
    optimizer = recipe_optimizer(model.parameters())
    images = torch.randint(0, 256, (batch_size, 1, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batch_size,), device=device)
    if data_dir is not None:
        datamodule = training_datamodule(data_dir)
        datamodule.setup("fit")
        batches = itertools.chain.from_iterable(itertools.repeat(datamodule.train_dataloader()))
    while True:
        if data_dir is not None:
            images, labels = next(batches)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        if model.hparams.grad_clip_norm:  # as the recipe does (the 1998 network's)
            torch.nn.utils.clip_grad_norm_(model.parameters(), model.hparams.grad_clip_norm)
        optimizer.step()
        yield len(labels)


def bare_loop_rate(
    batch_size: int,
    steps: int,
    warmup: int,
    channels_last: bool,
    device: str = "cpu",
    data_dir: Path | None = None,
    **network,
) -> float:
    """The bare loop's img/s over its steps after ``warmup``."""
    loop = bare_loop(batch_size, channels_last, device, data_dir, **network)
    for _ in range(warmup):
        next(loop)
    synchronize(torch.device(device))
    started = time.perf_counter()
    images = sum(next(loop) for _ in range(steps - warmup))
    synchronize(torch.device(device))
    return images / (time.perf_counter() - started)


def lenetlab_config(data_dir: Path, output_dir: Path, *overrides: str):
    """conf/train.yaml as `python src/train.py <overrides>` composes it."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            [f"paths.data_dir={data_dir}", *overrides],
            return_hydra_config=True,
        )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def lenetlab_run(
    data_dir: Path, output_dir: Path, steps: int, *overrides: str
) -> tuple[L.Trainer, LeNetModule, L.LightningDataModule, DictConfig]:
    """train.py's path (its model, data module, trainer, callbacks and logger; compiled with
    compile=true) for ``steps`` training steps, without validation and the progress bar,
    writing into ``output_dir``; and the config it composed."""
    cfg = lenetlab_config(
        data_dir, output_dir, "data.download=false", f"++trainer.max_steps={steps}",
        "++trainer.limit_val_batches=0", "trainer.enable_progress_bar=false",
        "++callbacks.progress_bar=null", "++callbacks.model_summary=null", *overrides,
    )  # fmt: skip
    model = instantiate(cfg.model)
    trainer = build_trainer(cfg, model)
    if cfg.compile:
        model.compile_training_step(cfg.compile_mode)
    return trainer, model, instantiate(cfg.data), cfg


def lenetlab_rate(data_dir: Path, steps: int, warmup: int, *overrides) -> tuple[float, DictConfig]:
    """lenetlab_run's img/s over its steps after ``warmup``, and its config."""
    with tempfile.TemporaryDirectory() as output_dir:
        trainer, model, datamodule, cfg = lenetlab_run(data_dir, Path(output_dir), steps,
                                                       *overrides)  # fmt: skip
        timer = StepTimer(warmup)
        trainer.callbacks.insert(0, timer)
        trainer.fit(model, datamodule=datamodule)
        return timer.images_per_second, cfg


def in_lockstep(
    data_dir: Path, steps: int, warmup: int, device: str, *pipelines: tuple
) -> list[list[float]]:
    """The seconds of each pipeline's steps after ``warmup``, all of them taking turns a step
    at a time (lockstep.py). A pipeline: ("lenetlab", *overrides) (lenetlab_run), ("floor",)
    (FloorModule in a bare Trainer) or ("bare", batch size, network parts) (bare_loop,
    channels_last)."""
    accelerator = "gpu" if device == "cuda" else "cpu"
    runs = []
    with tempfile.TemporaryDirectory() as output_dir:
        for index, (kind, *settings) in enumerate(pipelines):
            if kind == "lenetlab":  # built here: Hydra's config is global to the process
                run_dir = Path(output_dir) / str(index)
                run_dir.mkdir()
                trainer, model, datamodule, _ = lenetlab_run(
                    data_dir, run_dir, steps, f"trainer.accelerator={accelerator}", *settings
                )
            elif kind == "floor":
                trainer, model = floor_trainer(steps, accelerator), FloorModule()
                datamodule = training_datamodule(data_dir)
            else:
                batch_size, network = settings
                runs.append(functools.partial(take_bare_steps, batch_size, steps, device, network))
                continue
            runs.append(functools.partial(take_lightning_steps, trainer, model, datamodule))
        return Lockstep(warmup, device).run(runs)


def lockstep_ratios(
    data_dir: Path, steps: int, warmup: int, device: str, pipeline: tuple, against: tuple,
    rounds: int,
) -> list[float]:  # fmt: skip
    """``pipeline``'s speed against ``against``'s, in lockstep, once a round; the two swap
    places each round (the first to step goes first in every turn)."""
    ratios = []
    for round_ in range(rounds):
        pair = (pipeline, against) if round_ % 2 == 0 else (against, pipeline)
        seconds = in_lockstep(data_dir, steps, warmup, device, *pair)
        mine, theirs = seconds if round_ % 2 == 0 else seconds[::-1]
        ratios.append(speed_ratio(mine, against=theirs))
    return ratios


def take_lightning_steps(trainer, model, datamodule, player) -> None:
    trainer.callbacks.append(TakeTurns(player))  # the last: the others' hooks are in its steps
    trainer.fit(model, datamodule=datamodule)


def take_bare_steps(batch_size, steps, device, network, player) -> None:
    loop = bare_loop(batch_size, True, device, **network)
    for _ in range(steps):
        next(loop)
        player.step_done()


def wall_time(data_dir: Path, *args: str) -> tuple[float, dict]:
    """Seconds for `python src/train.py <args>` from process start to exit, and its metrics."""
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "src/train.py",
                f"paths.data_dir={data_dir}",
                *args,
                f"hydra.run.dir={run_dir}",
            ],  # fmt: skip
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        return seconds, json.loads((Path(run_dir) / "metrics.json").read_text())


def fresh_process_rate(allocator: str, steps: int) -> float:
    """The bare loop's img/s over the first ``steps`` steps of a new process, with glibc's
    allocator as it comes (``default``) or as every lenetlab process sets it (``kept``:
    cli/launch.py's keep_freed_memory)."""
    command = [sys.executable, __file__, "--fresh-loop", allocator, "--steps", str(steps)]
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def import_time() -> float:
    """Seconds for a fresh Python to import the libraries train.py needs, and exit."""
    started = time.perf_counter()
    # os._exit as a finished command ends (cli/launch.py's QuickExit): no teardown counted
    subprocess.run([sys.executable, "-c", f"{LIBRARIES}; import os; os._exit(0)"], cwd=REPO,
                   check=True)  # fmt: skip
    return time.perf_counter() - started


def tier_time(*selection: str) -> tuple[float, str]:
    """Seconds for the README's test command's tier (pytest's default selection, or these
    tests), and the summary line it ends with."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines() or [result.stderr.strip()[-300:]]
    return time.perf_counter() - started, lines[-1].strip("= ")


def spread(ratios: list[float]) -> str:
    return ", ".join(f"{ratio:.3f}" for ratio in ratios)


def against_target(name: str, seconds: float, scale: float) -> str:
    """``seconds`` against issue 26's target for ``name``, scaled to this CPU's bare loop."""
    target = TARGETS_S[name] * scale
    verdict = "met" if seconds <= target else "not met"
    scaled = f" (x{scale:.2f}: this bare loop's speed)" if abs(scale - 1) > 0.005 else ""
    return f"target <= {target:.1f} s{scaled}: {verdict}"


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--steps", type=int, default=300, help="training steps per pipeline")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--repeats", type=int, default=3, help="new-process pairs timed: the allocator setting"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="lockstep comparisons: rounds of each pair"
    )
    parser.add_argument("--skip-cli", action="store_true", help="only the throughput comparison")
    parser.add_argument(
        "--skip-compile", action="store_true", help="no compile=true (tens of seconds to compile)"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[12345, 1, 2],
        help="the seeds experiment=mnist_fast runs with, from a cold start each",
    )  # fmt: skip
    parser.add_argument("--skip-tier", action="store_true", help="do not time the test tier")
    parser.add_argument(
        "--fresh-loop", choices=("default", "kept"),
        help="only time the bare loop from this new process's first steps, glibc's allocator as "
        "it comes or as lenetlab sets it, and print its img/s",
    )  # fmt: skip
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="OVERRIDES",
        help="also time lenetlab with these overrides, e.g. 'compile=true' or "
        "'trainer.precision=bf16-mixed' (repeatable)",
    )
    parser.add_argument(
        "--bare-batch-sizes",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also time the bare loop (channels_last) at these batch sizes, against the baseline",
    )
    args = parser.parse_args(argv)
    if args.fresh_loop is not None:
        if args.fresh_loop == "kept":
            keep_freed_memory()
        print(bare_loop_rate(128, args.steps, 3, True))
        return
    keep_freed_memory()  # as in every lenetlab process: each pipeline below is timed with it
    L.seed_everything(0, verbose=False)
    silence_library_noise()  # as train.py does: Lightning's tips and deprecations
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)

    accelerator = "gpu" if args.device == "cuda" else "cpu"
    on = f"trainer.accelerator={accelerator}"
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU"
    print(f"{cpu_model()}, {torch.get_num_threads()} threads, {where}, torch {torch.__version__}, "
          f"lightning {L.__version__}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    baseline = baseline_rate(args.data_dir, args.steps, args.warmup, accelerator)
    fast, cfg = lenetlab_rate(args.data_dir, args.steps, args.warmup, on)
    batch_size = cfg.data.batch_size
    print(f"baseline (torchvision transforms, DataLoader batch 64): {baseline:8.0f} img/s")
    print(f"lenetlab (default path, batch {batch_size}):{'':14s} {fast:8.0f} img/s")
    print(f"speed-up: x{fast / baseline:.2f}   ({args.steps} steps each, {args.warmup} warm-up)")
    bare_steps = args.steps // 2
    for channels_last in (False, True):
        bare = bare_loop_rate(batch_size, bare_steps, args.warmup, channels_last, args.device)
        layout = "channels_last" if channels_last else "NCHW"
        print(f"bare PyTorch loop, no data or logging, {layout}: {bare:8.0f} img/s")
    print(f"lenetlab's default path: {fast / bare:.0%} of the bare loop (channels_last)")
    # Time targets are for a CPU whose bare loop ran at TARGET_BARE_RATE; scaled to this one.
    scale = TARGET_BARE_RATE / bare if args.device == "cpu" else 1.0
    # Where the rest goes: lenetlab's batches, then Lightning's loop, then lenetlab's metrics,
    # callbacks and logging (the default path).
    if args.device == "cpu":
        fed = bare_loop_rate(batch_size, bare_steps, args.warmup, True, data_dir=args.data_dir)
        print(f"bare loop fed by lenetlab's DataLoader: {fed:8.0f} img/s, {fed / bare:.0%}")
    floor = lightning_floor_rate(args.data_dir, args.steps, args.warmup, accelerator)
    print(f"Lightning floor (lenetlab's data and network, no metrics, logging or callbacks): "
          f"{floor:8.0f} img/s, {floor / bare:.0%} of the bare loop")  # fmt: skip
    manual = lightning_floor_rate(args.data_dir, args.steps, args.warmup, accelerator, True)
    print(f"the same with manual optimisation: {manual:8.0f} img/s, {manual / bare:.0%}")
    if not args.skip_compile:
        compiled, _ = lenetlab_rate(args.data_dir, args.steps, args.warmup, on, "compile=true")
        print(f"lenetlab compile=true: {compiled:8.0f} img/s, x{compiled / fast:.2f} of the eager "
              "step (its compile excluded: it is in the warm-up)")  # fmt: skip
    # The allocator setting every lenetlab process makes, against glibc's default: the bare
    # loop's first steps in new processes, pairs back to back.
    kept_ratios = [
        fresh_process_rate("kept", args.steps) / fresh_process_rate("default", args.steps)
        for _ in range(args.repeats)
    ]
    print(f"bare loop in a new process, glibc keeping freed memory (as lenetlab sets it) against "
          f"its default: x{statistics.median(kept_ratios):.2f} "
          f"({', '.join(f'{r:.2f}' for r in sorted(kept_ratios))})")  # fmt: skip

    # lenetlab's own per-step work (metrics, callbacks, logging) over the Lightning floor, and
    # the BatchNorm network of experiment=mnist_fast and mnist_best against the default one:
    # pipelines taking turns a step at a time (lockstep.py), where runs back to back spread
    # more than the points judged.
    def lockstep(pipeline: tuple, against: tuple) -> tuple[float, list[float]]:
        ratios = lockstep_ratios(args.data_dir, args.steps, args.warmup, args.device,
                                 pipeline, against, args.rounds)  # fmt: skip
        return statistics.median(ratios), sorted(ratios)

    bare_default = ("bare", batch_size, {})
    own, own_rounds = lockstep(("lenetlab",), against=("floor",))
    floor_share, _ = lockstep(("floor",), against=bare_default)
    points = 100 * (1 - own) * floor_share
    verdict = "met" if points <= TARGET_OWN_POINTS else "not met"
    print(f"in lockstep ({args.rounds} rounds of {args.steps} steps): lenetlab's default path "
          f"x{own:.3f} of the Lightning floor ({spread(own_rounds)}), the floor at "
          f"{floor_share:.0%} of the bare loop: lenetlab's own per-step work costs {points:.1f} "
          f"points of the bare loop; target <= {TARGET_OWN_POINTS} points: {verdict}")  # fmt: skip
    bn, bn_rounds = lockstep(("lenetlab", *BN_NETWORK), against=("lenetlab",))
    bn_bare, bare_rounds = lockstep(("bare", batch_size, BN_PARTS), against=bare_default)
    print(f"in lockstep: lenetlab {' '.join(BN_NETWORK)} x{bn:.2f} of the default network's "
          f"img/s ({spread(bn_rounds)}); bare loop x{bn_bare:.2f} "
          f"({spread(bare_rounds)})")  # fmt: skip
    # The paper's network as experiment=lenet5_1998 trains it (its batch, gradient clipping,
    # dropout): minutes of training for its epochs of 59,400 images, through lenetlab and at
    # the floor.
    paper_rate, paper = lenetlab_rate(
        args.data_dir, args.steps, args.warmup, on, "experiment=lenet5_1998"
    )
    batch, epochs = paper.data.batch_size, paper.trainer.max_epochs
    paper_bare = bare_loop_rate(batch, bare_steps, args.warmup, True, args.device, **PAPER)
    minutes = [epochs * 59_400 / rate / 60 for rate in (paper_rate, paper_bare)]
    verdict = against_target("lenet5_1998", 60 * minutes[0], scale)
    print(f"experiment=lenet5_1998 (batch {batch}): {paper_rate:8.0f} img/s, "
          f"{minutes[0]:.1f} min for its {epochs} epochs; bare loop {paper_bare:8.0f} img/s, "
          f"{minutes[1]:.1f} min; {verdict}")  # fmt: skip
    for size in args.bare_batch_sizes:
        rate = bare_loop_rate(size, bare_steps, args.warmup, True, args.device)
        print(f"bare loop, channels_last, batch {size}: {rate:8.0f} img/s, x{rate / baseline:.2f}")
    for variant in args.variant:
        rate, _ = lenetlab_rate(args.data_dir, args.steps, args.warmup, on, *variant.split())
        print(f"lenetlab {variant}: {rate:8.0f} img/s, x{rate / fast:.2f} of the default path")
    if args.skip_cli:
        return
    seconds, _ = wall_time(args.data_dir, "trainer.fast_dev_run=true", "data.download=false", on)
    imports = import_time()
    print(f"python src/train.py trainer.fast_dev_run=true: {seconds:.1f} s wall, "
          f"{against_target('fast_dev_run', seconds, scale)}; of it python -c '{LIBRARIES}' "
          f"{imports:.1f} s, lenetlab's own {seconds - imports:.1f} s")  # fmt: skip
    # The recipe to 99 %: mnist_fast on a CPU; on a GPU, where the steps set the time, the same
    # in a fifth of the steps. A cold start for each seed: the spread is the recipe's.
    recipe = "mnist_gpu_fast" if args.device == "cuda" else "mnist_fast"
    runs = [
        wall_time(args.data_dir, f"experiment={recipe}", f"seed={seed}", "data.download=false", on)
        for seed in args.seeds
    ]
    walls = [seconds for seconds, _ in runs]
    accuracies = [metrics["test/acc"] for _, metrics in runs]
    training = ", ".join(f"{metrics['train_time_s']:.2f}" for _, metrics in runs)
    print(
        f"python src/train.py experiment={recipe} seed=N, N = {', '.join(map(str, args.seeds))}: "
        f"{', '.join(f'{s:.1f}' for s in walls)} s wall, {training} s of training, "
        f"test/acc {', '.join(f'{a:.2%}' for a in accuracies)} after {runs[0][1]['epochs']} epochs"
    )
    median = statistics.median(walls)
    if min(accuracies) >= 0.99:
        reached = f"{median:.1f} s (median), {against_target('mnist_fast', median, scale)}"
    else:
        reached = f"not reached by every seed (lowest {min(accuracies):.2%})"
    print(f"time to 99 % test accuracy from a cold start (experiment={recipe}): {reached}")
    if not args.skip_tier:
        seconds, summary = tier_time()
        print(f"default test tier (python -m pytest): {seconds / 60:.1f} min, {summary}; "
              f"{against_target('test tier', seconds, scale)}")  # fmt: skip


if __name__ == "__main__":
    main()
