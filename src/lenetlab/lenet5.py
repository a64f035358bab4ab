"""LeNet-5 as an nn.Module whose activation and pooling are choices.

Layer names follow LeCun et al. (1998): C1, S2, C3, S4, C5, F6 and the output layer.
Input is a batch of normalised 1x32x32 images; output is (N, num_classes) logits.
"""

from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


def conv_block(in_channels: int, out_channels: int, activation: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 5), ACTIVATIONS[activation]())


class LeNet5(nn.Module):
    def __init__(self, activation: str = "tanh", pool: str = "avg", num_classes: int = 10):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}: choose one of {sorted(ACTIVATIONS)}")
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r}: choose one of {sorted(POOLS)}")
        self.c1 = conv_block(1, 6, activation)  # 32x32 -> 6@28x28
        self.s2 = POOLS[pool](2)  # -> 6@14x14
        self.c3 = conv_block(6, 16, activation)  # -> 16@10x10
        self.s4 = POOLS[pool](2)  # -> 16@5x5
        self.c5 = conv_block(16, 120, activation)  # -> 120@1x1
        self.f6 = nn.Sequential(nn.Flatten(), nn.Linear(120, 84), ACTIVATIONS[activation]())
        self.output = nn.Linear(84, num_classes)
        init_weights(self, activation)

    def forward(self, x):
        x = self.s2(self.c1(x))
        x = self.s4(self.c3(x))
        return self.output(self.f6(self.c5(x)))


def init_weights(net: nn.Module, activation: str) -> None:
    """Glorot for the saturating activations, He for ReLU, zero biases.

    Sigmoid gets gain 4 (Glorot & Bengio 2010: its slope at 0 is 1/4 of tanh's). With PyTorch's
    gain of 1 the signal shrinks ~4x per layer and a sigmoid LeNet-5 starts near chance.
    """
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            if activation == "relu":
                nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
            else:
                gain = 4.0 if activation == "sigmoid" else nn.init.calculate_gain(activation)
                nn.init.xavier_uniform_(module.weight, gain=gain)
            nn.init.zeros_(module.bias)
