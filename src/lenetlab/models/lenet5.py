"""LeNet-5 as an nn.Module whose parts are choices.

Layer names follow LeCun et al. (1998): C1, S2, C3, S4, C5, F6 and the output layer.
Input is a batch of normalised 1x32x32 images; output is (N, num_classes) logits.

    activation  sigmoid | tanh | relu | scaled_tanh (1.7159 tanh(2a/3), the paper's)
    pool        avg | max | subsample (the paper's trainable 2x2 sum, then the activation)
    c3          full (6 -> 16 maps, 2,416 params) | sparse (the paper's Table I, 1,516)
    head        linear (84 -> 10) | rbf (the paper's Euclidean RBF units, fixed prototypes)
    init        auto (Glorot for saturating activations, He for ReLU) | lecun1998 (+-2.4/F_in)
    norm        none | batch (BatchNorm before each activation of C1, C3, C5, F6; not in the paper)
    dropout     p of dropping each of C5's 120 outputs while training (0: none, as the paper)

``LeNet5()`` is the common modern variant; the paper's network is
``LeNet5("scaled_tanh", "subsample", c3="sparse", head="rbf", init="lecun1998")``.
"""

import torch
from torch import nn

from lenetlab.choices import PARTS
from lenetlab.models.batch_norm import BatchNorm2d
from lenetlab.models.blocks import EuclideanRBF, ScaledTanh, SparseConv2d, Subsampling

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "scaled_tanh": ScaledTanh}
assert tuple(ACTIVATIONS) == PARTS["activation"]


def pooling(kind: str, channels: int, activation: str) -> nn.Module:
    if kind == "avg":
        return nn.AvgPool2d(2)
    if kind == "max":  # the activation of the layer before, moved after the pooling (below)
        return nn.Sequential(nn.MaxPool2d(2), ACTIVATIONS[activation]())
    return nn.Sequential(Subsampling(channels), ACTIVATIONS[activation]())


class LeNet5(nn.Module):
    def __init__(
        self,
        activation: str = "tanh",
        pool: str = "avg",
        num_classes: int = 10,
        c3: str = "full",
        head: str = "linear",
        init: str = "auto",
        norm: str = "none",
        dropout: float = 0.0,
    ):
        arguments = locals()
        for part, choices in PARTS.items():
            if arguments[part] not in choices:
                raise ValueError(
                    f"model.{part}={arguments[part]!r}: choose one of {', '.join(choices)}"
                )
        super().__init__()
        self.num_classes = num_classes
        act = ACTIVATIONS[activation]
        conv3 = SparseConv2d(6) if c3 == "sparse" else nn.Conv2d(6, 16, 5)

        def normalised(layer: nn.Module, features: int, batch_norm=BatchNorm2d, activate=True):
            parts = [layer, batch_norm(features)] if norm == "batch" else [layer]
            return [*parts, act()] if activate else parts

        # Max pooling commutes with a non-decreasing activation (all of ACTIVATIONS): pooling
        # first gives the same outputs and gradients from a quarter of the activations.
        activate_before_pool = pool != "max"
        self.c1 = nn.Sequential(*normalised(nn.Conv2d(1, 6, 5), 6, activate=activate_before_pool))
        self.s2 = pooling(pool, 6, activation)  # -> 6@14x14  (32x32 -> 6@28x28 above)
        self.c3 = nn.Sequential(*normalised(conv3, 16, activate=activate_before_pool))
        self.s4 = pooling(pool, 16, activation)  # -> 16@5x5
        c5 = normalised(nn.Conv2d(16, 120, 5), 120)  # -> 120@1x1
        self.c5 = nn.Sequential(*c5, nn.Dropout(dropout)) if dropout else nn.Sequential(*c5)
        self.f6 = nn.Sequential(nn.Flatten(), *normalised(nn.Linear(120, 84), 84, nn.BatchNorm1d))
        self.output = EuclideanRBF(84, num_classes) if head == "rbf" else nn.Linear(84, num_classes)
        if init == "lecun1998":
            init_lecun1998(self)
        else:
            init_for_activation(self, activation)

    def forward(self, x):
        x = self.s2(self.c1(x))
        x = self.s4(self.c3(x))
        return self.output(self.f6(self.c5(x)))


def init_for_activation(net: nn.Module, activation: str) -> None:
    """Glorot for the saturating activations, He for ReLU, zero biases.

    Sigmoid gets gain 4 (Glorot & Bengio 2010: its slope at 0 is 1/4 of tanh's). With PyTorch's
    gain of 1 the signal shrinks ~4x per layer and a sigmoid LeNet-5 starts near chance.
    Subsampling starts as average pooling.
    """
    gains = {"sigmoid": 4.0, "tanh": 5 / 3, "scaled_tanh": 1.0, "relu": 2**0.5}
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            if activation == "relu":
                nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(module.weight, gain=gains[activation])
            nn.init.zeros_(module.bias)
        elif isinstance(module, SparseConv2d):
            module.reset_parameters(gain=gains[activation])
        elif isinstance(module, Subsampling):
            nn.init.constant_(module.weight, 0.25)
            nn.init.zeros_(module.bias)


def init_lecun1998(net: nn.Module) -> None:
    """Appendix A: every weight and bias uniform in +-2.4/F_in, F_in the unit's fan-in."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                bound = 2.4 / module.weight[0].numel()
                module.weight.uniform_(-bound, bound)
                module.bias.uniform_(-bound, bound)
            elif isinstance(module, SparseConv2d):
                module.weight.uniform_(-1, 1).mul_((2.4 / module.kernel_fan_in).view(-1, 1, 1))
                module.bias.uniform_(-1, 1).mul_(2.4 / module.map_fan_in)
            elif isinstance(module, Subsampling):
                bound = 2.4 / module.fan_in
                module.weight.uniform_(-bound, bound)
                module.bias.uniform_(-bound, bound)
