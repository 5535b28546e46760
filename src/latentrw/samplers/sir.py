"""Sampling-importance-resampling with a discriminator's density ratio (Grover et al.,
"Bias Correction of Learned Generative Models using Likelihood-Free Importance Weighting",
NeurIPS 2019): the calibrated logit d(x) estimates log p_data(x)/p_G(x), so exp(d) are
importance weights of G's samples for the data distribution.

Each output is drawn from its own pool of ``k`` proposals with probability ∝ exp(d(x)) (the
pools of n·k proposals, resampled n times, split into n rows so the work streams in chunks
and the result does not depend on the compute batch). Cost: k G and k D evaluations per sample.
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import BLOCK, SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler


class SIR(Sampler):
    """SIR (Grover et al. 2019): each sample resampled ∝ e^d from its own k proposals.

    ``disc``: a module whose output is the logit d(x) ≈ log p_data/p_G (the run's calibrated D)."""

    name = "sir"
    requires = ("disc",)
    selects_by = "disc"

    def __init__(self, disc: torch.nn.Module, k: int = 10, batch_size: int = 1000):  # k = 10: ours
        super().__init__(batch_size)
        if k < 1:
            raise ValueError("k must be >= 1")
        self.disc, self.k = disc, k

    def fit(self, models: Models, data=None) -> SIR:
        return super().fit(models)

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n * self.k)
        xs, zs, ds = [], [], []
        for b in range(-(-n // BLOCK)):  # BLOCK output rows at a time, k·BLOCK proposals
            rows = min(BLOCK, n - b * BLOCK)
            z = proposals.take(BLOCK * self.k)[:rows * self.k]
            x = self._generate(z, cost)
            d = self._discriminate(self.disc, x, cost).view(rows, self.k)
            gen = proposals.aux_generator(b)
            u = torch.rand(BLOCK, generator=gen, device=gen.device).cpu()[:rows]
            cdf = torch.softmax(d.double(), dim=1).cumsum(1)
            pick = torch.searchsorted(cdf, u.double().unsqueeze(1)).squeeze(1).clamp(max=self.k - 1)
            idx = torch.arange(rows) * self.k + pick
            xs.append(x[idx])
            zs.append(z.cpu()[idx])
            ds.append(d.reshape(-1)[idx])
        if not xs:
            return self._empty(cost)
        return SampleBatch(torch.cat(xs), torch.cat(zs), scores={"logit": torch.cat(ds)}, cost=cost)


SAMPLERS.add("sir", SIR)
