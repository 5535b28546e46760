"""GAN losses as small pure functions of the discriminator's raw outputs.

Every function takes D's raw scores (shape (N,)) and returns the scalar that
the corresponding player *minimises*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


# Non-saturating GAN (Goodfellow et al. 2014, §3): D is a logistic classifier,
# G maximises log D(G(z)) instead of minimising log(1 - D(G(z))).
def ns_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """-E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z))))."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def ns_g_loss(d_fake: Tensor) -> Tensor:
    """-E log sigmoid(D(G(z)))."""
    return F.softplus(-d_fake).mean()


# Wasserstein GAN (Arjovsky et al. 2017, Algorithm 1): D is a critic.
def wasserstein_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """E D(G(z)) - E D(x)."""
    return d_fake.mean() - d_real.mean()


def wasserstein_g_loss(d_fake: Tensor) -> Tensor:
    """-E D(G(z))."""
    return -d_fake.mean()


# Hinge loss (Lim & Ye 2017; Miyato et al. 2018 eq. 17), G loss as in SN-GAN.
def hinge_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))."""
    return torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()


hinge_g_loss = wasserstein_g_loss
