"""Discriminator optimal transport in latent space (Tanaka, "Discriminator optimal transport",
NeurIPS 2019, Algorithm 2 "latent space DOT").

A Wasserstein-type critic D is (up to its Lipschitz constant) a Kantorovich potential, so the
optimal transport of a generated point toward the data solves, per latent z_y,

    z* = argmin_z  ‖z − z_y + δ‖ − D(G(z)) / k_eff,

with k_eff the Lipschitz constant of D∘G, estimated in ``fit`` as the largest ratio
|D(G(z_i)) − D(G(z_j))| / ‖z_i − z_j‖ over the pairs of a pilot batch, and δ a tiny offset
that keeps the norm differentiable at the start. This uses the run's own critic D, not the
calibrated logit.
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import PILOT_SEED, SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler, value_and_grad
from latentrw.samplers.latent import project, resolve_project

DELTA = 1e-3  # δ of Tanaka's Algorithm 2


class DOT(Sampler):
    """Latent DOT (Tanaka 2019): each latent transported toward higher critic values.

    Defaults: Adam with lr 0.01 (Tanaka 2019), β = (0, 0.9) and 20 steps (ours); a pilot of
    1,000 latents (all pairs) for k_eff (ours); ``project`` keeps each Gaussian latent's norm: None
    (default) where the prior has a projection, True to require it, False never."""

    name = "dot"
    resolved = ("project",)

    def __init__(self, lr: float = 0.01, steps: int = 20, project: bool | None = None, pilot: int = 1000,
                 pilot_seed: int = PILOT_SEED, batch_size: int = 1000):
        super().__init__(batch_size)
        if lr <= 0 or steps < 0 or pilot < 2:
            raise ValueError("lr must be > 0, steps >= 0 and pilot >= 2")
        self.lr, self.steps, self.project, self.pilot, self.pilot_seed = lr, steps, project, pilot, pilot_seed

    @torch.no_grad()
    def fit(self, models: Models, data=None) -> DOT:
        self.project_ = resolve_project(self.name, self.project, models.prior)
        super().fit(models)
        z = ProposalStream.from_seed(models.prior, self.pilot_seed).take(self.pilot)
        d = torch.cat([models.D(models.G(z[i:i + self.batch_size])).reshape(-1)
                       for i in range(0, len(z), self.batch_size)])
        ratio = (d[:, None] - d[None, :]).abs() / torch.cdist(z, z).clamp_min(1e-12)
        self.k_eff_ = float(ratio.max())
        if not self.k_eff_ > 0:
            raise ValueError(f"{self.name}: the critic is constant on G's samples (k_eff = 0)")
        return self

    def _transport(self, zy: torch.Tensor, cost: Cost) -> torch.Tensor:
        """Adam on the DOT objective for one compute batch (elementwise, so batch-independent)."""
        G, D = self.models_.G, self.models_.D
        z, m, v = zy.clone(), torch.zeros_like(zy), torch.zeros_like(zy)
        b1, b2, eps = 0.0, 0.9, 1e-8
        for t in range(1, self.steps + 1):
            _, grad = value_and_grad(lambda zz: (zz - zy + DELTA).norm(dim=1) - D(G(zz)).reshape(-1) / self.k_eff_, z)
            cost.count_through_g_and_d(len(z))
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            z = z - self.lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)
            if self.project_:
                z = project(z, zy, self.models_.prior)
        return z

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n)
        zy = proposals.take(n)
        chunks = [self._transport(zy[i:i + self.batch_size], cost) for i in range(0, n, self.batch_size)]
        z = torch.cat(chunks) if chunks else zy
        return SampleBatch(self._generate(z, cost), z.cpu(), scores={"moved": (z - zy).norm(dim=1).cpu()}, cost=cost)


SAMPLERS.add("dot", DOT)
