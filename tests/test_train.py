import json
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from lightning import Callback
from lightning.pytorch.strategies import DDPStrategy
from omegaconf import OmegaConf, open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONF, compose_config, quiet_train_config
from lenetlab.commands import evaluate as eval_script
from lenetlab.commands import train as train_script
from lenetlab.models.module import LeNetModule
from lenetlab.training.trainer import build_trainer
from probes import HostSyncs

GROUPS = ["data", "model", "optimizer", "scheduler", "callbacks", "logger", "trainer", "paths"]
GROUPS += ["experiment"]
CHOICES = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


@pytest.mark.parametrize(("group", "choice"), CHOICES, ids=[f"{g}={c}" for g, c in CHOICES])
def test_every_config_composes_and_instantiates(train_config, group, choice):
    cfg = train_config(f"{group}={choice}")
    datamodule = instantiate(cfg.data)
    if cfg.model.scheduler and cfg.model.scheduler.get("total_steps", 0) is None:
        cfg.scheduler.total_steps = 100  # filled in from the trainer during fit
    model = instantiate(cfg.model)
    model.configure_optimizers()
    trainer = build_trainer(cfg, model)
    assert datamodule.hparams.dataset == cfg.data.dataset
    assert datamodule.hparams.augment == cfg.data.augment
    assert model.hparams.activation == cfg.model.activation
    assert trainer.max_epochs == cfg.trainer.max_epochs
    if choice == "ddp":  # one process per device, two of them (training/ranks.py starts them)
        assert isinstance(trainer.strategy, DDPStrategy)
        assert trainer.num_devices == 2 and trainer.strategy.world_size == 2
    else:
        assert trainer.num_devices == 1 and not isinstance(trainer.strategy, DDPStrategy)


@pytest.mark.parametrize("overrides", [["model.pool=max", "model.activation=relu"], ["~scheduler"]])
def test_presets_take_overrides(train_config, overrides):
    cfg = train_config("model=lenet_sigmoid", *overrides)
    model = instantiate(cfg.model)
    if "model.pool=max" in overrides:
        assert isinstance(model.net.s2[0], torch.nn.MaxPool2d)
        assert isinstance(model.net.s2[1], torch.nn.ReLU)  # after the pooling: lenet5.py
    else:
        assert isinstance(model.configure_optimizers(), torch.optim.SGD)


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "usps"])
def test_one_epoch_on_each_dataset_learns_its_classes(train_config, dataset):
    cfg = train_config(f"data={dataset}", "trainer.max_epochs=1", "data.batch_size=32")
    metrics = train_script.train(cfg)
    assert metrics["epochs"] == 1 and metrics["test/acc"] > 0.5  # chance: 0.1


def test_fast_dev_run_tests_one_batch_of_the_last_weights(train_config):
    metrics = train_script.train(train_config("trainer.fast_dev_run=true"))
    assert metrics["epochs"] == 1 and metrics["tested_checkpoint"] == ""
    assert round(metrics["test/acc"] * 100) == pytest.approx(metrics["test/acc"] * 100)  # of 100


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, data_dir):
    """Three epochs of lenet_tanh on the MNIST fixture: the run directory and its metrics."""
    run_dir = tmp_path_factory.mktemp("run")
    overrides = ["data.batch_size=32", "trainer.max_epochs=3", "trainer.log_every_n_steps=5"]
    metrics = train_script.train(quiet_train_config(data_dir, run_dir, *overrides))
    return run_dir, metrics


def test_run_learns_and_writes_metrics_json(trained_run):
    run_dir, metrics = trained_run
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved == metrics
    assert saved["epochs"] == 3
    assert saved["test/acc"] > 0.9 and saved["val/acc_best"] > 0.9  # fixture classes are learnable
    assert saved["test/loss"] < 1.0
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert saved["best_checkpoint"] == str(run_dir / "checkpoints" / "best.ckpt")


def test_tensorboard_has_the_models_graph_once(trained_run):
    run_dir, _ = trained_run
    graphs = 0
    for file in sorted(run_dir.glob("events.out.tfevents.*")):  # fit's, test's, the hparams'
        events = EventAccumulator(str(file))
        events.Reload()
        graphs += events.Tags()["graph"]
    assert graphs == 1


