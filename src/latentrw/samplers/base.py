"""The sampler contract shared by every post-hoc method (DESIGN.md, "sampler").

A sampler is configured in ``__init__`` (hyperparameters only), calibrated by
``fit(models, data=None)`` (learned state goes in attributes ending in ``_``) and
drawn from by ``sample(n, *, generator)``, which returns exactly ``n`` samples as a
:class:`SampleBatch` with a :class:`Cost` record -- cost is part of the result.

Randomness is always passed in. Proposals come from a :class:`ProposalStream`: latents in
fixed blocks of ``BLOCK``, block b seeded by (base seed, b), where the base seed is drawn
once from the caller's generator. So the same generator state gives the same samples
whatever the compute batch size.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Protocol

import torch

from latentrw.errors import SamplingError
from latentrw.priors import Prior, UniformPrior
from latentrw.registry import Registry
from latentrw.seeding import indexed_seed

BLOCK = 1000
# Pilot batches (fit) read the stream of this seed, which no sampling seed (small integers) reads:
# the proposals a sampler is calibrated on are not the ones it then filters.
PILOT_SEED = 2**31 - 1


@dataclass
class Cost:
    """What drawing a batch cost: proposals and network evaluations (one per sample), seconds."""

    proposals: int = 0
    g_forward: int = 0
    g_backward: int = 0
    d_forward: int = 0
    d_backward: int = 0
    w_forward: int = 0
    w_backward: int = 0
    seconds: float = 0.0

    def count_through_g_and_d(self, n: int) -> None:
        """``n`` latents went through D(G(z)) forward and back (one gradient step on z)."""
        self.g_forward += n
        self.g_backward += n
        self.d_forward += n
        self.d_backward += n

    def per_sample(self, n: int) -> dict[str, float]:
        """Every count divided by the number of accepted samples ``n``; seconds become ms."""
        out = {k: v / n for k, v in asdict(self).items() if k != "seconds"}
        out["ms"] = 1000 * self.seconds / n
        return out


@dataclass
class SampleBatch:
    x: torch.Tensor  # (n, *sample_shape), model scale, on CPU
    z: torch.Tensor  # (n, z_dim) latents that produced x
    scores: dict[str, torch.Tensor] = field(default_factory=dict)  # per-sample, e.g. w(z)
    cost: Cost = field(default_factory=Cost)


class Models(Protocol):
    """What samplers need: a generator, a discriminator and the latent prior (a Run has them)."""

    G: torch.nn.Module
    D: torch.nn.Module
    prior: Prior


class ProposalStream:
    """Latents from ``prior`` in fixed, individually seeded blocks."""

    def __init__(self, prior: Prior, generator: torch.Generator):
        # One draw from the caller's generator fixes every block.
        self._start(prior, int(torch.randint(0, 2**31, (1,), generator=generator)))

    @classmethod
    def from_seed(cls, prior: Prior, seed: int) -> ProposalStream:
        """A stream whose block b is seeded by (seed, b) directly."""
        stream = cls.__new__(cls)
        stream._start(prior, seed)
        return stream

    def _start(self, prior: Prior, base_seed: int) -> None:
        self.prior, self.base_seed, self.block = prior, base_seed, 0

    def aux_generator(self, block: int) -> torch.Generator:
        """A second generator for block ``block`` (e.g. accept/reject uniforms), independent of its latents."""
        return torch.Generator(self.prior.device).manual_seed(indexed_seed(self.base_seed, block + 2**40))

    def block_at(self, b: int) -> torch.Tensor:
        """Block ``b`` of the stream, by index (samplers whose proposals are not consumed in order)."""
        g = torch.Generator(self.prior.device).manual_seed(indexed_seed(self.base_seed, b))
        return self.prior.sample(BLOCK, g)

    def blocks(self) -> Iterator[torch.Tensor]:
        while True:
            self.block += 1
            yield self.block_at(self.block - 1)

    def take(self, n: int) -> torch.Tensor:
        """The next ``n`` latents (whole blocks are drawn; a stream is meant for one sample() call)."""
        out, have = [], 0
        for block in self.blocks():
            out.append(block)
            have += len(block)
            if have >= n:
                break
        return torch.cat(out)[:n]


MAX_PROPOSALS_PER_SAMPLE = 1000  # a rejection sampler drawing more per requested sample stops


def check_proposal_budget(name: str, drawn: int, have: int, n: int, fix: str) -> None:
    """A clear error instead of an endless loop when a rejection step accepts almost nothing:
    after ``MAX_PROPOSALS_PER_SAMPLE`` × n proposals with fewer than n accepted."""
    if have < n and drawn >= MAX_PROPOSALS_PER_SAMPLE * n:
        rate = have / drawn
        raise SamplingError(f"{name}: {have} of {drawn:,} proposals accepted (acceptance {rate:.1e}); {n:,} samples "
                            f"would need about {n / max(rate, 1e-300):,.0g} proposals. {fix}")


# What a sampler may need besides G and the prior, as its ``requires`` names it.
REQUIREMENTS = {"w": "a trained w (`latentrw reweight`)", "disc": "a calibrated D (`latentrw calibrate`)",
                "gaussian prior": "a Gaussian prior"}


class Sampler:
    """Base class. Subclasses set ``name`` and implement :meth:`_sample`; they declare what they
    need (``requires``, keys of :data:`REQUIREMENTS`: ``w`` and ``disc`` are also the names of the
    constructor arguments that take them) and, for those that keep some proposals and drop the
    others, the score they select by (``selects_by``: ``"w"`` or ``"disc"``)."""

    name = "sampler"
    resolved: tuple[str, ...] = ()  # options fit settles into NAME_ (see params)
    needs_data = False  # whether fit() needs real samples (``data``)
    requires: tuple[str, ...] = ()
    selects_by: str | None = None

    @classmethod
    def options(cls) -> dict[str, object]:
        """The options a user sets, with their defaults: the constructor's arguments other than the
        models it requires and the compute batch."""
        return {k: p.default for k, p in inspect.signature(cls).parameters.items()
                if k not in (*cls.requires, "batch_size")}

    def __init__(self, batch_size: int = 1000):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = batch_size

    def fit(self, models: Models, data=None) -> Sampler:
        self.models_ = models
        return self

    def params(self) -> dict:
        """The hyperparameters given to ``__init__`` that are plain values (for records). For
        those in ``resolved``, which ``fit`` settles (``project=None`` into ``project_``), the
        record shows what ran, not only what was asked."""
        plain = (int, float, str, bool, type(None))
        values = {k: getattr(self, k + "_" if k in self.resolved else k, getattr(self, k, None))
                  for k in inspect.signature(type(self)).parameters if hasattr(self, k)}
        return {k: v for k, v in values.items() if isinstance(v, plain)}

    def sample(self, n: int, *, generator: torch.Generator) -> SampleBatch:
        """Exactly ``n`` samples; all randomness comes from ``generator``."""
        if not hasattr(self, "models_"):
            raise RuntimeError(f"{self.name}: call fit(models) before sample()")
        return self.sample_from(n, ProposalStream(self.models_.prior, generator))

    @torch.no_grad()
    def sample_from(self, n: int, proposals: ProposalStream) -> SampleBatch:
        """Exactly ``n`` samples drawing latents from ``proposals`` (a fresh stream)."""
        if not hasattr(self, "models_"):
            raise RuntimeError(f"{self.name}: call fit(models) before sample()")
        if n < 0:
            raise ValueError("n must be >= 0")
        start = time.perf_counter()
        batch = self._sample(n, proposals)
        batch.cost.seconds = time.perf_counter() - start
        if len(batch.x) != n:  # the contract; not an assert, which python -O removes
            raise SamplingError(f"{self.name} returned {len(batch.x)} samples, not {n}: a bug in the sampler")
        return batch

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        raise NotImplementedError

    def _generate(self, z: torch.Tensor, cost: Cost) -> torch.Tensor:
        """G on ``z`` in compute batches, counted in ``cost``; returns CPU tensors."""
        cost.g_forward += len(z)
        if len(z) == 0:  # G on no rows gives the right empty shape (0, *sample_shape)
            return self.models_.G(z[:0]).cpu()
        return torch.cat([self.models_.G(z[i:i + self.batch_size]).cpu() for i in range(0, len(z), self.batch_size)])

    def _empty(self, cost: Cost) -> SampleBatch:
        """The batch of n = 0 samples."""
        prior = self.models_.prior
        z = torch.empty(0, prior.z_dim, device=prior.device)
        return SampleBatch(self._generate(z, cost), z.cpu(), cost=cost)

    def _discriminate(self, disc: torch.nn.Module, x: torch.Tensor, cost: Cost) -> torch.Tensor:
        """``disc`` on ``x`` (CPU) in compute batches, counted in ``cost``; returns CPU scores."""
        cost.d_forward += len(x)
        dev = self.models_.prior.device
        return torch.cat([disc(x[i:i + self.batch_size].to(dev)).reshape(-1).cpu()
                          for i in range(0, len(x), self.batch_size)]) if len(x) else torch.empty(0)


def value_and_grad(fn: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample values of ``fn`` at ``z`` and their gradients w.r.t. z (under no_grad callers too)."""
    with torch.enable_grad():
        zg = z.detach().requires_grad_(True)
        value = fn(zg)
        if not value.requires_grad:  # fn does not depend on z (e.g. a constant logit)
            return value.detach(), torch.zeros_like(z)
        (grad,) = torch.autograd.grad(value.sum(), zg)
    return value.detach(), grad


