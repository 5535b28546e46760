"""Samplers of latent reweighting (Issenhuth et al. 2022) and their extensions.

``latent-rs`` is Algorithm 2: rejection sampling on the latent space with the learned
importance weights, accepting z with probability min(1, w(z)/c) *before* G runs, so a
rejected proposal costs one evaluation of the small w network and nothing else.

The paper's c is m (since E w = 1 at the optimum of Eq. 6). The optimum of our scale-free
objective sits slightly above 1 (≈ 1 + E[u·s]/(2λ1)), so ``fit`` measures Ê w on a pilot batch
and uses c = m·Ê w: the acceptance rate is then ≈ 1/m as the theory says. With
``acceptance=a`` (the *acceptance dial*, ours) c is instead solved on the pilot batch so that
the mean acceptance E min(1, w/c) equals a -- one trained w then gives a whole
precision/recall curve.

``latent-ga`` moves each latent uphill on w before G runs (the paper's latentGA), and
``latent-rs-ga`` does latentRS first, then latentGA on the accepted latents (paper §3.3).
``latent-sir`` (ours) is sampling-importance-resampling with the weights w(z): each output
latent is drawn from its own pool of k proposals with probability ∝ w, a fixed cost of k w
evaluations and one G evaluation per sample.
"""

from __future__ import annotations

import torch

from latentrw.ga_steps import DEFAULT_GA_STEPS
from latentrw.priors import GaussianPrior, Prior, UniformPrior
from latentrw.samplers.base import (
    BLOCK,
    PILOT_SEED,
    SAMPLERS,
    Cost,
    Models,
    ProposalStream,
    SampleBatch,
    Sampler,
    check_proposal_budget,
)

GA_MODES = ("log", "plain")


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


def check_w(w: torch.nn.Module, prior: Prior, name: str) -> None:
    """A clear error when w was trained for another latent space than the run's prior."""
    z_dim = getattr(w, "config", {}).get("z_dim")
    if z_dim is not None and z_dim != prior.z_dim:
        raise ValueError(f"{name}: w takes {z_dim}-d latents but the run's prior is {prior.z_dim}-d; "
                         "use the w trained for this run (`latentrw reweight RUN`)")


def projectable(prior: Prior) -> bool:
    """Whether :func:`project` knows the prior's typical set."""
    return isinstance(prior, (GaussianPrior, UniformPrior))


def resolve_project(name: str, project: bool | None, prior: Prior, hint: str = "") -> bool:
    """A sampler's ``project`` option as run: None means where the prior has a projection, True
    requires one (a clear error otherwise), False never."""
    if project and not projectable(prior):
        raise ValueError(f"{name}: no projection for the {type(prior).__name__}; use project=False{hint}")
    return projectable(prior) if project is None else project


def project(z: torch.Tensor, z0: torch.Tensor, prior: Prior) -> torch.Tensor:
    """Back to the prior's typical set: a Gaussian latent keeps the norm ``z0`` started with
    (so the distribution of ‖z‖, concentrated near √d, is exactly the prior's); a uniform
    latent is clamped to the cube [-1, 1]^d."""
    if isinstance(prior, GaussianPrior):
        return z * (z0.norm(dim=1, keepdim=True) / z.norm(dim=1, keepdim=True).clamp_min(1e-12))
    if isinstance(prior, UniformPrior):
        return z.clamp(-1, 1)
    raise ValueError(f"no projection for the {type(prior).__name__}; use project=False")


def latent_ascent(w: torch.nn.Module, z: torch.Tensor, steps: int, step_size: float, mode: str = "log",
                  prior: Prior | None = None, cost: Cost | None = None) -> torch.Tensor:
    """latentGA: ``steps`` gradient-ascent steps on w in latent space.

    ``mode="plain"`` is the paper's z ← z + η ∇w(z). ``mode="log"`` (ours) ascends log w with
    a normalised step, z ← z + ε ∇log w / ‖∇log w‖: every step moves a latent exactly ε in
    latent units whatever the scale of w, so ``steps·step_size`` bounds how far it travels.
    With ``prior`` given, each step is followed by :func:`project`.
    """
    z0 = z
    for _ in range(steps):
        with torch.enable_grad():
            zg = z.detach().requires_grad_(True)
            wz = w(zg)
            objective = torch.log(wz.clamp_min(1e-12)) if mode == "log" else wz
            (grad,) = torch.autograd.grad(objective.sum(), zg)
        if mode == "log":
            grad = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
        z = z.detach() + step_size * grad
        if prior is not None:
            z = project(z, z0, prior)
        if cost is not None:
            cost.w_forward += len(z)
            cost.w_backward += len(z)
    return z.detach()


