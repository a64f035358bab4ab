"""Stochastic diagonal Levenberg-Marquardt, the optimiser LeCun et al. (1998) trained LeNet-5 with.

Appendix C of the paper: each parameter w_k takes steps of its own size lr / (mu + h_k), where
h_k is the diagonal of the loss's Gauss-Newton matrix, re-estimated on a few hundred training
images before each pass over the data and held fixed during it; mu keeps the step finite where
the curvature is near zero. Parameters the loss is sharply curved in (the subsampling
coefficients, shared by every position of a map) get small steps, flat ones large steps.

The paper back-propagates second derivatives through the network with its off-diagonal terms
dropped. Here h is the exact Gauss-Newton diagonal for the cross-entropy the model trains
with, estimated the standard Monte-Carlo way: for each image, draw a label from the model's own
predicted distribution; the squared per-image gradient of the loss at that label has the
Gauss-Newton diagonal as its expectation (Martens 2014, "New insights and perspectives on the
natural gradient method", section 9).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap


class SDLM(torch.optim.Optimizer):
    """w_k -= lr * (grad_k + weight_decay * w_k) / (mu + h_k), with h_k from ``set_curvature``."""

    def __init__(self, params, lr: float = 5e-4, mu: float = 0.02, weight_decay: float = 0.0):
        if lr <= 0 or mu <= 0 or weight_decay < 0:
            raise ValueError(
                f"SDLM needs lr > 0, mu > 0 and weight_decay >= 0, not lr={lr}, mu={mu}, "
                f"weight_decay={weight_decay}"
            )
        super().__init__(params, {"lr": lr, "mu": mu, "weight_decay": weight_decay})

    def set_curvature(self, curvature: dict[nn.Parameter, torch.Tensor]) -> None:
        """Replace every parameter's Hessian-diagonal estimate (one tensor of its shape each)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param in curvature:
                    self.state[param]["curvature"] = curvature[param].detach().clone()

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                curvature = self.state[param].get("curvature")
                if curvature is None:
                    raise RuntimeError(
                        "SDLM has no curvature estimate for a parameter: call "
                        "set_curvature(gauss_newton_diagonal(...)) before the first step"
                    )
                step = param.grad
                if group["weight_decay"]:
                    step = step.add(param, alpha=group["weight_decay"])
                param.addcdiv_(step, curvature + group["mu"], value=-group["lr"])
        return loss


def gauss_newton_diagonal(
    model: nn.Module,
    images: torch.Tensor,
    scores: Callable[[torch.Tensor], torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> dict[nn.Parameter, torch.Tensor]:
    """The diagonal of the cross-entropy's Gauss-Newton matrix, averaged over ``images``.

    ``scores`` maps the model's output to the scores the cross-entropy is taken over (default:
    the output itself). Returns {parameter: estimate} for every trainable parameter.
    """
    scores = scores or (lambda output: output)
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    frozen = {name: p for name, p in model.named_parameters() if not p.requires_grad}
    state = {**frozen, **dict(model.named_buffers())}

    def image_loss(params, image, label):
        output = functional_call(model, {**params, **state}, (image.unsqueeze(0),))
        return F.cross_entropy(scores(output), label.unsqueeze(0))

    # Eval mode: BatchNorm uses its running statistics (a single image has no batch statistics)
    # and leaves them untouched.
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probabilities = F.softmax(scores(model(images)).float(), dim=1)
            sampled = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
        detached = {name: p.detach() for name, p in trainable.items()}
        per_image = vmap(grad(image_loss), in_dims=(None, 0, 0))(detached, images, sampled)
    finally:
        model.train(was_training)
    return {trainable[name]: g.square().mean(dim=0) for name, g in per_image.items()}
