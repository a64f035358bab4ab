import pytest
import torch
from torch import nn

from lenetlab.callbacks.model_summary import layer_table
from lenetlab.models.batch_norm import BatchNorm2d, uses_column_sums
from lenetlab.models.blocks import Subsampling
from lenetlab.models.lenet5 import ACTIVATIONS, PARTS, LeNet5
from lenetlab.models.module import LeNetModule

POOL_TYPES = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d, "subsample": Subsampling}
# (layer, parameters) for the full-C3 LeNet-5: weights + biases of each layer.
EXPECTED_PARAMS = {
    "c1": 156,  # 6 * (5 * 5 + 1)
    "s2": 0,
    "c3": 2416,  # 16 * (6 * 5 * 5 + 1)
    "s4": 0,
    "c5": 48120,  # 120 * (16 * 5 * 5 + 1)
    "f6": 10164,  # 84 * (120 + 1)
    "output": 850,  # 10 * (84 + 1)
}


@pytest.mark.parametrize("pool", PARTS["pool"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_variant_gives_logits_and_paper_parameter_counts(activation, pool):
    net = LeNet5(activation=activation, pool=pool)
    logits = net(torch.randn(3, 1, 32, 32))
    assert logits.shape == (3, 10)
    counts = {
        name: sum(p.numel() for p in layer.parameters()) for name, layer in net.named_children()
    }
    # Trainable subsampling adds a coefficient and a bias per map: S2 12, S4 32.
    pool_params = {"s2": 12, "s4": 32} if pool == "subsample" else {}
    assert counts == EXPECTED_PARAMS | pool_params
    uses = {type(m) for m in net.modules()}
    assert ACTIVATIONS[activation] in uses and POOL_TYPES[pool] in uses


@pytest.mark.parametrize("norm", PARTS["norm"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_max_pooling_runs_the_activation_after_it_with_the_same_results(activation, norm):
    """Every activation is non-decreasing, so it commutes with max pooling: the network runs
    it on the pooled quarter of C1's and C3's maps, and its outputs and parameter gradients
    are those of activating first, as the layers are usually drawn."""
    torch.manual_seed(0)
    net = LeNet5(activation=activation, pool="max", norm=norm)
    net.to(memory_format=torch.channels_last)
    act = ACTIVATIONS[activation]
    assert [type(m) for m in net.s2] == [nn.MaxPool2d, act]
    assert not any(isinstance(m, act) for m in [*net.c1, *net.c3])  # moved, not doubled

    def activation_first(x):
        x = nn.functional.max_pool2d(act()(net.c1(x)), 2)
        x = nn.functional.max_pool2d(act()(net.c3(x)), 2)
        return net.output(net.f6(net.c5(x)))

    images = torch.randn(32, 1, 32, 32) * 2
    results = []
    for forward in (net, activation_first):
        net.zero_grad()
        logits = forward(images)
        logits.square().sum().backward()
        results.append([logits.detach()] + [p.grad.clone() for p in net.parameters()])
    for got, expected in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_unknown_activation_or_pool_names_the_choices():
    with pytest.raises(ValueError, match="relu"):
        LeNet5(activation="tnah")
    with pytest.raises(ValueError, match="max"):
        LeNet5(pool="median")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_initialisation_keeps_signal_alive_through_the_network(activation):
    """The default PyTorch init shrinks a sigmoid net's signal layer after layer; ours must not."""
    torch.manual_seed(0)
    net = LeNet5(activation=activation)
    x = torch.randn(256, 1, 32, 32)
    logits = net(x)
    assert logits.std(dim=0).mean() > 0.02  # PyTorch's gain-1 sigmoid init gives ~0.0002
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            assert torch.all(module.bias == 0)


def test_layer_table_shows_exact_counts_and_shapes():
    table = layer_table(LeNetModule())
    rows = list(zip(*(column._cells for column in table.columns), strict=True))
    by_layer = {row[0]: row for row in rows}
    assert [row[0] for row in rows[:7]] == list(EXPECTED_PARAMS)
    for name, params in EXPECTED_PARAMS.items():
        assert by_layer[name][3] == f"{params:,}"
    assert by_layer["c1"][2] == "6x28x28" and by_layer["s4"][2] == "16x5x5"
    assert by_layer["total"][3] == f"{sum(EXPECTED_PARAMS.values()):,}"
    assert by_layer["c1"][1] == "Conv2d + Tanh"


def test_module_normalises_raw_pixels_with_its_dataset_statistics():
    module = LeNetModule(input_mean=0.1307, input_std=0.3081)
    pixels = torch.tensor([0, 255], dtype=torch.uint8)
    expected = (pixels.float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(module.normalize(pixels), expected)


def test_batch_norm_option_adds_a_scale_and_shift_per_channel():
    net = LeNet5(activation="relu", pool="max", norm="batch")
    counts = {
        name: sum(p.numel() for p in layer.parameters()) for name, layer in net.named_children()
    }
    extra = {"c1": 2 * 6, "c3": 2 * 16, "c5": 2 * 120, "f6": 2 * 84}
    assert counts == {name: n + extra.get(name, 0) for name, n in EXPECTED_PARAMS.items()}
    assert net(torch.randn(4, 1, 32, 32)).shape == (4, 10)
    assert sum(isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) for m in net.modules()) == 4


def test_dropout_drops_c5_outputs_in_training_only_and_adds_no_parameters():
    plain, with_dropout = LeNet5(), LeNet5(dropout=0.5)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(with_dropout) == count(plain)
    with_dropout.load_state_dict(plain.state_dict())
    images = torch.randn(4, 1, 32, 32)
    with_dropout.eval()
    torch.testing.assert_close(with_dropout(images), plain(images))
    with_dropout.train()
    assert not torch.allclose(with_dropout(images), plain(images))
    dropped = with_dropout.c5(torch.randn(64, 16, 5, 5)) == 0
    assert 0.3 < dropped.float().mean() < 0.7


@pytest.mark.parametrize("channels", [6, 16])
def test_our_batch_norm_matches_torchs_on_channels_last_tensors(channels):
    """C1's 6 maps take the column-sum path (torch's channels-last CPU kernel is 12x slower
    there), 16 maps torch's own; either way the outputs, gradients and running statistics
    are nn.BatchNorm2d's, over a few training steps and in evaluation."""
    torch.manual_seed(0)
    ours, reference = BatchNorm2d(channels), nn.BatchNorm2d(channels)
    weight, bias = torch.rand(channels) + 0.5, torch.randn(channels)
    with torch.no_grad():
        for norm in (ours, reference):
            norm.weight.copy_(weight)
            norm.bias.copy_(bias)
    for _ in range(3):
        x = (torch.randn(8, channels, 12, 12) * 3 + 1).contiguous(memory_format=torch.channels_last)
        assert uses_column_sums(x) == (channels < 16)
        upstream = torch.randn(8, channels, 12, 12)
        grads = []
        for norm in (ours, reference):
            inputs = x.clone().requires_grad_()
            out = norm(inputs)
            assert out.is_contiguous(memory_format=torch.channels_last)
            (out * upstream).sum().backward()
            grads.append((out.detach(), inputs.grad, norm.weight.grad, norm.bias.grad))
            norm.weight.grad = norm.bias.grad = None
        for got, expected in zip(*grads, strict=True):
            torch.testing.assert_close(got, expected, atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(ours.running_mean, reference.running_mean)
    torch.testing.assert_close(ours.running_var, reference.running_var)
    assert ours.num_batches_tracked == reference.num_batches_tracked == 3
    ours.eval(), reference.eval()
    torch.testing.assert_close(ours(x), reference(x))
    assert set(ours.state_dict()) == set(reference.state_dict())  # checkpoints load either way
