"""The truncation trick (Brock et al., "Large Scale GAN Training for High Fidelity Natural
Image Synthesis", ICLR 2019, §3.1): draw z ~ N(0, I) and resample every coordinate whose
magnitude exceeds the threshold ψ until none does. Smaller ψ trades variety for fidelity.
"""

from __future__ import annotations

import torch

from latentrw.priors import GaussianPrior
from latentrw.samplers.base import SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler


def truncate(z: torch.Tensor, psi: float, generator: torch.Generator) -> torch.Tensor:
    """Resample the coordinates of ``z`` with |z_i| > ψ from N(0, 1) until all are within ψ."""
    z = z.clone()
    out = z.abs() > psi
    while out.any():
        z[out] = torch.randn(int(out.sum()), generator=generator, device=z.device)
        out = z.abs() > psi
    return z


class Truncation(Sampler):
    """Truncation trick (Brock et al. 2019): latent coordinates resampled until |z_i| ≤ ψ."""

    name = "truncation"
    requires = ("gaussian prior",)

    def __init__(self, psi: float = 1.0, batch_size: int = 1000):  # ψ = 1: ours (Brock et al. sweep 0.04-2)
        super().__init__(batch_size)
        if psi <= 0:
            raise ValueError("psi must be > 0")
        self.psi = psi

    def fit(self, models: Models, data=None) -> Truncation:
        if not isinstance(models.prior, GaussianPrior):
            raise ValueError(f"{self.name}: the truncation trick needs the Gaussian prior, not "
                             f"{type(models.prior).__name__}")
        return super().fit(models)

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n)
        chunks, have = [], 0
        for b, z in enumerate(proposals.blocks()):
            if have >= n:
                break
            # resampling draws come from the block's own generator: the same whatever the batch size
            chunks.append(truncate(z, self.psi, proposals.aux_generator(b)))
            have += len(z)
        z = torch.cat(chunks)[:n] if chunks else torch.empty(0, self.models_.prior.z_dim)
        return SampleBatch(self._generate(z, cost), z.cpu(), cost=cost)


SAMPLERS.add("truncation", Truncation)
