"""bench/speed.py compares lenetlab's data path with the tutorial pipeline; the speed-up must not
come from feeding the model different inputs. And the benchmark itself runs, every part of it."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

import speed
from conftest import run_script
from lenetlab.training.devices import cpu_model
from lockstep import Lockstep, speed_ratio
from speed import baseline_dataset


def test_fast_path_gives_the_model_the_same_inputs_as_the_tutorial_pipeline(train_config):
    cfg = train_config()  # the default recipe: data=mnist, model=lenet_tanh
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    images, labels = datamodule.load_split(train=True)  # uint8, what the fast path serves
    tutorial = baseline_dataset(Path(cfg.data.data_dir))  # float, normalised per sample
    assert len(tutorial) == len(images)
    for index in range(len(tutorial)):
        pixels, label = tutorial[index]
        assert label == labels[index]
        normalised = model.normalize(images[index : index + 1])[0]
        torch.testing.assert_close(normalised, pixels, atol=1e-5, rtol=0)


def bench(data_dir, *args: str):
    result = run_script(
        "../bench/speed.py", "--data-dir", str(data_dir), "--steps", "12", "--warmup", "2", *args,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_benchmark_reports_its_throughput_ratios(data_dir, capsys):
    """`make bench` in small, its in-process part (run in this process): every comparison runs
    and is named."""
    speed.main(["--data-dir", str(data_dir), "--steps", "12", "--warmup", "2", "--skip-cli",
                "--skip-compile", "--repeats", "1", "--rounds", "1",
                "--variant", "trainer.precision=bf16-mixed"])  # fmt: skip
    report = capsys.readouterr().out
    for line in (
        "speed-up: x",  # against the tutorial pipeline
        "lenetlab's default path: ",  # against the bare loop
        "bare loop fed by lenetlab's DataLoader: ",  # where the difference goes
        "Lightning floor (",
        "the same with manual optimisation: ",
        "of the Lightning floor (",  # lenetlab's own per-step work, in lockstep
        "points of the bare loop; target <= 2 points: ",
        "of the default network's img/s",  # the BatchNorm network
        "lenetlab trainer.precision=bf16-mixed: ",
    ):
        assert line in report, report


def test_pipelines_in_lockstep_take_one_step_each_in_turn():
    order = []

    def pipeline(name, steps):
        def run(player):
            for _ in range(steps):
                order.append(name)
                player.step_done()

        return run

    lockstep = Lockstep(warmup=1)
    seconds = lockstep.run([pipeline("a", 4), pipeline("b", 4), pipeline("c", 6)])
    assert "".join(order) == "abcabcabcabccc"  # c goes on alone once a and b are done
    assert [len(s) for s in seconds] == [3, 3, 5]  # the steps after the warm-up


def test_a_failing_pipeline_ends_the_lockstep_with_its_error():
    def fails(player):
        player.step_done()
        raise ValueError("broken pipeline")

    def steps(player):
        for _ in range(5):
            player.step_done()

    with pytest.raises(ValueError, match="broken pipeline"):
        Lockstep(warmup=0).run([steps, fails])


def test_the_speed_ratio_is_over_the_steps_both_took():
    assert speed_ratio([2.0, 2.0, 4.0], against=[1.0, 1.0, 2.0]) == 0.5
    assert speed_ratio([1.0, 1.0, 9.0], against=[2.0, 2.0]) == 2.0  # the third step: one only


@pytest.mark.slow
def test_the_whole_benchmark_runs(data_dir):
    """All of it but the test tier (below), with two seeds of mnist_fast (three by default)."""
    report = bench(data_dir, "--skip-tier", "--seeds", "1", "2")
    assert report.startswith(cpu_model())  # the machine named with its figures
    for line in (
        "lenetlab compile=true: ",
        "python src/train.py trainer.fast_dev_run=true: ",
        "of it python -c 'import lightning.pytorch, torchvision, hydra' ",
        "python src/train.py experiment=mnist_fast seed=N, N = 1, 2: ",
        "time to 99 % test accuracy from a cold start (experiment=mnist_fast): ",
        "min for its 45 epochs; bare loop",
    ):
        assert line in report, report
    assert "target <= " in report  # each time against issue 26's targets


@pytest.mark.slow
def test_the_benchmark_times_the_test_tier():
    seconds, summary = speed.tier_time("tests/test_lenet5.py", "-k", "unknown_activation")
    assert seconds > 0
    assert summary.startswith("1 passed"), summary


def test_a_target_scales_with_the_cpus_speed():
    assert speed.against_target("mnist_fast", 14.0, 1.0) == "target <= 15.0 s: met"
    slower = speed.against_target("mnist_fast", 16.0, 1.2)  # a CPU at 12k img/s
    assert slower == "target <= 18.0 s (x1.20: this bare loop's speed): met"
    assert speed.against_target("fast_dev_run", 4.5, 1.0).endswith("not met")


@pytest.mark.slow
def test_the_batch_norm_benchmark_times_each_kernel():
    result = run_script("../bench/batch_norm.py")
    assert result.returncode == 0, result.stderr[-3000:]
    for shape in ("128x6x28x28: ", "128x16x10x10: "):
        line = next(line for line in result.stdout.splitlines() if line.startswith(shape))
        assert "torch, NCHW" in line and "lenetlab, channels_last" in line, result.stdout


@pytest.mark.slow
def test_the_usage_error_benchmark_times_every_entry_point(capsys):
    import usage_errors

    results = usage_errors.main(["--repeats", "1"])
    assert set(results) == {p.name for p in (usage_errors.REPO / "src").glob("*.py")}
    assert "baseline, python -c 'import lightning'" in capsys.readouterr().out