class LatentRS(Sampler):
    """Latent rejection sampling (Algorithm 2) with the importance network ``w``.

    The cost record counts as ``proposals`` the latents up to the n-th accepted one (what a
    one-at-a-time sampler would draw); ``w_forward`` counts every latent w was run on, which
    includes the unused rest of the last block of ``BLOCK`` proposals.
    """

    name = "latent-rs"
    requires = ("w",)
    selects_by = "w"

    def __init__(self, w: torch.nn.Module, m: float | None = None, acceptance: float | None = None,
                 batch_size: int = 1000, pilot: int = 10_000, pilot_seed: int = PILOT_SEED):
        super().__init__(batch_size)
        if m is None:  # the cap w was trained under (3, the paper's, for a w of unknown origin)
            m = getattr(w, "config", {}).get("m", 3.0)
        if m <= 0:
            raise ValueError("m must be > 0")
        if acceptance is not None and not 0 < acceptance <= 1:
            raise ValueError("acceptance must be in (0, 1]")
        self.w, self.m, self.acceptance, self.pilot, self.pilot_seed = w, m, acceptance, pilot, pilot_seed

    @torch.no_grad()
    def fit(self, models: Models, data=None) -> LatentRS:
        check_w(self.w, models.prior, self.name)
        super().fit(models)
        z = ProposalStream.from_seed(models.prior, self.pilot_seed).take(self.pilot)
        wz = self.w(z)
        self.mean_w_ = float(wz.mean())
        self.c_ = self.m * self.mean_w_ if self.acceptance is None else solve_threshold(wz, self.acceptance)
        self.expected_acceptance_ = float(torch.clamp(wz / self.c_, max=1).mean())
        return self

    def _accept(self, n: int, proposals: ProposalStream, cost: Cost) -> tuple[torch.Tensor, torch.Tensor]:
        """The first n accepted latents of the stream and their w."""
        if n == 0:
            prior = self.models_.prior
            return torch.empty(0, prior.z_dim, device=prior.device), torch.empty(0, device=prior.device)
        zs, ws, have = [], [], 0
        for b, z in enumerate(proposals.blocks()):
            wz = self.w(z)
            cost.w_forward += len(z)
            u = torch.rand(len(z), generator=proposals.aux_generator(b), device=z.device)
            keep = u < wz / self.c_
            need = n - have
            kept = int(keep.sum())
            if kept >= need:  # count proposals only up to the n-th acceptance
                cost.proposals += int(torch.nonzero(keep)[need - 1]) + 1
            else:
                cost.proposals += len(z)
            zs.append(z[keep])
            ws.append(wz[keep])
            have += kept
            if have >= n:
                return torch.cat(zs)[:n], torch.cat(ws)[:n]
            check_proposal_budget(self.name, cost.proposals, have, n,
                                  "Raise the acceptance (--acceptance) or retrain w: it is near 0 almost everywhere.")

    def _refine(self, z: torch.Tensor, cost: Cost) -> torch.Tensor:
        return z

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost()
        z, wz = self._accept(n, proposals, cost)
        scores = {"w": wz.cpu(), "accept_prob": torch.clamp(wz / self.c_, max=1).cpu()}
        z = self._refine(z, cost)
        x = self._generate(z, cost)  # G only on accepted latents
        return SampleBatch(x, z.cpu(), scores=scores, cost=cost)


