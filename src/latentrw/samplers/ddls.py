"""Discriminator-driven latent sampling (Che, Zhang, Sohl-Dickstein, Larochelle, Paull, Cao &
Bengio, "Your GAN is Secretly an Energy-based Model and You Should Use Discriminator Driven
Latent Sampling", NeurIPS 2020, §3-4).

G and the logit d define an energy on the latent space, E(z) = −log p0(z) − d(G(z)), whose
Boltzmann distribution pushed through G is p_G·e^d ∝ p_data. DDLS samples it by Langevin
dynamics:  z ← z − (ε/2) ∇E(z) + σ √ε ξ,  ξ ~ N(0, I).
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import SAMPLERS, Cost, LatentDynamics, value_and_grad


class DDLS(LatentDynamics):
    """DDLS (Che et al. 2020): Langevin dynamics on the latent energy −log p(z) − d(G(z)).

    ``disc``: the logit d(x) ≈ log p_data/p_G. Defaults after Che et al.: step ε = 0.01,
    noise scale σ = 1, 1000 steps."""

    name = "ddls"
    requires = ("disc",)

    def __init__(self, disc: torch.nn.Module, step_size: float = 0.01, noise: float = 1.0, steps: int = 1000,
                 batch_size: int = 1000):
        super().__init__(batch_size)
        if step_size <= 0 or noise < 0 or steps < 0:
            raise ValueError("step_size must be > 0, noise >= 0 and steps >= 0")
        self.disc, self.step_size, self.noise, self.steps = disc, step_size, noise, steps

    def _energy(self, z: torch.Tensor) -> torch.Tensor:
        return -self.models_.prior.log_prob(z) - self.disc(self.models_.G(z)).reshape(-1)

    def _step(self, z: torch.Tensor, xi: torch.Tensor, cost: Cost) -> torch.Tensor:
        _, grad = value_and_grad(self._energy, z)
        cost.count_through_g_and_d(len(z))
        return z - 0.5 * self.step_size * grad + self.noise * self.step_size ** 0.5 * xi


SAMPLERS.add("ddls", DDLS)
