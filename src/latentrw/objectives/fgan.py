"""f-GAN (Nowozin, Cseke & Tomioka 2016).

The critic's raw output v is mapped by the output activation g_f to the
domain of the conjugate f*, T = g_f(v), and D maximises the variational bound
(eq. 6)  F = E_P[T(x)] - E_Q[f*(T(G(z)))].
G uses the paper's alternative (non-saturating) objective of §3.2: maximise
E_Q[g_f(v(G(z)))].

Activations and conjugates are those of Nowozin et al. Table 6; each f*(g_f(v))
is written in closed form in v so that it is numerically stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Divergence:
    activation: Callable[[Tensor], Tensor]  # g_f(v)
    conjugate_of_activation: Callable[[Tensor], Tensor]  # f*(g_f(v)), stable form


DIVERGENCES: dict[str, Divergence] = {
    # KL: g_f(v) = v, f*(t) = exp(t - 1)
    "kl": Divergence(lambda v: v, lambda v: torch.exp(v - 1)),
    # Reverse KL: g_f(v) = -exp(-v), f*(t) = -1 - log(-t)  =>  f*(g_f(v)) = v - 1
    "reverse-kl": Divergence(lambda v: -torch.exp(-v), lambda v: v - 1),
    # Pearson chi^2: g_f(v) = v, f*(t) = t^2/4 + t
    "pearson": Divergence(lambda v: v, lambda v: 0.25 * v * v + v),
    # Squared Hellinger: g_f(v) = 1 - exp(-v), f*(t) = t / (1 - t)  =>  exp(v) - 1
    "squared-hellinger": Divergence(lambda v: 1 - torch.exp(-v), lambda v: torch.expm1(v)),
    # Jensen-Shannon: g_f(v) = log 2 - log(1 + exp(-v)), f*(t) = -log(2 - exp(t))
    #   =>  f*(g_f(v)) = softplus(v) - log 2
    "js": Divergence(lambda v: LOG2 - F.softplus(-v), lambda v: F.softplus(v) - LOG2),
    # GAN: g_f(v) = -log(1 + exp(-v)), f*(t) = -log(1 - exp(t))  =>  softplus(v)
    "gan": Divergence(lambda v: -F.softplus(-v), lambda v: F.softplus(v)),
}


def fgan_d_loss(divergence: str) -> Callable[[Tensor, Tensor], Tensor]:
    div = DIVERGENCES[divergence]

    def d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
        """-(E_P[g_f(v(x))] - E_Q[f*(g_f(v(G(z))))])."""
        return -(div.activation(d_real).mean() - div.conjugate_of_activation(d_fake).mean())

    return d_loss


def fgan_g_loss(divergence: str) -> Callable[[Tensor], Tensor]:
    div = DIVERGENCES[divergence]

    def g_loss(d_fake: Tensor) -> Tensor:
        """-E_Q[g_f(v(G(z)))]."""
        return -div.activation(d_fake).mean()

    return g_loss
