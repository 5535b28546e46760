"""The one training loop for every objective, prior and model.

A *step* is one critic update on one batch; G is updated after every
``n_critic`` steps, reusing that step's fake batch (no second G forward).
Data stays resident on the device and losses are accumulated as tensors, so
the loop syncs with the host only every ``log_every`` steps.
"""

from __future__ import annotations

import functools
import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from latentrw import distributed
from latentrw.checkpoint import load_tensors, restore_training_state, save_module, save_tensors, training_state
from latentrw.config import TrainConfig
from latentrw.curves import plot_curves
from latentrw.data import Dataset, load_dataset, to_uint8_images
from latentrw.device import resolve_device
from latentrw.errors import CheckpointError, ConfigError, TrainingDiverged
from latentrw.fileio import atomic_write_json, truncate_jsonl
from latentrw.images import save_grid, save_scatter
from latentrw.interrupt import deferred_interrupt
from latentrw.models import MODELS
from latentrw.objectives import OBJECTIVES, clip_weights, gradient_penalty
from latentrw.priors import build_prior
from latentrw.run import CONFIG, D_FILE, G_FILE, LOG, PRIOR_FILE, STATE_FILE
from latentrw.seeding import indexed_seed
from latentrw.selection import Selection, WeightAverage, score

STATS = ("d_loss", "g_loss", "gp", "grad_norm", "d_real", "d_fake")


def _kept(run_dir: Path) -> str:
    if (run_dir / STATE_FILE).exists():
        return f"The last good checkpoint in {run_dir} is kept."
    return "No checkpoint had been written yet."


_RETRY = ("Retrain into a new --out with lower learning rates (--lr-g/--lr-d), a gradient penalty "
          "objective or another seed: resuming would repeat the same steps.")


def _epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    # Derived from (seed, epoch) alone, so a run resumed mid-epoch sees the same order.
    return torch.randperm(n, generator=torch.Generator().manual_seed(indexed_seed(seed, epoch)))


def _make_optimizer(params, name: str, lr: float, betas: tuple[float, float] | None) -> torch.optim.Optimizer:
    params = list(params)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    try:
        # The fused kernel updates all tensors in one pass: ~15% faster steps on CPU.
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(params, lr=lr, betas=betas)


