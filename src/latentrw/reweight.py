"""Latent reweighting (Issenhuth, Tanielian, Picard & Mary, WACV 2022): the network w(z)
and its training, Algorithm 1, with the generator frozen.

Per w-step, ``n_d`` critic steps maximise  E D(x) − E w(z)·D(G(z)) / E w  (WGAN-GP critic on
the w-reweighted fake distribution, self-normalised), then one w-step **maximises**

    E[ w(z)·(D(G(z)) − Δ) / s ] − λ1 (E w − 1)² − λ2 E max(0, w − m)²        (Eq. 6)

with Δ = min over the batch of D(G(z)) and s the batch mean of D(G(z)) − Δ, both
detached. Dividing by s makes the reward scale-free (ours): a critic started from a
BCE-trained D has logits in the hundreds, and with the raw slope the penalty cannot hold
E w near 1. Beware the sign: Algorithm 1's listing reads "∇(EMD + λ1 R + λ2 R)"; taken
literally as descent it trains w to favour the *worst* samples (tests check the sign).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from latentrw import distributed
from latentrw.checkpoint import (build_from_header, load_state_into, load_tensors, optimizer_from_tensors,
                                 optimizer_to_tensors, save_module, save_tensors)
from latentrw.errors import CheckpointError, ConfigError, TrainingDiverged
from latentrw.fileio import atomic_write_json, truncate_jsonl
from latentrw.objectives import gradient_penalty
from latentrw.priors import Prior

CONFIG, LOG, STATE = "config.json", "log.jsonl", "state.safetensors"
W_FILE, CRITIC_FILE = "w.safetensors", "critic.safetensors"


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
        return F.softplus(self.net(z)).squeeze(1)


@dataclass
class ReweightConfig:
    """Hyperparameters of Algorithm 1. m, λ1, λ2 follow the paper's appendix; the rest are ours."""

    steps: int = 2000  # w-steps
    n_d: int = 5  # critic steps per w-step (0: keep the critic fixed)
    batch_size: int = 256
    lr_w: float = 1e-3  # ours: at 1e-4 w moved too little against the critic in 2,000 steps
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    m: float = 3.0
    lambda1: float = 10.0
    lambda2: float = 3.0
    gp_weight: float = 10.0  # see critic_gp_weight: the CLI uses the run's own penalty where it had one
    depth: int = 4
    width: int | None = None
    warmup: int = 200  # w-steps before E w must stay within [0.5, 2]
    ema: float = 0.995  # ours: the w returned and saved is this moving average of the iterates (0: the last)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def critic_gp_weight(train_config) -> float:
    """The critic's gradient-penalty weight for a run: the one its discriminator was trained with
    when its objective had a penalty, else WGAN-GP's 10 (Gulrajani et al.). Ours: on the 2-D toys,
    trained with 0.1 (Gulrajani et al.'s toy setting), a critic held at 10 is too smooth to tell the
    points between the Swiss roll's arms from the arms -- w then learned a global trend and latentRS
    *raised* the EMD (0.301 to 0.451 on 2,500 paired points, scripts/w_optimum_2d.py); at the run's
    0.1 it lowers it (to 0.27).
    """
    gp = getattr(train_config, "gp_weight", None)
    return float(gp) if gp else 10.0


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


def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """What critic steps minimise (before the gradient penalty): −(E D(x) − E[w·D(G(z))]/E w).

    The weights are self-normalised, so the fake side is the distribution w·p/E w. With raw w
    and E w ≠ 1 (its optimum sits near 1 + 1/(2λ1)) shifting the critic by a constant c changes
    the objective by c(1 − E w): the critic's level drifts without bound (we saw its loss reach
    −760 on the Swiss roll) and the penalty, blind to constants, cannot stop it.
    """
    w = w.detach()
    return -(d_real.mean() - (w * d_fake).mean() / w.mean())


