"""Regularisers of the critic."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def gradient_penalty(critic: nn.Module, real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None, eps: Tensor | None = None,
                     reduce: str = "mean") -> tuple[Tensor, Tensor]:
    """Two-sided penalty of WGAN-GP (Gulrajani et al. 2017, Algorithm 1):
    E_{x̂} (||∇_x̂ D(x̂)||_2 - 1)^2 with x̂ = ε x + (1 - ε) x̃, ε ~ U[0, 1] per sample.

    Returns ``(penalty, mean gradient norm)``; the penalty is without its weight λ
    and differentiable w.r.t. the critic, the norm is detached (for logging). ``eps`` (drawn
    by the caller, e.g. for a whole batch split across processes) replaces the draw;
    ``reduce="sum"`` returns sums over the samples instead of means."""
    if eps is None:
        eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        eps = torch.rand(eps_shape, device=real.device, generator=generator)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    if reduce == "sum":
        return (norms - 1).pow(2).sum(), norms.detach().sum()
    return (norms - 1).pow(2).mean(), norms.detach().mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float) -> None:
    """Weight clipping of WGAN (Arjovsky et al. 2017, Algorithm 1): every parameter into [-c, c]."""
    for p in critic.parameters():
        p.clamp_(-c, c)