class LatentDynamics(Sampler):
    """Base of the samplers that move each latent by ``steps`` noisy gradient updates (DDLS,
    DGflow): subclasses implement :meth:`_step`. Their diffusion needs a prior with a smooth
    density on the whole space, so the uniform prior and a mapped prior (no known density) are
    refused."""

    steps: int

    def fit(self, models: Models, data=None) -> LatentDynamics:
        if isinstance(models.prior, UniformPrior):
            raise ValueError(f"{self.name}: its diffusion leaves the uniform prior's cube; use a Gaussian prior")
        if not models.prior.has_density:  # DDLS's energy has log p(z); DGflow's noise would leave W's support
            raise ValueError(f"{self.name}: its latent diffusion needs a prior with a density on the whole space; "
                             f"the {type(models.prior).__name__} has none (its latents lie on the mapping's image)")
        return super().fit(models)

    def _step(self, z: torch.Tensor, xi: torch.Tensor, cost: Cost) -> torch.Tensor:
        raise NotImplementedError

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost(proposals=n)
        z = self._diffuse(n, proposals, cost)
        return SampleBatch(self._generate(z, cost), z.cpu(), cost=cost)

    def _diffuse(self, n: int, proposals: ProposalStream, cost: Cost) -> torch.Tensor:
        """``n`` latents of the stream, each moved by ``steps`` noisy updates z ← _step(z, ξ, cost)
        with ξ ~ N(0, I). Latents move in their blocks of ``BLOCK`` (computed in compute batches)
        and a block's ξ comes from its own generator, step by step: the result does not depend on
        the compute batch size."""
        out, have = [], 0
        for b, z in enumerate(proposals.blocks()):
            if have >= n:
                break
            z = z[:n - have]
            noise = proposals.aux_generator(b)
            for _ in range(self.steps):
                xi = torch.randn(BLOCK, z.shape[1], generator=noise, device=z.device)[:len(z)]
                z = torch.cat([self._step(z[i:i + self.batch_size], xi[i:i + self.batch_size], cost)
                               for i in range(0, len(z), self.batch_size)])
            out.append(z)
            have += len(z)
        return torch.cat(out) if out else torch.empty(0, self.models_.prior.z_dim)


SAMPLERS: Registry[type[Sampler]] = Registry("sampler")


class BaseSampler(Sampler):
    """The GAN as trained: z from the prior, x = G(z)."""

    name = "base"

    def _sample(self, n: int, proposals: ProposalStream) -> SampleBatch:
        cost = Cost()
        z = proposals.take(n)
        cost.proposals += n
        return SampleBatch(self._generate(z, cost), z.cpu(), cost=cost)


SAMPLERS.add("base", BaseSampler)
