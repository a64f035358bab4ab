"""The paper's LeNet-5 (LeCun et al. 1998) and its building blocks."""

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from lightning.pytorch.callbacks import EMAWeightAveraging

from lenetlab.callbacks.model_summary import layer_table
from lenetlab.commands import train as train_script
from lenetlab.models.blocks import C3_TABLE, EuclideanRBF, ScaledTanh, SparseConv2d, Subsampling
from lenetlab.models.digit_bitmaps import digit_prototypes
from lenetlab.models.lenet5 import LeNet5
from lenetlab.models.module import LeNetModule
from lenetlab.training.trainer import build_trainer

PAPER = dict(activation="scaled_tanh", pool="subsample", c3="sparse", head="rbf", init="lecun1998")
PAPER_PARAMS = {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164, "output": 0}


def trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_paper_network_has_the_paper_parameter_counts():
    net = LeNet5(**PAPER)
    assert {name: trainable(layer) for name, layer in net.named_children()} == PAPER_PARAMS
    assert trainable(net) == 60_000
    assert net.output.prototypes.numel() == 840 and not net.output.prototypes.requires_grad
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_layer_table_prints_the_paper_counts():
    table = layer_table(LeNetModule(**PAPER))
    cells = {row[0]: row[3] for row in zip(*(c._cells for c in table.columns), strict=True)}
    expected = {"c1": "156", "s2": "12", "c3": "1,516", "s4": "32", "c5": "48,120"}
    expected |= {"f6": "10,164", "output": "0 (+840 fixed)", "total": "60,000 (+840 fixed)"}
    assert cells == expected


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    out = ScaledTanh()(torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(out, torch.tensor([-1.0, 0.0, 1.0]), atol=1e-4, rtol=0)


def test_subsampling_is_a_trainable_coefficient_times_the_2x2_sum_plus_bias():
    layer = Subsampling(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -1.0]))
        layer.bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.arange(32.0).view(1, 2, 4, 4)
    window_sums = F.avg_pool2d(x, 2) * 4
    expected = window_sums * torch.tensor([2.0, -1.0]).view(1, 2, 1, 1)
    expected += torch.tensor([0.5, 0.0]).view(1, 2, 1, 1)
    torch.testing.assert_close(layer(x), expected)
    assert layer(x).shape == (1, 2, 2, 2)
    # and the gradients of that formula (the layer computes it as one depthwise convolution)
    x = torch.randn(3, 2, 6, 6, requires_grad=True)
    upstream = torch.randn(3, 2, 3, 3)
    layer(x).backward(upstream)
    ours = (x.grad, layer.weight.grad, layer.bias.grad)
    x.grad = None
    weight, bias = (p.detach().clone().requires_grad_() for p in (layer.weight, layer.bias))
    formula = F.avg_pool2d(x, 2) * 4 * weight.view(1, 2, 1, 1) + bias.view(1, 2, 1, 1)
    formula.backward(upstream)
    for got, want in zip(ours, (x.grad, weight.grad, bias.grad), strict=True):
        torch.testing.assert_close(got, want)


def test_sparse_c3_follows_table_1():
    layer = SparseConv2d(6)
    assert trainable(layer) == 1516
    dense = layer.dense_weight()
    for out_map in range(16):
        for in_map in range(6):
            connected = in_map in C3_TABLE[out_map]
            assert bool(dense[out_map, in_map].abs().sum() > 0) == connected
    # Table I's structure: 6 maps see 3 contiguous, 6 see 4 contiguous, 3 see 4, 1 sees all.
    assert [len(inputs) for inputs in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert sum(len(inputs) for inputs in C3_TABLE) == 60


def test_sparse_c3_output_ignores_unconnected_inputs():
    layer = SparseConv2d(6)
    x = torch.randn(1, 6, 14, 14)
    changed = x.clone()
    changed[:, 5] += 10  # S2 map 5 feeds C3 maps 3, 4, 5, 8, 9, 10, 11, 13, 14, 15 only
    moved = (layer(changed) - layer(x)).abs().amax(dim=(0, 2, 3)) > 0
    assert moved.tolist() == [5 in inputs for inputs in C3_TABLE]


def test_rbf_predicts_the_nearest_fixed_prototype():
    head = EuclideanRBF()
    prototypes = digit_prototypes()
    logits = head(prototypes * 0.9)
    assert logits.argmax(dim=1).tolist() == list(range(10))
    torch.testing.assert_close(-logits, torch.cdist(prototypes * 0.9, prototypes).square())
    assert set(prototypes.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(row.tolist()) for row in prototypes}) == 10


