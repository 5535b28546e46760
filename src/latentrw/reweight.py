"""Latent reweighting (Issenhuth, Tanielian, Picard & Mary, WACV 2022): the network w(z)
and its training, Algorithm 1, with the generator frozen.

Per w-step, ``n_d`` critic steps maximise  E D(x) − E w(z)·D(G(z))  (WGAN-GP critic on the
w-reweighted fake distribution), then one w-step **maximises**

    E[ w(z)·(D(G(z)) − Δ) / s ] − λ1 (E w − 1)² − λ2 E max(0, w − m)²        (Eq. 6)

with Δ = min over the batch of D(G(z)) and s the batch mean of D(G(z)) − Δ, both
detached. Dividing by s makes the reward scale-free (ours): a critic started from a
BCE-trained D has logits in the hundreds, and with the raw slope the penalty cannot hold
E w near 1. Beware the sign: Algorithm 1's listing reads "∇(EMD + λ1 R + λ2 R)"; taken
literally as descent it trains w to favour the *worst* samples (tests check the sign).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from latentrw.errors import TrainingDiverged
from latentrw.objectives import gradient_penalty
from latentrw.priors import Prior


class WNetwork(nn.Module):
    """w(z) ≥ 0: ``depth`` fully connected layers with ReLU, width 4·d by default (paper
    §4.3.1), softplus output -- unbounded above, so w can exceed 1 and reach m. The last
    layer starts near zero with bias softplus⁻¹(1), so w ≈ 1 everywhere at step 0."""

    def __init__(self, z_dim: int, depth: int = 4, width: int | None = None):
        super().__init__()
        width = width or 4 * z_dim
        self.config = {"z_dim": z_dim, "depth": depth, "width": width}
        layers: list[nn.Module] = []
        d = z_dim
        for _ in range(depth - 1):
            layers += [nn.Linear(d, width), nn.ReLU()]
            d = width
        last = nn.Linear(d, 1)
        nn.init.normal_(last.weight, std=1e-3)
        nn.init.constant_(last.bias, math.log(math.expm1(1.0)))
        self.net = nn.Sequential(*layers, last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.net(z)).squeeze(1)


@dataclass
class ReweightConfig:
    """Hyperparameters of Algorithm 1. m, λ1, λ2 follow the paper's appendix; the rest are ours."""

    steps: int = 2000  # w-steps
    n_d: int = 5  # critic steps per w-step (0: keep the critic fixed)
    batch_size: int = 256
    lr_w: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    m: float = 3.0
    lambda1: float = 10.0
    lambda2: float = 3.0
    gp_weight: float = 10.0
    depth: int = 4
    width: int | None = None
    warmup: int = 200  # w-steps before E w must stay within [0.5, 2]
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def w_loss(w: torch.Tensor, d_fake: torch.Tensor, m: float, lambda1: float, lambda2: float) -> tuple[torch.Tensor, dict]:
    """The quantity w-steps *minimise*: minus Eq. 6 with the scale-free reward. Returns the
    loss and its terms (detached) for logging."""
    d = d_fake.detach()
    slope = d - d.min()
    scale = slope.mean().clamp_min(1e-12)
    reward = (w * slope / scale).mean()
    mean_penalty = (w.mean() - 1) ** 2
    cap_penalty = F.relu(w - m).pow(2).mean()
    loss = -reward + lambda1 * mean_penalty + lambda2 * cap_penalty
    terms = {"reward": reward.detach(), "mean_penalty": mean_penalty.detach(), "cap_penalty": cap_penalty.detach(),
             "mean_w": w.detach().mean(), "frac_above_m": (w.detach() > m).float().mean(), "mean_slope": scale}
    return loss, terms


def train_w(G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, config: ReweightConfig,
            on_step: Callable[[int, dict], None] | None = None) -> tuple[WNetwork, nn.Module]:
    """Algorithm 1 with G (and the prior) frozen. ``real`` is the training data in model scale;
    the critic starts as a copy of ``D``. Returns (w, critic)."""
    cfg = config
    device = real.device
    rng = torch.Generator(device).manual_seed(cfg.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        w = WNetwork(prior.z_dim, cfg.depth, cfg.width).to(device)
    critic = copy.deepcopy(D).train()  # G and the prior are only ever run under no_grad: frozen
    opt_w = torch.optim.Adam(w.parameters(), lr=cfg.lr_w, betas=cfg.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr_d, betas=cfg.betas) if cfg.n_d > 0 else None
    bs = cfg.batch_size
    for step in range(cfg.steps):
        critic_loss = torch.zeros((), device=device)
        for _ in range(cfg.n_d):
            x_real = real[torch.randint(len(real), (bs,), generator=rng, device=device)]
            z = prior.sample(bs, rng)
            with torch.no_grad():
                x_fake, wz = G(z), w(z)
            critic_loss = -(critic(x_real).mean() - (wz * critic(x_fake)).mean())
            if cfg.gp_weight > 0:
                gp, _ = gradient_penalty(critic, x_real, x_fake, rng)
                critic_loss = critic_loss + cfg.gp_weight * gp
            opt_d.zero_grad(set_to_none=True)
            critic_loss.backward()
            opt_d.step()
        z = prior.sample(bs, rng)
        with torch.no_grad():
            d_fake = critic(G(z))
        loss, terms = w_loss(w(z), d_fake, cfg.m, cfg.lambda1, cfg.lambda2)
        opt_w.zero_grad(set_to_none=True)
        loss.backward()
        opt_w.step()
        terms = {k: float(v) for k, v in terms.items()} | {"w_loss": loss.item(), "critic_loss": critic_loss.item()}
        if not all(math.isfinite(v) for v in terms.values()):
            raise TrainingDiverged(f"w training: non-finite values at w-step {step + 1}: {terms}")
        if step + 1 > cfg.warmup and not 0.5 <= terms["mean_w"] <= 2.0:
            raise TrainingDiverged(
                f"w training: E w = {terms['mean_w']:.3f} left [0.5, 2] at w-step {step + 1} (after the "
                f"{cfg.warmup}-step warm-up); raise lambda1 or lower lr_w")
        if on_step is not None:
            on_step(step + 1, terms)
    return w.eval(), critic.eval()
