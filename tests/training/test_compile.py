"""compile=true: the training step (network, loss, backward) is one graph, compiled once - no
graph break, no recompilation (an epoch's smaller last batch runs eagerly) - it trains as the
eager step does, and it prints nothing. Slow: Inductor's first compile takes tens of seconds."""

import json
from pathlib import Path

import pytest
import torch
from torch._dynamo.utils import counters

from conftest import QUIET, run_in_process
from lenetlab.commands import train as train_script
from lenetlab.models.module import LeNetModule


@pytest.fixture
def fresh_dynamo():
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


@pytest.mark.slow
def test_the_training_step_is_one_graph_compiled_once(train_config, fresh_dynamo, monkeypatch):
    monkeypatch.setattr(torch._dynamo.config, "error_on_recompile", True)
    eager = train_script.train(train_config("trainer.max_epochs=2"))
    compiled = train_script.train(train_config("compile=true", "trainer.max_epochs=2"))
    assert counters["stats"]["unique_graphs"] == 1 and not counters["graph_break"]
    assert counters["aot_autograd"]["ok"] == 1  # its backward pass compiled with it
    # The same numbers as the eager step, within float reassociation
    assert compiled["val/acc_best"] == pytest.approx(eager["val/acc_best"], abs=0.01)
    assert compiled["test/acc"] == pytest.approx(eager["test/acc"], abs=0.01)
    model = LeNetModule.load_from_checkpoint(compiled["best_checkpoint"])  # a plain checkpoint
    assert not any(key.startswith("_orig_mod") for key in model.state_dict())


@pytest.mark.slow
def test_a_compiled_run_prints_no_warnings(tmp_path, data_dir):
    result = run_in_process(
        "train.py", "compile=true", "trainer.max_epochs=1", f"paths.data_dir={data_dir}",
        f"paths.log_dir={tmp_path}", "data.batch_size=64", *QUIET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if "warn" in line.lower()]
    assert not noise, noise
    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "metrics.json").is_file()]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 1
    assert list(Path(run_dir).glob("events.out.tfevents.*"))  # the graph drawn, uncompiled
