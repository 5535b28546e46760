"""Drawing samples from a trained run and exporting them (PNG folder + .npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from latentrw.data import load_dataset, to_uint8_images
from latentrw.images import save_grid, save_pngs, save_scatter
from latentrw.priors import Prior
from latentrw.run import Run
from latentrw.samplers.base import SAMPLERS, BaseSampler, ProposalStream, SampleBatch, Sampler
from latentrw.samplers.calibrate import DIR as CALIBRATED_DIR
from latentrw.samplers.calibrate import load_calibrated


def draw_latents(prior: Prior, n: int, seed: int) -> torch.Tensor:
    """``n`` latents from ``prior``; block b of 1000 comes from seed (seed, b), so the first
    k latents are the same whatever n or compute batch size asks for them."""
    if n == 0:
        return torch.empty(0, prior.z_dim, device=prior.device)
    return ProposalStream.from_seed(prior, seed).take(n)


def generate(run: Run, n: int, seed: int = 0, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x, z)``: n generator outputs (model scale, on CPU) and their latents, drawn by
    the base sampler from the latents of :func:`draw_latents`."""
    batch = draw(BaseSampler(batch_size).fit(run), run, n, seed)
    return batch.x, batch.z


def draw(sampler: Sampler, run: Run, n: int, seed: int = 0) -> SampleBatch:
    """``n`` samples from a fitted ``sampler``, its proposals being the latents of
    :func:`draw_latents` with this ``seed`` -- so every sampler starts from the same latents as
    the base draw of the same seed (latent-rs keeps a subsequence of them)."""
    return sampler.sample_from(n, ProposalStream.from_seed(run.prior, seed))


def make_sampler(name: str, run: Run, run_dir: Path | str, w_dir: Path | str | None = None,
                 batch_size: int = 1000, calibrated_dir: Path | str | None = None, **options) -> Sampler:
    """Build and fit the registered sampler ``name`` for a run. A sampler requiring ``w`` gets the
    run's trained w (``w_dir``, default ``RUN/reweight``), one requiring ``disc`` the run's
    calibrated discriminator (``calibrated_dir``, default ``RUN/calibrated``), one whose fit
    needs real samples the run's training split. ``options`` that are None are left at the
    sampler's defaults, and one the sampler does not take is a clear error."""
    cls = SAMPLERS.get(name)
    kwargs = {k: v for k, v in options.items() if v is not None}
    wrong = sorted(set(kwargs) - set(cls.options()))
    if wrong:
        raise ValueError(f"sampler {name} takes no option {', '.join(wrong)}; it takes {', '.join(cls.options())}")
    if "w" in cls.requires:
        from latentrw.reweight import load_w

        kwargs["w"] = load_w(Path(w_dir) if w_dir is not None else Path(run_dir) / "reweight", run.prior.device)
    if "disc" in cls.requires:
        directory = Path(calibrated_dir) if calibrated_dir is not None else Path(run_dir) / CALIBRATED_DIR
        kwargs["disc"] = load_calibrated(directory, run.prior.device)
    sampler = cls(batch_size=batch_size, **kwargs)
    if cls.needs_data:
        return sampler.fit(run, load_dataset(run.config.dataset).model_input("train", run.prior.device))
    return sampler.fit(run)


def export(run: Run, n: int, out: Path, seed: int = 0, batch_size: int = 1000, pngs: bool = True,
           sampler=None) -> dict:
    """Write ``out/samples.npz`` (uint8 images or float points, and z), one PNG per image under
    ``out/`` (the course ``samples/`` format) and a preview grid. ``sampler`` (a fitted
    :class:`latentrw.samplers.Sampler`) replaces the base draw. Returns what was written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info: dict = {}
    batch = draw(sampler or BaseSampler(batch_size).fit(run), run, n, seed)
    x, z = batch.x, batch.z
    if sampler is not None:
        per = batch.cost.per_sample(n) if n else {}
        info["cost"] = {"proposals_per_sample": round(per.get("proposals", 0), 3), "ms_per_sample": round(per.get("ms", 0), 4)}
    if x.dim() == 4:
        images = to_uint8_images(x)
        np.savez_compressed(out / "samples.npz", x=images.numpy(), z=z.numpy())
        if pngs:
            save_pngs(images, out)
        save_grid(images[:64], out / "grid.png")
    else:
        np.savez_compressed(out / "samples.npz", x=x.numpy(), z=z.numpy())
        save_scatter(x, out / "scatter.png", title=f"{run.config.dataset}: {n} samples")
    return {"n": n, "npz": str(out / "samples.npz"), "seed": seed, **info}
