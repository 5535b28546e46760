"""Latent reweighting (Issenhuth, Tanielian, Picard & Mary, WACV 2022): the network w(z) and
its training against a critic, with the generator frozen.

w maximises Eq. 6 with a scale-free reward (ours: u = (D(G(z)) − Δ)/s, s the mean of D − Δ)

    E[w(z)·u(z)] − λ1 (E w − 1)² − λ2 E max(0, w − m)²                        (Eq. 6)

while a WGAN-GP critic maximises E D(x) − E[w·D(G(z))]/E w (self-normalised, ours). Two
trainers solve the same min-max problem:

- ``bank`` (the default, ours): G is frozen, so G(z) over a bank of latents is computed once per
  round. Each round takes ``critic_steps`` critic steps on the bank, scores the whole bank with
  the critic, and regresses w for ``w_steps`` steps onto one functional gradient-ascent step of
  Eq. 6 from w's current values (:func:`eq6_ascent`): Algorithm 1's dynamics, with the w-step
  taken on 20,000 latents at once and fitted by cheap regression instead of 5 critic steps per
  small step. Under a fixed critic the steps converge to Eq. 6's maximiser (:func:`eq6_optimum`).
- ``algorithm1``: the paper's Algorithm 1 as listed, ``n_d`` critic steps on fresh G(z) per
  gradient step of w on Eq. 6. Beware its sign: the listing reads "∇(EMD + λ1 R + λ2 R)"; taken
  literally as descent it trains w to favour the *worst* samples (tests check the sign).

The bank trainer's reward can also weigh the run's own D, held fixed, beside the critic
(``d_weight``, ours): on GANs whose D classifies real against generated images, D scores quality
within classes where the W1 critic pays for class balance (docs/reweighting.md).

Under torchrun every rank draws the same batch and works on its slice (``distributed``); with
one process the slice is the whole batch and every reduction is the identity, so there is one
code path.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latentrw.checkpoint import build_from_header, load_state_into, load_tensors
from latentrw.errors import ConfigError

W_FILE, CRITIC_FILE = "w.safetensors", "critic.safetensors"
TRAINERS = ("bank", "algorithm1")
# The critic's Adam learning rate when the config leaves it unset. Algorithm 1 keeps WGAN-GP's 1e-4
# (Gulrajani et al.); the bank trainer's critic learns at about a third of it: on every shipped mlp
# generator its w then gains more (docs/reweighting.md, "A slower critic, fewer regression steps").
CRITIC_LR = {"bank": 3e-5, "algorithm1": 1e-4}
# the fields only one trainer reads (the other ignores them)
TRAINER_FIELDS = {"bank": ("rounds", "critic_steps", "w_steps", "step_size", "bank", "refresh", "w_batch", "floor",
                           "average", "polish", "d_weight", "exact"),
                  "algorithm1": ("steps", "n_d", "warmup", "ema")}


class WNetwork(nn.Module):
    """w(z) ≥ 0: ``depth`` fully connected layers with ReLU, width max(4·d, 64) by default (paper
    §4.3.1; at least 64, ours), softplus output -- unbounded above, so w can exceed 1 and reach m. The last
    layer starts near zero with bias softplus⁻¹(1), so w ≈ 1 everywhere at step 0. ``m`` is
    the cap w is trained under; it is kept in the config so that samplers default to it."""

    def __init__(self, z_dim: int, depth: int = 4, width: int | None = None, m: float = 3.0):
        super().__init__()
        width = width or max(4 * z_dim, 64)  # 4·d (paper §4.3.1); 8 units for 2-d latents stay nearly flat
        self.config = {"z_dim": z_dim, "depth": depth, "width": width, "m": m}
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
        return F.softplus(self.pre(z))

    def pre(self, z: torch.Tensor) -> torch.Tensor:
        """The pre-activation h(z), w = softplus(h)."""
        return self.net(z).squeeze(1)


@dataclass
class ReweightConfig:
    """Hyperparameters of w's training. m, λ1, λ2 follow the paper's appendix; the rest are ours."""

    trainer: str = "bank"  # "bank" (ours, the default) or "algorithm1" (the paper's listing)
    batch_size: int = 256  # of critic steps (and of Algorithm 1's w-steps)
    lr_w: float = 1e-3
    lr_d: float | None = None  # the critic's; None: the trainer's own, CRITIC_LR (see critic_lr)
    betas: tuple[float, float] = (0.5, 0.9)
    m: float = 3.0
    lambda1: float = 10.0
    lambda2: float = 3.0
    gp_weight: float = 10.0  # see critic_gp_weight: the CLI uses the run's own penalty where it had one
    depth: int = 4
    width: int | None = None
    seed: int = 0
    # the bank trainer
    # 60 rounds of 17 critic steps: about the critic steps of 20 rounds of 50, spread over 3× the
    # functional steps of w (measured against 20 × 50 in docs/reweighting.md)
    rounds: int = 60
    critic_steps: int = 17  # per round (0: keep the critic fixed)
    w_steps: int = 100  # regression steps of w per round (200: latentRS+GA a little better, for 1.4–1.6× the time)
    step_size: float = 0.15  # η of the functional ascent step on Eq. 6 per round
    bank: int = 20_000  # latents whose G(z) is computed once per round
    refresh: bool = True  # a new bank every round (False: one bank for the whole training)
    w_batch: int = 512
    floor: float = 0.05  # w's lower bound in the targets (softplus cannot reach 0)
    average: int = 5  # the saved w is the mean of w's weights after each of the last `average` rounds (0: the
    # last; all of them when there are fewer rounds). Algorithm 1 ignores it: it saves its moving average (ema)
    # the last `polish` rounds take no critic step and regress w straight onto Eq. 6's optimum under the
    # critic they hold: w then ranks latents like its final critic, and loses most of its FID gain
    polish: int = 0
    # > 0: w's reward is the critic's standardised scores plus d_weight × those of the run's own D, held
    # fixed (ours): the W1 critic pays for class balance, D for quality (docs/reweighting.md)
    d_weight: float = 0.0
    # each round's step starts from the exact values the past rounds' steps gave the bank's latents, not
    # from w's fit of them (needs refresh=False: one bank, on which those values are carried)
    exact: bool = False
    # Algorithm 1
    steps: int = 2000  # w-steps
    n_d: int = 5  # critic steps per w-step (0: keep the critic fixed)
    warmup: int = 200  # w-steps before E w must stay within [0.5, 2]
    ema: float = 0.995  # the saved w is this moving average of the iterates (0: the last), debiased

    def __post_init__(self) -> None:
        if self.trainer not in TRAINERS:
            raise ConfigError(f"unknown w trainer {self.trainer!r}; choose one of {', '.join(TRAINERS)}")
        if not (0 <= self.polish <= self.rounds and 0 <= self.d_weight < math.inf):
            raise ConfigError(f"polish must be in [0, rounds = {self.rounds}] and d_weight finite and ≥ 0, not "
                              f"{self.polish} and {self.d_weight}")
        if self.exact and self.refresh:
            raise ConfigError("exact=True carries the rounds' values of w on one bank: set refresh=False")
        if self.average < 0:
            raise ConfigError(f"average must be ≥ 0 (the last rounds whose w is averaged; 0: none), not {self.average}")
        if self.trainer == "bank" and not (self.floor > 0 and 0 < self.step_size * self.lambda2 < 1):
            raise ConfigError("the bank trainer needs floor > 0 and 0 < step_size·lambda2 < 1 (its soft-cap step "
                              "oscillates beyond); lower step_size, or use trainer='algorithm1'")

    @property
    def critic_lr(self) -> float:
        """The critic's learning rate: ``lr_d`` when set, else the trainer's default (CRITIC_LR)."""
        return CRITIC_LR[self.trainer] if self.lr_d is None else self.lr_d

    @property
    def reward_d_weight(self) -> float:
        """The weight of the run's D in w's reward: ``d_weight`` for the bank trainer; 0 for Algorithm 1,
        which steps w up with its critic alone."""
        return self.d_weight if self.trainer == "bank" else 0.0

    def polishes(self, round_: int) -> bool:
        """Whether the bank trainer's round ``round_`` (0-based) is one of the last ``polish``."""
        return round_ >= self.rounds - self.polish

    @property
    def average_window(self) -> int:
        """The bank trainer's rounds whose w is averaged: ``average``, at most every round."""
        return min(self.average, self.rounds)

    @property
    def total(self) -> int:
        """The budget in the trainer's own units: rounds (bank) or w-steps (Algorithm 1)."""
        return self.rounds if self.trainer == "bank" else self.steps

    def to_dict(self) -> dict:
        """The fields, the critic's learning rate resolved: a saved config names the rate it trained with."""
        return asdict(self) | {"lr_d": self.critic_lr}

    @classmethod
    def from_dict(cls, d: dict) -> ReweightConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "betas" else v) for k, v in d.items() if k in names})


