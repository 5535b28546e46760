"""Samplers of latent reweighting (Issenhuth et al. 2022).

``latent-rs`` is Algorithm 2: rejection sampling on the latent space with the learned
importance weights, accepting z with probability min(1, w(z)/c) *before* G runs, so a
rejected proposal costs one evaluation of the small w network and nothing else.

The paper's c is m (since E w = 1 at the optimum of Eq. 6). The optimum of our scale-free
objective sits slightly above 1 (≈ 1 + E[u·s]/(2λ1)), so ``fit`` measures Ê w on a pilot batch
and uses c = m·Ê w: the acceptance rate is then ≈ 1/m as the theory says. With
``acceptance=a`` (the *acceptance dial*, ours) c is instead solved on the pilot batch so that
the mean acceptance E min(1, w/c) equals a -- one trained w then gives a whole
precision/recall curve.
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler


def solve_threshold(w: torch.Tensor, acceptance: float, iters: int = 100) -> float:
    """c such that mean(min(1, w / c)) = acceptance (bisection; the mean falls as c grows)."""
    if not 0 < acceptance <= 1:
        raise ValueError("acceptance must be in (0, 1]")
    lo, hi = 1e-12, float(w.max()) / acceptance + 1e-12
    for _ in range(iters):
        mid = (lo + hi) / 2
        if torch.clamp(w / mid, max=1).mean() > acceptance:
            lo = mid
        else:
            hi = mid
    return hi


class LatentRS(Sampler):
    """Latent rejection sampling (Algorithm 2) with the importance network ``w``."""

    name = "latent-rs"

    def __init__(self, w: torch.nn.Module, m: float = 3.0, acceptance: float | None = None, batch_size: int = 1000,
                 pilot: int = 10_000, pilot_seed: int = 0):
        super().__init__(batch_size)
        if m <= 0:
            raise ValueError("m must be > 0")
        self.w, self.m, self.acceptance, self.pilot, self.pilot_seed = w, m, acceptance, pilot, pilot_seed

    @torch.no_grad()
    def fit(self, models: Models, data=None) -> "LatentRS":
        super().fit(models)
        z = ProposalStream.from_seed(models.prior, self.pilot_seed).take(self.pilot)
        wz = self.w(z)
        self.mean_w_ = float(wz.mean())
        self.c_ = self.m * self.mean_w_ if self.acceptance is None else solve_threshold(wz, self.acceptance)
        self.expected_acceptance_ = float(torch.clamp(wz / self.c_, max=1).mean())
        return self

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost()
        zs, ws, have = [], [], 0
        for b, z in enumerate(proposals.blocks()):
            if n == 0:
                break
            wz = self.w(z)
            cost.proposals += len(z)
            cost.w_forward += len(z)
            u = torch.rand(len(z), generator=proposals.aux_generator(b), device=z.device)
            keep = u < wz / self.c_
            zs.append(z[keep])
            ws.append(wz[keep])
            have += int(keep.sum())
            if have >= n:
                break
        if n == 0:
            z, wz = torch.empty(0, self.models_.prior.z_dim), torch.empty(0)
        else:
            z, wz = torch.cat(zs)[:n], torch.cat(ws)[:n]
        x = self._generate(z, cost)  # G only on accepted latents
        return SampleBatch(x, z.cpu(), scores={"w": wz.cpu(), "accept_prob": torch.clamp(wz / self.c_, max=1).cpu()},
                           cost=cost)


SAMPLERS.add("latent-rs", LatentRS)
