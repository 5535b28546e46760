"""Training w against its critic with G frozen: the bank trainer (default) and Algorithm 1.

One code path serves one process and torchrun: every rank draws the same whole batch from the
same generator, works on its slice (:func:`latentrw.distributed.my_slice`), takes its share of
the batch's loss and sums gradients over ranks. With one process the slice is the whole batch,
the sums are identities, and the arithmetic is that of the plain single-process step (a test
checks it bit for bit).
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn
from tqdm.auto import tqdm

from latentrw import distributed
from latentrw.checkpoint import load_tensors, restore_training_state, save_module, save_tensors, training_state
from latentrw.errors import CheckpointError, ConfigError, TrainingDiverged
from latentrw.fileio import atomic_write_json, truncate_jsonl
from latentrw.ga_steps import GA_STEPS_FILE
from latentrw.objectives import gradient_penalty
from latentrw.priors import Prior
from latentrw.reweight import (
    CRITIC_FILE,
    TRAINER_FIELDS,
    W_FILE,
    ReweightConfig,
    WNetwork,
    load_critic,
    load_w,
    round_target,
    scores,
)
from latentrw.seeding import derive_seed

CONFIG, LOG, STATE = "config.json", "log.jsonl", "state.safetensors"
AGREEMENT = "agreement.json"  # Spearman(w, its final critic) (and its reward), written beside a trained w
MIN_FIT_STEPS = 200  # fewer regression steps (bank) or w-steps (Algorithm 1) leave w near its start


def _global_mean(local_sum: torch.Tensor, n: int) -> torch.Tensor:
    """The batch mean of a quantity whose slice sum this rank holds, differentiable through this
    rank's part: the other ranks' sums enter as a constant (exactly 0 with one process)."""
    rest = distributed.all_sum(local_sum.detach()) - local_sum.detach()
    return (local_sum + rest) / n


def _descend(opt: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module) -> None:
    """One optimiser step on this rank's share of the loss, gradients summed over ranks."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    distributed.sum_gradients(module.parameters())
    opt.step()