def critic_gp_weight(train_config) -> float:
    """The critic's gradient-penalty weight for a run: the one its discriminator was trained with
    when its objective had a penalty, else WGAN-GP's 10 (Gulrajani et al.). Ours: on the 2-D toys,
    trained with 0.1 (Gulrajani et al.'s toy setting), a critic held at 10 is too smooth to tell the
    points between the Swiss roll's arms from the arms, and latentRS then raised the EMD.
    """
    gp = getattr(train_config, "gp_weight", None)
    return float(gp) if gp else 10.0


def scores(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """critic(x) as one score per sample, shape (N,): (N,) and (N, 1) outputs alike. Anything else is
    a clear error -- an (N, 1) output left as it is would broadcast against w's (N,) into an N×N matrix."""
    out = critic(x)
    if out.numel() != len(x):
        raise ConfigError(f"the discriminator returned shape {tuple(out.shape)} for {len(x)} samples; "
                          "it must return one logit per sample, (N,) or (N, 1)")
    return out.reshape(len(x))


def w_loss(w: torch.Tensor, d_fake: torch.Tensor, m: float, lambda1: float, lambda2: float) -> tuple[torch.Tensor, dict]:
    """The quantity Algorithm 1's w-steps *minimise*: minus Eq. 6 with the scale-free reward.
    Returns the loss and its terms (detached) for logging."""
    d = d_fake.detach().reshape(-1)
    slope = d - d.min()
    scale = slope.mean().clamp_min(1e-12)
    reward = (w * slope / scale).mean()
    mean_penalty = (w.mean() - 1) ** 2
    cap_penalty = F.relu(w - m).pow(2).mean()
    loss = -reward + lambda1 * mean_penalty + lambda2 * cap_penalty
    terms = {"reward": reward.detach(), "mean_penalty": mean_penalty.detach(), "cap_penalty": cap_penalty.detach(),
             "mean_w": w.detach().mean(), "frac_above_m": (w.detach() > m).float().mean(), "mean_slope": scale}
    return loss, terms


def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """What critic steps minimise (before the gradient penalty): −(E D(x) − E[w·D(G(z))]/E w).

    The weights are self-normalised, so the fake side is the distribution w·p/E w. With raw w
    and E w ≠ 1 shifting the critic by a constant c changes the objective by c(1 − E w): the
    critic's level drifts without bound and the penalty, blind to constants, cannot stop it.
    """
    w = w.detach()
    return -(d_real.reshape(-1).mean() - (w * d_fake.reshape(-1)).mean() / w.mean())


def eq6_ascent(w: torch.Tensor, d: torch.Tensor, m: float, lambda1: float, lambda2: float, step_size: float,
               floor: float = 0.0, iters: int = 64) -> tuple[torch.Tensor, float]:
    """One functional gradient-ascent step on Eq. 6 from the values ``w`` at latents with critic
    scores ``d``: w + η(u − 2λ2 max(0, w − m)) − c, floored, where the mean penalty's part c =
    2ηλ1(E w_new − 1) is taken implicitly (solved by bisection), so the step is stable at any η.

    Its fixed point under a fixed critic is Eq. 6's maximiser (:func:`eq6_optimum`, floored): there
    u − 2λ2 max(0, w − m) = t := c/η wherever w > floor, with t = 2λ1(E w − 1). Returns (w_new, t).
    """
    slope = d - d.min()
    u = slope / slope.mean().clamp_min(1e-12)
    moved = w + step_size * (u - 2 * lambda2 * F.relu(w - m))
    lo, hi = float(moved.min()) - floor - 1.0, float(moved.max())  # c's bracket: E w_new ≥ 1 at lo... ≤ at hi

    def gap(c: float) -> float:  # > 0 while c is too small; falls as c grows
        return 2 * step_size * lambda1 * (float((moved - c).clamp_min(floor).mean()) - 1) - c

    while gap(lo) < 0:  # widen downwards (E w_new − 1 may be negative for the penalty's pull)
        lo -= 2 * (hi - lo)
    for _ in range(iters):
        c = (lo + hi) / 2
        if gap(c) > 0:
            lo = c
        else:
            hi = c
    return (moved - hi).clamp_min(floor), hi / step_size


def eq6_optimum(d: torch.Tensor, m: float, lambda1: float, lambda2: float, iters: int = 64) -> tuple[torch.Tensor, float]:
    """The pointwise maximiser of Eq. 6 (scale-free reward) for fixed critic scores ``d``.

    Eq. 6 is concave in w. With t = 2λ1(E w − 1) its derivative at z is u(z) − t − 2λ2 max(0, w − m),
    so w*(z) = 0 where u < t and m + (u − t)/(2λ2) where u > t; t solves the fixed point
    t = 2λ1(E w*(t) − 1), found by bisection (the right side falls as t grows). Returns (w*, t).
    """
    if lambda2 <= 0:
        raise ConfigError("Eq. 6's optimum is unbounded with lambda2 = 0")
    slope = d - d.min()
    u = slope / slope.mean().clamp_min(1e-12)
    lo, hi = 0.0, float(u.max())  # the fixed-point gap is > 0 at t = 0 (m ≥ 1) and < 0 at t = max u

    def best(t: float) -> torch.Tensor:
        return (u > t) * (m + (u - t) / (2 * lambda2))

    for _ in range(iters):
        t = (lo + hi) / 2
        if 2 * lambda1 * (float(best(t).mean()) - 1) > t:
            lo = t
        else:
            hi = t
    w = best(hi)
    # On a finite sample the marginal latent (largest u ≤ t, where Eq. 6 is flat in w) takes the
    # fixed point's slack, within [0, m]: then w is the exact maximiser, not only its limit.
    rest = u <= hi
    if rest.any() and lambda1 > 0:
        i = torch.where(rest, u, torch.full_like(u, -1.0)).argmax()
        slack = len(u) * (1 + hi / (2 * lambda1)) - float(w.sum())
        w[i] = min(max(slack, 0.0), m)
    return w, hi


def round_target(d: torch.Tensor, cfg: ReweightConfig, w_now: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, float]:
    """What a bank round regresses w onto, given the reward scores ``d`` of its latents: one
    functional ascent step from w's values ``w_now`` (:func:`eq6_ascent`), or, in a polish round
    (``w_now`` None), Eq. 6's optimum (:func:`eq6_optimum`), floored. Returns (target, t)."""
    if w_now is None:
        target, t = eq6_optimum(d, cfg.m, cfg.lambda1, cfg.lambda2)
        return target.clamp_min(cfg.floor), t
    return eq6_ascent(w_now, d, cfg.m, cfg.lambda1, cfg.lambda2, cfg.step_size, cfg.floor)


def load_w(directory: Path | str, device: torch.device | str = "cpu", tuned: bool = True) -> WNetwork:
    """The trained w of a reweighting directory (``w.safetensors``). Its ``ga_steps`` is the
    latentGA step count tuned for it (``ga_steps.json``, :mod:`latentrw.ga_steps`; with ``tuned``
    False not read), else None."""
    from latentrw.ga_steps import tuned_steps

    path = Path(directory) / W_FILE
    tensors, header = load_tensors(path)
    w = build_from_header(lambda: WNetwork(**header["config"]), tensors, path, "a w network", config=header.get("config"))
    w.ga_steps = tuned_steps(directory) if tuned else None
    return w.to(device).eval()


def load_critic(D: nn.Module, directory: Path | str) -> nn.Module:
    """The critic a w was trained against (``critic.safetensors`` of a reweighting directory),
    in a copy of ``D``, the run's discriminator it started from."""
    path = Path(directory) / CRITIC_FILE
    critic = copy.deepcopy(D)
    load_state_into(critic, load_tensors(path)[0], path)
    return critic.eval()
