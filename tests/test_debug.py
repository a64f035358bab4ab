"""debug= presets (conf/debug/): fdr, overfit, limit, profiler, anomaly; and tags=[...] in
metrics.json, TensorBoard's HPARAMS and the sweep summary."""

import json
from pathlib import Path

import torch
from lightning import Callback
from test_sweeps import hparams_table, read_summary, write_job

from conftest import CONF
from lenetlab.commands import train as train_script
from lenetlab.records.sweep_summary import write_summary


class Seen(Callback):
    """What training looked like from inside: batches per epoch, anomaly mode, the loss."""

    def __init__(self):
        self.batches, self.anomaly, self.losses = {}, set(), []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batches[trainer.current_epoch] = batch_idx + 1
        self.anomaly.add(torch.is_anomaly_enabled())
        self.losses.append(float(outputs["loss"]))


def run(train_config, monkeypatch, *overrides):
    seen = Seen()
    build = train_script.build_trainer
    monkeypatch.setattr(
        train_script, "build_trainer", lambda *a, **k: with_probe(build, seen, a, k)
    )
    cfg = train_config(*overrides)
    return cfg, train_script.train(cfg), seen


def with_probe(build, seen, args, kwargs):
    trainer = build(*args, **kwargs)
    trainer.callbacks.append(seen)
    return trainer


def test_every_debug_preset_is_documented_and_tested():
    presets = {path.stem for path in (CONF / "debug").glob("*.yaml")}
    assert presets == {"fdr", "overfit", "limit", "profiler", "anomaly"}
    tested = {name.split("test_debug_")[1].split("_")[0] for name in globals()
              if name.startswith("test_debug_")}  # fmt: skip
    assert tested == presets
    guide = (CONF.parent / "docs" / "guide.md").read_text()
    assert all(f"debug={preset}" in guide for preset in presets)


def test_debug_fdr_runs_one_batch_of_everything(train_config, monkeypatch):
    _, metrics, seen = run(train_config, monkeypatch, "debug=fdr")
    assert seen.batches == {0: 1} and "test/acc" in metrics


def test_debug_overfit_drives_the_loss_of_a_few_batches_to_zero(train_config, monkeypatch):
    # 12 of the preset's 40 epochs, at a higher rate: the same 4 batches each time
    overfit = ["debug=overfit", "trainer.max_epochs=12", "optimizer.lr=0.2"]
    cfg, metrics, seen = run(train_config, monkeypatch, *overfit)
    assert set(seen.batches.values()) == {4} and len(seen.batches) == 12
    assert seen.losses[-1] < 0.05 < 1.0 < seen.losses[0]
    assert "test/acc" not in metrics  # nothing to test on: the point is the loss


def test_debug_limit_trains_on_a_tenth_for_two_epochs(train_config, monkeypatch):
    _, metrics, seen = run(train_config, monkeypatch, "debug=limit", "data.batch_size=16")
    assert seen.batches == {0: 3, 1: 3}  # a tenth of the fixture's 34 batches of 16
    assert metrics["epochs"] == 2 and "test/acc" in metrics


def test_debug_profiler_saves_its_report_in_the_run_folder(train_config, monkeypatch):
    cfg, metrics, _ = run(train_config, monkeypatch, "debug=profiler")
    reports = sorted(p.name for p in Path(cfg.paths.output_dir).glob("*profile*.txt"))
    assert reports and "fit-profile.txt" in reports, reports
    report = (Path(cfg.paths.output_dir) / "fit-profile.txt").read_text()
    assert "run_training_batch" in report and metrics["epochs"] == 1


def test_debug_anomaly_trains_with_anomaly_detection_on(train_config, monkeypatch):
    _, metrics, seen = run(train_config, monkeypatch, "debug=anomaly")
    assert seen.anomaly == {True} and metrics["epochs"] == 1
    _, _, plain = run(train_config, monkeypatch, "trainer.fast_dev_run=true")
    assert plain.anomaly == {False}


def test_tags_reach_metrics_json_tensorboard_and_the_sweep_summary(train_config, tmp_path):
    cfg = train_config("tags=[baseline,paper]", "trainer.max_epochs=1")
    train_script.train(cfg)
    saved = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert saved["tags"] == ["baseline", "paper"]
    (row,) = hparams_table(Path(cfg.paths.output_dir)).values()
    assert row["tags"] == "baseline,paper"

    sweep = tmp_path / "sweep"
    write_job(sweep, 0, ["seed=1"], {"val/acc_best": 0.9, "tags": ["baseline"]})
    write_job(sweep, 1, ["seed=2"], {"val/acc_best": 0.8})
    write_summary(sweep, "val/acc_best")
    assert [row["tags"] for row in read_summary(sweep)] == ["baseline", ""]
    assert "| tags |" in (sweep / "summary.md").read_text()
