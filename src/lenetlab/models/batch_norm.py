"""BatchNorm2d for channels-last tensors with few channels, fast on the CPU.

PyTorch's CPU batch norm on a channels-last tensor vectorises over the channels, so with C1's 6
maps it runs about 9x slower than on the same tensor in NCHW (torch 2.14, 128x6x28x28 forward and
backward: 12.9 ms against 1.5 ms, `python bench/batch_norm.py`); it made the BatchNorm network 3x
slower than the plain one (docs/benchmarks.md, "Speed, round 2"). Here channels-last memory is
read as a matrix of N*H rows by W*C columns, whose column sums reduce quickly, and the
per-channel statistics are sums of those columns. Same parameters, buffers and results as
nn.BatchNorm2d, whose own kernel runs everywhere else (NCHW, 16 channels or more, GPUs,
evaluation, other dtypes).
"""

import torch
from torch import nn

# From this many channels PyTorch's channels-last kernel is as fast or faster (bench/batch_norm.py).
FEW_CHANNELS = 16


class BatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and uses_column_sums(x) and self.affine and self.track_running_stats):
            return super().forward(x)
        out, mean, var = ChannelsLastBatchNorm.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            momentum = self.momentum or 1.0 / float(self.num_batches_tracked)  # None: average
            count = x.numel() // x.shape[1]
            self.running_mean.lerp_(mean, momentum)
            self.running_var.lerp_(var * (count / max(count - 1, 1)), momentum)  # unbiased
        return out


def uses_column_sums(x: torch.Tensor) -> bool:
    """A float32 CPU tensor in channels-last memory, with fewer channels than FEW_CHANNELS."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and x.dim() == 4
        and 1 < x.shape[1] < FEW_CHANNELS
        and x.is_contiguous(memory_format=torch.channels_last)
        and not x.is_contiguous()
    )


def as_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in channels-last memory as the (N*H, W*C) matrix it is, without a copy."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h, w * c)


def per_channel(rows: torch.Tensor, channels: int) -> torch.Tensor:
    """Per-channel sums of an (N*H, W*C) matrix: its column sums, then the W columns of each
    channel. The column sums are a matrix-vector product: the BLAS reads the matrix in the
    order the threads that just wrote it left it, 2x faster here than ``rows.sum(0)``."""
    column_sums = rows.new_ones(1, len(rows)) @ rows
    return column_sums.view(-1, channels).sum(0)


class ChannelsLastBatchNorm(torch.autograd.Function):
    """Training-mode batch norm of a channels-last x: (output, batch mean, biased variance)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        n, c, h, w = x.shape
        count = n * h * w
        rows = as_rows(x)
        mean = per_channel(rows, c) / count
        var = (per_channel(rows.square(), c) / count - mean.square()).clamp_min(0)
        invstd = torch.rsqrt(var + eps)
        scale = weight * invstd
        out = torch.addcmul((bias - mean * scale).repeat(w), rows, scale.repeat(w))
        ctx.save_for_backward(x, mean, invstd, weight)
        ctx.mark_non_differentiable(mean, var)
        return out.view(n, h, w, c).permute(0, 3, 1, 2), mean, var

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_var):
        x, mean, invstd, weight = ctx.saved_tensors
        n, c, h, w = x.shape
        count = n * h * w
        grad_rows = as_rows(grad.contiguous(memory_format=torch.channels_last))
        rows = as_rows(x)
        grad_bias = per_channel(grad_rows, c)
        grad_weight = (per_channel(grad_rows * rows, c) - mean * grad_bias) * invstd
        # dx = weight * invstd * (grad - mean(grad) - xhat * mean(grad * xhat)), per channel
        # an affine map of grad and x: grad * k1 + x * k2 + k3.
        k1 = weight * invstd
        k2 = -k1 * invstd * grad_weight / count
        k3 = -k1 * grad_bias / count - mean * k2
        grad_x = torch.addcmul(k3.repeat(w), rows, k2.repeat(w)).addcmul_(grad_rows, k1.repeat(w))
        return grad_x.view(n, h, w, c).permute(0, 3, 1, 2), grad_weight, grad_bias, None