def test_paper_init_is_uniform_within_2_4_over_fan_in():
    torch.manual_seed(0)
    net = LeNet5(**PAPER)
    bounds = {"c1": 2.4 / 25, "c5": 2.4 / 400, "f6": 2.4 / 120, "s2": 2.4 / 4}
    assert net.c1[0].weight.abs().max() <= bounds["c1"]
    assert net.c1[0].weight.abs().max() > 0.9 * bounds["c1"]  # uses the range, not a narrower one
    assert net.c5[0].weight.abs().max() <= bounds["c5"]
    assert net.f6[1].weight.abs().max() <= bounds["f6"]
    assert net.s2[0].weight.abs().max() <= bounds["s2"]
    sparse = net.c3[0]
    per_kernel = sparse.weight.abs().amax(dim=(1, 2))
    assert torch.all(per_kernel <= 2.4 / sparse.kernel_fan_in)


def test_preset_composes_with_the_paper_input_scaling(train_config):
    cfg = train_config("model=lenet5_1998")
    model = instantiate(cfg.model)
    background_and_ink = model.normalize(torch.tensor([0.0, 255.0]))
    torch.testing.assert_close(background_and_ink, torch.tensor([-0.1, 1.175]))
    assert trainable(model) == 60_000


def test_paper_recipe_adds_dropout_for_training_only(train_config):
    """experiment=lenet5_1998 drops C5's outputs while training; the network stays the paper's."""
    model = instantiate(train_config("experiment=lenet5_1998").model)
    assert model.hparams.dropout > 0 and trainable(model) == 60_000
    images = torch.rand(16, 1, 32, 32) * 255
    model.eval()
    torch.testing.assert_close(model(images), model(images))
    model.train()
    assert not torch.allclose(model(images), model(images))
    distorted = instantiate(train_config("experiment=lenet5_1998_distortions").model)
    assert distorted.hparams.dropout == 0
    assert not any(isinstance(m, torch.nn.Dropout) for m in distorted.modules())


@pytest.mark.parametrize("override", ["model.pool=subsample", "model.head=rbf", "model.c3=sparse"])
def test_paper_parts_mix_into_other_variants(train_config, override):
    cfg = train_config("model=lenet_relu", override)
    model = instantiate(cfg.model)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    kinds = {type(m) for m in model.modules()}
    assert {"model.pool=subsample": Subsampling, "model.head=rbf": EuclideanRBF,
            "model.c3=sparse": SparseConv2d}[override] in kinds  # fmt: skip


def test_unknown_part_names_the_choices():
    with pytest.raises(ValueError, match="full, sparse"):
        LeNet5(c3="dense")


def test_paper_network_learns_on_fixture_data(train_config):
    # 60 validation images, not the recipe's 1 % (6 of the fixture's 600)
    small = ["trainer.max_epochs=4", "data.batch_size=8", "data.val_fraction=0.1"]
    cfg = train_config("experiment=lenet5_1998", *small)
    metrics = train_script.train(cfg)
    assert metrics["val/acc_best"] > 0.8 and metrics["test/acc"] > 0.8


def test_paper_distortions_recipe_distorts_averages_and_learns(train_config):
    # A short run: an average over the last ~10 steps, not the recipe's ~1000.
    small = ["trainer.max_epochs=4", "data.batch_size=8", "callbacks.ema.decay=0.9"]
    cfg = train_config("experiment=lenet5_1998_distortions", *small)
    datamodule, model = instantiate(cfg.data), instantiate(cfg.model)
    assert datamodule.distort.rotate_deg == 5.0 and datamodule.distort.translate_px == 1.0
    (ema,) = [c for c in build_trainer(cfg, model).callbacks if isinstance(c, EMAWeightAveraging)]
    metrics = train_script.train(cfg)
    assert metrics["val/acc_best"] > 0.8 and metrics["test/acc"] > 0.8
    # The checkpoint's weights are the moving average; the last step's are kept beside them.
    last = torch.load(f"{cfg.paths.output_dir}/checkpoints/last.ckpt", weights_only=False)
    averaged, current = last["state_dict"]["net.c5.0.weight"], last["current_model_state"]
    assert not torch.equal(averaged, current["net.c5.0.weight"])
