"""Metropolis–Hastings GAN (Turner, Hung, Frank, Saatci & Yosinski, ICML 2019, Algorithm 1).

Independent MH chains whose proposals are fresh G samples; with the calibrated logit
d(x) ≈ log p_data/p_G the acceptance of x' from state x is

    α = min(1, (1/D(x) − 1) / (1/D(x') − 1)) = min(1, exp(d(x') − d(x)))      (D = σ(d)).

Each chain starts from a real sample (so it needs no burn-in) and runs K proposals; its last
state is the output. A chain that accepted nothing would return the real image: Turner et
al. restart it from a generated sample, and so do we -- a G sample as the start state, then
K − 1 more proposals -- so no real image is ever returned.

Chain i's proposals depend only on i and the seed (chains come in groups of ``BLOCK``; step k
of group g reads block 2gK + k of the stream, its restart block (2g+1)K + k).
"""

from __future__ import annotations

import torch

from latentrw.samplers.base import BLOCK, SAMPLERS, Cost, Models, ProposalStream, SampleBatch, Sampler


class MHGAN(Sampler):
    """MH-GAN (Turner et al. 2019): the last state of an independent MH chain per sample.

    ``disc``: the calibrated logit; ``k``: proposals per chain (640, Turner et al. §5)."""

    name = "mh-gan"
    requires = ("disc",)
    needs_data = True

    def __init__(self, disc: torch.nn.Module, k: int = 640, batch_size: int = 1000):
        super().__init__(batch_size)
        if k < 1:
            raise ValueError("k must be >= 1")
        self.disc, self.k = disc, k

    def fit(self, models: Models, data: torch.Tensor | None = None) -> MHGAN:
        """``data``: real samples (model scale) to start the chains from."""
        if data is None or len(data) == 0:
            raise ValueError(f"{self.name}: fit(models, data) needs real samples to start its chains")
        self.real_ = data
        return super().fit(models)

    def _chain(self, proposals: ProposalStream, idx: torch.Tensor, x: torch.Tensor, d: torch.Tensor,
               z: torch.Tensor, first_block: int, start_step: int, cost: Cost) -> tuple[torch.Tensor, ...]:
        """Run the chains in rows ``idx`` of a group from state (x, d, z), steps start_step..K-1,
        step k reading stream block first_block + k. Returns the final states and whether each accepted."""
        accepted = torch.zeros(len(idx), dtype=torch.bool)
        for step in range(start_step, self.k):
            zp = proposals.block_at(first_block + step)[idx]
            xp = self._generate(zp, cost)
            dp = self._discriminate(self.disc, xp, cost)
            gen = proposals.aux_generator(first_block + step)
            u = torch.rand(BLOCK, generator=gen, dtype=torch.float64, device=gen.device).cpu()[idx]
            take = torch.log(u) < (dp - d).double()
            cost.proposals += len(idx)
            x = torch.where(take.view(-1, *[1] * (x.dim() - 1)), xp, x)
            d, z = torch.where(take, dp, d), torch.where(take.unsqueeze(1), zp.cpu(), z)
            accepted |= take
        return x, d, z, accepted

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost()
        xs, zs, ds = [], [], []
        z_dim = self.models_.prior.z_dim
        for g in range(-(-n // BLOCK)):
            rows = torch.arange(min(BLOCK, n - g * BLOCK))
            gen = proposals.aux_generator(-1 - g)
            pick = torch.randint(len(self.real_), (BLOCK,), generator=gen, device=gen.device).cpu()[rows]
            x0 = self.real_[pick.to(self.real_.device)].cpu()
            d0 = self._discriminate(self.disc, x0, cost)
            first = 2 * g * self.k
            x, d, z, ok = self._chain(proposals, rows, x0, d0, torch.zeros(len(rows), z_dim), first, 0, cost)
            bad = rows[~ok]
            if len(bad):  # restart from a G sample: never return a real image
                restart = first + self.k
                zr = proposals.block_at(restart)[bad]
                xr = self._generate(zr, cost)
                cost.proposals += len(bad)
                x[bad], d[bad], z[bad], _ = self._chain(proposals, bad, xr, self._discriminate(self.disc, xr, cost),
                                                        zr.cpu(), restart, 1, cost)
            xs.append(x)
            zs.append(z)
            ds.append(d)
        if not xs:
            return self._empty(cost)
        return SampleBatch(torch.cat(xs), torch.cat(zs), scores={"logit": torch.cat(ds)}, cost=cost)


SAMPLERS.add("mh-gan", MHGAN)