def test_tensorboard_has_curves_lr_and_hparams_with_final_metrics(trained_run):
    run_dir, metrics = trained_run
    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {
        "train/loss_step",
        "train/loss_epoch",
        "train/acc",
        "val/loss",
        "val/acc",
        "val/acc_best",
        "test/acc",
        "test/loss",
        "lr-SGD",
    } <= tags
    assert len(events.Scalars("val/acc")) == 3 and len(events.Scalars("train/loss_step")) > 3
    assert "hp_metric" not in tags
    assert events.Scalars("test/acc")[-1].value == pytest.approx(metrics["test/acc"])
    assert events.Scalars("val/acc_best")[-1].value == pytest.approx(metrics["val/acc_best"])
    plugin = events.PluginTagToContent("hparams")
    assert set(plugin) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }
    from tensorboard.plugins.hparams import plugin_data_pb2

    experiment = plugin_data_pb2.HParamsPluginData.FromString(plugin["_hparams_/experiment"])
    metric_tags = {info.name.tag for info in experiment.experiment.metric_infos}
    assert {"val/acc_best", "test/acc", "test/loss"} <= metric_tags
    start = plugin_data_pb2.HParamsPluginData.FromString(plugin["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["model/activation"].string_value == "tanh"
    assert hparams["optimizer"].string_value == "SGD"
    assert hparams["optimizer/lr"].number_value == pytest.approx(0.05)


def test_checkpoint_loads_with_no_config(trained_run, data_dir):
    run_dir, _ = trained_run
    model = LeNetModule.load_from_checkpoint(run_dir / "checkpoints" / "best.ckpt")
    assert (
        model.hparams.activation == "tanh"
        and model.hparams.optimizer["_target_"] == "torch.optim.SGD"
    )
    checkpoint = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=False)
    assert checkpoint["datamodule_hyper_parameters"]["dataset"] == "mnist"
    state = {
        k.removeprefix("net."): v
        for k, v in checkpoint["state_dict"].items()
        if k.startswith("net.")
    }
    for name, tensor in model.net.state_dict().items():
        assert torch.equal(tensor, state[name])


def evaluate_checkpoint(path, data_dir, run_dir) -> dict:
    """src/eval.py's metrics for one checkpoint on the fixture test split."""
    overrides = [f"ckpt_path={path}", f"paths.data_dir={data_dir}"]
    overrides += ["trainer.enable_progress_bar=false"]
    return eval_script.evaluate(compose_config("eval", overrides, run_dir))


def test_eval_reproduces_test_accuracy(trained_run, data_dir, tmp_path):
    run_dir, metrics = trained_run
    result = evaluate_checkpoint(run_dir / "checkpoints" / "best.ckpt", data_dir, tmp_path / "eval")
    assert result["test/acc"] == pytest.approx(metrics["test/acc"])
    assert result["test/loss"] == pytest.approx(metrics["test/loss"], rel=1e-4)
    assert (
        json.loads((tmp_path / "eval" / "metrics.json").read_text())["test/acc"]
        == result["test/acc"]
    )


def test_test_checkpoint_last_tests_the_final_weights(data_dir, tmp_path):
    """best.ckpt is held at epoch 1 (the lowest val/acc wins): only last.ckpt has epoch 3."""
    run_dir = tmp_path / "run"
    overrides = ["data.batch_size=32", "trainer.max_epochs=3", "test_checkpoint=last"]
    overrides += ["callbacks.model_checkpoint.mode=min"]
    metrics = train_script.train(quiet_train_config(data_dir, run_dir, *overrides))
    last, best = run_dir / "checkpoints" / "last.ckpt", run_dir / "checkpoints" / "best.ckpt"
    assert metrics["tested_checkpoint"] == str(last) and metrics["best_checkpoint"] == str(best)
    losses = {
        path.stem: evaluate_checkpoint(path, data_dir, tmp_path / path.stem)["test/loss"]
        for path in (last, best)
    }
    assert metrics["test/loss"] == pytest.approx(losses["last"], rel=1e-4)
    assert losses["best"] != pytest.approx(losses["last"], rel=1e-2)


PRESETS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))


@pytest.mark.parametrize("model", PRESETS)
def test_every_model_preset_learns_with_the_default_recipe(train_config, model):
    """Default data, optimizer, scheduler and trainer; only the epochs are set (the fixture has
    5 batches of 128). A sigmoid LeNet-5 with a poor init, or the 1998 network without its
    gradient clipping, sits at chance here (0.1)."""
    cfg = train_config(
        f"model={model}", "data.batch_size=128", "trainer.max_epochs=8", "test=false"
    )
    assert train_script.train(cfg)["val/acc_best"] > 0.6


