"""Latent priors p(z). Each is an ``nn.Module`` with ``sample(n, generator)``,
``log_prob(z)`` and a ``config`` that rebuilds it.

The GM-GAN prior (Ben-Yosef & Weinshall 2018, "Gaussian Mixture Generative
Adversarial Networks for Diverse Datasets") is a mixture of K Gaussians with
diagonal scales; in the *dynamic* variant the means and scales are trained with
G through reparameterised sampling z = μ_k + σ_k ⊙ ε, in the *static* one they
stay at their initial values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentrw.registry import Registry


class Prior(nn.Module):
    """Base class: a distribution on R^z_dim."""

    #: False where log_prob is unknown (a mapped prior): samplers that need it refuse the prior.
    has_density = True

    def __init__(self, z_dim: int):
        super().__init__()
        self.z_dim = z_dim
        self.config: dict = {"z_dim": z_dim}
        # Follows .to(device), so parameter-free priors know where to sample; not saved.
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def log_prob(self, z: Tensor) -> Tensor:
        raise NotImplementedError


class GaussianPrior(Prior):
    """Standard normal N(0, I)."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.z_dim, device=self.device, generator=generator)

    def log_prob(self, z: Tensor) -> Tensor:
        return -0.5 * (z * z).sum(1) - 0.5 * self.z_dim * math.log(2 * math.pi)


class UniformPrior(Prior):
    """Uniform on [-1, 1]^d."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return 2 * torch.rand(n, self.z_dim, device=self.device, generator=generator) - 1

    def log_prob(self, z: Tensor) -> Tensor:
        inside = (z.abs() <= 1).all(1)
        return torch.where(inside, -self.z_dim * math.log(2.0), -math.inf)


class GaussianMixturePrior(Prior):
    """GM-GAN mixture of K equally weighted diagonal Gaussians.

    Means start uniform in [-init_range, init_range]^d from ``init_seed``; scales
    are ``scale_floor + softplus(ρ)`` (floor keeps components from collapsing),
    starting at ``init_scale``. Defaults K=10 and the [-1, 1] cube follow
    Ben-Yosef & Weinshall 2018; init_scale 1.0 and floor 0.01 are ours.
    """

    def __init__(self, z_dim: int, n_components: int = 10, learnable: bool = True, init_range: float = 1.0,
                 init_scale: float = 1.0, scale_floor: float = 0.01, init_seed: int = 0):
        super().__init__(z_dim)
        self.config = {"z_dim": z_dim, "n_components": n_components, "learnable": learnable,
                       "init_range": init_range, "init_scale": init_scale, "scale_floor": scale_floor,
                       "init_seed": init_seed}
        g = torch.Generator().manual_seed(init_seed)
        means = (2 * torch.rand(n_components, z_dim, generator=g) - 1) * init_range
        # softplus^{-1}(y) = log(expm1(y))
        rho = torch.full((n_components, z_dim), math.log(math.expm1(init_scale - scale_floor)))
        self.scale_floor = scale_floor
        if learnable:
            self.means, self.rho = nn.Parameter(means), nn.Parameter(rho)
        else:
            self.register_buffer("means", means)
            self.register_buffer("rho", rho)

    @property
    def scales(self) -> Tensor:
        return self.scale_floor + F.softplus(self.rho)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        k = torch.randint(self.means.shape[0], (n,), device=self.device, generator=generator)
        eps = torch.randn(n, self.z_dim, device=self.device, generator=generator)
        return self.means[k] + self.scales[k] * eps

    def log_prob(self, z: Tensor) -> Tensor:
        s = self.scales
        diff = (z[:, None, :] - self.means[None]) / s[None]
        comp = -0.5 * (diff * diff).sum(2) - torch.log(s).sum(1)[None] - 0.5 * self.z_dim * math.log(2 * math.pi)
        return torch.logsumexp(comp, dim=1) - math.log(self.means.shape[0])


class MappedPrior(Prior):
    """A base prior pushed through a frozen mapping network: the latent that G takes, that w
    reweights and that latentRS accepts is ``mapping(z)`` with z ~ ``base``. This is StyleGAN's
    intermediate latent space W (Karras et al. 2019), where Issenhuth et al. (2022)
    reweight StyleGAN2. ``z_dim`` is the mapped (W) dimension; ``base.z_dim`` the input's.

    The mapping is never trained here (its parameters are frozen) and W has no known density,
    so ``log_prob`` is undefined: DDLS and DGflow refuse the prior, and latentGA/DOT run without
    a typical-set projection. Any module samples; to be saved with a run and rebuilt, the mapping
    must be a plug-in (``factory`` + ``kwargs``, :func:`latentrw.models.plugin.build_plugin`), and
    loading it then needs the factory trusted, as for a plug-in G."""

    has_density = False

    def __init__(self, base: Prior, mapping: nn.Module, base_name: str):
        spec = getattr(mapping, "config", None)
        if not isinstance(spec, dict) or "factory" not in spec:
            spec = None  # any module samples; only a plug-in one (build_plugin) can be saved and rebuilt
        mapping = mapping.eval().requires_grad_(False)  # before its first call: no batch-norm update
        with torch.no_grad():
            w_dim = mapping(base.sample(2, torch.Generator(base.device).manual_seed(0))).shape[1:]
        if len(w_dim) != 1:
            raise ValueError(f"the mapping gives latents of shape {tuple(w_dim)}; it must give flat vectors "
                             f"(batch, w_dim)")
        super().__init__(int(w_dim[0]))
        self.base, self.mapping = base, mapping
        self.config = {"z_dim": self.z_dim, "base": base_name, "base_config": base.config, "mapping": spec}

    def train(self, mode: bool = True) -> MappedPrior:
        super().train(mode)
        self.mapping.eval()  # frozen: no dropout or batch-norm updates even inside a training loop
        return self

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        with torch.no_grad():
            return self.mapping(self.base.sample(n, generator))

    def log_prob(self, z: Tensor) -> Tensor:
        raise NotImplementedError("a mapped prior has no density on its mapped latent space")


PRIORS: Registry[type[Prior]] = Registry("prior")
PRIORS.add("gaussian", GaussianPrior)
PRIORS.add("uniform", UniformPrior)
PRIORS.add("gm", GaussianMixturePrior)
PRIORS.add("gm-static", lambda z_dim, **kw: GaussianMixturePrior(z_dim, learnable=False, **kw))


MAPPED = "mapped"  # not in PRIORS: a mapping comes with an imported GAN, never with `latentrw train`


def build_prior(name: str, config: dict) -> Prior:
    """Build a registered prior from its config (``{"z_dim": ..., ...}``), or a
    :class:`MappedPrior` (name ``"mapped"``; its mapping factory must be trusted)."""
    config = dict(config)
    if name == MAPPED:
        from latentrw.models.plugin import build_plugin

        if config.get("base") == MAPPED or not isinstance(config.get("mapping"), dict):
            raise ValueError("a mapped prior is rebuilt from a plug-in mapping ({'factory': ..., 'kwargs': ...}) "
                             "over a registered base prior")
        return MappedPrior(build_prior(config["base"], config["base_config"]), build_plugin(config["mapping"]),
                           config["base"])
    if name == "gm-static":
        config.pop("learnable", None)
    return PRIORS.get(name)(**config)