def _standard(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std().clamp_min(1e-12)


def combined_reward(d_critic: torch.Tensor, d_run: torch.Tensor, d_weight: float) -> torch.Tensor:
    """The scores a bank round steps w up with ``d_weight`` > 0: the critic's and the run's D's
    scores of the same images, each standardised over them, the latter weighted by ``d_weight``."""
    return _standard(d_critic) + d_weight * _standard(d_run)


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(spearmanr(a.cpu().numpy(), b.cpu().numpy()).statistic)


class WTrainer:
    """w and its critic, G (and the prior) frozen; optionally checkpointed into ``out_dir``.

    ``real`` is the training data in model scale; the critic starts as a copy of ``D``.
    ``out_dir`` gets ``config.json``, ``w.safetensors`` (w alone, rebuilt from its header),
    ``critic.safetensors``, ``state.safetensors`` (everything needed to resume, written
    atomically) and ``log.jsonl`` (the mean loss terms of every logged window). Progress is
    counted in the trainer's units: rounds (bank) or w-steps (Algorithm 1).
    """

    def __init__(self, G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, config: ReweightConfig,
                 out_dir: Path | str | None = None, *, log_every: int | None = None,
                 checkpoint_every: int | None = None, progress: bool = False,
                 on_step: Callable[[int, dict], None] | None = None):
        cfg = self.cfg = config
        self.bank = cfg.trainer == "bank"
        self.G, self.prior, self.real = G, prior, real
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.log_every = log_every or (1 if self.bank else 50)
        self.checkpoint_every = checkpoint_every or (1 if self.bank else 200)
        self.progress, self.on_step = progress, on_step
        self.device = real.device
        self.rng = torch.Generator(self.device).manual_seed(cfg.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.w = WNetwork(prior.z_dim, cfg.depth, cfg.width, cfg.m).to(self.device)
        self.critic = copy.deepcopy(D).train()  # G and the prior only ever run under no_grad: frozen
        self.D = copy.deepcopy(D).eval() if cfg.reward_d_weight else None
        self.n_critic = cfg.critic_steps if self.bank else cfg.n_d
        self.opt_w = torch.optim.Adam(self.w.parameters(), lr=cfg.lr_w, betas=cfg.betas)
        self.opt_d = (torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, betas=cfg.betas)
                      if self.n_critic > 0 else None)
        # The w and critic iterates cycle; the saved w is their moving average (ours): always for
        # Algorithm 1, over the last `average` rounds for the bank trainer
        self.w_avg = (copy.deepcopy(self.w).requires_grad_(False) if not self.bank or cfg.average_window else None)
        self.z_bank = self.x_bank = None
        self.replayed = None  # with exact: the values the rounds' steps gave the bank, carried from round to round
        self.step = 0

    @property
    def _average_from(self) -> int:
        """The first step (Algorithm 1) or round (bank) whose w enters the average."""
        return self.cfg.rounds - self.cfg.average_window if self.bank else 0

    @property
    def result(self) -> WNetwork:
        """The w this training returns and saves: the average once it holds an iterate, else w."""
        return self.w_avg if self.w_avg is not None and self.step > self._average_from else self.w

    # -- checkpoints ---------------------------------------------------------------
    def _modules(self) -> dict[str, nn.Module]:
        """What a checkpoint holds, by prefix."""
        return {"w": self.w, "critic": self.critic} | ({"w_avg": self.w_avg} if self.w_avg is not None else {})

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {name: opt for name, opt in (("opt_w", self.opt_w), ("opt_d", self.opt_d)) if opt is not None}

    def save(self) -> None:
        tensors, opt_heads = training_state(self._modules(), self._optimizers())
        header = {"step": self.step, "device": self.device.type, **opt_heads}
        tensors["rng"] = self.rng.get_state()
        tensors["rng.global"] = torch.get_rng_state()
        if self.replayed is not None:
            tensors["replayed"] = self.replayed
        save_tensors(self.out_dir / STATE, tensors, header)
        save_module(self.out_dir / W_FILE, self.result,
                    {"step": self.step, "config": self.w.config, "m": self.cfg.m, "trainer": self.cfg.trainer})
        save_module(self.out_dir / CRITIC_FILE, self.critic, {"step": self.step})

    def load(self) -> None:
        path = self.out_dir / STATE
        tensors, header = load_tensors(path)
        restore_training_state(path, tensors, header, self._modules(), self._optimizers())
        if header.get("device") == self.device.type:
            self.rng.set_state(tensors["rng"])
        else:  # generator states are device-specific
            self.rng.manual_seed(derive_seed(self.cfg.seed, "resume", int(header["step"])))
        torch.set_rng_state(tensors["rng.global"])
        replayed = tensors.get("replayed")
        self.replayed = None if replayed is None else replayed.to(self.device)
        self.step = int(header["step"])

    # -- batches ---------------------------------------------------------------------
    def _latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.no_grad():  # a learnable prior (GM-GAN) stays frozen
            return self.prior.sample(n, self.rng if generator is None else generator)

    def _on_rows(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """fn over the rows of x in chunks, this rank's slice only, gathered in rank order."""
        mine = x[distributed.my_slice(len(x))]
        with torch.no_grad():
            out = torch.cat([fn(chunk) for chunk in mine.split(1000)]) if len(mine) else fn(mine[:0])
        return distributed.gather_rows(out, len(x))

    def _make_bank(self, round_: int) -> None:
        """The bank of this round: latents from a stream of their own (seeded by the round, so a resumed
        run rebuilds it) and G(z). With ``refresh`` every round draws a new bank, so that w never fits
        the same latents for long (a fixed bank of 20,000 was overfit: Spearman 0.7 on it, 0.2 off it)."""
        key = round_ if self.cfg.refresh else 0
        if self.z_bank is not None and not self.cfg.refresh:
            return
        g = torch.Generator(self.device).manual_seed(derive_seed(self.cfg.seed, "bank", key))
        self.z_bank = self._latents(self.cfg.bank, g)
        self.x_bank = self._on_rows(self.G, self.z_bank)
        if self.cfg.exact and self.replayed is None:  # w ≡ 1 where it starts (a resumed run restored its values)
            self.replayed = torch.ones(self.cfg.bank, device=self.device)

    # -- steps -----------------------------------------------------------------------
    def _critic_step(self) -> torch.Tensor:
        """One WGAN-GP critic step against the w-reweighted fakes (fresh G(z) for Algorithm 1, the
        bank's for the bank trainer)."""
        cfg, bs = self.cfg, self.cfg.batch_size
        x_real = self.real[torch.randint(len(self.real), (bs,), generator=self.rng, device=self.device)]
        if self.bank:
            i = torch.randint(cfg.bank, (bs,), generator=self.rng, device=self.device)
            z, x_fake = self.z_bank[i], self.x_bank[i]
        else:
            z, x_fake = self._latents(bs), None
        eps = (torch.rand((bs,) + (1,) * (x_real.dim() - 1), device=self.device, generator=self.rng)
               if cfg.gp_weight > 0 else None)
        sl = distributed.my_slice(bs)
        x_real, z = x_real[sl], z[sl]
        with torch.no_grad():
            x_fake = self.G(z) if x_fake is None else x_fake[sl]
            wz = self.w(z)
        d_real, d_fake = scores(self.critic, x_real), scores(self.critic, x_fake)
        # −(E D(x) − E[w·D(G(z))]/E w), this rank's share (critic_loss on the whole batch)
        loss = -(d_real.sum() / bs - (wz * d_fake).sum() / bs / _global_mean(wz.sum(), bs))
        if cfg.gp_weight > 0:
            gp, _ = gradient_penalty(self.critic, x_real, x_fake, eps=eps[sl], reduce="sum")
            loss = loss + cfg.gp_weight * (gp / bs)
        _descend(self.opt_d, loss, self.critic)
        return distributed.all_sum(loss.detach())

    def _algorithm1_w_step(self) -> dict[str, torch.Tensor]:
        """One w-step of Algorithm 1: gradient ascent on Eq. 6 (minus :func:`w_loss` on the batch)."""
        cfg, bs = self.cfg, self.cfg.batch_size
        z = self._latents(bs)[distributed.my_slice(bs)]
        with torch.no_grad():
            d = scores(self.critic, self.G(z))
        wz = self.w(z)
        slope = d - distributed.all_min(d.min())
        scale = _global_mean(slope.sum(), bs).clamp_min(1e-12)
        reward = (wz * slope / scale).sum() / bs
        mean_w = _global_mean(wz.sum(), bs)
        cap = F.relu(wz - cfg.m).pow(2).sum() / bs
        loss = -reward + cfg.lambda1 * (mean_w - 1) ** 2 + cfg.lambda2 * cap
        _descend(self.opt_w, loss, self.w)
        self._average()
        reward, cap = distributed.all_sum(reward.detach()), distributed.all_sum(cap.detach())
        mean_w, penalty = mean_w.detach(), (mean_w.detach() - 1) ** 2
        above = distributed.all_sum((wz.detach() > cfg.m).float().sum()) / bs
        return {"reward": reward, "mean_penalty": penalty, "cap_penalty": cap, "mean_w": mean_w,
                "frac_above_m": above, "mean_slope": scale.detach(),
                "w_loss": -reward + cfg.lambda1 * penalty + cfg.lambda2 * cap}

    def _average(self) -> None:
        """Algorithm 1: the moving average of w, debiased by a short memory at the start (decay
        (1 + t)/(10 + t), as TensorFlow's ExponentialMovingAverage with num_updates), so a short run
        saves its own w, not the flat w ≈ 1 it started from. Bank: the plain mean of w after each
        round of the last ``average_window`` (the first of them replaces what the average held)."""
        if self.bank:
            k = self.step - self._average_from  # this round's place in the window
            if k < 0:
                return
            decay = k / (k + 1)
        else:
            decay = min(self.cfg.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for a, b in zip(self.w_avg.parameters(), self.w.parameters()):
                a.lerp_(b, 1 - decay)

    def _fit_step(self, h_target: torch.Tensor) -> torch.Tensor:
        """One regression step of w's pre-activation onto the target's, on bank latents."""
        n = self.cfg.w_batch
        i = torch.randint(self.cfg.bank, (n,), generator=self.rng, device=self.device)[distributed.my_slice(n)]
        loss = (self.w.pre(self.z_bank[i]) - h_target[i]).pow(2).sum() / n
        _descend(self.opt_w, loss, self.w)
        return distributed.all_sum(loss.detach())

    def reward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the critic's scores, the scores a round steps w up) of the images ``x``: the same with
        ``d_weight`` 0, else the critic's and the run's D's, each standardised over ``x``, the latter
        weighted by ``d_weight``."""
        self.critic.eval()  # scores without dropout noise
        d = self._on_rows(lambda b: scores(self.critic, b), x)
        self.critic.train()
        if self.D is None:
            return d, d
        return d, combined_reward(d, self._on_rows(lambda b: scores(self.D, b), x), self.cfg.reward_d_weight)

    def _round(self) -> dict[str, torch.Tensor]:
        """One round of the bank trainer: critic steps on the bank, the critic's scores on it, then w
        regressed onto one functional gradient-ascent step of Eq. 6 from its current values
        (:func:`eq6_ascent`; in softplus⁻¹ space, where the fit never stalls)."""
        cfg = self.cfg
        self._make_bank(self.step)
        polish = cfg.polishes(self.step)
        critic_loss = torch.zeros((), device=self.device)
        for _ in range(0 if polish else self.n_critic):
            critic_loss = self._critic_step()
        d_critic, d = self.reward(self.x_bank)
        w_now = self.replayed if cfg.exact else self._on_rows(self.w, self.z_bank)
        target, t = round_target(d, cfg, None if polish else w_now)
        if cfg.exact:
            self.replayed = target
        h_target = torch.log(torch.expm1(target))
        fit = torch.zeros((), device=self.device)
        for _ in range(cfg.w_steps):
            fit = self._fit_step(h_target)
        if self.w_avg is not None:
            self._average()
        wb = self._on_rows(self.w, self.z_bank)
        as_t = lambda v: torch.tensor(float(v), device=self.device)  # noqa: E731
        return {"critic_loss": critic_loss, "fit_loss": fit, "threshold": as_t(t), "mean_w": wb.mean(),
                "frac_above_m": (wb > cfg.m).float().mean(), "spearman": as_t(_spearman(wb, d_critic))}

    def _algorithm1_step(self) -> dict[str, torch.Tensor]:
        critic_loss = torch.zeros((), device=self.device)
        for _ in range(self.n_critic):
            critic_loss = self._critic_step()
        return self._algorithm1_w_step() | {"critic_loss": critic_loss}

    # -- the loop ------------------------------------------------------------------------
    def fit(self, resume: bool | None = None) -> tuple[WNetwork, nn.Module]:
        """Run the remaining budget; ``resume`` as in :meth:`latentrw.train.Trainer.fit` (None:
        resume when ``out_dir`` holds this training, else start). Returns (w, critic)."""
        exists = self._prepare_dir(resume)
        self._warn_if_short()
        # A critic with dropout draws from the global RNG: fork it, seed it or restore it inside.
        with torch.random.fork_rng(devices=[]):
            if exists:
                self.load()
                if distributed.is_main():
                    truncate_jsonl(self.out_dir / LOG, self.step)
            else:
                torch.manual_seed(self.cfg.seed)
            self._loop()
        return self.result.eval(), self.critic.eval()

    def _prepare_dir(self, resume: bool | None) -> bool:
        if self.out_dir is None:
            return False
        exists = (self.out_dir / STATE).is_file()
        if exists:
            saved = json.loads((self.out_dir / CONFIG).read_text())
            def unbudgeted(c: ReweightConfig) -> dict:
                """What must match to continue: not the budget (a larger one continues the same
                training; not with polish rounds, which end it), nor the fields the other trainer
                reads (their defaults may change)."""
                other = [f for t, names in TRAINER_FIELDS.items() if t != c.trainer for f in names]
                budget = ("steps",) + (("rounds",) if c.polish == 0 else ())
                return {k: v for k, v in c.to_dict().items() if k not in (*budget, *other)}

            if unbudgeted(ReweightConfig.from_dict(saved)) != unbudgeted(self.cfg):
                raise ConfigError(f"{self.out_dir} holds w training with another config; choose another --out")
        if resume is False and exists:
            raise ConfigError(f"{self.out_dir} already holds w training; resume it or choose another --out")
        if resume and not exists:
            raise CheckpointError(f"{self.out_dir}: no w training to resume")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.out_dir / CONFIG, self.cfg.to_dict())
        if distributed.is_main():  # a kept agreement or GA tuning describes the w this training is about to change
            (self.out_dir / AGREEMENT).unlink(missing_ok=True)
            (self.out_dir / GA_STEPS_FILE).unlink(missing_ok=True)
        return exists

    def _warn_if_short(self) -> None:
        cfg = self.cfg
        fit_steps = cfg.rounds * cfg.w_steps if self.bank else cfg.steps
        if fit_steps < MIN_FIT_STEPS:
            warnings.warn(f"w gets only {fit_steps} fitting steps (< {MIN_FIT_STEPS}): it will stay close to its "
                          "start, w ≈ 1, and latentRS close to the base sampler; raise the budget "
                          f"({'rounds or w_steps' if self.bank else 'steps'})", stacklevel=3)

    def _loop(self) -> None:
        total, window = self.cfg.total, []
        bar = tqdm(total=total, initial=self.step, disable=not (self.progress and distributed.is_main()),
                   desc=f"w ({self.cfg.trainer})", dynamic_ncols=True)
        while self.step < total:
            window.append(self._round() if self.bank else self._algorithm1_step())
            self.step += 1
            bar.update(1)
            last = self.step == total
            if self.step % self.log_every == 0 or last or (not self.bank and self.step == self.cfg.warmup + 1):
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
            raise TrainingDiverged(f"w training: non-finite values by step {self.step}: {terms}; the last "
                                   "checkpoint is kept -- lower lr_w / lr_d and resume from a new --out")
        in_band = 0.5 <= terms["mean_w"] <= 2.0
        if self.bank:  # E w follows its target's, 1 + t/(2λ1): away from it, w has not fit yet
            if not in_band and self.step == self.cfg.rounds:
                warnings.warn(f"w training: E w = {terms['mean_w']:.3f} on the bank after the last round, outside "
                              "[0.5, 2]: w has not fit its target yet; raise w_steps or rounds", stacklevel=2)
        elif self.step > self.cfg.warmup and not in_band:
            raise TrainingDiverged(
                f"w training: E w = {terms['mean_w']:.3f} left [0.5, 2] by step {self.step} (after the "
                f"{self.cfg.warmup}-step warm-up); raise lambda1 or lower lr_w")


def _held_out(G: nn.Module, prior: Prior, w: nn.Module, critics: tuple[nn.Module, ...], n: int,
              seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """w(z) and each critic's scores of G(z) on ``n`` held-out latents (a stream of its own, never
    the bank's)."""
    g = torch.Generator(prior.device).manual_seed(derive_seed(seed, "held-out"))
    with torch.no_grad():
        z = prior.sample(n, g)
        wz = torch.cat([w(c) for c in z.split(1000)])
        # every critic scores the same images: G runs once per chunk (a G with noise per call included)
        chunks = [[scores(critic, x) for critic in critics] for x in map(G, z.split(1000))]
    return wz, [torch.cat(column) for column in zip(*chunks)]


def critic_agreement(G: nn.Module, prior: Prior, w: nn.Module, critic: nn.Module, n: int = 10_000,
                     seed: int = 1) -> float:
    """Spearman correlation of w(z) with its critic's score critic(G(z)) on ``n`` held-out latents
    (a stream of its own, never the bank's): how well w learned what its critic prefers."""
    wz, (d,) = _held_out(G, prior, w, (critic,), n, seed)
    return _spearman(wz, d)


def w_agreement(G: nn.Module, D: nn.Module, prior: Prior, w_dir: Path, n: int = 10_000) -> dict:
    """How well the w trained in ``w_dir`` learned what it was trained on, on ``n`` held-out latents:
    ``spearman_w_critic``, its :func:`critic_agreement` with the critic saved beside it, and for a w
    trained with ``d_weight`` > 0 also ``spearman_w_reward``, its Spearman correlation with the scores
    its rounds stepped it up with (:func:`combined_reward` of that critic and the run's ``D``,
    standardised over the held-out latents as a round standardises them over its bank).

    Kept in ``w_dir/agreement.json``: read from there when present (a :class:`WTrainer` training into
    ``w_dir`` deletes it first), else computed and written; a kept file without the reward figure a
    d_weight w should have is computed again where ``critic.safetensors`` is beside it."""
    path = Path(w_dir) / AGREEMENT
    cfg = ReweightConfig.from_dict(json.loads((Path(w_dir) / CONFIG).read_text()))
    d_weight = cfg.reward_d_weight
    if path.is_file():
        found = json.loads(path.read_text())
        # a file written before the reward figure existed is completed where the critic is at hand
        if not d_weight or "spearman_w_reward" in found or not (Path(w_dir) / CRITIC_FILE).is_file():
            return found
    critics = (load_critic(D, w_dir),) + ((copy.deepcopy(D).eval(),) if d_weight else ())
    wz, d = _held_out(G, prior, load_w(w_dir, prior.device), critics, n, seed=1)
    found = {"spearman_w_critic": _spearman(wz, d[0]), "n": n}
    if d_weight:
        found["spearman_w_reward"] = _spearman(wz, combined_reward(d[0], d[1], d_weight))
    atomic_write_json(path, found)
    return found


def train_w(G: nn.Module, D: nn.Module, prior: Prior, real: torch.Tensor, config: ReweightConfig,
            on_step: Callable[[int, dict], None] | None = None) -> tuple[WNetwork, nn.Module]:
    """Train w in memory (see :class:`WTrainer`); returns (w, critic). ``on_step(step, terms)``
    receives the mean loss terms of every logged window (every round or w-step)."""
    return WTrainer(G, D, prior, real, config, log_every=1, on_step=on_step).fit()