class WTrainer:
    """Algorithm 1 with G (and the prior) frozen; optionally checkpointed into ``out_dir``.

    ``real`` is the training data in model scale; the critic starts as a copy of ``D``.
    ``out_dir`` gets ``config.json``, ``w.safetensors`` (w alone, rebuilt from its header),
    ``state.safetensors`` (w, critic, optimizers, RNG: written atomically first, for resuming)
    and ``log.jsonl`` (means of the loss terms every ``log_every`` w-steps).
    """

    def __init__(self, G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, config: ReweightConfig,
                 out_dir: Path | str | None = None, *, log_every: int = 50, checkpoint_every: int = 200,
                 progress: bool = False, on_step: Callable[[int, dict], None] | None = None):
        cfg = self.cfg = config
        self.G, self.prior, self.real = G, prior, real
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.log_every, self.checkpoint_every = log_every, checkpoint_every
        self.progress, self.on_step = progress, on_step
        self.device = real.device
        self.rng = torch.Generator(self.device).manual_seed(cfg.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.w = WNetwork(prior.z_dim, cfg.depth, cfg.width, cfg.m).to(self.device)
        self.critic = copy.deepcopy(D).train()  # G and the prior only ever run under no_grad: frozen
        self.opt_w = torch.optim.Adam(self.w.parameters(), lr=cfg.lr_w, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr_d, betas=cfg.betas) if cfg.n_d > 0 else None
        # w and its critic play a min-max game whose iterates cycle; their moving average is the
        # stable estimate (Polyak averaging, as for GAN generators). Ours.
        self.w_avg = copy.deepcopy(self.w).requires_grad_(False)
        self.step = 0

    # -- checkpoints ---------------------------------------------------------------
    def save(self) -> None:
        tensors = {f"w.{k}": v for k, v in self.w.state_dict().items()}
        tensors |= {f"w_avg.{k}": v for k, v in self.w_avg.state_dict().items()}
        tensors |= {f"critic.{k}": v for k, v in self.critic.state_dict().items()}
        tw, hw = optimizer_to_tensors(self.opt_w, "opt_w")
        tensors |= tw
        header = {"step": self.step, "opt_w": hw, "device": self.device.type}
        if self.opt_d is not None:
            td, hd = optimizer_to_tensors(self.opt_d, "opt_d")
            tensors |= td
            header["opt_d"] = hd
        tensors["rng"] = self.rng.get_state()
        tensors["rng.global"] = torch.get_rng_state()
        save_tensors(self.out_dir / STATE, tensors, header)
        save_module(self.out_dir / W_FILE, self.w_avg, {"step": self.step, "config": self.w.config, "m": self.cfg.m})
        save_module(self.out_dir / CRITIC_FILE, self.critic, {"step": self.step})

    def load(self) -> None:
        path = self.out_dir / STATE
        tensors, header = load_tensors(path)
        load_state_into(self.w, {k[2:]: v for k, v in tensors.items() if k.startswith("w.")}, path)
        load_state_into(self.w_avg, {k[6:]: v for k, v in tensors.items() if k.startswith("w_avg.")}, path)
        load_state_into(self.critic, {k[7:]: v for k, v in tensors.items() if k.startswith("critic.")}, path)
        optimizer_from_tensors(self.opt_w, "opt_w", tensors, header["opt_w"])
        if self.opt_d is not None:
            optimizer_from_tensors(self.opt_d, "opt_d", tensors, header["opt_d"])
        if header.get("device") == self.device.type:
            self.rng.set_state(tensors["rng"])
        else:  # generator states are device-specific
            self.rng.manual_seed(self.cfg.seed * 1_000_003 + int(header["step"]))
        torch.set_rng_state(tensors["rng.global"])
        self.step = int(header["step"])

    # -- Algorithm 1 ------------------------------------------------------------------
    def _critic_step(self, bs: int) -> torch.Tensor:
        if distributed.world() > 1:
            return self._critic_step_split(bs)
        x_real = self.real[torch.randint(len(self.real), (bs,), generator=self.rng, device=self.device)]
        z = self.prior.sample(bs, self.rng)
        with torch.no_grad():
            x_fake, wz = self.G(z), self.w(z)
        loss = critic_loss(self.critic(x_real), self.critic(x_fake), wz)
        if self.cfg.gp_weight > 0:
            gp, _ = gradient_penalty(self.critic, x_real, x_fake, self.rng)
            loss = loss + self.cfg.gp_weight * gp
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.detach()

    def _critic_step_split(self, bs: int) -> torch.Tensor:
        """The critic step with the batch split over torchrun ranks (same draws as one process)."""
        sl = distributed.my_slice(bs)
        x_real = self.real[torch.randint(len(self.real), (bs,), generator=self.rng, device=self.device)]
        z = self.prior.sample(bs, self.rng)
        eps = (torch.rand((bs,) + (1,) * (x_real.dim() - 1), device=self.device, generator=self.rng)
               if self.cfg.gp_weight > 0 else None)  # drawn whole, as gradient_penalty would
        x_real, z = x_real[sl], z[sl]
        with torch.no_grad():
            x_fake, wz = self.G(z), self.w(z)
        d_real, d_fake = self.critic(x_real), self.critic(x_fake)
        sum_w = distributed.all_sum(wz.sum())
        loss = -(d_real.sum() / bs - (wz * d_fake).sum() / sum_w)  # this rank's share of critic_loss
        if self.cfg.gp_weight > 0:
            gp, _ = gradient_penalty(self.critic, x_real, x_fake, eps=eps[sl], reduce="sum")
            loss = loss + self.cfg.gp_weight * gp / bs
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        distributed.sum_gradients(self.critic.parameters())
        self.opt_d.step()
        return distributed.all_sum(loss.detach())

    def _w_step_split(self, bs: int) -> dict[str, torch.Tensor]:
        """The w-step with the batch split over torchrun ranks: Δ, the reward's normaliser and
        E w are all-reduced; (E w − 1)² enters through its gradient 2(E w − 1)·∇E w."""
        cfg, sl = self.cfg, distributed.my_slice(bs)
        z = self.prior.sample(bs, self.rng)[sl]
        with torch.no_grad():
            d = self.critic(self.G(z)).reshape(-1)
        wz = self.w(z)
        slope = d - distributed.all_min(d.min())
        scale = (distributed.all_sum(slope.sum()) / bs).clamp_min(1e-12)
        mean_w = distributed.all_sum(wz.detach().sum()) / bs
        reward = (wz * slope / scale).sum() / bs
        cap = F.relu(wz - cfg.m).pow(2).sum() / bs
        loss = -reward + cfg.lambda1 * 2 * (mean_w - 1) * wz.sum() / bs + cfg.lambda2 * cap
        self.opt_w.zero_grad(set_to_none=True)
        loss.backward()
        distributed.sum_gradients(self.w.parameters())
        self.opt_w.step()
        self._average()
        reward, cap = distributed.all_sum(reward.detach()), distributed.all_sum(cap.detach())
        above = distributed.all_sum((wz.detach() > cfg.m).float().sum()) / bs
        mean_penalty = (mean_w - 1) ** 2
        return {"reward": reward, "mean_penalty": mean_penalty, "cap_penalty": cap, "mean_w": mean_w,
                "frac_above_m": above, "mean_slope": scale,
                "w_loss": -reward + cfg.lambda1 * mean_penalty + cfg.lambda2 * cap}

    def _average(self) -> None:
        with torch.no_grad():
            decay = self.cfg.ema
            for a, b in zip(self.w_avg.parameters(), self.w.parameters()):
                a.lerp_(b, 1 - decay)

    def _w_step(self, bs: int) -> dict[str, torch.Tensor]:
        if distributed.world() > 1:
            return self._w_step_split(bs)
        z = self.prior.sample(bs, self.rng)
        with torch.no_grad():
            d_fake = self.critic(self.G(z))
        loss, terms = w_loss(self.w(z), d_fake, self.cfg.m, self.cfg.lambda1, self.cfg.lambda2)
        self.opt_w.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_w.step()
        self._average()
        return terms | {"w_loss": loss.detach()}

    def fit(self, resume: bool | None = None) -> tuple[WNetwork, nn.Module]:
        """Run the remaining w-steps; ``resume`` as in :meth:`latentrw.train.Trainer.fit`."""
        cfg = self.cfg
        if self.out_dir is not None:
            exists = (self.out_dir / STATE).is_file()
            if exists:
                saved = json.loads((self.out_dir / CONFIG).read_text())
                if {**saved, "steps": 0} != {**cfg.to_dict(), "steps": 0, "betas": list(cfg.betas)}:
                    raise ConfigError(f"{self.out_dir} holds w training with another config; choose another --out")
            if resume is False and exists:
                raise ConfigError(f"{self.out_dir} already holds w training; resume it or choose another --out")
            if resume and not exists:
                raise CheckpointError(f"{self.out_dir}: no w training to resume")
            self.out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.out_dir / CONFIG, cfg.to_dict())
        else:
            exists = False
        # A critic with dropout draws from the global RNG: fork it, seed it or restore it inside.
        with torch.random.fork_rng(devices=[]):
            if exists:
                self.load()
                if distributed.is_main():
                    truncate_jsonl(self.out_dir / LOG, self.step)
            else:
                torch.manual_seed(cfg.seed)
            self._loop()
        return self.w_avg.eval(), self.critic.eval()

    def _loop(self) -> None:
        cfg = self.cfg
        window: list[dict[str, torch.Tensor]] = []
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not (self.progress and distributed.is_main()), desc="w",
                   dynamic_ncols=True)
        while self.step < cfg.steps:
            critic_loss = torch.zeros((), device=self.device)
            for _ in range(cfg.n_d):
                critic_loss = self._critic_step(cfg.batch_size)
            window.append(self._w_step(cfg.batch_size) | {"critic_loss": critic_loss})
            self.step += 1
            bar.update(1)
            last = self.step == cfg.steps
            if self.step % self.log_every == 0 or last or self.step == cfg.warmup + 1:
                terms = {k: float(torch.stack([t[k] for t in window]).mean()) for k in window[0]}
                window = []
                self._check(terms)
                bar.set_postfix(Ew=f"{terms['mean_w']:.3f}", above_m=f"{terms['frac_above_m']:.3f}")
                if self.on_step is not None:
                    self.on_step(self.step, terms)
                if self.out_dir is not None and distributed.is_main():
                    with open(self.out_dir / LOG, "a") as f:
                        f.write(json.dumps({"step": self.step, **terms}) + "\n")
            if self.out_dir is not None and distributed.is_main() and (last or self.step % self.checkpoint_every == 0):
                self.save()
        bar.close()

    def _check(self, terms: dict[str, float]) -> None:
        if not all(math.isfinite(v) for v in terms.values()):
            raise TrainingDiverged(f"w training: non-finite values by w-step {self.step}: {terms}")
        if self.step > self.cfg.warmup and not 0.5 <= terms["mean_w"] <= 2.0:
            raise TrainingDiverged(
                f"w training: E w = {terms['mean_w']:.3f} left [0.5, 2] by w-step {self.step} (after the "
                f"{self.cfg.warmup}-step warm-up); raise lambda1 or lower lr_w")


def train_w(G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, config: ReweightConfig,
            on_step: Callable[[int, dict], None] | None = None) -> tuple[WNetwork, nn.Module]:
    """Algorithm 1 in memory (see :class:`WTrainer`); returns (w, critic). ``on_step(step, terms)``
    receives the mean loss terms of every logged window."""
    return WTrainer(G, D, prior, real, config, log_every=1, on_step=on_step).fit()


def load_w(directory: Path | str, device: torch.device | str = "cpu") -> WNetwork:
    """The trained w of a reweighting directory (``w.safetensors``)."""
    path = Path(directory) / W_FILE
    tensors, header = load_tensors(path)
    w = build_from_header(lambda: WNetwork(**header["config"]), tensors, path, "a w network", config=header.get("config"))
    return w.to(device).eval()