def test_adamw_trains(train_config):
    metrics = train_script.train(
        train_config("optimizer=adamw", "trainer.max_epochs=2", "test=false", "data.batch_size=32")
    )
    assert metrics["val/acc_best"] > 0.5


def test_each_epoch_is_logged_with_its_metrics(train_config, caplog):
    caplog.set_level("INFO", logger="lenetlab")
    train_script.train(train_config("trainer.max_epochs=2", "test=false"))
    lines = [r.getMessage() for r in caplog.records if r.name == "lenetlab"]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val/acc" in lines[0] and "lr 0.05 " in lines[0]  # the lr the epoch trained with


def test_a_time_limit_ends_training_whole_and_a_resume_continues_the_clock(train_config):
    """callbacks.timer: train_time_s in metrics.json; with a duration (as before a SLURM time
    limit) the run stops early but whole: checkpoints saved, the test run. The limit counts the
    run's training across resumes, so a resume continues with a later limit."""
    cfg = train_config("trainer.max_epochs=1000", "callbacks.timer.duration=00:00:00:01")
    metrics = train_script.train(cfg)
    assert 1 <= metrics["epochs"] < 1000
    assert metrics["train_time_s"] >= 1.0  # stopped by the limit, not by max_epochs
    assert (Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt").is_file()
    assert metrics["test/acc"] > 0.1

    later_limit = "callbacks.timer.duration=00:00:00:02"
    resume = f"resume={cfg.paths.output_dir}"
    resumed = train_script.train(train_config("trainer.max_epochs=1000", later_limit, resume))
    assert metrics["epochs"] < resumed["epochs"] < 1000
    assert resumed["train_time_s"] >= 2.0


def test_one_cycle_schedule_spans_the_whole_run(train_config):
    cfg = train_config(
        "experiment=mnist_fast", "trainer.max_epochs=2", "trainer.log_every_n_steps=1"
    )
    train_script.train(cfg)
    events = EventAccumulator(str(cfg.paths.output_dir))
    events.Reload()
    lrs = [event.value for event in events.Scalars("lr-SGD")]
    steps = [event.step for event in events.Scalars("lr-SGD")]
    assert len(lrs) == steps[-1] + 1  # logged every step
    assert max(lrs) == pytest.approx(cfg.optimizer.lr, rel=0.05)  # warmed up to optimizer.lr
    assert lrs[-1] < cfg.optimizer.lr / 1000  # and annealed by the last step


@pytest.mark.parametrize("augment", [None, "elastic"])
def test_training_steps_read_nothing_back_from_the_device(train_config, augment):
    """What would stall a GPU every step (the NaN check, the distortions' matrix inverse, the
    image callback, metric input checks), caught on the CPU by the ops that sync: in training
    they may run only on the steps that log (every log_every_n_steps), where the loss is read on
    purpose, and never in a test batch (step -1)."""
    HostSyncs.seen = []
    extra = ["data.augment=elastic"] if augment else []
    cfg = train_config("trainer.max_epochs=2", "trainer.log_every_n_steps=4", *extra,
                       "+callbacks.host_syncs._target_=probes.HostSyncs")  # fmt: skip
    train_script.train(cfg)
    assert HostSyncs.seen, "recorded nothing: the probe is not watching"  # log steps sync
    assert [(step, op) for step, op in HostSyncs.seen if step % 4] == []


def test_the_progress_bar_shows_the_step_loss_the_loggers_got(train_config):
    cfg = train_config(
        "trainer.max_epochs=1", "+trainer.limit_train_batches=5", "trainer.log_every_n_steps=2",
        "trainer.enable_progress_bar=true",
    )  # fmt: skip
    shipped = OmegaConf.load(CONF / "callbacks/progress_bar.yaml")
    with open_dict(cfg):  # the tests' configs have no bar
        cfg.callbacks.progress_bar = shipped.progress_bar
    model = instantiate(cfg.model)
    trainer = build_trainer(cfg, model)
    shown = []

    class Look(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            metrics = trainer.progress_bar_callback.get_metrics(trainer, pl_module)
            shown.append((trainer.global_step, metrics.get("train/loss"), pl_module.step_loss))

    trainer.callbacks.append(Look())
    trainer.fit(model, datamodule=instantiate(cfg.data))
    assert [step for step, _, _ in shown] == [1, 2, 3, 4, 5]
    assert all(loss == kept and loss is not None for _, loss, kept in shown)
    # logged at global steps 0, 2 and 4 (Lightning's counter before each step): three values
    assert len({loss for _, loss, _ in shown}) == 3
