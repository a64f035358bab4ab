"""The building blocks of LeCun et al. (1998) LeNet-5, usable in any variant.

- ScaledTanh: the squashing function f(a) = 1.7159 tanh(2a/3) (appendix A).
- Subsampling: S2/S4, the sum of each 2x2 window times one trainable coefficient plus one
  trainable bias per map (section II.B).
- SparseConv2d: C3, a 5x5 convolution where each output map sees only the input maps of
  Table I (1,516 parameters instead of 2,416).
- EuclideanRBF: the output layer, one unit per class whose output is the squared distance
  between F6 and a fixed +-1 bitmap of the class's digit.
"""

import torch
import torch.nn.functional as F
from torch import nn

from lenetlab.models.digit_bitmaps import digit_prototypes

# Table I: the S2 maps (0-5) each of the 16 C3 maps takes input from.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class ScaledTanh(nn.Module):
    """1.7159 tanh(2a/3): f(+-1) = +-1, and the gain is near 1 around the origin."""

    def forward(self, x):
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """Per map: coefficient * (sum of each non-overlapping 2x2 window) + bias. 2 params a map."""

    fan_in = 4  # each unit sums a 2x2 window

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        # One depthwise 2x2 convolution of stride 2 whose kernel is the map's coefficient
        # everywhere: the window sum, the product and the bias in one oneDNN call (about 10 %
        # faster a training step of the 1998 network than pooling, scaling and adding apart).
        channels = self.weight.numel()
        kernel = self.weight.view(channels, 1, 1, 1).expand(channels, 1, 2, 2)
        return F.conv2d(x, kernel, self.bias, stride=2, groups=channels)


class SparseConv2d(nn.Module):
    """A convolution whose output map j sees only the input maps in ``table[j]``.

    Only the connected kernels are parameters (so the count is the paper's); the forward pass
    scatters them into a dense kernel and runs one ordinary convolution.
    """

    def __init__(self, in_channels: int, table=C3_TABLE, kernel_size: int = 5):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        pairs = [(out_map, in_map) for out_map, inputs in enumerate(table) for in_map in inputs]
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(len(table)))
        # Row of each connected kernel in the (out * in) rows of the dense kernel.
        rows = torch.tensor([out_map * in_channels + in_map for out_map, in_map in pairs])
        self.register_buffer("dense_rows", rows, persistent=False)
        # Inputs of each output map: its fan-in, which initialisation scales by.
        map_fan_in = torch.tensor([len(inputs) * kernel_size**2 for inputs in table])
        self.register_buffer("map_fan_in", map_fan_in.float(), persistent=False)
        self.reset_parameters()

    @property
    def kernel_fan_in(self) -> torch.Tensor:
        """The fan-in of the output map each connected kernel feeds, one value per kernel."""
        return self.map_fan_in[self.dense_rows // self.in_channels]

    def reset_parameters(self, gain: float = 1.0):
        """Uniform +-gain*sqrt(3/fan_in): variance gain^2/fan_in, each map with its true fan-in."""
        bound = gain * (3.0 / self.kernel_fan_in).sqrt()
        with torch.no_grad():
            self.weight.uniform_(-1, 1).mul_(bound.view(-1, 1, 1))
            self.bias.zero_()

    def dense_weight(self) -> torch.Tensor:
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        dense = dense.index_copy(0, self.dense_rows, self.weight)
        return dense.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x):
        return F.conv2d(x, self.dense_weight(), self.bias)


class EuclideanRBF(nn.Module):
    """Output unit i = squared Euclidean distance from the input to prototype i (fixed +-1).

    Returns negative distances, so that the largest "logit" is the nearest prototype and
    cross-entropy over them is the paper's MAP criterion without its constant rubbish class:
    -log softmax(-y)_D = y_D + log sum_i exp(-y_i).
    """

    def __init__(self, in_features: int = 84, num_classes: int = 10):
        super().__init__()
        prototypes = digit_prototypes()
        if prototypes.shape != (num_classes, in_features):
            shape = tuple(prototypes.shape)
            raise ValueError(
                f"the RBF head has {shape} prototypes, not ({num_classes}, {in_features})"
            )
        self.prototypes = nn.Parameter(prototypes, requires_grad=False)  # fixed, in the state dict

    def forward(self, x):
        distances = (x.unsqueeze(1) - self.prototypes).square().sum(dim=2)  # (N, classes)
        return -distances