class LatentGA(Sampler):
    """latentGA: latents from the prior, moved uphill on w (:func:`latent_ascent`) before G.

    Defaults (ours): the steps tuned for this w (``w.ga_steps``, :mod:`latentrw.ga_steps`; at the
    default step size and mode only), else 10, on log w of ε = 0.01·√d, 1 % of a Gaussian latent's typical norm
    √d (0.1 for d = 100; a fixed 0.1 throws 2-d latents across the plane). ``project`` keeps
    each latent in the prior's typical set (Gaussian: its starting norm): None (default) where
    the prior has a projection (not GM-GAN's mixture), True to require it, False never.
    """

    name = "latent-ga"
    requires = ("w",)
    resolved = ("project",)

    def __init__(self, w: torch.nn.Module, steps: int | None = None, step_size: float | None = None,
                 mode: str = "log", project: bool | None = None, batch_size: int = 1000):
        super().__init__(batch_size)
        if steps is None:  # the count tuned for w holds at the step size and mode it was tuned with
            tuned = getattr(w, "ga_steps", None) if step_size is None and mode == "log" else None
            steps = DEFAULT_GA_STEPS if tuned is None else tuned
        if steps < 0:
            raise ValueError("steps must be >= 0")
        if step_size is None:
            step_size = 0.01 * getattr(w, "config", {}).get("z_dim", 100) ** 0.5
        if step_size <= 0:
            raise ValueError("step_size must be > 0")
        if mode not in GA_MODES:
            raise ValueError(f"mode must be one of {GA_MODES}, not {mode!r}")
        self.w, self.steps, self.step_size, self.mode, self.project = w, steps, step_size, mode, project

    def fit(self, models: Models, data=None) -> LatentGA:
        check_w(self.w, models.prior, self.name)
        self.project_ = resolve_project(self.name, self.project, models.prior, " (--no-ga-project)")
        return super().fit(models)

    def _ascend(self, z: torch.Tensor, cost: Cost) -> torch.Tensor:
        prior = self.models_.prior if self.project_ else None
        chunks = [latent_ascent(self.w, z[i:i + self.batch_size], self.steps, self.step_size, self.mode, prior, cost)
                  for i in range(0, len(z), self.batch_size)]
        return torch.cat(chunks) if chunks else z

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n)
        z = self._ascend(proposals.take(n), cost)
        wz = self.w(z)
        cost.w_forward += n
        return SampleBatch(self._generate(z, cost), z.cpu(), scores={"w": wz.cpu()}, cost=cost)


class LatentRSGA(LatentRS):
    """latentRS, then latentGA on the accepted latents (the paper's latentRS+GA)."""

    name = "latent-rs-ga"

    def __init__(self, w: torch.nn.Module, m: float | None = None, acceptance: float | None = None,
                 steps: int | None = None,
                 step_size: float | None = None, mode: str = "log", project: bool | None = None, batch_size: int = 1000,
                 pilot: int = 10_000, pilot_seed: int = PILOT_SEED):
        super().__init__(w, m, acceptance, batch_size, pilot, pilot_seed)
        self.ga = LatentGA(w, steps, step_size, mode, project, batch_size)

    def params(self) -> dict:
        return {**self.ga.params(), **super().params()}

    def fit(self, models: Models, data=None) -> LatentRSGA:
        self.ga.fit(models)
        return super().fit(models)

    def _refine(self, z: torch.Tensor, cost: Cost) -> torch.Tensor:
        return self.ga._ascend(z, cost)


class LatentSIR(Sampler):
    """Sampling-importance-resampling with the latent weights (ours): output i is drawn from
    its own pool of ``k`` consecutive proposals, proposal j with probability w_j / Σ w. As
    k → ∞ the output follows the reweighted prior w(z)p(z)/E w; the cost is fixed."""

    name = "latent-sir"
    requires = ("w",)
    selects_by = "w"

    def __init__(self, w: torch.nn.Module, k: int = 10, batch_size: int = 1000):
        super().__init__(batch_size)
        if k < 1:
            raise ValueError("k must be >= 1")
        self.w, self.k = w, k

    def fit(self, models: Models, data=None) -> LatentSIR:
        check_w(self.w, models.prior, self.name)
        return super().fit(models)

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n * self.k)
        if n == 0:
            return self._empty(cost)
        pool = proposals.take(n * self.k)
        wz = torch.cat([self.w(pool[i:i + BLOCK]) for i in range(0, len(pool), BLOCK)]).view(n, self.k)
        cost.w_forward += len(pool)
        # One uniform per output row, drawn in fixed blocks of rows: independent of batch size.
        u = torch.cat([torch.rand(BLOCK, generator=proposals.aux_generator(b), device=pool.device)
                       for b in range(-(-n // BLOCK))])[:n]
        cdf = wz.cumsum(1)
        pick = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(1)).squeeze(1).clamp(max=self.k - 1)
        rows = torch.arange(n, device=pool.device)
        z = pool.view(n, self.k, -1)[rows, pick]
        return SampleBatch(self._generate(z, cost), z.cpu(), scores={"w": wz[rows, pick].cpu()}, cost=cost)


SAMPLERS.add("latent-rs", LatentRS)
SAMPLERS.add("latent-ga", LatentGA)
SAMPLERS.add("latent-rs-ga", LatentRSGA)
SAMPLERS.add("latent-sir", LatentSIR)
