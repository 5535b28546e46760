"""Discriminator gradient flow in latent space (Ansari, Ang & Soh, "Refining Deep Generative
Models via Discriminator Gradient Flow", ICLR 2021, §3, latent-space refinement).

The density ratio ρ = p_G/p_data = e^{−d(x)} from the logit d drives the Wasserstein gradient
flow of the f-divergence D_f(p_G‖p_data), simulated by Euler–Maruyama steps on the latents:

    z ← z − η ∇_z f'(ρ(G(z))) + √(2ηγ) ξ,   ξ ~ N(0, I).

For KL, f'(ρ) = log ρ + 1, so the drift is +η∇d; for JS, f'(ρ) = log(2ρ/(1+ρ)), so the drift
is +η σ(d) ∇d. With d ≡ 0 the flow is pure diffusion: z_T − z_0 ~ N(0, 2ηγT·I).
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import SAMPLERS, Cost, LatentDynamics, value_and_grad

DIVERGENCES = ("kl", "js")


class DGflow(LatentDynamics):
    """DGflow (Ansari et al. 2021): Euler–Maruyama steps of the f-divergence flow on the latents.

    ``disc``: the logit d(x) ≈ log p_data/p_G. Defaults after Ansari et al.: η = 0.1,
    γ = 0.01, 25 steps, KL."""

    name = "dgflow"
    requires = ("disc",)

    def __init__(self, disc: torch.nn.Module, eta: float = 0.1, gamma: float = 0.01, steps: int = 25,
                 divergence: str = "kl", batch_size: int = 1000):
        super().__init__(batch_size)
        if eta <= 0 or gamma < 0 or steps < 0:
            raise ValueError("eta must be > 0, gamma >= 0 and steps >= 0")
        if divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, not {divergence!r}")
        self.disc, self.eta, self.gamma, self.steps, self.divergence = disc, eta, gamma, steps, divergence

    def _step(self, z: torch.Tensor, xi: torch.Tensor, cost: Cost) -> torch.Tensor:
        d, grad = value_and_grad(lambda zz: self.disc(self.models_.G(zz)).reshape(-1), z)
        cost.count_through_g_and_d(len(z))
        drift = grad if self.divergence == "kl" else torch.sigmoid(d).unsqueeze(1) * grad
        return z + self.eta * drift + (2 * self.eta * self.gamma) ** 0.5 * xi


SAMPLERS.add("dgflow", DGflow)
