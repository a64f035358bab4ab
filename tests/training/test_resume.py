"""What a run keeps whatever its config says, and how it carries on: last.ckpt and the Ctrl-C
save under ``callbacks=none`` and a custom list, any folder name resumed by the printed command,
a longer ``trainer.max_epochs`` stretching the schedule, and overrides a resumed run refuses."""

import json
import shlex
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import assert_one_line, run_in_process, run_script
from lenetlab.commands import train as train_script
from lenetlab.records.results import RunClock
from lenetlab.run_folder import resume_command

STEPS_PER_EPOCH = 5  # 540 fixture training images in batches of 128
ODD_NAME = "rün 2, lr=0.1 'x'"  # spaces, a non-ASCII letter, a comma, "=", quotes


def logged(run_dir, tag="lr-SGD") -> dict[int, float]:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {event.step: event.value for event in events.Scalars(tag)}


@pytest.mark.parametrize(
    "callbacks",
    ["callbacks=none", pytest.param("callbacks=[early_stopping]", marks=pytest.mark.slow)],
)
def test_ctrl_c_keeps_last_ckpt_whatever_the_callbacks_and_the_printed_command_resumes(
    tmp_path, data_dir, callbacks
):
    run_dir = tmp_path / "outputs" / "run"
    first = run_script(
        "train.py", callbacks, f"paths.data_dir={data_dir}", "data.download=false",
        f"hydra.run.dir={run_dir}", "trainer.accelerator=cpu", "trainer.max_epochs=3",
        "trainer.enable_progress_bar=false", "+callbacks.signal._target_=probes.SignalAt",
        "+callbacks.signal.epoch=1", "+callbacks.signal.batch=2", "+callbacks.signal.signal=SIGINT",
    )  # fmt: skip
    assert first.returncode == 1, first.stderr
    hint = next(line for line in (first.stdout + first.stderr).splitlines() if "Continue" in line)
    assert hint.endswith(resume_command(run_dir))
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == STEPS_PER_EPOCH + 3  # after batch 2 of epoch 2

    moved = run_dir.rename(tmp_path / "outputs" / ODD_NAME)  # any folder name resumes
    printed = shlex.split(resume_command(moved))  # the hint as a shell splits it
    assert printed[:2] == ["python", "src/train.py"]
    resumed = run_in_process(Path(printed[1]).name, *printed[2:], "~callbacks.signal")
    assert resumed.returncode == 0, resumed.stderr
    metrics = json.loads((moved / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["test/acc"] > 0.5


COSINE, STEP = torch.optim.lr_scheduler.CosineAnnealingLR, torch.optim.lr_scheduler.StepLR


def schedule(scheduler_cls, epochs: int, **settings) -> list[float]:
    """The learning rate of each step of a run started with ``epochs`` epochs."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    scheduler = scheduler_cls(optimizer, **settings)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(
    ("scheduler", "per_epoch"),
    [
        (["scheduler=cosine"], lambda n: schedule(COSINE, n, T_max=n)),
        (["scheduler=step", "scheduler.step_size=2", "scheduler.gamma=0.5"],
         lambda n: schedule(STEP, n, step_size=2, gamma=0.5)),
    ],
    ids=["cosine", "step"],
)  # fmt: skip
def test_extending_a_finished_run_follows_the_longer_schedule(
    train_config, tmp_path, scheduler, per_epoch
):
    common = ["optimizer.lr=0.05", "callbacks.prediction_images=null", *scheduler]
    train_script.train(train_config(*common, "trainer.max_epochs=3"))
    cfg = train_config(*common, "trainer.max_epochs=6", f"++resume={tmp_path / 'run'}")
    train_script.train(cfg)
    rates, expected = logged(cfg.paths.output_dir), per_epoch(6)
    for epoch in (3, 4, 5):  # as a 6-epoch run has them, not 0 and climbing back up
        assert rates[epoch * STEPS_AT_64] == pytest.approx(expected[epoch], abs=1e-7), epoch


STEPS_AT_64 = 540 // 64 + 1  # the train_config fixture's batches of 64


def test_extending_a_one_cycle_run_follows_the_longer_cycle(train_config, tmp_path):
    common = ["scheduler=onecycle", "optimizer.lr=0.2", "trainer.log_every_n_steps=1",
              "callbacks.prediction_images=null"]  # fmt: skip
    train_script.train(train_config(*common, "trainer.max_epochs=2"))
    cfg = train_config(*common, "trainer.max_epochs=4", f"++resume={tmp_path / 'run'}")
    train_script.train(cfg)
    steps = 4 * STEPS_AT_64
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    fresh = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=steps,
                                                pct_start=0.25)  # fmt: skip
    expected = []
    for _ in range(steps):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        fresh.step()
    rates = logged(cfg.paths.output_dir)
    resumed = [step for step in rates if step >= steps // 2]
    assert len(resumed) == steps // 2
    assert all(rates[step] == pytest.approx(expected[step], rel=1e-5) for step in resumed)


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("model.activation=relu", "model.activation=relu cannot change a run that has started"),
        ("optimizer.lr=0.5", "optimizer.lr=0.5 cannot change a run"),
        ("-m", "-m does not apply to a resumed run"),
    ],
)
def test_an_override_a_resumed_run_cannot_take_is_one_line(tmp_path, override, says):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 1\n")
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert_one_line(run_in_process("train.py", f"resume={run_dir}", override), says)


def test_the_run_clock_carries_the_wall_time_over_a_resume():
    first = RunClock(started=time.monotonic() - 30)  # a command that ran for 30 s
    second = RunClock(started=time.monotonic())
    second.load_state_dict(first.state_dict())
    second.on_train_start(SimpleNamespace(ckpt_path="last.ckpt"), None)
    assert second.elapsed() == pytest.approx(30, abs=1)
    tested = RunClock(started=time.monotonic())  # trainer.test(ckpt_path=...) loads it too
    tested.load_state_dict(first.state_dict())
    assert tested.elapsed() == pytest.approx(0, abs=1)