class Trainer:
    """Holds the models, optimizers and RNG of one run; :meth:`fit` trains it.

    ``data`` replaces the registered dataset named by the config (e.g. a subset);
    ``on_step(step)`` is called after every step (tests use it to simulate a crash).
    """

    def __init__(self, config: TrainConfig, run_dir: Path | str, *, data: Dataset | None = None,
                 progress: bool = True, on_step: Callable[[int], None] | None = None):
        data = data if data is not None else load_dataset(config.dataset)
        self.cfg = config.resolve(data.kind)
        self.data, self.holdout = data.hold_out(self.cfg.holdout)
        self.run_dir = Path(run_dir)
        self.progress, self.on_step = progress, on_step
        if self.cfg.batch_size > len(self.data.x_train):
            raise ConfigError(f"batch size {self.cfg.batch_size} is larger than the {len(self.data.x_train)} "
                              f"training samples of {self.data.name}")
        if self.cfg.batch_size < 2 and self.cfg.model == "cnn":
            raise ConfigError("the cnn generator uses batch norm, which needs a batch size of at least 2")
        if self.cfg.model == "cnn" and distributed.world() > 1:
            # Split over ranks, batch norm would see per-rank statistics: not the one-process step.
            raise ConfigError("the cnn generator's batch norm makes a torchrun-split training step differ from "
                              "one process's; train cnn runs in one process (w training and evaluation of them "
                              "do run under torchrun)")
        self.device = resolve_device(self.cfg.device)
        self.objective = OBJECTIVES.get(self.cfg.objective)
        family = MODELS.get(self.cfg.model)
        cfg = self.cfg
        # Model initialisation draws from the global RNG: seed it in a forked state
        # so the caller's RNG is left untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G = family.generator(z_dim=cfg.z_dim, out_shape=self.data.sample_shape, **cfg.g_options).to(self.device)
            self.D = family.discriminator(in_shape=self.data.sample_shape, **cfg.d_options).to(self.device)
        prior_options = {"init_seed": cfg.seed, **cfg.prior_options} if cfg.prior.startswith("gm") else cfg.prior_options
        self.prior = build_prior(cfg.prior, {"z_dim": cfg.z_dim, **prior_options}).to(self.device)
        g_params = list(self.G.parameters()) + list(self.prior.parameters())
        self.opt_g = _make_optimizer(g_params, self.objective.optimizer, cfg.lr_g, cfg.betas)
        self.opt_d = _make_optimizer(self.D.parameters(), self.objective.optimizer, cfg.lr_d, cfg.betas)
        self._g_side = torch.nn.ModuleDict({"G": self.G, "prior": self.prior})  # what the average covers
        self.ema = WeightAverage(self._g_side, cfg.g_ema) if cfg.g_ema > 0 else None
        self.rng = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.step = 0
        self._reference = None  # holdout (else test-split) features, computed at the first evaluation

    # -- checkpoints --------------------------------------------------------
    def _headers(self) -> dict[str, dict]:
        head = {"step": self.step, "epoch": self.step / self.steps_per_epoch}
        fam = self.cfg.model
        return {"G": {**head, "family": fam, "role": "generator", "config": self.G.config},
                "D": {**head, "family": fam, "role": "discriminator", "config": self.D.config},
                "prior": {**head, "name": self.cfg.prior, "config": self.prior.config}}

    def save(self) -> None:
        """Checkpoint the current step.

        Everything a resume needs (G, D and prior weights, optimizers, RNG states) goes into
        the one file ``train_state.safetensors``, written atomically *first*; G/D/prior files
        are then exported for users. A kill at any moment leaves a consistent train_state, and
        :func:`latentrw.run.load_run` falls back to it when the exports disagree.
        """
        if not distributed.is_main():  # under torchrun rank 0 writes the one checkpoint
            return
        bad = [name for name, m in (("G", self.G), ("D", self.D), ("prior", self.prior))
               if not all(torch.isfinite(p).all() for p in m.parameters())]
        if bad:
            raise TrainingDiverged(f"non-finite weights in {', '.join(bad)} at step {self.step}; not saved. "
                                   f"{_kept(self.run_dir)} {_RETRY}")
        heads = self._headers()
        modules = {"G": self.G, "D": self.D, "prior": self.prior}
        if self.ema is not None:
            modules["ema"] = self.ema.module
        tensors, opt_heads = training_state(modules, {"opt_g": self.opt_g, "opt_d": self.opt_d})
        tensors["rng.latent"] = self.rng.get_state()
        tensors["rng.global"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        save_tensors(self.run_dir / STATE_FILE, tensors,
                     {"step": self.step, "models": heads, **opt_heads, "device": self.device.type})
        for name, fname in (("G", G_FILE), ("D", D_FILE), ("prior", PRIOR_FILE)):
            save_module(self.run_dir / fname, modules[name], heads[name])

    def load(self) -> None:
        """Restore the latest checkpoint of ``run_dir`` from ``train_state.safetensors`` (for resuming)."""
        path = self.run_dir / STATE_FILE
        tensors, head = load_tensors(path)
        modules = {"G": self.G, "D": self.D, "prior": self.prior}
        if self.ema is not None:
            modules["ema"] = self.ema.module
        restore_training_state(path, tensors, head, modules, {"opt_g": self.opt_g, "opt_d": self.opt_d})
        self.step = int(head["step"])
        if head.get("device", "cpu") == self.device.type:
            self.rng.set_state(tensors["rng.latent"])
        else:
            # A generator's state is device-specific: moving a run between CPU and GPU continues
            # with a fresh stream seeded by (seed, step) -- valid, but not bit-identical.
            warnings.warn(f"resuming a {head.get('device')} run on {self.device.type}: the latent RNG "
                          "is reseeded, so results differ from an uninterrupted run", stacklevel=2)
            self.rng.manual_seed(indexed_seed(self.cfg.seed, self.step))
        torch.set_rng_state(tensors["rng.global"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)

    # -- one step ------------------------------------------------------------
    def _train_step(self, real: torch.Tensor, acc: torch.Tensor) -> None:
        if distributed.world() > 1:
            return self._train_step_split(real, acc)
        cfg, obj = self.cfg, self.objective
        g_step = (self.step + 1) % cfg.n_critic == 0
        z = self.prior.sample(real.shape[0], self.rng)
        with torch.set_grad_enabled(g_step):
            fake = self.G(z)
        # One D forward on real and fake together: a bigger matmul is cheaper than two.
        d_real, d_fake = self.D(torch.cat([real, fake.detach()])).split(real.shape[0])
        loss_d = obj.d_loss(d_real, d_fake)
        gp = grad_norm = torch.zeros((), device=self.device)
        if cfg.gp_weight > 0:
            gp, grad_norm = gradient_penalty(self.D, real, fake, self.rng)
            loss_d = loss_d + cfg.gp_weight * gp
        self._update_d(loss_d)
        loss_g = self._update_g(fake) if g_step else torch.zeros((), device=self.device)
        # acc: running sums of STATS, then the number of G steps and of D steps.
        one = torch.ones((), device=self.device)
        acc += torch.stack([loss_d.detach(), loss_g.detach(), gp.detach(), grad_norm.detach(),
                            d_real.detach().mean(), d_fake.detach().mean(), one * g_step, one])

    def _update_d(self, loss_d: torch.Tensor) -> None:
        """One D step on ``loss_d`` (gradients summed over torchrun ranks; a no-op alone)."""
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        distributed.sum_gradients(self.D.parameters())
        self.opt_d.step()
        if self.cfg.clip > 0:
            clip_weights(self.D, self.cfg.clip)

    def _update_g(self, fake: torch.Tensor, share: float = 1.0) -> torch.Tensor:
        """One G (and prior) step through the frozen D; ``share``: this rank's part of the batch."""
        self.D.requires_grad_(False)
        loss_g = self.objective.g_loss(self.D(fake)) * share
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        distributed.sum_gradients(list(self.G.parameters()) + list(self.prior.parameters()))
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self._g_side)
        self.D.requires_grad_(True)
        return loss_g

    def _train_step_split(self, real: torch.Tensor, acc: torch.Tensor) -> None:
        """The step with the batch split over torchrun ranks: every rank draws the whole batch's
        latents (and GP interpolation weights) from the same RNG, in the order one process does,
        works on its slice with its share of each (per-sample mean) loss, and the gradients are
        summed, so the step is one process's to float rounding (dropout masks aside)."""
        cfg, obj, bs = self.cfg, self.objective, real.shape[0]
        sl = distributed.my_slice(bs)
        share = (sl.stop - sl.start) / bs
        g_step = (self.step + 1) % cfg.n_critic == 0
        z = self.prior.sample(bs, self.rng)
        eps = (torch.rand((bs,) + (1,) * (real.dim() - 1), device=self.device, generator=self.rng)
               if cfg.gp_weight > 0 else None)
        real, z = real[sl], z[sl]
        with torch.set_grad_enabled(g_step):
            fake = self.G(z)
        d_real, d_fake = self.D(torch.cat([real, fake.detach()])).split(real.shape[0])
        loss_d = obj.d_loss(d_real, d_fake) * share
        gp = grad_norm = torch.zeros((), device=self.device)
        if cfg.gp_weight > 0:
            gp, grad_norm = gradient_penalty(self.D, real, fake, eps=eps[sl], reduce="sum")
            gp, grad_norm = gp / bs, grad_norm / bs
            loss_d = loss_d + cfg.gp_weight * gp
        self._update_d(loss_d)
        loss_g = self._update_g(fake, share) if g_step else torch.zeros((), device=self.device)
        one = torch.ones((), device=self.device)
        parts = torch.stack([loss_d.detach(), loss_g.detach(), gp.detach(), grad_norm.detach(),
                             d_real.detach().sum() / bs, d_fake.detach().sum() / bs])
        acc += torch.cat([distributed.all_sum(parts), torch.stack([one * g_step, one])])

    def _set_lr(self, total: int) -> None:
        if self.cfg.lr_decay == "linear":
            frac = 1.0 - self.step / total
            for opt, base in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = base * frac

    # -- the loop ------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        """Critic steps per epoch (one batch each); G takes one step per n_critic of them."""
        return len(self.data.x_train) // self.cfg.batch_size

    def fit(self, resume: bool | None = None) -> Path:
        """Train to ``config.epochs`` epochs, checkpointing as configured; returns the run directory.

        ``resume``: True continues the run in ``run_dir``; False requires a fresh directory;
        None (default) continues when ``run_dir`` holds a run with the same config, so running
        the same command twice finishes (or reuses) the run instead of failing."""
        cfg, run = self.cfg, self.run_dir
        exists = (run / STATE_FILE).exists()
        same = exists and _same_run(TrainConfig.load(run / CONFIG), cfg)
        if resume is None:
            if exists and not same:
                raise ConfigError(f"{run} already holds a run with another config; choose another --out "
                                  "or delete it")
            resume = exists
        if resume and not exists:
            raise CheckpointError(f"{run}: nothing to resume (no {STATE_FILE}); start a new run with --out")
        if resume and not same:
            raise ConfigError(f"{run}: --resume needs the run's own config (only epochs/device may change)")
        if not resume and exists:
            raise ConfigError(f"{run} already holds a run; pass --resume to continue it or choose another --out")
        # Dropout draws from the global RNG: fork it, so the caller's state is untouched,
        # and seed it (or restore the checkpoint's state) inside.
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if resume:
                self.load()
                if self.step > cfg.epochs * self.steps_per_epoch:
                    raise ConfigError(f"{run} is already at step {self.step} (epoch "
                                      f"{self.step / self.steps_per_epoch:.2f}); --epochs {cfg.epochs} would go back")
            else:
                torch.manual_seed(cfg.seed)
            run.mkdir(parents=True, exist_ok=True)
            if distributed.is_main():
                atomic_write_json(run / CONFIG, cfg.to_dict())
                truncate_jsonl(run / LOG, self.step)
            self._loop(self.data.model_input("train", self.device))
        if self.ema is not None and cfg.select == "last" and distributed.is_main():
            Selection(run, 0).choose({"epoch": cfg.epochs, "step": self.step, "weights": "ema"},
                                     functools.partial(self._export, ema=True))
        return run

    def _loop(self, x: torch.Tensor) -> None:
        total = self.cfg.epochs * self.steps_per_epoch
        self.G.train(), self.D.train()
        bar = tqdm(total=total, initial=self.step, disable=not (self.progress and distributed.is_main()), unit="step",
                   dynamic_ncols=True)
        try:
            with deferred_interrupt() as interrupted:
                self._steps(x, total, bar, interrupted)
        finally:
            bar.close()

    def _steps(self, x: torch.Tensor, total: int, bar: tqdm, interrupted: Callable[[], bool]) -> None:
        cfg, spe, bs = self.cfg, self.steps_per_epoch, self.cfg.batch_size
        perm, epoch_start, seen = None, time.perf_counter(), 0
        acc = torch.zeros(len(STATS) + 2, device=self.device)
        while self.step < total:
            epoch, i = divmod(self.step, spe)
            if perm is None or i == 0:
                perm = _epoch_permutation(cfg.seed, epoch, len(x)).to(self.device)
                bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
            self._set_lr(total)
            self._train_step(x[perm[i * bs:(i + 1) * bs]], acc)
            self.step += 1
            seen += 1
            bar.update(1)
            if self.on_step is not None:
                self.on_step(self.step)
            epoch_end = self.step % spe == 0
            checkpoint_now = epoch_end or (cfg.checkpoint_every > 0 and self.step % cfg.checkpoint_every == 0)
            if checkpoint_now or self.step % cfg.log_every == 0:
                stats = _summarise(acc)  # the one host sync of a log interval
                if not all(math.isfinite(v) for v in stats.values()):
                    raise TrainingDiverged(
                        f"non-finite loss at step {self.step} (epoch {epoch + 1}): {stats}. "
                        f"{_kept(self.run_dir)} {_RETRY}")
                rate = seen * bs / max(time.perf_counter() - epoch_start, 1e-9)
                bar.set_postfix(d=f"{stats['d_loss']:.3f}", g=f"{stats['g_loss']:.3f}", img_s=f"{rate:.0f}")
            if epoch_end:
                self._end_epoch(epoch, stats, time.perf_counter() - epoch_start, seen * bs)
                acc.zero_()
                epoch_start, seen = time.perf_counter(), 0
            if checkpoint_now or interrupted():
                # After a Ctrl-C the step it arrived in was finished first, so the saved
                # state is exactly that of step `self.step`.
                self.save()
            if interrupted():
                raise KeyboardInterrupt(f"interrupted at step {self.step}; checkpoint saved in {self.run_dir}, "
                                        "continue with `latentrw train --resume`")

    def _end_epoch(self, epoch: int, stats: dict, seconds: float, images: int) -> None:
        record = {"epoch": epoch + 1, "step": self.step, **stats, "seconds": round(seconds, 3),
                  "images_per_s": round(images / max(seconds, 1e-9), 1),
                  "lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}
        if self.cfg.gp_weight == 0:
            record.pop("gp"), record.pop("grad_norm")
        if self.cfg.eval_every and (epoch + 1) % self.cfg.eval_every == 0:
            record.update(self._evaluate_candidates(epoch + 1))  # every rank: the extraction is split
        if not distributed.is_main():
            return
        with open(self.run_dir / LOG, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.save_samples(self.run_dir / "samples" / f"epoch_{epoch + 1:04d}.png")
        if "metrics" in record:
            plot_curves(self.run_dir)  # RUN/curves.png

    def evaluate(self, n: int, G: torch.nn.Module | None = None, prior: torch.nn.Module | None = None) -> dict:
        """FID, precision/recall, density/coverage (and the in-between rate for images) of ``n``
        samples of G (default: the trained one) from fixed noise, against the held-out training
        images when the config holds some out, else the test split. Uses no training RNG."""
        from latentrw.metrics.evaluate import Reference, reference

        if self._reference is None:
            self._reference = (Reference(self.data.name, "holdout", x=self.holdout.model_input("train"))
                               if self.holdout is not None else reference(self.data.name))
        return score(G or self.G, prior or self.prior, n, self.cfg.seed + 54321, self._reference,
                     ("fid", "prdc", "classes"))

    def _evaluate_candidates(self, epoch: int) -> dict:
        """Score G (and its average); with ``select="fid"`` offer each to the selection."""
        out = {"metrics": self.evaluate(self.cfg.eval_n)}
        if self.ema is not None:
            out["metrics_ema"] = self.evaluate(self.cfg.eval_n, self.ema.module["G"], self.ema.module["prior"])
        if self.cfg.select == "fid" and distributed.is_main():
            selection = Selection(self.run_dir, self.cfg.holdout)
            for weights, key in (("raw", "metrics"), ("ema", "metrics_ema")):
                if key in out:
                    candidate = {"epoch": epoch, "step": self.step, "weights": weights, "fid": out[key]["fid"]}
                    selection.offer(candidate, functools.partial(self._export, ema=weights == "ema"))
        return out

    def _export(self, directory: Path, ema: bool = False) -> None:
        """Write G (or its average), D and the prior with the config as a run directory."""
        G, prior = (self.ema.module["G"], self.ema.module["prior"]) if ema else (self.G, self.prior)
        heads = self._headers()
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(directory / CONFIG, self.cfg.to_dict())
        for name, fname, module in (("G", G_FILE, G), ("D", D_FILE, self.D), ("prior", PRIOR_FILE, prior)):
            save_module(directory / fname, module, {**heads[name], "weights": "ema" if ema else "raw"})

    @torch.no_grad()
    def save_samples(self, path: Path) -> None:
        """A grid (images) or scatter plot (2-D) of samples from fixed noise, comparable across epochs."""
        n = self.cfg.grid_size if self.data.kind == "image" else 2000
        z = self.prior.sample(n, torch.Generator(self.device).manual_seed(self.cfg.seed + 12345))
        self.G.eval()
        fake = self.G(z)
        self.G.train()
        if self.data.kind == "image":
            save_grid(to_uint8_images(fake), path)
        else:
            save_scatter(fake, path, reference=self.data.x_test[:n], title=f"{self.cfg.dataset} {path.stem}")


def _summarise(acc: torch.Tensor) -> dict[str, float]:
    """Means of the accumulated statistics: D-side ones per D step, g_loss per G step."""
    *sums, g_steps, d_steps = acc.tolist()
    out = {name: total / max(d_steps, 1.0) for name, total in zip(STATS, sums)}
    out["g_loss"] = sums[STATS.index("g_loss")] / max(g_steps, 1.0)
    out = {k: round(v, 6) if math.isfinite(v) else v for k, v in out.items()}
    return {**out, "d_steps": int(d_steps), "g_steps": int(g_steps)}


def _same_run(a: TrainConfig, b: TrainConfig) -> bool:
    """Equal configs apart from what a resumed run may change without touching the
    training itself (epochs, device, evaluation schedule)."""
    ignore = {"epochs": 0, "device": "", "eval_every": 0, "eval_n": 0}
    return {**a.to_dict(), **ignore} == {**b.to_dict(), **ignore}


def train(config: TrainConfig, run_dir: Path | str, *, resume: bool | None = None, progress: bool = True) -> Path:
    """Train a GAN as ``config`` says and write the run directory. See :meth:`Trainer.fit`
    for ``resume``."""
    return Trainer(config, run_dir, progress=progress).fit(resume=resume)
