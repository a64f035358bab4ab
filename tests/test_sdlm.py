"""SDLM, the paper's optimiser: its curvature estimate, its step, and training with it."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lenetlab.commands import train as train_script
from lenetlab.models.sdlm import SDLM, gauss_newton_diagonal


def exact_gauss_newton_diagonal(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """diag(J^T H J) per image, averaged: H = diag(p) - p p^T of the cross-entropy on the logits.

    Enumerates every label y weighted by p_y, since E_y[g_y^2] = diag(J^T H J) for
    g_y = J^T (p - e_y), the per-image gradient of the cross-entropy at label y.
    """
    totals = [torch.zeros_like(p) for p in model.parameters()]
    for image in images:
        logits = model(image.unsqueeze(0))
        probabilities = F.softmax(logits, dim=1).squeeze(0).detach()
        for label, p_label in enumerate(probabilities):
            loss = F.cross_entropy(logits, torch.tensor([label]))
            grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
            for total, g in zip(totals, grads, strict=True):
                total += p_label * g.square() / len(images)
    return totals


def test_curvature_estimate_is_the_gauss_newton_diagonal():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4))
    images = torch.randn(6, 3)
    exact = exact_gauss_newton_diagonal(model, images)
    # The estimate draws one label per image: over many copies of the images it converges.
    estimate = gauss_newton_diagonal(
        model, images.repeat(3000, 1), generator=torch.Generator().manual_seed(0)
    )
    for param, expected in zip(model.parameters(), exact, strict=True):
        torch.testing.assert_close(estimate[param], expected, rtol=0.1, atol=1e-6)


def test_curvature_estimate_skips_frozen_parameters_and_takes_scores():
    model = nn.Linear(3, 4)
    model.bias.requires_grad_(False)
    with_extra_class = gauss_newton_diagonal(
        model, torch.randn(5, 3), scores=lambda out: torch.cat([out, out[:, :1] * 0 - 2], dim=1)
    )
    assert list(with_extra_class) == [model.weight]


def test_each_parameter_steps_by_lr_over_mu_plus_its_curvature():
    weight = nn.Parameter(torch.tensor([1.0, 1.0, 1.0]))
    optimizer = SDLM([weight], lr=0.1, mu=0.5, weight_decay=0.0)
    optimizer.set_curvature({weight: torch.tensor([0.0, 0.5, 1.5])})
    weight.grad = torch.tensor([1.0, 1.0, -2.0])
    optimizer.step()
    expected = torch.tensor([1 - 0.1 / 0.5, 1 - 0.1 / 1.0, 1 + 0.2 / 2.0])
    torch.testing.assert_close(weight.detach(), expected)


def test_weight_decay_adds_to_the_gradient():
    weight = nn.Parameter(torch.tensor([2.0]))
    optimizer = SDLM([weight], lr=0.1, mu=1.0, weight_decay=0.5)
    optimizer.set_curvature({weight: torch.tensor([0.0])})
    weight.grad = torch.tensor([0.0])
    optimizer.step()
    torch.testing.assert_close(weight.detach(), torch.tensor([2.0 - 0.1 * 0.5 * 2.0]))


def test_a_step_without_curvature_says_what_to_do():
    weight = nn.Parameter(torch.ones(2))
    weight.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="set_curvature"):
        SDLM([weight]).step()


def test_curvature_estimate_leaves_batchnorm_statistics_alone():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    before = model[1].running_mean.clone()
    estimate = gauss_newton_diagonal(model, torch.randn(8, 3) + 5)
    assert model.training and torch.equal(model[1].running_mean, before)
    assert all(torch.isfinite(h).all() for h in estimate.values())


@pytest.mark.parametrize(
    "overrides",
    [
        # lr: sdlm.yaml's rule (the batch times the paper's 5e-4), not the experiment's SGD rate
        ["experiment=lenet5_1998", "trainer.max_epochs=4", "data.batch_size=8",
         "optimizer.lr=0.004"],
        ["model=lenet_relu", "model.norm=batch", "trainer.max_epochs=2", "optimizer.lr=0.002"],
    ],
    ids=["lenet5_1998", "relu_batchnorm"],
)  # fmt: skip
def test_networks_learn_with_sdlm(train_config, overrides):
    metrics = train_script.train(train_config(*overrides, "optimizer=sdlm"))
    assert metrics["val/acc_best"] > 0.8 and metrics["test/acc"] > 0.8
