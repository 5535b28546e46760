"""Discriminator rejection sampling (Azadi, Olsson, Darrell, Goodfellow & Odena, ICLR 2019,
Algorithm 1 and §3.2).

With the calibrated logit d(x) ≈ log p_data/p_G and its maximum D*_M, the ideal acceptance
p_data/(M p_G) = exp(d − D*_M). DRS accepts with probability σ(F(x) − γ) where

    F(x) = d(x) − D*_M − log(1 − exp(d(x) − D*_M − ε))

and γ shifts the curve to trade quality for acceptance. D*_M is estimated on a burn-in
(pilot) batch and, unlike the paper's running update, frozen in ``fit`` together with γ, so
the output does not depend on how proposals are chunked; a logit above D*_M is clipped to it.
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import PILOT_SEED, SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler, check_proposal_budget

EPS = 1e-6  # ε of Azadi et al. (numerical stability)


def drs_f(d: torch.Tensor, d_max: float, eps: float = EPS) -> torch.Tensor:
    """F(x) of Azadi et al. (Eq. 8), in float64; logits above ``d_max`` are clipped to it."""
    t = d.double().clamp(max=d_max) - d_max
    return t - torch.log1p(-torch.exp(t - eps))


class DRS(Sampler):
    """DRS (Azadi et al. 2019): accept G(z) with probability σ(F(x) − γ).

    ``disc``: the calibrated logit. ``gamma`` None: the ``percentile`` of F on the pilot batch
    (95, Azadi et al. §5). G and D run on every proposal."""

    name = "drs"
    requires = ("disc",)
    selects_by = "disc"

    def __init__(self, disc: torch.nn.Module, gamma: float | None = None, percentile: float = 95.0,
                 pilot: int = 10_000, pilot_seed: int = PILOT_SEED, batch_size: int = 1000):  # pilot 10k: ours
        super().__init__(batch_size)
        if not 0 <= percentile <= 100:
            raise ValueError("percentile must be in [0, 100]")
        if pilot < 1:
            raise ValueError("pilot must be >= 1")
        self.disc, self.gamma, self.percentile, self.pilot, self.pilot_seed = disc, gamma, percentile, pilot, pilot_seed

    @torch.no_grad()
    def fit(self, models: Models, data=None) -> DRS:
        super().fit(models)
        cost = Cost()
        z = ProposalStream.from_seed(models.prior, self.pilot_seed).take(self.pilot)
        d = self._discriminate(self.disc, self._generate(z, cost), cost)
        self.d_max_ = float(d.max())
        f = drs_f(d, self.d_max_)
        self.gamma_ = float(torch.quantile(f, self.percentile / 100)) if self.gamma is None else float(self.gamma)
        self.expected_acceptance_ = float(torch.sigmoid(f - self.gamma_).mean())
        self.fit_cost_ = cost
        return self

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost()
        xs, zs, ds, have = [], [], [], 0
        if n == 0:
            return self._empty(cost)
        for b, z in enumerate(proposals.blocks()):
            x = self._generate(z, cost)
            d = self._discriminate(self.disc, x, cost)
            p = torch.sigmoid(drs_f(d, self.d_max_) - self.gamma_)
            gen = proposals.aux_generator(b)
            keep = torch.rand(len(z), generator=gen, dtype=torch.float64, device=gen.device).cpu() < p
            need, kept = n - have, int(keep.sum())
            cost.proposals += int(torch.nonzero(keep)[need - 1]) + 1 if kept >= need else len(z)
            xs.append(x[keep])
            zs.append(z.cpu()[keep])
            ds.append(d[keep])
            have += kept
            if have >= n:
                break
            check_proposal_budget(self.name, cost.proposals, have, n,
                                  "Lower gamma (e.g. --option drs:gamma=0) or recalibrate D (latentrw calibrate).")
        d = torch.cat(ds)[:n]
        return SampleBatch(torch.cat(xs)[:n], torch.cat(zs)[:n], scores={
            "logit": d, "accept_prob": torch.sigmoid(drs_f(d, self.d_max_) - self.gamma_).float()}, cost=cost)


SAMPLERS.add("drs", DRS)
