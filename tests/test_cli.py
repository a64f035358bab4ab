"""The entry scripts as a user runs them: python src/train.py ..., python src/eval.py ..."""

import json

from conftest import run_in_process, run_script

# Lightning's switch alone turns callbacks.progress_bar off too (training/trainer.py).
QUIET = ["trainer.accelerator=cpu", "trainer.enable_progress_bar=false"]


def test_train_then_eval_from_the_command_line(tmp_path, data_dir):
    """train.py in a process of its own, as it starts for a user (what it prints on the way);
    eval.py on its checkpoint in this one (conftest.run_in_process)."""
    run_dir = tmp_path / "run"
    trained = run_script(
        "train.py",
        f"paths.data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        "trainer.max_epochs=1",
        "data.batch_size=32",
        *QUIET,
    )
    assert trained.returncode == 0, trained.stderr
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert "48,120" in trained.stdout  # the layer table
    # A start without library noise: the graph is drawn without jit's deprecation warnings, and
    # Lightning's advertisement is left out.
    output = trained.stdout + trained.stderr
    assert "FutureWarning" not in output and "is deprecated" not in output
    assert "Tip" not in output and "litlogger" not in output
    metrics = json.loads((run_dir / "metrics.json").read_text())

    eval_dir = tmp_path / "eval"
    evaluated = run_in_process(
        "eval.py",
        f"ckpt_path={metrics['best_checkpoint']}",
        f"paths.data_dir={data_dir}",
        f"hydra.run.dir={eval_dir}",
        *QUIET,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "Warning" not in evaluated.stdout + evaluated.stderr
    assert json.loads((eval_dir / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]
